"""Keeping within a package's rate limits, and backing off when it struggles.

The rate limiter itself is :class:`connectors.limits.RateLimiter` — one class for every
package, owned by the connection when it paces its own requests (cloud connectors) and
by the sender otherwise. Clock and sleep come from the caller, so the send benchmark can
run ten thousand records through a virtual minute-by-minute clock in a moment.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.limits import RateLimiter, Window

__all__ = ["Backoff", "Clock", "RateLimiter", "Sleep", "Window", "interruptible_sleep"]

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass
class Backoff:
    """Exponential backoff with full jitter between ``base`` and ``cap`` seconds."""

    base: float = 2.0
    cap: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0 first): a random time between half and all
        of ``base`` × 2^attempt, never more than ``cap``."""
        ceiling = min(self.cap, self.base * (2**attempt))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))


def interruptible_sleep(cancel: threading.Event) -> Sleep:
    """A sleep that ends early when the user cancels."""

    def sleep(seconds: float) -> None:
        cancel.wait(max(0.0, seconds))

    return sleep
