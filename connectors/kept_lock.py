"""A package's lock date kept briefly, so a send does not ask for it before every create.

FreeAgent and KashFlow refuse a record dated in a locked period with a message that does
not say the date; the connectors read the lock date before creating, and again only once
the one they have is older than :data:`LOCK_TTL`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from connectors.contract import LockDates

#: How long a lock date read for a create is trusted before it is read again (seconds).
LOCK_TTL = 300.0


class KeptLockDate:
    """The lock date last read and when (by ``clock``, in seconds); safe across threads."""

    def __init__(self, clock: Callable[[], float], ttl: float = LOCK_TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._mutex = threading.Lock()
        self._read: tuple[float, date | None] | None = None

    def keep(self, lock: date | None) -> None:
        """Remember ``lock`` (``None``: no lock) as read now."""
        with self._mutex:
            self._read = (self._clock(), lock)

    def last(self) -> date | None:
        """The lock date last read, however long ago; ``None`` if none was read (or there
        is no lock). For naming the lock in a refusal, never for deciding one."""
        with self._mutex:
            return self._read[1] if self._read else None

    def current(self, read_again: Callable[[], LockDates]) -> date | None:
        """The kept lock date while it is fresh, else ``read_again()``'s (which is
        expected to :meth:`keep` it)."""
        with self._mutex:
            read = self._read
        if read is not None and self._clock() - read[0] < self._ttl:
            return read[1]
        return read_again().period_lock
