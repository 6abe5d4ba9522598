"""Saving links between our contacts and the package's, all in one transaction.

Used by the link grid, ``ledgerlink links import`` and the one-time import from the
package. A linked contact needs no sending: its outbox row becomes successful with the
package's reference, so documents for it go to the existing record, never a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db.models import (
    DELIVERED_STATES,
    Contact,
    Document,
    Link,
    LinkMethod,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
    utcnow,
)
from app.services.audit import record_event
from app.services.sending.outbox import new_idempotency_key
from connectors.wording import count, plural

CHANGED_ELSEWHERE = "changed by someone else — reload"


class ChangedElsewhere(ValueError):
    """Someone else saved links for these contacts after they were loaded; nothing of
    this save was written."""

    def __init__(self, labels: list[str]) -> None:
        shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        super().__init__(
            f"The link for {shown} was {CHANGED_ELSEWHERE} to see their change, then link again."
        )
        self.labels = labels


@dataclass(frozen=True)
class LinkChange:
    """Link ``contact_id`` to ``remote_ref``, or unlink it when ``remote_ref`` is empty.

    ``loaded_ref`` is the reference the user saw when they loaded the contact ("" when
    it was unlinked). When given, the save is refused with :class:`ChangedElsewhere` if
    the stored link is no longer that one: someone else changed it in between.
    ``loaded_version`` is the link's version number when it was read (0: there was no
    link); when given, the save is refused the same way if the link now has another
    (someone else linked, re-linked or unlinked the contact since, even to the same
    reference).
    """

    contact_id: int
    remote_ref: str
    remote_name: str = ""
    method: LinkMethod = LinkMethod.TYPED
    loaded_ref: str | None = None
    loaded_version: int | None = None


def link_versions(
    session: Session, package: str, contact_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """The version number of each link to ``package`` by contact id (of ``contact_ids``
    only, when given); a contact with no link is not in it. Read with a column query, so
    it is what the database holds now, whatever the session loaded before."""
    query = select(Link.contact_id, Link.version).where(Link.package == package)
    if contact_ids is None:
        return {contact_id: version for contact_id, version in session.execute(query)}
    ids = sorted(set(contact_ids))
    versions: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        versions.update(
            (contact_id, version)
            for contact_id, version in session.execute(
                query.where(Link.contact_id.in_(ids[start : start + 500]))
            )
        )
    return versions


@dataclass
class LinkResult:
    linked: int = 0
    unlinked: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)


def sent_documents_for(session: Session, package: str, contact_id: int) -> int:
    """How many of a contact's documents and payments have reached the package."""
    delivered = DELIVERED_STATES
    documents = select(Document.id).where(Document.contact_id == contact_id)
    payments = select(Payment.id).where(Payment.contact_id == contact_id)
    count = session.scalar(
        select(func.count())
        .select_from(OutboxEntry)
        .where(
            OutboxEntry.package == package,
            OutboxEntry.state.in_(delivered),
            (
                OutboxEntry.record_type.in_([RecordType.INVOICE, RecordType.CREDIT_NOTE])
                & OutboxEntry.record_id.in_(documents)
            )
            | (
                (OutboxEntry.record_type == RecordType.PAYMENT)
                & OutboxEntry.record_id.in_(payments)
            ),
        )
    )
    return count or 0


def _load_in_bulk(
    session: Session, package: str, contact_ids: list[int]
) -> tuple[dict[int, Contact], dict[tuple[RecordType, int], OutboxEntry]]:
    """The contacts being linked and their outbox rows, a few queries for any number."""
    contacts: dict[int, Contact] = {}
    entries: dict[tuple[RecordType, int], OutboxEntry] = {}
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        contacts.update(
            (c.id, c) for c in session.scalars(select(Contact).where(Contact.id.in_(chunk)))
        )
        for entry in session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.package == package,
                OutboxEntry.record_type.in_([RecordType.CUSTOMER, RecordType.SUPPLIER]),
                OutboxEntry.record_id.in_(chunk),
            )
        ):
            entries[(entry.record_type, entry.record_id)] = entry
    return contacts, entries


def apply_links(
    session: Session, package: str, changes: list[LinkChange], *, actor: str
) -> LinkResult:
    """Apply link changes in ``session`` (the caller commits once, for all or none)."""
    result = LinkResult()
    existing = {
        link.contact_id: link
        for link in session.scalars(select(Link).where(Link.package == package))
    }
    contacts, entries = _load_in_bulk(session, package, [c.contact_id for c in changes])
    checked = [c.contact_id for c in changes if c.loaded_version is not None]
    versions = link_versions(session, package, checked) if checked else {}
    _refuse_changed_elsewhere(changes, existing, contacts, versions)
    for change in changes:
        contact = contacts.get(change.contact_id)
        if contact is None:
            raise ValueError(f"contact #{change.contact_id} does not exist")
        link = existing.get(contact.id)
        old_ref = link.remote_ref if link else ""
        new_ref = change.remote_ref.strip()
        if old_ref == new_ref:
            result.unchanged += 1
            continue
        already_sent = sent_documents_for(session, package, contact.id) if old_ref else 0
        if already_sent:
            result.warnings.append(
                f"{contact.name} ({contact.account_ref}): {count(already_sent, 'record')} "
                f"{plural('was', already_sent)} already sent under the old reference {old_ref}; "
                f"{plural('it', already_sent)} stay{'s' if already_sent == 1 else ''} there."
            )
        entry = entries.get((RecordType(contact.kind.value), contact.id))
        if entry is None:
            entry = OutboxEntry(
                package=package,
                record_type=RecordType(contact.kind.value),
                record_id=contact.id,
                idempotency_key=new_idempotency_key(),
            )
            session.add(entry)
            entries[(entry.record_type, contact.id)] = entry
        if new_ref:
            if link is None:
                link = Link(package=package, contact_id=contact.id, remote_ref=new_ref)
                session.add(link)
                existing[contact.id] = link
            link.remote_ref = new_ref
            link.remote_name = change.remote_name
            link.method = change.method
            link.linked_at = utcnow()
            entry.state = SendState.SUCCESSFUL
            entry.remote_id = new_ref
            entry.error_code = entry.error_field = entry.error_reason = entry.error_fix = ""
            entry.blocked_by_id = None
            result.linked += 1
            action = "linked"
        else:
            assert link is not None
            session.delete(link)
            del existing[contact.id]
            entry.state = SendState.WAITING
            entry.remote_id = ""
            result.unlinked += 1
            action = "unlinked"
        record_event(
            session,
            actor=actor,
            action=action,
            package=package,
            record_type=contact.kind.value,
            record_id=contact.id,
            old_ref=old_ref,
            new_ref=new_ref,
            method=change.method.value,
        )
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        # Another save updated or removed one of these links between our read and write
        # (the version numbers no longer match), or linked one of them first (the one
        # link per contact rule): the whole save is refused.
        raise ChangedElsewhere(["one of these contacts"]) from exc
    return result


def _refuse_changed_elsewhere(
    changes: list[LinkChange],
    existing: dict[int, Link],
    contacts: dict[int, Contact],
    versions: dict[int, int],
) -> None:
    stale: list[str] = []
    for change in changes:
        link = existing.get(change.contact_id)
        moved_ref = (
            change.loaded_ref is not None
            and (link.remote_ref if link else "") != change.loaded_ref.strip()
        )
        moved_version = (
            change.loaded_version is not None
            and versions.get(change.contact_id, 0) != change.loaded_version
        )
        if moved_ref or moved_version:
            contact = contacts.get(change.contact_id)
            stale.append(
                f"{contact.name} ({contact.account_ref})" if contact else f"#{change.contact_id}"
            )
    if stale:
        raise ChangedElsewhere(stale)
