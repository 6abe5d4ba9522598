"""What ``ledgerlink status`` and the dashboard show: set-up and counts by send state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.config import DataPaths
from app.db.enums import RecordType, SendState
from app.services.setup.state import SetupState, load_setup

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# SQLAlchemy and the models are imported by the functions that use a session, so the
# window's first read (app.services.dashboard_read) builds the same report without them.


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
    from sqlalchemy import func, select

    from app.db.models import Contact, Document, Payment

    counts = dict.fromkeys(RecordType, 0)
    for kind, n in session.execute(select(Contact.kind, func.count()).group_by(Contact.kind)):
        counts[RecordType(kind.value)] = n
    for doc_kind, n in session.execute(select(Document.kind, func.count()).group_by(Document.kind)):
        counts[RecordType(doc_kind.value)] = n
    counts[RecordType.PAYMENT] = session.scalar(select(func.count()).select_from(Payment)) or 0
    return counts


def _queued(session: Session, package: str | None) -> list[tuple[str, str, int]]:
    from sqlalchemy import func, select

    from app.db.models import OutboxEntry

    if not package:
        return []
    rows = session.execute(
        select(OutboxEntry.record_type, OutboxEntry.state, func.count())
        .where(OutboxEntry.package == package)
        .group_by(OutboxEntry.record_type, OutboxEntry.state)
    )
    return [(record_type, state, n) for record_type, state, n in rows]


def _states(
    totals: Mapping[RecordType, int], queued: Iterable[tuple[str, str, int]]
) -> dict[RecordType, dict[SendState, int]]:
    """Per record type, the count in each send state; records not yet queued are waiting."""
    result = {rt: dict.fromkeys(SendState, 0) for rt in RecordType}
    for record_type, state, n in queued:
        result[RecordType(record_type)][SendState(state)] = n
    for record_type, total in totals.items():
        queued_n = sum(result[record_type].values())
        result[record_type][SendState.WAITING] += max(0, total - queued_n)
    return result


def collect_status(session: Session, paths: DataPaths) -> StatusReport:
    """Set-up state, record counts, send states per record type and the number of links for the
    chosen package."""
    from sqlalchemy import func, select

    from app.db.models import Link

    setup = load_setup(session)
    links = 0
    if setup.package:
        links = (
            session.scalar(
                select(func.count()).select_from(Link).where(Link.package == setup.package)
            )
            or 0
        )
    return status_report(
        paths, setup, record_counts(session), _queued(session, setup.package), links
    )


def status_report(
    paths: DataPaths,
    setup: SetupState,
    totals: Mapping[RecordType, int],
    queued: Iterable[tuple[str, str, int]],
    links: int,
) -> StatusReport:
    """The report from what was read: the set-up, each record type's total, the chosen
    package's outbox counts as ``(record type, state, count)`` rows, and its links."""
    return StatusReport(
        data_dir=str(paths.root),
        package=setup.package,
        situation=setup.situation.value if setup.situation else None,
        setup_complete=setup.setup_complete,
        last_send_at=setup.last_send_at.isoformat() if setup.last_send_at else None,
        records={rt.value: n for rt, n in totals.items()},
        states={
            rt.value: {state.value: n for state, n in states.items()}
            for rt, states in _states(totals, queued).items()
        },
        links=links,
    )
