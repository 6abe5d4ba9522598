"""Sage 50 import files: golden files per record type (from Sage's published layouts),
whole-file writes, owner-only files, and every rule that would make Sage refuse or change
a value."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.contract import (
    PLANNED_PARENT_REF,
    AllocationDraft,
    BatchItem,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    DocumentDraft,
    DocumentType,
    HandedOver,
    LineDraft,
    PaymentDraft,
    RemoteRecordType,
)
from connectors.errors import (
    BatchInterrupted,
    ConnectorError,
    NotSetUp,
    OutcomeUncertain,
    Rejected,
)
from connectors.sage_50 import Sage50Connector, files, references
from connectors.sage_50 import settings as keys
from tests.sage50_fixtures import NOMINALS, _NoSecrets

GOLDEN = Path(__file__).parent / "golden" / "sage50"
D = Decimal


def make(folder: Path, **settings: str) -> Sage50Connector:
    import json

    values = {
        keys.FOLDER: str(folder),
        keys.NOMINAL_CODES: json.dumps(NOMINALS),
        keys.ACCOUNT_REFS: json.dumps({"customer:C-42": "FSC00042"}),
        "customers": json.dumps([["SAGESOFT", "Sage Software"], ["FSC00042", "Acme Plumbing Ltd"]]),
    }
    values.update(settings)
    return Sage50Connector(ConnectorContext(folder, values, _NoSecrets()))


def line(
    description: str, net: str, vat: str, account: str = "4000", code: str = "T1"
) -> LineDraft:
    return LineDraft(description, D(1), D(net), D(net), account, code, D(20), D(vat))


ACME = ContactDraft(
    role=ContactRole.CUSTOMER,
    our_ref="C-42",
    name="Acme Plumbing Ltd",
    contact_name="Jo Bloggs",
    address_1="Unit 4, Mill Lane",
    address_2="Holbeck",
    town="Leeds",
    county="West Yorkshire",
    postcode="LS1 4AB",
    email="jo@acme.example",
    phone="0113 496 0000",
)
SAGESOFT = ContactDraft(role=ContactRole.CUSTOMER, our_ref="sagesoft", name="Sage Software")
MIDLAND = ContactDraft(
    role=ContactRole.SUPPLIER,
    our_ref="SUP00077",
    name="Midland Merchants",
    contact_name="Sam Till",
    address_1="1 Canal Street",
    town="Birmingham",
    postcode="B1 1AA",
    email="accounts@midland.example",
    phone="0121 496 0001",
)
INVOICE = DocumentDraft(
    DocumentType.INVOICE,
    "INV5001",
    date(2024, 3, 31),
    "FSC00042",
    (
        line("Boiler service labour", "90.00", "18.00"),
        line("Pressure valve", "30.00", "6.00", "4020"),
    ),
)
CREDIT = DocumentDraft(
    DocumentType.CREDIT_NOTE,
    "CN301",
    date(2024, 4, 2),
    "FSC00042",
    (line("Credit call-out on INV5001", "45.00", "9.00"),),
    credits_document_ref="INV5001",
)
RECEIPT = PaymentDraft(
    "BACS-9001",
    date(2024, 4, 10),
    "FSC00042",
    D("90.00"),
    "1200",
    (AllocationDraft("INV5001", D("90.00")),),
)


def only_file(folder: Path, kind: files.FileKind) -> Path:
    [path] = [f.path for f in files.our_files(folder) if f.kind is kind]
    return path


def batch(*drafts: ContactDraft | DocumentDraft | PaymentDraft) -> list[BatchItem]:
    return [BatchItem(d, f"key-{n}") for n, d in enumerate(drafts)]


def test_customer_records_match_the_golden_file(tmp_path: Path) -> None:
    # SAGESOFT is in Sage's list already: that one must be refused, so a second
    # connector without it writes the golden second row.
    with make(tmp_path, customers="[]") as connector:
        results = connector.create_batch(batch(ACME, SAGESOFT))
    assert [r.reference for r in results if isinstance(r, HandedOver)] == ["FSC00042", "SAGESOFT"]
    written = only_file(tmp_path, files.FileKind.CUSTOMERS)
    assert written.read_bytes() == (GOLDEN / "customer-records.csv").read_bytes()
    first = results[0]
    assert isinstance(first, HandedOver)
    assert first.location == written.name and first.lines == (1,)
    assert first.note == f"in {written.name}, line 1"


def test_supplier_records_match_the_golden_file(tmp_path: Path) -> None:
    with make(tmp_path, suppliers="[]") as connector:
        [result] = connector.create_batch(batch(MIDLAND))
    assert isinstance(result, HandedOver) and result.reference == "SUP00077"
    written = only_file(tmp_path, files.FileKind.SUPPLIERS)
    assert written.read_bytes() == (GOLDEN / "supplier-records.csv").read_bytes()


@pytest.mark.parametrize(
    ("draft", "golden", "lines"),
    [
        (INVOICE, "sales-invoice.csv", (1, 2)),
        (CREDIT, "sales-credit.csv", (1,)),
        (RECEIPT, "sales-receipt-on-account.csv", (1,)),
    ],
    ids=["SI", "SC", "SA"],
)
def test_transactions_match_the_golden_files(
    tmp_path: Path, draft: DocumentDraft | PaymentDraft, golden: str, lines: tuple[int, ...]
) -> None:
    with make(tmp_path) as connector:
        [result] = connector.create_batch(batch(draft))
    assert isinstance(result, HandedOver) and result.lines == lines
    written = only_file(tmp_path, files.FileKind.TRANSACTIONS)
    assert written.read_bytes() == (GOLDEN / golden).read_bytes()


def test_one_transactions_file_per_run_rewritten_whole(tmp_path: Path) -> None:
    with make(tmp_path) as connector:
        connector.create_batch(batch(INVOICE))
        [credit] = connector.create_batch(batch(CREDIT))
        [receipt] = connector.create_batch(batch(RECEIPT))
    assert isinstance(credit, HandedOver) and credit.lines == (3,)
    assert isinstance(receipt, HandedOver) and receipt.lines == (4,)
    assert "allocate it in Sage (pays INV5001 (90.00))" in receipt.note
    path = only_file(tmp_path, files.FileKind.TRANSACTIONS)
    expected = b"".join(
        (GOLDEN / name).read_bytes()
        for name in ("sales-invoice.csv", "sales-credit.csv", "sales-receipt-on-account.csv")
    )
    assert path.read_bytes() == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # The next send (a new connector) never adds to a file already written.
    with make(tmp_path) as connector:
        connector.create_batch(batch(RECEIPT))
    assert path.read_bytes() == expected
    assert len(files.our_files(tmp_path)) == 2


def test_files_are_owner_only_and_named_for_what_and_when(tmp_path: Path) -> None:
    with make(tmp_path, customers="[]") as connector:
        connector.create_batch(batch(ACME))
    [our] = files.our_files(tmp_path)
    assert our.kind is files.FileKind.CUSTOMERS
    assert our.path.name.startswith("ledgerlink-") and our.path.name.endswith(
        "-1-customer-records.csv"
    )
    if os.name == "posix":
        assert stat.S_IMODE(our.path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_no_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with make(tmp_path) as connector:
        with pytest.raises(BatchInterrupted) as cut:
            connector.create_batch(batch(ACME, INVOICE))
        assert connector._stamp is not None
        name = files.file_name(connector._stamp, files.FileKind.TRANSACTIONS)
    # The refused one is answered; nothing was handed over, and the send is told why.
    [refused, unwritten] = cut.value.results
    assert isinstance(refused, Rejected) and refused.code == "reference_taken"
    assert unwritten is None
    assert isinstance(cut.value.cause, NotSetUp)
    assert isinstance(cut.value.cause.__cause__, OSError)
    assert str(cut.value.cause) == (
        f"Ledgerlink could not write {name} in {tmp_path}, the folder for Sage 50 import "
        "files (No space left on device), so nothing of it is there for Sage to import; the "
        "records not handed over wait for the next send. Free some space on that drive, "
        "then send again."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make(tmp_path) as connector:
        [invoice] = connector.create_batch(batch(INVOICE))
        assert isinstance(invoice, HandedOver)
        path = tmp_path / invoice.location
        before = path.read_bytes()

        def gone(*args: object, **kwargs: object) -> tuple[int, str]:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")

        monkeypatch.setattr(files.tempfile, "mkstemp", gone)
        with pytest.raises(BatchInterrupted) as cut:
            connector.create_batch(batch(CREDIT))
        assert cut.value.results == [None]
        assert str(cut.value.cause) == (
            f"Ledgerlink could not write {path.name} in {tmp_path}, the folder for Sage 50 "
            "import files (No such file or directory), so it holds only the records handed "
            "over before; the records not handed over wait for the next send. The folder is "
            "gone (a drive not connected?): connect it, or choose the folder again, then "
            "send again."
        )
        monkeypatch.undo()
        # Once the folder is back, the same run carries on where the file left off.
        [credit] = connector.create_batch(batch(CREDIT))
    assert path.read_bytes().startswith(before)
    assert isinstance(credit, HandedOver) and credit.lines == (3,)
    assert sorted(tmp_path.iterdir()) == [path]


def _leftovers(folder: Path) -> dict[str, Path]:
    """Claims left by killed sends, and files that only look like them, by what they are."""
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago = (now - timedelta(days=2)).timestamp()
    old, young = now - timedelta(days=2), now - timedelta(hours=1)
    made = {
        "stale": folder / files.claim_name(old),
        "young by name": folder / files.claim_name(young),
        "young by time": folder / files.claim_name(old - timedelta(seconds=1)),
        "not ours": folder / ".ledgerlink-notes.claim",
        "no dot": folder / files.claim_name(old)[1:],
        "other": folder / "sage.claim",
        "no time": folder / ".ledgerlink-20261399-000000.claim",
    }
    for name, path in made.items():
        path.write_bytes(b"")
        if name != "young by time":
            os.utime(path, (long_ago, long_ago))
    folder_like = folder / files.claim_name(old - timedelta(seconds=2))
    folder_like.mkdir()
    os.utime(folder_like, (long_ago, long_ago))
    made["a folder"] = folder_like
    return made


def test_claims_left_a_day_ago_are_cleared_when_a_send_claims_its_time(tmp_path: Path) -> None:
    """A killed send leaves its claim in the user's folder; the next send removes ours
    that are over a day old by both name and file time, and nothing else."""
    made = _leftovers(tmp_path)
    with make(tmp_path, customers="[]") as connector:
        [answer] = connector.create_batch(batch(ACME))
    assert isinstance(answer, HandedOver)
    assert not made["stale"].exists()
    assert all(path.exists() for name, path in made.items() if name != "stale")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [answer.location] + [p.name for n, p in made.items() if n != "stale"]
    )


def test_claims_stay_while_a_temporary_of_ours_is_in_the_folder(tmp_path: Path) -> None:
    """A temporary left in the folder may be a rename still pending under a claimed time:
    every claim stays."""
    made = _leftovers(tmp_path)
    part = tmp_path / ".ledgerlink-x1y2z3.part"
    part.write_bytes(b"")
    with make(tmp_path, customers="[]") as connector:
        [answer] = connector.create_batch(batch(ACME))
    assert isinstance(answer, HandedOver)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [answer.location, part.name] + [p.name for p in made.values()]
    )


def test_a_temporary_as_old_as_the_claims_does_not_keep_them(tmp_path: Path) -> None:
    """A killed send's temporary, a day old, is no rename on its way: stale claims go."""
    made = _leftovers(tmp_path)
    part = tmp_path / ".ledgerlink-x1y2z3.part"
    part.write_bytes(b"")
    long_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(part, (long_ago, long_ago))
    with make(tmp_path, customers="[]") as connector:
        [answer] = connector.create_batch(batch(ACME))
    assert isinstance(answer, HandedOver)
    assert not made["stale"].exists() and part.exists()


def test_an_unfinished_copy_it_cannot_remove_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.os, "fsync", denied)
    monkeypatch.setattr(Path, "unlink", denied)
    with make(tmp_path, customers="[]") as connector, pytest.raises(BatchInterrupted) as cut:
        connector.create_batch(batch(ACME))
    monkeypatch.undo()
    # Nothing could be removed: neither the copy nor the claim on the send's time.
    [left] = tmp_path.glob(".ledgerlink-*.part")
    [claim] = tmp_path.glob(".ledgerlink-*.claim")
    assert sorted(tmp_path.iterdir()) == sorted([claim, left])
    assert files.our_files(tmp_path) == []
    message = str(cut.value.cause)
    assert isinstance(cut.value.cause, NotSetUp) and cut.value.results == [None]
    assert "(Permission denied), so nothing of it is there for Sage to import" in message
    assert message.endswith(
        "Let Ledgerlink write in that folder, or choose another, then send again. Delete "
        f"{left.name} from that folder: it is an unfinished copy Ledgerlink could not "
        "remove, and Sage must never import it."
    )


def test_a_file_in_place_whose_folder_cannot_be_saved_is_handed_over_and_the_send_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "_fsync_dir", broken)
    with make(tmp_path, customers="[]") as connector, pytest.raises(BatchInterrupted) as cut:
        connector.create_batch(batch(ACME))
    [handed] = cut.value.results
    assert isinstance(handed, HandedOver) and handed.lines == (1,)
    assert isinstance(cut.value.cause, NotSetUp)
    assert str(cut.value.cause) == (
        f"{handed.location} is written in {tmp_path} and its records are handed over, but "
        "the folder could not be saved to disk (Input/output error): if the computer "
        "stopped since, check that the file is still there before you import it. The rest "
        "of the send waits. Check that folder and its drive, then send again."
    )
    assert only_file(tmp_path, files.FileKind.CUSTOMERS).name == handed.location


@pytest.mark.parametrize(
    "code", [errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP], ids=["EINVAL", "ENOTSUP", "EOPNOTSUPP"]
)
def test_a_folder_whose_mount_cannot_be_flushed_is_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    fsync = os.fsync

    def folder_unsupported(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        fsync(fd)

    monkeypatch.setattr(files.os, "fsync", folder_unsupported)
    with make(tmp_path, customers="[]") as connector:
        [acme] = connector.create_batch(batch(ACME))
    assert isinstance(acme, HandedOver)
    assert only_file(tmp_path, files.FileKind.CUSTOMERS).name == acme.location


def test_a_folder_flush_that_fails_otherwise_still_stops_the_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = os.fsync

    def folder_broken(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        fsync(fd)

    monkeypatch.setattr(files.os, "fsync", folder_broken)
    with pytest.raises(files.WriteFailed) as failed:
        files.write_whole(tmp_path / "x.csv", b"x")
    assert failed.value.in_place is True


def test_a_rename_that_may_have_happened_is_uncertain_and_the_file_never_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = Path.replace

    def renamed_then_lost(self: Path, target: Path) -> Path:
        replace(self, target)  # a network drive did it, and its answer was lost
        raise OSError(errno.ETIMEDOUT, "Connection timed out")

    with make(tmp_path) as connector:
        [invoice] = connector.create_batch(batch(INVOICE))
        assert isinstance(invoice, HandedOver)
        monkeypatch.setattr(Path, "replace", renamed_then_lost)
        with pytest.raises(BatchInterrupted) as cut:
            connector.create_batch(batch(CREDIT))
        monkeypatch.undo()
        assert cut.value.results == [None]
        assert isinstance(cut.value.cause, OutcomeUncertain)
        assert str(cut.value.cause).startswith(
            f"Ledgerlink cannot tell whether {invoice.location} reached {tmp_path}, the "
            "folder for Sage 50 import files (Connection timed out)"
        )
        # The file may hold the credit note: the run looks there, and writes anew.
        found = connector.find_handed_over(RemoteRecordType.CREDIT_NOTE, "CN301")
        assert found is not None and found.location == invoice.location
        [receipt] = connector.create_batch(batch(RECEIPT))
    assert isinstance(receipt, HandedOver) and receipt.location != invoice.location
    first = (tmp_path / invoice.location).read_bytes()
    assert (
        first
        == (GOLDEN / "sales-invoice.csv").read_bytes() + (GOLDEN / "sales-credit.csv").read_bytes()
    )


@pytest.mark.parametrize("how", ["reads as absent", "cannot be read"])
def test_a_rename_lost_on_a_share_that_dropped_is_uncertain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The share did the rename, then dropped before answering: a folder that now reads
    as absent (Windows: "network path not found") or refuses a look (EIO) never makes
    the file "not there", which would write its records again in a new file."""
    replace, exists, is_dir, lstat = Path.replace, Path.exists, Path.is_dir, os.lstat
    down: list[bool] = []

    def renamed_then_lost(self: Path, target: Path) -> Path:
        replace(self, target)
        down.append(True)
        raise OSError(errno.EIO, "Input/output error")

    def unreachable(path: Path) -> bool:
        return bool(down) and (path == tmp_path or path.parent == tmp_path)

    def exists_(self: Path, *args: object, **kwargs: object) -> bool:
        if unreachable(self):
            if how == "cannot be read":
                raise OSError(errno.EIO, "Input/output error", str(self))
            return False
        return exists(self, *args, **kwargs)  # type: ignore[arg-type]

    def is_dir_(self: Path) -> bool:
        return False if unreachable(self) else is_dir(self)

    def lstat_(path: str | os.PathLike[str], *args: object, **kwargs: object) -> os.stat_result:
        if unreachable(Path(path)):
            if how == "cannot be read":
                raise OSError(errno.EIO, "Input/output error", str(path))
            raise FileNotFoundError(errno.ENOENT, "The network path was not found", str(path))
        return lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    with make(tmp_path) as connector:
        monkeypatch.setattr(Path, "replace", renamed_then_lost)
        monkeypatch.setattr(Path, "exists", exists_)
        monkeypatch.setattr(Path, "is_dir", is_dir_)
        monkeypatch.setattr(files.os, "lstat", lstat_)
        with pytest.raises(BatchInterrupted) as cut:
            connector.create_batch(batch(INVOICE))
        monkeypatch.undo()
        assert cut.value.results == [None]
        assert isinstance(cut.value.cause, OutcomeUncertain)
        # When the share is back, the run finds the invoice in the file and never rewrites it.
        [written] = files.our_files(tmp_path)
        found = connector.find_handed_over(RemoteRecordType.INVOICE, "INV5001")
        assert found is not None and found.location == written.path.name


def test_a_rename_whose_temporary_is_still_there_did_not_happen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: Path, target: Path) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "replace", refused)
    with make(tmp_path) as connector, pytest.raises(BatchInterrupted) as cut:
        connector.create_batch(batch(INVOICE))
    assert isinstance(cut.value.cause, NotSetUp)
    assert "so nothing of it is there for Sage to import" in str(cut.value.cause)
    assert list(tmp_path.iterdir()) == []


def test_a_rename_whose_answer_was_lost_is_uncertain_though_its_temporary_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A share that dropped (EIO) still holds the temporary for the pending rename and
    refuses to delete it: seeing it proves nothing, and the rename lands afterwards."""
    target = tmp_path / files.file_name(datetime(2026, 12, 3, 9, 20), files.FileKind.TRANSACTIONS)
    replace, unlink = Path.replace, Path.unlink
    pending: list[tuple[Path, Path]] = []

    def lost(self: Path, to: Path) -> Path:
        pending.append((self, to))  # the server still holds the request
        raise OSError(errno.EIO, "network name no longer available")

    def held(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".part" and pending:
            raise PermissionError(errno.EACCES, "sharing violation")
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "replace", lost)
    monkeypatch.setattr(Path, "unlink", held)
    with pytest.raises(files.WriteFailed) as failed:
        files.write_whole(target, b"SI,X\r\n")
    monkeypatch.undo()
    [(temp, to)] = pending
    assert failed.value.in_place is None and failed.value.leftover == temp
    replace(temp, to)  # the server's rename lands
    assert target.read_bytes() == b"SI,X\r\n"


@pytest.mark.parametrize(
    ("cause", "in_place"),
    [
        (OSError(errno.EIO, "Input/output error"), None),
        (OSError(errno.ENOENT, "No such file or directory"), None),
        (OSError(errno.EBUSY, "Device or resource busy"), False),
        (OSError(errno.EXDEV, "Invalid cross-device link"), False),
        (OSError(errno.EINVAL, "The specified network name is no longer available"), None),
        (OSError(errno.EACCES, "Access is denied"), False),
    ],
)
def test_only_a_definite_refusal_of_the_rename_leaves_the_file_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cause: OSError, in_place: bool | None
) -> None:
    def fails(self: Path, to: Path) -> Path:
        raise cause

    monkeypatch.setattr(Path, "replace", fails)
    with pytest.raises(files.WriteFailed) as failed:
        files.write_whole(tmp_path / "x.csv", b"x")
    assert failed.value.in_place is in_place and failed.value.leftover is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("winerror", "in_place"), [(64, None), (59, None), (5, False), (32, False)]
)
def test_windows_network_errors_at_the_rename_are_uncertain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, winerror: int, in_place: bool | None
) -> None:
    cause = OSError(errno.EACCES, "Windows error")
    cause.winerror = winerror  # type: ignore[attr-defined]

    def fails(self: Path, to: Path) -> Path:
        raise cause

    monkeypatch.setattr(Path, "replace", fails)
    with pytest.raises(files.WriteFailed) as failed:
        files.write_whole(tmp_path / "x.csv", b"x")
    assert failed.value.in_place is in_place


def test_a_temporary_left_by_an_uncertain_rename_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(self: Path, to: Path) -> Path:
        raise OSError(errno.EIO, "Input/output error")

    def held(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "replace", lost)
    monkeypatch.setattr(Path, "unlink", held)
    with make(tmp_path) as connector, pytest.raises(BatchInterrupted) as cut:
        connector.create_batch(batch(INVOICE))
    monkeypatch.undo()
    [left] = tmp_path.glob(".ledgerlink-*.part")
    [claim] = tmp_path.glob(".ledgerlink-*.claim")  # kept: the rename may still land
    assert sorted(tmp_path.iterdir()) == sorted([claim, left])
    assert isinstance(cut.value.cause, OutcomeUncertain) and cut.value.results == [None]
    assert str(cut.value.cause).endswith(
        f" If {left.name} is still in that folder once the drive answers again, delete it: "
        "it is a copy Ledgerlink could not remove, and Sage must never import it."
    )


def test_a_temporary_that_vanished_before_the_rename_leaves_nothing_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Antivirus took the temporary while it was written: the file was never renamed, so
    its records wait for the next send (not uncertain)."""
    fsync = os.fsync

    def quarantined(fd: int) -> None:
        for part in tmp_path.glob(".ledgerlink-*.part"):
            part.unlink()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", quarantined)
    with make(tmp_path) as connector, pytest.raises(BatchInterrupted) as cut:
        connector.create_batch(batch(INVOICE))
    monkeypatch.setattr(files.os, "fsync", fsync)
    assert cut.value.results == [None]
    assert isinstance(cut.value.cause, NotSetUp)
    assert "so nothing of it is there for Sage to import" in str(cut.value.cause)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "saved",
    [
        "Acme Plumbing Ltd, Álvaro".encode(),  # UTF-8: 0x81 is no Windows-1252 byte
        b'"' + b"x" * 200_000 + b"\r\n",  # an unclosed quote: one huge field
        # Excel's "CSV UTF-8": every byte a Windows-1252 character, so it read as
        # "ï»¿FSC00042", and the record was not found in its file.
        b"\xef\xbb\xbfFSC00042,Acme Plumbing Ltd\r\n",
        "FSC00042\tAcme Plumbing Ltd\r\n".encode("utf-16"),  # Excel's "Unicode Text"
        b"FSC00042,Acme Plumbing Ltd,Unit 4, Mill",  # cut short: no line end
        b"",  # cut short before its first line
    ],
    ids=["utf-8", "broken quoting", "utf-8 with bom", "utf-16", "cut short", "empty"],
)
def test_one_of_our_files_resaved_by_excel_stops_the_send_naming_it(
    tmp_path: Path, saved: bytes
) -> None:
    with make(tmp_path, customers="[]") as connector:
        [acme] = connector.create_batch(batch(ACME))
    assert isinstance(acme, HandedOver)
    (tmp_path / acme.location).write_bytes(saved)
    with make(tmp_path, customers="[]") as connector:
        with pytest.raises(NotSetUp) as stopped:
            connector.create_batch(batch(SAGESOFT))
        message = str(stopped.value)
        assert message.startswith(
            f"{acme.location} in {tmp_path} is no longer the import file Ledgerlink wrote"
        )
        assert message.endswith(
            "Put back the file as Ledgerlink wrote it, or, once Sage has imported it, move "
            "it out of that folder, then send again."
        )
        with pytest.raises(NotSetUp):
            connector.find_handed_over(RemoteRecordType.INVOICE, "INV5001")
    assert [p.name for p in tmp_path.iterdir()] == [acme.location]


@pytest.mark.parametrize("how", ["gone", "cannot be read"])
def test_a_folder_out_of_sight_is_never_taken_as_holding_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """What the files in a folder that cannot be listed hold is unknown: looking for a
    record cut off mid-send, or for the accounts already written, says so (``NotSetUp``,
    naming the folder) instead of answering "none", which would write them again."""
    folder = tmp_path / "exports"
    folder.mkdir()
    with make(folder, customers="[]") as connector:
        [acme] = connector.create_batch(batch(ACME))
        [invoice] = connector.create_batch(batch(INVOICE))
    assert isinstance(acme, HandedOver) and isinstance(invoice, HandedOver)
    if how == "gone":
        folder.rename(tmp_path / "away")  # a drive not connected
    else:
        iterdir = Path.iterdir

        def unreadable(self: Path) -> Iterator[Path]:
            if self == folder:
                raise OSError(errno.EIO, "Input/output error", str(self))
            return iterdir(self)

        monkeypatch.setattr(Path, "iterdir", unreadable)
    reason = "No such file or directory" if how == "gone" else "Input/output error"
    with make(folder, customers="[]") as connector:
        with pytest.raises(NotSetUp) as looked:
            connector.find_handed_over(RemoteRecordType.INVOICE, "INV5001")
        assert str(looked.value) == (
            f"Ledgerlink cannot read {folder}, the folder for Sage 50 import files "
            f"({reason}), so it cannot tell which records its files there already hold; "
            "nothing was written. Connect the drive, or let Ledgerlink read that folder, "
            "then send again."
        )
        with pytest.raises(NotSetUp, match=reason):
            connector.find_handed_over(RemoteRecordType.CUSTOMER, "C-42")
        # The invoice's account is only in an import file: unknown, not "no such account".
        with pytest.raises(NotSetUp, match=reason):
            connector.check_draft(INVOICE)
        if how == "cannot be read":
            # The folder answers a look-up by name but not a listing: nothing is written.
            with pytest.raises(NotSetUp, match=reason):
                connector.create_batch(batch(replace(ACME, our_ref="C-43")))
    monkeypatch.undo()
    if how == "gone":
        (tmp_path / "away").rename(folder)
    assert len(list(folder.iterdir())) == 2
    with make(folder, customers="[]") as connector:
        found = connector.find_handed_over(RemoteRecordType.INVOICE, "INV5001")
        assert found is not None and found.location == invoice.location
        assert connector.check_draft(INVOICE) is None


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="a folder's permissions hold back neither root nor Windows' owner",
)
def test_a_folder_it_may_write_in_but_not_look_in_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    folder.chmod(0o200)  # write, but no search: the names in it cannot be looked up
    try:
        with make(folder, customers="[]") as connector:
            with pytest.raises(NotSetUp) as refused:
                connector.create_batch(batch(ACME))
            assert isinstance(refused.value.__cause__, PermissionError)
    finally:
        folder.chmod(0o700)
    assert str(refused.value).startswith(f"Ledgerlink cannot look in {folder}, the folder")
    assert "Permission denied" in str(refused.value)
    assert list(folder.iterdir()) == []


def test_a_folder_it_cannot_look_in_stops_a_send_and_a_sync_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above where permissions hold nobody back (root): the folder refuses a look-up."""
    exists = Path.exists

    def denied(path: Path, *args: object, **kwargs: object) -> bool:
        if path.parent == tmp_path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return exists(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "exists", denied)
    with (
        make(tmp_path, customers="[]") as connector,
        pytest.raises(NotSetUp, match="Permission denied") as refused,
    ):
        connector.create_batch(batch(ACME))
    assert str(refused.value) == (
        f"Ledgerlink cannot look in {tmp_path}, the folder for Sage 50 import files "
        "(Permission denied), so nothing was written; let it read and write there, or "
        "choose another folder."
    )
    with make(tmp_path) as connector:
        answers = list(
            connector.update_contacts(
                [("FSC00042", ContactUpdate(town="Leeds")), ("FSC00042", ContactUpdate())]
            )
        )
    assert [type(answer) for answer in answers] == [NotSetUp, NotSetUp]
    assert all(str(answer) == str(refused.value) for answer in answers)
    assert list(tmp_path.iterdir()) == []


def test_a_sync_whose_file_may_or_may_not_be_in_place_says_so_and_moves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = Path.replace
    lost: list[str] = []

    def renamed_then_lost(self: Path, target: Path) -> Path:
        replaced = replace(self, target)
        if not lost:
            lost.append(target.name)
            raise OSError(errno.ETIMEDOUT, "Connection timed out")
        return replaced

    monkeypatch.setattr(Path, "replace", renamed_then_lost)
    with make(tmp_path) as connector:
        [unknown] = connector.update_contacts([("FSC00042", ContactUpdate(town="Leeds"))])
        [again] = connector.update_contacts([("FSC00042", ContactUpdate(town="Leeds"))])
    assert type(unknown) is ConnectorError
    assert str(unknown) == (
        f"Ledgerlink cannot tell whether {lost[0]} reached {tmp_path} (Connection timed "
        "out), so these details may or may not be there for Sage to import; sync again to "
        "write them in a new file."
    )
    # The file nobody can vouch for is left alone: the next write is a new file.
    assert isinstance(again, HandedOver) and again.location != lost[0]
    # The claim on the lost file's time stays: a rename still pending on the share
    # may land, so no other send may take that name.
    kept = files.claim_name(datetime.strptime(lost[0][11:26], "%Y%m%d-%H%M%S"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept, lost[0], again.location])


def test_a_sync_whose_file_is_in_place_hands_it_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "_fsync_dir", broken)
    with make(tmp_path) as connector:
        [answer] = connector.update_contacts([("FSC00042", ContactUpdate(town="Leeds"))])
    assert isinstance(answer, HandedOver) and answer.lines == (1,)
    assert (tmp_path / answer.location).is_file()


def test_an_empty_batch_writes_nothing(tmp_path: Path) -> None:
    with make(tmp_path) as connector:
        assert connector.create_batch([]) == []
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- rules


def refusal(
    connector: Sage50Connector, draft: ContactDraft | DocumentDraft | PaymentDraft
) -> Rejected:
    refused = connector.check_draft(draft)
    assert refused is not None, draft
    [result] = connector.create_batch(batch(draft))
    assert isinstance(result, Rejected) and result.code == refused.code
    assert refused.reason.strip() and refused.fix.strip()
    return refused


def test_rules_refuse_what_sage_would_mangle_or_reject(tmp_path: Path) -> None:
    with make(tmp_path, financial_year_start="2024-01-01", lock_date="2024-01-31") as c:
        assert c.check_draft(INVOICE) is None
        cases = [
            (
                ContactDraft(ContactRole.CUSTOMER, "C9", "Smith, Jones & Co"),
                "comma_in_text",
                "Name",
            ),
            (ContactDraft(ContactRole.CUSTOMER, "C9", 'The "Best" Pipes'), "quote_in_text", "Name"),
            (ContactDraft(ContactRole.CUSTOMER, "C9", "A" * 61), "too_long", "Name"),
            (
                ContactDraft(ContactRole.CUSTOMER, "C9", "Zoë Ltd", phone="☎ 0113"),
                "character_not_in_sage",
                "Telephone",
            ),
            (
                ContactDraft(ContactRole.CUSTOMER, "###", "Hash Ltd", contact_name="x" * 31),
                "too_long",
                "Contact Name",
            ),
            (ContactDraft(ContactRole.CUSTOMER, " ", "Blank Ref Ltd"), "invalid_reference", "A/C"),
            (SAGESOFT, "reference_taken", "A/C"),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "contact_ref": "NOBODY"}),
                "unknown_account",
                "Account Reference",
            ),
            (
                INVOICE.__class__(
                    **{**INVOICE.__dict__, "lines": (line("x", "1.00", "0.20", "4999"),)}
                ),
                "unknown_nominal_code",
                "Nominal A/C Ref",
            ),
            (
                INVOICE.__class__(
                    **{**INVOICE.__dict__, "lines": (line("x", "100000000.00", "0.00"),)}
                ),
                "amount_too_large",
                "Net Amount",
            ),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "lines": (line("x", "-5.00", "-1.00"),)}),
                "negative_amount",
                "Net Amount",
            ),
            (
                INVOICE.__class__(
                    **{**INVOICE.__dict__, "lines": (line("x", "5.00", "1.00", code="X1"),)}
                ),
                "invalid_tax_code",
                "Tax Code",
            ),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "number": "INV" + "9" * 28}),
                "too_long",
                "Reference",
            ),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "date": date(2024, 1, 31)}),
                "locked_period",
                "Date",
            ),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "date": date(2025, 1, 1)}),
                "outside_financial_year",
                "Date",
            ),
            (
                INVOICE.__class__(**{**INVOICE.__dict__, "date": date(2023, 12, 31)}),
                "locked_period",
                "Date",
            ),
        ]
        for draft, code, field in cases:
            refused = refusal(c, draft)
            assert (refused.code, refused.field) == (code, field), draft
    assert files.our_files(tmp_path) == [], "a refused record was written"


def test_amount_limit_is_eight_digits_and_two_decimals(tmp_path: Path) -> None:
    largest = INVOICE.__class__(
        **{**INVOICE.__dict__, "lines": (line("x", "99999999.99", "0.00", code="T0"),)}
    )
    with make(tmp_path) as connector:
        assert connector.check_draft(largest) is None


def test_preflight_drafts_for_customers_in_the_same_send_are_checked(tmp_path: Path) -> None:
    planned = INVOICE.__class__(**{**INVOICE.__dict__, "contact_ref": PLANNED_PARENT_REF})
    with make(tmp_path) as connector:
        assert connector.check_draft(planned) is None


def test_two_of_ours_that_sage_would_merge_are_never_both_written(tmp_path: Path) -> None:
    first = ContactDraft(ContactRole.CUSTOMER, "ACME LTD 1", "Acme One")
    # (neither is in Sage's list; the two would become one ACMELTD1 there)
    second = ContactDraft(ContactRole.CUSTOMER, "acmeltd1", "Acme Two")
    with make(tmp_path) as connector:
        results = connector.create_batch(batch(first, second))
    assert isinstance(results[0], HandedOver) and results[0].reference == "ACMELTD1"
    assert isinstance(results[1], Rejected) and results[1].code == "reference_collision"
    # A later send sees the reference in the earlier file.
    with make(tmp_path) as connector:
        [again] = connector.create_batch(batch(second))
    assert isinstance(again, Rejected) and again.code == "reference_collision"


def test_references_as_sage_keeps_them_and_proposals() -> None:
    assert references.as_sage_keeps_it("Sage Software Limited") == "SAGESOFT"
    assert references.normalise("c-0042 x") == "C-0042X"
    assert (
        references.is_valid("AB-C&1")
        and not references.is_valid("ab")
        and not references.is_valid("ABCDEFGHI")
    )
    assert references.propose("C1", "Acme", taken=set()) == "C1"
    assert references.propose("C1", "Acme Ltd", taken={"C1"}) == "ACMELTD"
    assert references.propose("C1", "Acme Ltd", taken={"C1", "ACMELTD"}) == "ACMELT01"
    assert references.propose("C1", "Acme Ltd", taken={"C1", "ACMELTD", "ACMELT01"}) == "ACMELT02"


@pytest.mark.parametrize(
    ("winerror", "strerror"),
    [
        (32, "The process cannot access the file because it is being used by another process"),
        (33, "The process cannot access the file because another process has locked a portion"),
    ],
    ids=["sharing violation", "lock violation"],
)
def test_a_file_sage_holds_open_says_so_not_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, winerror: int, strerror: str
) -> None:
    """On Windows a rename over a file another program has open fails with a sharing (32)
    or lock (33) violation, which Python raises as "permission denied": the fix is to
    close the file in Sage 50, not to change the folder's permissions."""
    cause = PermissionError(errno.EACCES, strerror)
    cause.winerror = winerror  # type: ignore[attr-defined]

    def held(self: Path, to: Path) -> Path:
        raise cause

    with make(tmp_path) as connector:
        [invoice] = connector.create_batch(batch(INVOICE))
        assert isinstance(invoice, HandedOver)
        path = tmp_path / invoice.location
        before = path.read_bytes()
        monkeypatch.setattr(Path, "replace", held)
        with pytest.raises(BatchInterrupted) as cut:
            connector.create_batch(batch(CREDIT))
        answers = list(connector.update_contacts([("FSC00042", ContactUpdate(town="Leeds"))]))
    monkeypatch.undo()
    assert cut.value.results == [None] and isinstance(cut.value.cause, NotSetUp)
    assert str(cut.value.cause) == (
        f"Ledgerlink could not write {path.name} in {tmp_path}, the folder for Sage 50 "
        f"import files ({strerror}), so it holds only the records handed over before; the "
        "records not handed over wait for the next send. Sage 50, or another program, has "
        "that file open: close it there (in Sage, finish or cancel the import), then send "
        "again."
    )
    [answer] = answers
    assert isinstance(answer, ConnectorError) and str(answer).endswith(
        "so these details were not handed over; Sage 50, or another program, has that file "
        "open: close it there (in Sage, finish or cancel the import), then sync again."
    )
    assert "permission" not in str(answer).casefold()
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".ledgerlink-*.part"))


class _SameSecond(datetime):
    """Both computers' clocks read the same second."""

    @classmethod
    def now(cls, tz: object = None) -> _SameSecond:  # type: ignore[override]
        return cls(2026, 12, 3, 9, 29, 48, tzinfo=tz)  # type: ignore[arg-type]


def test_two_senders_on_one_shared_folder_never_write_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two computers send into one shared folder in the same second. B makes its choice
    of file name, and writes its file, while A is writing its own (A has chosen its name
    but not yet renamed its file into place): each gets a name of its own, and neither
    file replaces the other."""

    def connector() -> Sage50Connector:
        made = make(tmp_path)
        made._clock = _SameSecond
        return made

    first, second = connector(), connector()
    write_whole = files.write_whole
    interleaved: list[object] = []

    def a_writing(path: Path, data: bytes) -> None:
        if not interleaved:
            interleaved.append(path)
            interleaved.extend(second.create_batch(batch(CREDIT)))  # B, meanwhile
        write_whole(path, data)

    monkeypatch.setattr(files, "write_whole", a_writing)
    with first:
        [invoice] = first.create_batch(batch(INVOICE))
    second.close()
    monkeypatch.undo()
    [_, credit] = interleaved
    assert isinstance(invoice, HandedOver) and isinstance(credit, HandedOver)
    assert invoice.location != credit.location
    held = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(held) == sorted([invoice.location, credit.location])
    assert held[invoice.location].startswith(b"SI,FSC00042,4000,0,31/03/2024,INV5001,")
    assert held[credit.location].startswith(b"SC,FSC00042,4000,0,02/04/2024,CN301,")
