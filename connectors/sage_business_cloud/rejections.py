"""Sage's 422 answers, turned into :class:`~connectors.errors.Rejected` a bookkeeper can
act on: a stable code, the field at fault in Ledgerlink's terms, what is wrong (naming
the record) and what to do.

Sage names the field at fault in ``$source`` (``invoice_lines.0.tax_amount``), so the
field decides and the message confirms; Sage's exact message texts are not published
(sources in docs/packages/sage-business-cloud.md). An answer not recognised still
becomes a plain rejection that quotes Sage and names the record.
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
    LockDates,
    PaymentDraft,
    RemoteContact,
)
from connectors.errors import Rejected
from connectors.sage_business_cloud.wire import SageError
from connectors.subject import Subject as RecordSubject
from connectors.wording import money, uk_date


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str
    total: Decimal
    outstanding: Decimal
    date: date | None = None


class Lookups(Protocol):
    """Questions a rejection may need to ask Sage to name things properly."""

    def contact_by_reference(self, reference: str) -> RemoteContact | None:
        """The contact with account reference ``reference``, if there is one."""

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        """What Sage holds for the invoice, or ``None`` if it has none."""

    def lock_dates(self) -> LockDates:
        """The business's lock dates."""


@dataclass(frozen=True)
class Subject(RecordSubject):
    """The record Sage refused."""


def _index(source: str) -> int:
    found = re.search(r"\.(\d+)\.", source)
    return int(found.group(1)) if found else 0


Handler = Callable[[Subject, SageError, Lookups], Rejected]


def _duplicate_reference(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, ContactDraft)
    ref = draft.our_ref.strip()
    existing = lookups.contact_by_reference(ref)
    who = f' "{existing.name}" ({existing.ref})' if existing else ""
    return Rejected(
        code="duplicate_reference",
        field="account_ref",
        reason=(
            f"Cannot add {subject.label}: Sage already has a contact{who} with the reference "
            f"{ref}, and Sage keeps contact references unique."
        ),
        fix=(
            f"If it is the same business, link our {subject.word} to that Sage contact "
            "instead of sending it. If not, give one of them another account reference."
        ),
    )


def _duplicate_number(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    return Rejected(
        code="duplicate_number",
        field="number",
        reason=(
            f"Sage already has {subject.label}. Sage refuses a second {subject.word} with the "
            "same number."
        ),
        fix=(
            f"If it is this {subject.word}, it is already in Sage: mark it as entered manually "
            f"instead of sending it again. If it is a different {subject.word}, give it a new "
            "number in your job system."
        ),
    )


def _locked(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    lock = lookups.lock_dates().effective
    on = getattr(subject.draft, "date", None)
    dated = f" is dated {uk_date(on)}," if isinstance(on, date) else ""
    when = f" {uk_date(lock)}" if lock else ""
    return Rejected(
        code="locked_period",
        field="date",
        reason=(
            f"{subject.opening}{dated} on or before Sage's lockdown date{when}, so Sage "
            "refuses it: that period is closed."
        ),
        fix=(
            "If it really belongs to the closed period, ask whoever keeps the books to move "
            "the lockdown date in Sage (Settings › Financial settings) or enter it by hand; "
            f"otherwise correct the date in your job system to after{when or ' it'} and send "
            "it again."
        ),
    )


def _over_payment(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    draft = subject.draft
    assert isinstance(draft, PaymentDraft)
    index = _index(error.source) if error.source.startswith("allocated_artefacts") else 0
    index = min(index, max(0, len(draft.allocations) - 1))
    allocation = draft.allocations[index] if draft.allocations else None
    invoice = lookups.invoice_summary(allocation.document_ref) if allocation else None
    if allocation is not None and invoice is not None:
        reason = (
            f"{subject.opening} sets {money(allocation.amount)} against invoice "
            f"{invoice.number}, but Sage shows only {money(invoice.outstanding)} of its "
            f"{money(invoice.total)} still owed."
        )
        target = f"invoice {invoice.number}"
    else:
        reason = f"{subject.opening} sets more against an invoice than Sage shows owed."
        target = "the invoice"
    return Rejected(
        code="over_payment",
        field=f"allocations[{index}].amount",
        reason=reason,
        fix=(
            f"Check {target}'s payments and credit notes in Sage and in your job system; "
            "correct the payment so it is no more than is still owed, then send it again."
        ),
    )


def _unknown_contact(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    ref = getattr(subject.draft, "contact_ref", "")
    return Rejected(
        code="unknown_contact",
        field="contact",
        reason=f'{subject.opening} is for Sage contact "{ref}", which Sage does not have.',
        fix=(
            "Link the customer to a contact that exists in Sage (or send the customer first), "
            "then send it again."
        ),
    )


def _unknown_invoice(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    draft = subject.draft
    index = _index(error.source)
    if isinstance(draft, PaymentDraft) and draft.allocations:
        index = min(index, len(draft.allocations) - 1)
        ref, field = draft.allocations[index].document_ref, f"allocations[{index}].document"
    else:
        ref, field = getattr(draft, "credits_document_ref", ""), "original_invoice_number"
    return Rejected(
        code="unknown_invoice",
        field=field,
        reason=f'{subject.opening} is set against Sage invoice "{ref}", which Sage does not have.',
        fix="Send the invoice first (or check it was not deleted in Sage), then send again.",
    )


def _unknown_account(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    index = _index(error.source)
    return Rejected(
        code="unknown_account",
        field=f"lines[{index}].nominal_account",
        reason=(
            f"Line {index + 1} of {subject.label} posts to a Sage ledger account that Sage "
            "does not have, or that cannot take sales."
        ),
        fix=(
            "Open Nominal accounts in Ledgerlink and match that account to a Sage sales "
            "ledger account, then send again."
        ),
    )


def _unknown_tax(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    index = _index(error.source)
    return Rejected(
        code="unknown_tax_rate",
        field=f"lines[{index}].vat_rate",
        reason=f"Line {index + 1} of {subject.label} uses a VAT rate Sage does not offer.",
        fix="Check the VAT rates in Sage (Settings › VAT), then send again.",
    )


def _vat_amount(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    index = _index(error.source)
    return Rejected(
        code="vat_mismatch",
        field=f"lines[{index}].vat_amount",
        reason=(
            f"Sage does not accept the VAT on line {index + 1} of {subject.label}: "
            f"{error.message.rstrip('.')}."
        ),
        fix="Correct the line's VAT amount or VAT rate in your job system, then send again.",
    )


def _not_a_bank(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    return Rejected(
        code="not_a_bank_account",
        field="bank_account",
        reason=f"{subject.opening} is paid into a Sage bank account that Sage does not have.",
        fix=(
            "Open Nominal accounts in Ledgerlink and match the bank account to one of Sage's "
            "bank accounts, then send again."
        ),
    )


def _invalid_email(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    email = getattr(subject.draft, "email", "")
    return Rejected(
        code="invalid_email",
        field="email",
        reason=f'The email address of {subject.label}, "{email}", is not one Sage accepts.',
        fix=(
            f"Correct the {subject.word}'s email in your job system (one address, no spaces), "
            "or clear it, then send it again."
        ),
    )


def _missing_name(subject: Subject, error: SageError, lookups: Lookups) -> Rejected:
    return Rejected(
        code="missing_name",
        field="name",
        reason=f"{subject.opening} has no name, and Sage needs one for every contact.",
        fix=f"Type the {subject.word}'s name in your job system, then send it again.",
    )


#: (``$source`` pattern, message pattern) → handler; first match wins.
HANDLERS: tuple[tuple[re.Pattern[str], re.Pattern[str], Handler], ...] = tuple(
    (re.compile(source), re.compile(message, re.IGNORECASE), handler)
    for source, message, handler in (
        (r"^reference$", r"taken|already|unique", _duplicate_reference),
        (r"^(invoice_number|credit_note_number)$", r"taken|already|unique", _duplicate_number),
        (r"^date$", r"lock|closed|before", _locked),
        (
            r"^allocated_artefacts\.\d+\.amount$|^total_amount$",
            r"outstanding|exceed",
            _over_payment,
        ),
        (r"^allocated_artefacts\.\d+\.artefact_id$", r"", _unknown_invoice),
        (r"^contact_id$", r"", _unknown_contact),
        (r"ledger_account_id$", r"", _unknown_account),
        (r"tax_rate_id$", r"", _unknown_tax),
        (r"tax_amount$", r"", _vat_amount),
        (r"^bank_account_id$", r"", _not_a_bank),
        (r"^(?:main_contact_person\.)?email$", r"", _invalid_email),
        (r"^name$", r"", _missing_name),
    )
)


def rejection(subject: Subject, errors: Sequence[SageError], lookups: Lookups) -> Rejected:
    """The rejection for the first error Ledgerlink recognises, else one quoting Sage."""
    for error in errors:
        for source, message, handler in HANDLERS:
            if source.search(error.source) and message.search(error.message):
                return handler(subject, error, lookups)
    quoted = " ".join(e.text.rstrip(".") + "." for e in errors) or "no reason given."
    return Rejected(
        code="sage_refused",
        field="",
        reason=f"Sage refused {subject.label}: {quoted}",
        fix=(
            f"Correct the {subject.word} in your job system (or the setting in Sage that the "
            "message names), then send it again."
        ),
    )
