"""Situation 3's one-time import: the package's customers and suppliers become ours.

Each contact the package holds that we have no link to becomes one of our contacts,
linked to its source (:attr:`~app.db.models.LinkMethod.IMPORTED`), so nothing is ever
sent back as a duplicate. A package contact that is already one of ours (the same
account reference, else exactly the same name, else the same email, and nobody else of
ours fitting) is linked to it instead of being added twice; where more than one of ours
fits, or the package's exact-match rule finds the details differ, nothing is guessed:
it is listed for the Link page. Where one package record serves both roles and the
package says which each is (FreeAgent's clients and suppliers), a record comes in as a
customer, a supplier or both; one the package gives no role is shown for the user to
choose its type, and comes in only once chosen. Running it again adds only contacts that
are new since, and says how many were already here. It works in chunks, each committed
whole (contacts and their links together), so a cancel between chunks leaves nothing
half-written and the next run carries on.

Qt-free: the wizard runs it in a worker and passes a :class:`threading.Event` to cancel.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, Link, LinkMethod
from app.services.linking.matching import OurContact, TheirContact, details_match, email_key
from app.services.linking.package_list import keep_list
from app.services.linking.saving import (
    ChangedElsewhere,
    LinkChange,
    apply_links,
    link_versions,
)
from connectors.contract import (
    Connector,
    ContactRole,
    PackageInfo,
    RemoteContact,
    contacts_with_roles,
)
from connectors.wording import count

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
    """One of the package's contacts, and whether we already have it. ``role`` is
    ``None`` when the package gives the contact no role: the user chooses one."""

    role: ContactRole | None
    ref: str
    name: str
    town: str
    postcode: str
    email: str
    already_here: bool
    #: Which of our contacts it is, when the import will link instead of adding
    #: ("CUS0001, same name"), or why it is left for the Link page ("could be …").
    matches: str = ""
    ambiguous: bool = False

    @property
    def here_text(self) -> str:
        """The "Here already?" column, in words."""
        if self.already_here:
            return "yes, imported before"
        if self.role is None:
            return f"not yet: {self.matches}"
        if self.ambiguous:
            return f"unsure: {self.matches}"
        if self.matches:
            return f"yes, as {self.matches}: will be linked"
        return "no, new"


@dataclass
class PackageContactsPreview:
    package_name: str
    rows: list[PreviewRow]
    #: The package's links when the preview was read: version number by contact id.
    #: An import of this preview refuses to run if they have changed since.
    link_versions: dict[int, int] = field(default_factory=dict)

    def count(self, role: ContactRole, *, new_only: bool = False) -> int:
        """How many of the package's contacts have ``role``; with ``new_only``, only those we do
        not have yet."""
        return sum(1 for r in self.rows if r.role is role and not (new_only and r.already_here))

    @property
    def new(self) -> int:
        """How many of the package's contacts an import would add."""
        return sum(1 for r in self.rows if not r.already_here)

    @property
    def undecided(self) -> int:
        """New contacts the package gives no role: the user chooses customer or supplier."""
        return sum(1 for r in self.rows if r.role is None and not r.already_here)

    @property
    def already_here(self) -> int:
        """How many of the package's contacts we already have."""
        return sum(1 for r in self.rows if r.already_here)


@dataclass
class PackageImportReport:
    package_name: str
    added: Counter[ContactKind] = field(default_factory=Counter)
    already_here: int = 0
    #: Package contacts that were already ours, linked instead of added.
    linked_existing: Counter[ContactKind] = field(default_factory=Counter)
    #: Package contacts left for the Link page: more than one of ours fits, or details
    #: differ where the package needs them equal. Each says which and why.
    ambiguous: list[str] = field(default_factory=list)
    #: Contacts that could not be imported, each with the reason (record and field named).
    skipped: list[str] = field(default_factory=list)
    #: Package contacts with no role there whose type the user has not chosen yet.
    undecided: list[str] = field(default_factory=list)
    cancelled: bool = False
    #: Why the import stopped without (or before finishing) writing: links were
    #: changed by someone else since the preview was read ("" when it was not).
    refused: str = ""

    @property
    def total_added(self) -> int:
        """Customers and suppliers added, together."""
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
        linked = sum(self.linked_existing.values())
        if linked:
            parts.append(
                f"{count(linked, 'contact')} {'was' if linked == 1 else 'were'} already in "
                "Ledgerlink from the job system, so each was linked, not added again."
            )
        if self.ambiguous:
            parts.append(
                f"{count(len(self.ambiguous), 'contact')} could be more than one of yours: "
                "link them on the Link page (see below)."
            )
        if self.undecided:
            parts.append(
                f"{count(len(self.undecided), 'contact')} in {self.package_name} "
                f"{'is' if len(self.undecided) == 1 else 'are'} neither a customer nor a "
                "supplier there yet: choose each one's type in the list, then import again."
            )
        if self.already_here:
            what = "were" if self.already_here != 1 else "was"
            parts.append(
                f"{_n(self.already_here, 'contact')} {what} already here from an earlier "
                "import, so "
                + ("nothing new was added." if not self.total_added else "they were left alone.")
            )
        if not (
            self.total_added
            or self.already_here
            or self.skipped
            or linked
            or self.ambiguous
            or self.undecided
        ):
            parts.append(f"{self.package_name} has no customers or suppliers to import.")
        if self.skipped:
            parts.append(f"{_n(len(self.skipped), 'contact')} could not be imported (see below).")
        if self.cancelled:
            parts.append("Import cancelled: what was imported stays; import again to add the rest.")
        if self.refused:
            parts.append(self.refused)
        return " ".join(parts)


_n = count


def _linked(
    session: Session, package: str, refs: Collection[str] | None = None
) -> set[tuple[ContactKind, str]]:
    """(kind, package reference) of every link to ``package`` (only to the references
    ``refs``, when given): one package record that serves both roles may be linked as a
    customer and not yet as a supplier."""
    query = (
        select(Contact.kind, Link.remote_ref)
        .join(Contact, Contact.id == Link.contact_id)
        .where(Link.package == package)
    )
    if refs is not None:
        query = query.where(Link.remote_ref.in_(refs))
    return {(kind, ref) for kind, ref in session.execute(query)}


def _is_linked(linked: set[tuple[ContactKind, str]], contact: RemoteContact) -> bool:
    return (ContactKind(contact.role.value), contact.ref) in linked


def _linked_anyhow(linked: set[tuple[ContactKind, str]], ref: str) -> bool:
    return any((kind, ref) in linked for kind in ContactKind)


@dataclass
class PackageContacts:
    """What the package holds: each contact once per role it has, and (where one record
    serves both roles) those it gives no role, whose type the user chooses."""

    contacts: list[RemoteContact] = field(default_factory=list)
    undecided: list[RemoteContact] = field(default_factory=list)


#: Why a contact is offered for the user to choose, in the Import page's list.
UNDECIDED_WHY = "no invoices or bills there, so choose customer or supplier"


def read_package_contacts(
    connector: Connector, cancel: threading.Event | None = None
) -> PackageContacts:
    """Every customer, then every supplier, the package holds. Where the package keeps
    one record for both roles and says which each is, a record comes once per role it
    has, and one with neither is ``undecided``."""
    found = PackageContacts()
    with_roles = contacts_with_roles(connector)
    if with_roles is not None:
        for record in with_roles.iter_contacts_with_roles():
            if not record.roles:
                found.undecided.append(record.contact)
            for role in ContactRole:
                if role in record.roles:
                    found.contacts.append(record.as_role(role))
            if cancel is not None and cancel.is_set():
                break
        found.contacts.sort(key=lambda c: list(ContactRole).index(c.role))
        return found
    for role in ContactRole:
        for contact in connector.iter_contacts(role):
            found.contacts.append(contact)
            if cancel is not None and cancel.is_set():
                return found
    return found


def preview_package_contacts(
    session_factory: sessionmaker[Session], connector: Connector
) -> PackageContactsPreview:
    """What an import would bring in: every package contact, marked when already here;
    one the package gives no role comes with ``role=None`` for the user to choose."""
    read = read_package_contacts(connector)
    with session_factory() as session:
        versions = link_versions(session, connector.info.key)
        linked = _linked(session, connector.info.key)
        matches = match_existing(session, connector.info, read.contacts, linked)
    rows = []
    for c in read.contacts:
        found = matches.get((ContactKind(c.role.value), c.ref))
        rows.append(
            PreviewRow(
                c.role,
                c.ref,
                c.name,
                c.town,
                c.postcode,
                c.email,
                _is_linked(linked, c),
                matches=found.describe() if found else "",
                ambiguous=bool(found and found.contact_id is None),
            )
        )
    for c in read.undecided:
        rows.append(
            PreviewRow(
                None,
                c.ref,
                c.name,
                c.town,
                c.postcode,
                c.email,
                _linked_anyhow(linked, c.ref),
                matches=UNDECIDED_WHY,
                ambiguous=True,
            )
        )
    return PackageContactsPreview(connector.info.name, rows, versions)


@dataclass(frozen=True)
class ExistingMatch:
    """Which of our contacts a package contact is: one (``contact_id``), or several
    that fit equally (``contact_id`` is None and ``candidates`` names them)."""

    how: str
    contact_id: int | None
    candidates: tuple[str, ...]
    why_not: str = ""

    def describe(self) -> str:
        """The match in words for the import report: which of our contacts and why, why it could
        not be linked, or the candidates it could be."""
        if self.contact_id is not None:
            return f"{self.candidates[0]}, {self.how}"
        if self.why_not:
            return f"{self.candidates[0]} has {self.how} but {self.why_not}"
        return f"could be {' or '.join(self.candidates)} ({self.how})"


def _ours_by_kind(session: Session, package: str) -> dict[ContactKind, list[OurContact]]:
    """Our contacts not yet linked to ``package``, by kind."""
    linked = select(Link.contact_id).where(Link.package == package)
    ours: dict[ContactKind, list[OurContact]] = {kind: [] for kind in ContactKind}
    for row in session.scalars(select(Contact).where(Contact.id.not_in(linked))):
        ours[row.kind].append(
            OurContact(
                row.id,
                row.account_ref,
                row.name,
                row.address_1,
                row.address_2,
                row.address_3,
                row.town,
                row.county,
                row.postcode,
                row.email,
            )
        )
    return ours


def match_existing(
    session: Session,
    info: PackageInfo,
    contacts: Iterable[RemoteContact],
    linked: set[tuple[ContactKind, str]],
) -> dict[tuple[ContactKind, str], ExistingMatch]:
    """For each package contact not linked yet, which of our unlinked contacts of the
    same kind it is: by account reference, else exact name, else email, the first rule
    that finds anyone deciding. One of ours claimed by two package contacts is a guess
    for both, so both are left ambiguous. Keyed by (kind, package reference)."""
    ours = _ours_by_kind(session, info.key)
    rules: list[tuple[str, Callable[[OurContact], str], Callable[[RemoteContact], str]]] = [
        ("same account reference", lambda o: o.account_ref.upper(), lambda r: r.our_ref.upper()),
        ("same name", lambda o: o.name.strip(), lambda r: r.name.strip()),
        ("same email", lambda o: email_key(o.email), lambda r: email_key(r.email)),
    ]
    indexes: dict[tuple[ContactKind, str], dict[str, list[OurContact]]] = {}
    for kind, contacts_of_kind in ours.items():
        for how, our_key, _ in rules:
            index: dict[str, list[OurContact]] = {}
            for contact in contacts_of_kind:
                key = our_key(contact)
                if key:
                    index.setdefault(key, []).append(contact)
            indexes[(kind, how)] = index
    found: dict[tuple[ContactKind, str], ExistingMatch] = {}
    claimed: Counter[int] = Counter()
    for remote in contacts:
        if _is_linked(linked, remote):
            continue
        kind = ContactKind(remote.role.value)
        here = (kind, remote.ref)
        for how, _, their_key in rules:
            key = their_key(remote)
            fits = indexes[(kind, how)].get(key, []) if key else []
            if not fits:
                continue
            labels = tuple(f"{c.account_ref} “{c.name}”" for c in fits)
            if len(fits) > 1:
                found[here] = ExistingMatch(how, None, labels)
            elif info.exact_match_fields and not details_match(
                info.exact_match_fields, fits[0], TheirContact.of(remote)
            ):
                found[here] = ExistingMatch(
                    how, None, labels, why_not=f"{info.name} needs the details to be equal"
                )
            else:
                found[here] = ExistingMatch(how, fits[0].id, labels)
                claimed[fits[0].id] += 1
            break
    for where, match in list(found.items()):
        if match.contact_id is not None and claimed[match.contact_id] > 1:
            found[where] = ExistingMatch(
                match.how, None, match.candidates, why_not="another package contact fits too"
            )
    return found


class AccountRefs:
    """Our account references for imported contacts: the package's own reference for
    the contact when it has a usable one, else one made from the name (``STONEY01``),
    never one already used by a contact of the same kind."""

    def __init__(self, taken: Iterable[tuple[ContactKind, str]]) -> None:
        self.taken: dict[ContactKind, set[str]] = {kind: set() for kind in ContactKind}
        for kind, ref in taken:
            self.taken[kind].add(ref.upper())

    def make(self, kind: ContactKind, contact: RemoteContact) -> str:
        """A free account reference for ``contact`` of ``kind``, taken so no later contact gets
        it: the package's own reference when usable, else name letters plus a number
        (``STONEY01``)."""
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
    preview: PackageContactsPreview | None = None,
    chosen: Mapping[str, Iterable[ContactRole]] | None = None,
) -> PackageImportReport:
    """Import every package contact we have no link to, linking each to its source.

    ``chosen``: package reference → the roles the user chose for a contact the package
    gives none (from :attr:`PackageContactsPreview.rows` with ``role=None``); one not
    chosen is left out and listed in :attr:`PackageImportReport.undecided`.

    Given the ``preview`` the user saw, nothing is written if any link to the package
    was saved, changed or removed since it was read (someone else was linking):
    ``report.refused`` says so, to reload the preview and import again. Links saved by
    someone else while the import runs refuse the rest the same way (the version
    numbers of the links it changes, and the package contacts it is about to add).
    """
    cancel = cancel or threading.Event()
    info = connector.info
    report = PackageImportReport(info.name)
    read = read_package_contacts(connector, cancel)
    if cancel.is_set():
        report.cancelled = True
        return report
    if contacts_with_roles(connector) is None:
        # The whole list was just read as the link page reads it (role by role): the
        # page's kept copy is brought up to date with it, rather than read again there.
        with session_factory.begin() as session:
            for role in ContactRole:
                listed = (TheirContact.of(c) for c in read.contacts if c.role is role)
                keep_list(session, info.key, role, listed)
    with session_factory() as session:
        versions = link_versions(session, info.key)
        if preview is not None:
            moved = {
                contact_id
                for contact_id in versions.keys() | preview.link_versions.keys()
                if versions.get(contact_id) != preview.link_versions.get(contact_id)
            }
            if moved:
                report.refused = _refusal(session, moved)
                return report
            versions = preview.link_versions
        linked = _linked(session, info.key)
        refs = AccountRefs(
            (row.kind, row.account_ref)
            for row in session.execute(select(Contact.kind, Contact.account_ref))
        )
        contacts = list(read.contacts)
        for contact in read.undecided:
            roles = [r for r in ContactRole if r in set((chosen or {}).get(contact.ref, ()))]
            if _linked_anyhow(linked, contact.ref):
                report.already_here += 1
            elif roles:
                contacts.extend(replace(contact, role=role) for role in roles)
            else:
                report.undecided.append(
                    f"“{contact.name or contact.ref}” ({contact.ref}) in {info.name}: "
                    f"{UNDECIDED_WHY}."
                )
        matches = match_existing(session, info, contacts, linked)
    todo: list[RemoteContact] = []
    to_link: list[LinkChange] = []
    for contact in contacts:
        if _is_linked(linked, contact):
            report.already_here += 1
            continue
        match = matches.get((ContactKind(contact.role.value), contact.ref))
        if match is not None:
            label = f"{contact.role.value.capitalize()} “{contact.name}” ({contact.ref})"
            if match.contact_id is None:
                report.ambiguous.append(
                    f"{label} in {info.name}: {match.describe()}. Link it on the Link page."
                )
            else:
                to_link.append(
                    LinkChange(
                        match.contact_id,
                        contact.ref,
                        contact.name,
                        LinkMethod.AUTO_EXACT,
                        loaded_version=versions.get(match.contact_id, 0),
                    )
                )
                report.linked_existing[ContactKind(contact.role.value)] += 1
            continue
        problem = _problem(contact)
        if problem:
            report.skipped.append(problem)
        else:
            todo.append(contact)
    if to_link:
        try:
            with session_factory.begin() as session:
                apply_links(session, info.key, to_link, actor=actor)
        except ChangedElsewhere as exc:
            report.linked_existing.clear()
            report.refused = _refused_words(str(exc))
            return report
    total = len(todo)
    for start in range(0, total, CHUNK):
        chunk = todo[start : start + CHUNK]
        if progress:
            progress(ImportProgress(start, total, chunk[0].name))
        if cancel.is_set():
            report.cancelled = True
            break
        with session_factory.begin() as session:
            taken = _linked(session, info.key, [remote.ref for remote in chunk])
            if any(_is_linked(taken, remote) for remote in chunk):
                labels = [
                    f"{remote.role.value} “{remote.name}” ({remote.ref})"
                    for remote in chunk
                    if _is_linked(taken, remote)
                ]
                report.refused = _refused_words(str(ChangedElsewhere(labels)))
                break
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
    if progress and not (report.cancelled or report.refused):
        progress(ImportProgress(total, total, ""))
    return report


def _refusal(session: Session, contact_ids: set[int]) -> str:
    """The words for links changed since the preview, naming (some of) the contacts."""
    shown = sorted(contact_ids)[:500]
    named = {
        contact_id: f"{name} ({account_ref})"
        for contact_id, name, account_ref in session.execute(
            select(Contact.id, Contact.name, Contact.account_ref).where(Contact.id.in_(shown))
        )
    }
    labels = [named.get(contact_id, f"contact #{contact_id}") for contact_id in sorted(contact_ids)]
    return _refused_words(str(ChangedElsewhere(labels)))


def _refused_words(message: str) -> str:
    return (
        f"{message} Nothing more was imported: read the package's list again (it shows "
        "their change) and import again."
    )
