"""Xero's validation messages, turned into :class:`~connectors.errors.Rejected` a
bookkeeper can act on: a stable code, the field at fault in Ledgerlink's terms, what is
wrong (naming the record) and what to do.

The messages matched are Xero's own, from its OpenAPI description's examples and from
Xero staff and integrator reports (sources in docs/packages/xero.md). A message not
recognised still becomes a plain rejection that quotes Xero and names the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from connectors.contract import (
    ContactDraft,
    DocumentDraft,
    PaymentDraft,
    RemoteContact,
)
from connectors.errors import Rejected
from connectors.subject import Subject as RecordSubject
from connectors.wording import money, uk_date


@dataclass(frozen=True)
class InvoiceSummary:
    """What a rejection may need to say about an invoice in Xero."""

    id: str
    number: str
    total: Decimal
    amount_due: Decimal
    #: Credit notes already set against it: number → amount.
    credited: Mapping[str, Decimal] = field(default_factory=dict)


class Lookups(Protocol):
    """Questions a rejection may need to ask Xero to name things properly."""

    def contact_named(self, name: str) -> RemoteContact | None:
        """The contact called ``name``, if there is one."""

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        """What Xero holds for the invoice, or ``None`` if it has none."""


@dataclass(frozen=True)
class Subject(RecordSubject):
    """The record Xero refused, and (for a payment split across invoices) which part."""

    part: int = 0
    #: The Xero account code of each line, as sent (documents only).
    line_codes: tuple[str, ...] = ()


Handler = Callable[[Subject, "re.Match[str]", Lookups], Rejected]


def _duplicate_name(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, ContactDraft)
    existing = lookups.contact_named(draft.name.strip())
    if existing is not None:
        where = f'an active contact named "{existing.name}" ({existing.ref})'
        link = f"link our {subject.word} to Xero contact {existing.ref} instead of sending it"
    else:
        where = f'an active contact named "{draft.name.strip()}"'
        link = f"link our {subject.word} to that Xero contact instead of sending it"
    return Rejected(
        code="duplicate_name",
        field="name",
        reason=(
            f"Cannot add {subject.label}: Xero already has {where}. Xero needs contact names "
            "to be unique among its active contacts, customers and suppliers alike."
        ),
        fix=(
            f"If it is the same business, {link}. If it is a different business, make the "
            "names different in your job system (for example add the town) and send it again."
        ),
    )


def _duplicate_number(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    return Rejected(
        code="duplicate_number",
        field="number",
        reason=(
            f"Xero already has {subject.label}. {subject.word.capitalize()} numbers must be "
            "unique in Xero."
        ),
        fix=(
            f"If it is this {subject.word}, it is already in Xero: mark it as entered "
            f"manually instead of sending it again. If it is a different {subject.word}, give "
            "it a new number in your job system."
        ),
    )


def _over_payment(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, PaymentDraft)
    allocation = draft.allocations[subject.part]
    invoice = lookups.invoice_summary(allocation.document_ref)
    if invoice is not None:
        owed = (
            f"invoice {invoice.number}, but Xero shows only {money(invoice.amount_due)} of "
            f"its {money(invoice.total)} still owed"
        )
        target = f"invoice {invoice.number}"
    else:
        owed = "an invoice in Xero that owes less than that"
        target = "that invoice"
    return Rejected(
        code="over_payment",
        field=f"allocations[{subject.part}].amount",
        reason=f"{subject.opening} sets {money(allocation.amount)} against {owed}.",
        fix=(
            f"Check {target}'s payments and credit notes in Xero and in your job system; "
            "correct the payment so it is no more than is still owed, then send it again."
        ),
    )


def _locked(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    which = "end of year lock date" if "year" in match.group(0).lower() else "lock date"
    when = _date_in(match.string)
    on = getattr(subject.draft, "date", None)
    dated = f" is dated {uk_date(on)}," if isinstance(on, date) else ""
    lock = f" {uk_date(when)}" if when else ""
    return Rejected(
        code="locked_period",
        field="date",
        reason=(
            f"{subject.opening}{dated} on or before Xero's {which}{lock}, so Xero refuses it: "
            "that period is closed."
        ),
        fix=(
            "If it really belongs to the closed period, ask whoever keeps the books to move "
            f"the lock date in Xero or enter it by hand; otherwise correct the date in your job "
            f"system to after{lock or ' the lock date'} and send it again."
        ),
    )


def _date_in(message: str) -> date | None:
    found = re.search(r"(\d{1,2})[- ]([A-Za-z]{3})[a-z]*[- ](\d{4})", message)
    if not found:
        return None
    try:
        return datetime.strptime(" ".join(found.groups()), "%d %b %Y").date()  # noqa: DTZ007
    except ValueError:
        return None


def _line_of(subject: Subject, wanted: str, attribute: str) -> int:
    draft = subject.draft
    if attribute == "code" and wanted in subject.line_codes:
        return subject.line_codes.index(wanted)
    if isinstance(draft, DocumentDraft):
        for index, line in enumerate(draft.lines):
            if getattr(line, attribute, None) == wanted:
                return index
    return 0


def _unknown_account(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    code = match.group(1)
    index = _line_of(subject, code, "code")
    return Rejected(
        code="unknown_account",
        field=f"lines[{index}].nominal_account",
        reason=(
            f"Line {index + 1} of {subject.label} posts to Xero account code {code}, which "
            "Xero does not recognise (it may have been archived or deleted)."
        ),
        fix=(
            "Open Nominal accounts in Ledgerlink and match that account to an active Xero "
            "sales account, then send again."
        ),
    )


def _unknown_tax(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    tax_type = match.group(1) or ""
    index = _line_of(subject, tax_type, "tax_rate_id")
    return Rejected(
        code="unknown_tax_rate",
        field=f"lines[{index}].vat_rate",
        reason=(
            f"Line {index + 1} of {subject.label} uses Xero tax rate {tax_type or '(unknown)'}, "
            "which Xero cannot use on a sales document."
        ),
        fix="Check the VAT rates in Xero (Settings › Tax rates), then send again.",
    )


def _unknown_contact(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    ref = getattr(subject.draft, "contact_ref", "")
    return Rejected(
        code="unknown_contact",
        field="contact",
        reason=f'{subject.opening} is for Xero contact "{ref}", which Xero does not have.',
        fix=(
            "Link the customer to a contact that exists in Xero (or send the customer first), "
            "then send it again."
        ),
    )


def _unknown_document(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    draft = subject.draft
    if isinstance(draft, PaymentDraft):
        ref = draft.allocations[subject.part].document_ref
        field = f"allocations[{subject.part}].document"
    else:
        ref = getattr(draft, "credits_document_ref", "")
        field = "original_invoice_number"
    return Rejected(
        code="unknown_invoice",
        field=field,
        reason=f'{subject.opening} is set against Xero invoice "{ref}", which Xero does not have.',
        fix="Send the invoice first (or check it was not deleted in Xero), then send again.",
    )


def _not_a_bank(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    return Rejected(
        code="not_a_bank_account",
        field="bank_account",
        reason=f"{subject.opening} is paid into a Xero account that cannot take payments.",
        fix=(
            "Open Nominal accounts in Ledgerlink and match the bank account to a Xero bank "
            "account, then send again."
        ),
    )


def _invalid_email(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    email = getattr(subject.draft, "email", "")
    return Rejected(
        code="invalid_email",
        field="email",
        reason=f'The email address of {subject.label}, "{email}", is not one Xero accepts.',
        fix=(
            f"Correct the {subject.word}'s email in your job system (one address, no spaces), "
            "or clear it, then send it again."
        ),
    )


def _missing_name(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    return Rejected(
        code="missing_name",
        field="name",
        reason=f"{subject.opening} has no name, and Xero needs one for every contact.",
        fix=f"Type the {subject.word}'s name in your job system, then send it again.",
    )


def _missing_due_date(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    return Rejected(
        code="missing_due_date",
        field="due_date",
        reason=f"{subject.opening} has no due date, and Xero needs one for an approved invoice.",
        fix="Give the invoice a due date in your job system, then send it again.",
    )


def _over_allocation(subject: Subject, match: re.Match[str], lookups: Lookups) -> Rejected:
    return Rejected(
        code="over_allocation",
        field="original_invoice_number",
        reason=(
            f"{subject.opening} is more than Xero shows still owed on the invoice it credits, so "
            "Xero will not set it against that invoice."
        ),
        fix=(
            "Check the invoice's payments and credit notes in Xero; if it is already settled, "
            "clear the original invoice on the credit note in your job system and send again."
        ),
    )


#: Xero's message patterns, most specific first.
HANDLERS: tuple[tuple[re.Pattern[str], Handler], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), handler)
    for pattern, handler in (
        (r"contact name .* is already assigned to another contact", _duplicate_name),
        (r"(invoice|credit ?note) (#|number) must be unique", _duplicate_number),
        (r"payment amount exceeds the amount outstanding", _over_payment),
        (
            r"(amount is greater than amount outstanding|has already been paid off)",
            _over_allocation,
        ),
        (r"(end of year|period)? ?lock date", _locked),
        (
            r"account code '+([^']*)'+ .*(removed|not a valid|does not match|recognised)",
            _unknown_account,
        ),
        (r"tax ?type(?: code)? '+([^']*)'+", _unknown_tax),
        (r"email address must be valid", _invalid_email),
        (r"(a )?name is required|must contain .*Name", _missing_name),
        (r"due ?date .*(required|must)", _missing_due_date),
        (r"account type is invalid|cannot (make|accept) payments? (to|into)", _not_a_bank),
        (r"contact .*(could not be found|does not exist|not found)", _unknown_contact),
        (r"document with the supplied id was not found", _unknown_document),
    )
)


def rejection(subject: Subject, messages: Sequence[str], lookups: Lookups) -> Rejected:
    """The rejection for the first message Ledgerlink recognises, else one quoting Xero."""
    for message in messages:
        for pattern, handler in HANDLERS:
            match = pattern.search(message)
            if match:
                return handler(subject, match, lookups)
    quoted = " ".join(m.rstrip(".") + "." for m in messages) or "no reason given."
    return Rejected(
        code="xero_refused",
        field="",
        reason=f"Xero refused {subject.label}: {quoted}",
        fix=(
            f"Correct the {subject.word} in your job system (or the setting in Xero that the "
            "message names), then send it again."
        ),
    )
