"""QuickBooks Online's per-minute allowance, kept on our side.

Intuit allows 500 requests a minute per company, where every operation inside a batch
counts as one, and 40 batch requests a minute (Intuit developer blog, 2016 and 2023). The
send engine paces calls to the connector, not operations inside them, so the connector
keeps this budget itself: a request that would overspend it is not sent, and
:class:`~connectors.errors.RateLimited` says how long to wait, exactly as if QuickBooks
had answered 429 — without spending a call on the 429.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from connectors.errors import RateLimited

WINDOW = 60.0
OPERATIONS_PER_MINUTE = 500
BATCHES_PER_MINUTE = 40


class MinuteBudget:
    """Operations and batch requests spent in the last minute, by ``clock`` time."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        operations: int = OPERATIONS_PER_MINUTE,
        batches: int = BATCHES_PER_MINUTE,
    ) -> None:
        self.clock = clock
        self.operations = operations
        self.batches = batches
        self._spent: deque[tuple[float, int]] = deque()
        self._batch_times: deque[float] = deque()
        self._lock = threading.Lock()

    def spend(self, operations: int, *, batch: bool = False) -> None:
        """Record a request of ``operations`` operations, or raise
        :class:`RateLimited` (recording nothing) when it would go over."""
        with self._lock:
            now = self.clock()
            while self._spent and now - self._spent[0][0] >= WINDOW:
                self._spent.popleft()
            while self._batch_times and now - self._batch_times[0] >= WINDOW:
                self._batch_times.popleft()
            wait = self._wait_for(operations, batch, now)
            if wait > 0:
                raise RateLimited(
                    "QuickBooks Online takes 500 operations and 40 batches a minute; "
                    f"Ledgerlink waits {wait:.0f} seconds before sending more.",
                    retry_after=wait,
                )
            self._spent.append((now, operations))
            if batch:
                self._batch_times.append(now)

    def _wait_for(self, operations: int, batch: bool, now: float) -> float:
        wait = 0.0
        if batch and len(self._batch_times) >= self.batches:
            wait = WINDOW - (now - self._batch_times[0])
        used = sum(n for _, n in self._spent)
        if used + operations > self.operations:
            freed = 0
            for at, n in self._spent:
                freed += n
                if used - freed + operations <= self.operations:
                    wait = max(wait, WINDOW - (now - at))
                    break
        return max(0.0, wait)
