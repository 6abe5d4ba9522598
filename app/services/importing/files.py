"""Importing a set of the job system's CSV files at once, as the window does.

The files are taken in :data:`IMPORT_ORDER` (customers before the invoices that name
them) inside one transaction, so a check sees the customers of a file chosen with it,
and an import writes every file or none: a file with any bad row stops it all. Progress
is reported row by row and a cancel leaves nothing written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.services.importing.csv_import import (
    IMPORT_ORDER,
    ImportKind,
    ImportReport,
    _hold_write_lock,
    check_and_write,
    columns_for,
    refresh_statistics,
)
from app.services.importing.csv_reader import read_csv

__all__ = [
    "IMPORT_ORDER",
    "ChosenFile",
    "FilesReport",
    "ImportKind",
    "ImportProgress",
    "import_files",
    "job_record_count",
    "recognise_kind",
]
from connectors.wording import count

#: How often (in rows) progress is reported and the cancel flag looked at.
PROGRESS_EVERY = 250


@dataclass(frozen=True)
class ChosenFile:
    """A file the user chose and what it holds."""

    path: Path
    kind: ImportKind


@dataclass(frozen=True)
class ImportProgress:
    """Where an import of several files has got to."""

    file: str
    done: int
    total: int


@dataclass
class FilesReport:
    """What checking or importing a set of files found and did."""

    dry_run: bool
    reports: list[ImportReport] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """No file has a problem (and the import was not cancelled)."""
        return not self.cancelled and all(report.ok for report in self.reports)

    @property
    def problems(self) -> int:
        """How many problems the files have between them."""
        return sum(len(report.errors) for report in self.reports)

    def summary(self) -> str:
        """One sentence for people: what was (or would be) imported, or why not."""
        if self.cancelled:
            return "The import was cancelled; nothing was written."
        if self.problems:
            files = count(sum(1 for r in self.reports if not r.ok), "file")
            return (
                f"{count(self.problems, 'problem')} in {files}; nothing was imported. "
                "Fix them in the files and check again."
            )
        added = sum(report.added for report in self.reports)
        updated = sum(report.updated for report in self.reports)
        verb = "would be" if self.dry_run else "were"
        return (
            f"{count(added, 'record')} {verb} added and {updated:,} updated from "
            f"{count(len(self.reports), 'file')}"
            + (": press Import to write them." if self.dry_run else ".")
        )


class _Cancelled(Exception):
    pass


def recognise_kind(data: bytes, file_name: str = "") -> ImportKind | None:
    """The kind of file ``data`` is, from its header (and, where two kinds share a
    layout such as customers and suppliers, from ``file_name``); ``None`` when it
    cannot be told, for the user to choose."""
    end = data.find(b"\n")
    header = data if end < 0 else data[: end + 1]
    scores: dict[ImportKind, int] = {}
    for kind in ImportKind:
        table, problems = read_csv(header, columns_for(kind))
        if table is not None and not problems:
            scores[kind] = len(table.spelled)
    if not scores:
        return None
    best = max(scores.values())
    candidates = [kind for kind, score in scores.items() if score == best]
    if len(candidates) == 1:
        return candidates[0]
    name = Path(file_name).stem.casefold().replace("-", "_").replace(" ", "_")
    named = [kind for kind in candidates if kind.value.rstrip("s") in name]
    return named[0] if len(named) == 1 else None


def import_files(
    session_factory: sessionmaker[Session],
    files: Sequence[ChosenFile],
    *,
    dry_run: bool,
    actor: str = "user",
    cancel: threading.Event | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
) -> FilesReport:
    """Check (``dry_run``) or import ``files`` together, in import order, in one
    transaction: every file goes in, or none does."""
    result = FilesReport(dry_run=dry_run)
    ordered = sorted(files, key=lambda chosen: IMPORT_ORDER.index(chosen.kind))
    with session_factory() as session:
        if not dry_run:
            _hold_write_lock(session)
        try:
            for chosen in ordered:
                report = ImportReport(kind=chosen.kind, file=chosen.path.name, dry_run=dry_run)
                result.reports.append(report)
                try:
                    data = chosen.path.read_bytes()
                except OSError as exc:
                    report.error(0, "", f"{chosen.path} cannot be read: {exc.strerror or exc}")
                    continue
                # Later files are checked against the earlier ones' records, so those
                # are written in this transaction (and rolled back for a check).
                check_and_write(
                    session,
                    chosen.kind,
                    data,
                    report,
                    write=True,
                    actor=actor,
                    watch=partial(
                        _watched, file=chosen.path.name, cancel=cancel, progress=progress
                    ),
                )
            if cancel is not None and cancel.is_set():
                raise _Cancelled
        except _Cancelled:
            session.rollback()
            result.cancelled = True
            for report in result.reports:
                report.added = report.updated = report.unchanged = 0
            return result
        if dry_run or not result.ok:
            session.rollback()
        else:
            session.commit()
            refresh_statistics(session, result.reports)
    if not result.ok:
        for report in result.reports:
            report.added = report.updated = report.unchanged = 0
    return result


def _watched(
    records: Iterator[tuple[int, list[str]]],
    total: int,
    *,
    file: str,
    cancel: threading.Event | None,
    progress: Callable[[ImportProgress], None] | None,
) -> Iterator[tuple[int, list[str]]]:
    """The rows of one file, reporting progress and honouring a cancel as they are read.

    ``total`` is an estimate (a value over two lines counts twice) until the end, when
    the count is exact.
    """
    done = 0
    for record in records:
        if done % PROGRESS_EVERY == 0:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            if progress is not None:
                progress(ImportProgress(file, done, max(total, done)))
        yield record
        done += 1
    if progress is not None:
        progress(ImportProgress(file, done, done))


def job_record_count(session_factory: sessionmaker[Session]) -> int:
    """How many records (contacts, documents, payments) the job system has given us."""
    from app.services.status import record_counts

    with session_factory() as session:
        return sum(record_counts(session).values())
