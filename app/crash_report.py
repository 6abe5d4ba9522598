"""Crash reports: what a bug leaves behind for support, and what a person is told.

Qt-free, so the CLI, the workers and the window's crash hook (``app/ui/kit/crash.py``)
all handle a bug the same way: the full report (traceback, version, platform) goes to a
file in the log folder, readable by its owner only and scrubbed of every secret
Ledgerlink has handled; the person sees a short apology and that file's path, never the
exception's own text.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from app import __version__
from app.logging_setup import redact
from app.private_files import write_private_text

log = logging.getLogger(__name__)

_folder: Path | None = None
_lock = threading.Lock()


def set_report_folder(folder: Path) -> None:
    """Write crash reports into ``folder`` (the data folder's ``logs``) from now on."""
    global _folder
    with _lock:
        _folder = folder


def report_folder() -> Path:
    """Where reports go: the folder set at start-up, else a ``ledgerlink-logs`` folder in
    the system's temporary folder (a crash before the data folder is known)."""
    with _lock:
        if _folder is not None:
            return _folder
    import tempfile

    return Path(tempfile.gettempdir()) / "ledgerlink-logs"


class CrashReport(NamedTuple):
    """One written report: its file (None if even that failed) and its full text.

    A named tuple, not a dataclass: every start imports this module, and declaring a
    frozen dataclass costs the first window about 1 ms (its methods are compiled from
    source as it is declared)."""

    path: Path | None
    details: str

    def apology(self) -> str:
        """The short message a person sees."""
        where = (
            f"A report was written to {self.path}"
            if self.path is not None
            else "The report could not be saved; use Copy details"
        )
        return (
            "Sorry, something went wrong inside Ledgerlink. This is a fault in Ledgerlink, "
            f"not something you did. {where}; please send it to support."
        )


def write_crash_report(exc: BaseException, context: str = "") -> CrashReport:
    """Write the full report of ``exc`` (with ``context``, e.g. the task's name)."""
    import platform  # only once something has gone wrong

    now = datetime.now(UTC)
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    details = redact(
        "\n".join(
            [
                f"Ledgerlink {__version__} crash report",
                f"time: {now.isoformat(timespec='seconds')}",
                f"where: {context or 'unknown'}",
                f"python: {sys.version.split()[0]} on {platform.platform()}",
                "",
                trace,
            ]
        )
    )
    folder = report_folder()
    name = f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}-{threading.get_ident() % 100000}.txt"
    path: Path | None = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        assert path is not None
        write_private_text(path, details)
    except OSError:
        path = None
    log.error("bug in %s (report %s):\n%s", context or "Ledgerlink", path, details)
    return CrashReport(path, details)


def message_for_person(exc: BaseException, context: str = "") -> str:
    """What to show for ``exc``: a user error's message with its fix, or for a bug the
    apology and where its report was written."""
    from app.services.errors import user_error_from

    problem = user_error_from(exc)
    if problem is not None:
        return problem.one_line()
    return write_crash_report(exc, context).apology()
