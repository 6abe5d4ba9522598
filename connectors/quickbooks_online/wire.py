"""QuickBooks Online's JSON, both ways: our drafts as request bodies, its records as the
contract's.

Field names follow Intuit's schema (``IntuitNamesTypes.xsd`` and ``Finance.xsd`` in
``intuit/QuickBooks-V3-Java-SDK``) and the payload shapes of Intuit's own MCP server
(sources in docs/packages/quickbooks-online.md). Three conventions are Ledgerlink's:

- A sales line carries no income account in QuickBooks: the account comes from the
  line's **item**. So our sales accounts are mapped to items, and the item stands in the
  chart Ledgerlink lists as ``item:<Id>`` (QuickBooks numbers items and accounts
  separately, so a bare number could name either).
- Customers and suppliers have no field for our account reference (``AcctNum`` is
  QuickBooks Desktop only), so the contacts Ledgerlink creates carry it in ``Notes`` as
  ``Ledgerlink account ref: <ref>``, which :func:`our_ref_of` reads back.
- A credit memo that is to be set against an invoice says so in its ``PrivateNote``
  (:func:`credit_marker`), so a setting-against that was interrupted can be finished
  later from what QuickBooks holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.contract import (
    AccountType,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteTaxRate,
)

Json = dict[str, Any]

ENTITY: dict[ContactRole, str] = {ContactRole.CUSTOMER: "Customer", ContactRole.SUPPLIER: "Vendor"}
DOCUMENT_ENTITY: dict[DocumentType, str] = {
    DocumentType.INVOICE: "Invoice",
    DocumentType.CREDIT_NOTE: "CreditMemo",
}
ITEM_PREFIX = "item:"
#: Field lengths QuickBooks Online enforces (Intuit's entity reference).
DOC_NUMBER_MAX = 21
PAYMENT_REF_MAX = 21

NOTE_PREFIX = "Ledgerlink account ref: "
_NOTE = re.compile(r"Ledgerlink account ref: (\S+)")
_CREDIT_NOTE = re.compile(r"Ledgerlink: set against invoice .* \(QuickBooks id (\d+)\)")
EXPENSE_TYPES = frozenset({"Expense", "Other Expense", "Cost of Goods Sold"})
ITEM_TYPES = frozenset({"Service", "NonInventory", "Inventory"})


@dataclass(frozen=True)
class QboError:
    """One ``Fault.Error`` entry."""

    code: str
    message: str
    detail: str = ""
    element: str = ""

    @property
    def text(self) -> str:
        """The message and its detail in one line."""
        return f"{self.message} {self.detail}".strip()


@dataclass(frozen=True)
class TaxCode:
    """A sales VAT code and the rate behind it (what a tax line needs)."""

    id: str
    name: str
    rate_id: str
    percent: Decimal


# ----------------------------------------------------------------------------- values


def money(value: object) -> Decimal:
    """An amount as QuickBooks sends it (a Decimal when read with ``loads_json``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return Decimal(str(value or "0"))


def parse_date(value: object) -> date | None:
    """``2026-01-05`` (QuickBooks' only date form)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def ref(value: str) -> Json:
    """A reference object: ``{"value": value}``."""
    return {"value": value}


def ref_value(record: Mapping[str, Any], field: str) -> str:
    """The ``value`` of the reference object in ``field``; empty if there is none."""
    found = record.get(field)
    return str(found.get("value") or "") if isinstance(found, Mapping) else ""


def text(record: Mapping[str, Any], field: str) -> str:
    """``field`` as stripped text; empty if missing or null."""
    return str(record.get(field) or "").strip()


# ----------------------------------------------------------------------------- contacts


def our_ref_of(record: Mapping[str, Any]) -> str:
    """Our account reference, where Ledgerlink created the contact."""
    match = _NOTE.search(str(record.get("Notes") or ""))
    return match.group(1) if match else ""


def contact_payload(draft: ContactDraft, display_name: str) -> Json:
    """A new Customer or Vendor; empty fields are left out rather than sent blank."""
    name = draft.name.strip()
    body: Json = {
        "DisplayName": display_name,
        "CompanyName": name,
        "PrintOnCheckName": name,
        "Notes": NOTE_PREFIX + draft.our_ref.strip(),
    }
    person = draft.contact_name.strip().split()
    if person:
        body["GivenName"] = " ".join(person[:-1]) or person[0]
        if len(person) > 1:
            body["FamilyName"] = person[-1]
    address = {
        key: value.strip()
        for key, value in (
            ("Line1", draft.address_1),
            ("Line2", draft.address_2),
            ("Line3", draft.address_3),
            ("City", draft.town),
            ("CountrySubDivisionCode", draft.county),
            ("PostalCode", draft.postcode),
        )
        if value.strip()
    }
    if address:
        body["BillAddr"] = address
    if draft.email.strip():
        body["PrimaryEmailAddr"] = {"Address": draft.email.strip()}
    if draft.phone.strip():
        body["PrimaryPhone"] = {"FreeFormNumber": draft.phone.strip()}
    return body


def remote_contact(record: Mapping[str, Any], role: ContactRole) -> RemoteContact:
    """A QuickBooks Customer or Vendor as the contract's :class:`RemoteContact`."""
    address = record.get("BillAddr")
    address = address if isinstance(address, Mapping) else {}
    email = record.get("PrimaryEmailAddr")
    phone = record.get("PrimaryPhone")
    person = " ".join(p for p in (text(record, "GivenName"), text(record, "FamilyName")) if p)
    return RemoteContact(
        ref=text(record, "Id"),
        role=role,
        name=text(record, "DisplayName"),
        contact_name=person,
        address_1=text(address, "Line1"),
        address_2=text(address, "Line2"),
        address_3=" ".join(
            p for p in (text(address, "Line3"), text(address, "Line4"), text(address, "Line5")) if p
        ),
        town=text(address, "City"),
        county=text(address, "CountrySubDivisionCode"),
        postcode=text(address, "PostalCode"),
        email=text(email, "Address") if isinstance(email, Mapping) else "",
        phone=text(phone, "FreeFormNumber") if isinstance(phone, Mapping) else "",
        our_ref=our_ref_of(record),
    )


# ----------------------------------------------------------------------------- chart


def item_remote_id(item_id: str) -> str:
    """``12`` → ``item:12``: how an item is offered as a sales account."""
    return ITEM_PREFIX + item_id


def item_id_of(remote_id: str) -> str | None:
    """``item:12`` → ``12``; ``None`` for anything that is not an item."""
    if remote_id.startswith(ITEM_PREFIX) and remote_id[len(ITEM_PREFIX) :].isdigit():
        return remote_id[len(ITEM_PREFIX) :]
    return None


def account_type(account: Mapping[str, Any]) -> AccountType:
    """Our kind of account for a QuickBooks ``AccountType``."""
    kind = text(account, "AccountType")
    if kind == "Bank":
        return AccountType.BANK
    if kind in EXPENSE_TYPES:
        return AccountType.EXPENSE
    return AccountType.OTHER


def is_income(account: Mapping[str, Any]) -> bool:
    """True for income accounts (those that sales items post to)."""
    return text(account, "AccountType") in ("Income", "Other Income")


def remote_account(account: Mapping[str, Any]) -> RemoteAccount:
    """An Account. Income accounts come out as ``OTHER``: sales map to items."""
    return RemoteAccount(
        id=text(account, "Id"),
        code=text(account, "AcctNum"),
        name=text(account, "Name"),
        type=account_type(account),
    )


def item_account(
    item: Mapping[str, Any], accounts: Mapping[str, Mapping[str, Any]]
) -> RemoteAccount | None:
    """A sellable item as a sales target: ``item:<Id>``, coded with its income account's
    number and named after both (``None`` for items that post nowhere we can send to)."""
    if text(item, "Type") not in ITEM_TYPES or item.get("Active") is False:
        return None
    income = accounts.get(ref_value(item, "IncomeAccountRef"))
    if income is None:
        return None
    return RemoteAccount(
        id=item_remote_id(text(item, "Id")),
        code=text(income, "AcctNum"),
        name=f"{text(item, 'Name')} (posts to {text(income, 'Name')})",
        type=AccountType.SALES,
    )


def sales_tax_codes(codes: list[Json], rates: Mapping[str, Mapping[str, Any]]) -> list[TaxCode]:
    """Active codes usable on sales, each with its (first) sales rate."""
    found: list[TaxCode] = []
    for code in codes:
        if code.get("Active") is False:
            continue
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        rate_ids = [ref_value(d, "TaxRateRef") for d in details if isinstance(d, Mapping)]
        rate = rates.get(rate_ids[0]) if rate_ids else None
        if rate is None:
            continue
        found.append(
            TaxCode(
                id=text(code, "Id"),
                name=text(code, "Name"),
                rate_id=rate_ids[0],
                percent=money(rate.get("RateValue")).quantize(Decimal("0.01")),
            )
        )
    return found


def remote_tax_rate(code: TaxCode) -> RemoteTaxRate:
    """A VAT code as a connector lists it."""
    return RemoteTaxRate(id=code.id, name=code.name, rate=code.percent)


# ----------------------------------------------------------------------------- documents


def credit_marker(invoice_number: str, invoice_id: str) -> str:
    """The private note that ties a credit memo to the invoice it is set against."""
    return f"Ledgerlink: set against invoice {invoice_number} (QuickBooks id {invoice_id})"


def credited_invoice_id(memo: Mapping[str, Any]) -> str:
    """The invoice a credit memo is to be set against, per :func:`credit_marker`."""
    match = _CREDIT_NOTE.search(str(memo.get("PrivateNote") or ""))
    return match.group(1) if match else ""


def document_payload(
    draft: DocumentDraft,
    item_for: Callable[[int, str], str],
    tax_for: Callable[[int, str], TaxCode],
    *,
    private_note: str = "",
) -> Json:
    """An Invoice or CreditMemo, amounts excluding VAT, with our VAT per rate.

    ``item_for(index, account_id)`` and ``tax_for(index, tax_rate_id)`` resolve a line's
    item and VAT code (they raise :class:`~connectors.errors.Rejected` when they cannot).
    The tax detail carries our VAT amounts, so QuickBooks' totals equal ours to the penny.
    """
    lines: list[Json] = []
    taxes: dict[str, tuple[TaxCode, Decimal, Decimal]] = {}
    for index, line in enumerate(draft.lines):
        code = tax_for(index, line.tax_rate_id)
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": line.net_amount,
                "Description": line.description,
                "SalesItemLineDetail": {
                    "ItemRef": ref(item_for(index, line.account_id)),
                    "Qty": line.quantity,
                    "UnitPrice": line.unit_price,
                    "TaxCodeRef": ref(code.id),
                },
            }
        )
        _, net, vat = taxes.get(code.rate_id, (code, Decimal("0.00"), Decimal("0.00")))
        taxes[code.rate_id] = (code, net + line.net_amount, vat + line.vat_amount)
    body: Json = {
        "CustomerRef": ref(draft.contact_ref),
        "DocNumber": draft.number.strip(),
        "TxnDate": draft.date.isoformat(),
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": lines,
        "TxnTaxDetail": {
            "TotalTax": draft.vat_total,
            "TaxLine": [
                {
                    "DetailType": "TaxLineDetail",
                    "Amount": vat,
                    "TaxLineDetail": {
                        "TaxRateRef": ref(code.rate_id),
                        "PercentBased": True,
                        "TaxPercent": code.percent,
                        "NetAmountTaxable": net,
                    },
                }
                for code, net, vat in taxes.values()
            ],
        },
    }
    if draft.type is DocumentType.INVOICE and draft.due_date is not None:
        body["DueDate"] = draft.due_date.isoformat()
    if draft.reference.strip():
        body["CustomerMemo"] = {"value": draft.reference.strip()}
    if private_note:
        body["PrivateNote"] = private_note
    return body


def payment_payload(draft: PaymentDraft) -> Json:
    """A received Payment applied to its invoices; any rest stays unapplied credit."""
    return {
        "CustomerRef": ref(draft.contact_ref),
        "TotalAmt": draft.amount,
        "TxnDate": draft.date.isoformat(),
        "DepositToAccountRef": ref(draft.bank_account_id),
        "PaymentRefNum": draft.reference.strip(),
        "Line": [
            {
                "Amount": allocation.amount,
                "LinkedTxn": [{"TxnId": allocation.document_ref, "TxnType": "Invoice"}],
            }
            for allocation in draft.allocations
        ],
    }


def application_payload(
    customer_ref: str, invoice_id: str, memo_id: str, amount: Decimal, on: date
) -> Json:
    """A zero Payment that sets a credit memo against an invoice."""
    return {
        "CustomerRef": ref(customer_ref),
        "TotalAmt": Decimal("0.00"),
        "TxnDate": on.isoformat(),
        "PrivateNote": f"Ledgerlink: credit memo {memo_id} set against invoice {invoice_id}",
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": memo_id, "TxnType": "CreditMemo"}]},
        ],
    }


def is_application(payment: Mapping[str, Any]) -> bool:
    """Whether a Payment only sets a credit memo against an invoice."""
    return any(
        linked.get("TxnType") == "CreditMemo"
        for line in payment.get("Line") or []
        if isinstance(line, Mapping)
        for linked in line.get("LinkedTxn") or []
        if isinstance(linked, Mapping)
    )


# ----------------------------------------------------------------------------- faults


def errors_of(body: Any) -> list[QboError]:
    """Every error in a ``Fault`` (``fault``/``error`` in lower case on 401 and 429)."""
    if not isinstance(body, Mapping):
        return []
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, Mapping):
        return []
    found: list[QboError] = []
    for error in fault.get("Error") or fault.get("error") or []:
        if isinstance(error, Mapping):
            found.append(
                QboError(
                    code=str(error.get("code") or ""),
                    message=str(error.get("Message") or error.get("message") or "").strip(),
                    detail=str(error.get("Detail") or error.get("detail") or "").strip(),
                    element=str(error.get("element") or "").strip(),
                )
            )
    return found
