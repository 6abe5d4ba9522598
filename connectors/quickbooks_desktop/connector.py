"""QuickBooks Desktop, reached through Intuit's Web Connector.

QuickBooks Desktop has no API Ledgerlink can call: the Web Connector, installed beside
QuickBooks, polls Ledgerlink's SOAP service (``app.services.qbwc``) and carries qbXML
into the open company file. So this connector answers a send by *handing records over*
("Queued for QuickBooks"); the service turns them into qbXML on the next poll and
confirms each one on QuickBooks' answer. Reading (accounts, items, VAT codes, contacts)
comes from what the Web Connector last read (:mod:`.lists`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from connectors.catalogue import QUICKBOOKS_DESKTOP
from connectors.contract import (
    AccountType,
    BatchItem,
    Company,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    CreateResult,
    DocumentDraft,
    HandedOver,
    LockDates,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
    UpdateAnswer,
    only_answer,
)
from connectors.contract import Connector as _Connector
from connectors.errors import ConnectorError, NeedsReconnecting, Rejected
from connectors.quickbooks_desktop import lists, qbxml, updates
from connectors.quickbooks_desktop.lists import ListContact, QuickBooksLists

#: Account types a payment can be deposited to, and those for expenses.
BANK_TYPES = frozenset({"Bank", "OtherCurrentAsset"})
EXPENSE_TYPES = frozenset({"Expense", "OtherExpense", "CostOfGoodsSold"})


class CheckedOnNextPoll(ConnectorError):
    """QuickBooks Desktop cannot be asked now: the Web Connector checks this record on
    its next poll, before anything is sent again."""


class ListsNotRead(NeedsReconnecting):
    """The Web Connector has not read QuickBooks' lists yet."""


def handed_over_reference(draft: ContactDraft | DocumentDraft | PaymentDraft) -> str:
    """What QuickBooks will know a record by: a contact's full name, a document's or a
    payment's reference number."""
    if isinstance(draft, ContactDraft):
        return draft.name.strip()
    if isinstance(draft, DocumentDraft):
        return draft.number
    return draft.reference


def check(draft: ContactDraft | DocumentDraft | PaymentDraft) -> None:
    """Refuse now what QuickBooks would refuse for its form (lengths, colons)."""
    if isinstance(draft, ContactDraft):
        qbxml.check_contact(draft)
    elif isinstance(draft, DocumentDraft):
        qbxml.check_document(draft)
    else:
        qbxml.check_payment(draft)


class QuickBooksDesktopConnector(_Connector):
    """QuickBooks Desktop through the Web Connector (see the module docstring)."""

    info = QUICKBOOKS_DESKTOP

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)

    def _lists(self) -> QuickBooksLists:
        return lists.load(self.context.data_dir)

    def _read(self) -> QuickBooksLists:
        known = self._lists()
        if not known.read_at:
            raise ListsNotRead(
                "QuickBooks Desktop's lists have not arrived yet: add Ledgerlink's .qwc "
                "file to the Web Connector and let it run once with the company file open"
            )
        return known

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        """The company file the Web Connector last read the lists from; ``ListsNotRead``
        until it has run once."""
        known = self._read()
        return Company(id=known.company_file or known.company_name, name=known.company_name)

    def list_accounts(self) -> list[RemoteAccount]:
        """Items that post to an income account (as ``SALES``, ``item:<ListID>``), then
        bank, expense and other accounts."""
        known = self._read()
        found: list[RemoteAccount] = []
        for item in known.items:
            sells = item.item_type in lists.SALES_ITEM_TYPES and item.income_account_id
            if sells and item.is_active:
                found.append(
                    RemoteAccount(
                        id=f"item:{item.list_id}",
                        code=item.full_name,
                        name=f"{item.full_name} (posts to {item.income_account_name})",
                        type=AccountType.SALES,
                    )
                )
        for account in known.accounts:
            if not account.is_active:
                continue
            if account.account_type in BANK_TYPES:
                kind = AccountType.BANK
            elif account.account_type in EXPENSE_TYPES:
                kind = AccountType.EXPENSE
            else:
                kind = AccountType.OTHER
            found.append(
                RemoteAccount(
                    id=account.list_id,
                    code=account.number or account.full_name,
                    name=account.full_name,
                    type=kind,
                )
            )
        return found

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """VAT codes whose rate QuickBooks gave (through their sales tax item)."""
        known = self._read()
        rates: list[RemoteTaxRate] = []
        for code in known.tax_codes:
            rate = known.tax_rate_of(code)
            if rate is not None and code.is_active:
                name = f"{code.name} {code.description}".strip()
                rates.append(RemoteTaxRate(id=code.list_id, name=name, rate=rate))
        return rates

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """The active customers (or suppliers, QuickBooks' vendors) from the lists last read."""
        known = self._read()
        source = known.customers if role is ContactRole.CUSTOMER else known.suppliers
        for contact in source:
            if contact.is_active:
                yield _remote(contact, role)

    def get_contact(self, ref: str) -> RemoteContact | None:
        """A contact by its full name, exactly (spaces and case count)."""
        found = updates.by_name(self._read()).get(ref)
        return _remote(*found) if found else None

    def lock_dates(self) -> LockDates:
        """QuickBooks' closing date from the lists last read; no lock when none is known,
        including before the lists have arrived."""
        known = self._lists()
        if not known.closing_date:
            return LockDates()
        return LockDates(period_lock=date.fromisoformat(known.closing_date))

    # ------------------------------------------------------------------ sending

    def create_batch(self, items: Sequence[BatchItem]) -> list[CreateResult]:
        """Hand each record over to the Web Connector's queue (nothing reaches QuickBooks
        until it polls); refuse at once what QuickBooks would refuse for its form."""
        results: list[CreateResult] = []
        for item in items:
            try:
                check(item.draft)
            except Rejected as rejected:
                results.append(rejected)
                continue
            results.append(
                HandedOver(
                    handed_over_reference(item.draft),
                    "queued for the QuickBooks Web Connector's next poll",
                )
            )
        return results

    def _not_at_once(self) -> ConnectorError:
        return ConnectorError(
            "QuickBooks Desktop takes records only through the Web Connector's queue"
        )

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """Always refused: records go through the Web Connector's queue (``create_batch``)."""
        raise self._not_at_once()

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """Always refused: records go through the Web Connector's queue (``create_batch``)."""
        raise self._not_at_once()

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """Always refused: records go through the Web Connector's queue (``create_batch``)."""
        raise self._not_at_once()

    def update_contact(self, ref: str, update: ContactUpdate) -> HandedOver:
        """Queue a ``CustomerMod``/``VendorMod`` of a contact's details (never its name)
        for the Web Connector's next poll (see :mod:`.updates`); refused at once when the
        contact is unknown or inactive, or a value is too long."""
        answer = only_answer(self.update_contacts([(ref, update)]))
        assert isinstance(answer, HandedOver)
        return answer

    def update_contacts(self, items: Sequence[tuple[str, ContactUpdate]]) -> Iterator[UpdateAnswer]:
        """:meth:`update_contact` for many contacts, the lists read once for them all."""
        try:
            named = updates.by_name(self._read())
        except ConnectorError as trouble:
            yield from (trouble for _ in items)
            return
        for ref, update in items:
            try:
                yield updates.hand_over(named, ref, update)
            except Rejected as refused:
                yield refused

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Never answers now: raises ``CheckedOnNextPoll``, as QuickBooks is asked on the
        Web Connector's next poll, before anything is sent again."""
        raise CheckedOnNextPoll(
            "QuickBooks Desktop is asked about this record on the Web Connector's next "
            "poll, before anything is sent again"
        )


def _remote(contact: ListContact, role: ContactRole) -> RemoteContact:
    return RemoteContact(
        ref=contact.full_name,
        role=role,
        name=contact.full_name,
        contact_name=contact.contact,
        address_1=contact.addr1,
        address_2=contact.addr2,
        address_3=contact.addr3,
        town=contact.city,
        county=contact.state,
        postcode=contact.postcode,
        email=contact.email,
        phone=contact.phone,
        our_ref=contact.account_number,
    )


__all__ = ["CheckedOnNextPoll", "ListsNotRead", "QuickBooksDesktopConnector"]
