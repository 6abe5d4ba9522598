"""The lock date FreeAgent and KashFlow keep between creates (connectors/kept_lock.py):
read once, trusted for five minutes, read again after; the last one read names a lock in
a refusal."""

from __future__ import annotations

from datetime import date

from connectors.contract import LockDates
from connectors.kept_lock import LOCK_TTL, KeptLockDate


class Package:
    """A package's lock date, counting the times it is asked."""

    def __init__(self, kept: KeptLockDate, lock: date | None) -> None:
        self.kept = kept
        self.lock = lock
        self.asked = 0

    def lock_dates(self) -> LockDates:
        self.asked += 1
        self.kept.keep(self.lock)
        return LockDates(period_lock=self.lock)


def test_a_lock_date_is_read_once_then_trusted_for_five_minutes() -> None:
    now = [1000.0]
    kept = KeptLockDate(lambda: now[0])
    package = Package(kept, date(2026, 1, 31))
    assert kept.last() is None  # nothing read yet: no lock to name

    assert kept.current(package.lock_dates) == date(2026, 1, 31)
    package.lock = date(2026, 2, 28)  # moved in the package meanwhile
    now[0] += LOCK_TTL - 1
    assert kept.current(package.lock_dates) == date(2026, 1, 31)
    assert package.asked == 1

    now[0] += 1
    assert kept.current(package.lock_dates) == date(2026, 2, 28)
    assert package.asked == 2 and kept.last() == date(2026, 2, 28)


def test_no_lock_is_kept_too() -> None:
    now = [0.0]
    kept = KeptLockDate(lambda: now[0])
    package = Package(kept, None)
    assert kept.current(package.lock_dates) is None
    assert kept.current(package.lock_dates) is None
    assert package.asked == 1
