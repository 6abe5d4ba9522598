"""HTTP for the cloud connectors: one httpx client per connection, explicit timeouts, an
injectable transport, and every transport failure or tell-tale status translated into
:mod:`connectors.errors`.

The translation follows one rule: a request that *might* have changed something in the
package and whose answer we did not get is :class:`~connectors.errors.OutcomeUncertain`,
never "failed"; anything we know was not acted on is retriable.

=====================================  ========================  ========================
what happened                          read (``creates=False``)  create
=====================================  ========================  ========================
could not connect (refused, DNS…)      TemporarilyUnavailable    TemporarilyUnavailable
no answer (timeout, dropped, garbled)  TemporarilyUnavailable    OutcomeUncertain
5xx                                    TemporarilyUnavailable    OutcomeUncertain
429                                    RateLimited(Retry-After)  RateLimited(Retry-After)
401 (after one refresh by the auth)    NeedsReconnecting         NeedsReconnecting
=====================================  ========================  ========================

Anything else (2xx, 400, 404…) is returned for the connector to read, because only the
connector knows its vendor's validation errors. Bodies are JSON with exact decimals:
:func:`dumps_json` writes :class:`~decimal.Decimal` as a plain JSON number and
:func:`loads_json` reads every number with a fraction back as a Decimal, so money never
passes through a float.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from connectors.errors import (
    NeedsReconnecting,
    OutcomeUncertain,
    RateLimited,
    TemporarilyUnavailable,
)
from connectors.limits import RateLimiter

log = logging.getLogger(__name__)

USER_AGENT = "Ledgerlink/0.1 (+desktop; httpx)"

#: Explicit timeouts: a slow package must never hang a send. Connecting is quick or not
#: at all; a batch of 50 invoices can take Xero a while to answer.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=90.0, write=60.0, pool=30.0)

#: When a 429 carries no usable ``Retry-After``, wait a whole minute window.
DEFAULT_RETRY_AFTER = 60.0

QueryParams = Mapping[str, str | int | bool] | None


def make_client(
    *,
    transport: httpx.BaseTransport | None = None,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    """An httpx client with our timeouts and ``User-Agent``; ``transport`` replaces the
    network (``httpx.MockTransport`` in tests, a stand-in during development)."""
    merged = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    merged.update(headers or {})
    return httpx.Client(
        transport=transport,
        auth=auth,
        headers=merged,
        timeout=timeout,
        follow_redirects=False,
    )


def dumps_json(value: Any) -> bytes:
    """JSON bytes with Decimals written exactly (``Decimal("95.10")`` → ``95.10``)."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a JSON number")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("money must be Decimal, never float")
    return json.dumps(value, ensure_ascii=False)


def loads_json(text: str | bytes) -> Any:
    """Parse JSON with every fractional number as a Decimal."""
    return json.loads(text, parse_float=Decimal)


def retry_after_seconds(response: httpx.Response, default: float = DEFAULT_RETRY_AFTER) -> float:
    """The wait a 429 (or 503) asks for: ``Retry-After`` in seconds or as an HTTP date."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(1.0, seconds)


def describe_status(response: httpx.Response) -> str:
    """``"HTTP 503 Service Unavailable"``."""
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class ApiClient:
    """A package's HTTP client that raises :mod:`connectors.errors` instead of httpx's.

    ``max_concurrent`` caps requests in flight from this connection (Xero allows five
    per organisation); extra callers wait their turn. ``limiter``, when given, is the
    connection's one :class:`~connectors.limits.RateLimiter`: every request takes a turn
    in it (reads too), and ``remaining_headers`` (response header → window name, e.g.
    Xero's ``X-MinLimit-Remaining`` → ``minute``) feed the package's own counts back in.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        package_name: str,
        max_concurrent: int = 1,
        rate_limit_detail: str = "",
        limiter: RateLimiter | None = None,
        remaining_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.package_name = package_name
        self.limiter = limiter
        self.remaining_headers = dict(remaining_headers or {})
        #: Requests sent on this connection (each one the package counts).
        self.sent = 0
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        #: A response header naming which limit a 429 hit (Xero: ``X-Rate-Limit-Problem``).
        self.rate_limit_detail = rate_limit_detail

    def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        creates: bool = False,
        costs: Mapping[str, int] | None = None,
    ) -> httpx.Response:
        """Send one request; ``creates`` says whether it may write in the package, which
        decides whether a lost answer is uncertain or simply retriable. ``costs`` is what
        the request counts for in the limiter's windows (one in each by default)."""
        content = dumps_json(body) if body is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers.setdefault("Content-Type", "application/json")
        turn = self.limiter.acquire(costs) if self.limiter is not None else None
        started = time.monotonic()
        with self._slots:
            self.sent += 1
            try:
                response = self.client.request(
                    method, url, params=params, content=content, headers=send_headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise TemporarilyUnavailable(
                    f"{self.package_name} could not be reached for {method} "
                    f"{httpx.URL(url).path} ({_name(exc)}); nothing was sent. Check the "
                    "internet connection; Ledgerlink will try again."
                ) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                what = f"did not answer {method} {httpx.URL(url).path} ({_name(exc)})"
                raise self._lost_answer(what, creates) from exc
            finally:
                if self.limiter is not None and turn is not None:
                    self.limiter.finish(turn)
        self._observe(response)
        log.debug(
            "%s %s -> %s in %.0f ms",
            method,
            httpx.URL(url).path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        self._raise_for_common_status(method, url, response, creates)
        return response

    def read_json(self, response: httpx.Response, *, creates: bool = False) -> Any:
        """The response's JSON; an unreadable body on a create is uncertain (the package
        may have acted on it), on a read merely retriable."""
        try:
            return loads_json(response.content)
        except ValueError as exc:
            what = f"an answer Ledgerlink could not read ({describe_status(response)})"
            if creates:
                raise OutcomeUncertain(
                    f"{self.package_name} sent {what}, so it may or may not have saved the record."
                ) from exc
            raise TemporarilyUnavailable(f"{self.package_name} sent {what}.") from exc

    def close(self) -> None:
        """Close the underlying HTTP client and its connections."""
        self.client.close()

    def _observe(self, response: httpx.Response) -> None:
        if self.limiter is None:
            return
        remaining: dict[str, int] = {}
        for header, window in self.remaining_headers.items():
            raw = response.headers.get(header, "").strip()
            if raw.isdigit():
                remaining[window] = int(raw)
        if remaining:
            self.limiter.observe(remaining)

    # ------------------------------------------------------------------ translation

    def _lost_answer(self, what: str, creates: bool) -> OutcomeUncertain | TemporarilyUnavailable:
        if creates:
            return OutcomeUncertain(
                f"{self.package_name} {what}, so it may or may not have saved the record."
            )
        return TemporarilyUnavailable(f"{self.package_name} {what}; Ledgerlink will try again.")

    def _raise_for_common_status(
        self, method: str, url: str, response: httpx.Response, creates: bool
    ) -> None:
        status = response.status_code
        if status == 401:
            raise NeedsReconnecting(
                f"{self.package_name} no longer accepts Ledgerlink's sign-in "
                f"({describe_status(response)}). Sign in again on the Connect page."
            )
        if status == 429:
            wait = retry_after_seconds(response)
            detail = (
                response.headers.get(self.rate_limit_detail, "") if self.rate_limit_detail else ""
            )
            which = f" ({detail} limit)" if detail else ""
            if self.limiter is not None:
                self.limiter.hold(wait)
            raise RateLimited(
                f"{self.package_name} asked Ledgerlink to slow down{which}; it can take more "
                f"in {wait:.0f} seconds.",
                retry_after=wait,
            )
        if status >= 500:
            what = f"answered {method} {httpx.URL(url).path} with {describe_status(response)}"
            raise self._lost_answer(what, creates)


def _name(exc: Exception) -> str:
    """A short description of a transport error (never the request or its headers)."""
    return type(exc).__name__
