"""The outbox: one row per record per package, created before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from app.db.lookups import batches, one_of
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
from app.db.types import UTCDateTime

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


def _random_key(dialect: str) -> ColumnElement[str]:
    """SQL for a fresh key shaped as :func:`new_idempotency_key`'s ("ll-" and 32 hex
    digits from 128 random bits), so a database can key many rows in one statement."""
    if dialect == "sqlite":
        return literal_column("'ll-'", String) + func.lower(func.hex(func.randomblob(16)))
    if dialect == "postgresql":
        uuid_text = cast(func.gen_random_uuid(), String)
        return literal_column("'ll-'", String) + func.replace(uuid_text, literal_column("'-'"), "")
    raise NotImplementedError(f"no random key for the {dialect} store")


def sync_outbox(session: Session, package: str) -> int:
    """Give every record an outbox row for ``package``; returns how many were added.

    A contact already linked to the package needs no sending: its row starts as
    successful with the linked reference as its remote id.

    Done in the database, one ``INSERT … SELECT`` per kind of record: a first send (or
    dry run) of 100,000 records would otherwise spend seconds here before anything
    happens.
    """
    key = _random_key(session.get_bind().dialect.name)
    now = utcnow()
    columns = (
        "package",
        "record_type",
        "record_id",
        "idempotency_key",
        "state",
        "remote_id",
        "attempts",
        "error_code",
        "error_field",
        "error_reason",
        "error_fix",
        "error_subject",
        "sent_fingerprint",
        "created_at",
        "updated_at",
    )
    blank: list[ColumnElement[Any]] = [literal_column("''")] * 6
    stamps = [literal(now, UTCDateTime())] * 2

    def missing(record_type: Any, record_id: Any) -> Any:
        return ~exists().where(
            OutboxEntry.package == package,
            OutboxEntry.record_type == record_type,
            OutboxEntry.record_id == record_id,
        )

    linked = Link.id.is_not(None)
    contacts = (
        select(
            _text(package),
            Contact.kind,
            Contact.id,
            key,
            case((linked, _text(SendState.SUCCESSFUL.value)), else_=_text(SendState.WAITING.value)),
            func.coalesce(Link.remote_ref, ""),
            literal_column("0"),
            *blank,
            *stamps,
        )
        .outerjoin(Link, (Link.contact_id == Contact.id) & (Link.package == package))
        .where(missing(Contact.kind, Contact.id))
        .order_by(Contact.id)
    )
    documents = (
        select(
            _text(package),
            Document.kind,
            Document.id,
            key,
            _text(SendState.WAITING.value),
            literal_column("''"),
            literal_column("0"),
            *blank,
            *stamps,
        )
        .where(missing(Document.kind, Document.id))
        .order_by(Document.id)
    )
    payments = (
        select(
            _text(package),
            _text(RecordType.PAYMENT.value),
            Payment.id,
            key,
            _text(SendState.WAITING.value),
            literal_column("''"),
            literal_column("0"),
            *blank,
            *stamps,
        )
        .where(missing(_text(RecordType.PAYMENT.value), Payment.id))
        .order_by(Payment.id)
    )
    table = OutboxEntry.metadata.tables[OutboxEntry.__tablename__]
    count = select(func.count()).select_from(table).where(table.c.package == package)
    before = session.scalar(count) or 0
    for query in (contacts, documents, payments):
        session.execute(insert(table).from_select(columns, query))
    # Counted, not the drivers' row counts: not every driver gives one for INSERT … SELECT.
    return (session.scalar(count) or 0) - before


def _text(value: str) -> ColumnElement[str]:
    # Typed, so PostgreSQL knows what a parameter in a SELECT list is.
    return cast(literal(value), String)


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


def entries_by_id(session: Session, ids: Iterable[int]) -> list[OutboxEntry]:
    """The outbox rows with these ids (those that exist), in id order. Read a chunk of
    ids at a time: one ``IN`` list of them all would pass SQLite's limit on bound
    parameters (999 a statement on builds before 3.32) for a large selection."""
    found: list[OutboxEntry] = []
    for chunk in batches(session, sorted(set(ids))):
        found.extend(
            session.scalars(
                select(OutboxEntry)
                .where(one_of(session, OutboxEntry.id, chunk))
                .order_by(OutboxEntry.id)
            )
        )
    return found


def clear_error(entry: OutboxEntry) -> None:
    """Forget why ``entry`` last failed or waited (code, field, words, what held it back),
    for a record going back to waiting or reaching the package."""
    entry.error_code = entry.error_field = entry.error_reason = entry.error_fix = ""
    entry.error_subject = ""
    entry.blocked_by_id = None
