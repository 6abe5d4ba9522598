"""Xero's JSON, both ways: our drafts as request bodies, Xero's records as the contract's.

Field names, enums and date forms follow Xero's OpenAPI description (v16.1.0). Xero has
one Contact type for customers and suppliers, and ``IsCustomer``/``IsSupplier`` are
read-only (set only once a sales or purchase document exists), so Ledgerlink marks the
contacts it creates in ``ContactNumber`` — the field Xero keeps "to identify contacts
in external systems", shown as *Contact Code* and editable through the API only — as
``LL-C-<account ref>`` for a customer or ``LL-S-<account ref>`` for a supplier. Our
account reference itself also goes in ``AccountNumber``, where a bookkeeper sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
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

UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")
#: An organisation's short code in a web address: ``go.xero.com/app/!NLglS/…`` or
#: ``…?shortcode=!NLglS``.
SHORT_CODE = re.compile(r"!([A-Za-z0-9]{4,8})\b")

CONTACT_NUMBER_PREFIX: dict[ContactRole, str] = {
    ContactRole.CUSTOMER: "LL-C-",
    ContactRole.SUPPLIER: "LL-S-",
}
DOCUMENT_TYPE: dict[DocumentType, str] = {
    DocumentType.INVOICE: "ACCREC",
    DocumentType.CREDIT_NOTE: "ACCRECCREDIT",
}
#: Xero account types that take sales (revenue class), and bank ones.
SALES_TYPES = frozenset({"REVENUE", "SALES", "OTHERINCOME"})
EXPENSE_TYPES = frozenset({"EXPENSE", "DIRECTCOSTS", "OVERHEADS", "DEPRECIATN"})


def is_uuid(text: str) -> bool:
    """True if ``text`` is a Xero id (a UUID)."""
    return UUID_PATTERN.fullmatch(text.strip()) is not None


def xero_date(value: date) -> str:
    """What Xero takes in a request: ``2026-01-05``."""
    return value.isoformat()


def parse_xero_date(value: object) -> date | None:
    """``/Date(1546214400000+0000)/``, ``2019-03-14T00:00:00`` or ``2019-03-14``."""
    if not isinstance(value, str) or not value.strip():
        return None
    match = _MS_DATE.fullmatch(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def where_equals(field: str, value: str) -> str:
    """One ``where`` condition with the value quoted as Xero's filter syntax needs."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}=="{escaped}"'


def money(value: object) -> Decimal:
    """A Xero amount (already a Decimal when read with ``loads_json``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value or "0"))


# ----------------------------------------------------------------------------- contacts


def contact_number(role: ContactRole, our_ref: str) -> str:
    """The ``ContactNumber`` Ledgerlink gives a contact: its role's prefix and our reference."""
    return CONTACT_NUMBER_PREFIX[role] + our_ref.strip()


def marked_role(contact: Mapping[str, Any]) -> ContactRole | None:
    """The role Ledgerlink recorded when it created the contact, if it did."""
    number = str(contact.get("ContactNumber") or "")
    for role, prefix in CONTACT_NUMBER_PREFIX.items():
        if number.startswith(prefix):
            return role
    return None


def known_roles(contact: Mapping[str, Any]) -> frozenset[ContactRole]:
    """The roles a contact is known to have: ours if we made it, else what Xero says
    (``IsCustomer``: it has sales documents; ``IsSupplier``: purchase ones); none for a
    contact with neither, whose role nobody may guess."""
    marked = marked_role(contact)
    if marked is not None:
        return frozenset({marked})
    roles = set()
    if contact.get("IsCustomer"):
        roles.add(ContactRole.CUSTOMER)
    if contact.get("IsSupplier"):
        roles.add(ContactRole.SUPPLIER)
    return frozenset(roles)


def contact_roles(contact: Mapping[str, Any]) -> frozenset[ContactRole]:
    """The roles a contact can play for linking: those it is known to have
    (:func:`known_roles`); a contact with no documents yet could be either."""
    return known_roles(contact) or frozenset(ContactRole)


def primary_role(contact: Mapping[str, Any]) -> ContactRole:
    """The role Ledgerlink marked; else supplier if Xero marks only that, else customer."""
    marked = marked_role(contact)
    if marked is not None:
        return marked
    if contact.get("IsSupplier") and not contact.get("IsCustomer"):
        return ContactRole.SUPPLIER
    return ContactRole.CUSTOMER


def contact_payload(draft: ContactDraft) -> Json:
    """A new Contact. Empty fields are left out rather than sent blank."""
    body: Json = {
        "Name": draft.name.strip(),
        "ContactNumber": contact_number(draft.role, draft.our_ref),
        "AccountNumber": draft.our_ref.strip(),
    }
    if draft.email.strip():
        body["EmailAddress"] = draft.email.strip()
    address = {
        key: value.strip()
        for key, value in (
            ("AddressLine1", draft.address_1),
            ("AddressLine2", draft.address_2),
            ("AddressLine3", draft.address_3),
            ("City", draft.town),
            ("Region", draft.county),
            ("PostalCode", draft.postcode),
            ("AttentionTo", draft.contact_name),
        )
        if value.strip()
    }
    if address:
        # POBOX is the postal address Xero prints on invoices.
        body["Addresses"] = [{"AddressType": "POBOX", **address}]
    if draft.phone.strip():
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": draft.phone.strip()}]
    return body


def _postal_address(contact: Mapping[str, Any]) -> Mapping[str, Any]:
    addresses = [a for a in contact.get("Addresses") or [] if isinstance(a, Mapping)]
    for kind in ("POBOX", "STREET"):
        for address in addresses:
            if address.get("AddressType") == kind and any(
                str(address.get(k) or "").strip()
                for k in ("AddressLine1", "City", "PostalCode", "AttentionTo")
            ):
                return address
    return {}


def remote_contact(contact: Mapping[str, Any], role: ContactRole | None = None) -> RemoteContact:
    """A Xero Contact as the contract's :class:`RemoteContact`."""
    address = _postal_address(contact)
    person = " ".join(
        part for part in (contact.get("FirstName"), contact.get("LastName")) if part
    ).strip()
    phones = [p for p in contact.get("Phones") or [] if isinstance(p, Mapping)]
    phone = next(
        (
            " ".join(
                str(p.get(k) or "").strip()
                for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
                if str(p.get(k) or "").strip()
            )
            for p in sorted(phones, key=lambda p: p.get("PhoneType") != "DEFAULT")
            if str(p.get("PhoneNumber") or "").strip()
        ),
        "",
    )

    def text(mapping: Mapping[str, Any], key: str) -> str:
        return str(mapping.get(key) or "").strip()

    return RemoteContact(
        ref=text(contact, "ContactID"),
        role=role or primary_role(contact),
        name=text(contact, "Name"),
        contact_name=text(address, "AttentionTo") or person,
        address_1=text(address, "AddressLine1"),
        address_2=text(address, "AddressLine2"),
        address_3=" ".join(
            p for p in (text(address, "AddressLine3"), text(address, "AddressLine4")) if p
        ),
        town=text(address, "City"),
        county=text(address, "Region"),
        postcode=text(address, "PostalCode"),
        email=text(contact, "EmailAddress"),
        phone=phone,
        our_ref=text(contact, "AccountNumber"),
    )


# ----------------------------------------------------------------------------- chart


def account_type(xero_type: str) -> AccountType:
    """Our kind of account for a Xero account ``Type``."""
    if xero_type in SALES_TYPES:
        return AccountType.SALES
    if xero_type == "BANK":
        return AccountType.BANK
    if xero_type in EXPENSE_TYPES:
        return AccountType.EXPENSE
    return AccountType.OTHER


def remote_account(account: Mapping[str, Any]) -> RemoteAccount:
    """A Xero Account as a connector lists it."""
    return RemoteAccount(
        id=str(account.get("AccountID") or ""),
        code=str(account.get("Code") or ""),
        name=str(account.get("Name") or ""),
        type=account_type(str(account.get("Type") or "")),
    )


def remote_tax_rate(rate: Mapping[str, Any]) -> RemoteTaxRate | None:
    """A VAT rate usable on sales lines; ``None`` for purchase-only or inactive rates."""
    if rate.get("Status", "ACTIVE") != "ACTIVE" or rate.get("CanApplyToRevenue") is False:
        return None
    percent = rate.get("EffectiveRate", rate.get("DisplayTaxRate"))
    if percent is None:
        return None
    return RemoteTaxRate(
        id=str(rate.get("TaxType") or ""),
        name=str(rate.get("Name") or ""),
        rate=money(percent).quantize(Decimal("0.01")),
    )


# ----------------------------------------------------------------------------- documents


def document_payload(draft: DocumentDraft, account_code: Callable[[int, str], str]) -> Json:
    """An ACCREC invoice or ACCRECCREDIT credit note, authorised, amounts excluding VAT.

    ``account_code(index, account_id)`` gives the Xero code of a line's account. Each
    line carries our VAT amount, so Xero's totals equal ours to the penny.
    """
    number_field = "InvoiceNumber" if draft.type is DocumentType.INVOICE else "CreditNoteNumber"
    lines = [
        {
            "Description": line.description,
            "Quantity": line.quantity,
            "UnitAmount": line.unit_price,
            "AccountCode": account_code(index, line.account_id),
            "TaxType": line.tax_rate_id,
            "TaxAmount": line.vat_amount,
        }
        for index, line in enumerate(draft.lines)
    ]
    body: Json = {
        "Type": DOCUMENT_TYPE[draft.type],
        "Contact": {"ContactID": draft.contact_ref},
        number_field: draft.number.strip(),
        "Date": xero_date(draft.date),
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": lines,
    }
    if draft.reference.strip():
        body["Reference"] = draft.reference.strip()
    if draft.type is DocumentType.INVOICE and draft.due_date is not None:
        body["DueDate"] = xero_date(draft.due_date)
    return body


def allocation_payload(invoice_id: str, amount: Decimal, on: date) -> Json:
    """Set ``amount`` of a credit note against an invoice on ``on``, as Xero takes it."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": xero_date(on)}


def payment_payloads(draft: PaymentDraft) -> list[Json]:
    """One Xero Payment per invoice the payment is set against (a Xero Payment pays one
    document), all carrying our reference."""
    return [
        {
            "Invoice": {"InvoiceID": allocation.document_ref},
            "Account": {"AccountID": draft.bank_account_id},
            "Date": xero_date(draft.date),
            "Amount": allocation.amount,
            "Reference": draft.reference.strip(),
        }
        for allocation in draft.allocations
    ]


def validation_messages(element: Any) -> list[str]:
    """Every ``ValidationErrors[].Message`` in an element, nested ones included."""
    found: list[str] = []
    if isinstance(element, Mapping):
        for key, value in element.items():
            if key == "ValidationErrors" and isinstance(value, list):
                found.extend(
                    str(v.get("Message") or "").strip()
                    for v in value
                    if isinstance(v, Mapping) and str(v.get("Message") or "").strip()
                )
            elif isinstance(value, Mapping | list):
                found.extend(validation_messages(value))
    elif isinstance(element, list):
        for value in element:
            found.extend(validation_messages(value))
    return found


def more_pages(data: Json | None, items: list[Json], page: int, asked: int) -> bool:
    """Whether a page of ``items`` (page ``page`` of a list asked ``asked`` at a time,
    ``data`` the whole answer) has more after it."""
    pagination = (data or {}).get("pagination") or {}
    if not isinstance(pagination, dict):
        pagination = {}
    page_count = pagination.get("pageCount")
    if isinstance(page_count, int):
        # Xero says how many pages there are: no call for an empty page after a full
        # last one, and a page smaller than asked for (Xero's own cap) is not taken for
        # the last.
        return bool(items) and page < page_count
    size = pagination.get("pageSize")
    full = size if isinstance(size, int) and size > 0 else asked
    return len(items) >= full
