"""Records handed to a desktop bridge, and what becomes of them on evidence.

QuickBooks Desktop (through the Web Connector) and Sage 50 (through its import files) do
not answer a create at once. The sender hands such records over and leaves them
*handed over*; they become *successful* only on evidence from the package (a qbXML
response with the record's id, a reconciliation against Sage's own export), *failed*
when the package refused them, and *uncertain* when the answer was lost, so that the
bridge looks in the package before anything is sent again.

Each function changes one outbox row in the caller's session and writes its audit entry
there, so the change and its history commit together.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEntry, RecordType, SendState, utcnow
from app.services.audit import record_event
from app.services.sending.sender import link_created_contact


class NotHandedOver(LookupError):
    """The outbox row is not waiting for a desktop bridge's evidence."""


@dataclass(frozen=True)
class HandedOverRecord:
    """One record waiting for the package's evidence, as the bridge needs it."""

    entry_id: int
    record_type: RecordType
    record_id: int
    reference: str
    idempotency_key: str


def handed_over(session: Session, package: str) -> list[HandedOverRecord]:
    """Every record of ``package`` handed over and not yet confirmed, oldest first."""
    rows = session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.package == package, OutboxEntry.state == SendState.HANDED_OVER)
        .order_by(OutboxEntry.sent_at, OutboxEntry.id)
    )
    return [
        HandedOverRecord(e.id, e.record_type, e.record_id, e.remote_id, e.idempotency_key)
        for e in rows
    ]


def _entry(session: Session, package: str, entry_id: int) -> OutboxEntry:
    entry = session.get(OutboxEntry, entry_id)
    if entry is None or entry.package != package or entry.state is not SendState.HANDED_OVER:
        raise NotHandedOver(f"outbox row {entry_id} is not waiting for {package}")
    return entry


def confirm(session: Session, package: str, entry_id: int, remote_id: str, *, actor: str) -> None:
    """The package has the record, with ``remote_id`` as its own id: successful."""
    entry = _entry(session, package, entry_id)
    entry.state = SendState.SUCCESSFUL
    entry.remote_id = remote_id
    link_created_contact(session, package, entry, remote_id)
    _audit(session, entry, "confirmed", actor, remote_id=remote_id)


def refuse(
    session: Session,
    package: str,
    entry_id: int,
    *,
    code: str,
    reason: str,
    fix: str,
    field: str = "",
    actor: str,
) -> None:
    """The package refused the record: failed, with the reason and the fix."""
    entry = _entry(session, package, entry_id)
    entry.state = SendState.FAILED
    entry.error_code, entry.error_field = code, field
    entry.error_reason, entry.error_fix = reason, fix
    entry.error_subject = ""
    entry.last_attempt_at = utcnow()
    _audit(session, entry, "failed", actor, code=code, field=field, reason=reason)


def answer_lost(session: Session, package: str, entry_id: int, *, reason: str, actor: str) -> None:
    """The package may have taken the record but its answer never came: uncertain, to be
    looked up in the package before anything is sent again."""
    entry = _entry(session, package, entry_id)
    entry.state = SendState.UNCERTAIN
    entry.error_code = "outcome_uncertain"
    entry.error_reason = reason
    entry.error_fix = "Nothing to do: Ledgerlink checks the package before resending."
    _audit(session, entry, "marked_uncertain", actor, reason=reason)


def _audit(session: Session, entry: OutboxEntry, action: str, actor: str, **detail: object) -> None:
    record_event(
        session,
        actor=actor,
        action=action,
        package=entry.package,
        record_type=entry.record_type.value,
        record_id=entry.record_id,
        **detail,
    )


# ---------------------------------------------------------------- lost answers, resolved


def uncertain(session: Session, package: str) -> list[HandedOverRecord]:
    """Every uncertain record of ``package`` (an answer lost, a send interrupted), oldest
    first: a bridge asks the package about each before anything is sent again."""
    rows = session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.package == package, OutboxEntry.state == SendState.UNCERTAIN)
        .order_by(OutboxEntry.id)
    )
    return [
        HandedOverRecord(e.id, e.record_type, e.record_id, e.remote_id, e.idempotency_key)
        for e in rows
    ]


def _uncertain_entry(session: Session, package: str, entry_id: int) -> OutboxEntry:
    entry = session.get(OutboxEntry, entry_id)
    if entry is None or entry.package != package or entry.state is not SendState.UNCERTAIN:
        raise NotHandedOver(f"outbox row {entry_id} is not uncertain for {package}")
    return entry


def resolve_found(
    session: Session, package: str, entry_id: int, remote_id: str, *, actor: str
) -> None:
    """The package turned out to have the uncertain record: successful."""
    entry = _uncertain_entry(session, package, entry_id)
    entry.state = SendState.SUCCESSFUL
    entry.remote_id = remote_id
    entry.error_code = entry.error_reason = entry.error_fix = ""
    link_created_contact(session, package, entry, remote_id)
    _audit(session, entry, "resolved_found", actor, remote_id=remote_id)


def resolve_absent(
    session: Session, package: str, entry_id: int, reference: str, *, actor: str
) -> None:
    """The package does not have the uncertain record: handed over again, under
    ``reference``, for the bridge to deliver."""
    entry = _uncertain_entry(session, package, entry_id)
    entry.state = SendState.HANDED_OVER
    entry.remote_id = reference
    entry.error_code = entry.error_reason = entry.error_fix = ""
    _audit(session, entry, "resolved_not_found", actor, reference=reference)
