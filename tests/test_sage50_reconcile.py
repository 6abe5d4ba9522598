"""Reconciling against Sage 50's own exports, read as Sage writes them (Windows-1252, CRLF,
a field quoted when it holds a comma), through the project's CSV reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Link, OutboxEntry, Sage50Export, SendState
from app.services.sage50.reconcile import reconcile
from app.services.sage50.reports import (
    ReportError,
    ReportKind,
    parse_nominal_text,
    read_nominal_file,
    read_report,
)
from connectors.contract import AccountType, ContactRole
from tests.sage50_fixtures import SageRig, build_sage_rig


def sage_csv(path: Path, *lines: str) -> Path:
    """A file as Sage 50 writes its CSV reports."""
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode("cp1252"))
    return path


BLANKS = "," * 19  # columns I..AB after the contact name, as Sage leaves them


@pytest.fixture
def rig(tmp_path: Path) -> SageRig:
    built = build_sage_rig(tmp_path)
    built.send()
    return built


def exports(tmp_path: Path) -> tuple[Path, Path, Path]:
    customers = sage_csv(
        tmp_path / "CUSTOMER.CSV",
        f"C1,Ada Boilers Ltd,1 Mill Lane,,Leicester,,LE1 1AA,{BLANKS}",
        f'C2,Ben Pipes & Sons,"2 Mill Lane, Rear",,Leicester,,LE1 1AB,{BLANKS}',
        f"OLD01,Café Rouge Ltd,£ Street,,Derby,,DE1 1AA,{BLANKS}",
    )
    suppliers = sage_csv(
        tmp_path / "SUPPLIER.CSV", f"S1,Midland Plumbers Merchants,,,Leicester,,,{BLANKS}"
    )
    transactions = sage_csv(
        tmp_path / "AUDIT.CSV",
        "SI,C1,4010,0,05/01/2026,INV-1,Boiler service,80.00,T1,16.00",
        "SI,C1,4020,0,05/01/2026,INV-1,Valve,25.00,T1,5.00",
        "SI,C2,4000,0,06/01/2026,INV-2,Call-out,60.00,T1,12.00",
        'SI,C3,4020,0,07/01/2026,INV-3,Heat pump install,"5,000.00",T0,0.00',
        "SI,C1,4020,0,08/01/2026,INV-4,Radiator,150.00,T1,30.00",
        "SI,C2,4010,0,09/01/2026,INV-5,Labour,63.00,T5,3.15",
        "SC,C1,4020,0,20/01/2026,CN-1,Radiator returned,150.00,T1,30.00",
        '"SR",C1,1200,0,25/01/2026,PAY-1,"Receipt PAY-1: pays INV-1 (126.00)",126.00,T9,0.00',
        "SA,C2,1200,0,26/01/2026,PAY-2,Receipt PAY-2,72.00,T9,0.00",
    )
    return customers, suppliers, transactions


def test_records_found_are_confirmed_and_missing_ones_listed(rig: SageRig, tmp_path: Path) -> None:
    customers, suppliers, transactions = exports(tmp_path)
    result = reconcile(
        rig.session_factory,
        [customers, transactions, suppliers],
        roles={suppliers: ContactRole.SUPPLIER},
        actor="test",
    )
    confirmed = {(f.record_type, f.reference) for f in result.confirmed}
    assert confirmed == {
        ("customer", "C1"),
        ("customer", "C2"),
        ("supplier", "S1"),
        *(("invoice", f"INV-{n}") for n in range(1, 6)),
        ("credit_note", "CN-1"),
        ("payment", "PAY-1"),
        ("payment", "PAY-2"),
    }
    missing = {(f.record_type, f.reference): f for f in result.missing}
    assert set(missing) == {("customer", "C3"), ("payment", "PAY-3")}
    assert missing[("customer", "C3")].file_name.endswith("-1-customer-records.csv")
    assert missing[("customer", "C3")].lines == "line 3"
    assert [f.detail for f in result.changed] == [
        "name is “Ben Pipes & Sons” in Sage, “Ben Pipes” here"
    ]
    assert result.refreshed == {"customers": 3, "suppliers": 1}
    assert not result.ok
    assert "import the file again" in result.describe()

    with rig.session_factory() as session:
        states = dict(session.execute(select(OutboxEntry.remote_id, OutboxEntry.state)).all())
        links = set(session.scalars(select(Link.remote_ref)))
        ledger = session.scalars(select(Sage50Export).where(Sage50Export.reference == "C1")).one()
    assert states["C1"] is SendState.SUCCESSFUL and states["C3"] is SendState.HANDED_OVER
    assert states["PAY-3"] is SendState.HANDED_OVER
    assert links == {"C1", "C2", "S1"}
    assert ledger.confirmed_at is not None
    # Sage's own list now feeds linking and the one-time import.
    with rig.connector() as connector:
        sage_customers = {c.ref: c for c in connector.iter_contacts(ContactRole.CUSTOMER)}
    assert sage_customers["OLD01"].name == "Café Rouge Ltd"
    assert sage_customers["C2"].address_1 == "2 Mill Lane, Rear"

    # Reconciling again changes nothing and confirms nothing twice.
    again = reconcile(rig.session_factory, [transactions], actor="test")
    assert again.confirmed == [] and {f.reference for f in again.missing} == {"PAY-3"}


def test_a_reference_sage_changed_is_reported(rig: SageRig, tmp_path: Path) -> None:
    with rig.session_factory.begin() as session:
        export = session.scalars(select(Sage50Export).where(Sage50Export.reference == "C3")).one()
        export.reference = "c3 x"  # as if written before Ledgerlink checked references
    customers = sage_csv(tmp_path / "c.csv", f"C3X,Cara Heating,,,,,,{BLANKS}")
    result = reconcile(
        rig.session_factory, [customers], roles={customers: ContactRole.CUSTOMER}, actor="t"
    )
    assert [f.detail for f in result.changed] == ["written as c3 x, Sage has C3X"]
    with rig.session_factory() as session:
        changed = session.scalars(select(Sage50Export).where(Sage50Export.sage_value != "")).one()
    assert changed.sage_value == "C3X"


def test_an_unreadable_export_changes_nothing(rig: SageRig, tmp_path: Path) -> None:
    customers, _, _ = exports(tmp_path)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"SI,C1,4010,0,05/01/2026,INV-1,Boiler service,eighty,T1,16.00\r\n")
    with pytest.raises(ReportError, match=r"broken.csv, line 1: Net Amount “eighty”"):
        reconcile(rig.session_factory, [customers, broken], actor="test")
    with rig.session_factory() as session:
        assert session.scalar(select(Link.id)) is None


def test_reports_as_sage_writes_them(tmp_path: Path) -> None:
    with_header = sage_csv(
        tmp_path / "t.csv",
        "Type,Account Reference,Nominal A/C Ref,Department Code,Date,Reference,Details,"
        "Net Amount,Tax Code,Tax Amount",
        'SI,C1,4000,0,05/01/2026,INV-1,"Boiler, gas",80.00,T1,16.00',
    )
    report = read_report(with_header)
    assert report.kind is ReportKind.TRANSACTIONS
    [row] = report.transactions
    assert (row.line, row.details, str(row.net)) == (2, "Boiler, gas", "80.00")

    nominal = sage_csv(tmp_path / "n.csv", "1200,Bank Current Account", "4000,Sales – Type A")
    read = read_report(nominal)
    assert read.kind is ReportKind.NOMINAL
    assert [(n.code, n.name, n.type) for n in read.nominals] == [
        ("1200", "Bank Current Account", AccountType.BANK),
        ("4000", "Sales – Type A", AccountType.SALES),
    ]

    utf8 = tmp_path / "u.csv"
    utf8.write_bytes(b"\xef\xbb\xbfC1,Ada Boilers Ltd\r\n")
    assert read_report(utf8).accounts[0].ref == "C1"

    # Empty columns at a row's end left out, and no line end after the last row: whole.
    trimmed = tmp_path / "r.csv"
    trimmed.write_bytes(b"C1,Ada Boilers Ltd\r\nC2,Ben Pipes")
    assert [a.ref for a in read_report(trimmed).accounts] == ["C1", "C2"]
    untaxed = tmp_path / "x.csv"
    untaxed.write_bytes(
        b"SI,C1,4000,0,05/01/2026,INV-1,Boiler,80.00\r\nSI,C2,4000,0,06/01/2026,INV-2,Call,60.00"
    )
    assert [t.reference for t in read_report(untaxed).transactions] == ["INV-1", "INV-2"]

    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReportError, match=r"e\.csv"):
        read_report(empty)


@pytest.mark.parametrize(
    ("saved", "read"),
    [
        (
            b"SI,C1,4000,0,05/01/2026,INV-1,Boiler,80.00,T1,16.00\r\n"
            b"SI,C2,4000,0,06/01/2026,INV-2,Call,60.00",
            ["INV-1", "INV-2"],
        ),
        (
            b"Type,Account Reference,Nominal A/C Ref,Department Code,Date,Reference,Details,"
            b"Net Amount,Tax Code,Tax Amount\r\nSI,C2,4000,0,06/01/2026,INV-2,Call,60.00",
            ["INV-2"],
        ),
        (b"C1,Ada Boilers Ltd", ["C1"]),
    ],
    ids=["only the earlier row taxed", "header then an untaxed row", "one account"],
)
def test_a_last_row_without_its_empty_columns_or_line_end_is_whole(
    tmp_path: Path, saved: bytes, read: list[str]
) -> None:
    """An export that leaves out a row's empty trailing columns and the last line end is
    read, not refused as cut short: Sage's line ends are not known (UNVERIFIED)."""
    export = tmp_path / "EXPORT.CSV"
    export.write_bytes(saved)
    report = read_report(export)
    found = [t.reference for t in report.transactions] or [a.ref for a in report.accounts]
    assert found == read
    assert all(t.tax == 0 for t in report.transactions if t.reference == "INV-2")


ROW = "SI,C2,4000,0,06/01/2026,INV-2,Call,60.00,T1,12.00\r\n"


@pytest.mark.parametrize(
    "header",
    [
        "Type,Acc Ref,N/C,Dept,Date,Ref,Details,Net,T/C,Tax",
        "Type,Account,Nom Code,Dept,Date,Ref,Details,Net,T/C,Tax",
        "Type,A/C,Nominal,Dept,Date,Ex.Ref,Description,Amount,T/C,VAT",
        "Tran Type,A/C Ref,Nominal Code,Department,Date,Reference,Narrative,Net Amount,,",
        "Type,,,,,,,,,",
    ],
)
def test_transaction_headings_in_other_words_are_read(tmp_path: Path, header: str) -> None:
    """Sage's own headings are not known (UNVERIFIED): a heading is refused only when it
    names a different column, never for lacking the words Ledgerlink would use."""
    export = tmp_path / "AUDIT.CSV"
    export.write_bytes(f"{header}\r\n{ROW}".encode())
    [row] = read_report(export).transactions
    assert (row.account, row.nominal, row.reference, str(row.net)) == (
        "C2",
        "4000",
        "INV-2",
        "60.00",
    )


@pytest.mark.parametrize(
    "header",
    ["Ref,Name", "Reference,Name", "Code,Name,Street", "A/C,Name,,,,,,Contact,Contact Telephone"],
)
def test_record_headings_in_other_words_are_read(tmp_path: Path, header: str) -> None:
    """A Record CSV headed "Ref" (a word another column's heading would hold too) or with
    a "Contact Telephone" heading is read, not refused as moved."""
    export = tmp_path / "CUSTOMER.CSV"
    export.write_bytes(f"{header}\r\nC1,Ada Boilers Ltd\r\n".encode())
    assert [(a.ref, a.name) for a in read_report(export).accounts] == [("C1", "Ada Boilers Ltd")]


@pytest.mark.parametrize(
    "header", ["N/C,Description", "Nominal Code,Nominal Name", "N/C,Name,Type"]
)
def test_nominal_headings_in_other_words_are_read(tmp_path: Path, header: str) -> None:
    listed = tmp_path / "NOMINAL.CSV"
    listed.write_bytes(f"{header}\r\n4000,Sales\r\n".encode())
    assert [(n.code, n.name) for n in read_nominal_file(listed)] == [("4000", "Sales")]


def test_a_last_line_shorter_than_the_even_rows_before_it_is_cut_short(tmp_path: Path) -> None:
    """Rows all of one length before it (an export writing every column): a last line
    with no line end and fewer columns was cut, even inside a column Ledgerlink reads."""
    export = tmp_path / "CUSTOMER.CSV"
    export.write_bytes(b"C1,Ada Boilers Ltd,1 Mill Lane\r\nC2,Ben Pipes,2 Mill Lane\r\nC3,Cara He")
    with pytest.raises(
        ReportError, match=r"line 3: .*\(2 columns, where the rows before it have 3"
    ):
        read_report(export)
    # Rows of varying length (empty end columns left out): the last is judged by what is read.
    export.write_bytes(b"C1,Ada Boilers Ltd,1 Mill Lane\r\nC2,Ben Pipes\r\nC3,Cara Heating")
    assert [a.ref for a in read_report(export).accounts] == ["C1", "C2", "C3"]


@pytest.mark.parametrize(
    ("saved", "said"),
    [
        (
            f"Type,Name,Nominal,Dept,Date,Ref,Details,Net,T/C,Tax\r\n{ROW}",
            "column B is headed “Name”, where Sage 50's Transaction CSV has Account Reference",
        ),
        (
            f"Type,Nominal,Account,Dept,Date,Ref,Details,Net,T/C,Tax\r\n{ROW}",
            "column B is headed “Nominal”, where Sage 50's Transaction CSV has Account Reference",
        ),
        (
            f"Type,Account,Nominal,Dept,Date,Ref,Details,Tax,T/C,Net\r\n{ROW}",
            "column H is headed “Tax”, where Sage 50's Transaction CSV has Net Amount",
        ),
        (
            "A/C,Contact Name,Address 1\r\nC1,Ada Boilers Ltd,1 Mill Lane\r\n",
            "column B is headed “Contact Name”, where Sage 50's Customer and Supplier "
            "Record CSV has Name",
        ),
        (
            "Acc Ref,Account Name,Street,Town,County,Post Code,,E-mail\r\n"
            "C1,Ada Boilers Ltd,1 Mill Lane,Leicester,,LE1 1AA,,ada@example.com\r\n",
            "column H is headed “E-mail”, where Sage 50's Customer and Supplier Record CSV "
            "has Contact Name",
        ),
    ],
    ids=["name over account", "nominal over account", "tax over net", "contact", "moved"],
)
def test_a_heading_naming_another_column_is_refused(tmp_path: Path, saved: str, said: str) -> None:
    """A column Ledgerlink reads headed with another known column's name: the columns were
    moved (in Excel), and reading on would take one for another."""
    export = tmp_path / "EXPORT.CSV"
    export.write_bytes(saved.encode())
    with pytest.raises(ReportError, match=re.escape(f"EXPORT.CSV, line 1: {said}")):
        read_report(export)


def test_a_pasted_nominal_list() -> None:
    pasted = "N/C\tName\n4000\tSales Type A\n1200  Bank Current Account\n5000, Materials\n"
    codes = parse_nominal_text(pasted)
    assert [(n.code, n.name, n.type) for n in codes] == [
        ("4000", "Sales Type A", AccountType.SALES),
        ("1200", "Bank Current Account", AccountType.BANK),
        ("5000", "Materials", AccountType.EXPENSE),
    ]
    with pytest.raises(ReportError, match="Line 2: “SALES” is not a Sage 50 nominal code"):
        parse_nominal_text("4000 Sales\nSALES Sales")


@pytest.mark.parametrize(
    "saved",
    [
        b"4000\tSales\r\n4001\tOther sales\r\n",
        b"N/C  Name\r\n4000  Sales\r\n4001  Other sales\r\n",
    ],
    ids=["tabs", "spaces"],
)
def test_a_nominal_list_file_separated_by_tabs_or_spaces_is_read(
    tmp_path: Path, saved: bytes
) -> None:
    """A list of codes saved to a file as pasted (tabs, or spaces, for the comma) is read
    as :func:`parse_nominal_text` reads it, though it is no CSV."""
    listed = tmp_path / "NOMINAL.TXT"
    listed.write_bytes(saved)
    assert [(n.code, n.name) for n in read_nominal_file(listed)] == [
        ("4000", "Sales"),
        ("4001", "Other sales"),
    ]


@pytest.mark.parametrize(
    ("saved", "said"),
    [
        (b"4000\tSales\r\nSALES\tSales\r\n", "NOMINAL.TXT, line 1: column A is headed"),
        (
            b"4000,Sales\r\n4001,Other sales\r\n4002",
            "NOMINAL.TXT, line 3: the file ends part-way through this line",
        ),
    ],
    ids=["neither", "csv cut short"],
)
def test_a_nominal_list_file_that_is_neither_is_refused_naming_it(
    tmp_path: Path, saved: bytes, said: str
) -> None:
    """Neither a nominal list export nor a list of codes: the CSV reading's refusal, which
    names the file; a CSV cut short is not read again as a pasted list."""
    listed = tmp_path / "NOMINAL.TXT"
    listed.write_bytes(saved)
    with pytest.raises(ReportError, match=re.escape(said)):
        read_nominal_file(listed)


def test_sage_record_exports_feed_the_one_time_import(tmp_path: Path) -> None:
    from app.services.importing.from_package import import_package_contacts
    from app.services.sage50.setup import save_accounts

    rig = build_sage_rig(tmp_path)
    export = sage_csv(
        tmp_path / "CUSTOMER.CSV",
        f'NEWCO1,Newco Heating Ltd,"Unit 9, Dock Road",,Hull,,HU1 1AA,{BLANKS}',
    )
    report = read_report(export, ContactRole.CUSTOMER)
    with rig.session_factory.begin() as session:
        save_accounts(session, ContactRole.CUSTOMER, report.accounts, actor="test")
    with rig.connector() as connector:
        imported = import_package_contacts(rig.session_factory, connector, actor="test")
    assert imported.total_added == 1 and not imported.skipped
    with rig.session_factory() as session:
        link = session.scalars(select(Link).where(Link.remote_ref == "NEWCO1")).one()
        assert link.contact.name == "Newco Heating Ltd"
        assert link.contact.address_1 == "Unit 9, Dock Road"


TRANSACTIONS = (
    "SI,C1,4010,0,05/01/2026,INV-1,Boiler service,80.00,T1,16.00\r\n"
    "SI,C1,4020,0,05/01/2026,INV-1,Valve,25.00,T1,5.00\r\n"
)
AGAIN = "export it from Sage 50 again and give Ledgerlink the file as Sage wrote it"


def _store(rig: SageRig) -> object:
    """Everything a reconciliation could change: states, links, ledger, settings."""
    with rig.session_factory() as session:
        entries = sorted(
            (e.id, e.state.value, e.remote_id or "") for e in session.scalars(select(OutboxEntry))
        )
        links = sorted(session.scalars(select(Link.remote_ref)))
        ledger = sorted(
            (e.id, str(e.confirmed_at), e.sage_value) for e in session.scalars(select(Sage50Export))
        )
    return entries, links, ledger, rig.settings()


@pytest.mark.parametrize(
    ("name", "saved", "said"),
    [
        (
            "AUDIT.TXT",
            b"\xff\xfe" + TRANSACTIONS.replace(",", "\t").encode("utf-16-le"),
            "AUDIT.TXT is saved as Unicode text (UTF-16), as Excel's “Unicode Text” saves it",
        ),
        (
            "AUDIT.CSV",
            TRANSACTIONS.encode("utf-16-le"),
            "AUDIT.CSV is saved as Unicode text (UTF-16), as Excel's “Unicode Text” saves it",
        ),
        (
            "AUDIT.CSV",
            (TRANSACTIONS + 'SI,C2,4000,0,06/01/2026,INV-2,"Call-out,60.00,T1,12.00\r\n').encode(),
            'AUDIT.CSV, line 3: this value opens a quote (") that is never closed',
        ),
        (
            "AUDIT.CSV",
            b"Account Reference,Type,Nominal A/C Ref,Department Code,Date,Reference,Details,"
            b"Net Amount,Tax Code,Tax Amount\r\nC1,SI,4010,0,05/01/2026,INV-1,Boiler,80.00,T1,"
            b"16.00\r\n",
            "AUDIT.CSV, line 1: column B is headed “Type”, where Sage 50's Customer and "
            "Supplier Record CSV has Name",
        ),
        (
            "CUSTOMER.CSV",
            f"Name,A/C,Street\r\nAda Boilers Ltd,C1,1 Mill Lane{BLANKS}\r\n".encode(),
            "CUSTOMER.CSV, line 1: column A is headed “Name”, which no Sage 50 report "
            "Ledgerlink reads begins with",
        ),
        (
            "AUDIT.CSV",
            (TRANSACTIONS + "SI,C2,4000,0,06/01/2026,INV-2,Call").encode(),
            "AUDIT.CSV, line 3: the file ends part-way through this line (7 columns, where the "
            "rows before it have 10, and no line end)",
        ),
        (
            "AUDIT.CSV",
            b"\xef\xbb\xbf" + (TRANSACTIONS + "SI,C2,4000,0,06/01/2026,INV-2,Call-o").encode(),
            "AUDIT.CSV, line 3: the file ends part-way through this line (7 of the 8 columns "
            "Ledgerlink reads from it, and no line end)",
        ),
        (
            "CUSTOMER.CSV",
            f"C1,Ada Boilers Ltd,,,,,,{BLANKS}\r\nC2,Ben Pipes,,,,,,{BLANKS}\r\nC3".encode(),
            "CUSTOMER.CSV, line 3: the file ends part-way through this line (1 column, where "
            "the rows before it have 27, and no line end)",
        ),
        (
            "CUSTOMER.CSV",
            f'C1,Ada Boilers Ltd,,,,,,{BLANKS}\r\nC2,"Ben Pipes, Ltd'.encode(),
            'CUSTOMER.CSV, line 2: this value opens a quote (") that is never closed',
        ),
    ],
    ids=[
        "utf-16",
        "utf-16 without its mark",
        "broken quote",
        "columns moved under a header",
        "unknown header",
        "cut short",
        "utf-8 with bom, cut short",
        "records cut short",
        "cut short inside quotes",
    ],
)
def test_an_export_excel_changed_is_named_with_what_to_do_and_changes_nothing(
    rig: SageRig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    saved: bytes,
    said: str,
) -> None:
    """Through ``ledgerlink sage50 reconcile`` (the window calls the same service): a good
    export next to one re-saved by Excel, or cut short, confirms nothing; the message
    names the file (and the line) and says what to do."""
    from app.cli import EXIT_SETUP, main

    customers, _, _ = exports(tmp_path)
    bad = tmp_path / "excel" / name
    bad.parent.mkdir()
    bad.write_bytes(saved)
    before = _store(rig)
    code = main(
        ["--data-dir", str(tmp_path / "data"), "sage50", "reconcile", str(customers), str(bad)]
    )
    err = capsys.readouterr().err
    assert code == EXIT_SETUP, err
    assert err.startswith(f"ledgerlink: {said}"), err
    assert AGAIN in err and "Traceback" not in err
    assert _store(rig) == before
    with pytest.raises(ReportError, match=re.escape(said)):
        reconcile(rig.session_factory, [customers, bad], actor="test")
    assert _store(rig) == before


def test_a_records_export_given_as_a_nominal_list_is_refused_in_words(
    rig: SageRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledgerlink sage50 nominal`` given a Record CSV saved as UTF-8 by Excel (Á is
    bytes 0xC3 0x81, and 0x81 is no Windows-1252 character) names it; nothing saved."""
    from app.cli import EXIT_SETUP, main

    saved = tmp_path / "NOMINAL.CSV"
    saved.write_bytes("C1,Álvaro Boilers Ltd\r\n".encode())
    before = _store(rig)
    code = main(["--data-dir", str(tmp_path / "data"), "sage50", "nominal", str(saved)])
    err = capsys.readouterr().err
    assert code == EXIT_SETUP, err
    assert err.startswith("ledgerlink: NOMINAL.CSV is not a nominal list"), err
    assert _store(rig) == before


def test_a_broken_quote_names_the_column_by_its_letter_before_the_report_is_known(
    tmp_path: Path,
) -> None:
    """Before the report is known, a column is named by its letter, never by the name
    another report gives that column (a Record CSV's B is not “Account Reference”)."""
    saved = sage_csv(tmp_path / "CUSTOMER.CSV", "C1,Ada Boilers Ltd", 'C3,"Cara" Heating,,')
    with pytest.raises(ReportError, match=r"CUSTOMER\.CSV, line 2: .*\(in column “B”"):
        read_report(saved)
