"""Writing Sage 50 import files whole, and reading back the ones Ledgerlink wrote.

A file is written under a temporary name, flushed to disk and then renamed, so the export
folder never holds half a file; it is readable by its owner only. Files are Windows-1252
with CRLF line ends, as Sage 50 (a Windows program) reads them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

ENCODING = "cp1252"


class FileKind(StrEnum):
    """What a file holds, in the order Sage must import them (records before transactions)."""

    CUSTOMERS = "customer-records"
    SUPPLIERS = "supplier-records"
    TRANSACTIONS = "audit-trail-transactions"

    @property
    def order(self) -> int:
        """The kind's place in the import order, from 1; it goes in the file name so the
        files sort in the order Sage must take them."""
        return list(FileKind).index(self) + 1

    @property
    def import_type(self) -> str:
        """The data type to pick in Sage's File › Import."""
        return {
            FileKind.CUSTOMERS: "Customer Records",
            FileKind.SUPPLIERS: "Supplier Records",
            FileKind.TRANSACTIONS: "Audit Trail Transactions",
        }[self]


_NAME = re.compile(
    r"ledgerlink-(?P<stamp>\d{8}-\d{6})-(?P<order>[1-3])-(?P<kind>[a-z-]+)\.csv", re.ASCII
)


def file_name(stamp: datetime, kind: FileKind) -> str:
    """``ledgerlink-20261203-092000-1-customer-records.csv``: when, the import order, what."""
    return f"ledgerlink-{stamp:%Y%m%d-%H%M%S}-{kind.order}-{kind.value}.csv"


@dataclass(frozen=True)
class OurFile:
    path: Path
    kind: FileKind
    stamp: str


def parse_name(name: str) -> OurFile | None:
    """The kind and time of a file Ledgerlink wrote, from its name; ``None`` for others."""
    match = _NAME.fullmatch(name)
    if not match:
        return None
    try:
        kind = FileKind(match["kind"])
    except ValueError:
        return None
    return OurFile(Path(name), kind, match["stamp"])


def render(rows: Sequence[Sequence[str]]) -> bytes:
    """The rows as Sage reads CSV: commas, a field quoted only when it holds a comma,
    CRLF after every line, Windows-1252."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue().encode(ENCODING)


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing: temporary file, fsync, rename."""
    fd, temp_name = tempfile.mkstemp(prefix=".ledgerlink-", suffix=".part", dir=path.parent)
    temp = Path(temp_name)
    try:
        temp.chmod(0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - Windows cannot open a folder for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def our_files(folder: Path) -> list[OurFile]:
    """Every import file Ledgerlink wrote in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        parsed = parse_name(path.name)
        if parsed is not None and path.is_file():
            found.append(OurFile(path, parsed.kind, parsed.stamp))
    return sorted(found, key=lambda f: (f.stamp, f.kind.order))


def read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a file Ledgerlink wrote."""
    text = path.read_bytes().decode(ENCODING)
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if row:
            yield number, row
