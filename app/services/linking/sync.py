"""Keeping linked contacts' details in step with the package: the sync wizard's Qt-free half.

Sending stays insert-only for transactions; contacts need more. For each *linked*
contact (never-linked ones never appear), the details in :data:`SYNC_FIELDS` (the name
stays as linked, so a link between "Company A" and "Company B" is kept as it is) are
compared on both sides with the values they last agreed on (:class:`ContactSync`):

- only ours changed → offered ours → package;
- only the package's changed → offered package → ours;
- both changed, or they differ with no agreed values yet → a *conflict*: nothing is
  offered, the user chooses.

Switching sync on records the values every agreeing pair has
(:func:`record_agreement`), so the first change after it is attributed to its side.
Nothing is written until :func:`apply_sync`; each row then goes its chosen way, through
the connector's ``update_contact`` for ours → package, and is recorded in the audit. A
row the package refuses (a locked or archived contact) fails with the reason; the
others go on. A desktop bridge (QuickBooks Desktop, Sage 50) takes the write and
confirms it later (:mod:`app.services.linking.sync_handover`): the row then shows as
waiting, and is never handed over twice. Sync is opt-in, per package
(:func:`set_sync_enabled`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactSync, Link
from app.services.audit import record_event
from app.services.linking import sync_handover
from app.services.linking.sync_handover import remember_agreed, remember_all_agreed
from app.services.setup.state import get_setting, set_setting
from connectors.contract import (
    SYNC_FIELDS,
    Connector,
    ContactRole,
    ContactUpdate,
    HandedOver,
    RemoteContact,
    lists_changed_contacts,
)
from connectors.errors import ConnectorError, Rejected

#: Settings key: the packages whose contacts the user chose to keep in step.
SYNC_ENABLED = "contact_sync.enabled"

FIELD_WORDS = {
    "contact_name": "contact name",
    "address_1": "address line 1",
    "address_2": "address line 2",
    "address_3": "address line 3",
    "town": "town",
    "county": "county",
    "postcode": "postcode",
    "email": "email",
    "phone": "phone",
}


class Direction(StrEnum):
    """Which way a row goes when the user applies."""

    OURS_TO_PACKAGE = "ours_to_package"
    PACKAGE_TO_OURS = "package_to_ours"
    LEAVE = "leave"


class SyncNotAllowed(ValueError):
    """Sync is not switched on for the package, or the package cannot take updates."""


@dataclass(frozen=True)
class SyncRow:
    """One linked contact whose details differ between us and the package."""

    contact_id: int
    role: ContactRole
    account_ref: str
    our_name: str
    their_ref: str
    their_name: str
    ours: dict[str, str]
    theirs: dict[str, str]
    #: The fields that differ now.
    differing: tuple[str, ...]
    changed_ours: bool
    changed_theirs: bool
    #: A desktop bridge holds our values for this contact, not yet confirmed: where.
    waiting: str = ""
    #: The package refused the last values a desktop bridge carried: why.
    refused: str = ""

    @property
    def conflict(self) -> bool:
        """Both sides changed (or never agreed): only the user may choose."""
        return self.changed_ours == self.changed_theirs

    @property
    def offered(self) -> Direction:
        """The direction offered before the user chooses: the side that changed."""
        if self.conflict:
            return Direction.LEAVE
        return Direction.OURS_TO_PACKAGE if self.changed_ours else Direction.PACKAGE_TO_OURS

    @property
    def names_differ(self) -> bool:
        """Linked to a record of another name: shown so nobody "corrects" it."""
        return self.our_name != self.their_name

    def to_json(self) -> dict[str, Any]:
        """The row as ``sync --json`` prints it, with both values of each differing field."""
        return {
            "contact_id": self.contact_id,
            "role": self.role.value,
            "account_ref": self.account_ref,
            "our_name": self.our_name,
            "their_ref": self.their_ref,
            "their_name": self.their_name,
            "differing": {
                f: {"ours": self.ours[f], "theirs": self.theirs[f]} for f in self.differing
            },
            "changed_ours": self.changed_ours,
            "changed_theirs": self.changed_theirs,
            "conflict": self.conflict,
            "offered": self.offered.value,
            "waiting": self.waiting,
            "refused": self.refused,
        }


@dataclass
class SyncOutcome:
    """What :func:`apply_sync` did, row by row."""

    to_package: int = 0
    to_ours: int = 0
    left: int = 0
    #: Handed to a desktop bridge, to be confirmed later.
    handed_over: int = 0
    #: ``(label, reason and fix)`` for each row the package refused.
    failed: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The outcome as the CLI's JSON output gives it."""
        return {
            "to_package": self.to_package,
            "to_ours": self.to_ours,
            "left": self.left,
            "handed_over": self.handed_over,
            "failed": [{"contact": label, "reason": why} for label, why in self.failed],
        }


def sync_enabled(session: Session, package: str) -> bool:
    """Whether the user switched contact sync on for ``package``."""
    return package in (get_setting(session, SYNC_ENABLED, []) or [])


def set_sync_enabled(session: Session, package: str, enabled: bool, *, actor: str) -> None:
    """Switch contact sync on or off for ``package`` (audited)."""
    packages = set(get_setting(session, SYNC_ENABLED, []) or [])
    packages = packages | {package} if enabled else packages - {package}
    set_setting(session, SYNC_ENABLED, sorted(packages))
    record_event(session, actor=actor, action="contact_sync_switched", package=package, on=enabled)


def _values(contact: Contact | RemoteContact) -> dict[str, str]:
    return {name: (getattr(contact, name) or "").strip() for name in SYNC_FIELDS}


def _package_contacts(connector: Connector, refs: set[str]) -> dict[str, RemoteContact]:
    """The package's linked contacts, by reference: one listing, not one call each."""
    found: dict[str, RemoteContact] = {}
    if connector.info.can_list_contacts:
        for role in ContactRole:
            for contact in connector.iter_contacts(role):
                if contact.ref in refs:
                    found[contact.ref] = contact
    else:
        for ref in refs:
            one = connector.get_contact(ref)
            if one is not None:
                found[ref] = one
    return found


#: Changes are read from this long before the last agreement: the package's clock and
#: ours may differ, and reading a few contacts too many costs nothing in exactness.
CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class _Known:
    ref: str
    role: ContactRole
    link_name: str
    agreed: ContactSync | None

    @property
    def usable(self) -> bool:
        """Agreed values for this very package record (a relink starts afresh)."""
        return self.agreed is not None and self.agreed.remote_ref == self.ref


def _package_side(connector: Connector, known: list[_Known]) -> dict[str, RemoteContact]:
    """The package's linked contacts, by reference, as exactly as a full listing gives
    them, read as cheaply as the package allows.

    Where the package lists changed contacts (:class:`ListsChangedContacts`) and the
    values each linked contact last agreed on are known, only the contacts changed since
    (a margin before) the oldest agreement are read: a contact not among them still holds
    exactly the values it agreed on, since an agreement is only ever recorded with the
    package's own values. While any linked contact has no agreed values yet, every
    contact is read, as before."""
    refs = {k.ref for k in known}
    changes = lists_changed_contacts(connector)
    usable = [k for k in known if k.usable]
    if changes is None or not usable or len(usable) < len(known):
        return _package_contacts(connector, refs)
    since = min(k.agreed.synced_at for k in usable if k.agreed is not None) - CLOCK_MARGIN
    found: dict[str, RemoteContact] = {}
    for k in usable:
        assert k.agreed is not None
        values = json.loads(k.agreed.agreed)
        found[k.ref] = RemoteContact(
            ref=k.ref,
            role=k.role,
            name=k.link_name,
            **{f: str(values.get(f, "")) for f in SYNC_FIELDS},
        )
    for ref, contact in changes.changed_contacts(since):
        if ref not in refs:
            continue
        if contact is None:
            found.pop(ref, None)  # archived since: gone, as a full listing would show
        else:
            found[ref] = contact
    return found


def record_agreement(
    session_factory: sessionmaker[Session], connector: Connector, *, actor: str
) -> int:
    """Remember, for every linked contact whose details already agree with the package's,
    those values as agreed: from then on a change on either side is attributed to that
    side. Run when sync is switched on and after each apply. Returns how many agree."""
    package = connector.info.key
    with session_factory() as session:
        linked = session.execute(
            select(Link.remote_ref, Contact)
            .join(Contact, Contact.id == Link.contact_id)
            .where(Link.package == package)
        ).all()
        pairs = [(ref, contact.id, _values(contact)) for ref, contact in linked]
    theirs = _package_contacts(connector, {ref for ref, _, _ in pairs})
    agreeing = [
        (ref, contact_id, values)
        for ref, contact_id, values in pairs
        if ref in theirs and _values(theirs[ref]) == values
    ]
    with session_factory.begin() as session:
        remember_all_agreed(
            session, package, [(contact_id, ref, values) for ref, contact_id, values in agreeing]
        )
        record_event(
            session, actor=actor, action="contact_sync_agreed", package=package, n=len(agreeing)
        )
    return len(agreeing)


def sync_rows(session_factory: sessionmaker[Session], connector: Connector) -> list[SyncRow]:
    """Every linked contact whose details differ from the package's, with which side
    changed since they last agreed. Reads only; for a worker or ``ledgerlink sync``."""
    package = connector.info.key
    with session_factory() as session:
        linked = session.execute(
            select(Link.remote_ref, Link.remote_name, Contact)
            .join(Contact, Contact.id == Link.contact_id)
            .where(Link.package == package)
            .order_by(Contact.kind, Contact.name)
        ).all()
        agreed = {
            row.contact_id: row
            for row in session.scalars(select(ContactSync).where(ContactSync.package == package))
        }
        ours = [
            (ref, name, contact, _values(contact), agreed.get(contact.id))
            for ref, name, contact in linked
        ]
        agreed_values = {
            cid: (row.remote_ref, json.loads(row.agreed)) for cid, row in agreed.items()
        }
        bridged = sync_handover.latest_states(session, package)
        known = [
            _Known(ref, ContactRole(contact.kind.value), name, state)
            for ref, name, contact, _, state in ours
        ]
    theirs = _package_side(connector, known)
    rows: list[SyncRow] = []
    for ref, link_name, contact, our_values, _ in ours:
        remote = theirs.get(ref)
        if remote is None:
            continue  # gone from the package: the link page says so, not the sync
        their_values = _values(remote)
        differing = tuple(f for f in SYNC_FIELDS if our_values[f] != their_values[f])
        if not differing:
            continue
        base_ref, base = agreed_values.get(contact.id, ("", None))
        if base is None or base_ref != ref:
            changed_ours = changed_theirs = True
        else:
            changed_ours = any(our_values[f] != base.get(f, "") for f in SYNC_FIELDS)
            changed_theirs = any(their_values[f] != base.get(f, "") for f in SYNC_FIELDS)
        rows.append(
            SyncRow(
                contact_id=contact.id,
                role=ContactRole(contact.kind.value),
                account_ref=contact.account_ref,
                our_name=contact.name,
                their_ref=ref,
                their_name=remote.name or link_name,
                ours=our_values,
                theirs=their_values,
                differing=differing,
                changed_ours=changed_ours,
                changed_theirs=changed_theirs,
                **_bridge_words(bridged.get(contact.id)),
            )
        )
    return rows


def _bridge_words(state: sync_handover.UpdateState | None) -> dict[str, str]:
    if state is None:
        return {}
    if state.state == sync_handover.HANDED_OVER:
        return {"waiting": state.words}
    return {"refused": state.words}


def apply_sync(
    session_factory: sessionmaker[Session],
    connector: Connector,
    rows: Iterable[SyncRow],
    choices: Mapping[int, Direction],
    *,
    actor: str,
) -> SyncOutcome:
    """Write each row the way the user chose (``choices`` by contact id; a row not in it
    is left as is). A conflict goes only where ``choices`` names it: never by default."""
    info = connector.info
    with session_factory() as session:
        if not sync_enabled(session, info.key):
            raise SyncNotAllowed(
                f"Contact sync is off for {info.name}: switch it on first "
                "(`ledgerlink sync enable`)."
            )
    rows = list(rows)
    writes = [
        row
        for row in rows
        if choices.get(row.contact_id) is Direction.OURS_TO_PACKAGE
        and not row.waiting
        and info.can_update_contacts
    ]
    # A desktop bridge reads its lists and writes its file once for all of them; other
    # packages write each one as its answer is taken below.
    answers = connector.update_contacts([(r.their_ref, ContactUpdate(**r.ours)) for r in writes])
    outcome = SyncOutcome()
    handed: list[tuple[SyncRow, HandedOver]] = []
    for row in rows:
        direction = choices.get(row.contact_id, Direction.LEAVE)
        label = f"{row.role.value.capitalize()} “{row.our_name}” ({row.account_ref})"
        if direction is Direction.LEAVE:
            outcome.left += 1
            continue
        if direction is Direction.OURS_TO_PACKAGE:
            if row.waiting:
                outcome.left += 1  # handed over already: never twice
                continue
            if not info.can_update_contacts:
                outcome.failed.append(
                    (label, f"{info.name} does not let Ledgerlink change a contact's details.")
                )
                continue
            now = next(answers)
            if isinstance(now, Rejected):
                outcome.failed.append((label, f"{now.reason} {now.fix}"))
                continue
            if isinstance(now, ConnectorError):
                outcome.failed.append((label, str(now)))
                continue
            if isinstance(now, HandedOver):
                handed.append((row, now))
                outcome.handed_over += 1
                continue
            agreed = _values(now)
            outcome.to_package += 1
        else:
            agreed = dict(row.theirs)
            outcome.to_ours += 1
        with session_factory.begin() as session:
            if direction is Direction.PACKAGE_TO_OURS:
                contact = session.get(Contact, row.contact_id)
                if contact is None:
                    continue
                for name, value in agreed.items():
                    setattr(contact, name, value)
            remember_agreed(session, info.key, row.contact_id, row.their_ref, agreed)
            record_event(
                session,
                actor=actor,
                action="contact_synced",
                package=info.key,
                record_type=row.role.value,
                record_id=row.contact_id,
                direction=direction.value,
                fields={f: {"ours": row.ours[f], "theirs": row.theirs[f]} for f in row.differing},
            )
    if handed:
        # A desktop bridge wrote its file for all of them at once: they are recorded
        # together too, so a failure here leaves none recorded rather than some (the
        # next sync offers them again; an update handed over twice sets the same values).
        with session_factory.begin() as session:
            for row, now in handed:
                sync_handover.hand_over(
                    session,
                    info.key,
                    contact_id=row.contact_id,
                    remote_ref=row.their_ref,
                    role=row.role.value,
                    sent=row.ours,
                    handed=now,
                    actor=actor,
                )
    record_agreement(session_factory, connector, actor=actor)
    return outcome


def describe_row(row: SyncRow) -> list[str]:
    """A row in words, for the command line: both names, each difference, the offer."""
    who = f"{row.role.value.capitalize()} {row.account_ref} “{row.our_name}”"
    if row.names_differ:
        who += f" ↔ {row.their_ref} “{row.their_name}” (linked to a different name: kept)"
    else:
        who += f" ↔ {row.their_ref}"
    lines = [who]
    for name in row.differing:
        lines.append(
            f"    {FIELD_WORDS[name]}: ours “{row.ours[name]}”, package “{row.theirs[name]}”"
        )
    if row.waiting:
        lines.append(f"    ours handed over, waiting for the package: {row.waiting}")
    elif row.refused:
        lines.append(f"    the package refused our last values: {row.refused}")
    if row.conflict:
        lines.append("    changed on both sides: choose a direction yourself")
    else:
        side = "ours" if row.changed_ours else "the package's"
        lines.append(f"    only {side} changed: offered {row.offered.value.replace('_', ' ')}")
    return lines


@dataclass(frozen=True)
class SyncState:
    """What the Keep contacts in step page shows: whether sync is on for the package,
    and the linked contacts whose details differ."""

    enabled: bool
    rows: list[SyncRow]


def load_sync(session_factory: sessionmaker[Session], connector: Connector) -> SyncState:
    """Whether sync is on for ``connector``'s package, and the rows that differ."""
    rows = sync_rows(session_factory, connector)
    with session_factory() as session:
        return SyncState(sync_enabled(session, connector.info.key), rows)


def switch_sync(
    session_factory: sessionmaker[Session], connector: Connector, on: bool, *, actor: str
) -> int:
    """Turn sync on or off for ``connector``'s package; turning it on records where the
    two sides agree now (returns how many contacts)."""
    with session_factory.begin() as session:
        set_sync_enabled(session, connector.info.key, on, actor=actor)
    return record_agreement(session_factory, connector, actor=actor) if on else 0
