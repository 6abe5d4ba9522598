"""KashFlow's REST v2 JSON, both ways — the one module that knows KashFlow's wire format.

KashFlow marks its REST API "not ready for public use"; its SOAP API is the documented
one. Everything KashFlow-shaped lives here (paths, field names, bodies, what answers
mean) so that a SOAP transport could replace it behind the same functions. Sources,
and every field that could not be verified: docs/packages/kashflow.md.

Ledgerlink's conventions:

- a customer's (supplier's) reference is its ``Code``, and Ledgerlink creates contacts
  with our account reference as their Code, so a contact is found again by
  ``GET /customers/{code}``;
- KashFlow invoice numbers are whole numbers: our document number's trailing digits
  become the ``Number`` (``INV-1001`` → 1001), and the whole of it goes in
  ``CustomerReference`` with the job reference;
- credit notes are invoices with negative quantities (UNVERIFIED as a REST shape);
- a payment is one payment line per invoice it pays, whose ``Note`` is our payment
  reference (``PAY-1``, or ``PAY-1 (2/3)``).
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

SESSION_PATH = "sessiontoken"
#: Where customers and suppliers live.
CONTACTS: dict[ContactRole, str] = {
    ContactRole.CUSTOMER: "customers",
    ContactRole.SUPPLIER: "suppliers",
}
INVOICES = "invoices"
NOMINALS = "nominals"
BANK_ACCOUNTS = "bankaccounts"
#: A KashFlow customer or supplier Code as Ledgerlink accepts it (letters, digits, ``-``
#: and ``_``, up to 20). KashFlow's own limit is UNVERIFIED.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,19}")
_DIGITS = re.compile(r"(\d{1,9})\s*$")
_PART = re.compile(r"^(?P<ref>.+) \((?P<i>\d+)/(?P<n>\d+)\)$")
OUR_NUMBER = "Ledgerlink number: "
#: KashFlow nominal ``Type`` / ``Classification`` words that mean a sales or expense
#: account (UNVERIFIED value lists: third-party code only).
SALES_WORDS = ("sales", "income", "turnover", "revenue")
EXPENSE_WORDS = ("expense", "cost", "purchase", "overhead")
UK_RATES: tuple[tuple[str, str, Decimal], ...] = (
    ("20", "Standard 20%", Decimal("20")),
    ("5", "Reduced 5%", Decimal("5")),
    ("0", "Zero 0%", Decimal("0")),
)


# ----------------------------------------------------------------------------- values


def text(record: Mapping[str, Any] | None, field: str) -> str:
    """``record[field]`` as stripped text; ``""`` when missing, ``None`` or ``record`` is
    not a mapping."""
    if not isinstance(record, Mapping):
        return ""
    value = record.get(field)
    return "" if value is None else str(value).strip()


def money(value: object) -> Decimal:
    """``value`` as a ``Decimal``; zero when missing or not a number, so a malformed
    amount never stops a read."""
    if isinstance(value, Decimal):
        return value
    if value is None or isinstance(value, bool):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def parse_date(value: object) -> date | None:
    """The date at the start of an ISO date or date-time string; ``None`` when there is
    none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def data_of(body: Any) -> list[Json]:
    """The records of a list answer: ``{"Data": [...], "MetaData": {...}}`` or a bare
    list (some KashFlow lists have no envelope)."""
    found = body.get("Data") if isinstance(body, Mapping) else body
    return [item for item in found or [] if isinstance(item, dict)]


def next_page(body: Any) -> str:
    """The next page's URL from a list answer's ``MetaData``; ``""`` on the last page."""
    meta = body.get("MetaData") if isinstance(body, Mapping) else None
    return text(meta, "NextPageUrl") if isinstance(meta, Mapping) else ""


@dataclass(frozen=True)
class KashFlowError:
    """KashFlow's ``{"Error": …, "Message": …}``."""

    error: str
    message: str

    @property
    def text(self) -> str:
        """The message, or the error code when there is no message."""
        return self.message or self.error


def error_of(body: Any) -> KashFlowError:
    """The error in a refusal's body; both parts blank when the body is not an object."""
    if isinstance(body, Mapping):
        return KashFlowError(text(body, "Error"), text(body, "Message"))
    return KashFlowError("", "")


# ----------------------------------------------------------------------------- sign-in


def login_payload(username: str, password: str) -> Json:
    """The body of sign-in step 1."""
    return {"UserName": username, "Password": password}


def positions_of(body: Any) -> tuple[str, tuple[int, ...]]:
    """The temporary token and the memorable word's character positions KashFlow asks
    for (1-based)."""
    token = text(body, "TemporaryToken")
    positions: list[int] = []
    for item in (body.get("MemorableWordList") if isinstance(body, Mapping) else None) or []:
        if isinstance(item, Mapping):
            position = item.get("Position")
            if isinstance(position, int) and not isinstance(position, bool) and position > 0:
                positions.append(position)
    return token, tuple(positions)


def characters_payload(temporary_token: str, characters: Mapping[int, str]) -> Json:
    """The body of sign-in step 2: the memorable word's characters, by position."""
    return {
        "TemporaryToken": temporary_token,
        "MemorableWordList": [
            {"Position": position, "Value": value} for position, value in sorted(characters.items())
        ],
    }


def session_of(body: Any) -> str:
    """The session token in sign-in step 2's answer (``""`` when missing)."""
    return text(body, "SessionToken")


def authorization(session_token: str) -> str:
    """The ``Authorization`` header value for a session token."""
    return f"KfToken {session_token}"


# ----------------------------------------------------------------------------- contacts


def is_code(value: str) -> bool:
    """Whether ``value`` can be a KashFlow Code as Ledgerlink uses them (``CODE``)."""
    return CODE.fullmatch(value.strip()) is not None


def contact_payload(draft: ContactDraft) -> Json:
    """A new customer or supplier whose Code is our account reference. KashFlow's
    address has four lines (third: town, fourth: county, as its SOAP Customer has them);
    our second and third lines share the second."""
    line_2 = ", ".join(p.strip() for p in (draft.address_2, draft.address_3) if p.strip())
    address = {
        key: value.strip()
        for key, value in (
            ("Line1", draft.address_1),
            ("Line2", line_2),
            ("Line3", draft.town),
            ("Line4", draft.county),
        )
        if value.strip()
    }
    if draft.postcode.strip():
        address["PostCode"] = draft.postcode.strip()
    body: Json = {"Code": draft.our_ref.strip(), "Name": draft.name.strip()}
    if draft.contact_name.strip():
        body["ContactName"] = draft.contact_name.strip()
    if draft.email.strip():
        body["Email"] = draft.email.strip()
    if draft.phone.strip():
        body["Telephone"] = draft.phone.strip()
    if address:
        body["Address"] = {**address, "CountryCode": "GB"}
    return body


def remote_contact(record: Mapping[str, Any], role: ContactRole) -> RemoteContact:
    """A customer or supplier record as a ``RemoteContact``; its Code is both its
    reference and our account reference."""
    address = record.get("Address")
    address = address if isinstance(address, Mapping) else {}
    return RemoteContact(
        ref=text(record, "Code"),
        role=role,
        name=text(record, "Name") or text(record, "DisplayName"),
        contact_name=text(record, "ContactName"),
        address_1=text(address, "Line1"),
        address_2=text(address, "Line2"),
        town=text(address, "Line3"),
        county=text(address, "Line4"),
        postcode=text(address, "PostCode"),
        email=text(record, "Email"),
        phone=text(record, "Telephone"),
        our_ref=text(record, "Code"),
    )


# ----------------------------------------------------------------------------- chart


def account_type(record: Mapping[str, Any]) -> AccountType:
    """A nominal's type for mapping. A bank nominal counts as "other": a Bank account
    maps only to one of KashFlow's bank accounts (``/bankaccounts``), which payments
    need."""
    words = f"{text(record, 'Type')} {text(record, 'Classification')}".casefold()
    if "bank" in words:
        return AccountType.OTHER
    if any(w in words for w in SALES_WORDS):
        return AccountType.SALES
    if any(w in words for w in EXPENSE_WORDS):
        return AccountType.EXPENSE
    return AccountType.OTHER


def remote_account(record: Mapping[str, Any]) -> RemoteAccount | None:
    """A nominal code, its integer ``Code`` as the id; archived ones are left out."""
    if record.get("Archived") is True:
        return None
    code = text(record, "Code")
    if not code:
        return None
    return RemoteAccount(id=code, code=code, name=text(record, "Name"), type=account_type(record))


BANK_PREFIX = "bank:"


def bank_account(record: Mapping[str, Any]) -> RemoteAccount:
    """A KashFlow bank account as a bank ``RemoteAccount``, its id prefixed with
    ``BANK_PREFIX`` so it cannot clash with a nominal code."""
    return RemoteAccount(
        id=BANK_PREFIX + text(record, "Id"),
        code=text(record, "Code") or text(record, "Id"),
        name=text(record, "AccountName") or text(record, "Name"),
        type=AccountType.BANK,
    )


def bank_lock(record: Mapping[str, Any]) -> date | None:
    """The bank account's transaction lock date, or ``None`` when its lock is off."""
    if record.get("TransactionLockEnabled") is not True:
        return None
    return parse_date(record.get("TransactionLockDate"))


def tax_rates() -> list[RemoteTaxRate]:
    """The fixed UK VAT rates (``UK_RATES``): KashFlow's REST API has no list of them."""
    return [RemoteTaxRate(id=rate_id, name=name, rate=rate) for rate_id, name, rate in UK_RATES]


# ----------------------------------------------------------------------------- documents


def invoice_number(our_number: str) -> int | None:
    """KashFlow's whole-number invoice number for our document number: its trailing
    digits (``INV-1001`` → 1001); ``None`` when it has none."""
    found = _DIGITS.search(our_number.strip())
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def document_payload(draft: DocumentDraft, number: int) -> Json:
    """A new invoice (or, with negative quantities, credit note) numbered ``number``;
    VAT worked out on our side, per line."""
    sign = Decimal("-1") if draft.type is DocumentType.CREDIT_NOTE else Decimal("1")
    reference = OUR_NUMBER + draft.number.strip()
    if draft.reference.strip():
        reference += f"; job {draft.reference.strip()}"
    return {
        "Number": number,
        "CustomerCode": draft.contact_ref.strip(),
        "IssuedDate": draft.date.isoformat(),
        "DueDate": (draft.due_date or draft.date).isoformat(),
        "CustomerReference": reference,
        "Currency": {"Code": "GBP"},
        "LineItems": [
            {
                "Description": line.description.strip() or "(no description)",
                "Quantity": sign * line.quantity,
                "Rate": line.unit_price,
                "NominalCode": int(line.account_id) if line.account_id.isdigit() else 0,
                "VATLevel": line.vat_rate,
                "VATAmount": sign * line.vat_amount,
            }
            for line in draft.lines
        ],
    }


@dataclass(frozen=True)
class InvoiceState:
    number: str
    customer_code: str
    our_number: str
    gross: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        """What is still owed: gross less paid."""
        return self.gross - self.paid


def invoice_state(record: Mapping[str, Any]) -> InvoiceState:
    """An invoice's number, customer, amounts and our document number (read back from
    ``CustomerReference``)."""
    reference = text(record, "CustomerReference")
    ours = ""
    if reference.startswith(OUR_NUMBER):
        ours = reference[len(OUR_NUMBER) :].split(";", 1)[0].strip()
    return InvoiceState(
        number=text(record, "Number"),
        customer_code=text(record, "CustomerCode"),
        our_number=ours,
        gross=money(record.get("GrossAmount")),
        paid=money(record.get("TotalPaidAmount")),
    )


# ----------------------------------------------------------------------------- payments


def part_note(reference: str, index: int, parts: int) -> str:
    """The ``Note`` of a payment's ``index``-th line of ``parts``: the bare reference when
    the payment has one line."""
    ref = reference.strip()
    return ref if parts == 1 else f"{ref} ({index}/{parts})"


def parse_part(note: str) -> tuple[str, int, int]:
    """A payment line's ``Note`` back into (reference, index, parts); a note that is not
    split reads as part 1 of 1."""
    found = _PART.match(note.strip())
    if found is None:
        return note.strip(), 1, 1
    return found.group("ref"), int(found.group("i")), int(found.group("n"))


def payments_path(invoice: str) -> str:
    """Payment lines of one invoice (UNVERIFIED path: see docs/packages/kashflow.md)."""
    return f"{INVOICES}/{invoice}/payments"


def payment_payload(draft: PaymentDraft, allocation: AllocationDraft, index: int) -> Json:
    """One payment line: ``allocation`` of ``draft`` into the bank account chosen."""
    account = draft.bank_account_id.strip()
    if account.startswith(BANK_PREFIX):
        account = account[len(BANK_PREFIX) :]
    return {
        "Date": draft.date.isoformat(),
        "Amount": allocation.amount,
        "Method": 2,  # "Bank transfer" in KashFlow's default methods (UNVERIFIED id)
        "AccountId": int(account) if account.isdigit() else 0,
        "Note": part_note(draft.reference, index, len(draft.allocations)),
    }


def payment_lines(body: Any) -> list[Json]:
    """The payment lines in an answer: a ``PaymentLines`` list, or else a list answer."""
    if isinstance(body, Mapping) and isinstance(body.get("PaymentLines"), list):
        return [p for p in body["PaymentLines"] if isinstance(p, dict)]
    return data_of(body)
