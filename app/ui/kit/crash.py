"""The window's side of bugs: a crash hook and the apology a person sees.

Exceptions that escape a Qt slot (PySide6 hands them to ``sys.excepthook``), a Python
thread (``threading.excepthook``) or a worker task all go the same way: the full report
is written by :mod:`app.crash_report` and a short apology says where, with a "Copy
details" button for support. A problem the user can fix (:class:`UserError`) is shown
as its plain message instead, and no raw exception text reaches the screen.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from app.crash_report import CrashReport, write_crash_report
from app.services.errors import user_error_from

log = logging.getLogger(__name__)

_active: CrashHook | None = None


class CrashDialog(QDialog):
    """A short apology, where the report was written, and "Copy details"."""

    def __init__(self, report: CrashReport, parent: QWidget | None = None) -> None:
        # Imported here: the hook is installed on every start, the dialog seldom shown.
        from PySide6.QtWidgets import QDialogButtonBox

        super().__init__(parent)
        self.report = report
        self.setWindowTitle("Ledgerlink: something went wrong")
        layout = QVBoxLayout(self)
        self.message = QLabel(report.apology())
        self.message.setWordWrap(True)
        self.message.setObjectName("crashMessage")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        """Put the whole report (and where its file is) on the clipboard."""
        from PySide6.QtGui import QGuiApplication

        where = f"Report file: {self.report.path}\n\n" if self.report.path else ""
        QGuiApplication.clipboard().setText(where + self.report.details)
        self.copy_button.setText("Copied")


class CrashHook(QObject):
    """Catches what escapes slots and threads; shows :class:`CrashDialog` on the GUI
    thread (reports from other threads arrive through a queued signal)."""

    reported = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dialogs: list[QDialog] = []
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        self.reported.connect(self._show)

    def install(self) -> CrashHook:
        """Become ``sys.excepthook`` and ``threading.excepthook``."""
        global _active
        sys.excepthook = self._excepthook
        threading.excepthook = self._threading_hook
        _active = self
        return self

    def uninstall(self) -> None:
        """Put back the hooks that were there before :meth:`install`."""
        global _active
        sys.excepthook = self._previous_excepthook
        threading.excepthook = self._previous_threading_hook
        if _active is self:
            _active = None

    def handle(self, exc: BaseException, context: str) -> CrashReport:
        """Write ``exc``'s report and show the apology (from any thread)."""
        report = write_crash_report(exc, context)
        self.reported.emit(report)
        return report

    def _excepthook(
        self,
        kind: type[BaseException],
        exc: BaseException,
        trace: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self._previous_excepthook(kind, exc, trace)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(trace)
        self._handle_or_explain(exc, "a window action")

    def _threading_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self._handle_or_explain(args.exc_value, f"thread {name}")

    def _handle_or_explain(self, exc: BaseException, context: str) -> None:
        problem = user_error_from(exc)
        if problem is not None:
            log.info("%s: %s", context, problem.one_line())
            self.reported.emit(problem)
            return
        self.handle(exc, context)

    def _show(self, what: object) -> None:
        from PySide6.QtWidgets import QMessageBox

        parent = QApplication.activeWindow()
        if isinstance(what, CrashReport):
            dialog: QDialog = CrashDialog(what, parent)
        else:  # a user error that escaped: its plain message, no apology needed
            dialog = QMessageBox(QMessageBox.Icon.Warning, "Ledgerlink", str(what), parent=parent)
        dialog.finished.connect(lambda _code: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        dialog.show()


def install_crash_hook(parent: QObject | None = None) -> CrashHook:
    """Create the application's crash hook and install it."""
    return CrashHook(parent).install()


def message_for_task_failure(exc: BaseException, task: str) -> str:
    """What a worker's ``failed`` signal carries for ``exc``: a user error's message and
    fix, or for a bug the apology (its report written, and shown by the crash hook with
    "Copy details" when one is installed)."""
    problem = user_error_from(exc)
    if problem is not None:
        log.info("task %s: %s", task, problem.one_line())
        return problem.one_line()
    hook = _active
    # A hook whose window is gone (a closed window, an earlier test) cannot show
    # anything: write the report alone rather than signal a deleted object.
    report = (
        hook.handle(exc, f"task {task}")
        if hook is not None and shiboken6.isValid(hook)
        else write_crash_report(exc, f"task {task}")
    )
    return report.apology()
