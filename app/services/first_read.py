"""Starting the dashboard's first read (``app.services.dashboard_read``) in a thread.

Kept apart from the window's modules and free of Qt, so ``ledgerlink`` can start the read
before it imports Qt: the read (and the modules it imports) then overlaps Qt's own
start, and is usually finished by the time the window is built, whose first paint is
then the dashboard with its data.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import DataPaths
    from app.services.dashboard_read import DashboardSnapshot


def start_first_read(paths: DataPaths) -> Future[DashboardSnapshot | None]:
    """Start reading the dashboard's data in a thread of its own, now; the future holds
    its snapshot (``None``: the store must be opened first) or the exception it raised."""
    future: Future[DashboardSnapshot | None] = Future()

    def read() -> None:
        try:
            from app.services.dashboard_read import read_dashboard

            future.set_result(read_dashboard(paths))
        except BaseException as exc:  # handed to the window's worker, which reports it
            future.set_exception(exc)

    threading.Thread(target=read, name="first read", daemon=True).start()
    return future
