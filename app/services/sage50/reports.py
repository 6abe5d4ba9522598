"""Reading Sage 50's own CSV reports: Customer Record CSV, Supplier Record CSV,
Transaction CSV and a nominal list.

Sage writes these in the layout of its import files (Windows-1252, CRLF, a field quoted
when it holds a comma) and, as far as Ledgerlink knows, without a header row; a header
row is recognised and skipped. The bytes go through the project's one CSV reader
(:func:`app.services.importing.csv_reader.read_csv`) under a header of the layout's own
column names, so line numbers in messages are the file's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from app.services.errors import SetupError
from app.services.importing.csv_reader import ColumnSpec, CsvRow, read_csv
from connectors.contract import AccountType, ContactRole
from connectors.sage_50.layout import CONTACT_COLUMNS, TRANSACTION_COLUMNS
from connectors.sage_50.settings import account_type

_UTF8_BOM = b"\xef\xbb\xbf"
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
        raise ReportError(f"{path.name}{where}: {first.message}")
    assert table is not None
    return [CsvRow(row.line - 1, row.values) for row in table.rows]


def _looks_like_header(first: CsvRow, key: str) -> bool:
    value = first.get(key)
    return bool(value) and (" " in value or value.casefold() in {"a/c", "type", "n/c"})


def _decimal(text: str, path: Path, line: int, column: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "") or "0")
    except InvalidOperation as exc:
        raise ReportError(f"{path.name}, line {line}: {column} “{text}” is not an amount.") from exc


def detect_kind(data: bytes, path: Path) -> ReportKind:
    """Which report ``data`` is, from its first data row."""
    rows = _rows(data, tuple(c.name for c in TRANSACTION_COLUMNS), path)
    if not rows:
        raise ReportError(f"{path.name} has no rows.")
    first = rows[1] if len(rows) > 1 and _looks_like_header(rows[0], "Type") else rows[0]
    filled = [v for v in first.values.values() if v]
    if first.get("Type").upper() in _TYPES and _DATE.fullmatch(first.get("Date")):
        return ReportKind.TRANSACTIONS
    if first.get("Type").isdigit() and len(filled) <= 3:
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
    if kind is ReportKind.TRANSACTIONS:
        names = tuple(c.name for c in TRANSACTION_COLUMNS)
        rows = _rows(data, names, path)
        if rows and _looks_like_header(rows[0], "Type"):
            rows = rows[1:]
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
        rows = _rows(data, NOMINAL_COLUMNS, path)
        if rows and not rows[0].get("N/C").isdigit():
            rows = rows[1:]
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
        names = tuple(c.name for c in CONTACT_COLUMNS)
        rows = _rows(data, names, path)
        if rows and _looks_like_header(rows[0], "A/C"):
            rows = rows[1:]
        for row in rows:
            report.accounts.append(
                SageAccount(row.line, row.get("A/C"), row.get("Name"), row.values)
            )
    return report


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
