"""One send at a time per data folder.

Two senders over the same outbox would each treat the other's in-flight rows as
interrupted. The lock is an OS file lock, so the operating system releases it when its
holder dies, however it dies: a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from app.private_files import open_private
from app.services.errors import EXIT_SEND_RUNNING, UserError


class SendInProgress(UserError):
    """Another send (the window's, or a scheduled ``ledgerlink send``) is running.

    The CLI exits with its own code (3) so a scheduler can tell it from failed records.
    """

    exit_code = EXIT_SEND_RUNNING


class SendLock:
    """``with SendLock(folder / "send.lock"):`` — raises :class:`SendInProgress` at once
    if another process or thread holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> SendLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[bytes] = open_private(self.path, "a+b")
        try:
            _lock(handle)
        except OSError as exc:
            handle.close()
            raise SendInProgress(
                "Another send is already running for this data (the window's, or a "
                "scheduled `ledgerlink send`); this one was not started",
                "Wait for it to finish; it continues on its own.",
            ) from exc
        self._handle = handle
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            _unlock(self._handle)
            self._handle.close()
            self._handle = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
