"""Starting the window."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.config import DataPaths
from app.logging_setup import configure_logging
from app.ui.main_window import MainWindow


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, high-DPI friendly and in the system's own light or dark palette."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Ledgerlink")
    app.setOrganizationName("Ledgerlink")
    app.setApplicationDisplayName("Ledgerlink")
    return app


def run_window(paths: DataPaths) -> int:
    """Show the main window on ``paths`` and run until it is closed."""
    app = make_application()
    paths.ensure()
    configure_logging(paths.logs)
    window = MainWindow(paths)
    window.show()
    window.open()
    return app.exec()
