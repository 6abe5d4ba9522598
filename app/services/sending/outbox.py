"""The outbox: one row per record per package, created before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db.models import (
    Contact,
    Document,
    Link,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
    utcnow,
)

#: The order in which records are sent: parents before their dependants.
SEND_ORDER: tuple[RecordType, ...] = (
    RecordType.CUSTOMER,
    RecordType.SUPPLIER,
    RecordType.INVOICE,
    RecordType.CREDIT_NOTE,
    RecordType.PAYMENT,
)


def new_idempotency_key() -> str:
    """A key that fits every package's limit (QuickBooks Online's is 50 characters)."""
    return f"ll-{uuid.uuid4().hex}"


def _all_records(session: Session) -> Iterable[tuple[RecordType, int]]:
    for contact_id, kind in session.execute(select(Contact.id, Contact.kind)):
        yield RecordType(kind.value), contact_id
    for document_id, doc_kind in session.execute(select(Document.id, Document.kind)):
        yield RecordType(doc_kind.value), document_id
    for (payment_id,) in session.execute(select(Payment.id)):
        yield RecordType.PAYMENT, payment_id


def sync_outbox(session: Session, package: str) -> int:
    """Give every record an outbox row for ``package``; returns how many were added.

    A contact already linked to the package needs no sending: its row starts as
    successful with the linked reference as its remote id.
    """
    existing = {
        (row.record_type, row.record_id)
        for row in session.execute(
            select(OutboxEntry.record_type, OutboxEntry.record_id).where(
                OutboxEntry.package == package
            )
        )
    }
    links = {
        row.contact_id: row.remote_ref
        for row in session.execute(
            select(Link.contact_id, Link.remote_ref).where(Link.package == package)
        )
    }
    now = utcnow()
    # Every column given, the same timestamps for all: the insert below then runs no
    # Python default per row.
    fixed: dict[str, object] = {
        "package": package,
        "attempts": 0,
        "error_code": "",
        "error_field": "",
        "error_reason": "",
        "error_fix": "",
        "error_subject": "",
        "blocked_by_id": None,
        "sent_fingerprint": "",
        "last_attempt_at": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }
    rows: list[dict[str, object]] = []
    for record_type, record_id in _all_records(session):
        if (record_type, record_id) in existing:
            continue
        linked = record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER) and record_id in links
        rows.append(
            {
                **fixed,
                "record_type": record_type,
                "record_id": record_id,
                "idempotency_key": new_idempotency_key(),
                "state": SendState.SUCCESSFUL if linked else SendState.WAITING,
                "remote_id": links[record_id] if linked else "",
            }
        )
    # One multi-row statement on the table, not one ORM object per record: a first send
    # of 100,000 records would otherwise spend seconds here before anything happens.
    table = OutboxEntry.metadata.tables[OutboxEntry.__tablename__]
    for start in range(0, len(rows), 10_000):
        session.execute(insert(table), rows[start : start + 10_000])
    return len(rows)


def entry_for(
    session: Session, package: str, record_type: RecordType, record_id: int
) -> OutboxEntry | None:
    """The outbox row of one record, if it has one."""
    return session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.package == package,
            OutboxEntry.record_type == record_type,
            OutboxEntry.record_id == record_id,
        )
    ).one_or_none()
