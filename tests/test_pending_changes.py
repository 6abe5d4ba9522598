"""A record changed in the job system after it was sent goes on the change-by-hand list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Contact, Document
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.pending_changes import FieldChange, confirm, list_pending
from tests.conftest import MemoryKeyring
from tests.send_fixtures import CUSTOMERS, INVOICES, SendRig, build_rig


@pytest.fixture
def sent(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    rig.send()
    yield rig
    rig.store.close()


def reimport(rig: SendRig, kind: ImportKind, text: str) -> object:
    report = import_csv_bytes(rig.session_factory, kind, text.encode(), file=f"{kind.value}.csv")
    assert report.ok, report.describe()
    return report


def ada_email(rig: SendRig) -> str:
    with rig.session_factory() as session:
        return session.scalars(select(Contact.email).where(Contact.account_ref == "C1")).one()


def test_changed_customer_is_listed_not_applied_until_confirmed(sent: SendRig) -> None:
    changed = CUSTOMERS.replace("ada@example.com", "accounts@adaboilers.example")
    report = reimport(sent, ImportKind.CUSTOMERS, changed)
    assert [a.key for a in report.already_sent] == ["C1"]  # type: ignore[attr-defined]
    assert ada_email(sent) == "ada@example.com"  # our copy stays as sent

    with sent.session_factory() as session:
        (item,) = list_pending(session)
    assert item.label == "Customer “Ada Boilers Ltd” (C1)"
    assert item.changes == [FieldChange("email", "ada@example.com", "accounts@adaboilers.example")]

    reimport(sent, ImportKind.CUSTOMERS, changed)  # the same change is listed once
    with sent.session_factory() as session:
        assert len(list_pending(session)) == 1

    with sent.session_factory.begin() as session:
        confirm(session, item.id, actor="bookkeeper")
    with sent.session_factory() as session:
        assert list_pending(session) == []
        assert len(list_pending(session, include_confirmed=True)) == 1

    report = reimport(sent, ImportKind.CUSTOMERS, changed)
    assert report.updated == 1 and not report.already_sent  # type: ignore[attr-defined]
    assert ada_email(sent) == "accounts@adaboilers.example"
    with sent.session_factory() as session:
        assert list_pending(session, include_confirmed=True) == []
    # Nothing is sent again for a confirmed change.
    assert sent.send().requests == 0  # type: ignore[attr-defined]


def test_a_second_change_replaces_an_unconfirmed_one(sent: SendRig) -> None:
    reimport(sent, ImportKind.CUSTOMERS, CUSTOMERS.replace("ada@example.com", "one@example.com"))
    reimport(sent, ImportKind.CUSTOMERS, CUSTOMERS.replace("ada@example.com", "two@example.com"))
    with sent.session_factory() as session:
        (item,) = list_pending(session)
    assert item.changes[0].after == "two@example.com"


def test_changed_invoice_lines_are_described_for_a_bookkeeper(sent: SendRig) -> None:
    changed = INVOICES.replace("Call-out,1,60,SALES,20", "Call-out,1,75,SALES,20")
    reimport(sent, ImportKind.INVOICES, changed)
    with sent.session_factory() as session:
        (item,) = list_pending(session)
        invoice = session.scalars(select(Document).where(Document.number == "INV-2")).one()
        assert invoice.gross_total == 72  # as sent
    assert item.label == "Invoice INV-2"
    (lines,) = item.changes
    assert lines.field == "lines"
    assert lines.before == "Call-out × 1 @ 60.00 (20% VAT)"
    assert lines.after == "Call-out × 1 @ 75.00 (20% VAT)"

    with sent.session_factory.begin() as session:
        confirm(session, item.id, actor="bookkeeper")
    report = reimport(sent, ImportKind.INVOICES, changed)
    assert report.unchanged == 5 and not report.already_sent  # type: ignore[attr-defined]
    with sent.session_factory() as session:
        assert list_pending(session) == []


def test_dry_run_lists_nothing(sent: SendRig) -> None:
    text = CUSTOMERS.replace("ada@example.com", "x@example.com")
    report = import_csv_bytes(
        sent.session_factory, ImportKind.CUSTOMERS, text.encode(), file="c.csv", dry_run=True
    )
    assert report.already_sent
    with sent.session_factory() as session:
        assert list_pending(session) == []


def test_confirming_an_unknown_change_is_refused(sent: SendRig) -> None:
    with sent.session_factory.begin() as session, pytest.raises(ValueError, match="#99"):
        confirm(session, 99, actor="x")
