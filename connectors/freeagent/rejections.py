"""FreeAgent's refusals turned into plain language: a stable code, the field at fault in
Ledgerlink's terms, what is wrong (naming the record) and what to do.

FreeAgent does not publish its error messages (staff, api-discuss t/2809); the ones
recognised here are those its staff and users have quoted (sources in
docs/packages/freeagent.md). Anything else still becomes a rejection that names the
record and quotes FreeAgent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connectors.contract import ContactDraft, DocumentDraft
from connectors.errors import NeedsReconnecting, Rejected
from connectors.subject import Subject as RecordSubject
from connectors.wording import uk_date


@dataclass(frozen=True)
class Subject(RecordSubject):
    """The record FreeAgent refused."""


def locked(subject: Subject, on: date, lock: date | None, *, said: str = "") -> Rejected:
    """A document or receipt dated in a period FreeAgent has locked."""
    until = f" (locked up to {uk_date(lock)})" if lock else ""
    quoted = f' FreeAgent said: "{said}".' if said else ""
    return Rejected(
        code="locked_period",
        field="date",
        reason=(
            f"{subject.opening} is dated {uk_date(on)}, in a period FreeAgent has locked"
            f"{until}, so FreeAgent will not take it.{quoted}"
        ),
        fix=(
            "Ask whoever keeps the books whether the lock can be moved back (FreeAgent: "
            "Settings › Account locking, which needs full access), or date the "
            f"{subject.word} after the lock date in your job system, then send again."
        ),
    )


def rejection(
    subject: Subject, status: int, messages: list[str], lock: date | None
) -> Rejected | NeedsReconnecting:
    """What FreeAgent's ``status`` and messages mean for ``subject``."""
    said = "; ".join(messages) or f"HTTP {status}"
    lowered = said.casefold()
    draft = subject.draft
    if "locked" in lowered and isinstance(draft, DocumentDraft):
        return locked(subject, draft.date, lock, said=said)
    if "locked period" in lowered and not isinstance(draft, ContactDraft):
        return locked(subject, draft.date, lock, said=said)
    if status == 403 and ("not allowed" in lowered or "api access" in lowered):
        return NeedsReconnecting(
            f"FreeAgent refused {subject.label}: {said}. The FreeAgent user Ledgerlink signed "
            "in as needs more access (invoices need 'Invoices, Estimates & Files', receipts "
            "'Banking'), or API access is switched off for the company. Ask the account "
            "owner to raise it, then sign in again on the Connect page."
        )
    if "reference" in lowered and ("taken" in lowered or "unique" in lowered):
        number = draft.number.strip() if isinstance(draft, DocumentDraft) else ""
        return Rejected(
            code="duplicate_number",
            field="number",
            reason=(
                f"FreeAgent already has an {subject.word} with reference {number}, and it keeps "
                f"references unique, so {subject.label} was not sent."
            ),
            fix=(
                f"If it is this {subject.word}, it is already in FreeAgent: mark it as entered "
                f"manually. If it is a different one, give it a new number in your job system."
            ),
        )
    if "nominal code" in lowered or "category" in lowered:
        return Rejected(
            code="unknown_account",
            field="account",
            reason=f"FreeAgent does not know the category one of {subject.label}'s lines is "
            f"mapped to ({said}).",
            fix="Open Nominal accounts and map the account to one of FreeAgent's categories, "
            "then send again.",
        )
    if "contact" in lowered and "not found" in lowered:
        return Rejected(
            code="unknown_contact",
            field="contact",
            reason=f"FreeAgent does not have the contact {subject.label} is for ({said}).",
            fix="Check the contact was not deleted in FreeAgent; relink it on the Link page, "
            "then send again.",
        )
    if "paid_invoice" in lowered or ("invoice" in lowered and "not found" in lowered):
        return Rejected(
            code="unknown_invoice",
            field="allocations",
            reason=f"FreeAgent does not have the invoice {subject.label} pays ({said}).",
            fix="Send the invoice first (or check it was not deleted in FreeAgent), then "
            "send again.",
        )
    return Rejected(
        code="refused",
        field="",
        reason=f"FreeAgent refused {subject.label}: {said.rstrip('.')}.",
        fix=f"Correct the {subject.word} in your job system as FreeAgent asks, then send again.",
    )
