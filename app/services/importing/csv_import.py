"""Importing the job system's CSV files: customers, suppliers, invoices, credit notes and
payments, laid out as ``docs/csv-layout.md`` describes.

A file is imported whole or not at all, in one transaction: rows are read, checked and
(for customers and suppliers) written a chunk at a time, the writing stops at the first
problem, and the transaction is committed only when no row has one. Importing the same file again
adds new records, updates those not yet sent and never changes one already sent.

The work is split by stage: :mod:`.csv_reader` (encoding, separator, header),
:mod:`.csv_values` (one value), :mod:`.support` (bulk look-ups) and one module per kind
of file (:mod:`.contacts`, :mod:`.documents`, :mod:`.payments`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import false, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.db.lookups import ANALYZE_AFTER_ROWS, analyze
from app.db.models import ContactKind, DocumentKind, Setting
from app.services.audit import record_event
from app.services.importing import documents as import_documents
from app.services.importing import payments as import_payments
from app.services.importing.contacts import COLUMNS as CONTACT_COLUMNS
from app.services.importing.contacts import ContactImport
from app.services.importing.csv_reader import ColumnSpec, CsvTable, CsvUnreadable, open_csv
from app.services.importing.documents import DocumentImport
from app.services.importing.payments import PaymentImport
from app.services.importing.report import (
    IMPORT_ORDER,
    AlreadySent,
    ImportKind,
    ImportReport,
    RowError,
)

__all__ = [
    "IMPORT_ORDER",
    "AlreadySent",
    "ImportKind",
    "ImportReport",
    "RowError",
    "check_and_write",
    "columns_for",
    "import_csv",
    "import_csv_bytes",
]

_ACTOR_LENGTH = 32

log = logging.getLogger(__name__)

#: The tables an import of each kind writes.
_TABLES = {
    ImportKind.CUSTOMERS: ("contacts",),
    ImportKind.SUPPLIERS: ("contacts",),
    ImportKind.INVOICES: ("documents", "document_lines"),
    ImportKind.CREDIT_NOTES: ("documents", "document_lines"),
    ImportKind.PAYMENTS: ("payments", "payment_allocations"),
}


class _Importer(Protocol):
    def check(self) -> None: ...

    def write(self) -> None: ...


def columns_for(kind: ImportKind) -> tuple[ColumnSpec, ...]:
    """The columns a file of ``kind`` may have (``required`` marks the ones it must)."""
    if kind in (ImportKind.CUSTOMERS, ImportKind.SUPPLIERS):
        return CONTACT_COLUMNS
    if kind is ImportKind.INVOICES:
        return import_documents.columns(DocumentKind.INVOICE)
    if kind is ImportKind.CREDIT_NOTES:
        return import_documents.columns(DocumentKind.CREDIT_NOTE)
    return import_payments.COLUMNS


def _importer(
    kind: ImportKind, session: Session, table: CsvTable, report: ImportReport, *, write: bool
) -> _Importer:
    if kind is ImportKind.CUSTOMERS:
        return ContactImport(session, table, report, ContactKind.CUSTOMER, write_as_checked=write)
    if kind is ImportKind.SUPPLIERS:
        return ContactImport(session, table, report, ContactKind.SUPPLIER, write_as_checked=write)
    if kind is ImportKind.INVOICES:
        return DocumentImport(session, table, report, DocumentKind.INVOICE)
    if kind is ImportKind.CREDIT_NOTES:
        return DocumentImport(session, table, report, DocumentKind.CREDIT_NOTE)
    return PaymentImport(session, table, report)


def import_csv(
    session_factory: sessionmaker[Session],
    kind: ImportKind,
    path: Path,
    *,
    dry_run: bool = False,
    actor: str = "cli",
) -> ImportReport:
    """Import the file at ``path`` as ``kind``; see :func:`import_csv_bytes`.

    A file that cannot be opened is reported as an error (line 0), not raised.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        report = ImportReport(kind=ImportKind(kind), file=str(path), dry_run=dry_run)
        if isinstance(exc, FileNotFoundError):
            message = f"there is no file {path}"
        elif isinstance(exc, IsADirectoryError):
            message = f"{path} is a folder, not a CSV file"
        else:
            message = f"{path} cannot be read: {exc.strerror or exc}"
        report.error(0, "", message)
        return report
    return import_csv_bytes(
        session_factory, kind, data, file=str(path), dry_run=dry_run, actor=actor
    )


def import_csv_bytes(
    session_factory: sessionmaker[Session],
    kind: ImportKind,
    data: bytes,
    *,
    file: str,
    dry_run: bool = False,
    actor: str = "cli",
) -> ImportReport:
    """Check ``data`` (the bytes of a CSV file named ``file``) and import it if it is good.

    With ``dry_run`` the whole check runs and the counts say what an import would do,
    but nothing is written. Otherwise, when there is no error, the records are written
    in one transaction together with an audit event (action ``import``) by ``actor``.
    When there is any error nothing is written and the counts are 0.
    """
    kind = ImportKind(kind)
    report = ImportReport(kind=kind, file=file, dry_run=dry_run)
    with session_factory() as session:
        if not dry_run:
            _hold_write_lock(session)
        written = check_and_write(session, kind, data, report, write=not dry_run, actor=actor)
        if written:
            session.commit()
            refresh_statistics(session, [report])
        else:
            session.rollback()
    return report


def refresh_statistics(session: Session, reports: Iterable[ImportReport]) -> None:
    """After an import's commit: bring PostgreSQL's statistics of the tables a large
    import wrote up to date (see :func:`app.db.lookups.analyze`), in a transaction of
    its own, so a failure there (a statement timeout, say) can never undo the import;
    it is logged and the server's autovacuum catches up later."""
    tables = sorted(
        {
            table
            for report in reports
            if not report.dry_run and report.added + report.updated >= ANALYZE_AFTER_ROWS
            for table in _TABLES[report.kind]
        }
    )
    if not tables:
        return
    try:
        analyze(session, tables)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("statistics of %s not refreshed after the import", tables, exc_info=True)


#: Wraps a file's raw rows as they are read (progress, cancel); gets the rows and
#: an estimate of how many there are.
RowWatch = Callable[[Iterator[tuple[int, list[str]]], int], Iterator[tuple[int, list[str]]]]


def check_and_write(
    session: Session,
    kind: ImportKind,
    data: bytes,
    report: ImportReport,
    *,
    write: bool,
    actor: str,
    watch: RowWatch | None = None,
) -> bool:
    """Check ``data`` as a file of ``kind`` into ``report``; when it has no error and
    ``write`` is set, write its records in ``session`` and say so.

    Rows are streamed: with ``write`` some records may be written in ``session`` before
    a problem further on is found, so the caller commits only when this returns True
    and otherwise rolls back. ``watch`` may wrap the rows as they are read (progress,
    cancel). With any error the counts are 0.
    """
    table = open_csv(data, columns_for(kind), report.errors)
    if table is None:
        return False
    report.ignored_columns = list(table.ignored_columns)
    if watch is not None:
        table.records = watch(table.records, table.estimated_rows)
    importer = _importer(kind, session, table, report, write=write)
    try:
        importer.check()
    except CsvUnreadable as exc:
        # As when the file cannot be read at all: that one problem, nothing else.
        report.errors[:] = [exc.error]
        report.already_sent.clear()
    written = False
    if not report.errors and write:
        importer.write()
        record_event(
            session,
            actor=actor[:_ACTOR_LENGTH],
            action="import",
            record_type=kind.record_type.value,
            file=Path(report.file).name,
            kind=kind.value,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            already_sent=len(report.already_sent),
        )
        written = True
    if report.errors:
        report.added = report.updated = report.unchanged = 0
        report.errors.sort(key=lambda error: error.line)
    return written


def _hold_write_lock(session: Session) -> None:
    """Make the check and the write one SQLite transaction.

    SQLite starts a transaction only at the first write, so a record could be sent
    between checking a file and writing it. A write that changes nothing takes the lock
    first; other writers (a send in progress) wait on the busy timeout.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Setting)
            .where(false())
            .values(value=Setting.value)
            .execution_options(synchronize_session=False)
        )
