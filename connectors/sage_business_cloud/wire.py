"""Sage Business Cloud Accounting's JSON, both ways: our drafts as request bodies (each
wrapped in its singular key), its records as the contract's.

Field names follow the client generated from Sage's v3.1 description
(``kgr-eureka/SageOneSDK/docs``) and Sage's contact guide (sources in
docs/packages/sage-business-cloud.md). Ledgerlink's conventions:

- our account reference is the contact's ``reference`` (Sage keeps it unique);
- our document number is both the ``invoice_number`` (``credit_note_number``) and the
  ``reference``, because Sage's search finds documents by reference; our own job
  reference goes in ``notes`` as ``Job reference: …``;
- VAT is worked out on our side and sent as each line's ``tax_amount``;
- decimal values (amounts, prices, quantities) go as strings (``"95.10"``), never as
  JSON numbers;
- every create carries an ``idempotency_id`` (32 hex characters) inside the resource,
  derived from our idempotency key and the body, so Sage answers a repeat of the same
  request with the first answer instead of a second record (Sage's idempotency guide);
- a credit note to be set against an invoice carries that invoice's date in
  ``original_invoice_date`` (the only "original invoice" field of ``sales_credit_note``
  in Sage's v3.1 swagger) and its number and Sage id in ``notes``
  (``Credits invoice INV-1 (Sage id …)``), so a setting-against that was interrupted
  can be finished from what Sage holds and returns.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
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
from connectors.http import dumps_json

Json = dict[str, Any]

ID = re.compile(r"[0-9a-f]{32}")
WEB_NUMBER = re.compile(r"/contacts/(?:customers|vendors|suppliers)/(\d+)(?:[/?#]|$)")
CONTACT_TYPE: dict[ContactRole, str] = {
    ContactRole.CUSTOMER: "CUSTOMER",
    ContactRole.SUPPLIER: "VENDOR",
}
SALES_TYPES = frozenset({"SALES", "OTHER_INCOME"})
EXPENSE_TYPES = frozenset({"DIRECT_EXPENSES", "OVERHEADS", "DEPRECIATION"})
#: Where our documents go, and the key their lines sit under.
COLLECTION: dict[DocumentType, str] = {
    DocumentType.INVOICE: "sales_invoices",
    DocumentType.CREDIT_NOTE: "sales_credit_notes",
}
SINGULAR: dict[DocumentType, str] = {
    DocumentType.INVOICE: "sales_invoice",
    DocumentType.CREDIT_NOTE: "sales_credit_note",
}
LINES: dict[DocumentType, str] = {
    DocumentType.INVOICE: "invoice_lines",
    DocumentType.CREDIT_NOTE: "credit_note_lines",
}
NUMBER: dict[DocumentType, str] = {
    DocumentType.INVOICE: "invoice_number",
    DocumentType.CREDIT_NOTE: "credit_note_number",
}
RECEIPT = "CUSTOMER_RECEIPT"
ALLOCATION = "CUSTOMER_ALLOCATION"
JOB_REFERENCE = "Job reference: "
#: The line of a credit note's ``notes`` naming the invoice it credits.
CREDITS = re.compile(r"^Credits invoice (?P<number>.*) \(Sage id (?P<id>[0-9a-f]{32})\)$", re.M)
#: Namespace of the ``idempotency_id`` values Ledgerlink derives (a fixed random UUID).
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c2a4e-8b0d-4f57-9a43-2d5e7c81b9f0")


@dataclass(frozen=True)
class SageError:
    """One ``{"$severity", "$dataCode", "$message", "$source"}`` entry."""

    code: str
    message: str
    source: str = ""

    @property
    def text(self) -> str:
        """The message, led by the field it is about when Sage names one."""
        return f"{self.source} {self.message}".strip() if self.source else self.message


# ----------------------------------------------------------------------------- values


def is_id(text: str) -> bool:
    """True if ``text`` looks like a Sage record id."""
    return ID.fullmatch(text.strip()) is not None


def decimal_text(value: Decimal) -> str:
    """A decimal value as Sage asks for it: a string, never in exponent form."""
    return format(value, "f")


def idempotency_id(key: str, resource: Mapping[str, Any] | None = None) -> str:
    """Sage's ``idempotency_id`` for a create: 32 lowercase hex characters (a hyphenless
    UUID), the same for the same key and body. The body counts too, so a record that was
    corrected after a refusal is a new request rather than a replay of the refused one."""
    content = key
    if resource is not None:
        content += "\n" + hashlib.sha256(dumps_json(resource)).hexdigest()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, content).hex


def with_idempotency(body: Json, key: str) -> Json:
    """``body`` (``{"contact": {…}}``) with the ``idempotency_id`` inside the resource."""
    ((wrapper, resource),) = body.items()
    return {wrapper: {**resource, "idempotency_id": idempotency_id(key, resource)}}


def credited_invoice(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """The number and Sage id of the invoice a credit note's ``notes`` say it credits."""
    found = CREDITS.search(str(record.get("notes") or ""))
    return (found["number"], found["id"]) if found else None


def money(value: object) -> Decimal:
    """An amount from a Sage answer as a Decimal; missing counts as zero."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return Decimal(str(value or "0"))


def parse_date(value: object) -> date | None:
    """The date at the start of an ISO string, or ``None`` if there is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def text(record: Mapping[str, Any] | None, field: str) -> str:
    """``field`` as stripped text; empty if missing, null, or ``record`` is not a mapping."""
    if not isinstance(record, Mapping):
        return ""
    return str(record.get(field) or "").strip()


def nested_id(record: Mapping[str, Any], field: str) -> str:
    """The ``id`` of the object in ``field``; empty if there is none."""
    found = record.get(field)
    return text(found, "id") if isinstance(found, Mapping) else ""


def items_of(data: Any) -> list[Json]:
    """The records of a list answer (``{"$items": […]}``, or a bare list)."""
    found = data.get("$items") if isinstance(data, Mapping) else data
    return [item for item in found or [] if isinstance(item, dict)]


def has_next(data: Any) -> bool:
    """True if a list answer says there is another page."""
    return isinstance(data, Mapping) and bool(data.get("$next"))


# ----------------------------------------------------------------------------- contacts


def contact_roles(record: Mapping[str, Any]) -> frozenset[ContactRole]:
    """The roles the contact's types give it (customer, supplier, both or neither)."""
    types = {text(t, "id") for t in record.get("contact_types") or [] if isinstance(t, Mapping)}
    return frozenset(role for role, kind in CONTACT_TYPE.items() if kind in types)


def web_numbers(record: Mapping[str, Any]) -> set[str]:
    """The numbers at the end of the contact's web addresses (its ``links``)."""
    numbers: set[str] = set()
    for link in record.get("links") or []:
        if isinstance(link, Mapping):
            found = WEB_NUMBER.search(str(link.get("href") or ""))
            if found:
                numbers.add(found[1])
    return numbers


def contact_payload(draft: ContactDraft) -> Json:
    """A new contact. Sage's address has two lines, so our third joins the second."""
    body: Json = {
        "name": draft.name.strip(),
        "contact_type_ids": [CONTACT_TYPE[draft.role]],
        "reference": draft.our_ref.strip(),
    }
    line_2 = ", ".join(p.strip() for p in (draft.address_2, draft.address_3) if p.strip())
    address = {
        key: value
        for key, value in (
            ("address_line_1", draft.address_1.strip()),
            ("address_line_2", line_2),
            ("city", draft.town.strip()),
            ("region", draft.county.strip()),
            ("postal_code", draft.postcode.strip()),
        )
        if value
    }
    if address:
        body["main_address"] = {**address, "country_id": "GB"}
    # v3.1 takes the email on the main contact person (a contact's ``email`` is read-only).
    person = {
        key: value.strip()
        for key, value in (
            ("name", draft.contact_name),
            ("telephone", draft.phone),
            ("email", draft.email),
        )
        if value.strip()
    }
    if person:
        body["main_contact_person"] = person
    return {"contact": body}


def remote_contact(record: Mapping[str, Any], role: ContactRole | None = None) -> RemoteContact:
    """A Sage contact as the contract's :class:`RemoteContact`, values as Sage holds them
    (the exact-match rule compares them character for character)."""
    address = record.get("main_address")
    address = address if isinstance(address, Mapping) else {}
    person = record.get("main_contact_person")
    person = person if isinstance(person, Mapping) else {}
    roles = contact_roles(record)
    if role is None:
        role = ContactRole.SUPPLIER if roles == {ContactRole.SUPPLIER} else ContactRole.CUSTOMER
    return RemoteContact(
        ref=text(record, "id"),
        role=role,
        name=str(record.get("name") or ""),
        contact_name=str(person.get("name") or ""),
        address_1=str(address.get("address_line_1") or ""),
        address_2=str(address.get("address_line_2") or ""),
        town=str(address.get("city") or ""),
        county=str(address.get("region") or ""),
        postcode=str(address.get("postal_code") or ""),
        email=str(record.get("email") or person.get("email") or ""),
        phone=str(person.get("telephone") or person.get("mobile") or ""),
        our_ref=text(record, "reference"),
    )


# ----------------------------------------------------------------------------- chart


def ledger_type(record: Mapping[str, Any]) -> str:
    """The id of the ledger account's type, e.g. ``SALES``."""
    return nested_id(record, "ledger_account_type")


def remote_account(record: Mapping[str, Any]) -> RemoteAccount | None:
    """A ledger account; ``None`` for bank ledgers (bank accounts are listed as such)."""
    kind = ledger_type(record)
    if kind == "BANK":
        return None
    if kind in SALES_TYPES:
        account_type = AccountType.SALES
    elif kind in EXPENSE_TYPES:
        account_type = AccountType.EXPENSE
    else:
        account_type = AccountType.OTHER
    return RemoteAccount(
        id=text(record, "id"),
        code=text(record, "nominal_code"),
        name=text(record, "name") or text(record, "displayed_as"),
        type=account_type,
    )


def bank_account(record: Mapping[str, Any]) -> RemoteAccount:
    """A bank account: payments go to its id, the chart shows its nominal code."""
    return RemoteAccount(
        id=text(record, "id"),
        code=text(record, "nominal_code"),
        name=text(record, "displayed_as"),
        type=AccountType.BANK,
    )


def remote_tax_rate(record: Mapping[str, Any]) -> RemoteTaxRate | None:
    """A tax rate as a connector lists it; ``None`` for hidden ones and ones with no percentage."""
    if record.get("is_visible") is False or record.get("percentage") is None:
        return None
    return RemoteTaxRate(
        id=text(record, "id"),
        name=text(record, "name") or text(record, "displayed_as"),
        rate=money(record.get("percentage")).quantize(Decimal("0.01")),
    )


# ----------------------------------------------------------------------------- documents


def document_payload(
    draft: DocumentDraft,
    *,
    credits: tuple[str, str] | None = None,
    credited_on: date | None = None,
) -> Json:
    """A sales invoice or credit note with our VAT on every line. ``credits`` is the
    number and Sage id of the invoice a credit note credits, ``credited_on`` its date."""
    number = draft.number.strip()
    body: Json = {
        "contact_id": draft.contact_ref,
        "date": draft.date.isoformat(),
        NUMBER[draft.type]: number,
        "reference": number,
        LINES[draft.type]: [
            {
                "description": line.description,
                "ledger_account_id": line.account_id,
                "quantity": decimal_text(line.quantity),
                "unit_price": decimal_text(line.unit_price),
                "net_amount": decimal_text(line.net_amount),
                "tax_rate_id": line.tax_rate_id,
                "tax_amount": decimal_text(line.vat_amount),
            }
            for line in draft.lines
        ],
    }
    if draft.type is DocumentType.INVOICE and draft.due_date is not None:
        body["due_date"] = draft.due_date.isoformat()
    notes = [JOB_REFERENCE + draft.reference.strip()] if draft.reference.strip() else []
    if draft.type is DocumentType.CREDIT_NOTE and credits is not None:
        number, invoice_id = credits
        notes.append(f"Credits invoice {number} (Sage id {invoice_id})")
        if credited_on is not None:
            body["original_invoice_date"] = credited_on.isoformat()
    if notes:
        body["notes"] = "\n".join(notes)
    return {SINGULAR[draft.type]: body}


def payment_payload(draft: PaymentDraft) -> Json:
    """A customer receipt allocated to its invoices (any rest stays on account)."""
    return {
        "contact_payment": {
            "transaction_type_id": RECEIPT,
            "contact_id": draft.contact_ref,
            "bank_account_id": draft.bank_account_id,
            "date": draft.date.isoformat(),
            "total_amount": decimal_text(draft.amount),
            "reference": draft.reference.strip(),
            "allocated_artefacts": [
                {"artefact_id": a.document_ref, "amount": decimal_text(a.amount)}
                for a in draft.allocations
            ],
        }
    }


def allocation_payload(
    contact_id: str, invoice_id: str, credit_note_id: str, amount: Decimal, on: date
) -> Json:
    """A credit note set against an invoice: the invoice's share positive, the credit
    note's negative, so the allocation nets to nothing. Its ``idempotency_id`` comes
    from the two documents (a credit note is set against its invoice once), so the
    first attempt and a later finishing of it are the same request to Sage."""
    return {
        "contact_allocation": {
            "idempotency_id": idempotency_id(f"allocation {credit_note_id} {invoice_id}"),
            "transaction_type_id": ALLOCATION,
            "contact_id": contact_id,
            "date": on.isoformat(),
            "allocated_artefacts": [
                {"artefact_id": invoice_id, "amount": decimal_text(amount)},
                {"artefact_id": credit_note_id, "amount": decimal_text(-amount)},
            ],
        }
    }


def errors_of(body: Any) -> list[SageError]:
    """Every entry of Sage's error list (also when wrapped in ``{"errors": […]}``)."""
    if isinstance(body, Mapping):
        body = body.get("errors") or body.get("$errors") or [body]
    if not isinstance(body, list):
        return []
    return [
        SageError(
            code=str(e.get("$dataCode") or ""),
            message=str(e.get("$message") or "").strip(),
            source=str(e.get("$source") or "").strip(),
        )
        for e in body
        if isinstance(e, Mapping) and (e.get("$message") or e.get("$dataCode"))
    ]
