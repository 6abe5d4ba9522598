"""The CSV import: reading what Excel and job systems write, checking every row, whole
file or nothing, and re-importing without ever changing a record already sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    SENT_STATES,
    AuditEvent,
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    DocumentLine,
    OutboxEntry,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    RecordType,
    SendState,
)
from app.services.importing.csv_import import ImportKind, ImportReport, RowError, import_csv

Factory = sessionmaker[Session]

pytestmark = pytest.mark.both_stores


CUSTOMERS = """account_ref,name,contact_name,address_1,town,postcode,email,phone
CUS0001,Ada Boiler Ltd,Ada Lovelace,1 High Street,Leicester,LE1 1AA,ada@example.com,0116 496 0001
CUS0002,J. Patel,,2 Mill Lane,Oadby,LE2 4XY,,07700 900002
CUS0003,J. Patel,,9 Elm Road,Wigston,LE18 2AB,jpatel@example.net,07700 900003
"""
SUPPLIERS = """account_ref,name
SUP001,Soar Valley Plumbers' Merchants Ltd
"""
INVOICE_HEADER = (
    "number,date,due_date,customer_ref,reference,description,quantity,unit_price,"
    "nominal_code,vat_rate,vat_amount\n"
)
# INV-1: 65.00 + 78.00 net, 28.60 VAT = 171.60; INV-2: 100.00 + 20.00 = 120.00.
INVOICES = INVOICE_HEADER + (
    "INV-1,2026-01-05,2026-02-04,CUS0001,Job 1,Call-out charge,1,65.00,SALES,20,13.00\n"
    "INV-1,2026-01-05,2026-02-04,CUS0001,Job 1,Labour,1.5,52,SALES-LAB,20,15.60\n"
    "INV-2,06/01/2026,,CUS0002,,Radiator,1,100,SALES-MAT,20,\n"
)
PAYMENT_HEADER = "reference,date,customer_ref,amount,method,bank_code,invoice_number,allocated\n"


# ---------------------------------------------------------------------------- helpers


def write(tmp_path: Path, text: str, name: str = "file.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(
    factory: Factory,
    kind: ImportKind,
    tmp_path: Path,
    text: str,
    *,
    name: str = "file.csv",
    dry_run: bool = False,
) -> ImportReport:
    return import_csv(factory, kind, write(tmp_path, text, name), dry_run=dry_run)


def ok(factory: Factory, kind: ImportKind, tmp_path: Path, text: str) -> ImportReport:
    report = run(factory, kind, tmp_path, text, name=f"{kind.value}.csv")
    assert report.ok, [str(e) for e in report.errors]
    return report


def counts(factory: Factory) -> dict[str, int]:
    models: dict[str, Any] = {
        "contacts": Contact,
        "documents": Document,
        "lines": DocumentLine,
        "payments": Payment,
        "allocations": PaymentAllocation,
        "audit": AuditEvent,
    }
    with factory() as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in models.items()
        }


def errors(report: ImportReport) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in report.errors]


def only_error(report: ImportReport) -> RowError:
    assert len(report.errors) == 1, [str(e) for e in report.errors]
    return report.errors[0]


def mark_sent(factory: Factory, record_type: RecordType, record_id: int, state: SendState) -> None:
    with factory.begin() as session:
        session.add(
            OutboxEntry(
                package="sandbox",
                record_type=record_type,
                record_id=record_id,
                state=state,
                idempotency_key=f"test-{record_type.value}-{record_id}",
            )
        )


def contact(factory: Factory, ref: str, kind: ContactKind = ContactKind.CUSTOMER) -> Contact:
    with factory() as session:
        return session.scalars(
            select(Contact).where(Contact.kind == kind, Contact.account_ref == ref)
        ).one()


def document(factory: Factory, number: str, kind: DocumentKind = DocumentKind.INVOICE) -> Document:
    with factory() as session:
        found = session.scalars(
            select(Document).where(Document.kind == kind, Document.number == number)
        ).one()
        _ = [line.nominal_account.code for line in found.lines]  # load while open
        return found


def payment(factory: Factory, reference: str) -> Payment:
    with factory() as session:
        found = session.scalars(select(Payment).where(Payment.reference == reference)).one()
        _ = [a.document.number for a in found.allocations], found.bank_account.code
        return found


@pytest.fixture
def with_invoices(session_factory: Factory, tmp_path: Path) -> Factory:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    ok(session_factory, ImportKind.SUPPLIERS, tmp_path, SUPPLIERS)
    ok(session_factory, ImportKind.INVOICES, tmp_path, INVOICES)
    return session_factory


# ----------------------------------------------------------------- reading the file


def test_customers_import_with_every_field(session_factory: Factory, tmp_path: Path) -> None:
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    assert (report.added, report.updated, report.unchanged) == (3, 0, 0)
    assert report.ignored_columns == []
    ada = contact(session_factory, "CUS0001")
    assert (ada.name, ada.contact_name, ada.postcode, ada.email) == (
        "Ada Boiler Ltd",
        "Ada Lovelace",
        "LE1 1AA",
        "ada@example.com",
    )
    assert ada.created_at.tzinfo is not None
    # Namesakes are different customers, told apart by their account references.
    assert contact(session_factory, "CUS0002").address_1 == "2 Mill Lane"
    assert contact(session_factory, "CUS0003").address_1 == "9 Elm Road"


def test_utf8_with_byte_order_mark(session_factory: Factory, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "account_ref,name\nCUS1,Café Crème\n".encode())
    report = import_csv(session_factory, ImportKind.CUSTOMERS, path)
    assert report.ok, report.errors
    assert report.ignored_columns == []  # the BOM did not turn into a column
    assert contact(session_factory, "CUS1").name == "Café Crème"


def test_windows_1252_with_pound_sign_and_accents(session_factory: Factory, tmp_path: Path) -> None:
    customers = "account_ref,name,town\nCUS1,Renée's Café,Hinckley\n"
    assert import_csv(
        session_factory,
        ImportKind.CUSTOMERS,
        write(tmp_path, customers, "c.csv", encoding="cp1252"),
    ).ok
    invoices = INVOICE_HEADER + 'INV-9,2026-01-05,,CUS1,,Boiler – fitted,1,"£1,234.50",,20,\n'
    path = write(tmp_path, invoices, "i.csv", encoding="cp1252")
    assert path.read_bytes().count(b"\xa3") == 1  # really Windows-1252, not UTF-8
    report = import_csv(session_factory, ImportKind.INVOICES, path)
    assert report.ok, report.errors
    assert contact(session_factory, "CUS1").name == "Renée's Café"
    invoice = document(session_factory, "INV-9")
    assert invoice.lines[0].description == "Boiler – fitted"
    assert invoice.lines[0].unit_price == Decimal("1234.50")
    assert invoice.lines[0].vat_amount == Decimal("246.90")
    assert invoice.lines[0].nominal_account.code == "SALES"  # blank: the default account


def test_semicolon_separator_with_commas_inside_values(
    session_factory: Factory, tmp_path: Path
) -> None:
    customers = "account_ref;name;address_1\nCUS1;Harborough Lettings Ltd;Flat 2, 3 High St\n"
    assert ok(session_factory, ImportKind.CUSTOMERS, tmp_path, customers).added == 1
    assert contact(session_factory, "CUS1").address_1 == "Flat 2, 3 High St"
    invoices = (
        "number;date;customer_ref;description;quantity;unit_price;vat_rate\n"
        "INV-1;05/01/2026;CUS1;Boiler;1;£1,095.00;20\n"
    )
    ok(session_factory, ImportKind.INVOICES, tmp_path, invoices)
    assert document(session_factory, "INV-1").gross_total == Decimal("1314.00")


def test_header_names_ignore_case_spaces_underscores_and_hyphens(
    session_factory: Factory, tmp_path: Path
) -> None:
    text = (
        " ACCOUNT-REF ,Name,Contact Name,ADDRESS 1,Post_Code,E-Mail\n"
        "C1,Ada,Bob,1 Road,LE1 1AA,a@example.com\n"
    )
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert report.ignored_columns == []
    ada = contact(session_factory, "C1")
    assert (ada.contact_name, ada.address_1, ada.postcode, ada.email) == (
        "Bob",
        "1 Road",
        "LE1 1AA",
        "a@example.com",
    )


def test_unknown_columns_are_ignored_and_listed(session_factory: Factory, tmp_path: Path) -> None:
    text = "account_ref,Balance,name,Notes\nC1,£12.00,Ada,owes us\n"
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert report.ignored_columns == ["Balance", "Notes"]
    assert report.to_json()["ignored_columns"] == ["Balance", "Notes"]
    assert contact(session_factory, "C1").name == "Ada"


def test_missing_required_column_is_one_clear_error(
    session_factory: Factory, tmp_path: Path
) -> None:
    text = "account_ref,town\n" + "".join(f"C{i},Leicester\n" for i in range(50))
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (1, "")
    assert error.message == 'the header has no "name" column, which is required'
    assert counts(session_factory)["contacts"] == 0


def test_same_column_twice_is_refused(session_factory: Factory, tmp_path: Path) -> None:
    report = run(
        session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref,name,Account Ref\nC1,Ada,C2\n"
    )
    error = only_error(report)
    assert (error.line, error.column) == (1, "Account Ref")
    assert '"account_ref"' in error.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-a-zip", "Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", "Excel workbook (.xls)"),
        ("account_ref,name\r\nC1,Ada\r\n".encode("utf-32"), "UTF-32"),
        (b"account_ref,name\nC1,A\x00d\x00a\n", "binary data"),
        (b"account_ref,name\nC1,Ada \x81\x8d\n", "neither UTF-8 nor Windows-1252"),
        (b"account_ref,name\nC1,Ada\x07\n", "control character 0x07"),
        (b"\xef\xbb\xbfaccount_ref,name\nC1,Ad\xe9\n", "says it is UTF-8 but is not"),
    ],
)
def test_files_that_are_not_csv_text_are_refused(
    session_factory: Factory, tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    report = import_csv(session_factory, ImportKind.CUSTOMERS, path)
    assert not report.ok
    assert expected in report.errors[0].message
    assert report.errors[0].column == ""
    assert counts(session_factory)["contacts"] == 0


@pytest.mark.parametrize("text", ["", "\n\n  \n", ",,,\n"])
def test_an_empty_file_is_refused(session_factory: Factory, tmp_path: Path, text: str) -> None:
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert "the file is empty" in only_error(report).message


def test_missing_file_is_reported_not_raised(session_factory: Factory, tmp_path: Path) -> None:
    report = import_csv(session_factory, ImportKind.CUSTOMERS, tmp_path / "nope.csv")
    assert (only_error(report).line, only_error(report).column) == (0, "")
    assert "there is no file" in str(only_error(report))
    folder = import_csv(session_factory, ImportKind.CUSTOMERS, tmp_path)
    assert "is a folder" in only_error(folder).message


def test_tab_separated_file_is_read(session_factory: Factory, tmp_path: Path) -> None:
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref\tname\nC1\tAda\n")
    assert report.ok and report.added == 1


def test_blank_lines_are_skipped_but_still_numbered(
    session_factory: Factory, tmp_path: Path
) -> None:
    text = "account_ref,name\n\nC1,Ada\n,,\n\nC2,\n"
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert errors(report) == [(6, "name")]
    assert str(report.errors[0]) == 'line 6, column "name": is blank; it is required'


def test_line_numbers_count_rows_as_a_spreadsheet_does(
    session_factory: Factory, tmp_path: Path
) -> None:
    # A quoted value over two physical lines is still one row.
    text = 'account_ref,name,address_1\nC1,Ada,"Flat 1\nThe Mill"\nC2,,x\n'
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert errors(report) == [(3, "name")]


def test_excel_separator_hint_line(session_factory: Factory, tmp_path: Path) -> None:
    text = "sep=;\naccount_ref;name\nC1;Ada\nC2;\n"
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert errors(report) == [(3, "name")]  # Excel hides the hint: the header is row 1


def test_row_with_more_values_than_columns(session_factory: Factory, tmp_path: Path) -> None:
    # An unquoted amount with a thousands comma splits into two values.
    text = PAYMENT_HEADER + "PAY-1,2026-01-10,CUS0001,1,171.60,card,,INV-1,171.60\n"
    report = run(session_factory, ImportKind.PAYMENTS, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (2, "")
    assert "9 values but the header has 8 columns" in error.message


# --------------------------------------------------------------------- checking rows


def test_contact_rows_are_checked(session_factory: Factory, tmp_path: Path) -> None:
    text = (
        "account_ref,Name,email\n"
        "C1,Ada,ada@example.com\n"
        f"{'X' * 33},Too long a ref,\n"
        "C2,,\n"
        "C3,Bob,bob at example\n"
        "C1,Ada again,\n"
        f"C4,{'N' * 201},\n"
    )
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, text)
    assert errors(report) == [
        (3, "account_ref"),
        (4, "Name"),
        (5, "email"),
        (6, "account_ref"),
        (7, "Name"),
    ]
    messages = [str(e) for e in report.errors]
    assert messages[0] == (
        'line 3, column "account_ref": is 33 characters long; at most 32 are allowed'
    )
    assert messages[2] == 'line 5, column "email": "bob at example" is not an email address'
    assert messages[3] == (
        'line 6, column "account_ref": "C1" is also on line 2; each account_ref may appear '
        "only once in a file"
    )
    assert (report.added, report.updated, report.unchanged) == (0, 0, 0)
    assert counts(session_factory)["contacts"] == 0


def test_a_customer_ref_may_also_be_a_supplier_ref(
    session_factory: Factory, tmp_path: Path
) -> None:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref,name\nX1,Customer X\n")
    ok(session_factory, ImportKind.SUPPLIERS, tmp_path, "account_ref,name\nX1,Supplier X\n")
    assert contact(session_factory, "X1").name == "Customer X"
    assert contact(session_factory, "X1", ContactKind.SUPPLIER).name == "Supplier X"


BAD_INVOICE_CELLS = [
    ("Date", "31/02/2026", '"31/02/2026" is not a real date'),
    ("Date", "Jan 5 2026", '"Jan 5 2026" is not a date; write it as YYYY-MM-DD or DD/MM/YYYY'),
    ("Date", "05/01/26", "two-digit year"),
    ("Due Date", "2026-01-01", "the due date 2026-01-01 is before the invoice date 2026-01-05"),
    ("Customer Ref", "CUS9999", 'no customer has account_ref "CUS9999"; import it in'),
    ("Customer Ref", "cus0001", 'did you mean "CUS0001"?'),
    ("Customer Ref", "SUP001", '"SUP001" is a supplier'),
    ("Description", "", "is blank; it is required"),
    ("Description", "d" * 501, "is 501 characters long; at most 500 are allowed"),
    ("Quantity", "two", '"two" is not a number; write it like 1.5'),
    ("Quantity", "1.23456", '"1.23456" has more than 4 decimal places'),
    ("Unit Price", "£12.34567", "has more than 4 decimal places"),
    ("Unit Price", "12,50", "use a full stop before the decimals"),
    ("Nominal Code", "BANK", '"BANK" is a bank account; invoice lines need a sales account'),
    ("Nominal Code", "NOPE", '"NOPE" is not one of our nominal accounts; use SALES, SALES-LAB'),
    ("VAT Rate", "twenty", '"twenty" is not a percentage; use 20, 5 or 0'),
    ("VAT Rate", "17.5", '"17.5" is not a UK VAT rate; use 20, 5 or 0'),
    ("VAT Amount", "12.345", '"12.345" has more than 2 decimal places'),
    ("VAT Amount", "2.50", "is not the VAT on this line: £65.00 at 20% is £13.00"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_INVOICE_CELLS)
def test_each_bad_invoice_value_is_reported_with_line_and_column(
    with_invoices: Factory, tmp_path: Path, column: str, value: str, message: str
) -> None:
    header = [
        "Number",
        "Date",
        "Due Date",
        "Customer Ref",
        "Description",
        "Quantity",
        "Unit Price",
        "Nominal Code",
        "VAT Rate",
        "VAT Amount",
    ]
    good = {
        "Number": "INV-3",
        "Date": "2026-01-05",
        "Due Date": "2026-02-04",
        "Customer Ref": "CUS0001",
        "Description": "Call-out charge",
        "Quantity": "1",
        "Unit Price": "65.00",
        "Nominal Code": "SALES",
        "VAT Rate": "20",
        "VAT Amount": "13.00",
    }
    if column in ("Quantity", "Unit Price", "VAT Rate"):
        good["VAT Amount"] = ""  # so the VAT check does not follow from the bad value
    bad = {**good, "Number": "INV-4", column: value}
    before = counts(with_invoices)
    text = ",".join(header) + "\n"
    text += ",".join(good[c] for c in header) + "\n"
    text += ",".join(f'"{bad[c]}"' for c in header) + "\n"
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (3, column)
    assert message in error.message
    assert str(error).startswith(f'line 3, column "{column}": ')
    assert counts(with_invoices) == before  # the good row was not imported either


def test_the_documented_error_format(with_invoices: Factory, tmp_path: Path) -> None:
    rows = "".join(
        f"INV-{n},2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n" for n in range(10, 22)
    )
    rows += "INV-30,2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,twenty,\n"
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, INVOICE_HEADER + rows)
    assert [str(e) for e in report.errors] == [
        'line 14, column "vat_rate": "twenty" is not a percentage; use 20, 5 or 0'
    ]


def test_vat_amount_blank_is_computed_and_within_a_penny_is_kept(
    with_invoices: Factory, tmp_path: Path
) -> None:
    text = INVOICE_HEADER + (
        # 1.5 × 42.125 = 63.1875 → 63.19 net; 20% → 12.638 → 12.64
        "INV-5,2026-01-05,,CUS0001,,Labour,1.5,42.125,SALES-LAB,20,\n"
        # 5% of 99.99 = 4.9995 → 5.00; the job system said 4.99 (1p out): kept as given
        "INV-5,2026-01-05,,CUS0001,,Boiler,1,99.99,SALES-MAT,5%,4.99\n"
        "INV-5,2026-01-05,,CUS0001,,Heat pump,1,5000,SALES-MAT,0,0.00\n"
    )
    ok(with_invoices, ImportKind.INVOICES, tmp_path, text)
    lines = document(with_invoices, "INV-5").lines
    assert [line.vat_amount for line in lines] == [
        Decimal("12.64"),
        Decimal("4.99"),
        Decimal("0.00"),
    ]
    assert [line.vat_rate for line in lines] == [Decimal(20), Decimal(5), Decimal(0)]
    assert [line.nominal_account.code for line in lines] == ["SALES-LAB", "SALES-MAT", "SALES-MAT"]


def test_a_document_cannot_total_below_zero(with_invoices: Factory, tmp_path: Path) -> None:
    text = INVOICE_HEADER + (
        "INV-6,2026-01-05,,CUS0001,,Boiler,1,100,SALES-MAT,20,\n"
        "INV-6,2026-01-05,,CUS0001,,Discount,1,-20,SALES,20,\n"
        "INV-7,2026-01-05,,CUS0001,,Refund,1,-20,SALES,20,\n"
    )
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (4, "")
    assert "invoice INV-7 totals -£24.00; an invoice cannot total less" in error.message


def test_nothing_is_written_when_any_row_is_bad(with_invoices: Factory, tmp_path: Path) -> None:
    before = counts(with_invoices)
    rows = "".join(
        f"INV-{n},2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n" for n in range(100, 150)
    )
    rows += "INV-999,2026-01-05,,CUS0001,,Labour,one,52,SALES-LAB,20,\n"
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, INVOICE_HEADER + rows)
    assert errors(report) == [(52, "quantity")]
    assert (report.added, report.updated, report.unchanged) == (0, 0, 0)
    assert counts(with_invoices) == before


def test_every_problem_is_reported_not_just_the_first(
    with_invoices: Factory, tmp_path: Path
) -> None:
    text = INVOICE_HEADER + (
        "INV-7,2026-13-01,,CUS0001,,Labour,x,52,SALES-LAB,20,\n"
        "INV-8,2026-01-05,,NOBODY,,,1,52,SALES-LAB,3,\n"
    )
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, text)
    assert errors(report) == [
        (2, "date"),
        (2, "quantity"),
        (3, "description"),
        (3, "vat_rate"),
        (3, "customer_ref"),
    ]


# ------------------------------------------------------------- grouping document rows


def test_rows_with_one_number_form_one_invoice(with_invoices: Factory) -> None:
    invoice = document(with_invoices, "INV-1")
    assert [line.line_no for line in invoice.lines] == [1, 2]
    assert [line.description for line in invoice.lines] == ["Call-out charge", "Labour"]
    assert invoice.lines[1].quantity == Decimal("1.5")
    assert invoice.gross_total == Decimal("171.60")
    assert invoice.due_date is not None and invoice.due_date.isoformat() == "2026-02-04"
    assert invoice.reference == "Job 1"
    second = document(with_invoices, "INV-2")
    assert second.date.isoformat() == "2026-01-06"  # DD/MM/YYYY
    assert second.due_date is None
    assert second.gross_total == Decimal("120.00")


@pytest.mark.parametrize(
    ("column", "first", "second"),
    [
        ("date", "2026-01-05", "2026-01-06"),
        ("customer_ref", "CUS0001", "CUS0002"),
        ("reference", "Job 1", "Job 2"),
        ("due_date", "2026-02-04", ""),
    ],
)
def test_rows_of_one_invoice_must_agree_on_document_columns(
    with_invoices: Factory, tmp_path: Path, column: str, first: str, second: str
) -> None:
    good = {"date": "2026-01-05", "due_date": "2026-02-04", "customer_ref": "CUS0001"}
    good["reference"] = "Job 1"
    rows = []
    for value in (first, second):
        cells = {**good, column: value}
        rows.append(
            f"INV-7,{cells['date']},{cells['due_date']},{cells['customer_ref']},"
            f"{cells['reference']},Labour,1,52,SALES-LAB,20,\n"
        )
    before = counts(with_invoices)
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, INVOICE_HEADER + "".join(rows))
    error = only_error(report)
    assert (error.line, error.column) == (3, column)
    assert f'does not match "{first}" on line 2' in error.message
    assert "every line of invoice INV-7 must have the same" in error.message
    assert counts(with_invoices) == before


def test_same_date_written_two_ways_agrees(with_invoices: Factory, tmp_path: Path) -> None:
    text = INVOICE_HEADER + (
        "INV-7,2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n"
        "INV-7,05/01/2026,,CUS0001,,Pipe,1,5,SALES-MAT,20,\n"
    )
    ok(with_invoices, ImportKind.INVOICES, tmp_path, text)
    assert len(document(with_invoices, "INV-7").lines) == 2


def test_a_number_used_again_further_down_is_a_duplicate(
    with_invoices: Factory, tmp_path: Path
) -> None:
    text = INVOICE_HEADER + (
        "INV-7,2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n"
        "INV-8,2026-01-05,,CUS0002,,Labour,1,52,SALES-LAB,20,\n"
        "INV-7,2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n"
        "INV-7,2026-01-05,,CUS0001,,Pipe,1,5,SALES-MAT,20,\n"
        "INV-9,2026-01-05,,CUS0002,,Labour,1,52,SALES-LAB,20,\n"
        "INV-7,2026-01-05,,CUS0001,,Labour,1,52,SALES-LAB,20,\n"
    )
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, text)
    assert errors(report) == [(4, "number"), (7, "number")]
    assert 'invoice "INV-7" already appeared above, from line 2' in report.errors[0].message


# ---------------------------------------------------------------------- credit notes

CREDIT_HEADER = (
    "number,date,customer_ref,reference,original_invoice,description,quantity,unit_price,"
    "nominal_code,vat_rate,vat_amount\n"
)


def test_credit_notes_import_against_their_invoice(with_invoices: Factory, tmp_path: Path) -> None:
    text = CREDIT_HEADER + "CN-1,2026-01-10,CUS0001,Goodwill,INV-1,Call-out waived,1,65,SALES,20,\n"
    report = ok(with_invoices, ImportKind.CREDIT_NOTES, tmp_path, text)
    assert report.added == 1
    note = document(with_invoices, "CN-1", DocumentKind.CREDIT_NOTE)
    assert note.original_invoice_number == "INV-1"
    assert note.gross_total == Decimal("78.00")
    assert note.due_date is None


@pytest.mark.parametrize(
    ("original", "customer", "price", "message"),
    [
        ("INV-99", "CUS0001", "65", 'no invoice "INV-99" has been imported'),
        ("CN-0", "CUS0001", "65", 'no invoice "CN-0" has been imported'),
        ("INV-2", "CUS0001", "65", "invoice INV-2 is for CUS0002, not CUS0001"),
        (
            "INV-1",
            "CUS0001",
            "143.01",
            "credit note CN-1 totals £171.61, but invoice INV-1 is £171.60 and £0.00 of it "
            "is already credited",
        ),
    ],
)
def test_credit_note_original_invoice_is_checked(
    with_invoices: Factory, tmp_path: Path, original: str, customer: str, price: str, message: str
) -> None:
    before = counts(with_invoices)
    text = CREDIT_HEADER + f"CN-1,2026-01-10,{customer},,{original},Credit,1,{price},SALES,20,\n"
    report = run(with_invoices, ImportKind.CREDIT_NOTES, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (2, "original_invoice")
    assert message in error.message
    assert counts(with_invoices) == before


def test_credit_notes_together_cannot_exceed_the_invoice(
    with_invoices: Factory, tmp_path: Path
) -> None:
    ok(
        with_invoices,
        ImportKind.CREDIT_NOTES,
        tmp_path,
        CREDIT_HEADER + "CN-1,2026-01-10,CUS0001,,INV-1,Call-out,1,65,SALES,20,\n",
    )
    text = CREDIT_HEADER + (
        "CN-1,2026-01-10,CUS0001,,INV-1,Call-out,1,65,SALES,20,\n"
        "CN-2,2026-01-11,CUS0001,,INV-1,Labour,1.5,52,SALES-LAB,20,\n"
        "CN-3,2026-01-12,CUS0001,,INV-1,Labour,0.01,1,SALES-LAB,20,\n"
    )
    report = run(with_invoices, ImportKind.CREDIT_NOTES, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (4, "original_invoice")
    assert "£171.60 of it is already credited" in error.message


# -------------------------------------------------------------------------- payments


def test_payments_with_several_allocations(with_invoices: Factory, tmp_path: Path) -> None:
    ok(
        with_invoices,
        ImportKind.CUSTOMERS,
        tmp_path,
        "account_ref,name\nCUS0002,J. Patel\n",
    )
    more = INVOICE_HEADER + "INV-3,2026-01-07,,CUS0002,,Tap,1,50,SALES-MAT,20,\n"
    ok(with_invoices, ImportKind.INVOICES, tmp_path, more)
    text = PAYMENT_HEADER + (
        'PAY-1,2026-01-20,CUS0002,"£180.00",Bank Transfer,,INV-2,120.00\n'
        'PAY-1,2026-01-20,CUS0002,"£180.00",Bank Transfer,BANK,INV-3,60.00\n'
        "PAY-2,20/01/2026,CUS0001,100,card,,INV-1,100\n"
    )
    report = ok(with_invoices, ImportKind.PAYMENTS, tmp_path, text)
    assert report.added == 2
    first = payment(with_invoices, "PAY-1")
    assert first.amount == Decimal("180.00")
    assert first.method is PaymentMethod.BANK_TRANSFER
    assert first.bank_account.code == "BANK"
    assert [(a.document.number, a.amount) for a in first.allocations] == [
        ("INV-2", Decimal("120.00")),
        ("INV-3", Decimal("60.00")),
    ]
    assert payment(with_invoices, "PAY-2").method is PaymentMethod.CARD


def test_allocations_must_add_up_to_the_payment(with_invoices: Factory, tmp_path: Path) -> None:
    text = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,100.00,card,,INV-1,60.00\n"
        "PAY-1,2026-01-20,CUS0001,100.00,card,,INV-2,30.00\n"
    )
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, text)
    assert errors(report) == [(2, "amount"), (3, "invoice_number")]
    assert report.errors[0].message == (
        "payment PAY-1 is £100.00 but the amounts in its allocated column add up to £90.00; "
        "they must be equal"
    )
    assert report.errors[1].message == "invoice INV-2 is for CUS0002, not CUS0001"
    assert counts(with_invoices)["payments"] == 0


def test_payment_cannot_take_an_invoice_above_its_total(
    with_invoices: Factory, tmp_path: Path
) -> None:
    ok(
        with_invoices,
        ImportKind.PAYMENTS,
        tmp_path,
        PAYMENT_HEADER + "PAY-1,2026-01-20,CUS0001,100.00,card,,INV-1,100.00\n",
    )
    text = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,100.00,card,,INV-1,100.00\n"  # itself, unchanged
        "PAY-2,2026-01-25,CUS0001,50.00,cash,,INV-1,50.00\n"  # 150.00 of 171.60: fine
        "PAY-3,2026-01-26,CUS0001,30.00,cheque,,INV-1,30.00\n"  # 180.00: too much
    )
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, text)
    error = only_error(report)
    assert (error.line, error.column) == (4, "allocated")
    assert error.message == (
        "£30.00 would take invoice INV-1 above its total: it is £171.60, £150.00 of it is "
        "already paid or credited, so at most £21.60 can be set against it"
    )
    assert counts(with_invoices)["payments"] == 1


def test_credit_notes_reduce_what_a_payment_may_take(
    with_invoices: Factory, tmp_path: Path
) -> None:
    ok(
        with_invoices,
        ImportKind.CREDIT_NOTES,
        tmp_path,
        CREDIT_HEADER + "CN-1,2026-01-10,CUS0002,,INV-2,Part refund,1,20,SALES-MAT,20,\n",
    )
    too_much = PAYMENT_HEADER + "PAY-1,2026-01-20,CUS0002,120.00,card,,INV-2,120.00\n"
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, too_much)
    assert errors(report) == [(2, "allocated")]
    assert "£24.00 of it is already paid or credited" in report.errors[0].message
    exact = PAYMENT_HEADER + "PAY-1,2026-01-20,CUS0002,96.00,card,,INV-2,96.00\n"
    assert ok(with_invoices, ImportKind.PAYMENTS, tmp_path, exact).added == 1


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (
            "PAY-1,2026-01-20,CUS9,10,card,,INV-1,10",
            "customer_ref",
            'no customer has account_ref "CUS9"',
        ),
        ("PAY-1,2026-01-20,SUP001,10,card,,INV-1,10", "customer_ref", '"SUP001" is a supplier'),
        ("PAY-1,2026-01-20,CUS0001,10,card,,INV-404,10", "invoice_number", 'no invoice "INV-404"'),
        (
            "PAY-1,2026-01-20,CUS0001,10,paypal,,INV-1,10",
            "method",
            '"paypal" is not a payment method',
        ),
        (
            "PAY-1,2026-01-20,CUS0001,10,card,SALES,INV-1,10",
            "bank_code",
            "payments need a bank account: BANK",
        ),
        ("PAY-1,2026-01-20,CUS0001,0,card,,INV-1,0", "amount", '"0" must be more than 0'),
        (
            "PAY-1,2026-01-20,CUS0001,10,card,,INV-1,10.001",
            "allocated",
            "more than 2 decimal places",
        ),
        ("PAY-1,,CUS0001,10,card,,INV-1,10", "date", "is blank; it is required"),
        (f"PAY-{'9' * 40},2026-01-20,CUS0001,10,card,,INV-1,10", "reference", "at most 32"),
    ],
)
def test_bad_payment_rows(
    with_invoices: Factory, tmp_path: Path, row: str, column: str, message: str
) -> None:
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, PAYMENT_HEADER + row + "\n")
    assert errors(report)[0] == (2, column)
    assert message in report.errors[0].message
    assert counts(with_invoices)["payments"] == 0


def test_payment_to_a_credit_note_or_twice_to_one_invoice(
    with_invoices: Factory, tmp_path: Path
) -> None:
    ok(
        with_invoices,
        ImportKind.CREDIT_NOTES,
        tmp_path,
        CREDIT_HEADER + "CN-1,2026-01-10,CUS0001,,INV-1,Call-out,1,65,SALES,20,\n",
    )
    text = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,20,card,,CN-1,20\n"
        "PAY-2,2026-01-20,CUS0001,20,card,,INV-1,10\n"
        "PAY-2,2026-01-20,CUS0001,20,card,,INV-1,10\n"
    )
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, text)
    assert errors(report) == [(2, "invoice_number"), (4, "invoice_number")]
    assert report.errors[0].message == "CN-1 is a credit note; payments are set against invoices"
    assert "already on line 3 of payment PAY-2" in report.errors[1].message


def test_payment_rows_must_agree(with_invoices: Factory, tmp_path: Path) -> None:
    more = INVOICE_HEADER + "INV-3,2026-01-07,,CUS0001,,Tap,1,50,SALES-MAT,20,\n"
    ok(with_invoices, ImportKind.INVOICES, tmp_path, more)
    text = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,20,card,,INV-1,10\nPAY-1,2026-01-20,CUS0001,20,cash,,INV-3,10\n"
    )
    report = run(with_invoices, ImportKind.PAYMENTS, tmp_path, text)
    assert errors(report) == [(3, "method")]
    assert 'does not match "card" on line 2' in report.errors[0].message


# ---------------------------------------------------------------------- dry run


def test_dry_run_counts_but_writes_nothing(with_invoices: Factory, tmp_path: Path) -> None:
    before = counts(with_invoices)
    text = INVOICES + "INV-3,2026-01-07,,CUS0003,,Tap,1,50,SALES-MAT,20,\n"
    text = text.replace("Call-out charge", "Call-out")
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, text, dry_run=True)
    assert report.ok and report.dry_run
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    assert counts(with_invoices) == before  # no records and no audit event
    assert document(with_invoices, "INV-1").lines[0].description == "Call-out charge"
    assert "would be added" in report.describe()


# ------------------------------------------------------------------------ re-import


def test_reimport_adds_new_updates_unsent_and_leaves_sent_alone(
    session_factory: Factory, tmp_path: Path
) -> None:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    sent = contact(session_factory, "CUS0001")
    mark_sent(session_factory, RecordType.CUSTOMER, sent.id, SendState.SUCCESSFUL)
    waiting = contact(session_factory, "CUS0002")
    mark_sent(session_factory, RecordType.CUSTOMER, waiting.id, SendState.WAITING)
    changed = (
        CUSTOMERS.replace("Ada Boiler Ltd", "Ada Boilers Limited")
        .replace("2 Mill Lane", "22 Mill Lane")
        .replace("LE1 1AA", "LE1 9ZZ")
        + "CUS0004,New Customer,,,,,,\n"
    )
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, changed)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    assert [(n.line, n.key) for n in report.already_sent] == [(2, "CUS0001")]
    assert report.already_sent[0].message == (
        "already sent — change it by hand in your package (the file changes name, postcode)"
    )
    assert contact(session_factory, "CUS0001").name == "Ada Boiler Ltd"
    assert contact(session_factory, "CUS0001").updated_at == sent.updated_at
    assert contact(session_factory, "CUS0002").address_1 == "22 Mill Lane"
    assert contact(session_factory, "CUS0004").name == "New Customer"
    assert report.to_json()["already_sent"] == [
        {"line": 2, "key": "CUS0001", "message": report.already_sent[0].message}
    ]


@pytest.mark.parametrize("state", sorted(SendState))
def test_which_send_states_count_as_sent(
    session_factory: Factory, tmp_path: Path, state: SendState
) -> None:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref,name\nC1,Ada\n")
    mark_sent(session_factory, RecordType.CUSTOMER, contact(session_factory, "C1").id, state)
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref,name\nC1,Ada B\n")
    if state in SENT_STATES:
        assert (report.updated, len(report.already_sent)) == (0, 1)
        assert contact(session_factory, "C1").name == "Ada"
    else:
        assert (report.updated, len(report.already_sent)) == (1, 0)
        assert contact(session_factory, "C1").name == "Ada B"


def test_sent_record_with_the_same_values_is_unchanged(
    session_factory: Factory, tmp_path: Path
) -> None:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    for ref in ("CUS0001", "CUS0002", "CUS0003"):
        mark_sent(
            session_factory,
            RecordType.CUSTOMER,
            contact(session_factory, ref).id,
            SendState.ENTERED_MANUALLY,
        )
    report = ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    assert (report.added, report.updated, report.unchanged, report.already_sent) == (0, 0, 3, [])


def test_a_column_left_out_keeps_its_stored_values(
    session_factory: Factory, tmp_path: Path
) -> None:
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, CUSTOMERS)
    report = ok(
        session_factory,
        ImportKind.CUSTOMERS,
        tmp_path,
        "account_ref,name,phone\nCUS0001,Ada Boiler Ltd,\n",
    )
    assert report.updated == 1
    ada = contact(session_factory, "CUS0001")
    assert ada.phone == ""  # in the file, blank: cleared
    assert ada.email == "ada@example.com"  # not in the file: kept


def test_only_outbox_rows_of_the_same_record_type_count(
    session_factory: Factory, tmp_path: Path
) -> None:
    ok(session_factory, ImportKind.SUPPLIERS, tmp_path, "account_ref,name\nS1,Merchant\n")
    supplier = contact(session_factory, "S1", ContactKind.SUPPLIER)
    # A customer and an invoice that happen to share the supplier's id have been sent.
    mark_sent(session_factory, RecordType.CUSTOMER, supplier.id, SendState.SUCCESSFUL)
    mark_sent(session_factory, RecordType.INVOICE, supplier.id, SendState.SUCCESSFUL)
    report = ok(session_factory, ImportKind.SUPPLIERS, tmp_path, "account_ref,name\nS1,M2\n")
    assert (report.updated, report.already_sent) == (1, [])
    assert contact(session_factory, "S1", ContactKind.SUPPLIER).name == "M2"


def test_reimport_of_invoices_replaces_lines_of_unsent_only(
    with_invoices: Factory, tmp_path: Path
) -> None:
    sent = document(with_invoices, "INV-2")
    mark_sent(with_invoices, RecordType.INVOICE, sent.id, SendState.UNCERTAIN)
    changed = INVOICE_HEADER + (
        "INV-1,2026-01-05,2026-02-04,CUS0001,Job 1,Call-out charge,1,65.00,SALES,20,13.00\n"
        "INV-1,2026-01-05,2026-02-04,CUS0001,Job 1,Labour,2,52,SALES-LAB,20,\n"
        "INV-1,2026-01-05,2026-02-04,CUS0001,Job 1,Pipe,3.5,4.875,SALES-MAT,20,\n"
        "INV-2,06/01/2026,,CUS0002,,Radiator,1,110,SALES-MAT,20,\n"
        "INV-3,2026-01-08,,CUS0003,,Service,1,85,,20,\n"
    )
    before = counts(with_invoices)
    report = ok(with_invoices, ImportKind.INVOICES, tmp_path, changed)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 0)
    assert [(n.line, n.key) for n in report.already_sent] == [(5, "INV-2")]
    assert "(the file changes lines)" in report.already_sent[0].message
    first = document(with_invoices, "INV-1")
    assert [line.description for line in first.lines] == ["Call-out charge", "Labour", "Pipe"]
    assert [line.line_no for line in first.lines] == [1, 2, 3]
    assert first.lines[2].net_amount == Decimal("17.06")  # 3.5 × 4.875 = 17.0625
    assert document(with_invoices, "INV-2").gross_total == Decimal("120.00")
    after = counts(with_invoices)
    assert after["documents"] == before["documents"] + 1
    assert after["lines"] == before["lines"] + 1 + 1  # INV-1 gained one, INV-3 has one


def test_changed_invoice_keeps_its_payments(with_invoices: Factory, tmp_path: Path) -> None:
    ok(
        with_invoices,
        ImportKind.PAYMENTS,
        tmp_path,
        PAYMENT_HEADER + "PAY-1,2026-01-20,CUS0002,100,card,,INV-2,100\n",
    )
    cheaper = INVOICE_HEADER + "INV-2,06/01/2026,,CUS0002,,Radiator,1,50,SALES-MAT,20,\n"
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, cheaper)
    assert "would total £60.00, but £100.00 has already been paid" in only_error(report).message
    moved = INVOICE_HEADER + "INV-2,06/01/2026,,CUS0003,,Radiator,1,100,SALES-MAT,20,\n"
    report = run(with_invoices, ImportKind.INVOICES, tmp_path, moved)
    error = only_error(report)
    assert (error.line, error.column) == (2, "customer_ref")
    assert "already has payments or credit notes from CUS0002" in error.message


def test_reimport_of_payments(with_invoices: Factory, tmp_path: Path) -> None:
    first = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,100,card,,INV-1,100\n"
        "PAY-2,2026-01-21,CUS0002,120,cheque,,INV-2,120\n"
    )
    ok(with_invoices, ImportKind.PAYMENTS, tmp_path, first)
    mark_sent(
        with_invoices, RecordType.PAYMENT, payment(with_invoices, "PAY-2").id, SendState.SUCCESSFUL
    )
    again = PAYMENT_HEADER + (
        "PAY-1,2026-01-20,CUS0001,171.60,card,,INV-1,171.60\n"
        "PAY-2,2026-01-22,CUS0002,120,cheque,,INV-2,120\n"
    )
    report = ok(with_invoices, ImportKind.PAYMENTS, tmp_path, again)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    assert [(n.line, n.key) for n in report.already_sent] == [(3, "PAY-2")]
    assert "(the file changes date)" in report.already_sent[0].message
    assert payment(with_invoices, "PAY-1").allocations[0].amount == Decimal("171.60")
    assert payment(with_invoices, "PAY-2").date.isoformat() == "2026-01-21"
    assert counts(with_invoices)["allocations"] == 2


# ------------------------------------------------------------------------ the audit


def test_one_audit_event_per_real_import(session_factory: Factory, tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOMERS, "customers.csv")
    import_csv(session_factory, ImportKind.CUSTOMERS, path, dry_run=True)
    import_csv(session_factory, ImportKind.CUSTOMERS, write(tmp_path, "account_ref,name\nC,\n"))
    assert counts(session_factory)["audit"] == 0
    import_csv(session_factory, ImportKind.CUSTOMERS, path, actor="window")
    with session_factory() as session:
        event_row = session.scalars(select(AuditEvent)).one()
    assert (event_row.actor, event_row.action, event_row.record_type) == (
        "window",
        "import",
        "customer",
    )
    assert json.loads(event_row.detail) == {
        "file": "customers.csv",
        "kind": "customers",
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "already_sent": 0,
    }


def test_report_json_has_the_documented_keys(session_factory: Factory, tmp_path: Path) -> None:
    report = run(session_factory, ImportKind.CUSTOMERS, tmp_path, "account_ref,name,x\nC1,\n")
    data = report.to_json()
    assert set(data) == {
        "kind",
        "file",
        "dry_run",
        "ok",
        "added",
        "updated",
        "unchanged",
        "already_sent",
        "errors",
        "ignored_columns",
    }
    assert data["ok"] is False
    assert data["errors"] == [{"line": 2, "column": "name", "message": "is blank; it is required"}]
    json.dumps(data)  # JSON-ready as it is


# ------------------------------------------------------------------------ speed


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_queries_do_not_grow_with_rows(
    session_factory: Factory, tmp_path: Path, statements: list[str]
) -> None:
    """Look-ups are made in bulk: a few queries per 500 keys, never one per row."""
    rows = 1200
    customers = "account_ref,name\n" + "".join(f"C{i},Customer {i}\n" for i in range(rows))
    ok(session_factory, ImportKind.CUSTOMERS, tmp_path, customers)
    invoices = INVOICE_HEADER + "".join(
        f"INV-{i},2026-01-05,,C{i},,Labour,1,52,SALES-LAB,20,\n"
        f"INV-{i},2026-01-05,,C{i},,Pipe,2,4.875,SALES-MAT,20,\n"
        for i in range(rows)
    )
    statements.clear()
    ok(session_factory, ImportKind.INVOICES, tmp_path, invoices)
    assert len(statements) < 40, statements
    payments = PAYMENT_HEADER + "".join(
        f"PAY-{i},2026-01-20,C{i},72.10,card,,INV-{i},72.10\n" for i in range(rows)
    )
    statements.clear()
    ok(session_factory, ImportKind.PAYMENTS, tmp_path, payments)
    assert len(statements) < 40, statements
    statements.clear()
    assert ok(session_factory, ImportKind.INVOICES, tmp_path, invoices).unchanged == rows
    assert len(statements) < 40, statements
