"""Keeping within a package's rate limits, and backing off when it struggles.

Both take their clock and sleep from the caller, so the send benchmark can run ten
thousand records through a virtual minute-by-minute clock in a fraction of a second.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

_EPSILON = 1e-6
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class SlidingWindowLimiter:
    """At most ``limit`` calls in any ``window`` seconds (how packages count per minute).

    A sliding log of call times is exact where a token bucket with burst would let
    ``2 × limit`` calls through across a window boundary and earn a 429.
    """

    def __init__(
        self, limit: int, window: float = 60.0, *, clock: Clock = time.monotonic, sleep: Sleep
    ) -> None:
        if limit < 1:
            raise ValueError("a rate limit must allow at least one call")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._calls: deque[float] = deque()

    def acquire(self) -> float:
        """Wait until a call is allowed, record it, and return how long we waited."""
        waited = 0.0
        while True:
            now = self.clock()
            # The tolerance stops a float rounding at the window's edge from turning the
            # final wait into an endless series of zero-length sleeps.
            while self._calls and now - self._calls[0] >= self.window - _EPSILON:
                self._calls.popleft()
            if len(self._calls) < self.limit:
                self._calls.append(now)
                return waited
            delay = self.window - (now - self._calls[0])
            self.sleep(delay)
            waited += delay

    def pause_all(self, seconds: float) -> None:
        """Honour a ``Retry-After``: no call until ``seconds`` from now."""
        self.sleep(seconds)


@dataclass
class Backoff:
    """Exponential backoff with full jitter between ``base`` and ``cap`` seconds."""

    base: float = 2.0
    cap: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2**attempt))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))


def interruptible_sleep(cancel: threading.Event) -> Sleep:
    """A sleep that ends early when the user cancels."""

    def sleep(seconds: float) -> None:
        cancel.wait(max(0.0, seconds))

    return sleep
