"""QuickBooks Online's faults, turned into :class:`~connectors.errors.Rejected` a
bookkeeper can act on: a stable code, the field at fault in Ledgerlink's terms, what is
wrong (naming the record) and what to do.

Faults are recognised by their message first and their code second: Intuit's own tables
disagree on some codes (a duplicate document number is 6140 in most reports and 6210 in
one), so the words decide (sources in docs/packages/quickbooks-online.md). A fault not
recognised still becomes a plain rejection that quotes QuickBooks and names the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from connectors.contract import (
    ContactDraft,
    PaymentDraft,
)
from connectors.errors import Rejected
from connectors.quickbooks_online.wire import QboError
from connectors.subject import Subject as RecordSubject
from connectors.wording import money, uk_date

PACKAGE = "QuickBooks"


@dataclass(frozen=True)
class NameHolder:
    """A QuickBooks name-list record using a display name: which list, its id, its name."""

    kind: str  # "customer", "supplier" or "employee"
    id: str
    name: str


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str
    total: Decimal
    balance: Decimal


class Lookups(Protocol):
    """Questions a rejection may need to ask QuickBooks to name things properly."""

    def name_holders(self, name: str) -> list[NameHolder]:
        """The records of any type that already use display name ``name``."""

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        """What QuickBooks holds for the invoice, or ``None`` if it has none."""

    def book_close_date(self) -> date | None:
        """The company's closing date, if set."""


@dataclass(frozen=True)
class Subject(RecordSubject):
    """The record QuickBooks refused (for contacts, with the display name sent)."""

    display_name: str = ""


Handler = Callable[[Subject, QboError, Lookups], Rejected]


def _duplicate_name(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, ContactDraft)
    name = subject.display_name or draft.name.strip()
    holders = lookups.name_holders(name)
    own = draft.role.value
    same_role = [h for h in holders if h.kind == own]
    if same_role or not holders:
        where = f"{own} {same_role[0].id}" if same_role else f"a {own}"
        return Rejected(
            code="duplicate_name",
            field="name",
            reason=(
                f'Cannot add {subject.label}: QuickBooks already has {where} named "{name}". '
                "QuickBooks needs every customer, supplier and employee to have a different "
                "display name."
            ),
            fix=(
                f"If it is the same business, link our {own} to QuickBooks {where} instead of "
                "sending it. If it is a different business, make the names different in your "
                "job system (for example add the town) and send it again."
            ),
        )
    other = holders[0]
    return Rejected(
        code="name_used_by_other_role",
        field="name",
        reason=(
            f'Cannot add {subject.label}: QuickBooks already uses the display name "{name}" '
            f"for {other.kind} {other.id}. QuickBooks needs a different display name for a "
            "customer and a supplier, even when they are the same business."
        ),
        fix=(
            f"Choose a second display name for our {own} in QuickBooks (for example "
            f'"{name} ({own})") in Ledgerlink\'s QuickBooks display names, then send it '
            "again. Ledgerlink never changes a name without asking you."
        ),
    )


def _duplicate_number(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    return Rejected(
        code="duplicate_number",
        field="number",
        reason=(
            f"QuickBooks already has {subject.label}. QuickBooks refuses a second "
            f"{subject.word} with the same number in this company."
        ),
        fix=(
            f"If it is this {subject.word}, it is already in QuickBooks: mark it as entered "
            f"manually instead of sending it again. If it is a different {subject.word}, give "
            "it a new number in your job system."
        ),
    )


def _closed_period(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    closed = lookups.book_close_date()
    on = getattr(subject.draft, "date", None)
    dated = f" is dated {uk_date(on)}," if isinstance(on, date) else ""
    when = f" {uk_date(closed)}" if closed else ""
    return Rejected(
        code="locked_period",
        field="date",
        reason=(
            f"{subject.opening}{dated} on or before QuickBooks' closing date{when}, so "
            "QuickBooks refuses it: the books are closed for that period."
        ),
        fix=(
            "If it really belongs to the closed period, ask whoever keeps the books to move "
            "the closing date in QuickBooks (Settings › Advanced › Accounting) or enter it by "
            f"hand; otherwise correct the date in your job system to after{when or ' it'} and "
            "send it again."
        ),
    )


def _missing_vat(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    return Rejected(
        code="unknown_tax_rate",
        field="lines[0].vat_rate",
        reason=(
            f"QuickBooks refused {subject.label} because a line has no VAT code it can use "
            "(a UK QuickBooks company needs one on every line)."
        ),
        fix=(
            "Check the VAT codes in QuickBooks (Taxes › VAT) are switched on and that each of "
            "our VAT rates has one, then send it again."
        ),
    )


def _over_payment(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, PaymentDraft)
    for index, allocation in enumerate(draft.allocations):
        invoice = lookups.invoice_summary(allocation.document_ref)
        if invoice is not None and allocation.amount > invoice.balance:
            return Rejected(
                code="over_payment",
                field=f"allocations[{index}].amount",
                reason=(
                    f"{subject.opening} sets {money(allocation.amount)} against invoice "
                    f"{invoice.number}, but QuickBooks shows only {money(invoice.balance)} of "
                    f"its {money(invoice.total)} still owed."
                ),
                fix=(
                    f"Check invoice {invoice.number}'s payments and credit notes in QuickBooks "
                    "and in your job system; correct the payment so it is no more than is "
                    "still owed, then send it again."
                ),
            )
    return Rejected(
        code="over_payment",
        field="allocations[0].amount",
        reason=f"{subject.opening} sets more against an invoice than QuickBooks shows owed.",
        fix="Check the invoice's payments in QuickBooks, correct the payment, then send again.",
    )


def _invalid_reference(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    element = error.element.lower()
    draft = subject.draft
    if "itemref" in element:
        return Rejected(
            code="unknown_account",
            field="lines[0].nominal_account",
            reason=(
                f"{subject.opening} uses a QuickBooks product or service that QuickBooks no "
                "longer has, or has made inactive."
            ),
            fix=(
                "Open Nominal accounts in Ledgerlink and choose an active QuickBooks product or "
                "service for each sales account, then send again."
            ),
        )
    if "taxcode" in element or "taxrate" in element:
        return _missing_vat(subject, error, lookups)
    if "deposittoaccount" in element:
        return Rejected(
            code="not_a_bank_account",
            field="bank_account",
            reason=f"{subject.opening} is paid into a QuickBooks account it cannot pay into.",
            fix=(
                "Open Nominal accounts in Ledgerlink and match the bank account to an active "
                "QuickBooks bank account, then send again."
            ),
        )
    if "linkedtxn" in element or isinstance(draft, PaymentDraft):
        return Rejected(
            code="unknown_invoice",
            field="allocations[0].document",
            reason=f"{subject.opening} is set against an invoice QuickBooks does not have.",
            fix="Send the invoice first (or check it was not deleted in QuickBooks), then again.",
        )
    ref = getattr(draft, "contact_ref", "")
    return Rejected(
        code="unknown_contact",
        field="contact",
        reason=(
            f"{subject.opening} is for QuickBooks customer {ref}, which QuickBooks does not "
            "have or has made inactive."
        ),
        fix=(
            "Link the customer to an active QuickBooks customer (or send the customer first), "
            "then send it again."
        ),
    )


def _invalid_email(subject: Subject, error: QboError, lookups: Lookups) -> Rejected:
    email = getattr(subject.draft, "email", "")
    return Rejected(
        code="invalid_email",
        field="email",
        reason=f'The email address of {subject.label}, "{email}", is not one QuickBooks accepts.',
        fix=(
            f"Correct the {subject.word}'s email in your job system (one address, no spaces), "
            "or clear it, then send it again."
        ),
    )


#: (message pattern, codes) → handler; the message decides, the code is the fallback.
HANDLERS: tuple[tuple[re.Pattern[str], frozenset[str], Handler], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), frozenset(codes), handler)
    for pattern, codes, handler in (
        (r"duplicate name exists|already using this name", ("6240",), _duplicate_name),
        (r"duplicate document number", ("6140",), _duplicate_number),
        (r"account period closed|books cannot be updated", (), _closed_period),
        (r"(vat|tax) (rate|code)", (), _missing_vat),
        (r"open balance|more than .* owed|exceeds the balance", (), _over_payment),
        (r"invalid reference id|object not found", ("2500", "610"), _invalid_reference),
        (r"email address", (), _invalid_email),
    )
)


def rejection(subject: Subject, errors: Sequence[QboError], lookups: Lookups) -> Rejected:
    """The rejection for the first fault Ledgerlink recognises, else one quoting QuickBooks."""
    for error in errors:
        for pattern, _codes, handler in HANDLERS:
            if pattern.search(error.text):
                return handler(subject, error, lookups)
    for error in errors:
        for _, codes, handler in HANDLERS:
            if error.code in codes:
                return handler(subject, error, lookups)
    quoted = " ".join(e.text.rstrip(".") + "." for e in errors if e.text) or "no reason given."
    return Rejected(
        code="quickbooks_refused",
        field="",
        reason=f"{PACKAGE} refused {subject.label}: {quoted}",
        fix=(
            f"Correct the {subject.word} in your job system (or the setting in QuickBooks that "
            "the message names), then send it again."
        ),
    )


def local_refusal(subject: Subject, code: str, field: str, reason: str, fix: str) -> Rejected:
    """A record Ledgerlink will not send as it stands (checked before any request)."""
    return Rejected(code=code, field=field, reason=f"{subject.opening} {reason}", fix=fix)
