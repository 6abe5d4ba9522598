"""The limiter under two windows that both bind (FreeAgent: 120 a minute and 3,600 an
hour per user, here shrunk alike as the real-clock bench shrinks them: 20 per 2 s and
600 per 120 s). It never lets the package see more than a window allows, whatever the
latencies, and it leaves no margin: with no latency it sends exactly when an ideal
sender would."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.contract import RateScale
from connectors.limits import RateLimiter, Window
from tests.standins.clock import VirtualClock

SCALE = RateScale(count=1 / 6, period=1 / 30)
MINUTE = Window("minute", *SCALE.window(120, 60.0))
HOUR = Window("hour", *SCALE.window(3600, 3600.0))


def _limiter(clock: VirtualClock) -> RateLimiter:
    return RateLimiter([MINUTE, HOUR], clock=clock.now, sleep=clock.sleep, max_wait=1e9)


def _most_in_any_window(stamps: list[float], seconds: float) -> int:
    """The most stamps inside any window of ``seconds`` (a sliding window, as the
    package counts: a stamp ``seconds`` or more before another is outside its window)."""
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    slowest=st.sampled_from([0.01, 0.05, 0.2]),
    requests=st.integers(min_value=700, max_value=1400),
)
def test_the_package_never_sees_more_than_either_window_allows(
    seed: int, slowest: float, requests: int
) -> None:
    """Each request takes its own time to reach the package and to come back (up to
    ``slowest`` each way: a minute's 20 take 2 s, so both windows bind)."""
    randoms = random.Random(seed)
    clock = VirtualClock(start=1000.0)
    limiter = _limiter(clock)
    received: list[float] = []
    for _ in range(requests):
        turn = limiter.acquire()
        clock.sleep(randoms.uniform(0.0, slowest))  # on its way
        received.append(clock.now())  # the package stamps it now
        clock.sleep(randoms.uniform(0.0, slowest))  # the answer on its way back
        limiter.finish(turn)
    assert _most_in_any_window(received, MINUTE.seconds) <= MINUTE.limit
    assert _most_in_any_window(received, HOUR.seconds) <= HOUR.limit


def test_with_no_latency_every_request_goes_the_moment_an_ideal_sender_would() -> None:
    """No safety margin at a window's edge: request ``k`` leaves at the earliest time
    both windows allow (a minute's 20 at once; an hour's 600 then wait for the first
    to leave the hour)."""
    clock = VirtualClock(start=0.0)
    limiter = _limiter(clock)
    sent: list[float] = []
    for _ in range(2000):
        limiter.finish(limiter.acquire())
        sent.append(clock.now())
    ideal = [
        HOUR.seconds * (k // HOUR.limit) + MINUTE.seconds * ((k % HOUR.limit) // MINUTE.limit)
        for k in range(2000)
    ]
    assert max(abs(a - b) for a, b in zip(sent, ideal, strict=True)) < 1e-5
    assert _most_in_any_window(sent, HOUR.seconds) == HOUR.limit
    assert _most_in_any_window(sent, MINUTE.seconds) == MINUTE.limit
