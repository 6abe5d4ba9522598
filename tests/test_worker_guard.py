"""The leak check the conftest runs after every test sees a worker that is still running,
and lets go of it once it returns."""

from __future__ import annotations

import threading

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
