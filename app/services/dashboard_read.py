"""The dashboard's first read at start-up, with the standard library's ``sqlite3``.

Importing SQLAlchemy and the models costs a start several times what a bare Qt window
takes to appear, and the dashboard's figures need neither: on the data folder's own
SQLite file, already at the newest schema, :func:`read_dashboard` reads the same
figures with plain SQL in one read transaction, and builds them with the same
functions as :func:`app.services.dashboard.load_dashboard` (tests hold the two equal).
Anywhere else (a shared PostgreSQL store, a migration due, a package whose desktop
bridge has its own note, no database yet) it returns ``None`` and the caller opens the
store the normal way.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from app.config import DataPaths
from app.db.enums import ContactKind, DocumentKind, RecordType, SendState
from app.services.desktop_bridges import has_bridge
from app.services.sending.causes import HELD_BACK, Cause, held_sentence
from app.services.sending.change_items import PendingChangeItem, pending_item
from app.services.sending.failures import (
    LISTED_STATES,
    FailedRow,
    FailureItem,
    causes_of,
    group_failures,
)
from app.services.sending.labels import contact_label, document_label, payment_label
from app.services.setup.state import SetupState, setup_from_settings
from app.services.status import StatusReport, status_report

log = logging.getLogger(__name__)

#: How many ids go in one ``IN (...)`` list (inside SQLite's limit).
CHUNK = 900


@dataclass(frozen=True)
class DashboardData:
    """The dashboard's figures: counts by state, the package's name, the failures and
    their causes, and its notes."""

    status: StatusReport
    package_name: str
    failures: list[FailureItem]
    #: The same failures grouped by their true cause (largest first).
    causes: list[Cause] = field(default_factory=list)
    #: A desktop bridge's in-between state ("queued for QuickBooks"), as the dashboard
    #: names it, and what its last poll did; empty for other packages.
    handed_over_label: str = ""
    bridge_note: str = ""
    #: Contacts waiting for a transaction that needs them (the per-business option), in
    #: words ("3 suppliers wait for a transaction that needs them"); "" when none.
    held_back_note: str = ""


@dataclass(frozen=True)
class DashboardSnapshot:
    """The dashboard's data, the set-up choices and the changes to make by hand."""

    data: DashboardData
    setup: SetupState
    changes: tuple[PendingChangeItem, ...] = ()


def dashboard_data(
    status: StatusReport,
    failed: list[FailedRow],
    labels: dict[tuple[str, int], str],
    held: Counter[str],
    note: str,
) -> DashboardData:
    """The dashboard's data from what was read (by either reader)."""
    from connectors.catalogue import package_info  # not the registry: a fast first page

    info = package_info(status.package) if status.package else None
    name = info.name if info else "No package chosen"
    return DashboardData(
        status,
        name,
        group_failures(failed, labels),
        causes_of(failed, labels, name) if info else [],
        info.handed_over_label if info else "",
        note,
        held_sentence(held) if info else "",
    )


class ReadLate(Exception):
    """The read was stopped because its time was up (see :func:`read_dashboard`)."""


def read_dashboard(
    paths: DataPaths, late: Callable[[], bool] | None = None
) -> DashboardSnapshot | None:
    """The dashboard's snapshot read with ``sqlite3``, or ``None`` when this store must be
    opened the normal way first (see the module's docstring).

    With ``late``, the read stops with :class:`ReadLate` once ``late()`` is true: it is
    asked before each query and, while a query runs, every few thousand of SQLite's
    steps (its progress handler, which interrupts the query)."""
    if not paths.keeps_data_here or not paths.database.is_file():
        return None
    try:
        # mode=rw: never create a database here; a missing one is the normal path's.
        connection = sqlite3.connect(
            f"{paths.database.resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=1,
            factory=_Connection,
        )
    except sqlite3.Error as exc:
        log.info("first read left to the normal path: %s", exc)
        return None
    try:
        connection.isolation_level = None
        connection.execute("BEGIN")  # one snapshot for every figure
        try:
            connection.bound(late)
            return _read(connection, paths)
        finally:
            connection.bound(None)
            connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        if late is not None and late():
            raise ReadLate from exc  # interrupted by the progress handler
        log.info("first read left to the normal path: %s", exc)
        return None
    finally:
        connection.close()


#: SQLite's steps between two calls of a bounded read's ``late``.
STEPS_BETWEEN_CHECKS = 2000


class _Connection(sqlite3.Connection):
    """A connection whose queries can be bounded in time (see :func:`read_dashboard`)."""

    late: Callable[[], bool] | None = None

    def bound(self, late: Callable[[], bool] | None) -> None:
        """Stop each query from now on once ``late()`` is true (``None``: never)."""
        self.late = late
        self.set_progress_handler(late, STEPS_BETWEEN_CHECKS if late is not None else 0)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run ``sql``, unless the read's time is up."""
        if self.late is not None and self.late():
            raise ReadLate
        return super().execute(sql, parameters)


#: The schema revision this module's SQL was written and checked against. A new
#: migration moves the head past it, so the first read gives way to the normal path
#: until someone has checked these queries against the new schema and moved this on
#: (tests/test_dashboard_read.py fails until then).
READ_MODEL_REVISION = "0006_package_contacts"


def _read(db: sqlite3.Connection, paths: DataPaths) -> DashboardSnapshot | None:
    versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    if versions != [READ_MODEL_REVISION]:
        # A migration is due, or this read was not checked against the schema: the
        # normal path's work.
        return None
    setup = setup_from_settings(db.execute("SELECT key, value FROM settings"))
    package = setup.package
    if package and has_bridge(package):
        return None
    totals = dict.fromkeys(RecordType, 0)
    for kind, n in db.execute("SELECT kind, count(*) FROM contacts GROUP BY kind"):
        totals[RecordType(kind)] = n
    for kind, n in db.execute("SELECT kind, count(*) FROM documents GROUP BY kind"):
        totals[RecordType(kind)] = n
    totals[RecordType.PAYMENT] = db.execute("SELECT count(*) FROM payments").fetchone()[0]
    queued: list[tuple[str, str, int]] = []
    links = 0
    failed: list[FailedRow] = []
    held: Counter[str] = Counter()
    if package:
        queued = list(
            db.execute(
                "SELECT record_type, state, count(*) FROM outbox WHERE package = ? "
                "GROUP BY record_type, state",
                (package,),
            )
        )
        links = db.execute("SELECT count(*) FROM links WHERE package = ?", (package,)).fetchone()[0]
        failed = [
            FailedRow(*row)
            for row in db.execute(
                "SELECT id, record_type, record_id, state, error_code, error_field, "
                "error_reason, error_fix, error_subject, attempts, blocked_by_id FROM outbox "
                "WHERE package = ? AND state IN (?, ?) ORDER BY record_type, record_id",
                (package, *LISTED_STATES),
            )
        ]
        for record_type, n in db.execute(
            "SELECT record_type, count(*) FROM outbox "
            "WHERE package = ? AND state = ? AND error_code = ? GROUP BY record_type",
            (package, SendState.WAITING.value, HELD_BACK),
        ):
            held[record_type] = n
    status = status_report(paths, setup, totals, queued, links)
    data = dashboard_data(status, failed, _labels(db, failed), held, "")
    pending = db.execute(
        "SELECT id, record_type, record_id, label, changes, source, detected_at, confirmed_at "
        "FROM pending_changes WHERE applied_at IS NULL AND confirmed_at IS NULL "
        "ORDER BY detected_at, id"
    )
    changes = tuple(
        pending_item(change_id, kind, record_id, label, fields, source, _at(at), _at(confirmed))
        for change_id, kind, record_id, label, fields, source, at, confirmed in pending
    )
    return DashboardSnapshot(data, setup, changes)


class _Contact:
    def __init__(self, kind: str, name: str, account_ref: str) -> None:
        self.kind, self.name, self.account_ref = ContactKind(kind), name, account_ref


class _Document:
    def __init__(self, kind: str, number: str) -> None:
        self.kind, self.number = DocumentKind(kind), number


class _Payment:
    def __init__(self, reference: str) -> None:
        self.reference = reference


def _labels(db: sqlite3.Connection, rows: Iterable[FailedRow]) -> dict[tuple[str, int], str]:
    """Each failed row's record named as :func:`app.services.sending.drafts.record_label`
    names it, read a chunk of ids at a time."""
    wanted: dict[str, list[int]] = {}
    for row in rows:
        wanted.setdefault(row.record_type, []).append(row.record_id)
    labels: dict[tuple[str, int], str] = {}
    for record_type, ids in wanted.items():
        kind = RecordType(record_type)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join("?" * len(chunk))
            if kind in (RecordType.CUSTOMER, RecordType.SUPPLIER):
                found = {
                    row_id: contact_label(_Contact(k, name, ref))
                    for row_id, k, name, ref in db.execute(
                        f"SELECT id, kind, name, account_ref FROM contacts WHERE id IN ({marks})",
                        chunk,
                    )
                }
            elif kind in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
                found = {
                    row_id: document_label(_Document(k, number))
                    for row_id, k, number in db.execute(
                        f"SELECT id, kind, number FROM documents WHERE id IN ({marks})", chunk
                    )
                }
            else:
                found = {
                    row_id: payment_label(_Payment(reference))
                    for row_id, reference in db.execute(
                        f"SELECT id, reference FROM payments WHERE id IN ({marks})", chunk
                    )
                }
            for record_id in chunk:
                labels[(record_type, record_id)] = found.get(
                    record_id, f"{record_type} #{record_id}"
                )
    return labels


@overload
def _at(stored: str) -> datetime: ...
@overload
def _at(stored: None) -> None: ...
def _at(stored: str | None) -> datetime | None:
    """A stored naive-UTC timestamp as the aware one the models give."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC) if stored else None
