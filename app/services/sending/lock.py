"""One send at a time per store.

Two senders over the same outbox would each treat the other's in-flight rows as
interrupted. On a data folder's SQLite file the lock is an OS file lock; on a shared
PostgreSQL store, which several computers use, it is the server's advisory lock, held by
one connection. Either way it is released when its holder dies, however it dies (the OS
closes the file; the server ends the dead client's session): a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import sys
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlalchemy import Connection, Engine, func, select

from app.db.location import describe_store
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


class SendLockLost(RuntimeError):
    """The shared store's send lock was lost mid-send; the send must stop."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(
            f"The connection to {describe_store(engine.url)} that keeps sends one at a "
            "time was lost, so this send stopped before another computer's could overlap "
            "it. Nothing is lost: send again once the server can be reached."
        )


#: The advisory lock's number: the same on every computer and every Ledgerlink version.
ADVISORY_LOCK_KEY = zlib.crc32(b"ledgerlink.send")


class DatabaseSendLock:
    """The send lock of a shared PostgreSQL store: a session advisory lock taken with
    ``pg_try_advisory_lock`` on a connection held open for the whole send."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> DatabaseSendLock:
        connection = self.engine.connect()
        try:
            got = connection.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK_KEY))).scalar()
            connection.commit()  # the lock is the session's; no transaction stays open
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            raise SendInProgress(
                "Another send is already running on this shared store (from this computer "
                "or another one); this one was not started."
            )
        self._connection = connection
        return self

    def verify(self) -> None:
        """Raise :class:`SendLockLost` if the connection holding the lock has gone (the
        server ended it, the network dropped): the lock went with it, and another
        computer may start a send."""
        connection = self._connection
        if connection is None:
            raise SendLockLost(self.engine)
        try:
            connection.execute(select(1))
            connection.commit()
        except Exception as exc:
            raise SendLockLost(self.engine) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
            connection.commit()
        except Exception:
            # The connection is gone (server restarted, network dropped): the server has
            # already ended its session, and the lock with it. Throw the connection away.
            connection.invalidate()
        finally:
            connection.close()


def send_lock(engine: Engine, lock_path: Path) -> AbstractContextManager[object]:
    """The lock that keeps sends one at a time on ``engine``'s store: the server's
    advisory lock on PostgreSQL, else the file lock at ``lock_path``."""
    if engine.dialect.name == "postgresql":
        return DatabaseSendLock(engine)
    return SendLock(lock_path)


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
