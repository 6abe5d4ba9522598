"""Reading a CSV file as a job system or Excel writes it, before any value is checked.

Decodes UTF-8 (with or without a byte-order mark) or Windows-1252, refuses anything else,
detects a comma or semicolon separator from the header, matches header names loosely and
numbers rows as a spreadsheet does (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.services.importing.report import RowError

_UTF8_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (",", ";")
_SEP_HINT = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)
_HEADER_NOISE = re.compile(r"[\s_\-\ufeff]+")
# C0 control characters other than tab, line feed and carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

SAVE_AS_HINT = 'in Excel use File > Save As > "CSV UTF-8 (Comma delimited)"'


class CsvFileError(Exception):
    """The file cannot be read as CSV text at all."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def as_row_error(self) -> RowError:
        return RowError(self.line, "", self.message)


@dataclass(frozen=True)
class ColumnSpec:
    """A column a file may have, by its canonical (documented) name."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class CsvRow:
    """One data row: trimmed text by canonical column name ('' when blank or absent)."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass
class CsvTable:
    """A file's known columns (as the file spells them) and its non-blank data rows."""

    spelled: dict[str, str]
    rows: list[CsvRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def has(self, column: str) -> bool:
        """Whether the file has this column (by canonical name)."""
        return column in self.spelled

    def column(self, column: str) -> str:
        """The header name as the file spells it (the canonical name if it has none)."""
        return self.spelled.get(column, column)


def normalise_header(name: str) -> str:
    """``" Account-Ref "`` → ``"accountref"``: case, spaces, ``_`` and ``-`` ignored."""
    return _HEADER_NOISE.sub("", name).casefold()


def decode_csv_bytes(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (BOM optional), else Windows-1252.

    Raises :class:`CsvFileError` for anything else (a workbook, UTF-16, binary data).
    """
    if data.startswith(_UTF8_BOM):
        try:
            text = data[len(_UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                "the file says it is UTF-8 but is not: "
                f"{_describe_bad_byte(data, exc.start + len(_UTF8_BOM))}; {SAVE_AS_HINT}"
            ) from exc
        return _check_text(text)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(f"the file is UTF-16 text, which Ledgerlink cannot read; {SAVE_AS_HINT}")
    if data.startswith(b"PK\x03\x04"):
        raise CsvFileError(f"the file is an Excel workbook (.xlsx), not a CSV file; {SAVE_AS_HINT}")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvFileError(f"the file is an Excel workbook (.xls), not a CSV file; {SAVE_AS_HINT}")
    if b"\x00" in data:
        raise CsvFileError(
            "the file contains binary data (NUL bytes), so it is not a CSV text file; "
            + SAVE_AS_HINT
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                "the file is neither UTF-8 nor Windows-1252 text: "
                f"{_describe_bad_byte(data, exc.start)}; {SAVE_AS_HINT}"
            ) from exc
    return _check_text(text)


def _describe_bad_byte(data: bytes, position: int) -> str:
    line = data.count(b"\n", 0, position) + 1
    return f"byte 0x{data[position]:02X} on line {line} is not a character"


def _check_text(text: str) -> str:
    text = text.rstrip("\x1a")  # the end-of-file mark some old DOS programs append
    junk = _CONTROL.search(text)
    if junk:
        line = text.count("\n", 0, junk.start()) + 1
        raise CsvFileError(
            f"line {line} contains the control character 0x{ord(junk.group()):02X}, "
            f"so this does not look like a CSV text file; {SAVE_AS_HINT}"
        )
    return text


def detect_separator(header_line: str) -> str:
    """``;`` when the header has more semicolons than commas outside quotes, else ``,``."""
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def read_csv(data: bytes, columns: Sequence[ColumnSpec]) -> tuple[CsvTable | None, list[RowError]]:
    """Decode and split ``data``; the table is None when the file or its header is unusable.

    Row problems found here (more values than the header has columns) are returned as
    errors alongside the table; those rows are left out of it.
    """
    try:
        text = decode_csv_bytes(data)
    except CsvFileError as exc:
        return None, [exc.as_row_error()]

    lines = text.splitlines(keepends=True)
    separator: str | None = None
    if lines and (hint := _SEP_HINT.match(lines[0])) and hint.group(1) in _SEPARATORS:
        # Excel's "sep=;" first line: Excel hides it, so the header is still row 1.
        separator = hint.group(1)
        lines = lines[1:]
        text = "".join(lines)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        return None, [_empty_file_error(columns)]
    if separator is None and "\t" in first and not any(sep in first for sep in _SEPARATORS):
        return None, [
            RowError(
                1,
                "",
                "the columns are separated by tabs; save the file with commas or semicolons "
                f"between values ({SAVE_AS_HINT})",
            )
        ]
    separator = separator or detect_separator(first)

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    errors: list[RowError] = []
    table: CsvTable | None = None
    positions: dict[str, int] = {}
    width = 0
    line = 0
    try:
        for line, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue  # blank lines (and Excel's ",,,," rows) are skipped
            if table is None:
                table, header_errors = _read_header(record, line, columns)
                if header_errors:
                    return None, header_errors
                positions = _positions(record, table)
                width = len(record)
                continue
            if len(record) > width and any(cell.strip() for cell in record[width:]):
                errors.append(
                    RowError(
                        line,
                        "",
                        f"this row has {len(record)} values but the header has {width} "
                        "columns; is a value containing a comma or semicolon missing its "
                        "quotes?",
                    )
                )
                continue
            values = {
                name: record[index].strip() if index < len(record) else ""
                for name, index in positions.items()
            }
            table.rows.append(CsvRow(line, values))
    except csv.Error as exc:
        return None, [RowError(line + 1, "", f"the file cannot be read as CSV here: {exc}")]
    if table is None:  # only separators, e.g. ",,,"
        return None, [_empty_file_error(columns)]
    return table, errors


def _empty_file_error(columns: Sequence[ColumnSpec]) -> RowError:
    example = ",".join(c.name for c in columns if c.required)
    return RowError(0, "", f"the file is empty; its first line must be the header ({example})")


def _read_header(
    record: list[str], line: int, columns: Sequence[ColumnSpec]
) -> tuple[CsvTable, list[RowError]]:
    known = {normalise_header(c.name): c.name for c in columns}
    table = CsvTable(spelled={})
    errors: list[RowError] = []
    for cell in record:
        spelled = cell.strip()
        if not spelled:
            continue
        name = known.get(normalise_header(spelled))
        if name is None:
            table.ignored_columns.append(spelled)
        elif name in table.spelled:
            errors.append(
                RowError(
                    line,
                    spelled,
                    f'this is the same column as "{table.spelled[name]}"; keep only one of them',
                )
            )
        else:
            table.spelled[name] = spelled
    for column in columns:
        if column.required and column.name not in table.spelled:
            errors.append(
                RowError(line, "", f'the header has no "{column.name}" column, which is required')
            )
    return table, errors


def _positions(record: list[str], table: CsvTable) -> dict[str, int]:
    """Where each known column is in a row."""
    by_spelling = {spelled: name for name, spelled in table.spelled.items()}
    positions: dict[str, int] = {}
    for index, cell in enumerate(record):
        name = by_spelling.get(cell.strip())
        if name is not None and name not in positions:
            positions[name] = index
    return positions
