"""Importing customers.csv and suppliers.csv."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from operator import itemgetter, le
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.lookups import batches, one_of
from app.db.models import Contact, ContactKind, RecordType, utcnow
from app.services.importing.csv_reader import ColumnSpec, CsvRow, CsvTable, clean
from app.services.importing.csv_values import (
    EMAIL,
    BadValue,
    CellReader,
    check_email,
    column_length,
)
from app.services.importing.report import AlreadySent, ImportReport
from app.services.importing.support import (
    BulkInsert,
    already_sent,
    changed_fields,
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


#: Rows checked, looked up and written together; the file is never held as rows.
CHUNK_ROWS = 2000


#: A good row: its line and its values, account_ref first, then :attr:`ContactImport.fields`.
_Row = tuple[int, tuple[str, ...]]


class ContactImport:
    """Checks a contacts file against the store, then (if asked) writes it.

    The file is streamed: rows are checked and compared with the store a chunk at a
    time and, when ``write_as_checked`` is set and no problem has been found yet, each
    chunk's new contacts are written at once in the caller's transaction. A problem
    further on stops the writing and the caller rolls the transaction back, so the
    file still goes in whole or not at all; memory holds one chunk of rows and the
    file's account references (for duplicates within the file), never every row.

    Only the columns the file has are compared and written: leaving ``phone`` out of
    the file leaves every known contact's phone as it is.
    """

    def __init__(
        self,
        session: Session,
        table: CsvTable,
        report: ImportReport,
        kind: ContactKind,
        *,
        write_as_checked: bool = False,
    ) -> None:
        self.session = session
        self.table = table
        self.report = report
        self.kind = kind
        self.write_as_checked = write_as_checked
        self.fields = [name for name in FIELDS if table.has(name)]
        self._updates: list[dict[str, Any]] = []
        self._pending_new: list[tuple[str, ...]] = []
        self.tracker = ChangeTracker(session, RecordType(kind.value), report.file)
        self._store_has_any = True
        self._inserter: BulkInsert | None = None

    # ---------------------------------------------------------------- checking

    def check(self) -> None:
        """Read every row and sort it into added, updated, unchanged or already sent (a sent
        contact's new values are listed as pending changes until the user confirms them),
        a chunk at a time, writing each good chunk when ``write_as_checked``; bad values
        go into the report and stop the writing."""
        self._store_has_any = (
            self.session.scalar(select(Contact.id).where(Contact.kind == self.kind).limit(1))
            is not None
        )
        rows = self._read_rows()
        while chunk := list(islice(rows, CHUNK_ROWS)):
            self._check_chunk(chunk)

    def _read_rows(self) -> Iterator[_Row]:
        """The file's good rows; each bad value is reported by line and column.

        A row is first checked as a whole with a few C-level operations; only a row
        that fails that (or has a quoted line break) is read value by value, which
        words each problem.
        """
        table = self.table
        positions = table.positions
        wanted = [positions["account_ref"], *(positions[name] for name in self.fields)]
        pick = itemgetter(*wanted)
        need = max(wanted) + 1
        limits = [_LENGTHS["account_ref"], *(_LENGTHS[name] for name in self.fields)]
        email_at = self.fields.index("email") + 1 if "email" in self.fields else 0
        name_at = self.fields.index("name") + 1
        email_ok = EMAIL.match
        seen: dict[str, int] = {}
        for line, cells in table.records:
            if len(cells) >= need:
                values = tuple(map(str.strip, pick(cells)))
                ref = values[0]
                if (
                    ref
                    and values[name_at]
                    and all(map(le, map(len, values), limits))
                    and (not email_at or not values[email_at] or email_ok(values[email_at]))
                    and ref not in seen
                    and "\r" not in "".join(values)
                ):
                    seen[ref] = line
                    yield line, values
                    continue
            row = self._read_row(line, cells, seen)
            if row is not None:
                yield row

    def _read_row(self, line: int, cells: list[str], seen: dict[str, int]) -> _Row | None:
        """One row value by value, every problem worded and recorded."""
        width = len(cells)
        csv_row = CsvRow(
            line,
            {
                name: clean(cells[position]) if position < width else ""
                for name, position in self.table.positions.items()
            },
        )
        cells_reader = CellReader(self.table, csv_row, self.report)
        ref = cells_reader.text("account_ref", required=True, max_length=_LENGTHS["account_ref"])
        values = tuple(
            cells_reader.text(name, required=name == "name", max_length=_LENGTHS[name])
            for name in self.fields
        )
        email = cells_reader.raw("email")
        if email and "email" not in cells_reader.failed:
            try:
                check_email(email)
            except BadValue as exc:
                cells_reader.fail("email", str(exc))
        if ref and "account_ref" not in cells_reader.failed:
            if ref in seen:
                cells_reader.fail(
                    "account_ref",
                    f'"{ref}" is also on line {seen[ref]}; each account_ref may appear '
                    "only once in a file",
                )
            else:
                seen[ref] = line
        return (line, (ref, *values)) if cells_reader.ok else None

    def _check_chunk(self, rows: list[_Row]) -> None:
        # Into a store with none of this kind (a first import) every row is new; the
        # rows this import wrote itself are never looked up (a ref is once in a file).
        new = self._pending_new
        if not self._store_has_any:
            new.extend(values for _, values in rows)
            self._chunk_done(len(rows))
            return
        existing = self._existing([values[0] for _, values in rows])
        sent = (
            sent_record_ids(
                self.session,
                RecordType(self.kind.value),
                [contact_id for contact_id, _ in existing.values()],
            )
            if existing
            else set()
        )
        if sent:
            self.tracker.load(sent)
        added = 0
        for line, values in rows:
            ref, row_values = values[0], values[1:]
            found = existing.get(ref)
            if found is None:
                new.append(values)
                added += 1
                continue
            contact_id, stored = found
            changed = changed_fields(stored, row_values, self.fields)
            if not changed:
                self.report.unchanged += 1
            elif contact_id in sent and not self.tracker.confirmed(
                contact_id, self._field_changes(stored, row_values, changed)
            ):
                changes = self._field_changes(stored, row_values, changed)
                if self.tracker.known(contact_id, changes) is None:
                    name = dict(zip(self.fields, stored, strict=True)).get("name", "")
                    label = f"{self.kind.value.capitalize()} “{name}” ({ref})"
                    self.tracker.note(contact_id, label, changes)
                self.report.already_sent.append(AlreadySent(line, ref, already_sent(changed)))
            else:
                self._updates.append(
                    {
                        "id": contact_id,
                        "updated_at": utcnow(),
                        **dict(zip(self.fields, row_values, strict=True)),
                    }
                )
                self.report.updated += 1
        self._chunk_done(added)

    def _chunk_done(self, added: int) -> None:
        """Count the chunk's new contacts and write the chunk if nothing is wrong so far."""
        new = self._pending_new
        self.report.added += added
        if self.write_as_checked and not self.report.errors:
            self._flush()
        else:  # nothing will be written: keep no rows
            new.clear()
            self._updates.clear()

    def _existing(self, refs: list[str]) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Known contacts of this kind by account_ref: their id and current values."""
        columns = [getattr(Contact, name) for name in self.fields]
        found: dict[str, tuple[int, tuple[str, ...]]] = {}
        for batch in batches(self.session, refs):
            for contact_id, ref, *values in self.session.execute(
                select(Contact.id, Contact.account_ref, *columns).where(
                    Contact.kind == self.kind, one_of(self.session, Contact.account_ref, batch)
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

    # ----------------------------------------------------------------- writing

    def _flush(self) -> None:
        """Write the new and updated contacts checked so far."""
        if self._pending_new:
            if self._inserter is None:
                blank = {name: "" for name in FIELDS if name not in self.fields}
                self._inserter = BulkInsert(
                    self.session,
                    Contact,
                    ["account_ref", *self.fields],
                    {"kind": self.kind, **blank},
                )
            self._inserter.run(self._pending_new)
            self._pending_new.clear()
        update_rows(self.session, Contact, self._updates)
        self._updates.clear()

    def write(self) -> None:
        """Write what :meth:`check` left to write once the whole file is known to be good
        (the last updates and the pending changes), in the caller's transaction."""
        self.tracker.write("import")
        self._flush()
