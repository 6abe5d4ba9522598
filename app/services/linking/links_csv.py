"""``ledgerlink links export|import``: the link table as CSV, for support staff.

The file is read by the one CSV reader (:mod:`app.services.importing.csv_reader`), so a
links file re-saved by Excel (Windows-1252, semicolons, UTF-16) reads as the data
import does, and a damaged one is refused by line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, Link, LinkMethod
from app.private_files import open_private
from app.services.importing.csv_reader import ColumnSpec, read_csv
from app.services.linking.matching import (
    PackageIndex,
    Reading,
    ReferenceReading,
    TheirContact,
    compare_exact,
    exact_columns,
    read_reference,
)
from app.services.linking.saving import (
    ChangedElsewhere,
    LinkChange,
    apply_links,
    link_versions,
)
from connectors.contract import Connector, ContactRole, PackageInfo

EXPORT_COLUMNS = (
    "kind",
    "account_ref",
    "name",
    "package",
    "package_ref",
    "package_name",
    "method",
    "linked_at",
)


def export_links(session: Session, package: str, path: Path) -> int:
    """Write every contact with its link (blank when unlinked); returns rows written."""
    links = {
        link.contact_id: link
        for link in session.scalars(select(Link).where(Link.package == package))
    }
    rows = 0
    with open_private(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for contact in session.scalars(select(Contact).order_by(Contact.kind, Contact.account_ref)):
            link = links.get(contact.id)
            writer.writerow(
                [
                    contact.kind.value,
                    contact.account_ref,
                    contact.name,
                    package,
                    link.remote_ref if link else "",
                    link.remote_name if link else "",
                    link.method.value if link else "",
                    link.linked_at.isoformat() if link else "",
                ]
            )
            rows += 1
    return rows


#: What ``links import`` reads (the export's other columns are known, and left alone).
IMPORT_COLUMNS = tuple(
    ColumnSpec(name, required=name in ("kind", "account_ref", "package_ref"))
    for name in EXPORT_COLUMNS
)


@dataclass(frozen=True)
class SharedReference:
    """One package contact that the file would link to more than one of our contacts."""

    kind: str
    package_ref: str
    contacts: tuple[str, ...]
    lines: tuple[int, ...]

    def describe(self, package_name: str) -> str:
        """One line for people."""
        return (
            f"{package_name}'s {self.package_ref} would be linked to more than one "
            f"{self.kind}: {' and '.join(self.contacts)} (line "
            f"{', '.join(str(n) for n in self.lines)})"
        )

    def to_json(self) -> dict[str, Any]:
        """``{kind, package_ref, contacts, lines}``."""
        return {
            "kind": self.kind,
            "package_ref": self.package_ref,
            "contacts": list(self.contacts),
            "lines": list(self.lines),
        }


@dataclass
class LinksImportReport:
    """What ``links import`` found and did; nothing is written unless ``ok``."""

    file: str
    dry_run: bool
    linked: int = 0
    unlinked: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    shared: list[SharedReference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file had no errors, so its links may be saved."""
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """The report as ``links import --json`` prints it."""
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
            "shared_references": [shared.to_json() for shared in self.shared],
            "ok": self.ok,
        }


@dataclass(frozen=True)
class _Row:
    line: int
    contact: Contact
    reading: ReferenceReading
    package_name: str


def import_links(
    session_factory: sessionmaker[Session],
    info: PackageInfo,
    path: Path,
    *,
    dry_run: bool = False,
    actor: str = "cli",
    connector_factory: Callable[[], Connector] | None = None,
    allow_shared_reference: bool = False,
) -> LinksImportReport:
    """Read ``kind, account_ref, package_ref`` rows and save them all, or none.

    ``package_ref`` may be the raw reference or the package's web address for the
    contact; a blank one unlinks. Other columns (as written by the export) are ignored.

    The references are read and checked as the link grid does. With a
    ``connector_factory`` the package is asked too: each reference must be one of its
    contacts (in the package's own spelling), a web address carrying the package's
    other number (Sage) is looked up, and where the package requires our details to
    equal its own (Sage Business Cloud) a link whose details differ is refused.

    Linking one package contact to two of our contacts of one kind sends both one's
    documents to that one record, so it is refused unless ``allow_shared_reference``
    says they are the same business; either way ``report.shared`` lists each such pair.

    If someone else links, re-links or unlinks one of the file's contacts between the
    file being read and the links being saved (asking the package takes a while), the
    whole file is refused with "changed by someone else — reload" (the links' version
    numbers), never overwriting their change.

    A connector error (for example, not signed in) is raised for the caller to word.
    """
    report = LinksImportReport(file=str(path), dry_run=dry_run)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        report.errors.append(f"{path} cannot be read: {exc.strerror or exc}")
        return report
    table, problems = read_csv(data, IMPORT_COLUMNS)
    report.errors.extend(str(problem) for problem in problems)
    if table is None or report.errors:
        return report
    raw_rows = [(row.line, row.values) for row in table.rows]
    with session_factory() as session:
        can_look_up = connector_factory is not None
        rows = _read_rows(session, info, raw_rows, report, can_look_up=can_look_up)
        if report.errors:
            return report
        # The links as they are now, when the file is read: asking the package takes a
        # while, and a link someone else saves meanwhile must not be overwritten.
        versions = link_versions(session, info.key, [row.contact.id for row in rows])
        found: dict[int, tuple[str, str]] = {}
        if connector_factory is not None:
            found = _check_with_package(info, rows, connector_factory, report)
            if report.errors:
                return report
        changes: list[LinkChange] = []
        for row in rows:
            # The package's spelling and name where it was asked, else the file's.
            ref, name = found.get(row.line, (row.reading.value, row.package_name))
            changes.append(
                LinkChange(
                    row.contact.id,
                    ref,
                    name,
                    LinkMethod.CSV,
                    loaded_version=versions.get(row.contact.id, 0),
                )
            )
        report.shared = _shared_references(session, info, changes, rows)
        if report.shared and not allow_shared_reference:
            report.errors.extend(
                f'line {shared.lines[0]}, column "package_ref": '
                f"{shared.describe(info.name)}, so the documents of all of them would go to that "
                "one record. If they are the same business, run again with "
                "--allow-shared-reference (in the window: answer yes to the link grid's "
                f'"Are these the same {shared.kind}?"); otherwise correct the reference.'
                for shared in report.shared
            )
            return report
        report.warnings.extend(shared.describe(info.name) for shared in report.shared)
        try:
            result = apply_links(session, info.key, changes, actor=actor)
        except ChangedElsewhere as exc:
            session.rollback()
            report.errors.append(
                f"{exc} Nothing from the file was saved: export the links again to see "
                "the change, correct the file and import it again."
            )
            return report
        report.linked, report.unlinked = result.linked, result.unlinked
        report.unchanged = result.unchanged
        report.warnings.extend(result.warnings)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


def _read_rows(
    session: Session,
    info: PackageInfo,
    raw_rows: list[tuple[int, dict[str, str]]],
    report: LinksImportReport,
    *,
    can_look_up: bool,
) -> list[_Row]:
    contacts = {(c.kind.value, c.account_ref): c for c in session.scalars(select(Contact))}
    rows: list[_Row] = []
    seen: dict[int, int] = {}
    for line, row in raw_rows:
        if not any(row.values()):
            continue
        kind = row["kind"].lower()
        if kind not in {k.value for k in ContactKind}:
            report.errors.append(
                f'line {line}, column "kind": “{row["kind"]}” must be customer or supplier'
            )
            continue
        contact = contacts.get((kind, row["account_ref"]))
        if contact is None:
            report.errors.append(
                f'line {line}, column "account_ref": no {kind} with account reference '
                f"“{row['account_ref']}”"
            )
            continue
        if contact.id in seen:
            report.errors.append(
                f'line {line}, column "account_ref": {row["account_ref"]} is already on '
                f"line {seen[contact.id]}"
            )
            continue
        seen[contact.id] = line
        reading = read_reference(info, row["package_ref"])
        where = f'line {line}, column "package_ref"'
        if reading.kind is Reading.INVALID:
            report.errors.append(f"{where}: {reading.message}")
            continue
        if reading.kind is Reading.NEEDS_LOOKUP and not can_look_up:
            report.errors.append(
                f"{where}: this {info.name} web address carries {info.name}'s number "
                f"{reading.value}, which Ledgerlink must look up in {info.name}. Connect to "
                f"{info.name} first, or give the {info.reference.label} instead "
                f"(for example {info.reference.example})."
            )
            continue
        rows.append(_Row(line, contact, reading, row.get("package_name", "")))
    return rows


def _check_with_package(
    info: PackageInfo,
    rows: list[_Row],
    connector_factory: Callable[[], Connector],
    report: LinksImportReport,
) -> dict[int, tuple[str, str]]:
    """By line: the reference in the package's own spelling and the package's name for
    it, for every row the package was asked about; problems go to ``report``."""
    found: dict[int, tuple[str, str]] = {}
    columns = exact_columns(info)
    with connector_factory() as connector:
        indexes: dict[str, PackageIndex] = {}
        if info.can_list_contacts:
            for kind in {row.contact.kind.value for row in rows if row.reading.value}:
                contacts = [TheirContact.of(c) for c in connector.iter_contacts(ContactRole(kind))]
                indexes[kind] = PackageIndex(contacts, info)
        for row in rows:
            where = f'line {row.line}, column "package_ref"'
            reading, kind = row.reading, row.contact.kind.value
            theirs: TheirContact | None = None
            if reading.kind is Reading.NEEDS_LOOKUP:
                looked_up = connector.get_contact(reading.value)
                if looked_up is None:
                    report.errors.append(
                        f"{where}: {info.name} found no contact with the web-address number "
                        f"{reading.value}. Give the {info.reference.label} instead, or pick "
                        "the contact by name on the Link page."
                    )
                    continue
                theirs = TheirContact.of(looked_up)
                found[row.line] = (theirs.ref, theirs.name)
            elif reading.kind is Reading.OK and kind in indexes:
                index = indexes[kind]
                position = index.position_of(reading.value)
                if position is None:
                    report.errors.append(f"{where}: {info.name} has no {kind} {reading.value}.")
                    continue
                theirs = index.contacts[position]
                found[row.line] = (index.reference_of(theirs), theirs.name)
            if theirs is None or not columns:
                continue
            differing = [c for c in compare_exact(columns, row.contact, theirs) if not c.equal]
            if differing:
                first = differing[0]
                report.errors.append(
                    f"{where}: {row.contact.name} ({row.contact.account_ref}): "
                    f"{first.label.lower()} is “{first.ours}” here but “{first.theirs}” in "
                    f"{info.name}, and {info.name} only accepts a link when they match "
                    "exactly, capital letters included. Correct one of the two (the link "
                    f"grid can copy {info.name}'s spelling)."
                )
    return found


def _shared_references(
    session: Session, info: PackageInfo, changes: list[LinkChange], rows: list[_Row]
) -> list[SharedReference]:
    """Each package reference this file would link to more than one of our contacts of
    one kind (links made before and left alone by the file are not reported again)."""
    line_of = {row.contact.id: row.line for row in rows}
    refs = {
        contact_id: ref
        for contact_id, ref in session.execute(
            select(Link.contact_id, Link.remote_ref).where(Link.package == info.key)
        )
    }
    touched = {
        change.contact_id
        for change in changes
        if change.remote_ref and refs.get(change.contact_id) != change.remote_ref
    }
    refs.update({change.contact_id: change.remote_ref for change in changes})
    owners: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for contact_id, kind, name, account_ref in session.execute(
        select(Contact.id, Contact.kind, Contact.name, Contact.account_ref).order_by(
            Contact.account_ref
        )
    ):
        ref = refs.get(contact_id)
        if ref:
            owners.setdefault((kind.value, ref), []).append((contact_id, f"{name} ({account_ref})"))
    return [
        SharedReference(
            kind,
            ref,
            tuple(label for _, label in members),
            tuple(sorted(line_of[c] for c, _ in members if c in line_of)),
        )
        for (kind, ref), members in sorted(owners.items())
        if len(members) > 1 and any(c in touched for c, _ in members)
    ]
