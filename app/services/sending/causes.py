"""Failures grouped by their true cause, the same way everywhere.

A bookkeeper fixes causes, not records: one unmapped account can stop four hundred
invoices, and a hundred customers the package already holds are one job on the Link page.
So the dry run, ``ledgerlink failures``, the Review page, the dashboard and the failure
email all show *causes*, each once, with the records that fail because of it and the
records it holds back (a payment waiting for its invoice) listed under it, never as
causes of their own.

Grouping rules, in order:
- a record blocked by another failing record is held back by that record's cause,
  however long the chain;
- contacts the package already holds under the same name are one cause per role
  (customers, suppliers): the fix is linking them, all on one page;
- otherwise records share a cause when they fail with the same code for the same
  subject (an unmapped account is one cause, whatever number of invoices use it), or
  with the same code and the same words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.wording import count

#: The package already has a contact of this name (predicted by pre-flight, or the
#: package's own refusal): the fix is to link them, on the Link page of their role.
MUST_LINK_CODES = frozenset({"would_duplicate", "duplicate_name"})

#: A never-linked contact the package may already hold, once or more, or nearly: the
#: send neither linked nor created it (app.services.sending.first_send_links). One cause
#: per role; each record's fix opens the Link page at that contact.
CHOOSE_CODE = "choose_contact"

#: Record types as a bookkeeper names them.
NOUNS = {
    "customer": "customer",
    "supplier": "supplier",
    "invoice": "invoice",
    "credit_note": "credit note",
    "payment": "payment",
}

#: ``error_code`` of a *waiting* contact held back until a transaction needs it (see
#: app.services.sending.first_send_links).
HELD_BACK = "held_back"


@dataclass(frozen=True)
class FailedRecord:
    """One record that would fail (dry run) or did fail (after a send)."""

    outbox_id: int
    record_type: str
    label: str
    code: str
    field: str
    reason: str
    fix: str
    blocked_by: int | None = None
    #: What the problem is about when many records share it (an account code).
    subject: str = ""
    state: str = "failed"

    def to_json(self) -> dict[str, Any]:
        """The record as the CLI's JSON output gives it."""
        return {
            "outbox_id": self.outbox_id,
            "record_type": self.record_type,
            "label": self.label,
            "state": self.state,
            "code": self.code,
            "field": self.field,
            "reason": self.reason,
            "fix": self.fix,
        }


@dataclass
class Cause:
    """One thing to fix, the records failing because of it and those it holds back."""

    code: str
    title: str
    fix: str
    #: The wizard page where it is fixed (its ``--page`` name), or "".
    fix_page: str
    #: The command that fixes it from the command line, or "" when only the window can.
    command: str
    records: list[FailedRecord] = field(default_factory=list)
    held_back: list[FailedRecord] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Every record this cause stops: its own and the ones held back."""
        return len(self.records) + len(self.held_back)

    def summary(self) -> str:
        """``"436 invoices; holds back 400 payments and 3 credit notes"``."""
        text = tally(self.records)
        if self.held_back:
            text += f"; holds back {tally(self.held_back)}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The cause with its failing and held-back records, as the CLI's JSON output gives it."""
        return {
            "code": self.code,
            "title": self.title,
            "fix": self.fix,
            "fix_page": self.fix_page,
            "command": self.command,
            "records": [r.to_json() for r in self.records],
            "held_back": [r.to_json() for r in self.held_back],
        }


def tally(records: Iterable[FailedRecord]) -> str:
    """``"436 invoices, 3 credit notes and 1 payment"``: records counted by type."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.record_type] = counts.get(record.record_type, 0) + 1
    parts = [count(n, NOUNS.get(kind, kind)) for kind, n in counts.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def fix_page(code: str, record_type: str) -> str:
    """Where in the wizard a failure with this code is fixed ("" if not in Ledgerlink)."""
    if code in {"unmapped_account", "unknown_account", "wrong_account_type", "not_a_bank_account"}:
        return "nominal-accounts"
    if code in {"would_duplicate", "duplicate_name", "unknown_contact", CHOOSE_CODE}:
        return "link-suppliers" if record_type == "supplier" else "link-customers"
    if code == "before_cutoff":
        return "review-and-send"
    return ""


def group_causes(records: Iterable[FailedRecord], package_name: str) -> list[Cause]:
    """``records`` grouped by cause, largest cause first (ties in first-seen order)."""
    records = list(records)
    by_id = {r.outbox_id: r for r in records}

    def root_of(record: FailedRecord) -> FailedRecord:
        seen = {record.outbox_id}
        while record.blocked_by in by_id and record.blocked_by not in seen:
            record = by_id[record.blocked_by]
            seen.add(record.outbox_id)
        return record

    causes: dict[tuple[str, str], Cause] = {}
    key_of: dict[int, tuple[str, str]] = {}
    roots = [r for r in records if root_of(r) is r]
    for record in roots:
        key = _key(record)
        key_of[record.outbox_id] = key
        cause = causes.get(key)
        if cause is None:
            cause = causes[key] = _new_cause(record, package_name)
        cause.records.append(record)
    for record in records:
        root = root_of(record)
        if root is not record:
            causes[key_of[root.outbox_id]].held_back.append(record)
    for cause in causes.values():
        if cause.code in MUST_LINK_CODES:
            cause.title = _must_link_title(cause, package_name)
        elif cause.code == CHOOSE_CODE:
            cause.title = _choose_title(cause, package_name)
    order = {key: n for n, key in enumerate(causes)}
    return sorted(causes.values(), key=lambda c: (-c.size, order[_key(c.records[0])]))


def _key(record: FailedRecord) -> tuple[str, str]:
    if record.code in MUST_LINK_CODES or record.code == CHOOSE_CODE:
        return (record.code, record.record_type)
    if record.code == "blocked" and record.blocked_by is not None:
        # Held back by a record that is not failing (being checked, say): one cause
        # per such record.
        return (record.code, str(record.blocked_by))
    if record.subject:
        return (record.code, record.subject)
    return (record.code, record.reason)


def _new_cause(record: FailedRecord, package_name: str) -> Cause:
    page = fix_page(record.code, record.record_type)
    if record.code in MUST_LINK_CODES:
        return Cause(
            code=record.code,
            title="",  # worded once every record is in
            fix=f"Link them to {package_name}'s contacts on the Link page, so nothing is "
            "created twice.",
            fix_page=page,
            command=f"ledgerlink --page {page}",
        )
    if record.code == CHOOSE_CODE:
        noun = NOUNS.get(record.record_type, record.record_type)
        return Cause(
            code=record.code,
            title="",  # worded once every record is in
            fix=f"Choose which one for each: open the Link page at the {noun} and link it "
            f"to the right {package_name} record, or choose “Create new” if it is none.",
            fix_page=page,
            command=f"ledgerlink --page {page}",
        )
    return Cause(
        code=record.code,
        title=record.reason,
        fix=record.fix,
        fix_page=page,
        command=_command(record, page),
    )


def _must_link_title(cause: Cause, package_name: str) -> str:
    n = len(cause.records)
    noun = NOUNS.get(cause.records[0].record_type, cause.records[0].record_type)
    verb = "is" if n == 1 else "are"
    return f"{count(n, noun)} {verb} already in {package_name} under the same name"


def _choose_title(cause: Cause, package_name: str) -> str:
    n = len(cause.records)
    noun = NOUNS.get(cause.records[0].record_type, cause.records[0].record_type)
    return f"{count(n, noun)} may already be in {package_name}: choose which one"


def _command(record: FailedRecord, page: str) -> str:
    if record.code == "unmapped_account" and record.subject:
        return f"ledgerlink map {record.subject} CODE"
    if page == "nominal-accounts":
        return "ledgerlink map"
    return ""


def cause_lines(causes: list[Cause], *, command_line: bool, examples: int = 3) -> list[str]:
    """The causes as plain text, each once: what is wrong, how many records it stops,
    the fix (the command where there is one, on the command line) and a few of the
    records as examples. Used by the command line and the failure email."""
    total = sum(c.size for c in causes)
    lines = [f"{count(total, 'record')} from {count(len(causes), 'cause')}:"]
    for n, cause in enumerate(causes, start=1):
        lines.append(f"  {n}. {cause.title}")
        lines.append(f"     {cause.summary()}.")
        if command_line and cause.command:
            lines.append(f"     Fix: {cause.fix.rstrip('.')} — `{cause.command}`.")
        else:
            lines.append(f"     Fix: {cause.fix}")
        if cause.code in MUST_LINK_CODES or cause.code == CHOOSE_CODE or len(cause.records) > 1:
            shown = cause.records[:examples]
            for record in shown:
                lines.append(f"       - {record.label}")
            if len(cause.records) > len(shown):
                lines.append(f"       … and {len(cause.records) - len(shown):,} more")
        elif cause.records and cause.records[0].label not in cause.title:
            lines.append(f"       - {cause.records[0].label}")
    return lines


def held_sentence(held: Counter[str]) -> str:
    """``"5 customers wait for a transaction that needs them"``, or ``""``."""
    parts = [count(n, NOUNS[kind]) for kind, n in sorted(held.items()) if n]
    if not parts:
        return ""
    one = sum(held.values()) == 1
    verb, them = ("waits", "it") if one else ("wait", "them")
    return f"{' and '.join(parts)} {verb} for a transaction that needs {them}"
