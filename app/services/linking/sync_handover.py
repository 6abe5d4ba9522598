"""Contact sync writes that a desktop bridge hands over and confirms later.

QuickBooks Desktop (through the Web Connector's queue) and Sage 50 (through a records
import file) cannot say at once whether they took a contact's new details. Their
connectors answer :class:`~connectors.contract.HandedOver`; the sync service keeps
the write here (:class:`~app.db.models.PendingContactUpdate`) and the bridge confirms
or fails it later, on the package's answer or evidence. Only a confirmation records the
values as agreed, so until then the row still shows, marked as waiting, and is never
handed over twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.lookups import chunked
from app.db.models import ContactSync, PendingContactUpdate, utcnow
from app.services.audit import record_event
from connectors.contract import SYNC_FIELDS, HandedOver

HANDED_OVER = "handed_over"
CONFIRMED = "confirmed"
FAILED = "failed"


@dataclass(frozen=True)
class UpdateState:
    """The latest bridge write for one contact, as the sync wizard shows it."""

    state: str
    #: Where it waits (handed over) or why it failed, in words.
    words: str


def remember_agreed(
    session: Session, package: str, contact_id: int, ref: str, agreed: Mapping[str, str]
) -> None:
    """Record ``agreed`` as the values both sides last agreed on for the contact."""
    remember_all_agreed(session, package, [(contact_id, ref, agreed)])


def remember_all_agreed(
    session: Session, package: str, agreements: Sequence[tuple[int, str, Mapping[str, str]]]
) -> None:
    """Record, for each ``(contact_id, ref, agreed)``, ``agreed`` as the values both sides
    last agreed on for that contact: one look-up for them all, not one per contact."""
    if not agreements:
        return
    ids = [contact_id for contact_id, _, _ in agreements]
    known = {
        state.contact_id: state
        for chunk in chunked(ids)
        for state in session.scalars(
            select(ContactSync).where(
                ContactSync.package == package, ContactSync.contact_id.in_(chunk)
            )
        )
    }
    now = utcnow()
    for contact_id, ref, agreed in agreements:
        state = known.get(contact_id)
        if state is None:
            state = known[contact_id] = ContactSync(package=package, contact_id=contact_id)
            session.add(state)
        state.remote_ref = ref
        state.agreed = json.dumps(dict(agreed), sort_keys=True)
        state.synced_at = now


def hand_over(
    session: Session,
    package: str,
    *,
    contact_id: int,
    remote_ref: str,
    role: str,
    sent: Mapping[str, str],
    handed: HandedOver,
    actor: str,
) -> PendingContactUpdate:
    """Keep a write the bridge has taken (audited); confirmed or failed later."""
    update = PendingContactUpdate(
        package=package,
        contact_id=contact_id,
        remote_ref=remote_ref,
        role=role,
        sent=json.dumps({f: sent.get(f, "") for f in SYNC_FIELDS}, sort_keys=True),
        state=HANDED_OVER,
        note=handed.note,
        location=handed.location,
    )
    session.add(update)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="contact_sync_handed_over",
        package=package,
        record_type=role,
        record_id=contact_id,
        remote_ref=remote_ref,
        note=handed.note,
    )
    return update


def waiting(session: Session, package: str) -> list[PendingContactUpdate]:
    """The writes ``package`` has taken and not yet confirmed, oldest first."""
    return list(
        session.scalars(
            select(PendingContactUpdate)
            .where(PendingContactUpdate.package == package)
            .where(PendingContactUpdate.state == HANDED_OVER)
            .order_by(PendingContactUpdate.id)
        )
    )


def sent_values(update: PendingContactUpdate) -> dict[str, str]:
    """The values a write carries."""
    values = json.loads(update.sent)
    return {f: str(values.get(f, "")) for f in SYNC_FIELDS}


def confirm(
    session: Session,
    update: PendingContactUpdate,
    *,
    actor: str,
    now_values: Mapping[str, str] | None = None,
) -> None:
    """The package took the write: its values (``now_values`` when the package said what
    it holds now, else those sent) are the agreed ones from here on."""
    if update.state != HANDED_OVER:
        return
    agreed = dict(now_values) if now_values is not None else sent_values(update)
    update.state = CONFIRMED
    update.updated_at = utcnow()
    remember_agreed(session, update.package, update.contact_id, update.remote_ref, agreed)
    record_event(
        session,
        actor=actor,
        action="contact_synced",
        package=update.package,
        record_type=update.role,
        record_id=update.contact_id,
        direction="ours_to_package",
        confirmed=True,
        fields=agreed,
    )


def fail(session: Session, update: PendingContactUpdate, reason: str, *, actor: str) -> None:
    """The package refused the write: the row fails with ``reason`` (it says what to do);
    the next sync shows the contact again."""
    if update.state != HANDED_OVER:
        return
    update.state = FAILED
    update.reason = reason
    update.updated_at = utcnow()
    record_event(
        session,
        actor=actor,
        action="contact_sync_failed",
        package=update.package,
        record_type=update.role,
        record_id=update.contact_id,
        remote_ref=update.remote_ref,
        reason=reason,
    )


def latest_states(session: Session, package: str) -> dict[int, UpdateState]:
    """Per contact, its latest bridge write when that is still waiting or failed."""
    found: dict[int, UpdateState] = {}
    for update in session.scalars(
        select(PendingContactUpdate)
        .where(PendingContactUpdate.package == package)
        .order_by(PendingContactUpdate.id)
    ):
        if update.state == CONFIRMED:
            found.pop(update.contact_id, None)
        else:
            words = update.note if update.state == HANDED_OVER else update.reason
            found[update.contact_id] = UpdateState(update.state, words)
    return found
