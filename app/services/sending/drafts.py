"""Turning our records into the connector's drafts, or saying plainly why we cannot.

The same builder serves the pre-flight check and the sender, so what the review page
predicts is exactly what a send will do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.db.models import (
    DELIVERED_STATES,
    AccountMapping,
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    NominalAccount,
    OutboxEntry,
    Payment,
    PaymentAllocation,
    RecordType,
)
from connectors.contract import (
    PLANNED_PARENT_REF,
    AllocationDraft,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    LineDraft,
    PaymentDraft,
    RemoteRecordType,
    RemoteTaxRate,
)

Draft = ContactDraft | DocumentDraft | PaymentDraft
T = TypeVar("T")

#: States of a parent record that let its dependants go.
DELIVERED = DELIVERED_STATES


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be sent yet, in words a bookkeeper can act on."""

    code: str
    field: str
    reason: str
    fix: str
    blocked_by: int | None = None
    #: What the problem is about when many records share it (our account code).
    subject: str = ""


@dataclass(frozen=True)
class BuiltDraft:
    draft: Draft
    our_key: str
    label: str
    fingerprint: str
    snapshot: dict[str, Any]


def remote_record_type(record_type: RecordType) -> RemoteRecordType:
    """The connector contract's name for one of our record types."""
    return RemoteRecordType(record_type.value)


def contact_label(contact: Contact) -> str:
    """How a contact is named to the user: ``Customer “Name” (REF)``."""
    kind = "Customer" if contact.kind is ContactKind.CUSTOMER else "Supplier"
    return f"{kind} “{contact.name}” ({contact.account_ref})"


def document_label(document: Document) -> str:
    """How a document is named to the user: ``Invoice 1001`` or ``Credit note 1002``."""
    kind = "Invoice" if document.kind is DocumentKind.INVOICE else "Credit note"
    return f"{kind} {document.number}"


def payment_label(payment: Payment) -> str:
    """How a payment is named to the user: ``Payment REF``."""
    return f"Payment {payment.reference}"


#: How many ids go in one ``IN (...)`` list (well inside SQLite's and PostgreSQL's limits).
CHUNK = 900


def chunked(ids: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``ids`` in lists of at most ``size``, for ``IN (...)`` queries."""
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_records(session: Session, keys: Iterable[tuple[RecordType, int]]) -> list[object]:
    """Load the records behind ``keys`` into ``session`` in a few queries, with what
    building their drafts and labels reads (lines, allocations, contacts, accounts), so
    that later ``session.get`` calls and relationship reads cost no query.

    The session's identity map holds objects weakly: keep the returned list for as long
    as the records are read, or they are dropped and loaded again one by one.
    """
    held: list[object] = []
    contact_ids: set[int] = set()
    document_ids: set[int] = set()
    payment_ids: set[int] = set()
    for record_type, record_id in keys:
        if record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
            contact_ids.add(record_id)
        elif record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
            document_ids.add(record_id)
        else:
            payment_ids.add(record_id)
    if document_ids or payment_ids:
        # Few and shared by every line and payment: loaded whole, then found by identity.
        held += session.scalars(select(NominalAccount)).all()
    for chunk in chunked(sorted(document_ids)):
        documents = session.scalars(
            select(Document).where(Document.id.in_(chunk)).options(selectinload(Document.lines))
        ).all()
        held += documents
        contact_ids.update(d.contact_id for d in documents)
    for chunk in chunked(sorted(payment_ids)):
        payments = session.scalars(
            select(Payment)
            .where(Payment.id.in_(chunk))
            .options(selectinload(Payment.allocations).selectinload(PaymentAllocation.document))
        ).all()
        held += payments
        contact_ids.update(p.contact_id for p in payments)
    for chunk in chunked(sorted(contact_ids)):
        held += session.scalars(select(Contact).where(Contact.id.in_(chunk))).all()
    return held


def record_label(session: Session, record_type: RecordType, record_id: int) -> str:
    """A short name for a record that a bookkeeper recognises."""
    if record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        contact = session.get(Contact, record_id)
        return contact_label(contact) if contact else f"{record_type.value} #{record_id}"
    if record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
        document = session.get(Document, record_id)
        return document_label(document) if document else f"{record_type.value} #{record_id}"
    payment = session.get(Payment, record_id)
    return payment_label(payment) if payment else f"payment #{record_id}"


def snapshot_contact(contact: Contact) -> dict[str, Any]:
    """The contact's fields as sent, for the outbox's fingerprint and the record of what went."""
    fields = ("account_ref", "name", "contact_name", "address_1", "address_2", "address_3")
    more = ("town", "county", "postcode", "email", "phone")
    return {name: getattr(contact, name) for name in fields + more}


def snapshot_document(document: Document) -> dict[str, Any]:
    """The document and its lines as sent (codes and amounts as text), for the outbox's
    fingerprint and the record of what went."""
    return {
        "number": document.number,
        "date": document.date.isoformat(),
        "due_date": document.due_date.isoformat() if document.due_date else "",
        "customer": document.contact.account_ref,
        "reference": document.reference,
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "nominal_code": line.nominal_account.code,
                "vat_rate": str(line.vat_rate),
                "vat_amount": str(line.vat_amount),
            }
            for line in document.lines
        ],
    }


def snapshot_payment(payment: Payment) -> dict[str, Any]:
    """The payment and its allocations as sent (amounts as text), for the outbox's fingerprint
    and the record of what went."""
    return {
        "reference": payment.reference,
        "date": payment.date.isoformat(),
        "customer": payment.contact.account_ref,
        "amount": str(payment.amount),
        "method": payment.method.value,
        "bank_code": payment.bank_account.code,
        "allocations": [
            {"invoice": a.document.number, "amount": str(a.amount)} for a in payment.allocations
        ],
    }


def fingerprint(snapshot: dict[str, Any]) -> str:
    """A stable hash of a record's content, to notice edits made after it was sent."""
    encoded = json.dumps(snapshot, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def pick_tax_rate(rates: list[RemoteTaxRate], percent: Decimal) -> RemoteTaxRate | None:
    """The package's VAT rate for a percentage, preferring the ordinary sales rates
    (standard, reduced, zero rated) over exempt or outside-the-scope ones."""
    matching = [r for r in rates if r.rate == percent]

    def rank(rate: RemoteTaxRate) -> int:
        name = rate.name.lower()
        if "exempt" in name or "no vat" in name or "outside" in name:
            return 1
        return 0

    return min(matching, key=rank) if matching else None


class DraftBuilder:
    """Builds drafts for one package within one session, with mappings read once."""

    #: Placeholder remote id for a parent that pre-flight expects to be created first.
    PLANNED = PLANNED_PARENT_REF

    def __init__(
        self,
        session: Session,
        package: str,
        package_name: str,
        tax_rates: list[RemoteTaxRate],
        *,
        assume_delivered: set[int] | None = None,
        cutoff: date | None = None,
    ) -> None:
        self.session = session
        self.cutoff = cutoff
        self.assume_delivered = assume_delivered if assume_delivered is not None else set()
        self.package = package
        self.package_name = package_name
        self.tax_rates = tax_rates
        self.mappings: dict[int, AccountMapping] = {
            m.nominal_account_id: m
            for m in session.scalars(
                select(AccountMapping).where(AccountMapping.package == package)
            )
        }
        #: Outbox rows of parents, once :meth:`prefetch` has loaded them.
        self._parents: dict[tuple[RecordType, int], OutboxEntry] = {}
        self._prefetched: set[tuple[RecordType, int]] = set()
        #: Credit notes' invoices by number, what was paid on them, earlier credits.
        self._invoices_by_number: dict[str, Document | None] = {}
        self._paid: dict[int, Decimal] = {}
        self._credits_by_invoice: dict[str, list[Document]] = {}
        #: Strong references to what prefetch loaded (the identity map's are weak).
        self._held: list[object] = []

    def prefetch(self, entries: Sequence[OutboxEntry]) -> None:
        """Load in a few queries everything building ``entries`` reads: the records,
        their lines and allocations, their parents' outbox rows and, for credit notes,
        the credited invoices with what was paid and credited on them. Building without
        it gives the same drafts, one query at a time."""
        session = self.session
        self._held += load_records(session, ((e.record_type, e.record_id) for e in entries))
        wanted: set[tuple[RecordType, int]] = set()
        numbers: set[str] = set()
        for entry in entries:
            if entry.record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
                document = session.get(Document, entry.record_id)
                if document is None:
                    continue
                wanted.add((RecordType(document.contact.kind.value), document.contact_id))
                if document.kind is DocumentKind.CREDIT_NOTE and document.original_invoice_number:
                    numbers.add(document.original_invoice_number)
            elif entry.record_type is RecordType.PAYMENT:
                payment = session.get(Payment, entry.record_id)
                if payment is None:
                    continue
                wanted.add((RecordType(payment.contact.kind.value), payment.contact_id))
                wanted.update((RecordType.INVOICE, a.document_id) for a in payment.allocations)
        if numbers:
            self._load_credited(sorted(numbers))
            wanted.update(
                (RecordType.INVOICE, invoice.id)
                for invoice in self._invoices_by_number.values()
                if invoice is not None
            )
        for record_type in RecordType:
            ids = sorted(i for t, i in wanted if t is record_type)
            for chunk in chunked(ids):
                for row in session.scalars(
                    select(OutboxEntry).where(
                        OutboxEntry.package == self.package,
                        OutboxEntry.record_type == record_type,
                        OutboxEntry.record_id.in_(chunk),
                    )
                ):
                    self._parents[(row.record_type, row.record_id)] = row
        self._prefetched |= wanted

    def _load_credited(self, numbers: list[str]) -> None:
        session = self.session
        for chunk in chunked(numbers):
            self._invoices_by_number.update(dict.fromkeys(chunk))
            for invoice in session.scalars(
                select(Document)
                .where(Document.kind == DocumentKind.INVOICE, Document.number.in_(chunk))
                .options(selectinload(Document.lines))
            ):
                self._invoices_by_number[invoice.number] = invoice
            for credit in session.scalars(
                select(Document)
                .where(
                    Document.kind == DocumentKind.CREDIT_NOTE,
                    Document.original_invoice_number.in_(chunk),
                )
                .options(selectinload(Document.lines))
                .order_by(Document.id)
            ):
                number = credit.original_invoice_number or ""
                self._credits_by_invoice.setdefault(number, []).append(credit)
        invoice_ids = [i.id for i in self._invoices_by_number.values() if i is not None]
        for id_chunk in chunked(invoice_ids):
            self._paid.update(dict.fromkeys(id_chunk, Decimal("0.00")))
            for document_id, paid in session.execute(
                select(PaymentAllocation.document_id, func.sum(PaymentAllocation.amount))
                .where(PaymentAllocation.document_id.in_(id_chunk))
                .group_by(PaymentAllocation.document_id)
            ):
                self._paid[document_id] = Decimal(paid or 0)

    # ------------------------------------------------------------------ parents

    def _parent(self, record_type: RecordType, record_id: int) -> OutboxEntry | None:
        if (record_type, record_id) in self._prefetched:
            return self._parents.get((record_type, record_id))
        return self.session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.package == self.package,
                OutboxEntry.record_type == record_type,
                OutboxEntry.record_id == record_id,
            )
        ).one_or_none()

    def _blocked(self, parent: OutboxEntry | None, label: str, what: str) -> Problem:
        state = parent.state.value.replace("_", " ") if parent else "not queued"
        reason = f"{label} has not reached {self.package_name} yet ({state})"
        if parent is not None and parent.error_reason:
            reason += f": {parent.error_reason}"
        return Problem(
            code="blocked",
            field=what,
            reason=reason + ".",
            fix=f"Fix {label} first; this record is sent straight after it.",
            blocked_by=parent.id if parent else None,
        )

    def _contact_ref(self, contact: Contact) -> str | Problem:
        parent = self._parent(RecordType(contact.kind.value), contact.id)
        if parent is not None and parent.state in DELIVERED and parent.remote_id:
            return parent.remote_id
        if parent is not None and parent.id in self.assume_delivered:
            return self.PLANNED
        return self._blocked(parent, contact_label(contact), "customer_ref")

    def _account(self, account: NominalAccount, field: str) -> str | Problem:
        mapping = self.mappings.get(account.id)
        if mapping is None:
            return Problem(
                code="unmapped_account",
                field=field,
                reason=(
                    f"Our nominal account “{account.name}” ({account.code}) is not matched "
                    f"to an account in {self.package_name}."
                ),
                fix=f"Open Nominal accounts and choose the {self.package_name} account "
                f"for {account.code}.",
                subject=account.code,
            )
        return mapping.remote_id

    # ------------------------------------------------------------------ records

    def build(self, entry: OutboxEntry) -> BuiltDraft | Problem:
        """The draft for an outbox row, or the first problem that stops it."""
        if entry.record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
            contact = self.session.get(Contact, entry.record_id)
            if contact is None:
                return _missing(entry)
            return self.contact(contact)
        if entry.record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
            document = self.session.get(Document, entry.record_id)
            if document is None:
                return _missing(entry)
            return self.document(document)
        payment = self.session.get(Payment, entry.record_id)
        if payment is None:
            return _missing(entry)
        return self.payment(payment)

    def contact(self, contact: Contact) -> BuiltDraft:
        """The customer or supplier draft for ``contact``; a contact never has a problem of its
        own."""
        role = (
            ContactRole.CUSTOMER if contact.kind is ContactKind.CUSTOMER else ContactRole.SUPPLIER
        )
        snapshot = snapshot_contact(contact)
        draft = ContactDraft(
            role=role,
            our_ref=contact.account_ref,
            name=contact.name,
            contact_name=contact.contact_name,
            address_1=contact.address_1,
            address_2=contact.address_2,
            address_3=contact.address_3,
            town=contact.town,
            county=contact.county,
            postcode=contact.postcode,
            email=contact.email,
            phone=contact.phone,
        )
        return BuiltDraft(
            draft, contact.account_ref, contact_label(contact), fingerprint(snapshot), snapshot
        )

    def _before_cutoff(self, label: str, dated: date) -> Problem | None:
        if self.cutoff is None or dated >= self.cutoff:
            return None
        return Problem(
            code="before_cutoff",
            field="date",
            reason=f"{label} is dated {dated:%d/%m/%Y}, before your financial cut-off "
            f"date {self.cutoff:%d/%m/%Y}, so it is not sent.",
            fix="If it should go, move the cut-off date on the Review and send page; if it "
            "is already in the books, choose “Do not send” or “Entered manually”.",
        )

    def document(self, document: Document) -> BuiltDraft | Problem:
        """The invoice or credit note draft for ``document``, or the :class:`Problem` that stops
        it: dated before the cut-off, customer not yet in the package, nominal code unmapped,
        no such VAT rate, or the credited invoice not yet in the package."""
        early = self._before_cutoff(document_label(document), document.date)
        if early is not None:
            return early
        contact_ref = self._contact_ref(document.contact)
        if isinstance(contact_ref, Problem):
            return contact_ref
        lines: list[LineDraft] = []
        for number, line in enumerate(document.lines, start=1):
            account_id = self._account(line.nominal_account, f"lines[{number}].nominal_code")
            if isinstance(account_id, Problem):
                return account_id
            tax = pick_tax_rate(self.tax_rates, line.vat_rate)
            if tax is None:
                return Problem(
                    code="missing_tax_rate",
                    field=f"lines[{number}].vat_rate",
                    reason=f"{self.package_name} has no VAT rate of {line.vat_rate.normalize()}%.",
                    fix=f"Add a {line.vat_rate.normalize()}% VAT rate in {self.package_name}, "
                    "then send again.",
                )
            lines.append(
                LineDraft(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    net_amount=line.net_amount,
                    account_id=account_id,
                    tax_rate_id=tax.id,
                    vat_rate=line.vat_rate,
                    vat_amount=line.vat_amount,
                )
            )
        credits_ref = ""
        if document.kind is DocumentKind.CREDIT_NOTE and document.original_invoice_number:
            credited = self._credited_invoice_ref(document)
            if isinstance(credited, Problem):
                return credited
            credits_ref = credited
        snapshot = snapshot_document(document)
        draft = DocumentDraft(
            type=DocumentType(document.kind.value),
            number=document.number,
            date=document.date,
            due_date=document.due_date,
            contact_ref=contact_ref,
            reference=document.reference,
            lines=tuple(lines),
            credits_document_ref=credits_ref,
        )
        return BuiltDraft(
            draft, document.number, document_label(document), fingerprint(snapshot), snapshot
        )

    def _credited_invoice_ref(self, credit_note: Document) -> str | Problem:
        """The package id of the invoice a credit note is set against, or ``""`` when it
        goes as a standalone credit.

        A credit that fits within what the invoice still owes (after our payments and
        earlier credit notes) is set against it. One that does not is a refund of money
        already paid: it is sent unallocated, as a bookkeeper would enter it, so that the
        invoice's payments still fit.
        """
        number = credit_note.original_invoice_number or ""
        if number not in self._invoices_by_number:
            self._load_credited([number])
        invoice = self._invoices_by_number[number]
        if invoice is None:
            return Problem(
                code="unknown_invoice",
                field="original_invoice",
                reason=f"The credited invoice {number} is not in Ledgerlink.",
                fix="Import the invoice first, or clear original_invoice on the credit note.",
            )
        earlier_credits = [
            c for c in self._credits_by_invoice.get(number, []) if c.id < credit_note.id
        ]
        remaining = (
            invoice.gross_total
            - self._paid.get(invoice.id, Decimal("0.00"))
            - sum((c.gross_total for c in earlier_credits), Decimal("0.00"))
        )
        if credit_note.gross_total > remaining:
            return ""
        parent = self._parent(RecordType.INVOICE, invoice.id)
        if parent is not None and parent.state in DELIVERED and parent.remote_id:
            return parent.remote_id
        if parent is not None and parent.id in self.assume_delivered:
            return self.PLANNED
        return self._blocked(parent, document_label(invoice), "original_invoice")

    def payment(self, payment: Payment) -> BuiltDraft | Problem:
        """The payment draft for ``payment``, or the :class:`Problem` that stops it: dated before
        the cut-off, customer not yet in the package, bank account unmapped, or an invoice it
        pays not yet in the package."""
        early = self._before_cutoff(payment_label(payment), payment.date)
        if early is not None:
            return early
        contact_ref = self._contact_ref(payment.contact)
        if isinstance(contact_ref, Problem):
            return contact_ref
        bank_id = self._account(payment.bank_account, "bank_code")
        if isinstance(bank_id, Problem):
            return bank_id
        allocations: list[AllocationDraft] = []
        for allocation in payment.allocations:
            invoice = allocation.document
            parent = self._parent(RecordType.INVOICE, invoice.id)
            if parent is not None and parent.state in DELIVERED and parent.remote_id:
                allocations.append(AllocationDraft(parent.remote_id, allocation.amount))
            elif parent is not None and parent.id in self.assume_delivered:
                allocations.append(AllocationDraft(self.PLANNED, allocation.amount))
            else:
                return self._blocked(parent, document_label(invoice), "invoice_number")
        snapshot = snapshot_payment(payment)
        draft = PaymentDraft(
            reference=payment.reference,
            date=payment.date,
            contact_ref=contact_ref,
            amount=payment.amount,
            bank_account_id=bank_id,
            allocations=tuple(allocations),
        )
        return BuiltDraft(
            draft, payment.reference, payment_label(payment), fingerprint(snapshot), snapshot
        )


def _missing(entry: OutboxEntry) -> Problem:
    return Problem(
        code="record_missing",
        field="",
        reason=f"The {entry.record_type.value.replace('_', ' ')} #{entry.record_id} "
        "queued for sending no longer exists in Ledgerlink.",
        fix="Choose “Do not send” for this row.",
    )
