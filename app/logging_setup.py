"""Logging to a rotating file in the data folder, with secrets masked."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "«redacted»"


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


def configure_logging(log_dir: Path, verbose: bool = False) -> None:
    """Log to ``log_dir/ledgerlink.log`` (rotated at 2 MB, 5 kept; owner-only files) and
    to stderr on -v; crash reports go to ``log_dir`` too."""
    from app.crash_report import set_report_folder
    from app.private_files import make_private_folder

    make_private_folder(log_dir)
    set_report_folder(log_dir)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler = _private_rotating_handler(log_dir / "ledgerlink.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    if verbose:
        stream = logging.StreamHandler()
        stream.addFilter(RedactingFilter())
        root.addHandler(stream)


def _private_rotating_handler(path: Path) -> logging.Handler:
    """A rotating file handler whose every file (the rotated ones too) is owner-only."""
    import logging.handlers  # only when logging is set up: keeps start-up quick

    from app.private_files import open_private

    class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
        def _open(self) -> Any:
            return open_private(Path(self.baseFilename), "a", encoding=self.encoding)

    return PrivateRotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
