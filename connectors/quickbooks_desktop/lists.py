"""What the Web Connector has read from QuickBooks: customers, suppliers, accounts, items
and VAT codes, kept in a small JSON file beside the data so the connector can answer
without QuickBooks being open.

The SOAP service (in the app) writes it when a list query's answer arrives; the
connector only reads it. Writes replace the file whole.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from connectors.quickbooks_desktop.qbxml import text

FOLDER = "quickbooks_desktop"
FILE = "lists.json"
_LOCK = threading.Lock()

#: Item types a sales line can post through, with the element holding their account.
SALES_ITEM_TYPES = ("ItemServiceRet", "ItemNonInventoryRet", "ItemOtherChargeRet")


@dataclass(frozen=True)
class ListContact:
    list_id: str
    full_name: str
    is_active: bool = True
    contact: str = ""
    addr1: str = ""
    addr2: str = ""
    addr3: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    phone: str = ""
    email: str = ""
    account_number: str = ""
    #: QuickBooks' version stamp, which a ``CustomerMod``/``VendorMod`` must echo ("" in
    #: lists read before Ledgerlink kept it).
    edit_sequence: str = ""


@dataclass(frozen=True)
class ListAccount:
    list_id: str
    full_name: str
    account_type: str
    number: str = ""
    is_active: bool = True


@dataclass(frozen=True)
class ListItem:
    list_id: str
    full_name: str
    item_type: str
    income_account_id: str = ""
    income_account_name: str = ""
    tax_rate: str = ""  # sales tax items only (percent)
    is_active: bool = True


@dataclass(frozen=True)
class ListTaxCode:
    list_id: str
    name: str
    description: str
    taxable: bool
    sales_tax_item_id: str = ""
    is_active: bool = True


@dataclass
class QuickBooksLists:
    """Everything read, with when; an empty list has not been read yet."""

    read_at: str = ""
    company_name: str = ""
    company_file: str = ""
    closing_date: str = ""
    customers: list[ListContact] = field(default_factory=list)
    suppliers: list[ListContact] = field(default_factory=list)
    accounts: list[ListAccount] = field(default_factory=list)
    items: list[ListItem] = field(default_factory=list)
    tax_codes: list[ListTaxCode] = field(default_factory=list)

    def tax_rate_of(self, code: ListTaxCode) -> Decimal | None:
        """A VAT code's percentage: its sales tax item's rate, 0 for a non-taxable code,
        ``None`` when QuickBooks did not say."""
        if code.sales_tax_item_id:
            item = next((i for i in self.items if i.list_id == code.sales_tax_item_id), None)
            if item is None or not item.tax_rate:
                return None
            try:
                return Decimal(item.tax_rate)
            except InvalidOperation:
                return None
        return None if code.taxable else Decimal(0)


def path_in(data_dir: Path) -> Path:
    """Where the lists file lives under the app's data folder."""
    return data_dir / FOLDER / FILE


def load(data_dir: Path) -> QuickBooksLists:
    """The lists as last read; empty when the Web Connector has not read them yet."""
    path = path_in(data_dir)
    with _LOCK:
        if not path.is_file():
            return QuickBooksLists()
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return QuickBooksLists(
        read_at=raw.get("read_at", ""),
        company_name=raw.get("company_name", ""),
        company_file=raw.get("company_file", ""),
        closing_date=raw.get("closing_date", ""),
        customers=[ListContact(**c) for c in raw.get("customers", [])],
        suppliers=[ListContact(**c) for c in raw.get("suppliers", [])],
        accounts=[ListAccount(**a) for a in raw.get("accounts", [])],
        items=[ListItem(**i) for i in raw.get("items", [])],
        tax_codes=[ListTaxCode(**t) for t in raw.get("tax_codes", [])],
    )


def save(data_dir: Path, lists: QuickBooksLists) -> None:
    """Replace the file with ``lists`` (owner-only, whole or not at all)."""
    path = path_in(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(FILE + ".part")
    with _LOCK:
        partial.write_text(json.dumps(asdict(lists), indent=1), encoding="utf-8")
        partial.chmod(0o600)
        partial.replace(path)


def now_text() -> str:
    """The current UTC time as ISO text, for ``read_at``."""
    return datetime.now(UTC).isoformat()


# ------------------------------------------------------------------ from qbXML answers


def _active(ret: etree._Element) -> bool:
    return text(ret, "IsActive") != "false"


def contact_from(ret: etree._Element) -> ListContact:
    """A ``CustomerRet`` or ``VendorRet``."""
    address = ret.find("BillAddress")
    if address is None:
        address = ret.find("VendorAddress")
    return ListContact(
        list_id=text(ret, "ListID"),
        full_name=text(ret, "FullName") or text(ret, "Name"),
        is_active=_active(ret),
        contact=text(ret, "Contact"),
        addr1=text(address, "Addr1"),
        addr2=text(address, "Addr2"),
        addr3=text(address, "Addr3"),
        city=text(address, "City"),
        state=text(address, "State"),
        postcode=text(address, "PostalCode"),
        phone=text(ret, "Phone"),
        email=text(ret, "Email"),
        account_number=text(ret, "AccountNumber"),
        edit_sequence=text(ret, "EditSequence"),
    )


def account_from(ret: etree._Element) -> ListAccount:
    """An ``AccountRet``."""
    return ListAccount(
        list_id=text(ret, "ListID"),
        full_name=text(ret, "FullName") or text(ret, "Name"),
        account_type=text(ret, "AccountType"),
        number=text(ret, "AccountNumber"),
        is_active=_active(ret),
    )


def item_from(ret: etree._Element) -> ListItem:
    """Any ``Item…Ret``; a sales item's income account comes from ``SalesOrPurchase/
    AccountRef`` or ``SalesAndPurchase/IncomeAccountRef``."""
    account = ret.find("SalesOrPurchase/AccountRef")
    if account is None:
        account = ret.find("SalesAndPurchase/IncomeAccountRef")
    return ListItem(
        list_id=text(ret, "ListID"),
        full_name=text(ret, "FullName") or text(ret, "Name"),
        item_type=str(ret.tag),
        income_account_id=text(account, "ListID"),
        income_account_name=text(account, "FullName"),
        tax_rate=text(ret, "TaxRate") if ret.tag == "ItemSalesTaxRet" else "",
        is_active=_active(ret),
    )


def tax_code_from(ret: etree._Element) -> ListTaxCode:
    """A ``SalesTaxCodeRet``; its rate is found later through its sales tax item."""
    return ListTaxCode(
        list_id=text(ret, "ListID"),
        name=text(ret, "Name"),
        description=text(ret, "Desc"),
        taxable=text(ret, "IsTaxable") == "true",
        sales_tax_item_id=text(ret, "ItemSalesTaxRef/ListID"),
        is_active=_active(ret),
    )
