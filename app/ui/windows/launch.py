"""Starting the window."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from app.config import DataPaths
    from app.services.dashboard_read import DashboardSnapshot
    from app.ui.windows.main_window import MainWindow


def note_modules_without_qt() -> None:
    """Tell PySide that the modules imported so far use no Qt.

    Once PySide is imported, the first ``import`` naming a module it has not met makes
    it read that module's whole source (``inspect.getsource``) to look for "PySide6"
    (for its opt-in ``__feature__`` switches, which Ledgerlink does not use): about
    10 ms on the way to the first window, nearly all of it for modules (``typing``,
    ``logging``, our services) imported before Qt was. This module is where a start
    first imports Qt, so what was imported before it uses none; PySide keeps its
    answers in a dict by module name, filled here for those modules. A PySide without
    that dict is left alone (it then scans as before).
    """
    # Called as this module is imported, before it imports any module of ours.
    known = getattr(sys.modules.get("__feature__"), "pyside_feature_dict", None)
    if isinstance(known, dict):
        for name in list(sys.modules):
            if not name.startswith(_USES_QT):
                known.setdefault(name, -1)  # PySide's own "uses no PySide"


#: Modules that may use Qt, imported before or with this one: PySide's answer for them
#: is left to PySide.
_USES_QT = ("PySide6", "shiboken6", "__feature__", "app.ui", "wizard_pages", "__main__")


note_modules_without_qt()


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, high-DPI friendly and in the system's own light or dark palette.

    Qt 6 already scales by the screen's exact factor (the rounding policy's default is
    ``PassThrough``: 125 % stays 1.25, not 1 or 2) and follows the system palette, so
    nothing needs setting here; keeping this module free of the ``Qt`` namespace (a few
    hundred enums) also keeps it quick to import, for the first window's sake.
    """
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Ledgerlink")
    app.setOrganizationName("Ledgerlink")
    app.setApplicationDisplayName("Ledgerlink")
    return app


def create_window(
    paths: DataPaths,
    page: str | None = None,
    first_read: Future[DashboardSnapshot | None] | None = None,
) -> MainWindow:
    """The main window on ``paths``, shown. A returning user's dashboard is read in a
    thread (``first_read``, started by ``ledgerlink`` before it imported Qt, else now:
    see ``app.services.first_read``): when that read has finished by the time the
    window is built, the window's first paint is the dashboard with its data, else it
    is shown once read. The log file is set up and the store opened after that first
    paint (:func:`run_window` keeps what is logged before for the file).

    ``page`` is a wizard page name (``ledgerlink --page link-suppliers``) or
    ``dashboard``; without it the window decides (dashboard once set up, else the wizard
    where it was left).
    """

    def set_up_logging() -> None:
        from app.logging_setup import configure_logging

        paths.ensure()
        configure_logging(paths.logs)

    if first_read is None and page is None:
        from app.services.first_read import start_first_read

        first_read = start_first_read(paths)
    from app.ui.windows.main_window import MainWindow  # after note_modules_without_qt

    warm_up_imports()
    window = MainWindow(paths, page=page, first_read=first_read)
    window.open_when_shown(set_up_logging)
    window.show_read_if_ready()
    window.show()
    return window


def _import_what_opening_needs() -> None:
    # What the first read and the dashboard import (the store's SQLAlchemy is imported
    # once the dashboard shows its data: see MainWindow.open).
    from app.services import dashboard_read  # noqa: F401
    from app.ui.windows import dashboard  # noqa: F401


def warm_up_imports() -> threading.Thread:
    """Import, in a thread, what the first page needs, while Qt builds and paints
    the first window: the two overlap (Qt's own work runs without Python's lock), and
    the interpreter's import lock makes the window's own imports wait for, never
    repeat, what the thread has started. Started once per process."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_import_what_opening_needs, name="imports", daemon=True)
        _warming.start()
    return _warming


_warming: threading.Thread | None = None


def run_window(
    paths: DataPaths,
    page: str | None = None,
    first_read: Future[DashboardSnapshot | None] | None = None,
) -> int:
    """Show the main window on ``paths`` and run until it is closed (``first_read``: the
    dashboard's read, when the caller started it; see :func:`create_window`)."""
    from app.crash_report import set_report_folder
    from app.logging_setup import hold_early_records, write_held_records
    from app.ui.kit.crash import install_crash_hook

    warm_up_imports()  # overlaps the application object's own start
    app = make_application()
    set_report_folder(paths.logs)
    hold_early_records()
    hook = install_crash_hook(app)
    window: MainWindow | None = None
    try:
        window = create_window(paths, page, first_read)
        return app.exec()
    finally:
        del window
        hook.uninstall()
        write_held_records(paths)  # closed before its first page: keep what was logged
