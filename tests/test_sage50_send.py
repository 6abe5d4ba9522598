"""Sending to Sage 50: every record in exactly one file, whatever happens in between
(a crash before or after a file is written, a cancel, a deleted file), and honest states."""

from __future__ import annotations

import errno
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import AuditEvent, Link, OutboxEntry, Sage50Export, SendState
from app.services.sage50.ledger import list_files
from app.services.sage50.steps import import_steps
from app.services.sending.preflight import Preflight
from app.services.sending.sender import Sender, SendProgress
from connectors.sage_50 import files
from tests.sage50_fixtures import SageRig, build_sage_rig

EVERYTHING = {"customer": 3, "supplier": 1, "invoice": 5, "credit_note": 1, "payment": 3}


class Crash(BaseException):
    """The process dying: nothing after it runs, nothing catches it."""


@pytest.fixture
def rig(tmp_path: Path) -> SageRig:
    return build_sage_rig(tmp_path)


def all_lines(folder: Path) -> Counter[tuple[str, ...]]:
    """Every (type or file kind, key) written, counted across all files."""
    seen: Counter[tuple[str, ...]] = Counter()
    for our in files.our_files(folder):
        for _, row in files.read_rows(our.path):
            if our.kind is files.FileKind.TRANSACTIONS:
                seen[(row[0], row[5], row[6])] += 1
            else:
                seen[(our.kind.value, row[0])] += 1
    return seen


def assert_each_once(rig: SageRig) -> None:
    lines = all_lines(rig.folder)
    assert lines and set(lines.values()) == {1}, lines
    with rig.session_factory() as session:
        states = Counter(session.scalars(select(OutboxEntry.state)))
        ledger = session.scalars(select(Sage50Export)).all()
    assert states == {SendState.HANDED_OVER: sum(EVERYTHING.values())}
    assert len(ledger) == sum(EVERYTHING.values())
    # The ledger says where each record is, and the file there holds it.
    for export in ledger:
        rows = dict(files.read_rows(rig.folder / export.file_name))
        for number in range(export.first_line, export.first_line + export.line_count):
            assert export.reference in rows[number], (export.reference, rows[number])


def test_a_send_writes_three_files_and_hands_everything_over(rig: SageRig) -> None:
    report = rig.send()
    assert report.handed_over == EVERYTHING and report.ok and not report.sent
    kinds = [f.kind for f in files.our_files(rig.folder)]
    assert kinds == list(files.FileKind)
    assert_each_once(rig)
    with rig.session_factory() as session:
        assert session.scalar(select(Link.id)) is None, "linked before Sage confirmed it"
        actions = set(session.scalars(select(AuditEvent.action)))
        assert "handed_over" in actions and "sent" not in actions
        listed = list_files(session, rig.folder)
        steps = import_steps(session)
    assert [f.awaiting for f in listed] == [3, 1, 9]
    assert all(f.status == "exported, waiting for you to import it into Sage" for f in listed)
    assert "Customer Records" in steps[1] and "Supplier Records" in steps[2]
    assert "Audit Trail Transactions" in steps[3]

    again = rig.send()
    assert not again.handed_over and again.ok
    assert len(files.our_files(rig.folder)) == 3, "a run with nothing to send wrote a file"


def test_crash_after_the_file_is_written_never_writes_it_twice(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Sender._record_results
    calls = {"n": 0}

    def dies_after_writing_invoices(self: Sender, ready: list, results: list) -> None:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 3:  # customers, suppliers, then the invoices' file is written
            raise Crash
        real(self, ready, results)

    monkeypatch.setattr(Sender, "_record_results", dies_after_writing_invoices)
    with pytest.raises(Crash):
        rig.send()
    with rig.session_factory() as session:
        stuck = session.scalars(
            select(OutboxEntry).where(OutboxEntry.state == SendState.PROCESSING)
        ).all()
    assert len(stuck) == 5, "the invoices were left mid-send"
    monkeypatch.setattr(Sender, "_record_results", real)

    report = rig.send()
    assert report.handed_over["invoice"] == 5  # found in the file, not written again
    assert not report.failed and not report.uncertain
    assert_each_once(rig)
    with rig.session_factory() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "handed_over")).all()
    assert sum("interrupted send" in e.detail for e in found) == 5


def _crash_after_writing_invoices(rig: SageRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A send that dies once the invoices' file is written, before it records them."""
    real = Sender._record_results
    calls = {"n": 0}

    def dies_after_writing_invoices(self: Sender, ready: list, results: list) -> None:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        real(self, ready, results)

    monkeypatch.setattr(Sender, "_record_results", dies_after_writing_invoices)
    with pytest.raises(Crash):
        rig.send()
    monkeypatch.setattr(Sender, "_record_results", real)


def test_a_crash_then_a_folder_out_of_sight_keeps_the_records_uncertain(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoices' file was written, then the run died; the next send finds the drive
    not connected. The invoices stay uncertain (never back to waiting, which would write
    them again in a new file) until the folder can be looked in."""
    _crash_after_writing_invoices(rig, monkeypatch)
    away = rig.folder.with_name("away")
    rig.folder.rename(away)  # the drive is not connected
    report = rig.send()
    assert report.uncertain["invoice"] == 5 and report.resolved_not_found == 0
    assert not report.handed_over
    with rig.session_factory() as session:
        states = Counter(
            session.scalars(select(OutboxEntry.state).where(OutboxEntry.record_type == "invoice"))
        )
    assert states == {SendState.UNCERTAIN: 5}
    away.rename(rig.folder)
    report = rig.send()
    assert report.handed_over["invoice"] == 5 and report.resolved_not_found == 0
    assert_each_once(rig)


def test_crash_before_the_file_is_renamed_writes_it_once_later(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = files.write_whole

    def dies_on_transactions(path: Path, data: bytes) -> None:
        if "transactions" in path.name:
            raise Crash
        real(path, data)

    monkeypatch.setattr(files, "write_whole", dies_on_transactions)
    with pytest.raises(Crash):
        rig.send()
    monkeypatch.setattr(files, "write_whole", real)
    assert [f.kind for f in files.our_files(rig.folder)] == [
        files.FileKind.CUSTOMERS,
        files.FileKind.SUPPLIERS,
    ]
    report = rig.send()
    assert report.resolved_not_found == 5 and report.handed_over["invoice"] == 5
    assert_each_once(rig)


def test_cancel_between_batches_leaves_the_rest_for_the_next_send(rig: SageRig) -> None:
    cancel = threading.Event()

    def cancel_after_customers(progress: SendProgress) -> None:
        if progress.done >= 3:
            cancel.set()

    first = rig.send(cancel=cancel, progress=cancel_after_customers)
    assert first.cancelled and sum(first.handed_over.values()) < sum(EVERYTHING.values())
    second = rig.send()
    assert first.handed_over + second.handed_over == Counter(EVERYTHING)
    assert_each_once(rig)


def test_a_deleted_file_is_never_exported_again(rig: SageRig) -> None:
    rig.send()
    for our in files.our_files(rig.folder):
        our.path.unlink()
    again = rig.send()
    assert not again.handed_over
    assert files.our_files(rig.folder) == []
    with rig.session_factory() as session:
        listed = list_files(session, rig.folder)
        steps = import_steps(session)
    assert all(not f.exists for f in listed)
    assert all(f.status.endswith("the file is missing from the folder") for f in listed)
    assert "MISSING" in steps[1]


def test_files_in_a_folder_that_is_gone_are_not_called_missing(
    rig: SageRig, tmp_path: Path
) -> None:
    """A disconnected mapped drive or an unmounted share reads as "no such file" for every
    path in it: with the folder itself not there, no file is called missing, each one's
    presence is unknown."""
    rig.send()
    rig.folder.rename(tmp_path / "unmounted")
    with rig.session_factory() as session:
        listed = list_files(session, rig.folder)
        steps = import_steps(session)
    assert listed and all(f.exists is None for f in listed)
    assert all(f.status.endswith("(the folder does not answer)") for f in listed)
    assert not any("MISSING" in step for step in steps)


def test_a_folder_it_cannot_look_in_stops_the_send_in_words_with_nothing_written(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    exists = Path.exists

    def denied(path: Path, *args: object, **kwargs: object) -> bool:
        if path.parent == rig.folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return exists(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "exists", denied)
    report = rig.send()
    assert report.stopped_reason.startswith(f"Ledgerlink cannot look in {rig.folder}, the")
    assert not report.handed_over and not report.uncertain and not report.failed
    assert "crash report" not in report.stopped_reason
    assert rig.written() == []
    with rig.session_factory() as session:
        assert set(session.scalars(select(OutboxEntry.state))) == {SendState.WAITING}


def test_a_file_that_cannot_be_written_stops_the_send_in_words_and_its_records_wait(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    mkstemp = files.tempfile.mkstemp
    calls = {"n": 0}

    def full_after_two_files(*args: object, **kwargs: object) -> tuple[int, str]:
        calls["n"] += 1
        if calls["n"] >= 3:  # customers and suppliers fit; the transactions do not
            raise OSError(errno.ENOSPC, "No space left on device")
        return mkstemp(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(files.tempfile, "mkstemp", full_after_two_files)
    report = rig.send()
    [customers, suppliers] = rig.written()
    assert "customer-records" in customers.name and "supplier-records" in suppliers.name
    transactions = customers.name.replace("1-customer-records", "3-audit-trail-transactions")
    assert report.stopped_reason == (
        f"Ledgerlink could not write {transactions} in {rig.folder}, the folder for Sage 50 "
        "import files (No space left on device), so nothing of it is there for Sage to "
        "import; the records not handed over wait for the next send. Free some space on "
        "that drive, then send again."
    )
    assert report.handed_over == {"customer": 3, "supplier": 1}
    assert not report.uncertain and not report.failed
    with rig.session_factory() as session:
        states = Counter(session.scalars(select(OutboxEntry.state)))
    assert states == {SendState.HANDED_OVER: 4, SendState.WAITING: 9}

    monkeypatch.undo()
    again = rig.send()
    assert again.ok and again.handed_over == {"invoice": 5, "credit_note": 1, "payment": 3}
    assert_each_once(rig)


def test_a_file_that_may_or_may_not_be_in_place_is_looked_for_not_written_twice(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = Path.replace
    lost: list[str] = []

    def invoices_renamed_then_lost(self: Path, target: Path) -> Path:
        replaced = replace(self, target)
        if "transactions" in target.name and not lost:
            lost.append(target.name)  # the drive did it, and its answer was lost
            raise OSError(errno.ETIMEDOUT, "Connection timed out")
        return replaced

    monkeypatch.setattr(Path, "replace", invoices_renamed_then_lost)
    report = rig.send()
    assert report.ok and report.handed_over == EVERYTHING
    assert not report.uncertain and report.resolved_not_found == 0
    assert_each_once(rig)
    with rig.session_factory() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == "handed_over"))
        assert sum("interrupted send" in e.detail for e in found) == 5
    # The file that may not have been there is never rewritten: the rest went in new ones.
    names = [p.name for p in rig.written()]
    assert sum("transactions" in name for name in names) == 2
    assert lost[0] in names


@pytest.mark.parametrize("lands", [False, True], ids=["never renamed", "renamed later"])
def test_records_whose_write_answer_was_lost_stay_uncertain_until_the_next_send(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch, lands: bool
) -> None:
    """The share dropped at the rename: a look moments later that does not find the file
    never sends its records again in that run. The next send looks afresh: a file that
    arrived hands them over; none sends them once."""
    replace, unlink = Path.replace, Path.unlink
    pending: list[tuple[Path, Path]] = []

    def lost(self: Path, target: Path) -> Path:
        if "transactions" in target.name and not pending:
            pending.append((self, target))  # the server may still hold the request
            raise OSError(errno.EIO, "Input/output error")
        return replace(self, target)

    def held(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".part" and lands and pending:
            raise PermissionError(errno.EACCES, "sharing violation")
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "replace", lost)
    monkeypatch.setattr(Path, "unlink", held)
    first = rig.send()
    monkeypatch.undo()
    # The invoices' file is not there (yet): they stay uncertain, not written again.
    assert first.uncertain == {"invoice": EVERYTHING["invoice"]}
    assert first.resolved_not_found == 0
    assert not pending[0][1].exists()
    with rig.session_factory() as session:
        states = Counter(session.scalars(select(OutboxEntry.state)))
    assert states[SendState.UNCERTAIN] == EVERYTHING["invoice"]
    # (the credit note and the payments are held back: their invoices are not sent)
    assert states == {
        SendState.UNCERTAIN: EVERYTHING["invoice"],
        SendState.HANDED_OVER: EVERYTHING["customer"] + EVERYTHING["supplier"],
        SendState.FAILED: EVERYTHING["credit_note"] + EVERYTHING["payment"],
    }
    if lands:
        [(temp, target)] = pending
        replace(temp, target)  # the server's rename lands after the run
    second = rig.send()
    assert second.ok and not second.uncertain
    assert second.resolved_not_found == (0 if lands else EVERYTHING["invoice"])
    assert_each_once(rig)


def test_preflight_uses_the_same_rules_as_the_files(rig: SageRig) -> None:
    rig.update(financial_year_start="2026-01-06", lock_date="")
    with rig.connector() as connector:
        report = Preflight(rig.session_factory, connector).run()
    failed = {item.label: item.problem.code for item in report.failures if item.problem}
    # (the payment of that invoice waits for it)
    assert failed == {"Invoice INV-1": "outside_financial_year", "Payment PAY-1": "blocked"}
    # The send refuses the same record and writes the rest.
    sent = rig.send()
    assert sent.failed == {"invoice": 1, "payment": 1}
    assert ("SI", "INV-1", "Boiler service") not in all_lines(rig.folder)


def test_a_send_that_looks_up_and_checks_reads_each_file_once(
    rig: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash, the next send both looks for the records cut off (every file) and
    checks the rest's accounts against the customers already written (the Customer
    Records file): each file is read once for both, not once for each."""
    _crash_after_writing_invoices(rig, monkeypatch)

    read_rows = files.read_rows
    reads: Counter[str] = Counter()

    def counted(path: Path) -> Iterator[tuple[int, list[str]]]:
        reads[path.name] += 1
        return read_rows(path)

    monkeypatch.setattr(files, "read_rows", counted)
    report = rig.send()
    monkeypatch.setattr(files, "read_rows", read_rows)
    assert report.handed_over["invoice"] == 5 and not report.failed
    assert_each_once(rig)
    assert any(name.endswith("-1-customer-records.csv") for name in reads), reads
    assert set(reads.values()) == {1}, reads
