"""The Sandbox's validation rules, enforced the way real packages enforce theirs.

Each rule raises :class:`~connectors.errors.Rejected` with a stable ``code``, the
``field`` at fault in Ledgerlink's terms (``name``, ``number``, ``contact``,
``lines[1].nominal_account``, ``allocations[0].amount``…; list indexes count from 0 as in
the draft, while the ``reason`` says "line 2" as a bookkeeper would), a ``reason`` that
names the record, and a ``fix`` a bookkeeper can act on.

Every function here runs inside the caller's transaction and never writes. The checks
read through :class:`~connectors.sandbox.lookups.Lookups`, which loads what a batch
needs in a few queries and remembers the records the batch has accepted so far.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.contract import (
    AccountType,
    AllocationDraft,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    LineDraft,
    PaymentDraft,
)
from connectors.errors import Rejected
from connectors.sandbox.lookups import ContactFacts, DocumentFacts, Lookups, invoice_unpaid
from connectors.sandbox.models import (
    CONTACT_PREFIX,
    DOCUMENT_PREFIX,
    PENNY,
    AllocationRow,
    CompanyRow,
    ContactRow,
    CreditAllocationRow,
    DocumentRow,
    parse_ref,
)
from connectors.wording import money, uk_date

EMAIL_PATTERN = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")
MAX_NAME_LENGTH = 200
HUNDRED = Decimal(100)

_DOCUMENT_WORDS = {DocumentType.INVOICE: "invoice", DocumentType.CREDIT_NOTE: "credit note"}


def sentence(text: str) -> str:
    """Capitalise the first letter only (unlike ``str.capitalize``, which lowers the rest)."""
    return text[:1].upper() + text[1:]


def document_word(doc_type: DocumentType) -> str:
    """What a bookkeeper calls ``doc_type`` in a message: "invoice" or "credit note"."""
    return _DOCUMENT_WORDS[doc_type]


@cache
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def _has_places(value: Decimal, places: int) -> bool:
    """True if ``value`` is a finite Decimal with at most ``places`` decimal places."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return False
    try:
        return value == value.quantize(_quantum(places))
    except InvalidOperation:
        return False


# ----------------------------------------------------------------------------- lookups


def company(session: Session) -> CompanyRow:
    """The Sandbox file's single company row."""
    row = session.get(CompanyRow, 1)
    if row is None:  # pragma: no cover - created with the file
        raise RuntimeError("the Sandbox file has no company row")
    return row


def contact_by_ref(session: Session, ref: str) -> ContactRow | None:
    """The contact with reference ``ref``, or ``None`` if there is none or it is malformed."""
    pk = parse_ref(CONTACT_PREFIX, ref)
    return session.get(ContactRow, pk) if pk is not None else None


def document_by_ref(session: Session, ref: str) -> DocumentRow | None:
    """The document with reference ``ref``, or ``None`` if there is none or it is malformed."""
    pk = parse_ref(DOCUMENT_PREFIX, ref)
    return session.get(DocumentRow, pk) if pk is not None else None


def invoice_outstanding(session: Session, invoice: DocumentRow) -> Decimal:
    """Gross minus payments and credit notes already set against the invoice."""
    # One statement for both sums: a payment's checks ask this for every invoice it pays.
    paid, credited = session.execute(
        select(
            select(func.sum(AllocationRow.amount))
            .where(AllocationRow.document_pk == invoice.pk)
            .scalar_subquery(),
            select(func.sum(CreditAllocationRow.amount))
            .where(CreditAllocationRow.invoice_pk == invoice.pk)
            .scalar_subquery(),
        )
    ).one()
    return invoice_unpaid(invoice.gross_total, paid or Decimal("0.00"), credited or Decimal("0.00"))


def credit_note_unallocated(session: Session, credit_note: DocumentRow) -> Decimal:
    """The part of a credit note not yet set against any invoice."""
    used = session.scalar(
        select(func.sum(CreditAllocationRow.amount)).where(
            CreditAllocationRow.credit_note_pk == credit_note.pk
        )
    )
    return credit_note.gross_total - (used or Decimal("0.00"))


def _describe_contact(role: ContactRole, name: str, our_ref: str) -> str:
    label = f'{role.value} "{name.strip()}"'
    return f"{label} (account {our_ref.strip()})" if our_ref.strip() else label


# ----------------------------------------------------------------------------- contacts


def check_email(who: str, role: str, email: str) -> None:
    """One email address, or none: the Sandbox refuses anything else."""
    if email and not EMAIL_PATTERN.fullmatch(email):
        raise Rejected(
            code="invalid_email",
            field="email",
            reason=(
                f'The email address of {who}, "{email}", does not look like one email '
                "address (name@example.co.uk), so the Sandbox refuses it."
            ),
            fix=(
                f"Correct the {role}'s email in your job system (one address, no spaces), "
                "or clear it, then send it again."
            ),
        )


def check_contact(look: Lookups, draft: ContactDraft) -> None:
    """Name present and unique (capitals and surrounding spaces ignored), email sane,
    our account reference not already used by another contact of the same role."""
    role = draft.role.value
    name = draft.name.strip()
    if not name:
        about = (
            f"The {role} with account reference {draft.our_ref.strip()}"
            if draft.our_ref.strip()
            else f"This {role}"
        )
        raise Rejected(
            code="missing_name",
            field="name",
            reason=f"{about} has no name, and the Sandbox needs a name for every contact.",
            fix=f"Type the {role}'s name in your job system, then send it again.",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise Rejected(
            code="name_too_long",
            field="name",
            reason=(
                f'The name of {role} "{name[:40]}…" is {len(name)} characters long; the '
                f"Sandbox keeps at most {MAX_NAME_LENGTH}."
            ),
            fix=f"Shorten the {role}'s name in your job system, then send it again.",
        )
    who = _describe_contact(draft.role, draft.name, draft.our_ref)
    existing = look.contact_named(name)
    if existing is not None:
        same = "exactly that name" if existing.name == name else f'the name "{existing.name}"'
        raise Rejected(
            code="duplicate_name",
            field="name",
            reason=(
                f"Cannot add {who}: the Sandbox already has a {existing.role.value} with "
                f"{same} ({existing.ref}). Contact names must be unique in the Sandbox, "
                "whatever their capitals or surrounding spaces, and whether the contact is "
                "a customer or a supplier."
            ),
            fix=(
                f"If it is the same business, link our {role} to Sandbox contact "
                f"{existing.ref} instead of sending it. If it is a different business, "
                "make the names different in your job system (for example add the town) "
                "and send it again."
            ),
        )
    check_email(who, role, draft.email.strip())
    our_ref = draft.our_ref.strip()
    if our_ref:
        taken = look.contact_with_our_ref(draft.role, our_ref)
        if taken is not None:
            raise Rejected(
                code="duplicate_reference",
                field="account_ref",
                reason=(
                    f"Cannot add {who}: Sandbox {role} {taken.ref} "
                    f'("{taken.name}") already carries account reference {our_ref}.'
                ),
                fix=(
                    f"If {taken.ref} is this {role}, link to it instead of sending. "
                    f"Otherwise give the {role} a different account reference in your job "
                    "system."
                ),
            )


# ----------------------------------------------------------------------------- shared


def check_not_locked(look: Lookups, when: date, what: str) -> None:
    """Refuse ``what`` if ``when`` falls on or before the company's lock date."""
    lock = look.lock_date()
    if lock is not None and when <= lock:
        raise Rejected(
            code="locked_period",
            field="date",
            reason=(
                f"{what} is dated {uk_date(when)}, on or before the Sandbox's lock date "
                f"{uk_date(lock)}, so the Sandbox refuses it: that period is closed."
            ),
            fix=(
                f"If it really belongs to the closed period, ask whoever keeps the books to "
                f"move the lock date (now {uk_date(lock)}) or enter it by hand; otherwise "
                f"correct the date in your job system to after {uk_date(lock)} and send "
                "it again."
            ),
        )


def _customer(look: Lookups, ref: str, what: str) -> ContactFacts:
    contact = look.contact(ref)
    if contact is None:
        raise Rejected(
            code="unknown_contact",
            field="contact",
            reason=f'{what} is for Sandbox contact "{ref}", which the Sandbox does not have.',
            fix=(
                "Link the customer to a contact that exists in the Sandbox (or send the "
                "customer first), then send it again."
            ),
        )
    if contact.role is not ContactRole.CUSTOMER:
        raise Rejected(
            code="unknown_contact",
            field="contact",
            reason=(
                f'{what} is for "{contact.name}" ({contact.ref}), which is a '
                f"{contact.role.value} in the Sandbox, not a customer."
            ),
            fix=("Link our customer to a Sandbox customer (not a supplier), then send it again."),
        )
    return contact


# ----------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class CheckedDocument:
    contact: ContactFacts
    net_total: Decimal
    vat_total: Decimal


def check_document(look: Lookups, draft: DocumentDraft) -> CheckedDocument:
    """Check ``draft`` as a real package would, raising ``Rejected`` with the reason.

    Returns the contact it is for and its totals, so the caller need not work them out again.
    """
    word = document_word(draft.type)
    number = draft.number.strip()
    if not number:
        raise Rejected(
            code="missing_number",
            field="number",
            reason=f"The {word} dated {uk_date(draft.date)} has no number.",
            fix=f"Give the {word} a number in your job system, then send it again.",
        )
    what = f"{sentence(word)} {number}"
    existing = look.document_numbered(draft.type, number)
    if existing is not None:
        raise Rejected(
            code="duplicate_number",
            field="number",
            reason=(
                f"The Sandbox already has {word} {number} ({existing.ref}, for "
                f'"{existing.contact_name}", dated {uk_date(existing.date)}). {sentence(word)} '
                "numbers must be unique."
            ),
            fix=(
                f"If it is this {word}, it is already in the Sandbox: mark it as entered "
                f"by hand instead of sending it again. If it is a different {word}, give it "
                "a new number in your job system."
            ),
        )
    contact = _customer(look, draft.contact_ref, what)
    check_not_locked(look, draft.date, what)
    if draft.due_date is not None and draft.due_date < draft.date:
        raise Rejected(
            code="invalid_due_date",
            field="due_date",
            reason=(
                f"{what} is due on {uk_date(draft.due_date)}, before its own date "
                f"{uk_date(draft.date)}."
            ),
            fix=f"Correct the due date of {word} {number} in your job system.",
        )
    if not draft.lines:
        raise Rejected(
            code="no_lines",
            field="lines",
            reason=f"{what} has no lines, and the Sandbox needs at least one.",
            fix=f"Add the {word}'s lines in your job system, then send it again.",
        )
    for index, line in enumerate(draft.lines):
        _check_line(look, what, index, line)
    net_total = draft.net_total
    vat_total = draft.vat_total
    if net_total + vat_total < 0:
        raise Rejected(
            code="negative_total",
            field="lines",
            reason=f"{what} adds up to {money(net_total + vat_total)}; the Sandbox refuses "
            "documents whose total is below zero.",
            fix=(
                "Enter money owed to the customer as a credit note with positive amounts "
                "rather than a negative invoice, then send again."
                if draft.type is DocumentType.INVOICE
                else "Enter the credit note's amounts as positive numbers, then send again."
            ),
        )
    return CheckedDocument(contact=contact, net_total=net_total, vat_total=vat_total)


def _check_line(look: Lookups, what: str, index: int, line: LineDraft) -> None:
    where = f"line {index + 1} of {what[0].lower()}{what[1:]}"
    field_prefix = f"lines[{index}]"
    for name, value, places in (
        ("quantity", line.quantity, 4),
        ("unit_price", line.unit_price, 4),
        ("net_amount", line.net_amount, 2),
        ("vat_amount", line.vat_amount, 2),
        ("vat_rate", line.vat_rate, 2),
    ):
        if not _has_places(value, places):
            raise Rejected(
                code="invalid_amount",
                field=f"{field_prefix}.{name}",
                reason=(
                    f"The {name.replace('_', ' ')} on {where} is {value}, which the Sandbox "
                    f"cannot keep exactly (at most {places} decimal places)."
                ),
                fix=f"Correct the {name.replace('_', ' ')} in your job system.",
            )
    account = look.account(line.account_id)
    if account is None:
        raise Rejected(
            code="unknown_account",
            field=f"{field_prefix}.nominal_account",
            reason=(
                f'{sentence(where)} posts to Sandbox account "{line.account_id}", which the '
                "Sandbox does not have."
            ),
            fix=(
                "In Ledgerlink's account mapping, map that nominal account to one of the "
                "Sandbox's sales accounts (for example 4000 Sales), then send again."
            ),
        )
    if account.type is not AccountType.SALES:
        raise Rejected(
            code="wrong_account_type",
            field=f"{field_prefix}.nominal_account",
            reason=(
                f"{sentence(where)} posts to {account.code} {account.name}, which is a "
                f"{account.type.value} account; sales documents must post to a sales account."
            ),
            fix=(
                "In Ledgerlink's account mapping, map that nominal account to a Sandbox "
                "sales account (for example 4000 Sales), then send again."
            ),
        )
    tax_rate = look.tax_rate(line.tax_rate_id)
    if tax_rate is None:
        raise Rejected(
            code="unknown_tax_rate",
            field=f"{field_prefix}.vat_rate",
            reason=(
                f'{sentence(where)} uses Sandbox tax rate "{line.tax_rate_id}", which the '
                "Sandbox does not have."
            ),
            fix=(
                f"In Ledgerlink's VAT mapping, map {line.vat_rate}% to one of the Sandbox's "
                "tax rates (for example Standard 20%), then send again."
            ),
        )
    if tax_rate.rate != line.vat_rate:
        raise Rejected(
            code="vat_rate_mismatch",
            field=f"{field_prefix}.vat_rate",
            reason=(
                f"{sentence(where)} is at {line.vat_rate}% VAT but uses the Sandbox tax "
                f'rate "{tax_rate.name}", which is {tax_rate.rate}%.'
            ),
            fix=(
                f"In Ledgerlink's VAT mapping, map {line.vat_rate}% to a Sandbox tax rate of "
                "the same percentage, then send again."
            ),
        )
    expected_net = (line.quantity * line.unit_price).quantize(PENNY, rounding=ROUND_HALF_UP)
    if line.net_amount != expected_net:
        raise Rejected(
            code="net_mismatch",
            field=f"{field_prefix}.net_amount",
            reason=(
                f"{sentence(where)} says its net amount is {money(line.net_amount)}, but "
                f"{line.quantity} × {money(line.unit_price)} is {money(expected_net)}."
            ),
            fix="Check the line's quantity and unit price in your job system.",
        )
    expected_vat = (line.net_amount * tax_rate.rate / HUNDRED).quantize(
        PENNY, rounding=ROUND_HALF_UP
    )
    if abs(line.vat_amount - expected_vat) > PENNY:
        raise Rejected(
            code="vat_mismatch",
            field=f"{field_prefix}.vat_amount",
            reason=(
                f"{sentence(where)} has VAT of {money(line.vat_amount)}, but "
                f"{tax_rate.rate}% of {money(line.net_amount)} is {money(expected_vat)}; "
                "the Sandbox allows a difference of at most 1p."
            ),
            fix=(
                "Correct the line's VAT amount or VAT rate in your job system, then send it again."
            ),
        )


def check_credit_allocation(
    look: Lookups, credit_note: DocumentFacts, invoice_ref: str, amount: Decimal
) -> DocumentFacts:
    """A credit note may be set against an invoice of the same customer, up to what is
    still unpaid on the invoice and still unallocated on the credit note."""
    what = f"Credit note {credit_note.number}"
    invoice = look.document(invoice_ref)
    if invoice is None or invoice.type is not DocumentType.INVOICE:
        raise Rejected(
            code="unknown_invoice",
            field="original_invoice_number",
            reason=f'{what} credits Sandbox invoice "{invoice_ref}", which the Sandbox does '
            "not have.",
            fix=(
                "Send the original invoice first, or correct the invoice the credit note "
                "credits in your job system."
            ),
        )
    if invoice.contact_pk != credit_note.contact_pk:
        raise Rejected(
            code="wrong_contact",
            field="original_invoice_number",
            reason=(
                f'{what} is for "{credit_note.contact_name}" but credits invoice '
                f'{invoice.number}, which is for "{invoice.contact_name}".'
            ),
            fix="Correct the customer or the original invoice of the credit note.",
        )
    if not _has_places(amount, 2) or amount <= 0:
        raise Rejected(
            code="invalid_amount",
            field="original_invoice_number",
            reason=f"{what} cannot be set against invoice {invoice.number} for "
            f"{amount}; the amount must be above zero, in pounds and pence.",
            fix="Correct the credit note's amounts in your job system.",
        )
    outstanding = look.invoice_outstanding(invoice)
    unallocated = look.credit_note_unallocated(credit_note)
    if amount > unallocated:
        raise Rejected(
            code="over_allocation",
            field="original_invoice_number",
            reason=(
                f"{what} has only {money(unallocated)} left to set against invoices, less "
                f"than the {money(amount)} asked for."
            ),
            fix="Set a smaller amount against the invoice.",
        )
    if amount > outstanding:
        raise Rejected(
            code="over_allocation",
            field="original_invoice_number",
            reason=(
                f"{what} ({money(amount)}) is more than the {money(outstanding)} still "
                f"unpaid on invoice {invoice.number} ({money(invoice.gross_total)} "
                "invoiced), so it cannot be set against it."
            ),
            fix=(
                f"Check invoice {invoice.number}'s payments and credit notes in your job "
                "system; the Sandbox cannot credit more than is still owed."
            ),
        )
    return invoice


# ----------------------------------------------------------------------------- payments


@dataclass(frozen=True)
class CheckedPayment:
    contact: ContactFacts
    allocations: tuple[tuple[DocumentFacts, Decimal], ...]


def check_payment(look: Lookups, draft: PaymentDraft) -> CheckedPayment:
    """Check ``draft`` as a real package would, raising ``Rejected`` with the reason.

    Returns the contact it is from and the documents it is set against, with amounts.
    """
    reference = draft.reference.strip()
    if not reference:
        raise Rejected(
            code="missing_reference",
            field="reference",
            reason=f"The payment dated {uk_date(draft.date)} has no reference.",
            fix="Give the payment a reference in your job system, then send it again.",
        )
    what = f"Payment {reference}"
    existing = look.payment_referenced(reference)
    if existing is not None:
        raise Rejected(
            code="duplicate_reference",
            field="reference",
            reason=(
                f"The Sandbox already has payment {reference} ({existing.ref}, "
                f'{money(existing.amount)} from "{existing.contact_name}" on '
                f"{uk_date(existing.date)}). Payment references must be unique."
            ),
            fix=(
                "If it is this payment, it is already in the Sandbox: mark it as entered by "
                "hand instead of sending it again. Otherwise give it a new reference in "
                "your job system."
            ),
        )
    if not _has_places(draft.amount, 2) or draft.amount <= 0:
        raise Rejected(
            code="invalid_amount",
            field="amount",
            reason=f"{what} is for {draft.amount}; a payment must be above zero, in pounds "
            "and pence.",
            fix="Correct the payment's amount in your job system.",
        )
    contact = _customer(look, draft.contact_ref, what)
    check_not_locked(look, draft.date, what)
    bank = look.account(draft.bank_account_id)
    if bank is None:
        raise Rejected(
            code="unknown_account",
            field="bank_account",
            reason=(
                f'{what} is paid into Sandbox account "{draft.bank_account_id}", which the '
                "Sandbox does not have."
            ),
            fix=(
                "In Ledgerlink's account mapping, map the bank account to one of the "
                "Sandbox's bank accounts (for example 1200 Bank current account)."
            ),
        )
    if bank.type is not AccountType.BANK:
        raise Rejected(
            code="not_a_bank_account",
            field="bank_account",
            reason=(
                f"{what} is paid into {bank.code} {bank.name}, which is a {bank.type.value} "
                "account, not a bank account."
            ),
            fix=(
                "In Ledgerlink's account mapping, map the bank account to a Sandbox bank "
                "account (for example 1200 Bank current account)."
            ),
        )
    allocations = _check_allocation_targets(look, what, contact, draft.allocations)
    allocated = sum((amount for _, amount in allocations), Decimal("0.00"))
    if allocated != draft.amount:
        raise Rejected(
            code="allocation_mismatch",
            field="allocations",
            reason=(
                f"{what} is for {money(draft.amount)} but its allocations to invoices add up "
                f"to {money(allocated)}; the Sandbox needs every penny of a payment set "
                "against invoices."
            ),
            fix=(
                "Correct the payment's amount or how it is split between invoices in your "
                "job system, then send it again."
            ),
        )
    _check_over_payment(look, what, allocations)
    return CheckedPayment(contact=contact, allocations=allocations)


def _check_allocation_targets(
    look: Lookups,
    what: str,
    contact: ContactFacts,
    drafts: Sequence[AllocationDraft],
) -> tuple[tuple[DocumentFacts, Decimal], ...]:
    checked: list[tuple[DocumentFacts, Decimal]] = []
    for index, allocation in enumerate(drafts):
        document_ref = allocation.document_ref
        amount = allocation.amount
        field_prefix = f"allocations[{index}]"
        if not _has_places(amount, 2) or amount <= 0:
            raise Rejected(
                code="invalid_amount",
                field=f"{field_prefix}.amount",
                reason=f"{what} sets {amount} against an invoice; each amount must be above "
                "zero, in pounds and pence.",
                fix="Correct how the payment is split between invoices in your job system.",
            )
        invoice = look.document(document_ref)
        if invoice is None or invoice.type is not DocumentType.INVOICE:
            kind = "a credit note" if invoice is not None else "no document the Sandbox has"
            raise Rejected(
                code="unknown_invoice",
                field=f"{field_prefix}.document",
                reason=f'{what} is set against "{document_ref}", which is {kind}; payments can '
                "only be set against Sandbox invoices.",
                fix=(
                    "Send the invoice first (or link it), then send the payment again."
                    if invoice is None
                    else "Set the payment against the invoice, not the credit note."
                ),
            )
        if invoice.contact_pk != contact.pk:
            raise Rejected(
                code="wrong_contact",
                field=f"{field_prefix}.document",
                reason=(
                    f'{what} is from "{contact.name}" but is set against invoice '
                    f'{invoice.number}, which is for "{invoice.contact_name}".'
                ),
                fix="Correct the payment's customer or its invoices in your job system.",
            )
        checked.append((invoice, amount))
    return tuple(checked)


def _check_over_payment(
    look: Lookups, what: str, allocations: Sequence[tuple[DocumentFacts, Decimal]]
) -> None:
    asked: dict[int, Decimal] = {}
    for index, (invoice, amount) in enumerate(allocations):
        asked[invoice.pk] = asked.get(invoice.pk, Decimal("0.00")) + amount
        outstanding = look.invoice_outstanding(invoice)
        if asked[invoice.pk] > outstanding:
            settled = invoice.gross_total - outstanding
            raise Rejected(
                code="over_payment",
                field=f"allocations[{index}].amount",
                reason=(
                    f"{what} sets {money(asked[invoice.pk])} against invoice {invoice.number}, "
                    f"but only {money(outstanding)} of it is still unpaid "
                    f"({money(invoice.gross_total)} invoiced, {money(settled)} already paid "
                    "or credited)."
                ),
                fix=(
                    f"Correct the payment in your job system so that no more than "
                    f"{money(outstanding)} is set against invoice {invoice.number}, then send "
                    "it again."
                ),
            )
