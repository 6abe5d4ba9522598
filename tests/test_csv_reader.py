"""The one CSV reader: what Excel and people really write is read, anything ambiguous is
refused naming its line, and nothing is guessed silently."""

from __future__ import annotations

import pytest

from app.services.importing.csv_reader import ColumnSpec, CsvTable, read_csv
from app.services.importing.report import RowError

COLUMNS = (ColumnSpec("account_ref", required=True), ColumnSpec("name", required=True))


def rows(data: bytes) -> list[tuple[int, str, str]]:
    table, errors = read_csv(data, COLUMNS)
    assert errors == [] and table is not None
    return [(row.line, row.get("account_ref"), row.get("name")) for row in table.rows]


def refusal(data: bytes) -> RowError:
    table, errors = read_csv(data, COLUMNS)
    assert table is None and len(errors) == 1, (table, errors)
    return errors[0]


@pytest.mark.parametrize(
    "data",
    [
        "account_ref,name\r\nC1,Zoë Baker\r\n".encode(),
        "\ufeffaccount_ref,name\nC1,Zoë Baker\n".encode(),
        "account_ref;name\rC1;Zoë Baker\r".encode("cp1252"),
        "account_ref\tname\r\nC1\tZoë Baker\r\n".encode("utf-16"),  # Excel "Unicode Text"
        "account_ref\tname\r\nC1\tZoë Baker\r\n".encode("utf-16-be").join([b"\xfe\xff", b""]),
        "sep=;\r\naccount_ref;name\r\nC1;Zoë Baker\r\n".encode("cp1252"),
        "sep=\t\naccount_ref\tname\nC1\tZoë Baker\n".encode(),
    ],
)
def test_encodings_separators_and_line_ends_excel_writes(data: bytes) -> None:
    assert rows(data) == [(2, "C1", "Zoë Baker")]


def test_quoted_values_keep_separators_quotes_and_line_breaks() -> None:
    data = b'account_ref,name\r\nC1,"Smith, ""Joe"" & Sons\r\nLtd"\r\nC2,12" pipe\r\n'
    assert rows(data) == [(2, "C1", 'Smith, "Joe" & Sons\nLtd'), (3, "C2", '12" pipe')]


def test_a_cp1252_file_with_a_pair_of_bytes_that_happens_to_be_utf8_is_cp1252() -> None:
    # "É" then an en dash is 0xC9 0x96, which is also the UTF-8 of "ɖ".
    data = "account_ref,name\nC1,CAFÉ–BAR £5\n".encode("cp1252")
    assert rows(data) == [(2, "C1", "CAFÉ–BAR £5")]


def test_an_unclosed_quote_is_refused_at_its_row() -> None:
    error = refusal(b'account_ref,name\nC949,Fine\nC950,"Unclosed Ltd\nC951,Next Ltd\n')
    assert error.line == 3
    assert "opens a quote" in error.message and "never closed" in error.message
    assert "column “name”, character 6" in error.message


def test_text_after_a_closing_quote_is_refused() -> None:
    error = refusal(b'account_ref,name\nC950,"Unclosed Ltd\nC951,"Next Ltd"\n')
    assert error.line == 2
    assert "more text follows its closing quote on a later line" in error.message


def test_more_values_than_the_header_is_a_row_error_naming_the_value() -> None:
    table, errors = read_csv(b"account_ref;name\nC1;Ada;Lovelace\nC2;Ben\n", COLUMNS)
    assert isinstance(table, CsvTable) and [r.line for r in table.rows] == [3]
    assert [(e.line, e.column) for e in errors] == [(2, "")]
    assert "value 3, “Lovelace”, has no column" in errors[0].message
    assert "semicolon missing its quotes" in errors[0].message


def test_mixed_encodings_are_refused_not_turned_into_mojibake() -> None:
    data = "account_ref,name\nC1,Café\n".encode() + "C2,Crème\n".encode("cp1252")
    error = refusal(data)
    assert error.line == 3 and "mixes two encodings" in error.message
    assert "column “name”" in error.message


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"account_ref,name\nC1,Ada\x07\n", 2, "control character 0x07"),
        (b"account_ref,name\nC1,Ada\x1b[0m\n", 2, "control character 0x1B"),
        ("account_ref,name\nC1,Ada\u0085\n".encode(), 2, "control character 0x85"),
        ("account_ref,name\nC1,Ada\n\ufeffaccount_ref,name\n".encode(), 3, "byte-order mark"),
        ("account_ref,name\nC1,Ad\ufffd\n".encode(), 2, "already lost"),
        (b"\xef\xbb\xbfaccount_ref,name\nC1,Ad\xe9\n", 2, "says it is UTF-8 but is not"),
        (b"account_ref,name\nC1,Ada \x81\n", 2, "neither UTF-8 nor Windows-1252"),
        (b"account_ref,name\nC1,A\x00d\x00a\n", 2, "NUL byte"),
        (b"\xff\xfea\x00,\x00b\x00\n\x00c", 2, "already lost"),  # UTF-16 cut in half
    ],
)
def test_what_no_csv_text_holds_is_refused_naming_the_line(
    data: bytes, line: int, words: str
) -> None:
    error = refusal(data)
    assert error.line == line and words in error.message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel workbook (.xls)"),
        (b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>', "spreadsheet"),
        (b"<html><body><table><tr><td>C1</td></tr></table>", "web page"),
        (b"%PDF-1.7\n", "PDF"),
    ],
)
def test_a_spreadsheet_or_binary_file_saved_as_csv_is_refused(data: bytes, words: str) -> None:
    error = refusal(data)
    assert error.line == 1 and words in error.message


def test_a_header_with_two_kinds_of_separator_is_read_by_its_known_names() -> None:
    assert rows(b"account_ref;name;notes, more\nC1;Ada;x, y\n") == [(2, "C1", "Ada")]


def test_a_header_that_fits_two_separators_equally_is_refused() -> None:
    error = refusal(b"a,b;c\n1,2;3\n")
    assert error.line == 1 and "not clear which separates the columns" in error.message


def test_an_unknown_separator_line_is_refused() -> None:
    error = refusal(b"sep=|\naccount_ref|name\n")
    assert error.line == 1 and "'|'" in error.message


def test_a_row_over_two_physical_lines_also_names_the_text_editor_line() -> None:
    error = refusal(b'account_ref,name\nC1,"Two\nlines"\nC2,Ada\x07\n')
    assert error.line == 3 and "line 4 of the file in a text editor" in error.message
