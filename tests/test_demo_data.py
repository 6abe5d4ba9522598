"""The demo data: generated reproducibly, realistic, and imported cleanly by the same
CSV import a real job system's files go through."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    DocumentLine,
    NominalAccount,
    Payment,
    PaymentAllocation,
)
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.importing.demo_data import import_demo_data
from resources import resource

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "generate_demo_data.py"
FILES = ("customers.csv", "suppliers.csv", "invoices.csv", "credit_notes.csv", "payments.csv")

# What the committed demo files hold (records, not rows).
EXPECTED = {
    ImportKind.CUSTOMERS: 200,
    ImportKind.SUPPLIERS: 30,
    ImportKind.INVOICES: 708,
    ImportKind.CREDIT_NOTES: 25,
    ImportKind.PAYMENTS: 614,
}
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}$")


def rows(name: str) -> list[dict[str, str]]:
    text = resource("demo", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.slow
def test_generator_is_deterministic_and_matches_the_committed_files(tmp_path: Path) -> None:
    for run, hash_seed in (("first", "1"), ("second", "2")):  # set order must not matter
        subprocess.run(
            [sys.executable, str(GENERATOR), "--out", str(tmp_path / run)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
    committed = resource("demo")
    assert sorted(p.name for p in committed.iterdir() if p.name.endswith(".csv")) == sorted(FILES)
    assert not committed.joinpath(".keep").is_file()
    for name in FILES:
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "second" / name).read_bytes(), name
        assert first == committed.joinpath(name).read_bytes(), (
            f"resources/demo/{name} is stale: run tools/generate_demo_data.py"
        )


def test_demo_files_import_cleanly_with_the_expected_counts(
    session_factory: sessionmaker[Session],
) -> None:
    reports = import_demo_data(session_factory)
    assert [r.kind for r in reports] == list(EXPECTED)
    for report in reports:
        assert report.ok, [str(e) for e in report.errors[:10]]
        assert report.ignored_columns == []
        assert (report.added, report.updated, report.unchanged) == (EXPECTED[report.kind], 0, 0)
    with session_factory() as session:
        kinds = Counter(session.scalars(select(Contact.kind)))
        assert kinds == {ContactKind.CUSTOMER: 200, ContactKind.SUPPLIER: 30}
        documents = Counter(session.scalars(select(Document.kind)))
        assert documents == {DocumentKind.INVOICE: 708, DocumentKind.CREDIT_NOTE: 25}
        assert count(session, Payment) == 614
        rates = set(session.scalars(select(DocumentLine.vat_rate)))
        assert rates == {Decimal(20), Decimal(5), Decimal(0)}
        codes = set(
            session.scalars(
                select(NominalAccount.code).join(
                    DocumentLine, DocumentLine.nominal_account_id == NominalAccount.id
                )
            )
        )
        assert codes == {"SALES", "SALES-LAB", "SALES-MAT"}


def test_importing_the_demo_data_again_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    import_demo_data(session_factory)
    with session_factory() as session:
        before = [count(session, m) for m in (Contact, Document, DocumentLine, PaymentAllocation)]
    again = import_demo_data(session_factory)
    assert all(r.ok for r in again)
    assert [(r.added, r.updated, r.unchanged) for r in again] == [
        (0, 0, n) for n in EXPECTED.values()
    ]
    with session_factory() as session:
        after = [count(session, m) for m in (Contact, Document, DocumentLine, PaymentAllocation)]
    assert after == before


def test_demo_files_import_one_by_one_from_disk(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The files also work as a user would import them, through ``import_csv``."""
    for kind in EXPECTED:
        path = tmp_path / kind.file_name
        path.write_bytes(resource("demo", kind.file_name).read_bytes())
        report = import_csv(session_factory, kind, path, dry_run=kind is ImportKind.PAYMENTS)
        assert report.ok, [str(e) for e in report.errors[:10]]
        assert report.added == EXPECTED[kind]
    with session_factory() as session:
        assert count(session, Payment) == 0  # the payments were a dry run


def test_no_invoice_is_paid_or_credited_beyond_its_total(
    session_factory: sessionmaker[Session],
) -> None:
    assert all(r.ok for r in import_demo_data(session_factory))
    with session_factory() as session:
        invoices = {
            d.number: d
            for d in session.scalars(select(Document).where(Document.kind == DocumentKind.INVOICE))
        }
        settled: dict[str, Decimal] = defaultdict(Decimal)
        for note in session.scalars(
            select(Document).where(Document.kind == DocumentKind.CREDIT_NOTE)
        ):
            original = invoices[note.original_invoice_number]
            assert note.contact_id == original.contact_id
            assert note.date > original.date
            settled[original.number] += note.gross_total
        for allocation in session.scalars(select(PaymentAllocation)):
            invoice = allocation.document
            assert allocation.payment.contact_id == invoice.contact_id
            assert allocation.payment.date >= invoice.date
            settled[invoice.number] += allocation.amount
        for number, amount in settled.items():
            assert amount <= invoices[number].gross_total, number
        owed = {n: i.gross_total - settled[n] for n, i in invoices.items()}
    paid_in_full = sum(1 for v in owed.values() if v == 0)
    unpaid = [n for n, v in owed.items() if v == invoices[n].gross_total]
    part_paid = [n for n, v in owed.items() if 0 < v < invoices[n].gross_total]
    assert paid_in_full > 500
    assert len(unpaid) >= 30  # mostly the last few weeks' invoices
    recent = [n for n in unpaid if invoices[n].date >= date(2026, 10, 20)]
    assert len(recent) > len(unpaid) / 2
    assert part_paid  # some customers paid part of an invoice


def test_demo_data_looks_like_a_real_firm() -> None:
    customers = rows("customers.csv")
    assert [c["account_ref"] for c in customers] == [f"CUS{n:04d}" for n in range(1, 201)]
    names = Counter(c["name"] for c in customers)
    namesakes = sorted(name for name, n in names.items() if n > 1)
    assert namesakes == ["David Jones", "J. Patel"]
    patels = [c for c in customers if c["name"] == "J. Patel"]
    assert patels[0]["address_1"] != patels[1]["address_1"]
    assert sum(c["name"].endswith(("Ltd", "Limited")) for c in customers) >= 10
    assert 20 <= sum(not c["email"] for c in customers) <= 100  # some have none
    assert all(UK_POSTCODE.match(c["postcode"]) for c in customers)
    assert all(c["phone"] for c in customers)
    suppliers = rows("suppliers.csv")
    assert [s["account_ref"] for s in suppliers] == [f"SUP{n:03d}" for n in range(1, 31)]

    invoices = rows("invoices.csv")
    dates = sorted(date.fromisoformat(r["date"]) for r in invoices)
    assert dates[0] >= date(2025, 12, 1) and dates[-1] <= date(2026, 11, 20)
    lines_per_invoice = Counter(Counter(r["number"] for r in invoices).values())
    assert set(lines_per_invoice) == {1, 2, 3, 4}
    assert any(r["quantity"] not in ("1", "2", "3") and "." in r["quantity"] for r in invoices)
    for row in invoices:
        due = date.fromisoformat(row["due_date"]) - date.fromisoformat(row["date"])
        assert due.days == 30
    # A landlord's invoices name the properties the jobs were at.
    references: dict[str, set[str]] = defaultdict(set)
    for row in invoices:
        references[row["customer_ref"]].add(row["reference"].split(" (job")[0])
    landlords = [ref for ref, places in references.items() if len(places) >= 3]
    assert landlords

    payments = rows("payments.csv")
    allocations = Counter(r["reference"] for r in payments)
    assert sum(1 for n in allocations.values() if n > 1) >= 5  # one payment, several invoices
    assert {r["method"] for r in payments} == {
        "bank_transfer",
        "card",
        "cash",
        "cheque",
        "direct_debit",
    }
    assert {r["bank_code"] for r in payments} == {"BANK"}
