"""Logging to a rotating file in the data folder, with secrets masked."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import DataPaths

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "«redacted»"
_early: EarlyRecords | None = None


def register_secret(value: str) -> None:
    """Mask ``value`` wherever it appears in a log record from now on."""
    if len(value) >= 6:  # short values would mask ordinary words
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record's message early and masks secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in the formatted message; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


#: At most this many records are kept before the log file exists (the time to the
#: first paint logs a handful; a loop logging without end must not fill the memory).
EARLY_RECORDS_KEPT = 10_000


class EarlyRecords(logging.Handler):
    """Keeps what is logged before the log file is set up (see
    :func:`hold_early_records`), then passes it, and anything still arriving through
    it, to the handlers :func:`configure_logging` makes."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self._targets: list[logging.Handler] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record``, or pass it on once the real handlers exist."""
        if self._targets:
            for target in self._targets:
                target.handle(record)
        elif len(self.records) < EARLY_RECORDS_KEPT:
            # Formatted now: a record's arguments may change before the file exists.
            with contextlib.suppress(TypeError, ValueError):  # the handler will say so
                record.msg, record.args = record.getMessage(), None
            self.records.append(record)

    def hand_over(self, targets: list[logging.Handler]) -> None:
        """Pass every kept record to ``targets``, in order, and every later one too."""
        self.acquire()  # handle() emits under this same lock
        try:
            self._targets = list(targets)
            kept, self.records = self.records, []
            for record in kept:
                for target in targets:
                    target.handle(record)
        finally:
            self.release()


def hold_early_records() -> None:
    """Keep every record logged from now on (at INFO and above) until
    :func:`configure_logging` writes them to the log file, so that setting up the file
    can wait until the first window is painted without losing a message."""
    global _early
    if _early is not None:
        return
    _early = EarlyRecords()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(_early)


def write_held_records(paths: DataPaths) -> None:
    """Write the records kept since :func:`hold_early_records`, if any are still kept
    (the window closed, or never opened, before its log file was set up), to the log
    file in ``paths``; with no log folder to write to, they are dropped and the keeping
    stops all the same."""
    global _early
    if _early is None:
        return
    try:
        paths.ensure()
        configure_logging(paths.logs)
    except OSError:
        logging.getLogger().removeHandler(_early)
        _early = None


def holding_early_records() -> bool:
    """Whether records are being kept for a log file not set up yet."""
    return _early is not None


def configure_logging(log_dir: Path, verbose: bool = False) -> None:
    """Log to ``log_dir/ledgerlink.log`` (rotated at 2 MB, 5 kept; owner-only files) and
    to stderr on -v; crash reports go to ``log_dir`` too. What was logged since
    :func:`hold_early_records` is written first."""
    global _early
    from app.crash_report import set_report_folder
    from app.private_files import make_private_folder

    make_private_folder(log_dir)
    set_report_folder(log_dir)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler = _private_rotating_handler(log_dir / "ledgerlink.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handlers = [handler]
    if verbose:
        stream = logging.StreamHandler()
        stream.addFilter(RedactingFilter())
        handlers.append(stream)
    early, _early = _early, None
    if early is None:
        for each in handlers:
            root.addHandler(each)
        return
    early.hand_over(handlers)
    # One assignment, so each record goes either through the early handler (passed on)
    # or straight to the new ones: never both, never neither.
    root.handlers = [h for h in root.handlers if h is not early] + handlers


def _private_rotating_handler(path: Path) -> logging.Handler:
    """A rotating file handler whose every file (the rotated ones too) is owner-only."""
    import logging.handlers  # only when logging is set up: keeps start-up quick

    from app.private_files import open_private

    class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
        def _open(self) -> Any:
            return open_private(Path(self.baseFilename), "a", encoding=self.encoding)

    return PrivateRotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
