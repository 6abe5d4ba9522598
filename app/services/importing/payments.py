"""Importing payments.csv: one row per invoice a payment is set against."""

from __future__ import annotations

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
    Payment,
    PaymentAllocation,
    RecordType,
    utcnow,
)
from app.services.importing.csv_reader import ColumnSpec, CsvRow, CsvTable
from app.services.importing.csv_values import CellReader, column_length, money_text
from app.services.importing.report import ImportReport
from app.services.importing.support import (
    CustomerLookup,
    NominalLookup,
    StoredDocument,
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

#: Payment-level columns: every row of one payment must agree on these.
HEADER_COLUMNS = ("date", "customer_ref", "amount", "method", "bank_code")
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("reference", required=True),
    *(ColumnSpec(name, required=name != "bank_code") for name in HEADER_COLUMNS),
    ColumnSpec("invoice_number", required=True),
    ColumnSpec("allocated", required=True),
)

_STORED = ("date", "customer", "amount", "method", "bank_code")
_REFERENCE_LENGTH = column_length(Payment, "reference")


@dataclass(frozen=True)
class _Allocation:
    line: int
    invoice_number: str
    amount: Decimal


@dataclass
class _Draft:
    """One payment as the file describes it."""

    reference: str
    first_line: int
    header: dict[str, Any]  # usable header values by column (bank_code: the account id)
    raw: dict[str, tuple[str, int]]  # each header value as written, and where first seen
    allocations: list[_Allocation] = field(default_factory=list)
    ok: bool = True
    contact_id: int | None = None
    invoice_ids: list[int] = field(default_factory=list)  # of allocations, once all found


@dataclass(frozen=True)
class _Stored:
    id: int
    header: tuple[object, ...]  # in the order of _STORED
    allocations: dict[int, Decimal]  # invoice id → amount


class PaymentImport:
    """Checks a payments file against the store, then writes it."""

    def __init__(self, session: Session, table: CsvTable, report: ImportReport) -> None:
        self.session = session
        self.table = table
        self.report = report
        self._noun = "Payment"
        self.tracker = ChangeTracker(session, RecordType.PAYMENT, report.file)
        self._new: list[tuple[dict[str, Any], list[tuple[int, Decimal]]]] = []
        self._updates: list[tuple[dict[str, Any], list[tuple[int, Decimal]]]] = []

    # ------------------------------------------------------------------- checking

    def check(self) -> None:
        """Read every payment with its allocations, check customers, bank accounts and the
        invoices paid (none paid above what it is owed), and plan which payments are added,
        replaced or left as sent; bad rows go into the report and nothing is written."""
        drafts = self._read_drafts()
        customers = CustomerLookup(
            self.session,
            {d.header["customer_ref"] for d in drafts.values() if "customer_ref" in d.header},
        )
        for draft in drafts.values():
            self._check_payment(draft, customers)
        stored = self._stored(drafts)
        sent = sent_record_ids(self.session, RecordType.PAYMENT, [s.id for s in stored.values()])
        self.tracker.load(sent)
        # The file's allocations replace those of every payment that is not already sent.
        replaced = {reference for reference, s in stored.items() if s.id not in sent}
        to_write = [
            d for d in drafts.values() if d.reference not in stored or d.reference in replaced
        ]
        self._check_allocations(drafts, to_write, replaced)
        for draft in drafts.values():
            if draft.ok:
                self._plan(draft, stored.get(draft.reference), sent)

    def _cells(self, line: int) -> CellReader:
        return CellReader(self.table, CsvRow(line, {}), self.report)

    def _read_drafts(self) -> dict[str, _Draft]:
        drafts: dict[str, _Draft] = {}
        previous = ""
        skipping = False
        banks = NominalLookup(self.session, AccountKind.BANK, "payments")
        for row in self.table.rows:
            cells = CellReader(self.table, row, self.report)
            reference = cells.text("reference", required=True, max_length=_REFERENCE_LENGTH)
            header = self._read_header(cells, banks)
            invoice = cells.text("invoice_number", required=True)
            allocated = cells.money("allocated", required=True, positive=True)
            if not reference or "reference" in cells.failed:
                continue
            starts_block, previous = reference != previous, reference
            draft = drafts.get(reference)
            if draft is None:
                skipping = False
                draft = _Draft(reference, row.line, header, {})
                for name in header:
                    draft.raw[name] = (cells.raw(name), row.line)
                drafts[reference] = draft
            elif starts_block:
                skipping = True
                cells.fail(
                    "reference",
                    f'payment "{reference}" already appeared above, from line '
                    f"{draft.first_line}; put all rows of one payment next to each other, "
                    "or give this one its own reference",
                )
            elif not skipping:
                self._compare_header(cells, draft, header)
            if skipping:
                continue
            if invoice and "invoice_number" not in cells.failed:
                earlier = next(
                    (a.line for a in draft.allocations if a.invoice_number == invoice), None
                )
                if earlier is not None:
                    cells.fail(
                        "invoice_number",
                        f"invoice {invoice} is already on line {earlier} of payment "
                        f"{reference}; set each invoice against a payment once",
                    )
                elif allocated is not None:
                    draft.allocations.append(_Allocation(row.line, invoice, allocated))
            if not cells.ok:
                draft.ok = False
        return drafts

    def _read_header(self, cells: CellReader, banks: NominalLookup) -> dict[str, Any]:
        values: dict[str, Any] = {
            "date": cells.date("date", required=True),
            "customer_ref": cells.text("customer_ref", required=True),
            "amount": cells.money("amount", required=True, positive=True),
            "method": cells.method("method", required=True),
            "bank_code": banks.resolve(cells, "bank_code"),
        }
        return {name: value for name, value in values.items() if name not in cells.failed}

    def _compare_header(self, cells: CellReader, draft: _Draft, header: dict[str, Any]) -> None:
        for name, value in header.items():
            if name not in draft.header or draft.header[name] == value:
                continue
            first, first_line = draft.raw[name]
            cells.fail(
                name,
                f'"{cells.raw(name)}" does not match "{first}" on line {first_line}; every '
                f"row of payment {draft.reference} must have the same {name}",
            )

    def _check_payment(self, draft: _Draft, customers: CustomerLookup) -> None:
        cells = self._cells(draft.first_line)
        ref = draft.header.get("customer_ref")
        if ref:
            draft.contact_id = customers.customer(cells, "customer_ref", ref)
        amount: Decimal | None = draft.header.get("amount")
        if draft.ok and amount is not None:
            total = sum((a.amount for a in draft.allocations), Decimal("0.00"))
            if total != amount:
                cells.fail(
                    "amount",
                    f"payment {draft.reference} is {money_text(amount)} but the amounts in "
                    f"its allocated column add up to {money_text(total)}; they must be equal",
                )
        if not cells.ok:
            draft.ok = False

    def _check_allocations(
        self, drafts: dict[str, _Draft], to_write: list[_Draft], replaced: set[str]
    ) -> None:
        """Each invoice exists, is the payer's, and is not paid above what it is owed."""
        numbers = {a.invoice_number for d in drafts.values() for a in d.allocations}
        invoices = documents_by_number(self.session, DocumentKind.INVOICE, numbers)
        credit_notes = set(
            documents_by_number(self.session, DocumentKind.CREDIT_NOTE, numbers - set(invoices))
        )
        refs = contact_refs(self.session, {i.contact_id for i in invoices.values()})
        settled = self._settled(invoices, replaced)
        writing = {draft.reference for draft in to_write}
        for draft in drafts.values():
            for allocation in draft.allocations:
                cells = self._cells(allocation.line)
                invoice = invoices.get(allocation.invoice_number)
                if invoice is None:
                    cells.fail("invoice_number", self._not_found(allocation, credit_notes))
                elif draft.contact_id is not None and invoice.contact_id != draft.contact_id:
                    cells.fail(
                        "invoice_number",
                        f"invoice {invoice.number} is for "
                        f"{refs.get(invoice.contact_id, '?')}, not "
                        f"{draft.header['customer_ref']}",
                    )
                elif draft.reference in writing:
                    before = settled[invoice.id]
                    if before + allocation.amount > invoice.gross:
                        cells.fail("allocated", self._too_much(allocation, invoice, before))
                    settled[invoice.id] = before + allocation.amount
                if not cells.ok:
                    draft.ok = False
                elif invoice is not None:
                    draft.invoice_ids.append(invoice.id)

    def _settled(
        self, invoices: dict[str, StoredDocument], replaced: set[str]
    ) -> defaultdict[int, Decimal]:
        """How much of each invoice is already paid or credited, leaving out the payments
        this file replaces."""
        ids = {invoice.id for invoice in invoices.values()}
        settled: defaultdict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        credited = sum_by(
            (invoices[note.original_invoice_number].id, note.gross)
            for note in credit_notes_against(self.session, invoices)
            if note.original_invoice_number in invoices
        )
        settled.update(credited)
        for batch in batches(self.session, sorted(ids)):
            for doc_id, amount, reference in self.session.execute(
                select(PaymentAllocation.document_id, PaymentAllocation.amount, Payment.reference)
                .join(Payment, Payment.id == PaymentAllocation.payment_id)
                .where(one_of(self.session, PaymentAllocation.document_id, batch))
            ):
                if reference not in replaced:
                    settled[doc_id] += amount
        return settled

    @staticmethod
    def _not_found(allocation: _Allocation, credit_notes: set[str]) -> str:
        if allocation.invoice_number in credit_notes:
            return (
                f"{allocation.invoice_number} is a credit note; payments are set against invoices"
            )
        return (
            f'no invoice "{allocation.invoice_number}" has been imported; import invoices.csv first'
        )

    @staticmethod
    def _too_much(allocation: _Allocation, invoice: StoredDocument, before: Decimal) -> str:
        left = max(invoice.gross - before, Decimal("0.00"))
        return (
            f"{money_text(allocation.amount)} would take invoice {invoice.number} above its "
            f"total: it is {money_text(invoice.gross)}, {money_text(before)} of it is already "
            f"paid or credited, so at most {money_text(left)} can be set against it"
        )

    def _stored(self, drafts: dict[str, _Draft]) -> dict[str, _Stored]:
        """The payments already in the store with the file's references."""
        heads: dict[int, tuple[str, tuple[object, ...]]] = {}
        for batch in batches(self.session, sorted(drafts)):
            for payment_id, reference, *header in self.session.execute(
                select(
                    Payment.id,
                    Payment.reference,
                    Payment.date,
                    Payment.contact_id,
                    Payment.amount,
                    Payment.method,
                    Payment.bank_account_id,
                ).where(one_of(self.session, Payment.reference, batch))
            ):
                heads[payment_id] = (reference, tuple(header))
        allocations: dict[int, dict[int, Decimal]] = defaultdict(dict)
        for id_batch in batches(self.session, sorted(heads)):
            for payment_id, doc_id, amount in self.session.execute(
                select(
                    PaymentAllocation.payment_id,
                    PaymentAllocation.document_id,
                    PaymentAllocation.amount,
                ).where(one_of(self.session, PaymentAllocation.payment_id, id_batch))
            ):
                allocations[payment_id][doc_id] = amount
        return {
            reference: _Stored(payment_id, header, allocations[payment_id])
            for payment_id, (reference, header) in heads.items()
        }

    def _plan(self, draft: _Draft, stored: _Stored | None, sent: set[int]) -> None:
        """Decide what happens to one good payment, and count it."""
        header = (
            draft.header["date"],
            draft.contact_id,
            draft.header["amount"],
            draft.header["method"],
            draft.header["bank_code"],
        )
        allocations = [
            (doc_id, allocation.amount)
            for doc_id, allocation in zip(draft.invoice_ids, draft.allocations, strict=True)
        ]
        row = {
            "date": header[0],
            "contact_id": header[1],
            "amount": header[2],
            "method": header[3],
            "bank_account_id": header[4],
        }
        if stored is None:
            self._new.append(({"reference": draft.reference, **row}, allocations))
            self.report.added += 1
            return
        changed = [
            name for name, a, b in zip(_STORED, stored.header, header, strict=True) if a != b
        ]
        if dict(allocations) != stored.allocations:
            changed.append("allocations")
        if not changed:
            self.report.unchanged += 1
        elif stored.id in sent:
            # Only here are invoice numbers needed, so only here are they looked up.
            numbers = self._invoice_numbers([*stored.allocations, *dict(allocations)])
            described = {
                "allocations": (
                    _describe(stored.allocations, numbers),
                    _describe(dict(allocations), numbers),
                )
            }
            report_sent_change(
                self.tracker,
                self.report,
                record_id=stored.id,
                label=f"{self._noun} {draft.reference}",
                key=draft.reference,
                line=draft.first_line,
                changes=field_changes(_STORED, stored.header, header, changed, described),
            )
        else:
            self._updates.append(({"id": stored.id, "updated_at": utcnow(), **row}, allocations))
            self.report.updated += 1

    # -------------------------------------------------------------------- writing

    def _invoice_numbers(self, ids: list[int]) -> dict[int, str]:
        rows = self.session.execute(
            select(Document.id, Document.number).where(one_of(self.session, Document.id, ids))
        )
        return {row.id: row.number for row in rows}

    def write(self) -> None:
        """Write what :meth:`check` planned: new payments, and replaced ones with their
        allocations written afresh, plus the pending changes to sent payments."""
        self.tracker.write("import")
        ids = insert_with_ids(
            self.session, Payment, [row for row, _ in self._new], Payment.reference
        )
        if self._updates:
            update_rows(self.session, Payment, [row for row, _ in self._updates])
            updated_ids = [row["id"] for row, _ in self._updates]
            for batch in batches(self.session, updated_ids):
                self.session.execute(
                    delete(PaymentAllocation)
                    .where(one_of(self.session, PaymentAllocation.payment_id, batch))
                    .execution_options(synchronize_session=False)
                )
            ids.extend(updated_ids)
        allocations = [
            {"payment_id": payment_id, "document_id": doc_id, "amount": amount}
            for payment_id, (_, payment_allocations) in zip(
                ids, [*self._new, *self._updates], strict=True
            )
            for doc_id, amount in payment_allocations
        ]
        insert_rows(self.session, PaymentAllocation, allocations)


def _describe(allocations: dict[int, Decimal], numbers: dict[int, str]) -> str:
    return "; ".join(
        f"{numbers.get(doc_id, doc_id)}: {amount:.2f}" for doc_id, amount in allocations.items()
    )
