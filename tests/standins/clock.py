"""A virtual clock: tests advance time instead of sleeping."""

from __future__ import annotations

import threading


class VirtualClock:
    """Seconds since the epoch that only move when someone sleeps or advances them.

    Pass :meth:`now` as every component's clock and :meth:`sleep` as the sender's sleep,
    and a whole send that respects a 60-a-minute limit runs in a moment.
    """

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        with self._lock:
            self.slept += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
