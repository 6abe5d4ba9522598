"""The dashboard's first read (``app.services.dashboard_read``) at start-up: done at once
when it is quick, else started in a thread.

Kept apart from the window's modules and free of Qt, so ``ledgerlink`` can read before
it imports Qt. When the read is finished by the time the window is built, the window's
first paint is the dashboard with its data; else "Opening your data…" is painted first
and the dashboard once read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
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


#: How long ``ledgerlink`` may spend reading a local store's dashboard before it starts
#: Qt (the read usually takes a fifth of that; see :func:`begin_first_read`).
FIRST_READ_BUDGET_S = 0.04


def begin_first_read(
    paths: DataPaths,
    budget_s: float = FIRST_READ_BUDGET_S,
    clock: Callable[[], float] = time.monotonic,
) -> Future[DashboardSnapshot | None]:
    """The dashboard's read: done now, on the calling thread, when the data folder keeps
    its data in its own SQLite file and the read (its imports included) takes less than
    ``budget_s`` by ``clock``; else (a shared PostgreSQL store, a read stopped at the
    budget, any fault) started on a thread by :func:`start_first_read`.

    Called before Qt is imported, so no window, application object or event loop
    exists yet that this work could hold up: it only moves a bounded read in front of
    building the window rather than beside it. Beside it, the read rarely gets far
    (PySide keeps Python's lock while Qt works), so the first paint would be "Opening
    your data…" and the dashboard a second paint later.
    """
    deadline = clock() + budget_s

    def late() -> bool:
        return clock() >= deadline

    try:
        if paths.keeps_data_here:
            from app.services.dashboard_read import ReadLate, read_dashboard

            try:
                if not late():
                    done: Future[DashboardSnapshot | None] = Future()
                    done.set_result(read_dashboard(paths, late))
                    return done
            except ReadLate:
                pass
    except Exception:
        # Only a shortcut: the thread's read meets the same fault and hands it on.
        log.info("the quick first read failed; reading in a thread", exc_info=True)
    return start_first_read(paths)


log = logging.getLogger(__name__)
