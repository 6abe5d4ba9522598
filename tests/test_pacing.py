"""The rate limiter keeps to the package's limit on a virtual clock."""

from __future__ import annotations

import random

from app.services.sending.pacing import Backoff, RateLimiter, Window


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_never_more_than_the_limit_in_any_window() -> None:
    clock = VirtualClock()
    limiter = RateLimiter([Window("minute", 60, 60.0)], clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(300):
        turn = limiter.acquire()
        times.append(clock.now)
        clock.now += 0.01  # the request itself takes a little time
        limiter.finish(turn)
    for i in range(len(times) - 60):
        assert times[i + 60] - times[i] >= 60.0 - 1e-6
    # and it does not wait more than it must: 300 calls at 60/min ≈ 4 minutes
    assert times[-1] < 4 * 60 + 5


def test_first_calls_go_without_waiting() -> None:
    clock = VirtualClock()
    limiter = RateLimiter([Window("minute", 5, 60.0)], clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert limiter.waited == 0.0
    limiter.acquire()
    assert limiter.waited == 60.0


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(1))
    delays = [backoff.delay(n) for n in range(8)]
    assert 0.5 <= delays[0] <= 1.0
    assert all(d <= 10.0 for d in delays)
    assert delays[5] >= 5.0
