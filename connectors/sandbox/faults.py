"""Fault injection: make the Sandbox fail the way real packages fail, on demand.

The send engine's tests arm a :class:`FaultPlan` on a connector and then watch it cope::

    connector.faults.fail_next_creates(2)          # TemporarilyUnavailable, nothing written
    connector.faults.lose_next_responses()         # written, then OutcomeUncertain
    connector.faults.rate_limit_next_calls(retry_after=12.5)
    connector.faults.require_reconnect()           # NeedsReconnecting until clear()

Faults are deterministic and explicit: armed faults fire in the order they were armed,
each on the next call it matches, and a fault with ``count=None`` keeps firing until
:meth:`FaultPlan.clear`. There is no randomness. What fired is recorded in
:attr:`FaultPlan.triggered`. The plan is guarded by a lock, so a test may arm it from one
thread while a worker uses the connector on another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from connectors.errors import (
    ConnectorError,
    NeedsReconnecting,
    OutcomeUncertain,
    RateLimited,
    TemporarilyUnavailable,
)


class Operation(StrEnum):
    """Every call the Sandbox connector makes to its package."""

    CONNECT = "connect"
    LIST_ACCOUNTS = "list_accounts"
    LIST_TAX_RATES = "list_tax_rates"
    #: One page of :meth:`~connectors.contract.Connector.iter_contacts`.
    LIST_CONTACTS = "list_contacts"
    GET_CONTACT = "get_contact"
    FIND_CONTACTS_BY_NAME = "find_contacts_by_name"
    FIND_EXISTING = "find_existing"
    LIST_DOCUMENTS = "list_documents"
    LOCK_DATES = "lock_dates"
    CREATE_CONTACT = "create_contact"
    CREATE_DOCUMENT = "create_document"
    CREATE_PAYMENT = "create_payment"
    UPDATE_CONTACT = "update_contact"


CREATES: frozenset[Operation] = frozenset(
    {Operation.CREATE_CONTACT, Operation.CREATE_DOCUMENT, Operation.CREATE_PAYMENT}
)
ALL_OPERATIONS: frozenset[Operation] = frozenset(Operation)


class FaultKind(StrEnum):
    #: :class:`TemporarilyUnavailable` before anything is written.
    UNAVAILABLE = "unavailable"
    #: :class:`RateLimited` (with ``retry_after``) before anything is written.
    RATE_LIMITED = "rate_limited"
    #: :class:`NeedsReconnecting` before anything is written.
    NEEDS_RECONNECTING = "needs_reconnecting"
    #: The create is written, then :class:`OutcomeUncertain` (the response was lost).
    RESPONSE_LOST = "response_lost"


#: Kinds that fire before the call does anything.
BEFORE_KINDS = frozenset(
    {FaultKind.UNAVAILABLE, FaultKind.RATE_LIMITED, FaultKind.NEEDS_RECONNECTING}
)


@dataclass(frozen=True)
class ArmedFault:
    """A fault waiting to fire. ``remaining`` is ``None`` for "until cleared"."""

    kind: FaultKind
    operations: frozenset[Operation]
    remaining: int | None
    retry_after: float = 0.0


@dataclass(frozen=True)
class TriggeredFault:
    """A fault that fired: on which call, and (for a lost response) what was written."""

    kind: FaultKind
    operation: Operation
    written_ref: str = ""


class FaultPlan:
    """The faults armed on one Sandbox connector."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[ArmedFault] = []
        self._triggered: list[TriggeredFault] = []

    # ------------------------------------------------------------------ arming

    def arm(
        self,
        kind: FaultKind,
        count: int | None = 1,
        *,
        operations: Iterable[Operation] | None = None,
        retry_after: float = 30.0,
    ) -> None:
        """Arm ``count`` faults of ``kind`` (``None``: until :meth:`clear`) on the given
        operations (default: every create for a lost response or an outage, every call
        for a rate limit or an expired sign-in)."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for 'until cleared'")
        if operations is None:
            chosen = (
                CREATES
                if kind in (FaultKind.UNAVAILABLE, FaultKind.RESPONSE_LOST)
                else ALL_OPERATIONS
            )
        else:
            chosen = frozenset(Operation(op) for op in operations)
        if not chosen:
            raise ValueError("a fault needs at least one operation to fire on")
        if kind is FaultKind.RESPONSE_LOST and not chosen <= CREATES:
            raise ValueError("a lost response can only be armed on create operations")
        if retry_after < 0:
            raise ValueError("retry_after cannot be negative")
        with self._lock:
            self._armed.append(ArmedFault(kind, chosen, count, retry_after))

    def fail_next_creates(
        self, count: int | None = 1, *, operations: Iterable[Operation] | None = None
    ) -> None:
        """The next ``count`` creates raise :class:`TemporarilyUnavailable`, writing nothing."""
        self.arm(FaultKind.UNAVAILABLE, count, operations=operations)

    def lose_next_responses(
        self, count: int | None = 1, *, operations: Iterable[Operation] | None = None
    ) -> None:
        """The next ``count`` creates write their record, then raise :class:`OutcomeUncertain`."""
        self.arm(FaultKind.RESPONSE_LOST, count, operations=operations)

    def rate_limit_next_calls(
        self,
        count: int | None = 1,
        *,
        retry_after: float = 30.0,
        operations: Iterable[Operation] | None = None,
    ) -> None:
        """The next ``count`` calls raise :class:`RateLimited` with ``retry_after`` seconds."""
        self.arm(FaultKind.RATE_LIMITED, count, operations=operations, retry_after=retry_after)

    def require_reconnect(
        self, count: int | None = None, *, operations: Iterable[Operation] | None = None
    ) -> None:
        """Calls raise :class:`NeedsReconnecting` (by default every call until :meth:`clear`,
        as when a sign-in has been revoked)."""
        self.arm(FaultKind.NEEDS_RECONNECTING, count, operations=operations)

    def clear(self) -> None:
        """Disarm every fault (the history in :attr:`triggered` is kept)."""
        with self._lock:
            self._armed.clear()

    # ------------------------------------------------------------------ inspecting

    @property
    def armed(self) -> tuple[ArmedFault, ...]:
        """The faults still waiting to fire, in the order they were armed."""
        with self._lock:
            return tuple(self._armed)

    @property
    def triggered(self) -> tuple[TriggeredFault, ...]:
        """The faults that have fired so far, in order."""
        with self._lock:
            return tuple(self._triggered)

    # ------------------------------------------------------------------ firing (connector)

    def before(self, operation: Operation) -> None:
        """Called by the connector before ``operation`` does anything; may raise."""
        fault = self._take(operation, before=True)
        if fault is None:
            return
        self._record(TriggeredFault(fault.kind, operation))
        raise _error_for(fault, operation)

    def after_write(self, operation: Operation, written_ref: str) -> None:
        """Called by the connector after a create committed; may raise OutcomeUncertain."""
        fault = self._take(operation, before=False)
        if fault is None:
            return
        self._record(TriggeredFault(fault.kind, operation, written_ref))
        raise OutcomeUncertain(
            f"Sandbox (injected fault): the answer to {operation.value} was lost after the "
            "Sandbox received it. The record may or may not exist: look it up before "
            "sending it again."
        )

    def _take(self, operation: Operation, *, before: bool) -> ArmedFault | None:
        with self._lock:
            for index, fault in enumerate(self._armed):
                if (fault.kind in BEFORE_KINDS) != before or operation not in fault.operations:
                    continue
                if fault.remaining is None:
                    return fault
                if fault.remaining == 1:
                    del self._armed[index]
                else:
                    self._armed[index] = replace(fault, remaining=fault.remaining - 1)
                return fault
        return None

    def _record(self, triggered: TriggeredFault) -> None:
        with self._lock:
            self._triggered.append(triggered)


def _error_for(fault: ArmedFault, operation: Operation) -> ConnectorError:
    prefix = f"Sandbox (injected fault) on {operation.value}:"
    if fault.kind is FaultKind.RATE_LIMITED:
        return RateLimited(
            f"{prefix} too many requests; try again in {fault.retry_after:g} seconds.",
            retry_after=fault.retry_after,
        )
    if fault.kind is FaultKind.NEEDS_RECONNECTING:
        return NeedsReconnecting(f"{prefix} the sign-in has expired; connect again.")
    return TemporarilyUnavailable(
        f"{prefix} the package is temporarily unavailable; nothing was written."
    )
