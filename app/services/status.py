"""What ``ledgerlink status`` and the dashboard show: set-up and counts by send state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import DataPaths
from app.db.models import Contact, Document, Link, OutboxEntry, Payment, RecordType, SendState
from app.services.setup.state import load_setup


@dataclass
class StatusReport:
    """Set-up state and, per record type, how many records are in each send state."""

    data_dir: str
    package: str | None
    situation: str | None
    setup_complete: bool
    last_send_at: str | None
    records: dict[str, int]
    states: dict[str, dict[str, int]]
    links: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def last_send(self) -> datetime | None:
        """The last send's moment, for wording it as a person reads it."""
        return datetime.fromisoformat(self.last_send_at) if self.last_send_at else None

    def to_json(self) -> dict[str, Any]:
        """The report as ``status --json`` prints it."""
        return {
            "data_dir": self.data_dir,
            "package": self.package,
            "situation": self.situation,
            "setup_complete": self.setup_complete,
            "last_send_at": self.last_send_at,
            "records": self.records,
            "states": self.states,
            "links": self.links,
        }


def record_counts(session: Session) -> dict[RecordType, int]:
    """How many records of each type the job system has given us."""
    counts = dict.fromkeys(RecordType, 0)
    for kind, n in session.execute(select(Contact.kind, func.count()).group_by(Contact.kind)):
        counts[RecordType(kind.value)] = n
    for doc_kind, n in session.execute(select(Document.kind, func.count()).group_by(Document.kind)):
        counts[RecordType(doc_kind.value)] = n
    counts[RecordType.PAYMENT] = session.scalar(select(func.count()).select_from(Payment)) or 0
    return counts


def state_counts(session: Session, package: str | None) -> dict[RecordType, dict[SendState, int]]:
    """Per record type, the count in each send state; records not yet queued are waiting."""
    totals = record_counts(session)
    result = {rt: dict.fromkeys(SendState, 0) for rt in RecordType}
    if package:
        rows = session.execute(
            select(OutboxEntry.record_type, OutboxEntry.state, func.count())
            .where(OutboxEntry.package == package)
            .group_by(OutboxEntry.record_type, OutboxEntry.state)
        )
        for record_type, state, n in rows:
            result[record_type][state] = n
    for record_type, total in totals.items():
        queued = sum(result[record_type].values())
        result[record_type][SendState.WAITING] += max(0, total - queued)
    return result


def collect_status(session: Session, paths: DataPaths) -> StatusReport:
    """Set-up state, record counts, send states per record type and the number of links for the
    chosen package."""
    setup = load_setup(session)
    counts = state_counts(session, setup.package)
    links = 0
    if setup.package:
        links = (
            session.scalar(
                select(func.count()).select_from(Link).where(Link.package == setup.package)
            )
            or 0
        )
    return StatusReport(
        data_dir=str(paths.root),
        package=setup.package,
        situation=setup.situation.value if setup.situation else None,
        setup_complete=setup.setup_complete,
        last_send_at=setup.last_send_at.isoformat() if setup.last_send_at else None,
        records={rt.value: n for rt, n in record_counts(session).items()},
        states={
            rt.value: {state.value: n for state, n in states.items()}
            for rt, states in counts.items()
        },
        links=links,
    )
