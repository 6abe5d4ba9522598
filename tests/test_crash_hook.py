"""Bugs in the window: a short apology, where the report is, and "Copy details"; never
the exception's own text. Slots, threads and worker tasks all go the same way."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.crash_report import set_report_folder
from app.services.errors import UserError
from app.ui.kit.crash import CrashDialog, CrashHook, install_crash_hook
from app.ui.kit.workers import TaskRunner

SECRET_DETAIL = "internal detail 0xDEADBEEF"


@pytest.fixture
def hook(qtbot: QtBot, tmp_path: Path) -> Iterator[CrashHook]:
    set_report_folder(tmp_path / "logs")
    before = sys.excepthook, threading.excepthook
    installed = install_crash_hook()
    yield installed
    installed.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
    for dialog in list(installed.dialogs):
        dialog.close()


def only_dialog(hook: CrashHook) -> CrashDialog:
    assert len(hook.dialogs) == 1
    dialog = hook.dialogs[0]
    assert isinstance(dialog, CrashDialog)
    return dialog


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_the_apology_and_writes_a_report(
    qtbot: QtBot, hook: CrashHook, tmp_path: Path
) -> None:
    def slot() -> None:
        raise ValueError(SECRET_DETAIL)

    QTimer.singleShot(0, slot)
    qtbot.waitUntil(lambda: len(hook.dialogs) == 1)
    dialog = only_dialog(hook)
    text = dialog.message.text()
    assert text.startswith("Sorry, something went wrong inside Ledgerlink.")
    assert SECRET_DETAIL not in text and "Traceback" not in text
    assert dialog.report.path is not None and dialog.report.path.parent == tmp_path / "logs"
    assert str(dialog.report.path) in text
    written = dialog.report.path.read_text(encoding="utf-8")
    assert SECRET_DETAIL in written and "Traceback" in written

    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert SECRET_DETAIL in copied and str(dialog.report.path) in copied


def test_an_exception_in_a_thread_is_caught_the_same_way(qtbot: QtBot, hook: CrashHook) -> None:
    def target() -> None:
        raise RuntimeError(SECRET_DETAIL)

    thread = threading.Thread(target=target, name="background-check")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(hook.dialogs) == 1)
    dialog = only_dialog(hook)
    assert SECRET_DETAIL not in dialog.message.text()
    assert "thread background-check" in dialog.report.details


def test_a_user_error_escaping_is_shown_as_its_plain_message(
    qtbot: QtBot, hook: CrashHook, tmp_path: Path
) -> None:
    try:
        raise UserError("the file is empty", "Choose another file.", record="customers.csv")
    except UserError as exc:
        hook._excepthook(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(lambda: len(hook.dialogs) == 1)
    assert not isinstance(hook.dialogs[0], CrashDialog)
    assert not (tmp_path / "logs").exists()  # nothing to report: not a bug


def test_a_worker_failure_carries_the_apology_or_the_users_problem(
    qtbot: QtBot, hook: CrashHook
) -> None:
    runner = TaskRunner()
    messages: list[str] = []

    def bug(_cancel: threading.Event, _progress: object) -> None:
        raise KeyError(SECRET_DETAIL)

    def problem(_cancel: threading.Event, _progress: object) -> None:
        raise UserError("no customer C9", "Import customers first.", field="customer_ref")

    for function in (bug, problem):
        runner.start(function, name=function.__name__, on_failure=messages.append)
    qtbot.waitUntil(lambda: len(messages) == 2)
    assert runner.wait()
    apology, plain = sorted(messages, key=lambda m: m.startswith("field"))
    assert apology.startswith("Sorry, something went wrong inside Ledgerlink.")
    assert SECRET_DETAIL not in apology
    assert plain == 'field "customer_ref": no customer C9. Import customers first.'
    qtbot.waitUntil(lambda: len(hook.dialogs) == 1)  # the bug also gets Copy details
    assert only_dialog(hook).report.path is not None
