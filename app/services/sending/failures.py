"""The failure list: each root cause once, with the records it holds back under it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEntry, SendState
from app.services.sending.causes import Cause, FailedRecord, fix_page, group_causes
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
        """The failure with its dependants, as ``failures --json`` prints it."""
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
            fix_page=fix_page(row.error_code, row.record_type.value),
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


def failure_causes(session: Session, package: str, package_name: str) -> list[Cause]:
    """Failed and uncertain rows grouped by their true cause (see
    :mod:`app.services.sending.causes`), largest first."""
    rows = session.scalars(
        select(OutboxEntry)
        .where(
            OutboxEntry.package == package,
            OutboxEntry.state.in_([SendState.FAILED, SendState.UNCERTAIN]),
        )
        .order_by(OutboxEntry.record_type, OutboxEntry.record_id)
    ).all()
    return group_causes(
        (
            FailedRecord(
                outbox_id=row.id,
                record_type=row.record_type.value,
                label=record_label(session, row.record_type, row.record_id),
                code=row.error_code,
                field=row.error_field,
                reason=row.error_reason,
                fix=row.error_fix,
                blocked_by=row.blocked_by_id,
                subject=row.error_subject,
                state=row.state.value,
            )
            for row in rows
        ),
        package_name,
    )
