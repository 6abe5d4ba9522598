"""Turning our records into the connector's drafts, or saying plainly why we cannot.

The same builder serves the pre-flight check and the sender, so what the review page
predicts is exactly what a send will do.

Records are read as plain rows (:class:`ContactRecord`, :class:`DocumentRecord`…), a
batch at a time in a few ``IN (...)`` queries (:meth:`DraftBuilder.prefetch`), not as
ORM objects: a first send of 100,000 records would otherwise spend most of its time
building and tracking objects it only reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property, partial
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Row, Select, Table, func, select
from sqlalchemy.orm import Session

from app.db.lookups import among, chunk_size, chunked, id_chunks, one_of
from app.db.models import (
    DELIVERED_STATES,
    AccountMapping,
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    DocumentLine,
    NominalAccount,
    OutboxEntry,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    RecordType,
    SendState,
    line_net,
)
from app.services.sending.labels import contact_label as contact_label
from app.services.sending.labels import document_label as document_label
from app.services.sending.labels import payment_label as payment_label
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
#: States of a parent record that let its dependants go.
DELIVERED = DELIVERED_STATES
ZERO = Decimal("0.00")


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
    """A record's draft, with what the send keeps about it.

    The snapshot (what the audit history records) and its fingerprint are worked out
    when first read: pre-flight never reads them, a send does.
    """

    draft: Draft
    our_key: str
    label: str
    make_snapshot: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @cached_property
    def snapshot(self) -> dict[str, Any]:
        """The record's content as sent, for the audit history."""
        return self.make_snapshot()

    @cached_property
    def fingerprint(self) -> str:
        """A stable hash of :attr:`snapshot`, to notice edits made after sending."""
        return fingerprint(self.snapshot)


class OutboxKey(Protocol):
    """What the builder reads of an outbox row (an ``OutboxEntry`` or a plain row)."""

    @property
    def id(self) -> int:
        """The outbox row's id."""
        ...

    @property
    def record_type(self) -> RecordType:
        """What kind of record the row sends."""
        ...

    @property
    def record_id(self) -> int:
        """The record's id in its own table."""
        ...


# ------------------------------------------------------------------------ plain rows


class ContactRecord(NamedTuple):
    id: int
    kind: ContactKind
    account_ref: str
    name: str
    contact_name: str
    address_1: str
    address_2: str
    address_3: str
    town: str
    county: str
    postcode: str
    email: str
    phone: str


class DocumentRecord(NamedTuple):
    id: int
    kind: DocumentKind
    number: str
    date: dt.date
    due_date: dt.date | None
    contact_id: int
    reference: str
    original_invoice_number: str


class LineRecord(NamedTuple):
    document_id: int
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    nominal_account_id: int
    vat_rate: Decimal
    vat_amount: Decimal

    @property
    def net_amount(self) -> Decimal:
        """Quantity × unit price, rounded as :attr:`DocumentLine.net_amount` is
        (:func:`~app.db.models.line_net`)."""
        return line_net(self.quantity, self.unit_price)


class PaymentRecord(NamedTuple):
    id: int
    reference: str
    date: dt.date
    contact_id: int
    amount: Decimal
    method: PaymentMethod
    bank_account_id: int


class AllocationRecord(NamedTuple):
    payment_id: int
    document_id: int
    amount: Decimal
    document_kind: DocumentKind
    document_number: str


class AccountRecord(NamedTuple):
    id: int
    code: str
    name: str


class ParentRow(NamedTuple):
    """A parent record's outbox row, as far as its dependants need it."""

    id: int
    record_type: RecordType
    record_id: int
    state: SendState
    remote_id: str
    error_reason: str


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


_CONTACTS = _table(Contact)
_DOCUMENTS = _table(Document)
_ALLOCATIONS = _table(PaymentAllocation)
_OUTBOX = _table(OutboxEntry)
# Table columns in each plain row's field order (the id, or what rows are looked up by, first).
_CONTACT = tuple(_CONTACTS.c[name] for name in ContactRecord._fields)
_DOCUMENT = tuple(_DOCUMENTS.c[name] for name in DocumentRecord._fields)
_LINE = tuple(_table(DocumentLine).c[name] for name in LineRecord._fields)
_PAYMENT = tuple(_table(Payment).c[name] for name in PaymentRecord._fields)
_PARENT = tuple(_OUTBOX.c[name] for name in ParentRow._fields)
_ALLOCATION = (
    _ALLOCATIONS.c.payment_id,
    _ALLOCATIONS.c.document_id,
    _ALLOCATIONS.c.amount,
    _DOCUMENTS.c.kind,
    _DOCUMENTS.c.number,
)


#: The outbox's record type of a contact, and the connector's type of a document, by kind.
_RECORD_TYPE = {kind: RecordType(kind.value) for kind in ContactKind}
_DOCUMENT_TYPE = {kind: DocumentType(kind.value) for kind in DocumentKind}


def remote_record_type(record_type: RecordType) -> RemoteRecordType:
    """The connector contract's name for one of our record types."""
    return RemoteRecordType(record_type.value)


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


def snapshot_contact(contact: ContactRecord) -> dict[str, Any]:
    """The contact's fields as sent, for the outbox's fingerprint and the record of what went."""
    fields = ("account_ref", "name", "contact_name", "address_1", "address_2", "address_3")
    more = ("town", "county", "postcode", "email", "phone")
    return {name: getattr(contact, name) for name in fields + more}


def snapshot_document(
    document: DocumentRecord,
    customer: ContactRecord,
    lines: Sequence[LineRecord],
    accounts: dict[int, AccountRecord],
) -> dict[str, Any]:
    """The document and its lines as sent (codes and amounts as text), for the outbox's
    fingerprint and the record of what went."""
    return {
        "number": document.number,
        "date": document.date.isoformat(),
        "due_date": document.due_date.isoformat() if document.due_date else "",
        "customer": customer.account_ref,
        "reference": document.reference,
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "nominal_code": accounts[line.nominal_account_id].code,
                "vat_rate": str(line.vat_rate),
                "vat_amount": str(line.vat_amount),
            }
            for line in lines
        ],
    }


def snapshot_payment(
    payment: PaymentRecord,
    customer: ContactRecord,
    allocations: Sequence[AllocationRecord],
    accounts: dict[int, AccountRecord],
) -> dict[str, Any]:
    """The payment and its allocations as sent (amounts as text), for the outbox's fingerprint
    and the record of what went."""
    return {
        "reference": payment.reference,
        "date": payment.date.isoformat(),
        "customer": customer.account_ref,
        "amount": str(payment.amount),
        "method": payment.method.value,
        "bank_code": accounts[payment.bank_account_id].code,
        "allocations": [
            {"invoice": a.document_number, "amount": str(a.amount)} for a in allocations
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


def _gross(lines: Sequence[LineRecord]) -> Decimal:
    return sum((line.net_amount + line.vat_amount for line in lines), ZERO)


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
        self._chunk = chunk_size(session)
        self.cutoff = cutoff
        self.assume_delivered = assume_delivered if assume_delivered is not None else set()
        self.package = package
        self.package_name = package_name
        self.tax_rates = tax_rates
        self._tax_by_rate: dict[Decimal, RemoteTaxRate | None] = {}
        self.mappings: dict[int, str] = {
            nominal_account_id: remote_id
            for nominal_account_id, remote_id in session.execute(
                select(AccountMapping.nominal_account_id, AccountMapping.remote_id).where(
                    AccountMapping.package == package
                )
            )
        }
        self._accounts: dict[int, AccountRecord] = {}
        self._contacts: dict[int, ContactRecord] = {}
        self._documents: dict[int, DocumentRecord] = {}
        self._lines: dict[int, list[LineRecord]] = {}
        self._payments: dict[int, PaymentRecord] = {}
        self._allocations: dict[int, list[AllocationRecord]] = {}
        #: Outbox rows of parents, once :meth:`prefetch` has loaded them.
        self._parents: dict[tuple[RecordType, int], ParentRow] = {}
        self._prefetched: set[tuple[RecordType, int]] = set()
        #: Credit notes' invoices by number, what was paid on them, earlier credits.
        self._invoices_by_number: dict[str, DocumentRecord | None] = {}
        self._paid: dict[int, Decimal] = {}
        self._credits_by_invoice: dict[str, list[DocumentRecord]] = {}

    # ------------------------------------------------------------------ loading

    def prefetch(self, entries: Sequence[OutboxKey]) -> None:
        """Load in a few queries everything building ``entries`` reads: the records,
        their lines and allocations, their contacts, their parents' outbox rows and, for
        credit notes, the credited invoices with what was paid and credited on them.
        :meth:`build` loads a record it was not given here on its own."""
        self.session.flush()  # the plain reads below bypass the session
        contact_ids: set[int] = set()
        document_ids: set[int] = set()
        payment_ids: set[int] = set()
        for entry in entries:
            record_type = entry.record_type
            if record_type is RecordType.CUSTOMER or record_type is RecordType.SUPPLIER:
                contact_ids.add(entry.record_id)
            elif record_type is RecordType.INVOICE or record_type is RecordType.CREDIT_NOTE:
                document_ids.add(entry.record_id)
            else:
                payment_ids.add(entry.record_id)
        document_ids -= self._documents.keys()
        payment_ids -= self._payments.keys()
        if (document_ids or payment_ids) and not self._accounts:
            # Few and shared by every line and payment: loaded whole.
            self._accounts = {
                row.id: AccountRecord(row.id, row.code, row.name)
                for row in self.session.execute(
                    select(NominalAccount.id, NominalAccount.code, NominalAccount.name)
                )
            }
        documents = self._load_documents(sorted(document_ids))
        payments = self._load_payments(sorted(payment_ids))
        contact_ids.update(d.contact_id for d in documents)
        contact_ids.update(p.contact_id for p in payments)
        self._load_contacts(contact_ids)

        wanted: set[tuple[RecordType, int]] = set()
        numbers: set[str] = set()
        contacts = self._contacts
        for document in documents:
            wanted.add((_RECORD_TYPE[contacts[document.contact_id].kind], document.contact_id))
            if document.kind is DocumentKind.CREDIT_NOTE and document.original_invoice_number:
                numbers.add(document.original_invoice_number)
        for payment in payments:
            wanted.add((_RECORD_TYPE[contacts[payment.contact_id].kind], payment.contact_id))
            wanted.update(
                (RecordType.INVOICE, a.document_id) for a in self._allocations.get(payment.id, ())
            )
        numbers -= self._invoices_by_number.keys()
        if numbers:
            self._load_credited(sorted(numbers))
            wanted.update(
                (RecordType.INVOICE, invoice.id)
                for invoice in self._invoices_by_number.values()
                if invoice is not None
            )
        wanted -= self._prefetched
        make = partial(tuple.__new__, ParentRow)
        for record_type in RecordType:
            ids = [i for t, i in wanted if t is record_type]
            for chunk in id_chunks(ids, self._chunk):
                for row in self._rows(
                    select(*_PARENT).where(
                        _OUTBOX.c.package == self.package,
                        _OUTBOX.c.record_type == record_type,
                        among(self.session, _OUTBOX.c.record_id, chunk),
                    )
                ):
                    parent = make(row)
                    self._parents[(parent.record_type, parent.record_id)] = parent
        self._prefetched |= wanted

    def _rows(self, query: Select[Any]) -> Iterable[Row[Any]]:
        """``query``'s rows, read on the session's connection: columns only, so none of
        the ORM's loading is needed. That read bypasses the ORM's autoflush, so changes
        the session still holds are flushed first (:meth:`prefetch` has, but a record's
        credited invoice may be read later, from :meth:`build`)."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            session.flush()
        return session.connection().execute(query).all()  # one fetch, not one per row

    def _load_contacts(self, ids: Iterable[int]) -> None:
        missing = set(ids) - self._contacts.keys()
        make = partial(tuple.__new__, ContactRecord)
        contacts = self._contacts
        for chunk in id_chunks(missing, self._chunk):
            for row in self._rows(select(*_CONTACT).where(among(self.session, _CONTACT[0], chunk))):
                contacts[row[0]] = make(row)

    def _load_documents(self, ids: list[int]) -> list[DocumentRecord]:
        loaded: list[DocumentRecord] = []
        for chunk in id_chunks(ids, self._chunk):
            loaded += self._query_documents(among(self.session, _DOCUMENT[0], chunk))
        return loaded

    def _query_documents(self, where: ColumnElement[bool]) -> list[DocumentRecord]:
        make = partial(tuple.__new__, DocumentRecord)
        found = [make(row) for row in self._rows(select(*_DOCUMENT).where(where))]
        self._add_documents(found)
        return found

    def _add_documents(self, documents: list[DocumentRecord]) -> None:
        new = [d for d in documents if d.id not in self._documents]
        for document in new:
            self._documents[document.id] = document
            self._lines[document.id] = []
        make = partial(tuple.__new__, LineRecord)
        lines = self._lines
        document_id = _LINE[0]
        for chunk in id_chunks([d.id for d in new], self._chunk):
            for row in self._rows(
                select(*_LINE)
                .where(among(self.session, document_id, chunk))
                .order_by(document_id, _LINE[1])
            ):
                lines[row[0]].append(make(row))

    def _load_payments(self, ids: list[int]) -> list[PaymentRecord]:
        loaded: list[PaymentRecord] = []
        make = partial(tuple.__new__, PaymentRecord)
        make_allocation = partial(tuple.__new__, AllocationRecord)
        allocations = self._allocations
        for chunk in id_chunks(ids, self._chunk):
            batch = [
                make(row)
                for row in self._rows(
                    select(*_PAYMENT).where(among(self.session, _PAYMENT[0], chunk))
                )
            ]
            for payment in batch:
                self._payments[payment.id] = payment
                allocations[payment.id] = []
            for row in self._rows(
                select(*_ALLOCATION)
                .join(_DOCUMENTS, _DOCUMENTS.c.id == _ALLOCATIONS.c.document_id)
                .where(among(self.session, _ALLOCATIONS.c.payment_id, chunk))
                .order_by(_ALLOCATIONS.c.id)
            ):
                allocations[row[0]].append(make_allocation(row))
            loaded += batch
        return loaded

    def _load_credited(self, numbers: list[str]) -> None:
        invoices: list[DocumentRecord] = []
        for chunk in chunked(numbers, self._chunk):
            self._invoices_by_number.update(dict.fromkeys(chunk))
            found = self._query_documents(
                (Document.kind == DocumentKind.INVOICE)
                & one_of(self.session, Document.number, chunk)
            )
            for invoice in found:
                self._invoices_by_number[invoice.number] = invoice
            invoices += found
            credits = self._query_documents(
                (Document.kind == DocumentKind.CREDIT_NOTE)
                & one_of(self.session, Document.original_invoice_number, chunk)
            )
            for credit in sorted(credits, key=lambda c: c.id):
                number = credit.original_invoice_number or ""
                self._credits_by_invoice.setdefault(number, []).append(credit)
        for id_chunk in id_chunks({i.id for i in invoices}, self._chunk):
            self._paid.update(dict.fromkeys(id_chunk, ZERO))
            for document_id, paid in self.session.execute(
                select(PaymentAllocation.document_id, func.sum(PaymentAllocation.amount))
                .where(among(self.session, PaymentAllocation.document_id, id_chunk))
                .group_by(PaymentAllocation.document_id)
            ):
                self._paid[document_id] = Decimal(paid or 0)

    def _record(self, entry: OutboxKey) -> ContactRecord | DocumentRecord | PaymentRecord | None:
        record_type, record_id = entry.record_type, entry.record_id
        if record_type is RecordType.CUSTOMER or record_type is RecordType.SUPPLIER:
            store: dict[int, Any] = self._contacts
        elif record_type is RecordType.INVOICE or record_type is RecordType.CREDIT_NOTE:
            store = self._documents
        else:
            store = self._payments
        if record_id not in store:
            self.prefetch([entry])
        found: ContactRecord | DocumentRecord | PaymentRecord | None = store.get(record_id)
        return found

    def label(self, entry: OutboxKey) -> str:
        """The record's short name (as :func:`record_label` gives it), from what
        :meth:`prefetch` loaded."""
        record = self._record(entry)
        if isinstance(record, ContactRecord):
            return contact_label(record)
        if isinstance(record, DocumentRecord):
            return document_label(record)
        if isinstance(record, PaymentRecord):
            return payment_label(record)
        if entry.record_type is RecordType.PAYMENT:
            return f"payment #{entry.record_id}"
        return f"{entry.record_type.value} #{entry.record_id}"

    # ------------------------------------------------------------------ parents

    def _parent(self, record_type: RecordType, record_id: int) -> ParentRow | None:
        if (record_type, record_id) not in self._prefetched:
            row = self.session.execute(
                select(*_PARENT).where(
                    OutboxEntry.package == self.package,
                    OutboxEntry.record_type == record_type,
                    OutboxEntry.record_id == record_id,
                )
            ).one_or_none()
            return ParentRow._make(row) if row is not None else None
        return self._parents.get((record_type, record_id))

    def _blocked(self, parent: ParentRow | None, label: str, what: str) -> Problem:
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

    def _delivered_ref(self, parent: ParentRow | None) -> str | None:
        """The parent's id in the package, the planned placeholder, or ``None``."""
        if parent is None:
            return None
        if parent.state in DELIVERED and parent.remote_id:
            return parent.remote_id
        if parent.id in self.assume_delivered:
            return self.PLANNED
        return None

    def _contact_ref(self, contact: ContactRecord) -> str | Problem:
        parent = self._parent(_RECORD_TYPE[contact.kind], contact.id)
        ref = self._delivered_ref(parent)
        if ref is not None:
            return ref
        return self._blocked(parent, contact_label(contact), "customer_ref")

    def _account(self, account_id: int, field: str) -> str | Problem:
        remote_id = self.mappings.get(account_id)
        if remote_id is None:
            account = self._accounts[account_id]
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
        return remote_id

    def _tax(self, percent: Decimal) -> RemoteTaxRate | None:
        if percent not in self._tax_by_rate:
            self._tax_by_rate[percent] = pick_tax_rate(self.tax_rates, percent)
        return self._tax_by_rate[percent]

    # ------------------------------------------------------------------ records

    def build(self, entry: OutboxKey) -> BuiltDraft | Problem:
        """The draft for an outbox row, or the first problem that stops it."""
        record = self._record(entry)
        if record is None:
            return _missing(entry)
        if isinstance(record, ContactRecord):
            return self.contact(record)
        if isinstance(record, DocumentRecord):
            return self.document(record)
        return self.payment(record)

    def contact(self, contact: ContactRecord) -> BuiltDraft:
        """The customer or supplier draft for ``contact``; a contact never has a problem of its
        own."""
        role = (
            ContactRole.CUSTOMER if contact.kind is ContactKind.CUSTOMER else ContactRole.SUPPLIER
        )
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
            draft, contact.account_ref, contact_label(contact), lambda: snapshot_contact(contact)
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

    def document(self, document: DocumentRecord) -> BuiltDraft | Problem:
        """The invoice or credit note draft for ``document``, or the :class:`Problem` that stops
        it: dated before the cut-off, customer not yet in the package, nominal code unmapped,
        no such VAT rate, or the credited invoice not yet in the package."""
        label = document_label(document)
        early = self._before_cutoff(label, document.date)
        if early is not None:
            return early
        customer = self._contacts[document.contact_id]
        contact_ref = self._contact_ref(customer)
        if isinstance(contact_ref, Problem):
            return contact_ref
        records = self._lines[document.id]
        lines: list[LineDraft] = []
        for number, line in enumerate(records, start=1):
            account_id = self._account(line.nominal_account_id, f"lines[{number}].nominal_code")
            if isinstance(account_id, Problem):
                return account_id
            tax = self._tax(line.vat_rate)
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
        draft = DocumentDraft(
            type=_DOCUMENT_TYPE[document.kind],
            number=document.number,
            date=document.date,
            due_date=document.due_date,
            contact_ref=contact_ref,
            reference=document.reference,
            lines=tuple(lines),
            credits_document_ref=credits_ref,
        )
        accounts = self._accounts
        return BuiltDraft(
            draft,
            document.number,
            label,
            lambda: snapshot_document(document, customer, records, accounts),
        )

    def _credited_invoice_ref(self, credit_note: DocumentRecord) -> str | Problem:
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
            _gross(self._lines[invoice.id])
            - self._paid.get(invoice.id, ZERO)
            - sum((_gross(self._lines[c.id]) for c in earlier_credits), ZERO)
        )
        if _gross(self._lines[credit_note.id]) > remaining:
            return ""
        parent = self._parent(RecordType.INVOICE, invoice.id)
        ref = self._delivered_ref(parent)
        if ref is not None:
            return ref
        return self._blocked(parent, document_label(invoice), "original_invoice")

    def payment(self, payment: PaymentRecord) -> BuiltDraft | Problem:
        """The payment draft for ``payment``, or the :class:`Problem` that stops it: dated before
        the cut-off, customer not yet in the package, bank account unmapped, or an invoice it
        pays not yet in the package."""
        label = payment_label(payment)
        early = self._before_cutoff(label, payment.date)
        if early is not None:
            return early
        customer = self._contacts[payment.contact_id]
        contact_ref = self._contact_ref(customer)
        if isinstance(contact_ref, Problem):
            return contact_ref
        bank_id = self._account(payment.bank_account_id, "bank_code")
        if isinstance(bank_id, Problem):
            return bank_id
        records = self._allocations[payment.id]
        allocations: list[AllocationDraft] = []
        for allocation in records:
            parent = self._parent(RecordType.INVOICE, allocation.document_id)
            ref = self._delivered_ref(parent)
            if ref is None:
                invoice_label = document_label(
                    _Named(allocation.document_kind, allocation.document_number)
                )
                return self._blocked(parent, invoice_label, "invoice_number")
            allocations.append(AllocationDraft(ref, allocation.amount))
        draft = PaymentDraft(
            reference=payment.reference,
            date=payment.date,
            contact_ref=contact_ref,
            amount=payment.amount,
            bank_account_id=bank_id,
            allocations=tuple(allocations),
        )
        accounts = self._accounts
        return BuiltDraft(
            draft,
            payment.reference,
            label,
            lambda: snapshot_payment(payment, customer, records, accounts),
        )


class _Named(NamedTuple):
    kind: DocumentKind
    number: str


def _missing(entry: OutboxKey) -> Problem:
    return Problem(
        code="record_missing",
        field="",
        reason=f"The {entry.record_type.value.replace('_', ' ')} #{entry.record_id} "
        "queued for sending no longer exists in Ledgerlink.",
        fix="Choose “Do not send” for this row.",
    )
