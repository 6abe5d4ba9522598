"""The customers and suppliers import streams a big file: rows are checked and written a
chunk at a time in one transaction, so a problem near the end still leaves nothing
written, every problem still names its line and column, and the window's check (a dry
run through the same path) still lists them. Memory and speed: ``bench/import_csv.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEvent, Contact, ContactKind
from app.services.importing.contacts import CHUNK_ROWS
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.importing.files import ChosenFile, ImportProgress, import_files
from app.services.importing.support import BulkInsert

Factory = sessionmaker[Session]

pytestmark = pytest.mark.both_stores

ROWS = CHUNK_ROWS * 2 + 500  # three chunks
HEADER = "account_ref,name,town,email\n"


def _row(n: int) -> str:
    return f"C{n:05d},Customer {n},Leicester,c{n}@example.com\n"


def _file(tmp_path: Path, rows: list[str], name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _counts(factory: Factory) -> tuple[int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Contact)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


@pytest.fixture
def inserts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each bulk insert into contacts sent to the server (an executemany
    on SQLite, a COPY on PostgreSQL)."""
    seen: list[int] = []
    run = BulkInsert.run

    def counted(self: BulkInsert, rows: Iterable[Sequence[Any]]) -> int:
        written = run(self, rows)
        if self.sql.startswith("INSERT INTO contacts"):
            seen.append(written)
        return written

    monkeypatch.setattr(BulkInsert, "run", counted)
    return seen


def test_a_big_file_goes_in_chunk_by_chunk_in_one_transaction(
    session_factory: Factory, tmp_path: Path, inserts: list[int]
) -> None:
    path = _file(tmp_path, [_row(n) for n in range(ROWS)])
    report = import_csv(session_factory, ImportKind.CUSTOMERS, path)
    assert report.ok and report.added == ROWS
    assert inserts == [CHUNK_ROWS, CHUNK_ROWS, ROWS - 2 * CHUNK_ROWS]
    assert _counts(session_factory) == (ROWS, 1)
    with session_factory() as session:
        last = session.scalars(select(Contact).where(Contact.account_ref == "C04499")).one()
    assert (last.kind, last.name, last.town, last.email, last.phone) == (
        ContactKind.CUSTOMER,
        "Customer 4499",
        "Leicester",
        "c4499@example.com",
        "",
    )


def test_a_bad_row_near_the_end_leaves_nothing_written(
    session_factory: Factory, tmp_path: Path, inserts: list[int]
) -> None:
    rows = [_row(n) for n in range(ROWS)]
    rows[ROWS - 3] = f"C{ROWS - 3:05d},,Leicester,x@example.com\n"  # no name, line ROWS
    before = _counts(session_factory)
    report = import_csv(session_factory, ImportKind.CUSTOMERS, _file(tmp_path, rows))
    assert [(e.line, e.column) for e in report.errors] == [(ROWS - 1, "name")]
    assert str(report.errors[0]) == f'line {ROWS - 1}, column "name": is blank; it is required'
    assert (report.added, report.updated, report.unchanged) == (0, 0, 0)
    # The first two chunks really were written before the bad row was met ...
    assert inserts == [CHUNK_ROWS, CHUNK_ROWS]
    # ... and the rolled-back transaction took them away again.
    assert _counts(session_factory) == before


def test_a_duplicate_far_apart_in_the_file_is_found_and_nothing_is_written(
    session_factory: Factory, tmp_path: Path
) -> None:
    rows = [_row(n) for n in range(ROWS)]
    rows[ROWS - 1] = "C00007,Someone Else,Wigston,\n"
    report = import_csv(session_factory, ImportKind.CUSTOMERS, _file(tmp_path, rows))
    assert [str(e) for e in report.errors] == [
        f'line {ROWS + 1}, column "account_ref": "C00007" is also on line 9; each '
        "account_ref may appear only once in a file"
    ]
    assert _counts(session_factory) == (0, 0)


def test_a_broken_quote_near_the_end_is_the_one_problem_and_nothing_is_written(
    session_factory: Factory, tmp_path: Path
) -> None:
    rows = [_row(n) for n in range(ROWS)]
    rows[10] = "C00010,,Leicester,\n"  # a bad row before it is not reported on its own
    rows[ROWS - 2] = 'C04498,"Customer 4498,Leicester,\n'
    report = import_csv(session_factory, ImportKind.CUSTOMERS, _file(tmp_path, rows))
    assert len(report.errors) == 1 and report.errors[0].line == ROWS
    assert "never closed" in report.errors[0].message
    assert _counts(session_factory) == (0, 0)


def test_reimport_across_chunks_updates_and_leaves_the_rest(
    session_factory: Factory, tmp_path: Path
) -> None:
    rows = [_row(n) for n in range(ROWS)]
    assert import_csv(session_factory, ImportKind.CUSTOMERS, _file(tmp_path, rows)).ok
    rows[3] = "C00003,Customer 3,Oadby,c3@example.com\n"
    rows[ROWS - 1] = "C04499,Customer 4499 Ltd,Leicester,c4499@example.com\n"
    rows.append(_row(ROWS))
    report = import_csv(session_factory, ImportKind.CUSTOMERS, _file(tmp_path, rows))
    assert (report.added, report.updated, report.unchanged) == (1, 2, ROWS - 2)
    with session_factory() as session:
        changed = {
            ref: town
            for ref, town in session.execute(
                select(Contact.account_ref, Contact.town).where(
                    Contact.account_ref.in_(["C00003", "C00004"])
                )
            )
        }
        assert changed == {"C00003": "Oadby", "C00004": "Leicester"}
        name = session.scalars(select(Contact.name).where(Contact.account_ref == "C04499"))
        assert name.one() == "Customer 4499 Ltd"
    assert _counts(session_factory) == (ROWS + 1, 2)


def test_the_windows_check_lists_bad_rows_of_a_big_file_by_line_and_column(
    session_factory: Factory, tmp_path: Path
) -> None:
    rows = [_row(n) for n in range(ROWS)]
    rows[5] = "C00005,Customer 5,Leicester,not-an-email\n"
    rows[ROWS - 1] = "C04499,Customer 4499,Leicester,c@x.com,extra\n"
    path = _file(tmp_path, rows)
    seen: list[ImportProgress] = []
    result = import_files(
        session_factory,
        [ChosenFile(path, ImportKind.CUSTOMERS)],
        dry_run=True,
        progress=seen.append,
    )
    assert not result.ok
    [report] = result.reports
    assert [(e.line, e.column) for e in report.errors] == [(7, "email"), (ROWS + 1, "")]
    assert "has no column" in report.errors[1].message
    # The row with a value too many is left out of the rows read (as it always was).
    assert seen[-1] == ImportProgress("customers.csv", ROWS - 1, ROWS - 1)
    assert _counts(session_factory) == (0, 0)
