"""What a user can do about a failed or unconfirmed record, and the failure export."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.lookups import batches, one_of
from app.db.models import Link, LinkMethod, OutboxEntry, RecordType, SendState, utcnow
from app.private_files import open_private
from app.services.audit import record_event
from app.services.sending.failures import list_failures
from app.services.sending.outbox import entries_by_id

RETRYABLE = (SendState.FAILED, SendState.DO_NOT_SEND)


class ActionRefused(ValueError):
    """The action does not apply to this record in its current state."""


def _entries(session: Session, ids: Iterable[int]) -> list[OutboxEntry]:
    wanted = set(ids)
    rows = entries_by_id(session, wanted)
    if len(rows) != len(wanted):
        missing = wanted - {r.id for r in rows}
        raise ActionRefused(f"no outbox rows with ids {sorted(missing)}")
    return rows


def dependants_of(session: Session, entry_id: int) -> list[OutboxEntry]:
    """Rows held back, directly or through others, by ``entry_id``."""
    found: list[OutboxEntry] = []
    frontier = [entry_id]
    while frontier:
        rows = [
            row
            for chunk in batches(session, frontier)
            for row in session.scalars(
                select(OutboxEntry).where(one_of(session, OutboxEntry.blocked_by_id, chunk))
            )
        ]
        found.extend(rows)
        frontier = [r.id for r in rows]
    return found


def retry(session: Session, ids: Iterable[int], *, actor: str) -> int:
    """Queue failed (or do-not-send) rows again; their dependants follow them."""
    count = 0
    for entry in _entries(session, ids):
        if entry.state not in RETRYABLE:
            raise ActionRefused(
                f"{entry.record_type.value} #{entry.record_id} is {entry.state.value}; only "
                "failed or do-not-send records can be sent again"
            )
        for row in [entry, *dependants_of(session, entry.id)]:
            row.state = SendState.WAITING
            row.error_code = row.error_field = row.error_reason = row.error_fix = ""
            row.blocked_by_id = None
            record_event(
                session,
                actor=actor,
                action="retry",
                package=row.package,
                record_type=row.record_type.value,
                record_id=row.record_id,
            )
            count += 1
    return count


def do_not_send(
    session: Session, ids: Iterable[int], *, actor: str, include_dependants: bool
) -> int:
    """Never send these rows. With ``include_dependants`` the records they hold back are
    excluded too; without, the dependants stay failed (blocked) until the user decides."""
    count = 0
    for entry in _entries(session, ids):
        if entry.state in (SendState.SUCCESSFUL, SendState.PROCESSING, SendState.UNCERTAIN):
            raise ActionRefused(
                f"{entry.record_type.value} #{entry.record_id} is {entry.state.value}: it has "
                "(or may have) reached the package, so it cannot be excluded"
            )
        rows = [entry, *(dependants_of(session, entry.id) if include_dependants else [])]
        for row in rows:
            row.state = SendState.DO_NOT_SEND
            record_event(
                session,
                actor=actor,
                action="do_not_send",
                package=row.package,
                record_type=row.record_type.value,
                record_id=row.record_id,
            )
            count += 1
    return count


def entered_manually(session: Session, entry_id: int, remote_id: str, *, actor: str) -> None:
    """The user says the record is already in the package, with the package's id."""
    (entry,) = _entries(session, [entry_id])
    remote_id = remote_id.strip()
    if not remote_id:
        raise ActionRefused("give the package's id for the record you entered by hand")
    if entry.state in (SendState.SUCCESSFUL, SendState.PROCESSING):
        raise ActionRefused(
            f"{entry.record_type.value} #{entry.record_id} is {entry.state.value} already"
        )
    entry.state = SendState.ENTERED_MANUALLY
    entry.remote_id = remote_id
    entry.sent_at = utcnow()
    entry.error_code = entry.error_field = entry.error_reason = entry.error_fix = ""
    if entry.record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        link = session.scalars(
            select(Link).where(Link.package == entry.package, Link.contact_id == entry.record_id)
        ).one_or_none()
        if link is None:
            session.add(
                Link(
                    package=entry.package,
                    contact_id=entry.record_id,
                    remote_ref=remote_id,
                    method=LinkMethod.TYPED,
                )
            )
        else:
            link.remote_ref = remote_id
    record_event(
        session,
        actor=actor,
        action="entered_manually",
        package=entry.package,
        record_type=entry.record_type.value,
        record_id=entry.record_id,
        remote_id=remote_id,
    )


def export_failures(session: Session, package: str, path: Path) -> int:
    """Write the failure list (root causes, then what each holds back) as CSV."""
    rows = 0
    with open_private(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record", "state", "code", "field", "reason", "fix", "held_back_by"])
        for root in list_failures(session, package):
            for item, parent in [(root, ""), *((d, root.label) for d in root.dependants)]:
                writer.writerow(
                    [item.label, item.state, item.code, item.field, item.reason, item.fix, parent]
                )
                rows += 1
    return rows
