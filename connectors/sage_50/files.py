"""Writing Sage 50 import files whole, and reading back the ones Ledgerlink wrote.

A file is written under a temporary name, flushed to disk and then renamed, so the export
folder never holds half a file; it is readable by its owner only. Files are Windows-1252
with CRLF line ends, as Sage 50 (a Windows program) reads them.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


def claim_name(stamp: datetime) -> str:
    """``.ledgerlink-20261203-092000.claim``: the mark, made exclusively, by which one send
    takes a time for its file names, so two senders on one shared folder never share one."""
    return f".ledgerlink-{stamp:%Y%m%d-%H%M%S}.claim"


def claim(path: Path) -> bool:
    """Create ``path`` if no one has (``O_EXCL``: on a shared folder only one computer
    can); ``False`` when it is there already. Any other ``OSError`` is raised."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


_CLAIM = re.compile(r"\.ledgerlink-(?P<stamp>\d{8}-\d{6})\.claim", re.ASCII)
#: How old a claim must be, by its name and by its file's time, before a later send
#: removes it: a send ends (and removes its claim) within minutes, and a rename whose
#: answer was lost lands, if it ever does, long before.
STALE_CLAIM = timedelta(days=1)


def stale_claims(folder: Path, now: datetime) -> list[Path]:
    """Our claims in ``folder`` (``.ledgerlink-<time>.claim`` only) that no send needs
    any more: left by a send that was killed, or kept after a write whose answer was
    lost, and older than :data:`STALE_CLAIM` by both their name and their file's time.
    None while a temporary of ours (``.ledgerlink-*.part``) younger than that is in the
    folder: a rename from it may still land under a claimed time. ``OSError`` when the
    folder cannot be listed."""
    names = [entry.name for entry in folder.iterdir()]
    cutoff = now - STALE_CLAIM
    for name in names:
        # A temporary as old as a stale claim is a killed send's leftover; no rename from
        # it is on its way.
        if (
            name.startswith(".ledgerlink-")
            and name.endswith(".part")
            and (folder / name).lstat().st_mtime > cutoff.timestamp()
        ):
            return []
    found = []
    for name in names:
        match = _CLAIM.fullmatch(name)
        if match is None:
            continue
        try:
            stamp = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        except ValueError:  # digits that are no time (month 13): not one of ours
            continue
        if stamp > cutoff:
            continue
        path = folder / name
        held = path.lstat()
        if stat.S_ISREG(held.st_mode) and held.st_mtime <= cutoff.timestamp():
            found.append(path)
    return found


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


class WriteFailed(Exception):
    """:func:`write_whole` could not write ``path``; ``cause`` is the system's error.

    ``in_place`` says where that leaves the file: ``False`` when the new contents are not
    at ``path`` (a file already there is as it was), ``True`` when they are (only the
    folder's own flush to disk failed), ``None`` when that cannot be told (the rename
    itself failed other than by a definite refusal, or its temporary could not be seen
    and removed: on a network drive the rename may have happened, or may still happen,
    and only its answer been lost). ``leftover`` is a temporary that could not be
    removed, else ``None``.
    """

    def __init__(
        self, path: Path, cause: OSError, *, in_place: bool | None, leftover: Path | None = None
    ) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause
        self.in_place = in_place
        self.leftover = leftover

    @property
    def reason(self) -> str:
        """The system's words for the cause ("No space left on device")."""
        return self.cause.strerror or str(self.cause)

    @property
    def held_open(self) -> bool:
        """Whether another program (Sage 50 importing it, Excel) has the file open: on
        Windows a sharing or lock violation, which Python raises as "permission denied"
        although no permission is missing."""
        return getattr(self.cause, "winerror", None) in HELD_OPEN_WINERRORS


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing: temporary file, fsync, rename. An
    ``OSError`` on the way is raised as :class:`WriteFailed`, saying whether the file is
    in place; a failure before the rename removes the temporary."""
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".ledgerlink-", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise WriteFailed(path, exc, in_place=False) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            temp.chmod(0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise _not_written(path, temp, exc) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        temp.replace(path)
    except OSError as exc:
        raise _not_renamed(path, temp, exc) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        _fsync_dir(path.parent)
    except OSError as exc:
        raise WriteFailed(path, exc, in_place=True) from exc


def _not_written(path: Path, temp: Path, cause: OSError) -> WriteFailed:
    """A failure before the rename: ``path`` was never touched, whatever became of the
    temporary (removed, or named when it could not be)."""
    try:
        temp.unlink(missing_ok=True)
    except OSError:
        return WriteFailed(path, cause, in_place=False, leftover=temp)
    return WriteFailed(path, cause, in_place=False)


#: Rename errors that are a definite refusal: the server did not, and will not, rename.
_REFUSED_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EBUSY, errno.EROFS, errno.ENOSPC, errno.EXDEV}
)
#: The same on Windows: access denied, sharing violation, lock violation, already exists.
_REFUSED_WINERRORS = frozenset({5, 32, 33, 183})
#: Windows' sharing (32) and lock (33) violations: another program has the file open.
HELD_OPEN_WINERRORS = frozenset({32, 33})


def _refused(cause: OSError) -> bool:
    """Whether a rename error is a definite refusal rather than a lost answer (a
    network error such as EIO, or Windows' 64 "network name no longer available")."""
    winerror = getattr(cause, "winerror", None)
    if winerror is not None:
        return winerror in _REFUSED_WINERRORS
    return cause.errno in _REFUSED_ERRNOS


def _not_renamed(path: Path, temp: Path, cause: OSError) -> WriteFailed:
    """A failure at the rename. ``path`` is as it was only when the error is a definite
    refusal and the temporary was then removed: seeing the temporary proves nothing on a
    network drive, where the server may still hold it for a rename whose answer was lost
    (and refuse to delete it). Anything else leaves ``path`` unknown, naming a temporary
    that could not be removed: never "not there" because the folder is out of sight."""
    try:
        os.lstat(temp)
    except OSError:
        return WriteFailed(path, cause, in_place=None)
    try:
        temp.unlink()
    except FileNotFoundError:
        return WriteFailed(path, cause, in_place=None)  # it went between the two looks
    except OSError:
        return WriteFailed(path, cause, in_place=None, leftover=temp)
    return WriteFailed(path, cause, in_place=False if _refused(cause) else None)


#: What a folder's fsync answers on a mount that does not support it.
_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


def _fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (the rename) to disk, where the system can."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open a folder for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some mounts (network shares, FUSE) cannot flush a folder: nothing to flush.
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def our_files(folder: Path) -> list[OurFile]:
    """Every import file Ledgerlink wrote in ``folder``, oldest first. A folder that
    cannot be listed (gone, unreachable, refused) raises ``OSError``: it is never taken
    as one holding none."""
    found = []
    for path in folder.iterdir():
        parsed = parse_name(path.name)
        if parsed is not None and path.is_file():
            found.append(OurFile(path, parsed.kind, parsed.stamp))
    return sorted(found, key=lambda f: (f.stamp, f.kind.order))


class NotAsWritten(ValueError):
    """A file of ours that no longer reads as Ledgerlink wrote it; the message says why,
    in plain words ("it is saved as UTF-8 with a byte-order mark")."""


def read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a file Ledgerlink wrote; :class:`NotAsWritten` (or the
    decoder's ``UnicodeDecodeError``, or ``csv.Error``) when it was changed since: saved
    in another encoding, or cut short (every line Ledgerlink writes ends in CRLF)."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise NotAsWritten("it is saved as Unicode text (UTF-16), as Excel's “Unicode Text” does")
    if data.startswith(b"\xef\xbb\xbf"):
        raise NotAsWritten(
            "it is saved as UTF-8 with a byte-order mark, as Excel's “CSV UTF-8” saves it"
        )
    if not data.endswith(b"\r\n"):  # Ledgerlink never writes an empty file
        raise NotAsWritten("its last line has no line end, so it was cut short")
    text = data.decode(ENCODING)
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if row:
            yield number, row
