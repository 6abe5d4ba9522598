"""Bulk writes on both stores: new documents and payments get their ids in file order
(drawn from the sequence on PostgreSQL, looked up on SQLite), ordinary inserts carry on
after them, and on PostgreSQL a large import leaves the planner statistics of what it
wrote and connections plan every statement for its own values.
Speed: ``bench/store.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.lookups import ANALYZE_AFTER_ROWS
from app.db.models import Contact, Document, DocumentKind, DocumentLine, Payment
from app.services.importing.csv_import import ImportKind, import_csv

Factory = sessionmaker[Session]

pytestmark = pytest.mark.both_stores

LINE = "description,quantity,unit_price,nominal_code,vat_rate"


def _import(factory: Factory, tmp_path: Path, kind: ImportKind, text_: str) -> None:
    path = tmp_path / f"{kind.value}.csv"
    path.write_text(text_, encoding="utf-8")
    report = import_csv(factory, kind, path)
    assert report.ok, report.describe()


def _invoices(numbers: list[int]) -> str:
    # Each invoice has its number of lines modulo 3, plus one: lines must follow their own.
    return f"number,date,customer_ref,{LINE}\n" + "".join(
        f"INV-{n:05d},2026-09-01,C1,Line {k} of {n},1,{n}.00,SALES,20\n"
        for n in numbers
        for k in range(1, n % 3 + 2)
    )


def test_new_documents_and_payments_get_ids_in_file_order(
    session_factory: Factory, tmp_path: Path
) -> None:
    _import(session_factory, tmp_path, ImportKind.CUSTOMERS, "account_ref,name\nC1,One Ltd\n")
    # Not in number order, so ids follow the file, not a sort.
    numbers = [7, 3, 11, 5, 2, 13, 1]
    _import(session_factory, tmp_path, ImportKind.INVOICES, _invoices(numbers))
    _import(
        session_factory,
        tmp_path,
        ImportKind.PAYMENTS,
        "reference,date,customer_ref,amount,method,bank_code,invoice_number,allocated\n"
        "PAY-B,2026-09-02,C1,3.00,card,BANK,INV-00003,3.00\n"
        "PAY-A,2026-09-02,C1,7.00,card,BANK,INV-00007,7.00\n",
    )
    with session_factory() as session:
        documents = session.scalars(select(Document).order_by(Document.id)).all()
        assert [d.number for d in documents] == [f"INV-{n:05d}" for n in numbers]
        for document, n in zip(documents, numbers, strict=True):
            assert [(line.line_no, line.description) for line in document.lines] == [
                (k, f"Line {k} of {n}") for k in range(1, n % 3 + 2)
            ]
        payments = session.scalars(select(Payment).order_by(Payment.id)).all()
        assert [(p.reference, [a.document.number for a in p.allocations]) for p in payments] == [
            ("PAY-B", ["INV-00003"]),
            ("PAY-A", ["INV-00007"]),
        ]
        # An ordinary insert afterwards gets a fresh id (the sequence moved past them).
        contact = session.scalars(select(Contact)).one()
        later = Document(
            kind=DocumentKind.INVOICE,
            number="INV-LATER",
            date=dt.date(2026, 9, 3),
            contact_id=contact.id,
        )
        session.add(later)
        session.flush()
        assert later.id > max(d.id for d in documents)
        first = [(d.id, d.number) for d in documents]
        session.rollback()
    # A second import adds after the first and rewrites a changed one's lines in place.
    _import(
        session_factory,
        tmp_path,
        ImportKind.INVOICES,
        f"number,date,customer_ref,{LINE}\n"
        "INV-00004,2026-09-01,C1,New,1,4.00,SALES,20\n"
        "INV-00005,2026-09-01,C1,Changed,2,5.00,SALES,20\n",
    )
    with session_factory() as session:
        rows = session.execute(select(Document.id, Document.number).order_by(Document.id)).all()
        assert rows[-1][1] == "INV-00004" and rows[-1][0] > first[-1][0]
        five = next(row_id for row_id, number in first if number == "INV-00005")
        assert (five, "INV-00005") in rows
        lines = session.execute(
            select(DocumentLine.line_no, DocumentLine.description).where(
                DocumentLine.document_id == five
            )
        ).all()
        assert lines == [(1, "Changed")]


def _import_many_customers(factory: Factory, tmp_path: Path) -> int:
    """Import enough customers for the statistics to be refreshed; how many."""
    rows = ANALYZE_AFTER_ROWS + 10
    _import(
        factory,
        tmp_path,
        ImportKind.CUSTOMERS,
        "account_ref,name\n" + "".join(f"C{n},Customer {n}\n" for n in range(rows)),
    )
    return rows


def test_a_large_import_leaves_the_planner_statistics_on_postgresql(
    store_kind: str, session_factory: Factory, tmp_path: Path
) -> None:
    if store_kind != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans by its indexes")
    rows = _import_many_customers(session_factory, tmp_path)
    with session_factory() as session:
        analysed = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'contacts'"))
        assert analysed == rows
        stats = session.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'contacts'"))
        assert stats


def test_statistics_that_cannot_be_refreshed_never_undo_the_import(
    session_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statistics are refreshed after the import's commit, apart: a failure there
    (a statement timeout, say) is logged and the import stands."""
    from sqlalchemy.exc import OperationalError

    from app.services.importing import csv_import

    asked: list[list[str]] = []

    def failing(session: Session, tables: list[str]) -> None:
        asked.append(list(tables))
        raise OperationalError("ANALYZE", {}, Exception("canceling statement due to timeout"))

    monkeypatch.setattr(csv_import, "analyze", failing)
    rows = _import_many_customers(session_factory, tmp_path)
    assert asked == [["contacts"]]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == rows


def test_postgresql_connections_never_prepare_and_keep_the_default_plan_choice(
    store_kind: str, session_factory: Factory
) -> None:
    if store_kind != "postgresql":
        pytest.skip("a PostgreSQL connection setting")
    with session_factory() as session:
        connection = session.connection().connection.driver_connection
        assert getattr(connection, "prepare_threshold", 0) is None
        # The server's own cached plans (its foreign-key checks) may go generic.
        assert session.scalar(text("SHOW plan_cache_mode")) == "auto"
