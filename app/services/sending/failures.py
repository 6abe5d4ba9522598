"""The failure list: each root cause once, with the records it holds back under it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEntry, RecordType, SendState
from app.services.sending.drafts import record_label


@dataclass
class FailureItem:
    outbox_id: int
    record_type: str
    record_id: int
    label: str
    state: str
    code: str
    field: str
    reason: str
    fix: str
    attempts: int
    #: The wizard page where the fix is made (its CLI page name), or "" when the fix is
    #: made in the package or in the job system.
    fix_page: str = ""
    dependants: list[FailureItem] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "outbox_id": self.outbox_id,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "label": self.label,
            "state": self.state,
            "code": self.code,
            "field": self.field,
            "reason": self.reason,
            "fix": self.fix,
            "attempts": self.attempts,
            "fix_page": self.fix_page,
            "dependants": [d.to_json() for d in self.dependants],
        }


_ACCOUNT_CODES = frozenset(
    {"unmapped_account", "unknown_account", "wrong_account_type", "not_a_bank_account"}
)
_CONTACT_CODES = frozenset({"would_duplicate", "duplicate_name", "unknown_contact"})


def fix_page(code: str, record_type: RecordType) -> str:
    """Where in the wizard a failure with this code is fixed ("" if not in Ledgerlink)."""
    if code in _ACCOUNT_CODES:
        return "nominal-accounts"
    if code in _CONTACT_CODES:
        return "link-suppliers" if record_type is RecordType.SUPPLIER else "link-customers"
    if code == "before_cutoff":
        return "review-and-send"
    return ""


def list_failures(session: Session, package: str) -> list[FailureItem]:
    """Failed and uncertain rows, grouped so each root cause appears once.

    A row blocked by another (an invoice whose customer failed) is listed under the
    root of its chain, however deep the chain is.
    """
    rows = session.scalars(
        select(OutboxEntry)
        .where(
            OutboxEntry.package == package,
            OutboxEntry.state.in_([SendState.FAILED, SendState.UNCERTAIN]),
        )
        .order_by(OutboxEntry.record_type, OutboxEntry.record_id)
    ).all()
    by_id = {row.id: row for row in rows}
    items = {
        row.id: FailureItem(
            outbox_id=row.id,
            record_type=row.record_type.value,
            record_id=row.record_id,
            label=record_label(session, row.record_type, row.record_id),
            state=row.state.value,
            code=row.error_code,
            field=row.error_field,
            reason=row.error_reason,
            fix=row.error_fix,
            attempts=row.attempts,
            fix_page=fix_page(row.error_code, row.record_type),
        )
        for row in rows
    }

    def root_of(row: OutboxEntry) -> int:
        seen = {row.id}
        while row.blocked_by_id in by_id and row.blocked_by_id not in seen:
            row = by_id[row.blocked_by_id]
            seen.add(row.id)
        return row.id

    roots: list[FailureItem] = []
    for row in rows:
        root = root_of(row)
        if root == row.id:
            roots.append(items[row.id])
        else:
            items[root].dependants.append(items[row.id])
    return roots
