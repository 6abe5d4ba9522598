"""The "change this by hand in your package" list.

Sending is insert-only: when the job system changes a record Ledgerlink already sent,
the import leaves our copy as it was sent and records the change here, field by field.
The user makes the same change in the package by hand and confirms it; the next import
of that record then takes the new values (nothing is sent again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PendingChange, RecordType, utcnow
from app.services.audit import record_event
from app.services.sending.change_items import FieldChange as FieldChange
from app.services.sending.change_items import PendingChangeItem as PendingChangeItem
from app.services.sending.change_items import pending_item


def values_hash(changes: Iterable[FieldChange]) -> str:
    """A stable hash of the new values, so the same change is recorded only once."""
    encoded = json.dumps([[c.field, c.after] for c in changes], sort_keys=True)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def field_changes(
    names: Sequence[str],
    before: Sequence[object],
    after: Sequence[object],
    changed: Sequence[str],
    described: Mapping[str, tuple[str, str]] | None = None,
) -> list[FieldChange]:
    """Before → after for each changed field; ``described`` gives ready-made texts for
    fields that are not plain values (an invoice's lines, a payment's allocations)."""
    old, new = dict(zip(names, before, strict=True)), dict(zip(names, after, strict=True))
    described = described or {}
    return [
        FieldChange(name, *described[name])
        if name in described
        else FieldChange(name, _text(old[name]), _text(new[name]))
        for name in changed
    ]


def _text(value: object) -> str:
    return "" if value is None else str(value)


class ChangeTracker:
    """Used by one import: notes changes to sent records and says which are confirmed.

    ``confirmed(record_id, changes)`` is true when the user already confirmed exactly
    these new values, so the import may now apply them to our copy.
    """

    def __init__(self, session: Session, record_type: RecordType, source: str) -> None:
        self.session = session
        self.record_type = record_type
        self.source = source
        self._by_record: dict[int, list[PendingChange]] = {}
        self._to_note: list[tuple[int, str, list[FieldChange]]] = []
        self._to_apply: list[PendingChange] = []

    def load(self, record_ids: Iterable[int]) -> None:
        """Read the open pending changes of ``record_ids`` (the sent records this import
        touches), in batches of 500."""
        ids = list(record_ids)
        for start in range(0, len(ids), 500):
            for change in self.session.scalars(
                select(PendingChange).where(
                    PendingChange.record_type == self.record_type,
                    PendingChange.record_id.in_(ids[start : start + 500]),
                    PendingChange.applied_at.is_(None),
                )
            ):
                self._by_record.setdefault(change.record_id, []).append(change)

    def confirmed(self, record_id: int, changes: list[FieldChange]) -> bool:
        """True when the user confirmed exactly these new values for ``record_id``; the change is
        then marked applied on :meth:`write`."""
        wanted = values_hash(changes)
        for change in self._by_record.get(record_id, []):
            if change.values_hash == wanted and change.confirmed_at is not None:
                self._to_apply.append(change)
                return True
        return False

    def known(self, record_id: int, changes: list[FieldChange]) -> PendingChange | None:
        """The change with exactly these new values already on the list, if any."""
        wanted = values_hash(changes)
        for change in self._by_record.get(record_id, []):
            if change.values_hash == wanted:
                return change
        return None

    def settled(self, record_id: int, label: str, changes: list[FieldChange]) -> bool:
        """For a document or payment: true when the user already confirmed these very
        values in the package (our copy keeps what was sent); otherwise list the change
        (once) and return false."""
        listed = self.known(record_id, changes)
        if listed is not None:
            return listed.confirmed_at is not None
        self.note(record_id, label, changes)
        return False

    def note(self, record_id: int, label: str, changes: list[FieldChange]) -> None:
        """List these changes to ``record_id`` for the user to confirm; written on :meth:`write`."""
        self._to_note.append((record_id, label, changes))

    def write(self, actor: str) -> None:
        """Record new changes and mark applied ones (inside the import's transaction)."""
        now = utcnow()
        for change in self._to_apply:
            change.applied_at = now
            record_event(
                self.session,
                actor=actor,
                action="pending_change_applied",
                record_type=change.record_type.value,
                record_id=change.record_id,
            )
        for record_id, label, changes in self._to_note:
            wanted = values_hash(changes)
            open_changes = self._by_record.get(record_id, [])
            if any(c.values_hash == wanted for c in open_changes):
                continue  # already listed (or confirmed and waiting to be applied)
            for superseded in (c for c in open_changes if c.confirmed_at is None):
                self.session.delete(superseded)  # the job system changed it again
            self.session.add(
                PendingChange(
                    record_type=self.record_type,
                    record_id=record_id,
                    label=label,
                    changes=json.dumps([c.__dict__ for c in changes]),
                    values_hash=wanted,
                    source=self.source,
                    detected_at=now,
                )
            )
            record_event(
                self.session,
                actor=actor,
                action="changed_after_send",
                record_type=self.record_type.value,
                record_id=record_id,
                changes=[c.__dict__ for c in changes],
            )


def list_pending(session: Session, *, include_confirmed: bool = False) -> list[PendingChangeItem]:
    """Changes still to make by hand (and, optionally, those confirmed but not applied)."""
    query = select(PendingChange).where(PendingChange.applied_at.is_(None))
    if not include_confirmed:
        query = query.where(PendingChange.confirmed_at.is_(None))
    return [
        pending_item(
            row.id,
            row.record_type.value,
            row.record_id,
            row.label,
            row.changes,
            row.source,
            row.detected_at,
            row.confirmed_at,
        )
        for row in session.scalars(query.order_by(PendingChange.detected_at, PendingChange.id))
    ]


def confirm(session: Session, change_id: int, *, actor: str) -> PendingChange:
    """The user has made this change in the package by hand."""
    change = session.get(PendingChange, change_id)
    if change is None or change.applied_at is not None:
        raise ValueError(f"there is no open change #{change_id}")
    if change.confirmed_at is None:
        change.confirmed_at = utcnow()
        change.confirmed_by = actor[:32]
        record_event(
            session,
            actor=actor,
            action="pending_change_confirmed",
            record_type=change.record_type.value,
            record_id=change.record_id,
        )
    return change
