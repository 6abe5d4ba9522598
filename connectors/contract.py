"""The one Qt-free contract every accounting package's connector implements.

A connector *declares* what the wizard and the send engine need to know about its
package (:class:`PackageInfo`) and *does* the few things Ledgerlink needs: say which
company it reached, list accounts, tax rates and contacts, create records insert-only,
find a record we may already have sent, and read lock dates. Vendor errors come out as
:mod:`connectors.errors`.

Drafts are plain frozen dataclasses: no ORM objects cross into a connector, so a
connector can run on any thread and be tested without a database.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from connectors.declarations import ConnectField as ConnectField
from connectors.declarations import PackageInfo as PackageInfo
from connectors.declarations import PackageKind as PackageKind
from connectors.declarations import ParsedReference as ParsedReference
from connectors.declarations import RateLimit as RateLimit
from connectors.declarations import ReferenceFormat as ReferenceFormat
from connectors.errors import ConnectorError, Rejected

if TYPE_CHECKING:
    from connectors.limits import RateLimiter
    from connectors.steps import StepStore


class ContactRole(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


class AccountType(StrEnum):
    """The package's account types, reduced to what nominal mapping needs."""

    SALES = "sales"
    BANK = "bank"
    EXPENSE = "expense"
    OTHER = "other"


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class RemoteRecordType(StrEnum):
    """What :meth:`Connector.find_existing` can look for."""

    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"


# Not with the declarations (connectors.declarations): the catalogue does not need it, and
# every dataclass there is built on the way to the dashboard's first page.
@dataclass(frozen=True)
class RateScale:
    """Rate limits shrunk alike on both sides of the real-clock benchmark: each window's
    count times ``count`` (at least one) and its period times ``period``."""

    count: float = 1.0
    period: float = 1.0

    def window(self, limit: int, seconds: float) -> tuple[int, float]:
        """A real ``limit`` per ``seconds`` window, scaled: the (count, seconds) to enforce."""
        return max(1, int(limit * self.count)), seconds * self.period


# ------------------------------------------------------------------------ what we read


@dataclass(frozen=True)
class Company:
    id: str
    name: str


@dataclass(frozen=True)
class RemoteAccount:
    id: str
    code: str
    name: str
    type: AccountType


@dataclass(frozen=True)
class RemoteTaxRate:
    id: str
    name: str
    rate: Decimal


@dataclass(frozen=True)
class RemoteContact:
    ref: str
    role: ContactRole
    name: str
    contact_name: str = ""
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    town: str = ""
    county: str = ""
    postcode: str = ""
    email: str = ""
    phone: str = ""
    our_ref: str = ""


@dataclass(frozen=True)
class RemoteItem:
    """A product or service whose sales post to an income account (packages whose
    :attr:`PackageInfo.sales_post_through_items`)."""

    #: How the item stands in the package's list of accounts and in a mapping.
    remote_id: str
    id: str
    name: str
    type: str
    income_account_id: str
    income_account_name: str
    income_account_code: str


@dataclass(frozen=True)
class LockDates:
    """Documents dated on or before the effective lock date are refused."""

    period_lock: date | None = None
    year_end_lock: date | None = None

    @property
    def effective(self) -> date | None:
        """The later of the two lock dates: nothing dated on or before it can be posted."""
        dates = [d for d in (self.period_lock, self.year_end_lock) if d is not None]
        return max(dates) if dates else None


# ------------------------------------------------------------------------ what we send


@dataclass(frozen=True)
class ContactDraft:
    role: ContactRole
    our_ref: str
    name: str
    contact_name: str = ""
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    town: str = ""
    county: str = ""
    postcode: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class LineDraft:
    description: str
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal
    account_id: str
    tax_rate_id: str
    vat_rate: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class DocumentDraft:
    type: DocumentType
    number: str
    date: dt.date
    contact_ref: str
    lines: tuple[LineDraft, ...]
    due_date: dt.date | None = None
    reference: str = ""
    #: Credit notes: the package's id of the invoice this credits (empty: none).
    credits_document_ref: str = ""

    @property
    def net_total(self) -> Decimal:
        """The lines' net amounts added up."""
        return sum((line.net_amount for line in self.lines), Decimal("0.00"))

    @property
    def vat_total(self) -> Decimal:
        """The lines' VAT added up."""
        return sum((line.vat_amount for line in self.lines), Decimal("0.00"))

    @property
    def gross_total(self) -> Decimal:
        """Net plus VAT: what the customer or supplier owes on the document."""
        return self.net_total + self.vat_total


@dataclass(frozen=True)
class AllocationDraft:
    document_ref: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentDraft:
    reference: str
    date: dt.date
    contact_ref: str
    amount: Decimal
    bank_account_id: str
    allocations: tuple[AllocationDraft, ...] = field(default_factory=tuple)


Draft = ContactDraft | DocumentDraft | PaymentDraft

#: The parent reference a pre-flight draft carries when its parent is to be created earlier
#: in the same send (so :meth:`Connector.check_draft` cannot check it yet).
PLANNED_PARENT_REF = "(created earlier in this send)"


@dataclass(frozen=True)
class BatchItem:
    """One record in a batch create, with its own stable idempotency key."""

    draft: Draft
    idempotency_key: str


#: A contact's details that the contact sync keeps in step (the name stays as linked).
SYNC_FIELDS: tuple[str, ...] = (
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


@dataclass(frozen=True)
class ContactUpdate:
    """New values for a linked contact's details, every one of :data:`SYNC_FIELDS`."""

    contact_name: str = ""
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    town: str = ""
    county: str = ""
    postcode: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class HandedOver:
    """A record a desktop bridge has taken but the package has not confirmed yet.

    ``reference`` is what the package will know the record by once it has it (a Sage 50
    account reference, a QuickBooks Desktop full name, a document number): records that
    depend on this one use it, since the bridge delivers in order. ``note`` says where the
    record now is, in words for the dashboard ("in customers-2026-12-03.csv, line 4").
    """

    reference: str
    note: str
    #: Where the bridge put it, for its own ledger (Sage 50: the import file's name).
    location: str = ""
    #: The lines of ``location`` that hold it (a document may take several).
    lines: tuple[int, ...] = ()


#: What a batch create answers per record: the package's id, a refusal, or (desktop
#: bridges) a hand-over awaiting confirmation.
CreateResult = str | Rejected | HandedOver

#: What a contact update answers: the contact as the package now holds it, or (desktop
#: bridges) a hand-over confirmed later, on the package's answer or evidence.
UpdateResult = RemoteContact | HandedOver

#: One contact's answer in a run of updates: as :data:`UpdateResult`, or the error that
#: stopped that one contact (a :class:`~connectors.errors.Rejected` names why).
UpdateAnswer = UpdateResult | ConnectorError


def only_answer(answers: Iterator[UpdateAnswer]) -> UpdateResult:
    """The answer of a run of one update (see :meth:`Connector.update_contacts`): its
    result, or its error raised, as :meth:`Connector.update_contact` gives them."""
    (answer,) = answers
    if isinstance(answer, ConnectorError):
        raise answer
    return answer


# ------------------------------------------------------------------------ the contract


@runtime_checkable
class SalesThroughItems(Protocol):
    """Optional capability: invoices post through items, not accounts (see
    :attr:`PackageInfo.sales_post_through_items`). Services ask for it with
    :func:`sales_through_items`, never by package name."""

    def list_items(self) -> list[RemoteItem]:
        """Active items whose sales post to an income account."""
        ...

    def list_income_accounts(self) -> list[RemoteAccount]:
        """Active income accounts: what a new item's sales can post to."""
        ...

    def create_item(self, name: str, income_account_id: str, idempotency_key: str) -> RemoteItem:
        """Add a service item posting to ``income_account_id`` (only with the user's
        consent, which the caller asks for)."""
        ...


def sales_through_items(connector: object) -> SalesThroughItems | None:
    """The connector as :class:`SalesThroughItems`, or ``None`` where its package posts
    sales lines to accounts directly."""
    info = getattr(connector, "info", None)
    if isinstance(info, PackageInfo) and not info.sales_post_through_items:
        return None
    return connector if isinstance(connector, SalesThroughItems) else None


@runtime_checkable
class ListsChangedContacts(Protocol):
    """Optional capability: the package can list only the contacts changed since a
    moment (Xero's ``If-Modified-Since``). The contact sync uses it instead of reading
    every contact when it already knows the values each linked contact last agreed on.
    Ask for it with :func:`lists_changed_contacts`."""

    def changed_contacts(self, since: dt.datetime) -> Iterator[tuple[str, RemoteContact | None]]:
        """Every contact (either role, archived ones too) the package changed after
        ``since`` (UTC): its reference, and the contact, or ``None`` when it is no longer
        one Ledgerlink may use (archived)."""
        ...


def lists_changed_contacts(connector: object) -> ListsChangedContacts | None:
    """The connector as :class:`ListsChangedContacts`, or ``None`` where its package
    cannot list changed contacts (then every contact is read)."""
    return connector if isinstance(connector, ListsChangedContacts) else None


@dataclass(frozen=True)
class PackageContact:
    """One package record that can serve as customer and supplier, with the roles the
    package itself gives it: one, both, or none (the package does not say, and nobody
    may guess). ``contact.role`` is only where it came from; ``roles`` decides."""

    contact: RemoteContact
    roles: frozenset[ContactRole]

    def as_role(self, role: ContactRole) -> RemoteContact:
        """The record as a customer or as a supplier."""
        return replace(self.contact, role=role)


@runtime_checkable
class ContactsWithRoles(Protocol):
    """Optional capability: one record serves customers and suppliers, and the package
    can say which each record is (FreeAgent's ``clients`` and ``suppliers`` views, Xero's
    ``IsCustomer`` and ``IsSupplier``).
    The one-time import asks for it with :func:`contacts_with_roles`, so a record comes
    in as a customer, a supplier, both, or is shown for the user to choose."""

    def iter_contacts_with_roles(self) -> Iterator[PackageContact]:
        """Every active record once, with the roles the package gives it."""
        ...


def contacts_with_roles(connector: object) -> ContactsWithRoles | None:
    """The connector as :class:`ContactsWithRoles`, or ``None`` where the package keeps
    customers and suppliers apart (or cannot say which is which)."""
    return connector if isinstance(connector, ContactsWithRoles) else None


class SecretStore(Protocol):
    """Where a connector keeps tokens and passwords (the OS keyring in the app)."""

    def get(self, name: str) -> str | None:
        """The secret stored under ``name``, or ``None`` if there is none."""

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, replacing any earlier one."""

    def delete(self, name: str) -> None:
        """Forget the secret under ``name``; a missing one is not an error."""


@dataclass
class ConnectorContext:
    """What the app hands a connector when it opens one."""

    data_dir: Path
    settings: Mapping[str, str]
    secrets: SecretStore
    #: An httpx transport to use instead of the network (tests and local stand-ins).
    transport: Any = None
    #: Shrinks the package's rate limits for the real-clock benchmark, whose stand-ins
    #: are scaled alike; no scaling everywhere else.
    rate_scale: RateScale = field(default_factory=lambda: RateScale())
    #: Where the connector keeps finished steps of multi-step records: the app's store,
    #: shared by every PC on a shared store; ``None`` keeps a file in ``data_dir``.
    steps: StepStore | None = None


class Connector(ABC):
    """One open connection to one accounting package (one company)."""

    info: ClassVar[PackageInfo]

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        #: The connection's own rate limiter, when it paces its own requests (cloud
        #: connectors); ``None`` and the send engine paces its calls to it instead.
        self.rate_limiter: RateLimiter | None = None

    @abstractmethod
    def connect(self) -> Company:
        """Check the connection works and say which company it reached."""

    @abstractmethod
    def list_accounts(self) -> list[RemoteAccount]:
        """The package's chart of accounts (sales, bank, expense and others)."""

    @abstractmethod
    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The package's VAT rates."""

    @abstractmethod
    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Every customer (or supplier) the package holds, page by page."""

    @abstractmethod
    def get_contact(self, ref: str) -> RemoteContact | None:
        """One contact by its reference, or ``None`` when the package has no such record."""

    @abstractmethod
    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """Insert a contact; return the package's reference for it."""

    @abstractmethod
    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """Insert an invoice or credit note; return the package's id for it."""

    @abstractmethod
    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """Insert a customer payment allocated to invoices; return the package's id."""

    @abstractmethod
    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """The package's id of a record we may already have sent, found by our own key
        (contact account reference, document number or payment reference)."""

    @abstractmethod
    def lock_dates(self) -> LockDates:
        """The package's lock dates."""

    def create_batch(self, items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        """Create records of one kind in as few requests as the package allows
        (``info.batch_size`` at most per call).

        The result matches ``items`` by position: the package's id for each record it
        took, or the :class:`~connectors.errors.Rejected` for each it refused (a desktop
        bridge answers :class:`HandedOver` for each record it queued). An error
        about the whole request (uncertain outcome, rate limit, sign-in) is raised, and
        then applies to every item. Packages with a batch endpoint override this; the
        default sends one request per item.
        """
        results: list[CreateResult] = []
        for item in items:
            try:
                results.append(self._create_one(item))
            except Rejected as rejected:
                results.append(rejected)
        return results

    def _create_one(self, item: BatchItem) -> str:
        draft = item.draft
        if isinstance(draft, ContactDraft):
            return self.create_contact(draft, item.idempotency_key)
        if isinstance(draft, DocumentDraft):
            return self.create_document(draft, item.idempotency_key)
        return self.create_payment(draft, item.idempotency_key)

    def update_contact(self, ref: str, update: ContactUpdate) -> UpdateResult:
        """Change a contact's details (never its name) in the package; the contact as
        the package now holds it, or (a desktop bridge) a :class:`HandedOver` to be
        confirmed later. Raises :class:`~connectors.errors.Rejected` when the package
        refuses (locked or archived contact, bad value). Only for packages whose
        ``info.can_update_contacts`` is true."""
        raise Rejected(
            code="updates_not_supported",
            reason=f"{self.info.name} does not let Ledgerlink change a contact's details.",
            fix=f"Change them in {self.info.name} by hand.",
        )

    def update_contacts(self, items: Sequence[tuple[str, ContactUpdate]]) -> Iterator[UpdateAnswer]:
        """:meth:`update_contact` for each ``(ref, update)``: one answer per item, in
        order, an error that stops one contact answered for that contact only, the others
        going on. The default makes each write as its answer is taken, so a caller can
        record each answer before the next write; a desktop bridge overrides it to read
        its lists and write its file once for them all."""
        for ref, update in items:
            try:
                yield self.update_contact(ref, update)
            except ConnectorError as trouble:
                yield trouble

    def display_name(self, draft: ContactDraft) -> str:
        """The name the package will show for ``draft``: its own name, or (QuickBooks
        Online) a second display name the user chose for a business that is both a
        customer and a supplier."""
        return draft.name.strip()

    def check_draft(self, draft: Draft) -> Rejected | None:
        """The package's own rules for one record, checked before anything is written
        (pre-flight and a desktop bridge's files): the refusal the package would give, or
        ``None``. Packages that answer at once leave this to the package."""
        return None

    def find_handed_over(self, record_type: RemoteRecordType, our_key: str) -> HandedOver | None:
        """A desktop bridge: where a record whose outcome is uncertain was already handed
        over (a file written, a request queued) though the package has not confirmed it;
        ``None`` when it was not. Such a record goes back to *handed over*, never to
        *successful* on a guess, and is never handed over twice."""
        return None

    def document_numbers(self, doc_type: DocumentType) -> set[str] | None:
        """Every document number of a type the package holds, for the pre-flight check;
        ``None`` where listing them would cost more than the check is worth."""
        return None

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Contacts whose name equals ``name`` exactly. Override where the API can search."""
        return [c for c in self.iter_contacts(role) if c.name == name]

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release sockets or files."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
