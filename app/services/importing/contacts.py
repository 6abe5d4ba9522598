"""Importing customers.csv and suppliers.csv."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Contact, ContactKind, RecordType, utcnow
from app.services.importing.csv_reader import ColumnSpec, CsvTable
from app.services.importing.csv_values import BadValue, CellReader, check_email, column_length
from app.services.importing.report import AlreadySent, ImportReport
from app.services.importing.support import (
    already_sent,
    changed_fields,
    chunked,
    insert_rows,
    sent_record_ids,
    update_rows,
)
from app.services.sending.pending_changes import ChangeTracker, FieldChange

#: The contact fields a file may set, in the order of the documented layout.
FIELDS: tuple[str, ...] = (
    "name",
    "contact_name",
    "address_1",
    "address_2",
    "address_3",
    "town",
    "county",
    "postcode",
    "email",
    "phone",
)

COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("account_ref", required=True),
    ColumnSpec("name", required=True),
    *(ColumnSpec(name) for name in FIELDS[1:]),
)

_LENGTHS = {name: column_length(Contact, name) for name in ("account_ref", *FIELDS)}


@dataclass(frozen=True)
class _Row:
    line: int
    ref: str
    values: tuple[str, ...]


class ContactImport:
    """Checks a contacts file against the store, then (if asked) writes it.

    Only the columns the file has are compared and written: leaving ``phone`` out of
    the file leaves every known contact's phone as it is.
    """

    def __init__(
        self, session: Session, table: CsvTable, report: ImportReport, kind: ContactKind
    ) -> None:
        self.session = session
        self.table = table
        self.report = report
        self.kind = kind
        self.fields = [name for name in FIELDS if table.has(name)]
        self._new: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self.tracker = ChangeTracker(session, RecordType(kind.value), report.file)

    def check(self) -> None:
        """Read every row and sort it into added, updated, unchanged or already sent (a sent
        contact's new values are listed as pending changes until the user confirms them); bad
        values go into the report and nothing is written."""
        rows = self._read_rows()
        existing = self._existing({row.ref for row in rows})
        sent = sent_record_ids(
            self.session,
            RecordType(self.kind.value),
            [contact_id for contact_id, _ in existing.values()],
        )
        self.tracker.load(sent)
        for row in rows:
            found = existing.get(row.ref)
            if found is None:
                self._new.append(
                    {
                        "kind": self.kind,
                        "account_ref": row.ref,
                        **dict(zip(self.fields, row.values, strict=True)),
                    }
                )
                self.report.added += 1
                continue
            contact_id, stored = found
            changed = changed_fields(stored, row.values, self.fields)
            if not changed:
                self.report.unchanged += 1
            elif contact_id in sent and not self.tracker.confirmed(
                contact_id, self._field_changes(stored, row.values, changed)
            ):
                changes = self._field_changes(stored, row.values, changed)
                if self.tracker.known(contact_id, changes) is None:
                    name = dict(zip(self.fields, stored, strict=True)).get("name", "")
                    label = f"{self.kind.value.capitalize()} “{name}” ({row.ref})"
                    self.tracker.note(contact_id, label, changes)
                self.report.already_sent.append(
                    AlreadySent(row.line, row.ref, already_sent(changed))
                )
            else:
                self._updates.append(
                    {
                        "id": contact_id,
                        "updated_at": utcnow(),
                        **dict(zip(self.fields, row.values, strict=True)),
                    }
                )
                self.report.updated += 1

    def _read_rows(self) -> list[_Row]:
        seen: dict[str, int] = {}
        rows: list[_Row] = []
        for csv_row in self.table.rows:
            cells = CellReader(self.table, csv_row, self.report)
            ref = cells.text("account_ref", required=True, max_length=_LENGTHS["account_ref"])
            values = tuple(
                cells.text(name, required=name == "name", max_length=_LENGTHS[name])
                for name in self.fields
            )
            email = cells.raw("email")
            if email and "email" not in cells.failed:
                try:
                    check_email(email)
                except BadValue as exc:
                    cells.fail("email", str(exc))
            if ref and "account_ref" not in cells.failed:
                if ref in seen:
                    cells.fail(
                        "account_ref",
                        f'"{ref}" is also on line {seen[ref]}; each account_ref may appear '
                        "only once in a file",
                    )
                else:
                    seen[ref] = csv_row.line
            if cells.ok:
                rows.append(_Row(csv_row.line, ref, values))
        return rows

    def _existing(self, refs: set[str]) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Known contacts of this kind by account_ref: their id and current values."""
        columns = [getattr(Contact, name) for name in self.fields]
        found: dict[str, tuple[int, tuple[str, ...]]] = {}
        for batch in chunked(sorted(refs)):
            for contact_id, ref, *values in self.session.execute(
                select(Contact.id, Contact.account_ref, *columns).where(
                    Contact.kind == self.kind, Contact.account_ref.in_(batch)
                )
            ):
                found[ref] = (contact_id, tuple(values))
        return found

    def _field_changes(
        self, stored: tuple[str, ...], values: tuple[str, ...], changed: list[str]
    ) -> list[FieldChange]:
        before = dict(zip(self.fields, stored, strict=True))
        after = dict(zip(self.fields, values, strict=True))
        return [FieldChange(name, before[name], after[name]) for name in changed]

    def write(self) -> None:
        """Write what :meth:`check` planned: new contacts, updated ones and the pending changes,
        in the caller's transaction."""
        self.tracker.write("import")
        insert_rows(self.session, Contact, self._new)
        update_rows(self.session, Contact, self._updates)
