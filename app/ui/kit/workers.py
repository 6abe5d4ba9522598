"""Running services off the GUI thread.

A :class:`Task` wraps a plain Qt-free function. Its signals live on a separate QObject
owned by the GUI thread, so results arrive there as queued signals. The pool keeps a
strong reference to every task until it has finished (a dropped last reference is a
classic crash), and cancelling is cooperative through a :class:`threading.Event` the
function checks between steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.ui.kit import task_watch
from app.ui.kit.crash import message_for_task_failure

log = logging.getLogger(__name__)

#: What a task function receives: a cancel flag and a progress callback.
TaskFunction = Callable[[threading.Event, Callable[[object], None]], object]


def _already_run(_cancel: threading.Event, _progress: Callable[[object], None]) -> object:
    """What a finished task holds instead of its work: a task runs once."""
    raise RuntimeError("this task has already run")


class TaskSignals(QObject):
    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()


class Task(QRunnable):
    """One call of a Qt-free function on the thread pool."""

    def __init__(self, function: TaskFunction, name: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the pool below owns the Python reference
        self.function = function
        self.name = name
        self.cancel_event = threading.Event()
        self.signals = TaskSignals()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            result = self.function(self.cancel_event, self.signals.progress.emit)
        except Exception as exc:
            # A user error's message, or for a bug the apology and its report's path.
            self.signals.failed.emit(message_for_task_failure(exc, self.name))
        else:
            self.signals.succeeded.emit(result)
        finally:
            # Callers keep their Task (for its cancel flag) long after it has run; what
            # its work captured (a page's 100,000-row snapshot) must not live as long.
            self.function = _already_run
            self.signals.finished.emit()


class TaskRunner(QObject):
    """Starts tasks on a thread pool and holds them until they finish."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: set[Task] = set()

    def start(
        self,
        function: TaskFunction,
        *,
        name: str,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Task:
        holder: list[Task] = []
        task = Task(task_watch.tracked(function, holder), name)
        holder.append(task)
        if not shiboken6.isValid(self):
            log.debug("task %s not started: its window is closed", name)
            return task
        if on_success:
            task.signals.succeeded.connect(self._while_alive(on_success))
        if on_failure:
            task.signals.failed.connect(self._while_alive(on_failure))
        if on_progress:
            task.signals.progress.connect(self._while_alive(on_progress))
        task.signals.finished.connect(lambda: self._running.discard(task))
        self._running.add(task)
        task_watch.started(task)
        self.pool.start(task)
        return task

    def _while_alive(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """``callback``, dropped once this runner (and so the widget owning it) is gone:
        a result that arrives after its page was closed has nowhere to go."""

        def deliver(value: Any) -> None:
            if shiboken6.isValid(self):
                callback(value)
            else:
                log.debug("dropped a late result: its window is closed")

        return deliver

    @property
    def active(self) -> int:
        return len(self._running)

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every task has finished (used on close and in tests)."""
        return self.pool.waitForDone(msecs)
