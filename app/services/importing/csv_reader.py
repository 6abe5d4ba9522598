"""The one reader for every CSV file Ledgerlink takes: job-system data, links files,
and the package's own reports (Sage 50 reports, nominal lists).

It reads what Excel on a UK Windows PC and job systems really write, and refuses,
naming the line and where on it, anything it cannot read unambiguously; it never
guesses silently.

- Encodings: UTF-8 with or without a byte-order mark, Windows-1252 (Excel's plain
  "CSV"), UTF-16 with a byte-order mark (Excel's "Unicode Text"). A file mixing UTF-8
  and Windows-1252 is refused (it would turn "Café" into "CafÃ©").
- Separators: ``,`` ``;`` or tab, from Excel's ``sep=`` first line, else from the
  header; a header holding more than one of them must name known columns with one only.
- Line ends: CRLF, LF and a lone CR; a quoted value may hold line breaks.
- Refused: an unclosed quote, text after a closing quote, a row with more values than
  the header, control characters, a byte that is not a character, a spreadsheet or
  other binary file.

Rows are numbered as a spreadsheet numbers them: the header is line 1 and a value over
two physical lines is still one row. When a row starts on another physical line of
the file than its number, the message says so too.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain

from app.services.importing.report import RowError

SAVE_AS_HINT = 'in Excel use File > Save As > "CSV UTF-8 (Comma delimited)"'

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SEP_HINT = re.compile(r'^[ \t]*"?sep=(.?)"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
_HEADER_NOISE = re.compile(r"[\s_\-\ufeff]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')
_UNQUOTED = {sep: re.compile(f"[^{re.escape(sep)}\\r\\n]*") for sep in _SEPARATORS}
# What no CSV text holds: C0 controls other than tab, LF and CR; DEL; C1 controls; a
# byte-order mark after the start (two files joined); U+FFFD, the mark of a character
# already lost; lone surrogates, which stand for bytes that were not characters.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffd\ud800-\udfff]")
_UNDECODED = re.compile("[\udc80-\udcff]")
_SPREADSHEETS = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zipped file"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"{\\rtf", "a Word (RTF) document"),
)
_MARKUP = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?<(html|table|workbook|\?mso-application)", re.IGNORECASE
)


class CsvFileError(Exception):
    """The file cannot be read as CSV text (kept for callers that raise it)."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def as_row_error(self) -> RowError:
        """The problem as a report line."""
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
        """The value of ``column`` (canonical name), '' when blank or absent."""
        return self.values.get(column, "")


@dataclass
class CsvTable:
    """A file's known columns (as the file spells them) and its non-blank data rows.

    From :func:`read_csv` the rows are a list; from :func:`open_csv` they are read
    from the file's text as they are iterated, once: :attr:`rows` as :class:`CsvRow`,
    or :attr:`records` raw (row number and the row's untrimmed values in file order,
    for importers that pick values by :attr:`positions` themselves).
    """

    spelled: dict[str, str]
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    separator: str = ","
    positions: dict[str, int] = field(default_factory=dict)
    estimated_rows: int = 0
    records: Iterator[tuple[int, list[str]]] = field(default_factory=lambda: iter(()))
    _rows: Iterable[CsvRow] | None = None

    @property
    def rows(self) -> Iterable[CsvRow]:
        """The data rows with trimmed values by canonical column name."""
        if self._rows is None:
            return self._stream_rows()
        return self._rows

    @rows.setter
    def rows(self, rows: Iterable[CsvRow]) -> None:
        """Replace the rows (:func:`read_csv` gives them as a list)."""
        self._rows = rows

    def _stream_rows(self) -> Iterator[CsvRow]:
        positions = list(self.positions.items())
        for number, cells in self.records:
            width = len(cells)
            yield CsvRow(
                number,
                {
                    name: clean(cells[position]) if position < width else ""
                    for name, position in positions
                },
            )

    def has(self, column: str) -> bool:
        """Whether the file has this column (by canonical name)."""
        return column in self.spelled

    def column(self, column: str) -> str:
        """The header name as the file spells it (the canonical name if it has none)."""
        return self.spelled.get(column, column)


def normalise_header(name: str) -> str:
    """``" Account-Ref "`` → ``"accountref"``: case, spaces, ``_`` and ``-`` ignored."""
    return _HEADER_NOISE.sub("", name).casefold()


# ----------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class _Text:
    text: str
    encoding: str


def _decode(data: bytes) -> _Text:
    """The file's text. Bytes that are not characters become lone surrogates (found and
    reported later, with their row); a file that is not text at all raises."""
    for signature, what in _SPREADSHEETS:
        if data.startswith(signature):
            raise CsvFileError(f"the file is {what}, not a CSV file; {SAVE_AS_HINT}")
    if _MARKUP.match(data[:4096]):
        raise CsvFileError(
            "the file is a web page or an Excel XML spreadsheet saved with a .csv name, "
            f"not a CSV file; {SAVE_AS_HINT}"
        )
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            if encoding.startswith("utf-16"):
                if body.startswith(b"\x00\x00"):
                    raise CsvFileError(
                        f"the file is UTF-32 text, which Ledgerlink cannot read; {SAVE_AS_HINT}"
                    )
                # A damaged UTF-16 file (odd length, a half pair) shows U+FFFD there.
                return _Text(body.decode(encoding, errors="replace"), "utf-16")
            return _Text(body.decode(encoding, errors="surrogateescape"), "utf-8-sig")
    if b"\x00" in data:
        position = data.index(b"\x00")
        line = len(_LINE_BREAK.findall(data[:position].decode("latin-1"))) + 1
        raise CsvFileError(
            f"line {line} holds a NUL byte, so the file is binary data or UTF-16 text "
            f"without its byte-order mark, not a CSV text file; {SAVE_AS_HINT}",
            line,
        )
    text = data.decode("utf-8", errors="surrogateescape")
    if not _UNDECODED.search(text):
        return _Text(text, "utf-8")
    if any(_windows_1252_has(char) for char in text if char > "\x7f"):
        # Some bytes are UTF-8 for characters a Windows-1252 file could hold too (é, £,
        # ’), others are not UTF-8: both readings would damage some names.
        return _Text(text, "mixed")
    # Otherwise the few byte pairs that happen to be valid UTF-8 ("É–" is 0xC9 0x96,
    # "ɖ" in UTF-8) are Windows-1252 like the rest of the file.
    return _Text(data.decode("cp1252", errors="surrogateescape"), "cp1252")


def _windows_1252_has(char: str) -> bool:
    if 0xDC80 <= ord(char) <= 0xDCFF:
        return False  # a byte that was not UTF-8
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------- splitting


@dataclass(frozen=True)
class _Cell:
    value: str
    offset: int  # where it starts in the text


@dataclass
class _Record:
    number: int  # as a spreadsheet numbers rows
    offset: int
    cells: list[_Cell]


@dataclass(frozen=True)
class _Problem:
    offset: int
    message: str
    record: int = 0  # the row it belongs to, when known


def _split(text: str, separator: str, first_row: int) -> tuple[list[_Record], _Problem | None]:
    """Records with their cells, up to the first problem that makes the rest unreadable."""
    records: list[_Record] = []
    unquoted = _UNQUOTED[separator]
    end = len(text)
    pos = 0
    number = first_row
    while pos < end:
        record = _Record(number, pos, [])
        while True:
            if pos < end and text[pos] == '"':
                match = _QUOTED.match(text, pos)
                if match is None:
                    record.cells.append(_Cell("", pos))
                    records.append(record)
                    return records, _Problem(
                        pos,
                        'this value opens a quote (") that is never closed, so everything '
                        "after it would be read as one value; add the closing quote or "
                        "remove the opening one",
                        number,
                    )
                after = match.end()
                if after < end and text[after] not in (separator, "\r", "\n"):
                    record.cells.append(_Cell("", pos))
                    records.append(record)
                    return records, _Problem(
                        pos,
                        "this value is in quotes but more text follows its closing quote"
                        + (
                            " on a later line, so a quote is probably missing its pair"
                            if _LINE_BREAK.search(match.group(1))
                            else ""
                        )
                        + '; put the whole value in quotes and write a quote inside it as ""',
                        number,
                    )
                value = _LINE_BREAK.sub("\n", match.group(1).replace('""', '"'))
                record.cells.append(_Cell(value, pos))
                pos = after
            else:
                match = unquoted.match(text, pos)
                assert match is not None  # matches the empty string at worst
                record.cells.append(_Cell(match.group(), pos))
                pos = match.end()
            if pos < end and text[pos] == separator:
                pos += 1
                continue
            break
        if text.startswith("\r\n", pos):
            pos += 2
        elif pos < end:
            pos += 1
        records.append(record)
        number += 1
    return records, None


# ------------------------------------------------------------------------------ reading


class _Locator:
    """Turns an offset in the text into words: the row, the column, the file's line."""

    def __init__(self, text: str, records: list[_Record], header: list[str], skipped: int):
        self.text = text
        self.records = records
        self.header = header
        self.skipped = skipped  # physical lines before row 1 (Excel's sep= line)
        self.line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        self.record_offsets = [r.offset for r in records]

    def physical_line(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) + self.skipped

    def row_error(self, offset: int, message: str, record_number: int = 0) -> RowError:
        index = bisect.bisect_right(self.record_offsets, offset) - 1
        where: list[str] = []
        row = record_number or 1
        if 0 <= index < len(self.records):
            record = self.records[index]
            row = record_number or record.number
            cell_index = (
                bisect.bisect_right([c.offset for c in record.cells], offset) - 1
                if record.cells
                else -1
            )
            if cell_index >= 0:
                name = self.header[cell_index].strip() if cell_index < len(self.header) else ""
                where.append(
                    f"in the header's value {cell_index + 1}"
                    if row == 1 and self.header
                    else f"in column “{name}”"
                    if name
                    else f"in value {cell_index + 1}"
                )
        line_start = self.line_starts[bisect.bisect_right(self.line_starts, offset) - 1]
        where.append(f"character {offset - line_start + 1}")
        physical = self.physical_line(offset)
        if physical != row:
            where.append(f"line {physical} of the file in a text editor")
        return RowError(row, "", f"{message} ({', '.join(where)})")


class CsvUnreadable(Exception):
    """Met while streaming rows: the rest of the file cannot be read unambiguously.

    Raised by :attr:`CsvTable.records` (and so :attr:`CsvTable.rows`) at the first
    place the file stops being CSV; ``error`` names the row and where on it.
    """

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


def read_csv(data: bytes, columns: Sequence[ColumnSpec]) -> tuple[CsvTable | None, list[RowError]]:
    """Decode and split ``data``; the table is None when the file or its header is unusable.

    Every problem names its line (the header is line 1). Row problems found here (more
    values than the header has columns) are returned alongside the table and those rows
    are left out of it; anything that makes the file ambiguous returns no table.
    Reads every row into memory; :func:`open_csv` streams them instead.
    """
    errors: list[RowError] = []
    table = open_csv(data, columns, errors)
    if table is None:
        return None, errors
    try:
        table.rows = list(table.rows)
    except CsvUnreadable as exc:
        return None, [exc.error]
    return table, errors


def open_csv(data: bytes, columns: Sequence[ColumnSpec], errors: list[RowError]) -> CsvTable | None:
    """Decode ``data`` and read its header; the rows are read as they are iterated.

    Problems with the file or its header go into ``errors`` and return None. The
    table's rows (:attr:`CsvTable.rows`, or the raw :attr:`CsvTable.records`) are read
    one at a time, once: a row with more values than the header is added to ``errors``
    when it is met and left out, and text that makes the rest of the file ambiguous
    raises :class:`CsvUnreadable` there. Memory holds the file's text, never its rows.
    """
    try:
        decoded = _decode(data)
    except CsvFileError as exc:
        errors.append(exc.as_row_error())
        return None
    text = decoded.text
    if text.endswith("\x1a"):
        text = text.rstrip("\x1a")  # the end-of-file mark some old DOS programs append

    skipped = 0
    separator: str | None = None
    hint = _SEP_HINT.match(text)
    if hint:
        if hint.group(1) not in _SEPARATORS:
            shown = repr(hint.group(1)) if hint.group(1) else "nothing"
            errors.append(
                RowError(
                    1,
                    "",
                    f"the first line says the separator is {shown}; Ledgerlink reads "
                    "files separated by commas, semicolons or tabs",
                )
            )
            return None
        # Excel hides its "sep=;" line, so the header is still row 1 there.
        separator, skipped = hint.group(1), 1
        text = text[hint.end() :]

    if separator is None:
        chosen = _choose_separator(text, columns)
        if isinstance(chosen, RowError):
            errors.append(chosen)
            return None
        separator = chosen
    if _NOT_TEXT.search(text) or decoded.encoding == "mixed":
        errors.append(_locate_problem(text, separator, skipped, decoded.encoding))
        return None
    records = enumerate(_c_reader(text, separator), 1)
    try:
        header_at, header = next(
            ((n, cells) for n, cells in records if any(c.strip() for c in cells)), (0, [])
        )
    except csv.Error:
        errors.append(_locate_problem(text, separator, skipped, decoded.encoding))
        return None
    if not header_at:
        errors.append(_empty_file_error(columns))
        return None
    table, header_errors = _read_header(header, header_at, columns)
    if header_errors:
        errors.extend(header_errors)
        return None
    table.encoding, table.separator = decoded.encoding, separator
    table.positions = _positions(header, table)
    # Only for progress: quoted line breaks make it a little more than the rows.
    lines = len(_LINE_BREAK.findall(text)) + (0 if _LINE_BREAK.search(text[-2:]) else 1)
    table.estimated_rows = max(lines - header_at, 0)
    sep = separator
    table.records = _records(
        records,
        len(header),
        sep,
        errors,
        lambda: _locate_problem(text, sep, skipped, decoded.encoding),
    )
    return table


def _records(
    records: Iterator[tuple[int, list[str]]],
    width: int,
    separator: str,
    errors: list[RowError],
    locate: Callable[[], RowError],
) -> Iterator[tuple[int, list[str]]]:
    """The data rows by number, raw: blank rows skipped, too-wide rows reported."""
    try:
        for number, cells in records:
            if not "".join(cells).strip():
                continue  # blank lines (and Excel's ",,,," rows) are skipped
            if len(cells) > width:
                extra = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
                if extra is not None:
                    errors.append(
                        RowError(
                            number,
                            "",
                            f"this row has {len(cells)} values but the header has {width} "
                            f"columns (value {extra + 1}, “{_shorten(cells[extra])}”, has no "
                            "column); is a value containing a "
                            f"{_SEPARATORS[separator]} missing its quotes?",
                        )
                    )
                    continue
            yield number, cells
    except csv.Error:
        raise CsvUnreadable(locate()) from None


def clean(value: str) -> str:
    """A value as importers see it: trimmed, every line break a plain LF."""
    value = value.strip()
    return _LINE_BREAK.sub("\n", value) if "\r" in value else value


def _c_reader(text: str, separator: str) -> Iterator[list[str]]:
    """Python's C parser, as strict as :func:`_split`: it raises ``csv.Error`` where
    that one finds a problem (:func:`_split` then says where and what).

    It is fed the text's lines with their line ends, as a file opened with
    ``newline=""`` gives them, a block of about :data:`_BLOCK` characters at a time:
    one ``io.StringIO`` over the whole text would copy it at four bytes a character.
    """
    lines = chain.from_iterable(map(_text_file, _blocks(text)))
    return csv.reader(lines, delimiter=separator, strict=True)


_BLOCK = 1 << 18


def _text_file(block: str) -> io.StringIO:
    return io.StringIO(block, newline="")


def _blocks(text: str) -> Iterator[str]:
    """``text`` in pieces that each end just after a line feed (or at the end), so that
    no line, and no CR LF pair, is cut in two."""
    start, end = 0, len(text)
    while start < end:
        cut = text.find("\n", start + _BLOCK)
        if cut < 0:  # no LF from here on, so a CR here is a whole line end
            cut = text.find("\r", start + _BLOCK)
        cut = end if cut < 0 else cut + 1
        yield text[start:cut]
        start = cut


def _locate_problem(text: str, separator: str, skipped: int, encoding: str) -> RowError:
    """The first thing that makes the file unreadable, by row and place on it."""
    records, problem = _split(text, separator, 1)
    header_record = next((r for r in records if any(c.value.strip() for c in r.cells)), None)
    header = [c.value for c in header_record.cells] if header_record else []
    locate = _Locator(text, records, header, skipped)
    found = [problem] if problem else []
    junk = _NOT_TEXT.search(text, 0, problem.offset if problem else len(text))
    if junk:
        found.append(_Problem(junk.start(), _describe_junk(junk.group(), encoding)))
    if encoding == "mixed":
        found.append(_mixed(text))
    if not found:
        # Python's parser refused what ours reads: only a value over its size limit.
        return RowError(
            1, "", "a value is longer than 131,072 characters; is a quote missing its pair?"
        )
    first = min(found, key=lambda p: p.offset)
    return locate.row_error(first.offset, first.message, first.record)


def _shorten(value: str, limit: int = 30) -> str:
    value = value.strip().replace("\n", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _describe_junk(char: str, encoding: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        byte = code - 0xDC00
        if encoding == "utf-8-sig":
            return (
                f"the file says it is UTF-8 but is not: byte 0x{byte:02X} is not a UTF-8 "
                f"character; {SAVE_AS_HINT}"
            )
        if encoding == "mixed":
            return (
                f"byte 0x{byte:02X} is not UTF-8, but other characters in the file are: "
                "the file mixes two encodings (UTF-8 and Windows-1252), so some names "
                f"would be damaged whichever is chosen; {SAVE_AS_HINT}"
            )
        return (
            f"byte 0x{byte:02X} is a character in neither UTF-8 nor Windows-1252; " + SAVE_AS_HINT
        )
    if char == "\ufeff":
        return (
            "a byte-order mark in the middle of the file: two files were probably joined; "
            "keep one header and save the file again"
        )
    if char == "\ufffd":
        return (
            "the character � marks one that was already lost (the file was damaged or "
            "saved in the wrong encoding before); correct the value"
        )
    if 0xD800 <= code <= 0xDFFF:
        return f"half of a UTF-16 character pair (0x{code:04X}); {SAVE_AS_HINT}"
    return (
        f"the control character 0x{code:02X}, which no CSV text holds, so this does not "
        f"look like a CSV text file; {SAVE_AS_HINT}"
    )


def _mixed(text: str) -> _Problem:
    bad = _UNDECODED.search(text)
    assert bad is not None
    return _Problem(bad.start(), _describe_junk(bad.group(), "mixed"))


def _choose_separator(text: str, columns: Sequence[ColumnSpec]) -> str | RowError:
    """The header's separator. When it holds more than one kind, the one whose split
    names the most known columns, if only one does; otherwise the file is ambiguous."""
    header = _first_line_outside_quotes(text)
    present = [sep for sep in _SEPARATORS if sep in header]
    if len(present) <= 1:
        return present[0] if present else ","
    known = {normalise_header(c.name) for c in columns}
    scores = {
        sep: sum(
            1
            for name in _split(header, sep, 1)[0][0].cells
            if normalise_header(name.value) in known
        )
        for sep in present
    }
    best = max(scores.values())
    winners = [sep for sep, score in scores.items() if score == best]
    if best > 0 and len(winners) == 1:
        return winners[0]
    names = " and ".join(_SEPARATORS[sep] + "s" for sep in present)
    return RowError(
        1,
        "",
        f"the header holds {names}, so it is not clear which separates the columns; "
        'add a first line "sep=;" (or "sep=,") naming the separator, or save the file '
        f"again ({SAVE_AS_HINT})",
    )


def _first_line_outside_quotes(text: str) -> str:
    """The first non-blank record's text (its line breaks inside quotes included)."""
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if text[start:index].strip():
                return text[start:index]
            start = index + 1
    return text[start:]


def _empty_file_error(columns: Sequence[ColumnSpec]) -> RowError:
    example = ",".join(c.name for c in columns if c.required)
    return RowError(1, "", f"the file is empty; its first line must be the header ({example})")


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
