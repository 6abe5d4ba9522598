"""The window's side of QuickBooks Desktop's Web Connector: start its service in a
worker when the window opens on a paired QuickBooks Desktop set-up, stop it on close."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.services.store import Store
    from app.ui.windows.main_window import MainWindow

PACKAGE = "quickbooks_desktop"


def start_web_connector(window: MainWindow, store: Store, package: str | None) -> None:
    """Start the service (in a worker) when the chosen package is QuickBooks Desktop;
    the status bar says where it listens, or why it cannot."""
    if package != PACKAGE:
        return

    def work(_cancel: threading.Event, _progress: Any) -> str | None:
        from app.services.qbwc import hosting

        return hosting.start_for_window(store)

    def started(url: str | None) -> None:
        if url:
            window.statusBar().showMessage(f"Listening for the QuickBooks Web Connector at {url}")

    def failed(message: str) -> None:
        window.statusBar().showMessage(f"QuickBooks Web Connector: {message}")

    window.tasks.start(work, name="web connector service", on_success=started, on_failure=failed)


def stop_web_connector(store: Store) -> None:
    """Stop the service for this data folder, if it runs (before the store closes)."""
    from app.services.qbwc import hosting

    hosting.stop(store.paths.root)
