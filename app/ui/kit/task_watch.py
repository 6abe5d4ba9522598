"""Which worker tasks are running, in every runner: the tests fail one that a test
leaves running (see ``tests/conftest.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol


class _Named(Protocol):
    name: str


_lock = threading.Condition()
#: Every task started and not yet returned.
_live: set[_Named] = set()

TaskFunction = Callable[[threading.Event, Callable[[object], None]], object]


def started(task: _Named) -> None:
    """``task`` was handed to a thread pool."""
    with _lock:
        _live.add(task)


def tracked(function: TaskFunction, holder: list[Any]) -> TaskFunction:
    """``function``, which marks its task (``holder[0]``) finished when it returns."""

    def run(cancel: threading.Event, progress: Callable[[object], None]) -> object:
        try:
            return function(cancel, progress)
        finally:
            with _lock:
                _live.discard(holder[0])
                _lock.notify_all()

    return run


def running_tasks() -> list[str]:
    """The names of tasks started and not yet finished, in every runner."""
    with _lock:
        return sorted(task.name for task in _live)


def wait_for_running_tasks(seconds: float) -> list[str]:
    """Wait up to ``seconds`` for every started task to finish; the names of those
    still running."""
    with _lock:
        _lock.wait_for(lambda: not _live, timeout=seconds)
        return sorted(task.name for task in _live)
