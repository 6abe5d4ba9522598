"""The one rate limiter: windows, daily limits, the package's own counts, answers'
arrival times, holds and cancels — on a virtual clock."""

from __future__ import annotations

import threading

import httpx
import pytest

from connectors.contract import RateLimit
from connectors.errors import Cancelled, RateLimited
from connectors.http import ApiClient, make_client
from connectors.limits import DAY, MINUTE, RateLimiter, Window
from tests.standins.clock import VirtualClock


def limiter_on(clock: VirtualClock, *windows: Window, max_wait: float = 900.0) -> RateLimiter:
    return RateLimiter(windows, clock=clock.now, sleep=clock.sleep, max_wait=max_wait)


def test_a_full_minute_goes_at_once_then_waits_for_the_window() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 60, 60.0))
    start = clock.now()
    for _ in range(60):
        limiter.finish(limiter.acquire())
    assert clock.now() == start
    limiter.finish(limiter.acquire())
    assert clock.now() == pytest.approx(start + 60.0)


def test_a_turn_counts_from_when_its_answer_came_not_when_it_left() -> None:
    # The package stamps a request when it arrives; the first request may take longer
    # to arrive than the 61st. Counting from the answer is never shorter than its count.
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 2, 60.0))
    start = clock.now()
    first = limiter.acquire()
    clock.advance(5.0)  # slow answer
    limiter.finish(first)
    limiter.finish(limiter.acquire())
    limiter.finish(limiter.acquire())
    assert clock.now() == pytest.approx(start + 65.0)


def test_the_daily_limit_is_enforced_and_not_slept_for() -> None:
    clock = VirtualClock()
    limiter = RateLimiter.for_package(
        RateLimit(per_minute=60, per_day=100), clock=clock.now, sleep=clock.sleep
    )
    for _ in range(100):
        limiter.finish(limiter.acquire())
    before = clock.now()
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert caught.value.retry_after > 80_000
    assert clock.now() - before < 120  # it waited out minute windows at most, never a day


def test_the_packages_own_remaining_counts_feed_the_limiter() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 60, 60.0), Window(DAY, 5000, 86_400.0))
    limiter.finish(limiter.acquire())
    limiter.observe({MINUTE: 0, DAY: 4000})  # another app has spent the rest
    assert limiter.remaining(MINUTE) == 0
    assert limiter.remaining(DAY) == 4000
    start = clock.now()
    limiter.acquire()
    assert clock.now() == pytest.approx(start + 60.0)


def test_a_higher_remaining_count_never_loosens_our_own() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 10, 60.0))
    for _ in range(5):
        limiter.finish(limiter.acquire())
    limiter.observe({MINUTE: 9})
    assert limiter.remaining(MINUTE) == 5


def test_weighted_costs_and_extra_windows() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 500, 60.0), Window("batch", 40, 60.0))
    start = clock.now()
    limiter.finish(limiter.acquire({MINUTE: 300, "batch": 1}))
    limiter.finish(limiter.acquire({MINUTE: 200, "batch": 1}))
    assert clock.now() == start
    limiter.finish(limiter.acquire({MINUTE: 1, "batch": 0}))
    assert clock.now() == pytest.approx(start + 60.0)


def test_retry_after_holds_every_request() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 60, 60.0))
    start = clock.now()
    limiter.hold(7.0)
    limiter.acquire()
    assert clock.now() == pytest.approx(start + 7.0)


def test_a_cancel_ends_the_wait() -> None:
    cancel = threading.Event()
    limiter = RateLimiter([Window(MINUTE, 1, 600.0)])
    limiter.watch(cancel)
    limiter.finish(limiter.acquire())
    cancel.set()
    with pytest.raises(Cancelled):
        limiter.acquire()


def test_the_api_client_takes_a_turn_per_request_and_reads_the_headers() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 60, 60.0), Window(DAY, 5000, 86_400.0))

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={}, headers={"X-MinLimit-Remaining": "58", "X-DayLimit-Remaining": "10"}
        )

    api = ApiClient(
        make_client(transport=httpx.MockTransport(answer)),
        package_name="Xero",
        limiter=limiter,
        remaining_headers={"X-MinLimit-Remaining": MINUTE, "X-DayLimit-Remaining": DAY},
    )
    api.request("GET", "https://api.example/x")
    assert limiter.turns == 1
    assert limiter.remaining(MINUTE) == 58
    assert limiter.remaining(DAY) == 10


def test_a_429_holds_the_limiter_for_its_retry_after() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, Window(MINUTE, 60, 60.0))
    api = ApiClient(
        make_client(
            transport=httpx.MockTransport(
                lambda request: httpx.Response(429, headers={"Retry-After": "12"})
            )
        ),
        package_name="Xero",
        limiter=limiter,
    )
    with pytest.raises(RateLimited):
        api.request("GET", "https://api.example/x")
    start = clock.now()
    limiter.acquire()
    assert clock.now() == pytest.approx(start + 12.0, abs=0.01)
