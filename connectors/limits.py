"""The one rate limiter: every package's per-minute, per-day and other windows, kept on
our side so a send waits for its turn instead of earning a ``429``.

One :class:`RateLimiter` belongs to one connection and counts what the *package* counts:
HTTP requests (a cloud connector's :class:`~connectors.http.ApiClient` takes a turn for
each one, reads during a credit note's allocation or an uncertain record's look-up
included), or the send engine's calls for a package without its own HTTP (the Sandbox).

Why a request is counted at the moment its answer arrives, not when it leaves: the
package stamps a request when it *receives* it, some time after we sent it. Counting
from the send time lets request 61 leave exactly 60 seconds after request 1 left — but
if request 1 took longer to arrive than request 61 does, the package still sees 61 in
its minute and answers ``429``. That was the root cause of the real-clock refusals in
issue 11. The package received each request before we read its answer, so a window
counted from the answer's arrival can never be shorter than the package's. While a
request is in flight it counts from when it left (it occupies a place either way).

The package's own counters, where it sends them (Xero's ``X-MinLimit-Remaining`` and
``X-DayLimit-Remaining``), are fed in through :meth:`RateLimiter.observe`: when the
package says fewer calls remain than we think, we believe the package (another app on
the same organisation spends the same allowance).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from connectors.contract import RateLimit, RateScale
from connectors.errors import Cancelled, RateLimited

Clock = Callable[[], float]
Sleep = Callable[[float], None]

MINUTE = "minute"
DAY = "day"

#: A float rounding at a window's edge must not turn the last wait into an endless
#: series of zero-length sleeps.
_EPSILON = 1e-6


@dataclass(frozen=True)
class Window:
    """At most ``limit`` units in any ``seconds``; a request costs one unit unless the
    caller says otherwise (QuickBooks counts each operation in a batch)."""

    name: str
    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError(f"window {self.name!r} must allow at least one call per period")


class Turn:
    """One request's place in the windows, from :meth:`RateLimiter.acquire` until
    :meth:`RateLimiter.finish` moves it to the time its answer came."""

    __slots__ = ("at", "costs")

    def __init__(self, at: float, costs: Mapping[str, int]) -> None:
        self.at = at
        self.costs = dict(costs)


def package_windows(rate: RateLimit, scale: RateScale | None = None) -> list[Window]:
    """The windows a package's :class:`~connectors.contract.RateLimit` declares
    (``scale``: shrunk for the real-clock benchmark, whose stand-ins shrink alike)."""
    scale = scale or RateScale()
    windows = [Window(MINUTE, *scale.window(max(1, rate.per_minute), 60.0))]
    if rate.per_day:
        windows.append(Window(DAY, *scale.window(rate.per_day, 86_400.0)))
    return windows


class RateLimiter:
    """Sliding windows of exact call times (a token bucket with burst would let twice the
    limit through across a window's edge).

    ``max_wait``: a turn further away than this (a spent daily allowance) is not slept
    for; :class:`~connectors.errors.RateLimited` says how long instead, and the send
    engine stops and leaves the rest for the next send. A cancel (see :meth:`watch`)
    ends a wait with :class:`~connectors.errors.Cancelled`.
    """

    def __init__(
        self,
        windows: Iterable[Window],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        max_wait: float = 900.0,
        package_name: str = "The package",
    ) -> None:
        self.windows = {w.name: w for w in windows}
        if not self.windows:
            raise ValueError("a rate limiter needs at least one window")
        self.clock = clock
        self._sleep = sleep
        self.max_wait = max_wait
        self.package_name = package_name
        self._log: dict[str, deque[Turn]] = {name: deque() for name in self.windows}
        self._hold_until = float("-inf")
        self._cancel = threading.Event()
        self._lock = threading.Condition()
        #: Turns taken, and seconds spent waiting for them (for reports and benches).
        self.turns = 0
        self.waited = 0.0

    @classmethod
    def for_package(
        cls,
        rate: RateLimit,
        *,
        package_name: str = "The package",
        extra: Iterable[Window] = (),
        scale: RateScale | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        max_wait: float = 900.0,
    ) -> RateLimiter:
        """The limiter for a package's declared limits, plus any ``extra`` windows."""
        return cls(
            [*package_windows(rate, scale), *extra],
            clock=clock,
            sleep=sleep,
            max_wait=max_wait,
            package_name=package_name,
        )

    # ------------------------------------------------------------------ wiring

    def watch(self, cancel: threading.Event) -> None:
        """End any wait as soon as ``cancel`` is set (the send engine's cancel)."""
        self._cancel = cancel

    def use_sleep(self, sleep: Sleep | None) -> None:
        """Sleep with ``sleep`` (a virtual clock's, in tests) instead of waiting on the
        cancel event."""
        self._sleep = sleep

    # ------------------------------------------------------------------ turns

    def acquire(self, costs: Mapping[str, int] | None = None) -> Turn:
        """Wait until a request of ``costs`` (window name → units; one unit in every
        window by default) fits in every window, and take its place."""
        wanted = {name: 1 for name in self.windows}
        wanted.update(costs or {})
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait_for(wanted, now)
                if wait <= 0:
                    turn = Turn(now, wanted)
                    for name, cost in wanted.items():
                        if cost and name in self._log:
                            self._log[name].append(turn)
                    self.turns += 1
                    return turn
            if wait > self.max_wait:
                raise RateLimited(
                    f"{self.package_name} has used its allowance for now; it takes more in "
                    f"{wait:.0f} seconds.",
                    retry_after=wait,
                )
            self._pause(wait)

    def finish(self, turn: Turn) -> None:
        """The request's answer has come: from now on it counts from this moment."""
        with self._lock:
            now = self.clock()
            for name, log in self._log.items():
                if turn.costs.get(name):
                    try:
                        log.remove(turn)
                    except ValueError:
                        continue
                    turn.at = now
                    # Every turn already logged is stamped no later than now, so
                    # appending keeps each log in time order.
                    log.append(turn)
            turn.at = now

    def hold(self, seconds: float) -> None:
        """Honour a ``Retry-After``: no request for ``seconds`` from now."""
        with self._lock:
            self._hold_until = max(self._hold_until, self.clock() + max(0.0, seconds))

    def observe(self, remaining: Mapping[str, int]) -> None:
        """The package's own count of what is left in a window (window name → calls):
        when it is lower than ours, take the difference as spent now."""
        with self._lock:
            now = self.clock()
            for name, left in remaining.items():
                window = self.windows.get(name)
                if window is None or left < 0:
                    continue
                log = self._log[name]
                self._expire(log, window, now)
                ours = window.limit - sum(t.costs.get(name, 0) for t in log)
                if left < ours:
                    log.append(Turn(now, {name: ours - left}))

    def remaining(self, name: str) -> int:
        """How many units the window ``name`` has left now, by our count."""
        with self._lock:
            window = self.windows[name]
            log = self._log[name]
            self._expire(log, window, self.clock())
            return window.limit - sum(t.costs.get(name, 0) for t in log)

    # ------------------------------------------------------------------ inside

    @staticmethod
    def _expire(log: deque[Turn], window: Window, now: float) -> None:
        while log and now - log[0].at >= window.seconds - _EPSILON:
            log.popleft()

    def _wait_for(self, wanted: Mapping[str, int], now: float) -> float:
        wait = self._hold_until - now
        for name, cost in wanted.items():
            window = self.windows.get(name)
            if window is None or not cost:
                continue
            log = self._log[name]
            self._expire(log, window, now)
            used = sum(t.costs.get(name, 0) for t in log)
            if used + cost <= window.limit:
                continue
            if cost > window.limit:
                raise ValueError(f"one request of {cost} exceeds the {name} window")
            # Wait until enough of the oldest turns have left the window.
            freed = 0
            for turn in log:
                freed += turn.costs.get(name, 0)
                if used - freed + cost <= window.limit:
                    wait = max(wait, window.seconds - (now - turn.at))
                    break
        return wait

    def _pause(self, seconds: float) -> None:
        if self._cancel.is_set():
            raise Cancelled("Cancelled while waiting for the package's rate limit.")
        self.waited += seconds
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._cancel.wait(seconds)
        if self._cancel.is_set():
            raise Cancelled("Cancelled while waiting for the package's rate limit.")
