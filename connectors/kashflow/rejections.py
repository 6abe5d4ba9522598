"""KashFlow's refusals (``{"Error": …, "Message": …}``; the 400 body's shape is
UNVERIFIED) turned into plain language naming the record and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connectors.contract import ContactDraft
from connectors.errors import Rejected
from connectors.kashflow.wire import KashFlowError
from connectors.subject import Subject as RecordSubject
from connectors.wording import uk_date


@dataclass(frozen=True)
class Subject(RecordSubject):
    """The record KashFlow refused."""


def locked(subject: Subject, on: date, lock: date | None, *, said: str = "") -> Rejected:
    """The rejection for a record dated on or before KashFlow's transaction lock, with
    KashFlow's own words when it was KashFlow that refused."""
    until = f" (transactions locked up to {uk_date(lock)})" if lock else ""
    quoted = f' KashFlow said: "{said}".' if said else ""
    return Rejected(
        code="locked_period",
        field="date",
        reason=(
            f"{subject.opening} is dated {uk_date(on)}, in a period KashFlow has locked"
            f"{until}, so it was not sent.{quoted}"
        ),
        fix=(
            "Ask whoever keeps the books whether KashFlow's transaction lock (Settings › "
            f"Bank accounts) can be moved back, or date the {subject.word} after it in your "
            "job system, then send again."
        ),
    )


def rejection(subject: Subject, error: KashFlowError, lock: date | None) -> Rejected:
    """KashFlow's refusal of ``subject`` in plain words: a locked period, a Code already
    in use, an unknown nominal or customer, or else KashFlow's message as it stands."""
    said = error.text or error.error or "no reason given"
    lowered = f"{error.error} {error.message}".casefold()
    draft = subject.draft
    if "lock" in lowered and not isinstance(draft, ContactDraft):
        return locked(subject, draft.date, lock, said=said)
    if "code" in lowered and ("exist" in lowered or "unique" in lowered or "use" in lowered):
        return Rejected(
            code="duplicate_reference",
            field="account_ref",
            reason=f"KashFlow already uses the Code {subject.label} would take ({said}).",
            fix="Link our contact to that KashFlow record instead, or change one of the codes.",
        )
    if "nominal" in lowered:
        return Rejected(
            code="unknown_account",
            field="account",
            reason=f"KashFlow does not know the nominal code a line of {subject.label} is "
            f"mapped to ({said}).",
            fix="Open Nominal accounts, map the account to one of KashFlow's nominal codes, "
            "then send again.",
        )
    if "customer" in lowered and ("not found" in lowered or "invalid" in lowered):
        return Rejected(
            code="unknown_contact",
            field="contact",
            reason=f"KashFlow does not have the customer {subject.label} is for ({said}).",
            fix="Relink the customer on the Link page (check its Code), then send again.",
        )
    return Rejected(
        code="refused",
        field="",
        reason=f"KashFlow refused {subject.label}: {said.rstrip('.')}.",
        fix=f"Correct the {subject.word} in your job system as KashFlow asks, then send again.",
    )
