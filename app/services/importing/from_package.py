"""Situation 3's one-time import: the package's customers and suppliers become ours.

Each contact the package holds that we have no link to becomes one of our contacts,
linked to its source (:attr:`~app.db.models.LinkMethod.IMPORTED`), so nothing is ever
sent back as a duplicate. Running it again adds only contacts that are new since, and
says how many were already here. It works in chunks, each committed whole (contacts and
their links together), so a cancel between chunks leaves nothing half-written and the
next run carries on.

Qt-free: the wizard runs it in a worker and passes a :class:`threading.Event` to cancel.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, Link, LinkMethod
from app.services.linking.saving import LinkChange, apply_links
from connectors.contract import Connector, ContactRole, RemoteContact

CHUNK = 200
ACCOUNT_REF_MAX = 32
#: Our contact columns and their lengths (see :class:`~app.db.models.Contact`).
FIELD_LIMITS: dict[str, int] = {
    "name": 200,
    "contact_name": 200,
    "address_1": 200,
    "address_2": 200,
    "address_3": 200,
    "town": 100,
    "county": 100,
    "postcode": 16,
    "email": 254,
    "phone": 40,
}
FIELD_WORDS = {
    "name": "name",
    "contact_name": "contact name",
    "address_1": "address line 1",
    "address_2": "address line 2",
    "address_3": "address line 3",
    "town": "town",
    "county": "county",
    "postcode": "postcode",
    "email": "email address",
    "phone": "phone number",
}
_NOT_REF = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True)
class ImportProgress:
    done: int
    total: int
    current: str


@dataclass(frozen=True)
class PreviewRow:
    """One of the package's contacts, and whether we already have it."""

    role: ContactRole
    ref: str
    name: str
    town: str
    postcode: str
    email: str
    already_here: bool


@dataclass
class PackageContactsPreview:
    package_name: str
    rows: list[PreviewRow]

    def count(self, role: ContactRole, *, new_only: bool = False) -> int:
        return sum(1 for r in self.rows if r.role is role and not (new_only and r.already_here))

    @property
    def new(self) -> int:
        return sum(1 for r in self.rows if not r.already_here)

    @property
    def already_here(self) -> int:
        return sum(1 for r in self.rows if r.already_here)


@dataclass
class PackageImportReport:
    package_name: str
    added: Counter[ContactKind] = field(default_factory=Counter)
    already_here: int = 0
    #: Contacts that could not be imported, each with the reason (record and field named).
    skipped: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    def describe(self) -> str:
        """One paragraph for the page."""
        customers = self.added[ContactKind.CUSTOMER]
        suppliers = self.added[ContactKind.SUPPLIER]
        parts: list[str] = []
        if self.total_added:
            parts.append(
                f"Imported {_n(customers, 'customer')} and {_n(suppliers, 'supplier')} from "
                f"{self.package_name}, each linked to its record there."
            )
        if self.already_here:
            what = "were" if self.already_here != 1 else "was"
            parts.append(
                f"{_n(self.already_here, 'contact')} {what} already here from an earlier "
                "import, so "
                + ("nothing new was added." if not self.total_added else "they were left alone.")
            )
        if not self.total_added and not self.already_here and not self.skipped:
            parts.append(f"{self.package_name} has no customers or suppliers to import.")
        if self.skipped:
            parts.append(f"{_n(len(self.skipped), 'contact')} could not be imported (see below).")
        if self.cancelled:
            parts.append("Import cancelled: what was imported stays; import again to add the rest.")
        return " ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _linked_refs(session: Session, package: str) -> set[str]:
    return set(session.scalars(select(Link.remote_ref).where(Link.package == package)))


def read_package_contacts(
    connector: Connector, cancel: threading.Event | None = None
) -> list[RemoteContact]:
    """Every customer, then every supplier, the package holds."""
    contacts: list[RemoteContact] = []
    for role in ContactRole:
        for contact in connector.iter_contacts(role):
            contacts.append(contact)
            if cancel is not None and cancel.is_set():
                return contacts
    return contacts


def preview_package_contacts(
    session_factory: sessionmaker[Session], connector: Connector
) -> PackageContactsPreview:
    """What an import would bring in: every package contact, marked when already here."""
    contacts = read_package_contacts(connector)
    with session_factory() as session:
        linked = _linked_refs(session, connector.info.key)
    rows = [
        PreviewRow(c.role, c.ref, c.name, c.town, c.postcode, c.email, c.ref in linked)
        for c in contacts
    ]
    return PackageContactsPreview(connector.info.name, rows)


class AccountRefs:
    """Our account references for imported contacts: the package's own reference for
    the contact when it has a usable one, else one made from the name (``STONEY01``),
    never one already used by a contact of the same kind."""

    def __init__(self, taken: Iterable[tuple[ContactKind, str]]) -> None:
        self.taken: dict[ContactKind, set[str]] = {kind: set() for kind in ContactKind}
        for kind, ref in taken:
            self.taken[kind].add(ref.upper())

    def make(self, kind: ContactKind, contact: RemoteContact) -> str:
        taken = self.taken[kind]
        own = contact.our_ref.strip()
        if own and len(own) <= ACCOUNT_REF_MAX and own.upper() not in taken:
            taken.add(own.upper())
            return own
        base = _NOT_REF.sub("", contact.name.upper())[:6] or kind.value[:3].upper()
        number = 1
        while True:
            candidate = f"{base}{number:02d}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate
            number += 1


def _problem(contact: RemoteContact) -> str | None:
    label = f"{contact.role.value.capitalize()} “{contact.name or contact.ref}” ({contact.ref})"
    if not contact.name.strip():
        return f"{label} has no name in the package; give it one there and import again."
    for name, limit in FIELD_LIMITS.items():
        value: str = getattr(contact, name)
        if len(value) > limit:
            return (
                f"{label}: its {FIELD_WORDS[name]} is {len(value)} characters long and "
                f"Ledgerlink keeps at most {limit}. Shorten it in the package and import again."
            )
    return None


def _contact(kind: ContactKind, account_ref: str, remote: RemoteContact) -> Contact:
    return Contact(
        kind=kind,
        account_ref=account_ref,
        name=remote.name.strip(),
        contact_name=remote.contact_name,
        address_1=remote.address_1,
        address_2=remote.address_2,
        address_3=remote.address_3,
        town=remote.town,
        county=remote.county,
        postcode=remote.postcode,
        email=remote.email,
        phone=remote.phone,
    )


def import_package_contacts(
    session_factory: sessionmaker[Session],
    connector: Connector,
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    actor: str = "user",
) -> PackageImportReport:
    """Import every package contact we have no link to, linking each to its source."""
    cancel = cancel or threading.Event()
    info = connector.info
    report = PackageImportReport(info.name)
    contacts = read_package_contacts(connector, cancel)
    if cancel.is_set():
        report.cancelled = True
        return report
    with session_factory() as session:
        linked = _linked_refs(session, info.key)
        refs = AccountRefs(
            (row.kind, row.account_ref)
            for row in session.execute(select(Contact.kind, Contact.account_ref))
        )
    todo: list[RemoteContact] = []
    for contact in contacts:
        if contact.ref in linked:
            report.already_here += 1
            continue
        problem = _problem(contact)
        if problem:
            report.skipped.append(problem)
        else:
            todo.append(contact)
    total = len(todo)
    for start in range(0, total, CHUNK):
        chunk = todo[start : start + CHUNK]
        if progress:
            progress(ImportProgress(start, total, chunk[0].name))
        if cancel.is_set():
            report.cancelled = True
            break
        with session_factory.begin() as session:
            made: list[tuple[Contact, RemoteContact]] = []
            for remote in chunk:
                kind = ContactKind(remote.role.value)
                ours = _contact(kind, refs.make(kind, remote), remote)
                session.add(ours)
                made.append((ours, remote))
            session.flush()
            changes = [
                LinkChange(c.id, remote.ref, remote.name, LinkMethod.IMPORTED) for c, remote in made
            ]
            apply_links(session, info.key, changes, actor=actor)
        for ours, _ in made:
            report.added[ours.kind] += 1
    if progress and not report.cancelled:
        progress(ImportProgress(total, total, ""))
    return report
