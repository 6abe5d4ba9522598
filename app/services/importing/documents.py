"""Importing invoices.csv and credit_notes.csv: one row per line, grouped by number."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.lookups import batches, one_of
from app.db.models import (
    AccountKind,
    Document,
    DocumentKind,
    DocumentLine,
    Payment,
    PaymentAllocation,
    RecordType,
    utcnow,
)
from app.services.importing.csv_reader import ColumnSpec, CsvRow, CsvTable
from app.services.importing.csv_values import (
    CellReader,
    column_length,
    line_net,
    line_vat,
    money_text,
    percent_text,
)
from app.services.importing.report import ImportReport
from app.services.importing.support import (
    CustomerLookup,
    NominalLookup,
    contact_refs,
    credit_notes_against,
    documents_by_number,
    insert_rows,
    insert_with_ids,
    report_sent_change,
    sent_record_ids,
    sum_by,
    update_rows,
)
from app.services.sending.pending_changes import ChangeTracker, field_changes
from connectors.wording import a_or_an

#: Document-level columns per kind: every row of one document must agree on these.
HEADER_COLUMNS: dict[DocumentKind, tuple[str, ...]] = {
    DocumentKind.INVOICE: ("date", "due_date", "customer_ref", "reference"),
    DocumentKind.CREDIT_NOTE: ("date", "customer_ref", "reference", "original_invoice"),
}
LINE_COLUMNS = ("description", "quantity", "unit_price", "nominal_code", "vat_rate", "vat_amount")
_REQUIRED = {"number", "date", "customer_ref", "description", "quantity", "unit_price", "vat_rate"}

# The stored fields a document's header compares on, in this order.
_STORED = ("date", "due_date", "customer", "reference", "original_invoice")

_NUMBER_LENGTH = column_length(Document, "number")
_LENGTHS = {
    "reference": column_length(Document, "reference"),
    "original_invoice": column_length(Document, "original_invoice_number"),
    "description": column_length(DocumentLine, "description"),
}
_ONE_PENNY = Decimal("0.01")


def columns(kind: DocumentKind) -> tuple[ColumnSpec, ...]:
    """The columns of an invoices or credit notes file."""
    names = ("number", *HEADER_COLUMNS[kind], *LINE_COLUMNS)
    return tuple(ColumnSpec(name, required=name in _REQUIRED) for name in names)


@dataclass(frozen=True)
class _Line:
    line: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    account_id: int
    vat_rate: Decimal
    vat_amount: Decimal

    @property
    def values(self) -> tuple[object, ...]:
        return (
            self.description,
            self.quantity,
            self.unit_price,
            self.account_id,
            self.vat_rate,
            self.vat_amount,
        )

    @property
    def gross(self) -> Decimal:
        return line_net(self.quantity, self.unit_price) + self.vat_amount


@dataclass
class _Draft:
    """One document as the file describes it."""

    number: str
    first_line: int
    header: dict[str, Any]  # usable header values by column
    raw: dict[str, tuple[str, int]]  # each header value as written, and where first seen
    lines: list[_Line] = field(default_factory=list)
    ok: bool = True
    contact_id: int | None = None

    @property
    def gross(self) -> Decimal:
        return sum((line.gross for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class _Stored:
    id: int
    header: tuple[object, ...]  # in the order of _STORED
    lines: tuple[tuple[object, ...], ...]


class DocumentImport:
    """Checks an invoices or credit notes file against the store, then writes it."""

    def __init__(
        self, session: Session, table: CsvTable, report: ImportReport, kind: DocumentKind
    ) -> None:
        self.session = session
        self.table = table
        self.report = report
        self.kind = kind
        self.noun = kind.value.replace("_", " ")
        self._noun = "Invoice" if kind is DocumentKind.INVOICE else "Credit note"
        self.tracker = ChangeTracker(session, RecordType(kind.value), report.file)
        self._new: list[tuple[dict[str, Any], list[_Line]]] = []
        self._updates: list[tuple[dict[str, Any], list[_Line]]] = []

    # ------------------------------------------------------------------- checking

    def check(self) -> None:
        """Read every document with its lines, check customers, nominal codes, credit notes
        against their invoices and changed invoices against their payments, and plan which
        documents are added, replaced or left as sent; bad rows go into the report and nothing
        is written."""
        drafts = self._read_drafts()
        customers = CustomerLookup(
            self.session,
            {d.header["customer_ref"] for d in drafts.values() if "customer_ref" in d.header},
        )
        for draft in drafts.values():
            self._check_document(draft, customers)
        stored = self._stored(drafts)
        sent = sent_record_ids(
            self.session, RecordType(self.kind.value), [s.id for s in stored.values()]
        )
        self.tracker.load(sent)
        # The file's values win for every document that is not already sent.
        replaced = {number for number, s in stored.items() if s.id not in sent}
        to_write = [d for d in drafts.values() if d.number not in stored or d.number in replaced]
        if self.kind is DocumentKind.CREDIT_NOTE:
            self._check_credits(to_write, replaced, customers)
        else:
            self._check_paid(to_write, stored)
        for draft in drafts.values():
            if draft.ok:
                self._plan(draft, stored.get(draft.number), sent)

    def _cells(self, line: int) -> CellReader:
        """A reader for reporting problems that belong to a whole document."""
        return CellReader(self.table, CsvRow(line, {}), self.report)

    def _read_drafts(self) -> dict[str, _Draft]:
        drafts: dict[str, _Draft] = {}
        previous = ""  # the number of the row above, to see that lines are together
        skipping = False  # the rows being read repeat a number used further up
        sales = NominalLookup(self.session, AccountKind.SALES, f"{self.noun} lines")
        header_columns = [c for c in HEADER_COLUMNS[self.kind] if self.table.has(c)]
        for row in self.table.rows:
            cells = CellReader(self.table, row, self.report)
            number = cells.text("number", required=True, max_length=_NUMBER_LENGTH)
            header = self._read_header(cells, header_columns)
            line = self._read_line(cells, sales)
            if not number or "number" in cells.failed:
                continue
            starts_block, previous = number != previous, number
            draft = drafts.get(number)
            if draft is None:
                skipping = False
                draft = _Draft(number, row.line, header, {})
                for name in header:
                    draft.raw[name] = (cells.raw(name), row.line)
                drafts[number] = draft
            elif starts_block:
                skipping = True
                cells.fail(
                    "number",
                    f'{self.noun} "{number}" already appeared above, from line '
                    f"{draft.first_line}; put all lines of one {self.noun} on rows next "
                    f"to each other, or give this one its own number",
                )
            elif not skipping:
                self._compare_header(cells, draft, header)
            if skipping:
                continue
            if line is not None:
                draft.lines.append(line)
            if not cells.ok:
                draft.ok = False
        return drafts

    def _read_header(self, cells: CellReader, header_columns: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in header_columns:
            if name in ("date", "due_date"):
                value: Any = cells.date(name, required=name == "date")
            else:
                value = cells.text(
                    name, required=name == "customer_ref", max_length=_LENGTHS.get(name)
                )
            if name not in cells.failed:
                values[name] = value
        return values

    def _compare_header(self, cells: CellReader, draft: _Draft, header: dict[str, Any]) -> None:
        for name, value in header.items():
            if name not in draft.header or draft.header[name] == value:
                continue
            first, first_line = draft.raw[name]
            cells.fail(
                name,
                f'"{cells.raw(name)}" does not match "{first}" on line {first_line}; every '
                f"line of {self.noun} {draft.number} must have the same {name}",
            )

    def _read_line(self, cells: CellReader, sales: NominalLookup) -> _Line | None:
        description = cells.text("description", required=True, max_length=_LENGTHS["description"])
        quantity = cells.quantity("quantity", required=True)
        unit_price = cells.unit_price("unit_price", required=True)
        account_id = sales.resolve(cells, "nominal_code")
        rate = cells.vat_rate("vat_rate", required=True)
        given_vat = cells.money("vat_amount")
        if quantity is None or unit_price is None or rate is None:
            return None
        net = line_net(quantity, unit_price)
        vat = line_vat(net, rate)
        if given_vat is not None:
            if abs(given_vat - vat) > _ONE_PENNY:
                cells.fail(
                    "vat_amount",
                    f'"{cells.raw("vat_amount")}" is not the VAT on this line: '
                    f"{money_text(net)} at {percent_text(rate)} is {money_text(vat)} "
                    "(it may differ by 1p at most)",
                )
                return None
            vat = given_vat
        if account_id is None or not cells.ok:
            return None
        return _Line(cells.line, description, quantity, unit_price, account_id, rate, vat)

    def _check_document(self, draft: _Draft, customers: CustomerLookup) -> None:
        cells = self._cells(draft.first_line)
        ref = draft.header.get("customer_ref")
        if ref:
            draft.contact_id = customers.customer(cells, "customer_ref", ref)
        date: dt.date | None = draft.header.get("date")
        due: dt.date | None = draft.header.get("due_date")
        if date is not None and due is not None and due < date:
            cells.fail(
                "due_date",
                f"the due date {due.isoformat()} is before the {self.noun} date {date.isoformat()}",
            )
        if draft.ok and draft.gross < 0:
            cells.fail(
                "",
                f"{self.noun} {draft.number} totals {money_text(draft.gross)}; "
                f"{a_or_an(self.noun)} cannot total less than £0.00",
            )
        if not cells.ok:
            draft.ok = False

    def _check_credits(
        self, drafts: list[_Draft], replaced: set[str], customers: CustomerLookup
    ) -> None:
        """A credit note's invoice exists, is the same customer's and is not over-credited."""
        wanted = {d.header["original_invoice"] for d in drafts if d.header.get("original_invoice")}
        invoices = documents_by_number(self.session, DocumentKind.INVOICE, wanted)
        credited = sum_by(
            (invoices[note.original_invoice_number].id, note.gross)
            for note in credit_notes_against(self.session, invoices)
            if note.number not in replaced and note.original_invoice_number in invoices
        )
        invoice_refs = contact_refs(self.session, {i.contact_id for i in invoices.values()})
        for draft in drafts:
            number = draft.header.get("original_invoice")
            if not number:
                continue
            cells = self._cells(draft.raw["original_invoice"][1])
            invoice = invoices.get(number)
            if invoice is None:
                cells.fail(
                    "original_invoice",
                    f'no invoice "{number}" has been imported; import invoices.csv first, or '
                    "leave original_invoice blank",
                )
            elif draft.contact_id is not None and invoice.contact_id != draft.contact_id:
                cells.fail(
                    "original_invoice",
                    f"invoice {number} is for {invoice_refs.get(invoice.contact_id, '?')}, "
                    f"not {draft.header['customer_ref']}",
                )
            elif draft.ok:
                before = credited.get(invoice.id, Decimal("0.00"))
                if before + draft.gross > invoice.gross:
                    cells.fail(
                        "original_invoice",
                        f"credit note {draft.number} totals {money_text(draft.gross)}, but "
                        f"invoice {number} is {money_text(invoice.gross)} and "
                        f"{money_text(before)} of it is already credited",
                    )
                credited[invoice.id] = before + draft.gross
            if not cells.ok:
                draft.ok = False

    def _check_paid(self, drafts: list[_Draft], stored: dict[str, _Stored]) -> None:
        """A changed invoice keeps its payments: not below them, not another customer's."""
        ids = {stored[d.number].id: d for d in drafts if d.number in stored}
        paid: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        payers: dict[int, set[int]] = defaultdict(set)
        for batch in batches(self.session, sorted(ids)):
            for doc_id, amount, contact_id in self.session.execute(
                select(PaymentAllocation.document_id, PaymentAllocation.amount, Payment.contact_id)
                .join(Payment, Payment.id == PaymentAllocation.payment_id)
                .where(one_of(self.session, PaymentAllocation.document_id, batch))
            ):
                paid[doc_id] += amount
                payers[doc_id].add(contact_id)
        for note in credit_notes_against(self.session, {d.number for d in ids.values()}):
            doc_id = stored[note.original_invoice_number].id
            payers[doc_id].add(note.contact_id)
        refs = contact_refs(self.session, {c for contacts in payers.values() for c in contacts})
        for doc_id, draft in ids.items():
            cells = self._cells(draft.first_line)
            others = sorted(refs.get(c, "?") for c in payers[doc_id] if c != draft.contact_id)
            if draft.contact_id is not None and others:
                cells.fail(
                    "customer_ref",
                    f"invoice {draft.number} already has payments or credit notes from "
                    f"{', '.join(others)}, so its customer cannot change",
                )
            if draft.ok and draft.gross < paid[doc_id]:
                cells.fail(
                    "",
                    f"invoice {draft.number} would total {money_text(draft.gross)}, but "
                    f"{money_text(paid[doc_id])} has already been paid against it",
                )
            if not cells.ok:
                draft.ok = False

    def _stored(self, drafts: dict[str, _Draft]) -> dict[str, _Stored]:
        """The documents of this kind already in the store with the file's numbers."""
        heads: dict[int, tuple[str, tuple[object, ...]]] = {}
        for batch in batches(self.session, sorted(drafts)):
            for doc_id, number, *header in self.session.execute(
                select(
                    Document.id,
                    Document.number,
                    Document.date,
                    Document.due_date,
                    Document.contact_id,
                    Document.reference,
                    Document.original_invoice_number,
                ).where(Document.kind == self.kind, one_of(self.session, Document.number, batch))
            ):
                heads[doc_id] = (number, tuple(header))
        lines: dict[int, list[tuple[object, ...]]] = defaultdict(list)
        for id_batch in batches(self.session, sorted(heads)):
            for doc_id, *values in self.session.execute(
                select(
                    DocumentLine.document_id,
                    DocumentLine.description,
                    DocumentLine.quantity,
                    DocumentLine.unit_price,
                    DocumentLine.nominal_account_id,
                    DocumentLine.vat_rate,
                    DocumentLine.vat_amount,
                )
                .where(one_of(self.session, DocumentLine.document_id, id_batch))
                .order_by(DocumentLine.document_id, DocumentLine.line_no)
            ):
                lines[doc_id].append(tuple(values))
        return {
            number: _Stored(doc_id, header, tuple(lines[doc_id]))
            for doc_id, (number, header) in heads.items()
        }

    def _plan(self, draft: _Draft, stored: _Stored | None, sent: set[int]) -> None:
        """Decide what happens to one good document, and count it."""
        assert draft.contact_id is not None
        # Header columns the file leaves out keep their stored values.
        defaults: tuple[object, ...] = (
            stored.header if stored else (None, None, draft.contact_id, "", "")
        )
        file_values: dict[str, object] = {
            "date": draft.header.get("date"),
            "due_date": draft.header.get("due_date"),
            "customer": draft.contact_id,
            "reference": draft.header.get("reference"),
            "original_invoice": draft.header.get("original_invoice"),
        }
        present = {
            "date": True,
            "due_date": self.table.has("due_date"),
            "customer": True,
            "reference": self.table.has("reference"),
            "original_invoice": self.table.has("original_invoice"),
        }
        header = tuple(
            file_values[name] if present[name] else default
            for name, default in zip(_STORED, defaults, strict=True)
        )
        lines = tuple(line.values for line in draft.lines)
        row = {
            "date": header[0],
            "due_date": header[1],
            "contact_id": header[2],
            "reference": header[3],
            "original_invoice_number": header[4],
        }
        if stored is None:
            self._new.append(({"kind": self.kind, "number": draft.number, **row}, draft.lines))
            self.report.added += 1
            return
        changed = [
            name for name, a, b in zip(_STORED, stored.header, header, strict=True) if a != b
        ]
        if lines != stored.lines:
            changed.append("lines")
        if not changed:
            self.report.unchanged += 1
        elif stored.id in sent:
            described = {"lines": (_describe_lines(stored.lines), _describe_lines(lines))}
            report_sent_change(
                self.tracker,
                self.report,
                record_id=stored.id,
                label=f"{self._noun} {draft.number}",
                key=draft.number,
                line=draft.first_line,
                changes=field_changes(_STORED, stored.header, header, changed, described),
            )
        else:
            self._updates.append(({"id": stored.id, "updated_at": utcnow(), **row}, draft.lines))
            self.report.updated += 1

    # -------------------------------------------------------------------- writing

    def write(self) -> None:
        """Write what :meth:`check` planned: new documents, and replaced ones with their lines
        written afresh, plus the pending changes to sent documents."""
        self.tracker.write("import")
        ids = insert_with_ids(
            self.session,
            Document,
            [row for row, _ in self._new],
            Document.number,
            Document.kind == self.kind,
        )
        if self._updates:
            update_rows(self.session, Document, [row for row, _ in self._updates])
            updated_ids = [row["id"] for row, _ in self._updates]
            for batch in batches(self.session, updated_ids):
                self.session.execute(
                    delete(DocumentLine)
                    .where(one_of(self.session, DocumentLine.document_id, batch))
                    .execution_options(synchronize_session=False)
                )
            ids.extend(updated_ids)
        lines = [
            {
                "document_id": doc_id,
                "line_no": line_no,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "nominal_account_id": line.account_id,
                "vat_rate": line.vat_rate,
                "vat_amount": line.vat_amount,
            }
            for doc_id, (_, doc_lines) in zip(ids, [*self._new, *self._updates], strict=True)
            for line_no, line in enumerate(doc_lines, start=1)
        ]
        insert_rows(self.session, DocumentLine, lines)


def _describe_lines(lines: tuple[tuple[object, ...], ...]) -> str:
    """Lines as a bookkeeper reads them: description × quantity @ price, VAT rate."""
    return "; ".join(
        f"{desc} × {_plain(qty)} @ {Decimal(str(price)):.2f} ({_plain(rate)}% VAT)"
        for desc, qty, price, _account, rate, _vat in lines
    )


def _plain(value: object) -> str:
    """20.00 → "20", 1.5000 → "1.5" (never "2E+1")."""
    return format(Decimal(str(value)).normalize(), "f")


def _text(value: object) -> str:
    return "" if value is None else str(value)
