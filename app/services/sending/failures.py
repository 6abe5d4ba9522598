"""The failure list: each root cause once, with the records it holds back under it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from app.db.enums import SendState
from app.services.sending.causes import Cause, FailedRecord, fix_page, group_causes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# SQLAlchemy and the models are imported by the functions that use a session: the
# window's first read (app.services.dashboard_read) groups its own rows with the same
# functions below.

#: The states the failure list shows.
LISTED_STATES = (SendState.FAILED, SendState.UNCERTAIN)


class FailedRow(NamedTuple):
    """One failed or uncertain outbox row, as the failure list reads it."""

    id: int
    record_type: str
    record_id: int
    state: str
    error_code: str
    error_field: str
    error_reason: str
    error_fix: str
    error_subject: str
    attempts: int
    blocked_by_id: int | None


@dataclass
class FailureItem:
    """One failed or uncertain record as listed, with the records it holds back."""

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


def failed_rows(session: Session, package: str) -> list[FailedRow]:
    """``package``'s failed and uncertain rows, by record type then record id."""
    from sqlalchemy import select

    from app.db.models import OutboxEntry

    rows = session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.package == package, OutboxEntry.state.in_(LISTED_STATES))
        .order_by(OutboxEntry.record_type, OutboxEntry.record_id)
    ).all()
    return [
        FailedRow(
            row.id,
            row.record_type.value,
            row.record_id,
            row.state.value,
            row.error_code,
            row.error_field,
            row.error_reason,
            row.error_fix,
            row.error_subject,
            row.attempts,
            row.blocked_by_id,
        )
        for row in rows
    ]


def failure_labels(session: Session, rows: Sequence[FailedRow]) -> dict[tuple[str, int], str]:
    """Each failed row's record as a person names it, by (record type, record id)."""
    from app.db.enums import RecordType
    from app.services.sending.drafts import record_label

    return {
        (row.record_type, row.record_id): record_label(
            session, RecordType(row.record_type), row.record_id
        )
        for row in rows
    }


def list_failures(session: Session, package: str) -> list[FailureItem]:
    """Failed and uncertain rows, grouped so each root cause appears once.

    A row blocked by another (an invoice whose customer failed) is listed under the
    root of its chain, however deep the chain is.
    """
    rows = failed_rows(session, package)
    return group_failures(rows, failure_labels(session, rows))


def group_failures(
    rows: Sequence[FailedRow], labels: Mapping[tuple[str, int], str]
) -> list[FailureItem]:
    """``rows`` (see :func:`failed_rows`) as the failure list: each root cause once, with
    the rows it holds back under it; ``labels`` names each ``(record type, id)``."""
    by_id = {row.id: row for row in rows}
    items = {
        row.id: FailureItem(
            outbox_id=row.id,
            record_type=row.record_type,
            record_id=row.record_id,
            label=labels[(row.record_type, row.record_id)],
            state=row.state,
            code=row.error_code,
            field=row.error_field,
            reason=row.error_reason,
            fix=row.error_fix,
            attempts=row.attempts,
            fix_page=fix_page(row.error_code, row.record_type),
        )
        for row in rows
    }

    def root_of(row: FailedRow) -> int:
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
    rows = failed_rows(session, package)
    return causes_of(rows, failure_labels(session, rows), package_name)


def causes_of(
    rows: Sequence[FailedRow], labels: Mapping[tuple[str, int], str], package_name: str
) -> list[Cause]:
    """``rows`` (see :func:`failed_rows`) grouped by their true cause, largest first."""
    return group_causes(
        (
            FailedRecord(
                outbox_id=row.id,
                record_type=row.record_type,
                label=labels[(row.record_type, row.record_id)],
                code=row.error_code,
                field=row.error_field,
                reason=row.error_reason,
                fix=row.error_fix,
                blocked_by=row.blocked_by_id,
                subject=row.error_subject,
                state=row.state,
            )
            for row in rows
        ),
        package_name,
    )
