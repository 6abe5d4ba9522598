"""FreeAgent's JSON (API v2), both ways: our drafts as request bodies (each wrapped in
its singular key), its records as the contract's. Pure mapping: no HTTP here.

Sources, and every point that could not be verified: docs/packages/freeagent.md.
Ledgerlink's conventions:

- every resource is named by its URL; a contact's *reference* is the number at the end
  of it (what a user copies from the web address), an account's id is a category's
  nominal code (the last segment of the category URL) or ``bank_accounts/<n>``;
- FreeAgent contacts have no reference field, so our account reference is written in a
  note on the contact (``Ledgerlink customer ref: AB01``), which :func:`our_ref_of_note`
  reads back;
- our document number is the invoice's (credit note's) ``reference``, which FreeAgent
  keeps unique;
- amounts and quantities are sent as decimal strings, as FreeAgent's examples do;
- a receipt is one bank transaction explanation per invoice it pays, whose
  ``description`` is our payment reference (``PAY-1``, or ``PAY-1 (2/3)`` when one
  payment pays several invoices).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.contract import (
    AccountType,
    AllocationDraft,
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

#: ``Ledgerlink customer ref: AB01`` — one note per role the contact has for us.
NOTE_PREFIX = "Ledgerlink {role} ref: "
#: A line with no unit: FreeAgent's own value for "no unit" (staff post t/420).
NO_UNIT = "-no unit-"
BANK_PREFIX = "bank_accounts/"

COLLECTION: dict[DocumentType, str] = {
    DocumentType.INVOICE: "invoices",
    DocumentType.CREDIT_NOTE: "credit_notes",
}
SINGULAR: dict[DocumentType, str] = {
    DocumentType.INVOICE: "invoice",
    DocumentType.CREDIT_NOTE: "credit_note",
}
ITEMS: dict[DocumentType, str] = {
    DocumentType.INVOICE: "invoice_items",
    DocumentType.CREDIT_NOTE: "credit_note_items",
}
#: ``GET /v2/categories`` answers one list per kind of category.
CATEGORY_GROUPS: dict[str, AccountType] = {
    "income_categories": AccountType.SALES,
    "cost_of_sales_categories": AccountType.EXPENSE,
    "admin_expenses_categories": AccountType.EXPENSE,
    "general_categories": AccountType.OTHER,
}
#: FreeAgent has no tax-rate objects: each line carries ``sales_tax_rate`` as a number.
#: These are the UK rates it accepts (docs/packages/freeagent.md).
UK_RATES: tuple[tuple[str, str, Decimal], ...] = (
    ("20.0", "Standard 20%", Decimal("20")),
    ("5.0", "Reduced 5%", Decimal("5")),
    ("0.0", "Zero 0%", Decimal("0")),
)
_PART = re.compile(r"^(?P<ref>.+) \((?P<i>\d+)/(?P<n>\d+)\)$")
_TAIL = re.compile(r"/(\d+)/?$")


# ----------------------------------------------------------------------------- values


def text(record: Mapping[str, Any] | None, field: str) -> str:
    """``record[field]`` as stripped text; ``""`` when missing, ``None`` or ``record`` is
    not a mapping."""
    if not isinstance(record, Mapping):
        return ""
    value = record.get(field)
    return "" if value is None else str(value).strip()


def money(value: object) -> Decimal:
    """A FreeAgent amount (a decimal string, or a number) as a Decimal; 0 when absent."""
    if isinstance(value, Decimal):
        return value
    if value is None or isinstance(value, bool):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def amount(value: Decimal) -> str:
    """A Decimal written as FreeAgent's examples write money: ``"95.00"``."""
    return format(value, "f")


def parse_date(value: object) -> date | None:
    """The date at the start of an ISO date or date-time string; ``None`` when there is
    none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def number_of(url: str) -> str:
    """The number at the end of a FreeAgent URL (``…/contacts/123`` → ``"123"``)."""
    found = _TAIL.search(url.strip())
    return found.group(1) if found else ""


def last_segment(url: str) -> str:
    """A category URL's nominal code (``…/categories/001`` → ``"001"``)."""
    return url.strip().rstrip("/").rsplit("/", 1)[-1]


def items_of(data: Any, key: str) -> list[Json]:
    """The records under ``key`` in a list answer (``{"contacts": [...]}``); ``[]`` when
    absent."""
    found = data.get(key) if isinstance(data, Mapping) else None
    return [item for item in found or [] if isinstance(item, dict)]


def one_of(data: Any, key: str) -> Json | None:
    """The record under ``key`` in a single answer (``{"contact": {...}}``); ``None`` when
    absent."""
    found = data.get(key) if isinstance(data, Mapping) else None
    return found if isinstance(found, dict) else None


def errors_of(data: Any) -> list[str]:
    """FreeAgent's error messages: ``{"errors": [{"message": …}]}`` or, as some answers
    have it, ``{"errors": {"error": {"message": …}}}``."""
    found = data.get("errors") if isinstance(data, Mapping) else None
    if isinstance(found, Mapping):
        found = list(found.values())
    messages: list[str] = []
    for item in found or []:
        if isinstance(item, Mapping) and text(item, "message"):
            messages.append(text(item, "message"))
        elif isinstance(item, str) and item.strip():
            messages.append(item.strip())
    return messages


# ----------------------------------------------------------------------------- contacts


def contact_name(record: Mapping[str, Any]) -> str:
    """The name FreeAgent shows: the organisation, else the person."""
    organisation = text(record, "organisation_name")
    if organisation:
        return organisation
    return " ".join(p for p in (text(record, "first_name"), text(record, "last_name")) if p)


def contact_payload(draft: ContactDraft) -> Json:
    """A new contact, always as an organisation (our name is a business name); the
    person to write to goes in first and last name when we have one."""
    body: Json = {"organisation_name": draft.name.strip()}
    person = draft.contact_name.strip().split(None, 1)
    if len(person) == 2:
        body["first_name"], body["last_name"] = person
    for key, value in (
        ("email", draft.email),
        ("phone_number", draft.phone),
        ("address1", draft.address_1),
        ("address2", draft.address_2),
        ("address3", draft.address_3),
        ("town", draft.town),
        ("region", draft.county),
        ("postcode", draft.postcode),
    ):
        if value.strip():
            body[key] = value.strip()
    body["country"] = "United Kingdom"
    return {"contact": body}


def note_payload(role: ContactRole, our_ref: str) -> Json:
    """A note for a contact carrying our account reference for ``role``, which is how
    Ledgerlink finds the contact again (FreeAgent contacts have no field for it)."""
    return {"note": {"note": NOTE_PREFIX.format(role=role.value) + our_ref.strip()}}


def our_ref_of_note(note: Mapping[str, Any]) -> tuple[ContactRole, str] | None:
    """The role and account reference a note of ours carries; ``None`` for other notes."""
    body = text(note, "note")
    for role in ContactRole:
        prefix = NOTE_PREFIX.format(role=role.value)
        if body.startswith(prefix) and body[len(prefix) :].strip():
            return role, body[len(prefix) :].strip()
    return None


def remote_contact(
    record: Mapping[str, Any], role: ContactRole, our_ref: str = ""
) -> RemoteContact:
    """A FreeAgent contact as a ``RemoteContact``: its URL's number as the reference,
    the person's name kept only when it differs from the contact's name."""
    person = " ".join(p for p in (text(record, "first_name"), text(record, "last_name")) if p)
    name = contact_name(record)
    return RemoteContact(
        ref=number_of(text(record, "url")),
        role=role,
        name=name,
        contact_name=person if person != name else "",
        address_1=text(record, "address1"),
        address_2=text(record, "address2"),
        address_3=text(record, "address3"),
        town=text(record, "town"),
        county=text(record, "region"),
        postcode=text(record, "postcode"),
        email=text(record, "email") or text(record, "billing_email"),
        phone=text(record, "phone_number") or text(record, "mobile"),
        our_ref=our_ref,
    )


# ----------------------------------------------------------------------------- chart


def remote_accounts(categories: Any) -> list[RemoteAccount]:
    """Every category of ``GET /v2/categories``, its nominal code as its id."""
    accounts: list[RemoteAccount] = []
    for group, account_type in CATEGORY_GROUPS.items():
        for record in items_of(categories, group):
            code = text(record, "nominal_code") or last_segment(text(record, "url"))
            if code:
                name = text(record, "description") or code
                accounts.append(RemoteAccount(id=code, code=code, name=name, type=account_type))
    return accounts


def bank_account(record: Mapping[str, Any]) -> RemoteAccount:
    """A FreeAgent bank account as a bank ``RemoteAccount``, its id the URL path
    (``bank_accounts/123``) so it cannot clash with a nominal code."""
    number = number_of(text(record, "url"))
    return RemoteAccount(
        id=BANK_PREFIX + number,
        code=text(record, "nominal_code") or number,
        name=text(record, "name") or f"Bank account {number}",
        type=AccountType.BANK,
    )


def tax_rates() -> list[RemoteTaxRate]:
    """The fixed UK VAT rates (``UK_RATES``)."""
    return [RemoteTaxRate(id=rate_id, name=name, rate=rate) for rate_id, name, rate in UK_RATES]


# ----------------------------------------------------------------------------- documents


def payment_terms(draft: DocumentDraft) -> int:
    """Days from the document's date to its due date (0: due on receipt)."""
    if draft.due_date is None or draft.due_date <= draft.date:
        return 0
    return (draft.due_date - draft.date).days


def document_payload(draft: DocumentDraft, api_url: str) -> Json:
    """A new invoice or credit note. Credit notes carry negative prices (FreeAgent's
    convention, docs/packages/freeagent.md)."""
    sign = Decimal("-1") if draft.type is DocumentType.CREDIT_NOTE else Decimal("1")
    items = [
        {
            "item_type": NO_UNIT,
            "description": line.description.strip() or "(no description)",
            "quantity": amount(line.quantity),
            "price": amount(sign * line.unit_price),
            "sales_tax_rate": amount(line.vat_rate),
            "category": f"{api_url}/categories/{line.account_id.strip()}",
        }
        for line in draft.lines
    ]
    body: Json = {
        "contact": f"{api_url}/contacts/{draft.contact_ref.strip()}",
        "dated_on": draft.date.isoformat(),
        "payment_terms_in_days": payment_terms(draft),
        "reference": draft.number.strip(),
        "currency": "GBP",
        ITEMS[draft.type]: items,
    }
    if draft.reference.strip():
        body["comments"] = f"Job reference: {draft.reference.strip()}"
    return {SINGULAR[draft.type]: body}


@dataclass(frozen=True)
class DocumentState:
    """What Ledgerlink needs to know about an invoice or credit note in FreeAgent."""

    id: str
    reference: str
    status: str
    total: Decimal
    due: Decimal
    contact_ref: str
    dated_on: date | None

    @property
    def is_draft(self) -> bool:
        """Whether FreeAgent still has it as a draft (not yet sent or marked as sent)."""
        return self.status.casefold() == "draft"


def document_state(record: Mapping[str, Any]) -> DocumentState:
    """An invoice or credit note record as a ``DocumentState``."""
    return DocumentState(
        id=number_of(text(record, "url")),
        reference=text(record, "reference"),
        status=text(record, "status"),
        total=money(record.get("total_value")),
        due=money(record.get("due_value")),
        contact_ref=number_of(text(record, "contact")),
        dated_on=parse_date(record.get("dated_on")),
    )


# ----------------------------------------------------------------------------- receipts


def part_description(reference: str, index: int, parts: int) -> str:
    """The description of a payment's ``index``-th bank transaction explanation of ``parts``: the
    bare reference when the payment has one."""
    ref = reference.strip()
    return ref if parts == 1 else f"{ref} ({index}/{parts})"


def parse_part(description: str) -> tuple[str, int, int]:
    """``"PAY-1 (2/3)"`` → ``("PAY-1", 2, 3)``; ``"PAY-1"`` → ``("PAY-1", 1, 1)``."""
    found = _PART.match(description.strip())
    if found is None:
        return description.strip(), 1, 1
    return found.group("ref"), int(found.group("i")), int(found.group("n"))


def bank_account_url(api_url: str, account_id: str) -> str:
    """The URL of the bank account a ``RemoteAccount`` id names (with or without
    ``BANK_PREFIX``)."""
    account = account_id.strip()
    if account.startswith(BANK_PREFIX):
        account = account[len(BANK_PREFIX) :]
    return f"{api_url}/{BANK_PREFIX}{account}"


def explanation_payload(
    draft: PaymentDraft, allocation: AllocationDraft, index: int, api_url: str
) -> Json:
    """One receipt against one invoice: a bank transaction explanation with
    ``paid_invoice``, which marks the invoice paid (in part or whole)."""
    return {
        "bank_transaction_explanation": {
            "bank_account": bank_account_url(api_url, draft.bank_account_id),
            "dated_on": draft.date.isoformat(),
            "gross_value": amount(allocation.amount),
            "paid_invoice": f"{api_url}/invoices/{allocation.document_ref.strip()}",
            "description": part_description(draft.reference, index, len(draft.allocations)),
        }
    }
