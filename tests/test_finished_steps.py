"""A multi-step record keeps its finished steps across a 429, a cancel or a crash, and a
batch stopped part-way never redoes the records it finished (issue 11, point 2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from app.db.models import OutboxEntry, SendState
from connectors.contract import BatchItem, CreateResult, DocumentType, RemoteRecordType
from connectors.errors import BatchInterrupted, Cancelled, RateLimited, TemporarilyUnavailable
from connectors.sandbox import SandboxConnector
from connectors.xero import XeroConnector
from tests.conftest import MemoryKeyring
from tests.connector_harness import Chart, customer, invoice, line, open_xero
from tests.send_fixtures import EXPECTED, SendRig, build_rig
from tests.standins.clock import VirtualClock
from tests.standins.openapi import xero_checker
from tests.standins.xero import FaultKind, Organisation, XeroStandIn


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def standin(clock: VirtualClock) -> XeroStandIn:
    made = XeroStandIn(clock=clock.now, checker=xero_checker(), strict=True)
    made.add_organisation()
    return made


def _open(tmp_path: Path, standin: XeroStandIn, clock: VirtualClock) -> XeroConnector:
    return open_xero(tmp_path, standin, sleep=clock.sleep)[1]


def _credit_note_creates(standin: XeroStandIn) -> int:
    return sum(1 for m, p in standin.requests if m == "PUT" and p.endswith("/CreditNotes"))


def _allocations(standin: XeroStandIn) -> int:
    return sum(1 for m, p in standin.requests if m == "PUT" and p.endswith("/Allocations"))


def _credit_for(connector: XeroConnector) -> tuple[str, object]:
    from datetime import date

    chart = Chart.discover(connector)
    on = date(2026, 1, 5)
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, on), "k2")
    credit = replace(
        invoice(
            chart, "CN-1", who, on, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
        ),
        credits_document_ref=inv,
    )
    return inv, credit


def test_a_429_between_credit_note_and_allocation_resumes_with_the_allocation(
    tmp_path: Path, standin: XeroStandIn, clock: VirtualClock
) -> None:
    org: Organisation = standin.only_organisation()
    with _open(tmp_path, standin, clock) as connector:
        inv, credit = _credit_for(connector)
        standin.arm(FaultKind.RATE_LIMIT, path="CreditNotes/", retry_after=5)
        with pytest.raises(RateLimited):
            connector.create_document(credit, "k3")  # type: ignore[arg-type]
        assert _credit_note_creates(standin) == 1 and org.outstanding(inv) == Decimal("120.00")
        note = connector.create_document(credit, "k3")  # type: ignore[arg-type]
    # The retry only allocated: no second create request, not even a replayed one.
    assert _credit_note_creates(standin) == 1
    assert len(org.credit_notes) == 1 and note in org.credit_notes
    assert org.outstanding(inv) == Decimal("90.00")


def test_a_crash_between_credit_note_and_allocation_is_finished_by_the_next_run(
    tmp_path: Path, standin: XeroStandIn, clock: VirtualClock
) -> None:
    org: Organisation = standin.only_organisation()
    with _open(tmp_path, standin, clock) as connector:
        inv, credit = _credit_for(connector)
        standin.arm(FaultKind.REFUSE_CONNECTION, path="CreditNotes/")
        with pytest.raises(TemporarilyUnavailable):
            connector.create_document(credit, "k3")  # type: ignore[arg-type]
    # The process dies here. A new connection (same data folder) looks the record up,
    # as the send engine does with a row left processing, and finishes the allocation.
    with _open(tmp_path, standin, clock) as reopened:
        assert reopened.steps.unfinished_keys() == ["credit_note:CN-1"]
        found = reopened.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1")
        assert reopened.steps.unfinished_keys() == []
    assert found is not None and _credit_note_creates(standin) == 1
    assert [a["Invoice"]["InvoiceID"] for a in org.credit_notes[found]["Allocations"]] == [inv]
    assert org.outstanding(inv) == Decimal("90.00")


def test_a_cancel_between_credit_note_and_allocation_keeps_the_credit_note(
    tmp_path: Path, standin: XeroStandIn, clock: VirtualClock
) -> None:
    org: Organisation = standin.only_organisation()
    with _open(tmp_path, standin, clock) as connector:
        inv, credit = _credit_for(connector)
        cancel = threading.Event()
        assert connector.rate_limiter is not None
        connector.rate_limiter.watch(cancel)
        # The package says its minute is spent, right after the credit note is made;
        # the user cancels while Ledgerlink waits for the allocation's turn.
        original = connector.rate_limiter.observe

        def spent_then_cancel(remaining: dict[str, int]) -> None:
            original({"minute": 0})
            if _credit_note_creates(standin) == 1:
                cancel.set()

        connector.rate_limiter.observe = spent_then_cancel  # type: ignore[method-assign]
        with pytest.raises(Cancelled):
            connector.create_document(credit, "k3")  # type: ignore[arg-type]
        assert _allocations(standin) == 0
        connector.rate_limiter.observe = original  # type: ignore[method-assign]
        cancel.clear()
        clock.advance(60)
        connector.create_document(credit, "k3")  # type: ignore[arg-type]
    assert _credit_note_creates(standin) == 1 and _allocations(standin) == 1
    assert org.outstanding(inv) == Decimal("90.00")


# ----------------------------------------------------------------------------- the sender


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    opened = build_rig(tmp_path, memory_keyring)
    yield opened
    opened.store.close()


class _StopsMidBatch(SandboxConnector):
    """The Sandbox, but the first invoice batch stops after its first two records with
    ``cause`` (as a cloud connector does when a chunk meets a 429 or a cancel)."""

    cause: Exception = RateLimited("slow down", retry_after=7)
    batches: list[int]

    def create_batch(self, items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        self.batches.append(len(items))
        is_invoice = getattr(items[0].draft, "type", None) is DocumentType.INVOICE
        if is_invoice and not getattr(self, "stopped", False) and len(items) > 2:
            self.stopped = True
            done = list(super().create_batch(items[:2]))
            raise BatchInterrupted([*done, *([None] * (len(items) - 2))], self.cause)  # type: ignore[arg-type]
        return super().create_batch(items)


def _connector(rig: SendRig, cause: Exception) -> _StopsMidBatch:
    from connectors.contract import ConnectorContext
    from tests.send_fixtures import _NoSecrets

    context = ConnectorContext(data_dir=rig.store.paths.root, settings={}, secrets=_NoSecrets())
    connector = _StopsMidBatch(context, faults=rig.faults)
    connector.cause = cause
    connector.batches = []
    return connector


def test_a_rate_limit_mid_batch_resends_only_the_unfinished_records(rig: SendRig) -> None:
    with _connector(rig, RateLimited("slow down", retry_after=7)) as connector:
        report = rig.sender(connector).run()
    assert report.ok and report.rate_limited == 1
    assert rig.package_counts() == EXPECTED
    # 5 invoices: the batch of 5 stopped after 2, and only the other 3 went again.
    assert connector.batches[connector.batches.index(5) + 1] == 3
    assert 7.0 in rig.time.sleeps or rig.time.now >= 7.0


def test_a_cancel_mid_batch_keeps_the_finished_records_and_requeues_the_rest(
    rig: SendRig,
) -> None:
    with _connector(rig, Cancelled("cancelled")) as connector:
        report = rig.sender(connector).run()
    assert "Cancelled" in report.stopped_reason
    with rig.session_factory() as session:
        invoices = [
            e.state for e in session.query(OutboxEntry).filter(OutboxEntry.record_type == "invoice")
        ]
    assert sorted(invoices) == sorted([SendState.SUCCESSFUL] * 2 + [SendState.WAITING] * 3)
    with _connector(rig, Cancelled("unused")) as connector:
        connector.stopped = True
        assert rig.sender(connector).run().ok
    assert rig.package_counts() == EXPECTED
