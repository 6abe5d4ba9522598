"""What the Sandbox's rules read, loaded for a whole batch in a few queries.

The rules (:mod:`connectors.sandbox.rules`) ask the same questions of every record: is
this number, reference or name already taken, which contact or invoice is this, how
much is still owed on it. :class:`Lookups` answers them inside the caller's
transaction. :meth:`Lookups.preload` loads the answers a batch of drafts needs in a few
set-based queries; anything not preloaded is read on first use (one query) and kept.
The records a batch creates are remembered as they are accepted
(:meth:`Lookups.remember_contact` and the like), so a record sees the ones before it
exactly as it would if each had been written on its own.

Lookups never write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, func, literal_column, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from connectors.contract import (
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    Draft,
    RemoteAccount,
    RemoteTaxRate,
)
from connectors.sandbox.models import (
    CONTACT_PREFIX,
    DOCUMENT_PREFIX,
    PAYMENT_PREFIX,
    PENNY,
    AccountRow,
    AllocationRow,
    CompanyRow,
    ContactRow,
    CreditAllocationRow,
    DocumentRow,
    PaymentRow,
    TaxRateRow,
    format_ref,
    name_key,
    parse_ref,
)

ZERO = Decimal("0.00")
#: Values per ``IN (…)`` list, well under SQLite's limit on bound parameters.
CHUNK = 500

K = TypeVar("K")


@dataclass(frozen=True)
class ContactFacts:
    """What the rules need of a Sandbox contact."""

    pk: int
    role: ContactRole
    name: str

    @property
    def ref(self) -> str:
        """The contact's reference, as connectors hand it out."""
        return format_ref(CONTACT_PREFIX, self.pk)


@dataclass(frozen=True)
class DocumentFacts:
    """What the rules need of a Sandbox invoice or credit note."""

    pk: int
    type: DocumentType
    number: str
    date: date
    contact_pk: int
    contact_name: str
    gross_total: Decimal

    @property
    def ref(self) -> str:
        """The document's reference, as connectors hand it out."""
        return format_ref(DOCUMENT_PREFIX, self.pk)


@dataclass(frozen=True)
class PaymentFacts:
    """What the rules need of a Sandbox payment (to name it in a refusal)."""

    pk: int
    amount: Decimal
    date: date
    contact_name: str

    @property
    def ref(self) -> str:
        """The payment's reference, as connectors hand it out."""
        return format_ref(PAYMENT_PREFIX, self.pk)


def invoice_unpaid(gross_total: Decimal, paid: Decimal, credited: Decimal) -> Decimal:
    """What is still unpaid on an invoice: its gross total less the payments and the credit
    notes set against it, to the penny. The one rule for it, whether the amounts were
    loaded for a batch (:meth:`Lookups.invoice_outstanding`) or for one invoice
    (:func:`connectors.sandbox.rules.invoice_outstanding`)."""
    return (gross_total - paid - credited).quantize(PENNY, ROUND_HALF_UP)


def _chunks(values: Iterable[K]) -> Iterator[list[K]]:
    ordered = list(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _document_query() -> Select[int, DocumentType, str, date, int, str, Decimal, Decimal]:
    return select(
        DocumentRow.pk,
        DocumentRow.type,
        DocumentRow.number,
        DocumentRow.date,
        DocumentRow.contact_pk,
        ContactRow.name,
        DocumentRow.net_total,
        DocumentRow.vat_total,
    ).join(ContactRow, ContactRow.pk == DocumentRow.contact_pk)


def _contact_query() -> Select[int, ContactRole, str, str, str | None]:
    return select(
        ContactRow.pk, ContactRow.role, ContactRow.name, ContactRow.name_key, ContactRow.our_ref
    )


def _payment_query() -> Select[int, str, Decimal, date, str]:
    return select(
        PaymentRow.pk, PaymentRow.reference, PaymentRow.amount, PaymentRow.date, ContactRow.name
    ).join(ContactRow, ContactRow.pk == PaymentRow.contact_pk)


class Lookups:
    """The rules' questions answered inside one transaction (see the module's notes)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock_loaded = False
        self._lock_date: date | None = None
        self._accounts: dict[str, RemoteAccount] | None = None
        self._tax_rates: dict[str, RemoteTaxRate] | None = None
        self._contacts: dict[int, ContactFacts | None] = {}
        self._documents: dict[int, DocumentFacts | None] = {}
        self._names: dict[str, ContactFacts | None] = {}
        self._our_refs: dict[tuple[ContactRole, str], ContactFacts | None] = {}
        self._numbers: dict[tuple[DocumentType, str], DocumentFacts | None] = {}
        self._payments: dict[str, PaymentFacts | None] = {}
        #: Per invoice: paid and credited so far (loaded, plus what this batch set).
        self._paid: dict[int, Decimal] = {}
        self._credited: dict[int, Decimal] = {}
        self._credit_used: dict[int, Decimal] = {}

    # ------------------------------------------------------------------ preload

    def preload(self, drafts: Sequence[Draft]) -> None:
        """Load in a few queries what checking ``drafts`` reads: the lock date, chart and
        VAT rates, the contacts and invoices they refer to (with what is still owed on
        the invoices), and whatever already holds their names, account references,
        numbers or payment references."""
        self.lock_date()
        self._chart()
        contact_pks: set[int] = set()
        document_pks: set[int] = set()
        names: set[str] = set()
        our_refs: set[str] = set()
        numbers: set[str] = set()
        references: set[str] = set()
        for draft in drafts:
            if isinstance(draft, ContactDraft):
                names.add(name_key(draft.name))
                if draft.our_ref.strip():
                    our_refs.add(draft.our_ref.strip())
                continue
            pk = parse_ref(CONTACT_PREFIX, draft.contact_ref)
            if pk is not None:
                contact_pks.add(pk)
            if isinstance(draft, DocumentDraft):
                numbers.add(draft.number.strip())
                refs = [draft.credits_document_ref] if draft.credits_document_ref.strip() else []
            else:
                references.add(draft.reference.strip())
                refs = [a.document_ref for a in draft.allocations]
            for ref in refs:
                pk = parse_ref(DOCUMENT_PREFIX, ref)
                if pk is not None:
                    document_pks.add(pk)
        self._load_contacts(ContactRow.pk, contact_pks - self._contacts.keys())
        self._load_contacts(ContactRow.name_key, names - self._names.keys())
        self._load_contacts(ContactRow.our_ref, our_refs)
        for role in ContactRole:
            for our_ref in our_refs:
                self._our_refs.setdefault((role, our_ref), None)
        for key in names:
            self._names.setdefault(key, None)
        for pk in contact_pks:
            self._contacts.setdefault(pk, None)
        self._load_documents(DocumentRow.pk, document_pks - self._documents.keys())
        self._load_documents(DocumentRow.number, numbers)
        for doc_type in DocumentType:
            for number in numbers:
                self._numbers.setdefault((doc_type, number), None)
        for pk in document_pks:
            self._documents.setdefault(pk, None)
        self._load_payments(references - self._payments.keys())
        self._load_settled(
            pk
            for pk in document_pks
            if (facts := self._documents.get(pk)) is not None and facts.type is DocumentType.INVOICE
        )

    def _load_contacts(self, column: InstrumentedAttribute[Any], values: Iterable[Any]) -> None:
        for chunk in _chunks(sorted(values, key=str)):
            for pk, role, name, key, our_ref in self.session.execute(
                _contact_query().where(column.in_(chunk))
            ):
                self._keep_contact(ContactFacts(pk, role, name), key, our_ref)

    def _keep_contact(self, facts: ContactFacts, key: str, our_ref: str | None) -> None:
        self._contacts[facts.pk] = facts
        self._names[key] = facts
        if our_ref is not None:
            self._our_refs[(facts.role, our_ref)] = facts

    def _load_documents(self, column: InstrumentedAttribute[Any], values: Iterable[Any]) -> None:
        for chunk in _chunks(sorted(values, key=str)):
            for (
                pk,
                doc_type,
                number,
                when,
                contact_pk,
                contact_name,
                net,
                vat,
            ) in self.session.execute(_document_query().where(column.in_(chunk))):
                self._keep_document(
                    DocumentFacts(pk, doc_type, number, when, contact_pk, contact_name, net + vat)
                )

    def _keep_document(self, facts: DocumentFacts) -> None:
        self._documents[facts.pk] = facts
        self._numbers[(facts.type, facts.number)] = facts

    def _load_payments(self, references: Iterable[str]) -> None:
        wanted = set(references)
        for chunk in _chunks(sorted(wanted)):
            for pk, reference, amount, when, contact_name in self.session.execute(
                _payment_query().where(PaymentRow.reference.in_(chunk))
            ):
                self._payments[reference] = PaymentFacts(pk, amount, when, contact_name)
        for reference in wanted:
            self._payments.setdefault(reference, None)

    def _load_settled(self, invoice_pks: Iterable[int]) -> None:
        """Paid and credited so far, per invoice, in one query a chunk."""
        wanted = sorted(set(invoice_pks) - self._paid.keys())
        for chunk in _chunks(wanted):
            for pk in chunk:
                self._paid[pk] = ZERO
                self._credited[pk] = ZERO
            paid = (
                select(
                    literal_column("0", Integer),
                    AllocationRow.document_pk,
                    func.sum(AllocationRow.amount),
                )
                .where(AllocationRow.document_pk.in_(chunk))
                .group_by(AllocationRow.document_pk)
            )
            credited = (
                select(
                    literal_column("1", Integer),
                    CreditAllocationRow.invoice_pk,
                    func.sum(CreditAllocationRow.amount),
                )
                .where(CreditAllocationRow.invoice_pk.in_(chunk))
                .group_by(CreditAllocationRow.invoice_pk)
            )
            for is_credit, pk, total in self.session.execute(paid.union_all(credited)):
                (self._credited if is_credit else self._paid)[pk] += total or ZERO

    def _chart(self) -> None:
        if self._accounts is None:
            self._accounts = {
                id_: RemoteAccount(id=id_, code=code, name=name, type=type_)
                for id_, code, name, type_ in self.session.execute(
                    select(AccountRow.id, AccountRow.code, AccountRow.name, AccountRow.type)
                )
            }
            self._tax_rates = {
                id_: RemoteTaxRate(id=id_, name=name, rate=rate)
                for id_, name, rate in self.session.execute(
                    select(TaxRateRow.id, TaxRateRow.name, TaxRateRow.rate)
                )
            }

    # ------------------------------------------------------------------ questions

    def lock_date(self) -> date | None:
        """The company's lock date, if any."""
        if not self._lock_loaded:
            found = self.session.execute(
                select(CompanyRow.lock_date).where(CompanyRow.id == 1)
            ).one_or_none()
            if found is None:  # pragma: no cover - created with the file
                raise RuntimeError("the Sandbox file has no company row")
            self._lock_date = found[0]
            self._lock_loaded = True
        return self._lock_date

    def account(self, account_id: str) -> RemoteAccount | None:
        """The chart's account with this id, or ``None``."""
        self._chart()
        assert self._accounts is not None
        return self._accounts.get(account_id)

    def tax_rate(self, tax_rate_id: str) -> RemoteTaxRate | None:
        """The VAT rate with this id, or ``None``."""
        self._chart()
        assert self._tax_rates is not None
        return self._tax_rates.get(tax_rate_id)

    def contact(self, ref: str) -> ContactFacts | None:
        """The contact with reference ``ref``, or ``None`` (none, or malformed)."""
        pk = parse_ref(CONTACT_PREFIX, ref)
        if pk is None:
            return None
        if pk not in self._contacts:
            self._load_contacts(ContactRow.pk, [pk])
            self._contacts.setdefault(pk, None)
        return self._contacts[pk]

    def document(self, ref: str) -> DocumentFacts | None:
        """The invoice or credit note with reference ``ref``, or ``None``."""
        pk = parse_ref(DOCUMENT_PREFIX, ref)
        if pk is None:
            return None
        if pk not in self._documents:
            self._load_documents(DocumentRow.pk, [pk])
            self._documents.setdefault(pk, None)
        return self._documents[pk]

    def contact_named(self, name: str) -> ContactFacts | None:
        """The contact whose name matches ``name`` (capitals and spaces ignored)."""
        key = name_key(name)
        if key not in self._names:
            self._load_contacts(ContactRow.name_key, [key])
            self._names.setdefault(key, None)
        return self._names[key]

    def contact_with_our_ref(self, role: ContactRole, our_ref: str) -> ContactFacts | None:
        """The contact of ``role`` that carries our account reference ``our_ref``."""
        if (role, our_ref) not in self._our_refs:
            self._load_contacts(ContactRow.our_ref, [our_ref])
            self._our_refs.setdefault((role, our_ref), None)
        return self._our_refs[(role, our_ref)]

    def document_numbered(self, doc_type: DocumentType, number: str) -> DocumentFacts | None:
        """The ``doc_type`` document numbered ``number``, or ``None``."""
        if (doc_type, number) not in self._numbers:
            self._load_documents(DocumentRow.number, [number])
            self._numbers.setdefault((doc_type, number), None)
        return self._numbers[(doc_type, number)]

    def payment_referenced(self, reference: str) -> PaymentFacts | None:
        """The payment with this reference, or ``None``."""
        if reference not in self._payments:
            self._load_payments([reference])
        return self._payments[reference]

    def invoice_outstanding(self, invoice: DocumentFacts) -> Decimal:
        """Gross minus payments and credit notes already set against the invoice."""
        self._load_settled([invoice.pk])
        return invoice_unpaid(
            invoice.gross_total, self._paid[invoice.pk], self._credited[invoice.pk]
        )

    def credit_note_unallocated(self, credit_note: DocumentFacts) -> Decimal:
        """The part of a credit note not yet set against any invoice."""
        return credit_note.gross_total - self._credit_note_used(credit_note.pk)

    def _credit_note_used(self, pk: int) -> Decimal:
        if pk not in self._credit_used:
            used = self.session.scalar(
                select(func.sum(CreditAllocationRow.amount)).where(
                    CreditAllocationRow.credit_note_pk == pk
                )
            )
            self._credit_used[pk] = used or ZERO
        return self._credit_used[pk]

    # ------------------------------------------------------------------ remembering

    def remember_contact(self, facts: ContactFacts, our_ref: str | None) -> None:
        """A contact the caller will write in this transaction (not yet written)."""
        self._keep_contact(facts, name_key(facts.name), our_ref)

    def remember_document(self, facts: DocumentFacts) -> None:
        """A document the caller will write in this transaction (not yet written)."""
        self._keep_document(facts)
        if facts.type is DocumentType.INVOICE:
            self._paid[facts.pk] = ZERO
            self._credited[facts.pk] = ZERO
        else:
            self._credit_used[facts.pk] = ZERO

    def remember_payment(
        self, reference: str, facts: PaymentFacts, allocations: Iterable[tuple[int, Decimal]]
    ) -> None:
        """A payment the caller will write in this transaction (not yet written), with
        its (invoice pk, amount) allocations."""
        self._payments[reference] = facts
        for invoice_pk, amount in allocations:
            self._load_settled([invoice_pk])
            self._paid[invoice_pk] += amount

    def remember_credit(self, credit_note_pk: int, invoice_pk: int, amount: Decimal) -> None:
        """Part of a credit note the caller will set against an invoice in this
        transaction (not yet written: what is read first must not include it)."""
        self._load_settled([invoice_pk])
        self._credited[invoice_pk] += amount
        self._credit_used[credit_note_pk] = self._credit_note_used(credit_note_pk) + amount
