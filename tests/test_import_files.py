"""Importing several job-system files at once (the window's import): the kind told from
the header, one transaction for the set, every bad row by line and column, progress and
a cancel that leaves nothing written."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEvent, Contact, Document
from app.services.importing.files import (
    ChosenFile,
    ImportKind,
    ImportProgress,
    import_files,
    recognise_kind,
)

CUSTOMERS = "account_ref,name,town\nCUS1,Ada Boiler Ltd,Leicester\nCUS2,J. Patel,Oadby\n"
INVOICES = (
    "number,date,due_date,customer_ref,description,quantity,unit_price,vat_rate\n"
    "INV-1,2026-01-05,2026-02-04,CUS1,Call-out charge,1,65.00,20\n"
    "INV-2,2026-01-06,,CUS2,Radiator,1,100,20\n"
)
PAYMENTS = "reference,date,customer_ref,amount,method,invoice_number,allocated\n"


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Contact)) or 0,
            session.scalar(select(func.count()).select_from(Document)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_kind_is_told_from_the_header_and_where_layouts_agree_from_the_name() -> None:
    assert recognise_kind(INVOICES.encode(), "export.csv") is ImportKind.INVOICES
    assert recognise_kind(PAYMENTS.encode(), "x.csv") is ImportKind.PAYMENTS
    assert recognise_kind(CUSTOMERS.encode(), "Customers 2026.csv") is ImportKind.CUSTOMERS
    assert recognise_kind(CUSTOMERS.encode(), "suppliers.csv") is ImportKind.SUPPLIERS
    # Customers and suppliers share a layout: the name must tell, or the user chooses.
    assert recognise_kind(CUSTOMERS.encode(), "contacts.csv") is None
    assert recognise_kind(b"what,is,this\n1,2,3\n", "customers.csv") is None


def test_a_check_sees_the_customers_of_a_file_chosen_with_it_and_writes_nothing(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    files = [
        ChosenFile(_file(tmp_path, "invoices.csv", INVOICES), ImportKind.INVOICES),
        ChosenFile(_file(tmp_path, "customers.csv", CUSTOMERS), ImportKind.CUSTOMERS),
    ]
    before = _counts(session_factory)
    checked = import_files(session_factory, files, dry_run=True)
    assert checked.ok, [str(e) for r in checked.reports for e in r.errors]
    assert [r.kind for r in checked.reports] == [ImportKind.CUSTOMERS, ImportKind.INVOICES]
    assert [r.added for r in checked.reports] == [2, 2]
    assert checked.summary() == (
        "4 records would be added and 0 updated from 2 files: press Import to write them."
    )
    assert _counts(session_factory) == before

    done = import_files(session_factory, files, dry_run=False)
    assert done.ok and done.summary() == "4 records were added and 0 updated from 2 files."
    contacts, documents, audits = _counts(session_factory)
    assert (contacts, documents) == (before[0] + 2, before[1] + 2)
    assert audits == before[2] + 2  # one import event per file


def test_one_bad_row_keeps_every_file_out_and_is_named_by_line_and_column(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    bad = INVOICES.replace("INV-2,2026-01-06", "INV-2,2026-13-45")
    files = [
        ChosenFile(_file(tmp_path, "customers.csv", CUSTOMERS), ImportKind.CUSTOMERS),
        ChosenFile(_file(tmp_path, "invoices.csv", bad), ImportKind.INVOICES),
    ]
    before = _counts(session_factory)
    result = import_files(session_factory, files, dry_run=False)
    assert not result.ok
    [invoices] = [r for r in result.reports if r.kind is ImportKind.INVOICES]
    assert [(e.line, e.column) for e in invoices.errors] == [(3, "date")]
    assert all(r.added == 0 for r in result.reports)
    assert result.summary().startswith("1 problem in 1 file; nothing was imported")
    assert _counts(session_factory) == before


def test_progress_by_row_and_a_cancel_leaves_nothing_written(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    rows = "".join(f"CUS{n:05},Customer {n},Town\n" for n in range(1, 1201))
    path = _file(tmp_path, "customers.csv", "account_ref,name,town\n" + rows)
    files = [ChosenFile(path, ImportKind.CUSTOMERS)]
    seen: list[ImportProgress] = []
    done = import_files(session_factory, files, dry_run=True, progress=seen.append)
    assert done.ok and seen[-1] == ImportProgress("customers.csv", 1200, 1200)
    assert [p.done for p in seen[:3]] == [0, 250, 500]

    cancel = threading.Event()
    before = _counts(session_factory)

    def cancel_midway(step: ImportProgress) -> None:
        if step.done >= 500:
            cancel.set()

    stopped = import_files(
        session_factory, files, dry_run=False, cancel=cancel, progress=cancel_midway
    )
    assert stopped.cancelled and not stopped.ok
    assert stopped.summary() == "The import was cancelled; nothing was written."
    assert _counts(session_factory) == before
