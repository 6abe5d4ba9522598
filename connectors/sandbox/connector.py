"""The Sandbox connector: a practice accounting package behind the real contract.

The Sandbox is the embedded default package, so the whole product runs offline on a
fresh machine. It enforces the rules real packages enforce (unique contact names, unique
document numbers, lock dates, no over-payment…) and refuses with the same
:class:`~connectors.errors.Rejected` shape, so a user practising on it learns what Xero,
QuickBooks or Sage will do.

Its file is ``context.settings["database"]`` (relative paths are inside the data folder)
or ``<data_dir>/sandbox.db``, opened lazily on first use.

Threads: every call is its own short transaction. Use one connector per thread (each
has its own connections; SQLite's WAL and a busy timeout let them share the file).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from connectors.catalogue import SANDBOX
from connectors.contract import (
    BatchItem,
    Company,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    CreateResult,
    DocumentDraft,
    DocumentType,
    Draft,
    LockDates,
    PackageInfo,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.sandbox.faults import FaultPlan, Operation
from connectors.sandbox.store import DEFAULT_FILE_NAME, SandboxStore

SANDBOX_INFO = SANDBOX


class SandboxConnector(Connector):
    """The practice package. ``faults`` lets tests make it fail like a real one."""

    info: ClassVar[PackageInfo] = SANDBOX_INFO
    DEFAULT_PAGE_SIZE: ClassVar[int] = 200

    def __init__(
        self,
        context: ConnectorContext,
        *,
        faults: FaultPlan | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        super().__init__(context)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.faults = faults if faults is not None else FaultPlan()
        self.page_size = page_size
        self._store: SandboxStore | None = None
        self._store_lock = threading.Lock()

    @property
    def database_path(self) -> Path:
        """The Sandbox file this connector uses."""
        setting = (self.context.settings.get("database") or "").strip()
        if not setting:
            return self.context.data_dir / DEFAULT_FILE_NAME
        path = Path(setting).expanduser()
        return path if path.is_absolute() else self.context.data_dir / path

    @property
    def store(self) -> SandboxStore:
        """The Sandbox's data and admin API, opened (and created) on first use."""
        with self._store_lock:
            if self._store is None:
                self._store = SandboxStore(self.database_path)
            return self._store

    # ------------------------------------------------------------------ the contract

    def connect(self) -> Company:
        """The Sandbox file's company (an armed fault may fire first)."""
        self.faults.before(Operation.CONNECT)
        return self.store.company()

    def list_accounts(self) -> list[RemoteAccount]:
        """The Sandbox chart of accounts, by code."""
        self.faults.before(Operation.LIST_ACCOUNTS)
        return self.store.list_accounts()

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The Sandbox VAT rates."""
        self.faults.before(Operation.LIST_TAX_RATES)
        return self.store.list_tax_rates()

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Every contact of ``role``, fetched ``page_size`` at a time (each page is one
        call, and may be rate-limited like a real package's)."""
        after = ""
        while True:
            self.faults.before(Operation.LIST_CONTACTS)
            page = self.store.contacts_page(role, after=after, limit=self.page_size)
            yield from page
            if len(page) < self.page_size:
                return
            after = page[-1].ref

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a Sandbox contact's details (never its name)."""
        self.faults.before(Operation.UPDATE_CONTACT)
        return self.store.update_contact(ref, update)

    def get_contact(self, ref: str) -> RemoteContact | None:
        """A Sandbox contact by reference, or ``None``."""
        self.faults.before(Operation.GET_CONTACT)
        return self.store.get_contact(ref)

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Sandbox contacts of ``role`` whose name matches ``name``."""
        self.faults.before(Operation.FIND_CONTACTS_BY_NAME)
        return self.store.find_contacts_by_name(role, name)

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """Write the contact to the Sandbox file; a fault may fire before or after the write."""
        self.faults.before(Operation.CREATE_CONTACT)
        ref = self.store.create_contact(draft, idempotency_key)
        self.faults.after_write(Operation.CREATE_CONTACT, ref)
        return ref

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """Insert an invoice or credit note.

        A credit note whose draft carries ``credits_document_ref`` (the Sandbox id of the
        invoice it credits) is set against that invoice in the same transaction.
        """
        self.faults.before(Operation.CREATE_DOCUMENT)
        ref = self.store.create_document(
            draft, idempotency_key, credits_invoice_ref=draft.credits_document_ref
        )
        self.faults.after_write(Operation.CREATE_DOCUMENT, ref)
        return ref

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """Write the payment to the Sandbox file; a fault may fire before or after the write."""
        self.faults.before(Operation.CREATE_PAYMENT)
        ref = self.store.create_payment(draft, idempotency_key)
        self.faults.after_write(Operation.CREATE_PAYMENT, ref)
        return ref

    def create_batch(self, items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        """Create a batch in one Sandbox transaction: each record checked and written as
        its own create would be, refused records answered by position, idempotency keys
        honoured. Faults fire per record as they do on single creates; when one fires,
        the records before it are kept (committed) and the error is raised."""
        operations = [_operation(item.draft) for item in items]
        results = self.store.create_many(
            [(item.draft, item.idempotency_key) for item in items],
            before=lambda index: self.faults.before(operations[index]),
            after=lambda index, ref: self.faults.after_write(operations[index], ref),
        )
        return list(results)

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """Every number already used for ``doc_type`` in the Sandbox."""
        self.faults.before(Operation.LIST_DOCUMENTS)
        return self.store.document_numbers(doc_type)

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """The Sandbox record an earlier send made for ``our_key``, if any."""
        self.faults.before(Operation.FIND_EXISTING)
        return self.store.find_existing(record_type, our_key)

    def lock_dates(self) -> LockDates:
        """The Sandbox has one lock date, reported as the period lock."""
        self.faults.before(Operation.LOCK_DATES)
        return LockDates(period_lock=self.store.lock_date())

    def close(self) -> None:
        """Close the Sandbox file, if it is open; safe to call twice."""
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _operation(draft: Draft) -> Operation:
    """The create operation a draft's faults are armed on."""
    if isinstance(draft, ContactDraft):
        return Operation.CREATE_CONTACT
    if isinstance(draft, DocumentDraft):
        return Operation.CREATE_DOCUMENT
    return Operation.CREATE_PAYMENT
