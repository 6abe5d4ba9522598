"""What every cloud package's stand-in shares: the request log, fault plans, rate windows,
paging, lock dates and uniqueness checks.

A package's stand-in subclasses :class:`StandIn` and supplies its wire rules only:

- ``API`` (the path prefix its faults are matched under) and :meth:`StandIn.fault_path`
  where the part a fault names is not simply what follows ``API``;
- :meth:`StandIn.answer` — sign-in check, tenant, :meth:`StandIn.admit` for its rate
  windows, then its routes and validation;
- how its errors look: :meth:`StandIn.server_error`, :meth:`StandIn.too_many`.

Faults are armed explicitly (:meth:`StandIn.arm`) and fire in order on the next matching
request; a fault "after save" lets the package act, then loses the answer.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import httpx

from connectors.contract import RateScale
from tests.standins.oauth_server import AuthorizationServer

Json = dict[str, Any]


class FaultKind(StrEnum):
    #: 500 before anything is saved.
    SERVER_ERROR = "server_error"
    #: Saved, then 500.
    SERVER_ERROR_AFTER_SAVE = "server_error_after_save"
    #: Saved, then no answer (``httpx.ReadTimeout``).
    TIMEOUT_AFTER_SAVE = "timeout_after_save"
    #: Connection refused (``httpx.ConnectError``); nothing reached the package.
    REFUSE_CONNECTION = "refuse_connection"
    #: Saved, then the connection drops (``httpx.RemoteProtocolError``).
    DROP_AFTER_SAVE = "drop_after_save"
    #: 429 with ``Retry-After``; nothing saved.
    RATE_LIMIT = "rate_limit"
    #: The access token in use stops working (401), as if the package had revoked it.
    EXPIRE_TOKEN = "expire_token"


AFTER_SAVE = frozenset(
    {FaultKind.SERVER_ERROR_AFTER_SAVE, FaultKind.TIMEOUT_AFTER_SAVE, FaultKind.DROP_AFTER_SAVE}
)


@dataclass
class Fault:
    """Fires on a request whose method is ``method`` (``""``: any) and whose path (as
    :meth:`StandIn.fault_path` reads it) starts with ``path``, after letting ``skip``
    such requests through."""

    kind: FaultKind
    method: str = "POST"
    path: str = ""
    retry_after: int = 30
    skip: int = 0


class FaultPlan:
    """Armed faults, fired in the order armed; ``fired`` lists those that went off."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []
        self.fired: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> Fault:
        with self._lock:
            self.armed.append(fault)
        return fault

    def take(self, method: str, path: str | None) -> Fault | None:
        """The fault this request sets off, if any (``path`` ``None``: outside the API)."""
        if path is None:
            return None
        with self._lock:
            for index, fault in enumerate(self.armed):
                if fault.method and fault.method != method:
                    continue
                if not path.lower().startswith(fault.path.lower()):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    continue
                self.fired.append(self.armed.pop(index))
                return fault
        return None


@dataclass
class RateWindow:
    """At most ``limit`` units in any ``seconds``, as the package counts them (a
    request is stamped when it arrives)."""

    name: str
    limit: int
    seconds: float
    spent: deque[tuple[float, int]] = field(default_factory=deque)

    def _expire(self, now: float) -> None:
        while self.spent and now - self.spent[0][0] >= self.seconds:
            self.spent.popleft()

    def used(self, now: float) -> int:
        self._expire(now)
        return sum(n for _, n in self.spent)

    def wait(self, now: float, cost: int) -> float:
        """Seconds until ``cost`` more fits; 0 when it fits now."""
        used = self.used(now)
        if used + cost <= self.limit:
            return 0.0
        freed = 0
        for at, n in self.spent:
            freed += n
            if used - freed + cost <= self.limit:
                return self.seconds - (now - at)
        return self.seconds

    def remaining(self, now: float) -> int:
        return max(0, self.limit - self.used(now))


class RateWindows:
    """One tenant's windows; :meth:`admit` takes a request or names the window it
    breaks and how long until it would fit."""

    def __init__(self, windows: Iterable[RateWindow]) -> None:
        self.windows = {w.name: w for w in windows}
        self.in_flight = 0

    def admit(self, now: float, costs: Mapping[str, int] | None = None) -> tuple[str, int] | None:
        wanted = {name: 1 for name in self.windows}
        wanted.update(costs or {})
        for name, cost in wanted.items():
            window = self.windows.get(name)
            if window is None or not cost:
                continue
            wait = window.wait(now, cost)
            if wait > 0:
                return name, max(1, math.ceil(wait))
        for name, cost in wanted.items():
            if cost and name in self.windows:
                self.windows[name].spent.append((now, cost))
        return None

    def remaining(self, name: str, now: float) -> int:
        return self.windows[name].remaining(now)


def window(name: str, limit: int, seconds: float, scale: RateScale) -> RateWindow:
    """A package's window, shrunk by ``scale`` (the real-clock benchmark)."""
    return RateWindow(name, *scale.window(limit, seconds))


def page_of(records: list[Json], page: int, size: int) -> tuple[list[Json], bool]:
    """Page ``page`` (from 1) of ``records``, and whether another follows."""
    page = max(1, page)
    start = (page - 1) * size
    chunk = records[start : start + size]
    return chunk, start + size < len(records)


def locked(on: date, locks: Iterable[tuple[date | None, str]]) -> tuple[date, str] | None:
    """The latest lock (date, kind) on or after ``on`` — a document dated on or before a
    lock date is refused — or ``None``."""
    hits = [(d, kind) for d, kind in locks if d is not None and on <= d]
    return max(hits) if hits else None


def fold(text: str) -> str:
    """How packages compare names for uniqueness: capitals and outer spaces aside."""
    return " ".join(text.split()).casefold()


def holders(
    records: Iterable[Json], value: str, key: Callable[[Json], str], *, exact: bool = False
) -> list[Json]:
    """Records whose ``key`` equals ``value`` (folded unless ``exact``)."""
    wanted = value if exact else fold(value)
    return [r for r in records if (key(r) if exact else fold(key(r))) == wanted]


class StandIn:
    """The entry point shared by every cloud stand-in (an ``httpx`` transport handler)."""

    #: The path prefix of the package's API.
    API: str = "/"
    #: The package's name in fault messages.
    NAME: str = "the package"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        auth: AuthorizationServer | None = None,
        client_id: str = "ledgerlink-test-client",
        rate_scale: RateScale | None = None,
    ) -> None:
        self.clock = clock
        self.auth = auth or AuthorizationServer(client_id=client_id, clock=clock)
        #: The package's limits, shrunk alike with the connector's for the real-clock bench.
        self.rate_scale = rate_scale or RateScale()
        self.plan = FaultPlan()
        #: ``(method, path)`` of every request, in order, and how often each status was sent.
        self.requests: list[tuple[str, str]] = []
        self.statuses: Counter[int] = Counter()
        #: Arrival time and cost (window name → units) of every request counted against
        #: a tenant's limits.
        self.counted: list[tuple[float, dict[str, int]]] = []
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ faults

    @property
    def faults(self) -> list[Fault]:
        return self.plan.armed

    @property
    def fired(self) -> list[Fault]:
        return self.plan.fired

    def arm(
        self,
        kind: FaultKind,
        *,
        method: str = "POST",
        path: str = "",
        retry_after: int = 30,
        skip: int = 0,
    ) -> Fault:
        """Arm one fault (see :class:`FaultKind`); faults fire in the order armed."""
        return self.plan.arm(Fault(kind, method, path, retry_after, skip))

    def fault_path(self, request: httpx.Request) -> str | None:
        """The part of the path a fault names; ``None`` outside the API."""
        path = request.url.path
        return path[len(self.API) :] if path.startswith(self.API) else None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    # ------------------------------------------------------------------ entry point

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((request.method, request.url.path))
        before = self.before_api(request)
        if before is not None:
            return before
        fault = self.plan.take(request.method, self.fault_path(request))
        if fault is not None and fault.kind not in AFTER_SAVE:
            early = self._fire_early(fault, request)
            if early is not None:
                self._count_status(early)
                return early
        response = self.answer(request)
        self._count_status(response)
        if fault is not None and fault.kind in AFTER_SAVE and response.status_code < 300:
            return self._fire_late(fault, request)
        return response

    def _count_status(self, response: httpx.Response) -> None:
        with self._lock:
            self.statuses[response.status_code] += 1

    def before_api(self, request: httpx.Request) -> httpx.Response | None:
        """Sign-in traffic (the authorisation server's pages and tokens)."""
        return self.auth.handle(request)

    def _fire_early(self, fault: Fault, request: httpx.Request) -> httpx.Response | None:
        if fault.kind is FaultKind.REFUSE_CONNECTION:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault.kind is FaultKind.SERVER_ERROR:
            return self.server_error()
        if fault.kind is FaultKind.RATE_LIMIT:
            return self.too_many("minute", fault.retry_after)
        self.auth.expire_access_tokens()  # EXPIRE_TOKEN: the request then meets a 401
        return None

    def _fire_late(self, fault: Fault, request: httpx.Request) -> httpx.Response:
        if fault.kind is FaultKind.TIMEOUT_AFTER_SAVE:
            raise httpx.ReadTimeout(f"timed out waiting for {self.NAME}", request=request)
        if fault.kind is FaultKind.DROP_AFTER_SAVE:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return self.server_error()

    # ------------------------------------------------------------------ limits

    def admit(
        self, windows: RateWindows, costs: Mapping[str, int] | None = None
    ) -> httpx.Response | None:
        """Count a request against a tenant's windows; the package's 429 when it breaks
        one. Call with the stand-in's lock held."""
        now = self.clock()
        broken = windows.admit(now, costs)
        if broken is not None:
            return self.too_many(*broken)
        spent = {name: 1 for name in windows.windows}
        spent.update(costs or {})
        self.counted.append((now, spent))
        return None

    # ------------------------------------------------------------------ the package's own

    def answer(self, request: httpx.Request) -> httpx.Response:
        """The package's answer to one API request (no fault involved)."""
        raise NotImplementedError

    def server_error(self) -> httpx.Response:
        return httpx.Response(500, text=f"An error occurred in {self.NAME}.")

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        return httpx.Response(
            429, text="Too Many Requests", headers={"Retry-After": str(max(1, retry_after))}
        )
