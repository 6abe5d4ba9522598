"""A Sandbox file shared by two Ledgerlink processes, while one's send holds its write lock.

The other must still open it (to learn that a send is running, or to read its
company and chart), and a write that cannot get the lock says so, naming the file,
with nothing written and nothing lost.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.services.errors import UserError, user_error_from
from connectors.contract import ContactDraft, ContactRole
from connectors.sandbox import DEFAULT_COMPANY_NAME, SandboxBusy, SandboxStore
from connectors.sandbox import store as sandbox_store
from tests.conftest import MemoryKeyring
from tests.send_fixtures import EXPECTED, build_rig
from tests.test_sending import run, states


@pytest.fixture(autouse=True)
def _short_busy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real wait is 10 s; a twentieth of a second shows the same behaviour.
    monkeypatch.setattr(sandbox_store, "BUSY_TIMEOUT_MS", 50)


@contextmanager
def another_send_writing(path: Path) -> Iterator[None]:
    """Another process's connection holding the file's write lock, as a send does
    between BEGIN IMMEDIATE and COMMIT."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def _made(path: Path) -> Path:
    SandboxStore(path).close()
    return path


def test_a_file_another_send_is_writing_to_opens_and_reads_without_waiting(
    tmp_path: Path,
) -> None:
    path = _made(tmp_path / "shared-sandbox.db")
    with another_send_writing(path), SandboxStore(path) as store:
        assert store.company().name == DEFAULT_COMPANY_NAME
        assert {a.code for a in store.list_accounts()} >= {"4000", "1200"}


def test_a_write_that_cannot_get_the_lock_names_the_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = _made(tmp_path / "shared-sandbox.db")
    draft = ContactDraft(role=ContactRole.CUSTOMER, our_ref="C1", name="Ada Boilers Ltd")
    with SandboxStore(path) as store:
        with another_send_writing(path), pytest.raises(SandboxBusy) as busy:
            store.create_contact(draft, "key-1")
        assert str(path) in str(busy.value)
        assert "Nothing was written" in str(busy.value)
        assert store.count_contacts() == 0
        # Free again: the same create goes through.
        store.create_contact(draft, "key-1")
        assert store.count_contacts() == 1
    problem = user_error_from(busy.value, "Sandbox")
    assert isinstance(problem, UserError)
    assert str(path) in problem.one_line() and "internet" not in problem.one_line()


def test_a_send_while_another_holds_the_lock_stops_naming_the_file_and_loses_nothing(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    rig = build_rig(tmp_path / "data", memory_keyring)
    try:
        with rig.connector() as connector:
            path = connector.database_path
        with another_send_writing(path):
            report = run(rig)
        assert re.search(rf"{re.escape(str(path))} is busy", report.stopped_reason)
        assert "not answering" not in report.stopped_reason
        assert set(states(rig)) == {"waiting"}  # nothing processing, uncertain or lost
        assert rig.time.sleeps  # retried (with back-off) before stopping

        assert run(rig).ok
        assert rig.package_counts() == EXPECTED
    finally:
        rig.store.close()


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        (5, True),
        (6, True),
        (261, True),
        (517, True),
        (773, True),
        (262, True),
        (8, False),
        (1, False),
    ],
    ids=[
        "busy",
        "locked",
        "busy_recovery",
        "busy_snapshot",
        "busy_timeout",
        "locked_sharedcache",
        "readonly",
        "error",
    ],
)
def test_busy_is_told_by_sqlites_primary_code_under_its_extended_one(code: int, busy: bool) -> None:
    """Python reports SQLite's extended result codes; their low byte is the primary."""
    from sqlalchemy.exc import OperationalError

    raw = sqlite3.OperationalError("database is locked")
    raw.sqlite_errorcode = code
    assert sandbox_store._is_busy(OperationalError("BEGIN IMMEDIATE", {}, raw)) is busy
