"""Drafts are built from plain rows loaded a batch at a time; loaded that way or one
record at a time, every draft, label, snapshot and fingerprint is the same. Outbox rows
are made in the database, keyed as one by one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import lookups
from app.db.lookups import RUN_FROM
from app.db.models import (
    Contact,
    Document,
    DocumentKind,
    Link,
    LinkMethod,
    OutboxEntry,
    RecordType,
    SendState,
)
from app.services.sending.drafts import BuiltDraft, DraftBuilder, Problem, record_label
from app.services.sending.outbox import new_idempotency_key, sync_outbox
from connectors.contract import RemoteTaxRate
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig

pytestmark = pytest.mark.both_stores


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring, store_url: str) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    yield rig
    rig.store.close()


def _built(
    session: Session, tax_rates: list[RemoteTaxRate], *, prefetch: bool, delivered: bool
) -> list[object]:
    entries = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
    builder = DraftBuilder(
        session,
        "sandbox",
        "Sandbox",
        tax_rates,
        assume_delivered={e.id for e in entries} if delivered else None,
    )
    if prefetch:
        builder.prefetch(entries)
    out: list[object] = []
    for entry in entries:
        built = builder.build(entry)
        label = builder.label(entry)
        assert label == record_label(session, entry.record_type, entry.record_id)
        if isinstance(built, BuiltDraft):
            assert built.label == label
            out.append((label, built.draft, built.snapshot, built.fingerprint))
        else:
            assert isinstance(built, Problem)
            out.append((label, built))
    return out


@pytest.mark.parametrize("runs_from", [RUN_FROM, 2], ids=["lists", "ranges"])
@pytest.mark.parametrize("delivered", [True, False], ids=["drafts", "held-back"])
def test_prefetched_and_one_by_one_build_the_same(
    rig: SendRig, delivered: bool, runs_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "lists": the rig's few records go in lists (one that is consecutive read as a range);
    # "ranges": every two or more consecutive ids are a range of their own.
    monkeypatch.setattr(lookups, "RUN_FROM", runs_from)
    with rig.session_factory() as session, rig.connector() as connector:
        sync_outbox(session, "sandbox")
        rates = connector.list_tax_rates()
        batch = _built(session, rates, prefetch=True, delivered=delivered)
        one_by_one = _built(session, rates, prefetch=False, delivered=delivered)
    assert batch == one_by_one
    drafts = [b for b in batch if len(b) == 4]  # type: ignore[arg-type]
    assert len(drafts) == (13 if delivered else 4)  # held back: only contacts can go


def test_outbox_rows_made_in_the_database_are_keyed_and_linked_as_before(
    rig: SendRig,
) -> None:
    with rig.session_factory.begin() as session:
        first_contact = session.scalars(select(Contact).order_by(Contact.id)).first()
        assert first_contact is not None
        session.add(
            Link(
                package="sandbox",
                contact_id=first_contact.id,
                remote_ref="SBX-C000042",
                method=LinkMethod.TYPED,
            )
        )
    with rig.session_factory.begin() as session:
        assert sync_outbox(session, "sandbox") == 13
        assert sync_outbox(session, "sandbox") == 0
        rows = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
    keys = [row.idempotency_key for row in rows]
    assert len(set(keys)) == 13
    assert all(re.fullmatch(r"ll-[0-9a-f]{32}", key) for key in keys)
    assert len(new_idempotency_key()) == len(keys[0])
    linked = [row for row in rows if row.state is SendState.SUCCESSFUL]
    assert [(r.record_id, r.remote_id) for r in linked] == [(first_contact.id, "SBX-C000042")]
    assert {r.state for r in rows if r not in linked} == {SendState.WAITING}
    assert all(r.attempts == 0 and r.error_code == "" and r.created_at for r in rows)
    assert [r.record_type for r in rows] == sorted(
        (r.record_type for r in rows), key=list(RecordType).index
    )


def test_the_credited_invoices_are_read_with_the_sessions_unsaved_changes(rig: SendRig) -> None:
    """The builder reads credited invoices on the session's connection, past the ORM's
    autoflush: a change the session holds and has not flushed yet must be seen there, as
    the ORM's own queries would see it. (``build`` reaches this read for a credit note
    whose invoice it has not loaded; today such a record is first prefetched, which
    flushes, so the read is driven directly here.)"""
    with rig.session_factory() as session, rig.connector() as connector:
        sync_outbox(session, "sandbox")
        rates = connector.list_tax_rates()
        credit = session.scalars(
            select(Document).where(Document.kind == DocumentKind.CREDIT_NOTE)
        ).one()
        number = credit.original_invoice_number
        invoice = session.scalars(
            select(Document).where(Document.kind == DocumentKind.INVOICE, Document.number == number)
        ).one()
        builder = DraftBuilder(session, "sandbox", "Sandbox", rates)
        invoice.number = "RENUMBERED-1"  # pending in the session, not yet flushed
        assert session.dirty
        builder._load_credited([number, "RENUMBERED-1"])
        assert builder._invoices_by_number[number] is None
        renumbered = builder._invoices_by_number["RENUMBERED-1"]
        assert renumbered is not None and renumbered.id == invoice.id
        session.rollback()
