"""Desktop bridges: records handed over stay so until the package's evidence arrives."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from app.db.models import AuditEvent, Link, LinkMethod, OutboxEntry, RecordType, SendState
from app.services.sending import handover
from app.services.sending.sender import SendReport
from connectors.contract import (
    BatchItem,
    ContactDraft,
    CreateResult,
    DocumentDraft,
    HandedOver,
    PaymentDraft,
)
from connectors.sandbox import SandboxConnector
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig


class BridgeSandbox(SandboxConnector):
    """The Sandbox as a desktop bridge: every record is queued, none created at once."""

    info = replace(
        SandboxConnector.info, idempotency=False, batch_size=1, handed_over_label="Queued"
    )
    queued: ClassVar[list[BatchItem]] = []

    def create_batch(self, items: Sequence[BatchItem]) -> list[CreateResult]:
        results: list[CreateResult] = []
        for item in items:
            type(self).queued.append(item)
            draft = item.draft
            if isinstance(draft, ContactDraft):
                reference = draft.our_ref
            elif isinstance(draft, DocumentDraft):
                reference = draft.number
            else:
                assert isinstance(draft, PaymentDraft)
                reference = draft.reference
            results.append(HandedOver(reference, f"queued as #{len(type(self).queued)}"))
        return results


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    BridgeSandbox.queued = []
    rig = build_rig(tmp_path / "data", memory_keyring)
    yield rig
    rig.store.close()


def send(rig: SendRig) -> SendReport:
    with BridgeSandbox(
        rig.connector().context, faults=rig.faults
    ) as connector:  # the rig's Sandbox, as a bridge
        report = rig.sender(connector).run()
    assert isinstance(report, SendReport)
    return report


def entry_for(rig: SendRig, record_type: RecordType, reference: str) -> OutboxEntry:
    with rig.session_factory() as session:
        entry = session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.record_type == record_type, OutboxEntry.remote_id == reference
            )
        ).one()
        session.expunge(entry)
        return entry


def test_everything_is_handed_over_once_in_order(rig: SendRig) -> None:
    report = send(rig)

    assert not report.sent and not report.failed and not report.uncertain
    assert report.handed_over == {
        "customer": 3,
        "supplier": 1,
        "invoice": 5,
        "credit_note": 1,
        "payment": 3,
    }
    assert report.to_json()["handed_over"] == dict(report.handed_over)
    with rig.session_factory() as session:
        states = set(session.scalars(select(OutboxEntry.state)))
        assert states == {SendState.HANDED_OVER}
        assert session.scalar(select(func.count()).select_from(Link)) == 0
        actions = set(session.scalars(select(AuditEvent.action)))
        assert "handed_over" in actions and "sent" not in actions
    # Dependants carry the reference their parent was handed over with.
    invoices = [i.draft for i in BridgeSandbox.queued if isinstance(i.draft, DocumentDraft)]
    assert {d.contact_ref for d in invoices} <= {"C1", "C2", "C3"}

    before = len(BridgeSandbox.queued)
    again = send(rig)
    assert len(BridgeSandbox.queued) == before, "a handed-over record was handed over twice"
    assert not again.handed_over and again.ok


def test_confirm_refuse_and_lost_answer(rig: SendRig) -> None:
    send(rig)
    customer = entry_for(rig, RecordType.CUSTOMER, "C1")
    invoice = entry_for(rig, RecordType.INVOICE, "INV-2")
    payment = entry_for(rig, RecordType.PAYMENT, "PAY-1")
    with rig.session_factory.begin() as session:
        handover.confirm(session, "sandbox", customer.id, "80000001-1", actor="bridge")
        handover.refuse(
            session,
            "sandbox",
            invoice.id,
            code="3140",
            field="customer_ref",
            reason="QuickBooks has no customer “Ben Pipes”.",
            fix="Link Ben Pipes on the Link customers page.",
            actor="bridge",
        )
        handover.answer_lost(session, "sandbox", payment.id, reason="no answer", actor="bridge")

    with rig.session_factory() as session:
        confirmed = session.get(OutboxEntry, customer.id)
        failed = session.get(OutboxEntry, invoice.id)
        lost = session.get(OutboxEntry, payment.id)
        assert confirmed is not None and failed is not None and lost is not None
        assert (confirmed.state, confirmed.remote_id) == (SendState.SUCCESSFUL, "80000001-1")
        link = session.scalars(select(Link).where(Link.contact_id == customer.record_id)).one()
        assert (link.remote_ref, link.method) == ("80000001-1", LinkMethod.CREATED_BY_SEND)
        assert failed.state is SendState.FAILED
        assert (failed.error_code, failed.error_field) == ("3140", "customer_ref")
        assert "Ben Pipes" in failed.error_reason and failed.error_fix
        assert lost.state is SendState.UNCERTAIN
        remaining = {r.entry_id for r in handover.handed_over(session, "sandbox")}
        assert customer.id not in remaining and invoice.id not in remaining
        assert len(remaining) == 13 - 3


def test_only_a_waiting_hand_over_can_be_confirmed(rig: SendRig) -> None:
    send(rig)
    customer = entry_for(rig, RecordType.CUSTOMER, "C1")
    with rig.session_factory.begin() as session:
        handover.confirm(session, "sandbox", customer.id, "1", actor="bridge")
    with rig.session_factory.begin() as session, pytest.raises(handover.NotHandedOver):
        handover.confirm(session, "sandbox", customer.id, "2", actor="bridge")
    with rig.session_factory.begin() as session, pytest.raises(handover.NotHandedOver):
        handover.refuse(session, "xero", customer.id, code="x", reason="r", fix="f", actor="bridge")
