"""Reading Sage 50's own CSV reports: Customer Record CSV, Supplier Record CSV,
Transaction CSV and a nominal list.

Sage writes these in the layout of its import files (Windows-1252, CRLF, a field quoted
when it holds a comma) and, as far as Ledgerlink knows, without a header row; a header
row is recognised and skipped. The bytes go through the project's one CSV reader
(:func:`app.services.importing.csv_reader.read_csv`) under a header of the layout's own
column names, so line numbers in messages are the file's own.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from app.services.errors import SetupError
from app.services.importing.csv_reader import ColumnSpec, CsvRow, read_csv
from connectors.contract import AccountType, ContactRole
from connectors.sage_50 import references
from connectors.sage_50.layout import CONTACT_COLUMNS, TRANSACTION_COLUMNS
from connectors.sage_50.settings import account_type
from connectors.wording import count

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: What to do about a report that is not as Sage 50 wrote it.
AGAIN = (
    "If it was opened and saved in Excel, or copied before Sage finished writing it, "
    "export it from Sage 50 again and give Ledgerlink the file as Sage wrote it."
)
#: Room for columns past the ones Ledgerlink reads (Sage's extended layouts).
_WIDTH = 120
_TYPES = frozenset(
    "BP BR CP CR VP VR JC JD SI SC SA SR SP SD PI PC PA PP PR PD".split()  # noqa: SIM905
)
_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}")
NOMINAL_COLUMNS = ("N/C", "Name", "Type")


class ReportError(SetupError):
    """A file given as a Sage 50 export cannot be read; the message names file and line."""


class ReportKind(StrEnum):
    RECORDS = "records"  # Customer Record CSV or Supplier Record CSV
    TRANSACTIONS = "transactions"  # Transaction CSV
    NOMINAL = "nominal"  # the nominal list


@dataclass(frozen=True)
class SageAccount:
    line: int
    ref: str
    name: str
    values: dict[str, str]


@dataclass(frozen=True)
class SageTransaction:
    line: int
    type: str
    account: str
    nominal: str
    date: str
    reference: str
    details: str
    net: Decimal
    tax_code: str
    tax: Decimal


@dataclass(frozen=True)
class SageNominal:
    line: int
    code: str
    name: str
    type: AccountType


@dataclass
class SageReport:
    path: Path
    kind: ReportKind
    accounts: list[SageAccount] = field(default_factory=list)
    transactions: list[SageTransaction] = field(default_factory=list)
    nominals: list[SageNominal] = field(default_factory=list)
    #: Records file: the role the user said, or the one found by matching (None: unknown).
    role: ContactRole | None = None


def _names(columns: tuple[str, ...]) -> list[str]:
    return list(columns) + [f"extra {n}" for n in range(len(columns) + 1, _WIDTH + 1)]


def _check_text(data: bytes, path: Path) -> None:
    """Refuse Unicode text (UTF-16, Excel's "Unicode Text"): Sage 50 writes its reports
    as plain CSV, so such a file was saved again by another program."""
    if data.startswith(_UTF16_BOMS) or b"\x00" in data:
        raise ReportError(
            f"{path.name} is saved as Unicode text (UTF-16), as Excel's “Unicode Text” saves "
            "it, not as Sage 50 writes its reports (CSV), so Ledgerlink cannot read it.",
            AGAIN,
        )


def _rows(data: bytes, columns: tuple[str, ...], path: Path) -> list[CsvRow]:
    """The file's rows under our header; line numbers are the file's own."""
    header = ",".join(f'"{name}"' for name in _names(columns)).encode("ascii") + b"\r\n"
    body = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    prefix = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    table, errors = read_csv(prefix + header + body, [ColumnSpec(name) for name in columns])
    if errors:
        first = errors[0]
        line = max(first.line - 1, 0)
        where = f", line {line}" if line else ""
        raise ReportError(f"{path.name}{where}: {first.message}", AGAIN)
    assert table is not None
    return [CsvRow(row.line - 1, row.values) for row in table.rows]


def _is_header(value: str) -> bool:
    """Whether a first row whose column A holds ``value`` is a header: no report's data
    starts so (a transaction type, a nominal code and an account reference are at most 8
    characters, with no small letters and no spaces)."""
    if not value:
        return False
    return (
        " " in value
        or value.casefold() in {"a/c", "type", "n/c"}
        or value != value.upper()
        or len(value) > references.MAX_LENGTH
    )


#: What a heading names, by the words in it, strongest first: a heading naming one
#: column may hold a word of another ("Nominal A/C Ref" holds A/C, "Contact Name" holds
#: Name). Sage's exact headings are not known (see docs/packages/sage-50.md, UNVERIFIED),
#: so a heading with none of these words names nothing and is let be.
_NAMED_BY: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (concept, frozenset(words.split()))
    for concept, words in (
        ("nominal", "nominal nom n/c"),
        ("department", "department dept dep"),
        ("tax", "tax vat t/c"),
        ("net", "net"),
        ("date", "date"),
        ("details", "details detail description desc narrative"),
        ("contact", "contact"),
        ("name", "name"),
        ("telephone", "telephone tel phone"),
        ("email", "email mail"),
        ("address", "address street town city county postcode post"),
        ("type", "type"),
        ("account", "account acc a/c customer supplier"),
        ("reference", "reference ref"),
    )
)
#: The columns Ledgerlink reads from each report and what their heading names there.
_HEADINGS: dict[ReportKind, dict[str, str]] = {
    ReportKind.TRANSACTIONS: {
        "Type": "type",
        "Account Reference": "account",
        "Nominal A/C Ref": "nominal",
        "Date": "date",
        "Reference": "reference",
        "Details": "details",
        "Net Amount": "net",
    },
    ReportKind.RECORDS: {
        "A/C": "account",
        "Name": "name",
        "Address Line 1": "address",
        "Address Line 2": "address",
        "Address Line 3": "address",
        "Address Line 4": "address",
        "Address Line 5": "address",
        "Contact Name": "contact",
        "Telephone": "telephone",
        "E-mail": "email",
    },
    ReportKind.NOMINAL: {
        "N/C": "nominal",
        "Name": "name",
    },
}
#: Words that head a column as itself, whatever stronger word is beside them ("Ref" over
#: an account code, "Nominal Name" or "Description" over a nominal's name).
_OWN_WORDS: dict[tuple[ReportKind, str], frozenset[str]] = {
    (ReportKind.RECORDS, "A/C"): frozenset({"a/c", "account", "acc", "ref", "reference", "code"}),
    (ReportKind.RECORDS, "Telephone"): frozenset({"telephone", "tel", "phone"}),
    (ReportKind.NOMINAL, "Name"): frozenset({"name", "description", "desc"}),
}
#: How many columns, from A, a data row needs for Ledgerlink to read it (a transaction
#: through its net amount; an account or nominal code with its name): the rest may be
#: left out of a row, as an export that trims empty columns at a row's end does.
_NEEDED = {
    ReportKind.TRANSACTIONS: [c.name for c in TRANSACTION_COLUMNS].index("Net Amount") + 1,
    ReportKind.RECORDS: 2,
    ReportKind.NOMINAL: 2,
}
_REPORT_NAMES = {
    ReportKind.TRANSACTIONS: "Transaction CSV",
    ReportKind.RECORDS: "Customer and Supplier Record CSV",
    ReportKind.NOMINAL: "nominal list",
}
_COLUMNS = {
    ReportKind.TRANSACTIONS: tuple(c.name for c in TRANSACTION_COLUMNS),
    ReportKind.RECORDS: tuple(c.name for c in CONTACT_COLUMNS),
    ReportKind.NOMINAL: NOMINAL_COLUMNS,
}


#: How each report's header begins, by the word in its column A heading.
_BEGINS = (
    (ReportKind.TRANSACTIONS, ("type",)),
    (ReportKind.NOMINAL, ("n/c", "nominal")),
    (ReportKind.RECORDS, ("a/c", "account", "ref", "code")),
)


def _words(heading: str) -> set[str]:
    return set(re.split(r"[^a-z0-9/]+", heading.casefold().replace("e-mail", "email")))


def _named(heading: str) -> str | None:
    """The column ``heading`` clearly names (a key of :data:`_NAMED_BY`), if any."""
    words = _words(heading)
    for concept, known in _NAMED_BY:
        if words & known:
            return concept
    return None


def _header_kind(header: CsvRow, path: Path) -> ReportKind:
    """Which report a header row begins, from its column A."""
    first = header.get("A")
    for kind, words in _BEGINS:
        if any(word in first.casefold() for word in words):
            return kind
    raise ReportError(
        f"{path.name}, line 1: column A is headed “{first}”, which no Sage 50 report "
        "Ledgerlink reads begins with (A/C for the Customer or Supplier Record CSV, Type "
        "for the Transaction CSV, N/C for a nominal list).",
        AGAIN,
    )


def _check_header(header: CsvRow, kind: ReportKind, path: Path) -> None:
    """Refuse a header that heads a column Ledgerlink reads with the name of a different
    column (the columns were moved, and reading on would take one for another). A heading
    that names nothing Ledgerlink knows, is blank, or holds one of the column's own words
    (:data:`_OWN_WORDS`) is let be: Sage's own may differ."""
    columns = _COLUMNS[kind]
    for column, concept in _HEADINGS[kind].items():
        heading = header.get(column)
        if _words(heading) & _OWN_WORDS.get((kind, column), frozenset()):
            continue
        named = _named(heading)
        if named is not None and named != concept:
            letter = _letter(columns.index(column))
            raise ReportError(
                f"{path.name}, line 1: column {letter} is headed “{heading}”, where Sage "
                f"50's {_REPORT_NAMES[kind]} has {column}, so the columns are not where "
                "Sage puts them and reading on would take one for another.",
                AGAIN,
            )


def _letter(index: int) -> str:
    """A column's letter as a spreadsheet names it (0 → A, 27 → AB)."""
    return ("" if index < 26 else chr(ord("A") + index // 26 - 1)) + chr(ord("A") + index % 26)


def _check_whole(data: bytes, kind: ReportKind, last: CsvRow, path: Path) -> None:
    """Refuse a file cut short: one whose last line (with no line end) is shorter than
    the rows before it when two or more are all one length (an export writing every
    column), or else shorter than both every earlier row and the columns Ledgerlink reads from a row
    (an export that leaves out the empty columns at a row's end: a transaction without
    tax fields, an account with only its name). A file that ends inside a quoted value
    the CSV reader has refused already (a quote never closed)."""
    if data.rstrip(b"\x1a").endswith((b"\n", b"\r")):
        return
    # Commas and quotes are ASCII in every encoding read here, so Latin-1 splits right.
    rows = [r for r in csv.reader(io.StringIO(data.decode("latin-1"), newline="")) if r]
    if not rows:
        return
    earlier = rows[1:-1] if _is_header(rows[0][0]) else rows[:-1]
    lengths = {len(r) for r in earlier}
    if len(earlier) >= 2 and len(lengths) == 1:
        whole = lengths.pop()
        short = f"{count(len(rows[-1]), 'column')}, where the rows before it have {whole}"
    else:
        whole = min(min(lengths, default=_NEEDED[kind]), _NEEDED[kind])
        short = f"{len(rows[-1])} of the {whole} columns Ledgerlink reads from it"
    if len(rows[-1]) < whole:
        raise ReportError(
            f"{path.name}, line {last.line}: the file ends part-way through this line "
            f"({short}, and no line end), so it was cut short.",
            AGAIN,
        )


def _decimal(text: str, path: Path, line: int, column: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "") or "0")
    except InvalidOperation as exc:
        raise ReportError(f"{path.name}, line {line}: {column} “{text}” is not an amount.") from exc


def detect_kind(data: bytes, path: Path) -> ReportKind:
    """Which report ``data`` is, from its header row if it has one, else its first data
    row."""
    _check_text(data, path)
    # Columns by letter until the report is known (a message names no column wrongly).
    rows = _rows(data, tuple(_letter(n) for n in range(len(TRANSACTION_COLUMNS))), path)
    if not rows:
        raise ReportError(f"{path.name} has no rows.")
    if _is_header(rows[0].get("A")):
        return _header_kind(rows[0], path)
    first = rows[0]
    filled = [v for v in first.values.values() if v]
    if first.get("A").upper() in _TYPES and _DATE.fullmatch(first.get("E")):
        return ReportKind.TRANSACTIONS
    if first.get("A").isdigit() and len(filled) <= 3:
        return ReportKind.NOMINAL
    if len(filled) >= 2:
        return ReportKind.RECORDS
    raise ReportError(
        f"{path.name}, line {first.line}: this is not a Sage 50 Customer Record, Supplier "
        "Record, Transaction or nominal list export."
    )


def read_report(path: Path, role: ContactRole | None = None) -> SageReport:
    """Read one Sage export; :class:`ReportError` names the file and line if it cannot."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot be read ({exc.strerror}).") from exc
    kind = detect_kind(data, path)
    report = SageReport(path, kind, role=role)
    rows = _rows(data, _COLUMNS[kind], path)
    _check_whole(data, kind, rows[-1], path)
    if _is_header(rows[0].get(_COLUMNS[kind][0])):
        _check_header(rows[0], kind, path)
        rows = rows[1:]
    if kind is ReportKind.TRANSACTIONS:
        for row in rows:
            report.transactions.append(
                SageTransaction(
                    line=row.line,
                    type=row.get("Type").upper(),
                    account=row.get("Account Reference"),
                    nominal=row.get("Nominal A/C Ref"),
                    date=row.get("Date"),
                    reference=row.get("Reference"),
                    details=row.get("Details"),
                    net=_decimal(row.get("Net Amount"), path, row.line, "Net Amount"),
                    tax_code=row.get("Tax Code"),
                    tax=_decimal(row.get("Tax Amount"), path, row.line, "Tax Amount"),
                )
            )
    elif kind is ReportKind.NOMINAL:
        for row in rows:
            code = row.get("N/C")
            if not code.isdigit() or len(code) > 8:
                raise ReportError(
                    f"{path.name}, line {row.line}: “{code}” is not a Sage 50 nominal code "
                    "(digits, at most 8)."
                )
            wanted = row.get("Type").casefold()
            kind_of = (
                AccountType(wanted)
                if wanted in AccountType._value2member_map_
                else account_type(code)
            )
            report.nominals.append(SageNominal(row.line, code, row.get("Name"), kind_of))
    else:
        for row in rows:
            report.accounts.append(
                SageAccount(row.line, row.get("A/C"), row.get("Name"), row.values)
            )
    return report


def read_nominal_file(path: Path) -> list[SageNominal]:
    """Sage's nominal list from a file: its nominal list export, else the file's text as
    :func:`parse_nominal_text` reads a pasted list; :class:`ReportError` naming the file
    when it is neither."""
    try:
        report = read_report(path)
    except ReportError as refused:
        # A list of codes separated by tabs or spaces is no CSV, so the CSV reading refuses
        # it; one whose first line holds a comma is a CSV, and its refusal (cut short,
        # re-saved) stands rather than be read again more loosely.
        try:
            data = path.read_bytes()
        except OSError:
            raise refused from None
        first = next((line for line in data.splitlines() if line.strip()), b"")
        if b"," in first:
            raise
        try:
            return parse_nominal_text(_text(data))
        except ReportError:
            raise refused from None
    if report.kind is ReportKind.NOMINAL:
        return report.nominals
    try:
        return parse_nominal_text(_text(path.read_bytes()))
    except ReportError as exc:
        raise ReportError(
            f"{path.name} is not a nominal list (code, name per line): {exc.message}",
            "Export the nominal list from Sage 50 again, or paste it on the Connect page.",
        ) from exc


def _text(data: bytes) -> str:
    """A list of codes as text: UTF-8 (with or without its mark), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_nominal_text(text: str) -> list[SageNominal]:
    """A nominal list pasted from Sage (or typed): one ``code, name`` per line; a tab
    or several spaces may stand for the comma."""
    found: list[SageNominal] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in re.split(r",|\t| {2,}", line, maxsplit=1)]
        if len(parts) == 1:
            parts = [p.strip() for p in line.split(" ", 1)] + [""]
        code, name = parts[0], parts[1] if len(parts) > 1 else ""
        if number == 1 and not code.isdigit() and found == []:
            continue  # a heading such as "N/C  Name"
        if not code.isdigit() or len(code) > 8:
            raise ReportError(
                f"Line {number}: “{code}” is not a Sage 50 nominal code (digits, at most 8)."
            )
        found.append(SageNominal(number, code, name.strip('"'), account_type(code)))
    if not found:
        raise ReportError("No nominal codes found: paste lines such as “4000, Sales Type A”.")
    return found
