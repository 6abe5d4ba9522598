"""connectors.http: timeouts, exact JSON money, and every transport failure or status
translated into the connector error the send engine acts on."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.errors import (
    ConnectorError,
    NeedsReconnecting,
    OutcomeUncertain,
    RateLimited,
    TemporarilyUnavailable,
)
from connectors.http import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    ApiClient,
    dumps_json,
    loads_json,
    make_client,
    retry_after_seconds,
)

URL = "https://api.example.test/things"
SECRET = "Bearer tok-0123456789-very-secret"


def client_for(handler: Callable[[httpx.Request], httpx.Response], **options: int) -> ApiClient:
    return ApiClient(
        make_client(transport=httpx.MockTransport(handler), headers={"Authorization": SECRET}),
        package_name="Example Books",
        **options,
    )


def raising(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


def answering(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"Message": "x"})

    return handler


def test_client_has_explicit_timeouts_and_our_user_agent() -> None:
    client = make_client(transport=httpx.MockTransport(answering(200)))
    assert client.timeout == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.connect and DEFAULT_TIMEOUT.read and DEFAULT_TIMEOUT.pool
    assert client.headers["User-Agent"] == USER_AGENT
    assert client.follow_redirects is False


@pytest.mark.parametrize(
    ("exc", "creates", "expected"),
    [
        (httpx.ConnectError, False, TemporarilyUnavailable),
        (httpx.ConnectError, True, TemporarilyUnavailable),
        (httpx.ConnectTimeout, True, TemporarilyUnavailable),
        (httpx.PoolTimeout, True, TemporarilyUnavailable),
        (httpx.ReadTimeout, False, TemporarilyUnavailable),
        (httpx.ReadTimeout, True, OutcomeUncertain),
        (httpx.WriteTimeout, True, OutcomeUncertain),
        (httpx.WriteError, True, OutcomeUncertain),
        (httpx.ReadError, True, OutcomeUncertain),
        (httpx.RemoteProtocolError, True, OutcomeUncertain),
        (httpx.RemoteProtocolError, False, TemporarilyUnavailable),
    ],
)
def test_transport_failures(
    exc: type[httpx.TransportError], creates: bool, expected: type[ConnectorError]
) -> None:
    api = client_for(raising(exc))
    with pytest.raises(ConnectorError) as caught:
        api.request("PUT", URL, body={"Name": "secret-body-value"}, creates=creates)
    assert type(caught.value) is expected
    message = str(caught.value)
    assert "Example Books" in message and "/things" in message
    assert "tok-0123456789" not in message and "secret-body-value" not in message


@pytest.mark.parametrize(
    ("status", "creates", "expected"),
    [
        (500, True, OutcomeUncertain),
        (502, True, OutcomeUncertain),
        (503, True, OutcomeUncertain),
        (500, False, TemporarilyUnavailable),
        (503, False, TemporarilyUnavailable),
        (401, False, NeedsReconnecting),
        (401, True, NeedsReconnecting),
        (429, True, RateLimited),
    ],
)
def test_statuses(status: int, creates: bool, expected: type[ConnectorError]) -> None:
    api = client_for(answering(status))
    with pytest.raises(expected) as caught:
        api.request("PUT", URL, body={}, creates=creates)
    assert str(status) in str(caught.value) or expected is RateLimited


@pytest.mark.parametrize("status", [200, 400, 404, 409])
def test_other_statuses_are_left_to_the_connector(status: int) -> None:
    response = client_for(answering(status)).request("GET", URL)
    assert response.status_code == status


def test_rate_limited_carries_retry_after_and_the_limit_hit() -> None:
    api = ApiClient(
        make_client(
            transport=httpx.MockTransport(
                answering(429, **{"Retry-After": "7", "X-Rate-Limit-Problem": "minute"})
            )
        ),
        package_name="Xero",
        rate_limit_detail="X-Rate-Limit-Problem",
    )
    with pytest.raises(RateLimited) as caught:
        api.request("GET", URL)
    assert caught.value.retry_after == 7.0
    assert "minute limit" in str(caught.value) and caught.value.retriable


def test_retry_after_forms() -> None:
    def response(value: str | None) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value} if value is not None else {})

    assert retry_after_seconds(response("12")) == 12.0
    assert retry_after_seconds(response("0")) == 1.0  # never a busy loop
    assert retry_after_seconds(response(None)) == 60.0
    assert retry_after_seconds(response("soon")) == 60.0
    later = datetime.now(UTC) + timedelta(seconds=120)
    from_date = retry_after_seconds(response(email.utils.format_datetime(later, usegmt=True)))
    assert 100 < from_date <= 120


def test_json_money_is_exact_both_ways() -> None:
    body = {
        "Amount": Decimal("95.10"),
        "Quantity": Decimal("0.7500"),
        "Big": Decimal("1E+2"),
        "Lines": [{"Unit": Decimal("-3.33")}],
        "Name": "Café “Ltd”",
        "n": 3,
        "ok": True,
    }
    text = dumps_json(body)
    assert b'"Amount":95.10' in text and b'"Quantity":0.7500' in text and b'"Big":100' in text
    assert loads_json(text) == body
    assert isinstance(loads_json(b'{"a": 1.10}')["a"], Decimal)
    with pytest.raises(TypeError, match="Decimal"):
        dumps_json({"Amount": 95.1})
    with pytest.raises(ValueError):
        dumps_json({"Amount": Decimal("NaN")})


def test_unreadable_answer_on_a_create_is_uncertain() -> None:
    api = client_for(lambda request: httpx.Response(200, text="<html>oops</html>"))
    response = api.request("PUT", URL, body={}, creates=True)
    with pytest.raises(OutcomeUncertain):
        api.read_json(response, creates=True)
    with pytest.raises(TemporarilyUnavailable):
        api.read_json(response)


def test_no_more_requests_in_flight_than_allowed() -> None:
    release = threading.Event()
    lock = threading.Lock()
    state = {"now": 0, "peak": 0, "arrived": 0}
    arrived = threading.Condition(lock)

    def handler(request: httpx.Request) -> httpx.Response:
        with arrived:
            state["now"] += 1
            state["arrived"] += 1
            state["peak"] = max(state["peak"], state["now"])
            arrived.notify_all()
        release.wait(10)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json={})

    api = client_for(handler, max_concurrent=2)
    threads = [threading.Thread(target=api.request, args=("GET", URL)) for _ in range(5)]
    for thread in threads:
        thread.start()
    with arrived:
        assert arrived.wait_for(lambda: state["arrived"] >= 2, timeout=10)
        assert not arrived.wait_for(lambda: state["arrived"] > 2, timeout=0.2)
    release.set()
    for thread in threads:
        thread.join(10)
    assert state["arrived"] == 5 and state["peak"] == 2
