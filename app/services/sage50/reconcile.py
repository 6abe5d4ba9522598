"""Reconciliation: Sage 50's own exports are the evidence that it has our records.

Records found in the exports become *confirmed in Sage* (successful, and contacts linked),
and contact sync writes whose new details the Record CSVs show are confirmed too;
records exported but not found are listed with the file and line to import again; where
Sage shows a record differently from what was written (a reference upper-cased or cut, a
name cut short) it is reported. The same Record CSVs refresh the customer and supplier
lists Ledgerlink has from Sage (used for linking, collision checks and the one-time
import), and a nominal list export refreshes the nominal codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, OutboxEntry, RecordType, Sage50Export, SendState, utcnow
from app.services.linking import sync_handover
from app.services.sage50.ledger import PACKAGE
from app.services.sage50.reports import (
    ReportError,
    ReportKind,
    SageAccount,
    SageReport,
    read_report,
)
from app.services.sage50.setup import save_accounts, save_nominal_list
from app.services.sending import handover
from connectors.contract import ContactRole, ContactUpdate
from connectors.sage_50 import references
from connectors.sage_50 import updates as record_updates
from connectors.sage_50.layout import RECORD_COLUMN_OF_FIELD
from connectors.wording import count

_ROLE_TYPE = {ContactRole.CUSTOMER: RecordType.CUSTOMER, ContactRole.SUPPLIER: RecordType.SUPPLIER}
_DOC_TYPES = {
    RecordType.INVOICE: frozenset({"SI"}),
    RecordType.CREDIT_NOTE: frozenset({"SC"}),
    # Sage's import takes receipts on account (SA); allocating one in Sage may show it
    # as a receipt (SR) in later exports.
    RecordType.PAYMENT: frozenset({"SA", "SR"}),
}


@dataclass(frozen=True)
class Finding:
    record_type: str
    reference: str
    file_name: str
    lines: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        """The finding as the CLI's JSON output gives it."""
        return {
            "record_type": self.record_type,
            "reference": self.reference,
            "file": self.file_name,
            "lines": self.lines,
            "detail": self.detail,
        }


@dataclass
class Reconciliation:
    files: list[str] = field(default_factory=list)
    confirmed: list[Finding] = field(default_factory=list)
    missing: list[Finding] = field(default_factory=list)
    changed: list[Finding] = field(default_factory=list)
    #: What the exports refreshed: {"customers": n, "suppliers": n, "nominal codes": n}.
    refreshed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every exported record was found in Sage's export."""
        return not self.missing

    def to_json(self) -> dict[str, object]:
        """The reconciliation as the CLI's JSON output gives it."""
        return {
            "files": self.files,
            "confirmed": [f.to_json() for f in self.confirmed],
            "missing": [f.to_json() for f in self.missing],
            "changed": [f.to_json() for f in self.changed],
            "refreshed": self.refreshed,
            "ok": self.ok,
        }

    def describe(self) -> str:
        """The reconciliation in lines for a person: lists refreshed, records confirmed, those
        Sage shows differently and those to import again."""
        lines = [f"Read {count(len(self.files), 'Sage 50 export')}."]
        for what, n in self.refreshed.items():
            lines.append(f"  {what} list refreshed: {n}")
        lines.append(f"Confirmed in Sage: {len(self.confirmed)}")
        if self.changed:
            lines.append("Sage shows these differently from what was written:")
            lines += [f"  {f.record_type} {f.reference}: {f.detail}" for f in self.changed]
        if self.missing:
            lines.append("Exported but not found in Sage's export (import the file again):")
            lines += [
                f"  {f.record_type} {f.reference}: {f.file_name}, {f.lines}" for f in self.missing
            ]
        return "\n".join(lines)


def _role_of(session: Session, report: SageReport) -> ContactRole:
    """The role of a Record CSV: the one the user said, else the one whose exported
    references it holds."""
    if report.role is not None:
        return report.role
    refs = {a.ref for a in report.accounts}
    hits = {
        role: len(
            refs
            & set(
                session.scalars(
                    select(Sage50Export.reference).where(
                        Sage50Export.record_type == _ROLE_TYPE[role]
                    )
                )
            )
        )
        for role in ContactRole
    }
    best = max(hits, key=lambda role: hits[role])
    if hits[best] == 0 or hits[ContactRole.CUSTOMER] == hits[ContactRole.SUPPLIER]:
        raise ReportError(
            f"{report.path.name}: cannot tell whether this is the Customer or the Supplier "
            "Record CSV; say which (--customers FILE or --suppliers FILE)."
        )
    return best


def _pending(session: Session, record_types: set[RecordType]) -> list[Sage50Export]:
    return list(
        session.scalars(
            select(Sage50Export)
            .join(OutboxEntry, OutboxEntry.id == Sage50Export.outbox_id)
            .where(
                OutboxEntry.state == SendState.HANDED_OVER,
                Sage50Export.record_type.in_(record_types),
            )
            .order_by(Sage50Export.file_name, Sage50Export.first_line)
        )
    )


def _lines(export: Sage50Export) -> str:
    if export.line_count <= 1:
        return f"line {export.first_line}"
    return f"lines {export.first_line}–{export.first_line + export.line_count - 1}"


def _confirm(
    session: Session, export: Sage50Export, remote_id: str, result: Reconciliation, actor: str
) -> None:
    handover.confirm(session, PACKAGE, export.outbox_id, remote_id, actor=actor)
    export.confirmed_at = utcnow()
    result.confirmed.append(
        Finding(export.record_type.value, export.reference, export.file_name, _lines(export))
    )


def _records(
    session: Session, report: SageReport, result: Reconciliation, actor: str
) -> set[RecordType]:
    role = _role_of(session, report)
    save_accounts(session, role, report.accounts, actor=actor)
    result.refreshed[f"{role.value}s"] = len(report.accounts)
    by_ref = {a.ref: a for a in report.accounts}
    for export in _pending(session, {_ROLE_TYPE[role]}):
        written = export.reference
        account = by_ref.get(written)
        if account is None:
            # Sage upper-cases, drops spaces and cuts to 8 characters.
            account = by_ref.get(references.as_sage_keeps_it(written))
        if account is None:
            continue
        if account.ref != written:
            export.sage_value = account.ref
            result.changed.append(
                Finding(
                    export.record_type.value,
                    written,
                    export.file_name,
                    _lines(export),
                    f"written as {written}, Sage has {account.ref}",
                )
            )
        contact = session.get(Contact, export.record_id)
        if contact is not None and account.name and account.name != " ".join(contact.name.split()):
            result.changed.append(
                Finding(
                    export.record_type.value,
                    account.ref,
                    export.file_name,
                    _lines(export),
                    f"name is “{account.name}” in Sage, “{contact.name}” here",
                )
            )
        _confirm(session, export, account.ref, result, actor)
    _confirm_updates(session, role, by_ref, result, actor)
    return {_ROLE_TYPE[role]}


def _confirm_updates(
    session: Session,
    role: ContactRole,
    by_ref: dict[str, SageAccount],
    result: Reconciliation,
    actor: str,
) -> None:
    """Contact sync writes whose new details Sage's export now shows are confirmed (the
    values as Sage holds them become the agreed ones); the others are listed as not yet
    imported."""
    for update in sync_handover.waiting(session, PACKAGE):
        if update.role != role.value:
            continue
        account = by_ref.get(update.remote_ref)
        expected = record_updates.as_sage_reads_it(
            ContactUpdate(**sync_handover.sent_values(update))
        )
        held = record_updates.from_export(account.values) if account is not None else None
        if held is not None and all(held[f] == expected[f] for f in RECORD_COLUMN_OF_FIELD):
            sync_handover.confirm(session, update, actor=actor, now_values=held)
            result.confirmed.append(
                Finding(f"{role.value} details", update.remote_ref, update.location, "")
            )
        else:
            result.missing.append(
                Finding(
                    f"{role.value} details",
                    update.remote_ref,
                    update.location,
                    update.note.partition(":")[0].rpartition(", ")[2],
                    "the new details are not in Sage's export yet",
                )
            )


def _transactions(
    session: Session, report: SageReport, result: Reconciliation, actor: str
) -> set[RecordType]:
    seen: dict[tuple[str, str], str] = {}
    for row in report.transactions:
        seen.setdefault((row.type, row.reference), row.account)
    for export in _pending(session, set(_DOC_TYPES)):
        for kind in _DOC_TYPES[export.record_type]:
            if (kind, export.reference) in seen:
                _confirm(session, export, export.reference, result, actor)
                break
    return set(_DOC_TYPES)


def reconcile(
    session_factory: sessionmaker[Session],
    paths: Sequence[Path],
    *,
    roles: dict[Path, ContactRole] | None = None,
    actor: str,
) -> Reconciliation:
    """Read Sage's exports and confirm, list missing and report changes, all in one
    transaction (nothing changes when a file cannot be read)."""
    reports = [read_report(path, (roles or {}).get(path)) for path in paths]
    result = Reconciliation(files=[str(p) for p in paths])
    covered: set[RecordType] = set()
    with session_factory.begin() as session:
        for report in reports:
            if report.kind is ReportKind.NOMINAL:
                result.refreshed["nominal codes"] = save_nominal_list(
                    session, report.nominals, actor=actor
                )
            elif report.kind is ReportKind.RECORDS:
                covered |= _records(session, report, result, actor)
            else:
                covered |= _transactions(session, report, result, actor)
        session.flush()
        for export in _pending(session, covered):
            result.missing.append(
                Finding(
                    export.record_type.value, export.reference, export.file_name, _lines(export)
                )
            )
    return result
