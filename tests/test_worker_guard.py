"""The leak check the conftest runs after every test sees a worker that is still running,
and lets go of it once it returns."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable

from pytestqt.qtbot import QtBot

from app.ui.kit.task_watch import running_tasks, wait_for_running_tasks
from app.ui.kit.workers import TaskRunner


def test_a_running_worker_is_seen_until_it_returns(qtbot: QtBot) -> None:
    runner = TaskRunner()
    release = threading.Event()
    started = threading.Event()

    def work(_cancel: threading.Event, _progress: object) -> str:
        started.set()
        release.wait(10)
        return "done"

    with qtbot.waitSignal(runner.start(work, name="held open").signals.finished, timeout=10_000):
        assert started.wait(10)
        assert running_tasks() == ["held open"]
        assert wait_for_running_tasks(0.05) == ["held open"]
        release.set()
    assert wait_for_running_tasks(5) == []
    runner.wait()


class _Snapshot:
    """Stands for what a worker's closure captures (a page's 100,000-row list)."""


def _work_on(snapshot: _Snapshot) -> Callable[[threading.Event, object], int]:
    def work(_cancel: threading.Event, _progress: object) -> int:
        return id(snapshot)

    return work


def test_a_finished_task_lets_go_of_its_work(qtbot: QtBot) -> None:
    runner = TaskRunner()
    snapshot = _Snapshot()
    alive = weakref.ref(snapshot)
    expected = id(snapshot)
    got: list[int] = []
    task = runner.start(_work_on(snapshot), name="uses a snapshot", on_success=got.append)
    assert task.name == "uses a snapshot"
    del snapshot  # from here only the task's work holds it
    # Not waitSignal(task.signals.finished): the work is so short it may finish before
    # a connection made here would exist.
    qtbot.waitUntil(lambda: runner.active == 0 and bool(got), timeout=10_000)
    assert got == [expected]
    gc.collect()
    assert alive() is None, "a finished task still holds what its work captured"
    runner.wait()
