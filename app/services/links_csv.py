"""``ledgerlink links export|import``: the link table as CSV, for support staff."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, Link, LinkMethod
from app.services.linking import LinkChange, apply_links
from connectors.contract import PackageInfo

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
    with path.open("w", newline="", encoding="utf-8") as handle:
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


@dataclass
class LinksImportReport:
    file: str
    dry_run: bool
    linked: int = 0
    unlinked: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
            "ok": self.ok,
        }


def import_links(
    session_factory: sessionmaker[Session],
    info: PackageInfo,
    path: Path,
    *,
    dry_run: bool = False,
    actor: str = "cli",
) -> LinksImportReport:
    """Read ``kind, account_ref, package_ref`` rows and save them all, or none.

    ``package_ref`` may be the raw reference or the package's web address for the
    contact; a blank one unlinks. Other columns (as written by the export) are ignored.
    """
    report = LinksImportReport(file=str(path), dry_run=dry_run)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in ("kind", "account_ref", "package_ref") if c not in header]
        if missing:
            report.errors.append(f"line 1: missing column(s) {', '.join(missing)}")
            return report
        rows = [
            (n, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k})
            for n, row in enumerate(reader, start=2)
        ]
    with session_factory() as session:
        contacts = {(c.kind.value, c.account_ref): c for c in session.scalars(select(Contact))}
        changes: list[LinkChange] = []
        seen: dict[int, int] = {}
        for line, row in rows:
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
            raw = row["package_ref"]
            parsed = info.reference.parse(raw) if raw else None
            if raw and parsed is None:
                report.errors.append(
                    f'line {line}, column "package_ref": “{raw}” is not a {info.name} '
                    f"reference. {info.reference.describe_expected()}"
                )
                continue
            changes.append(
                LinkChange(
                    contact_id=contact.id,
                    remote_ref=parsed.reference if parsed else "",
                    remote_name=row.get("package_name", ""),
                    method=LinkMethod.CSV,
                )
            )
        if report.errors:
            return report
        result = apply_links(session, info.key, changes, actor=actor)
        report.linked, report.unlinked = result.linked, result.unlinked
        report.unchanged, report.warnings = result.unchanged, result.warnings
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report
