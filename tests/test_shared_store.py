"""A shared PostgreSQL store used from several computers at once, on a real server.

Two `ledgerlink send` processes with different data folders (two PCs) on one database,
one killed mid-send; the advisory lock; links edited in two windows at once; the server
down, a wrong password, connections dropped mid-send; `ledgerlink store use` and
`ledgerlink store copy`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from app.config import DataPaths
from app.db.engine import make_engine, make_session_factory
from app.db.location import password_name
from app.db.models import Contact, ContactKind, Link, LinkMethod, OutboxEntry, SendState
from app.services.linking.saving import CHANGED_ELSEWHERE, ChangedElsewhere, LinkChange, apply_links
from app.services.sending.lock import DatabaseSendLock, SendInProgress, SendLockLost
from app.services.store import open_store
from connectors.contract import DocumentType
from tests import postgres_server
from tests.conftest import MemoryKeyring
from tests.test_crash_safety import CUSTOMERS, INVOICES, PAYMENTS, _prepare, _sandbox

on_postgres = pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)


def _send(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(root), "send", "--json", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _said(outcome: subprocess.CompletedProcess[str]) -> str:
    """What a command printed, with the crash report it pointed to, if any: a failure on
    CI then shows why, though the report's folder is gone."""
    text = f"exit {outcome.returncode}\n{outcome.stdout}\n{outcome.stderr}"
    found = re.search(r"full report: (\S+)", outcome.stderr)
    if found and Path(found.group(1)).is_file():
        text += "\n" + Path(found.group(1)).read_text(encoding="utf-8")
    return text


def _states(url: str) -> dict[SendState, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return dict(
                connection.execute(
                    select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
                ).all()
            )
    finally:
        engine.dispose()


def _assert_each_record_once(root: Path, sandbox_file: Path) -> None:
    with _sandbox(root, sandbox_file) as connector:
        store = connector.store
        assert store.count_contacts() == CUSTOMERS
        invoices = Counter(d.number for d in store.list_documents(DocumentType.INVOICE))
        payments = Counter(p.reference for p in store.list_payments())
    assert len(invoices) == INVOICES and set(invoices.values()) == {1}
    assert len(payments) == PAYMENTS and set(payments.values()) == {1}


# ---------------------------------------------------------------- two computers, one store


@pytest.mark.slow
@on_postgres
def test_two_computers_sending_at_once_one_killed_never_duplicate_or_lose(
    tmp_path: Path, store_url: str
) -> None:
    office, laptop = tmp_path / "office-pc", tmp_path / "laptop"
    sandbox_file = tmp_path / "shared-sandbox.db"
    _prepare(office, sandbox_file)

    with (
        subprocess.Popen(
            [*_send(office), "--progress"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        ) as first,
    ):
        assert first.stderr is not None
        for seen, _line in enumerate(first.stderr, start=1):
            if seen == 3:  # the office PC is mid-send and holds the lock
                break
        # Frozen there (its server session, and so the lock, stay), so however fast the
        # send has become it cannot finish before the laptop tries.
        first.send_signal(signal.SIGSTOP)
        # The laptop starts its own send on the same database meanwhile: it must not run.
        second = subprocess.run(
            _send(laptop), capture_output=True, text=True, env=_env(), timeout=120, check=False
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    assert "Traceback" not in second.stderr, _said(second)
    assert second.stdout.strip(), f"the laptop said nothing: {_said(second)}"
    busy = json.loads(second.stdout)
    assert "already running on this shared store" in busy["stopped_reason"], second.stdout
    assert busy["sent"] == {}
    assert (
        _states(store_url).get(SendState.PROCESSING, 0)
        + _states(store_url).get(SendState.SUCCESSFUL, 0)
        > 0
    )

    # The killed send's connection is gone, so the server released its lock: the laptop
    # takes over, resolves what was in flight by asking the package, and finishes.
    finish = subprocess.run(
        _send(laptop), capture_output=True, text=True, env=_env(), timeout=300, check=False
    )
    assert finish.returncode == 0, _said(finish)
    _assert_each_record_once(office, sandbox_file)
    assert _states(store_url) == {SendState.SUCCESSFUL: CUSTOMERS + INVOICES + PAYMENTS}


@on_postgres
def test_advisory_lock_is_one_holder_and_dies_with_its_connection(engine: Engine) -> None:
    other = make_engine(engine.url)
    try:
        holder = DatabaseSendLock(engine)
        with holder:
            with pytest.raises(SendInProgress, match="another one"), DatabaseSendLock(other):
                pass
            # The holder's computer vanishes: the server ends its session.
            with other.connect() as admin:
                # (with a timeout, it waits until that session has really ended)
                ended = admin.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).all()
            assert ended == [(True,)]
            with pytest.raises(SendLockLost, match=r"127\.0\.0\.1"):
                holder.verify()  # the sender checks this before each batch, and stops
            with DatabaseSendLock(other):
                pass  # free again, with no one releasing it
    finally:
        other.dispose()


@pytest.mark.slow
@on_postgres
def test_connections_dropped_mid_send_lose_nothing(tmp_path: Path, store_url: str) -> None:
    root, sandbox_file = tmp_path / "data", tmp_path / "sandbox.db"
    _prepare(root, sandbox_file)
    admin = make_engine(store_url)
    stop = threading.Event()
    dropped = 0

    def drop_connections() -> None:
        nonlocal dropped
        with admin.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            while not stop.wait(0.3):
                dropped += connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'ledgerlink' AND pid <> pg_backend_pid() "
                        "AND datname = current_database()"
                    )
                ).scalar_one()

    dropper = threading.Thread(target=drop_connections)
    dropper.start()
    try:
        outcomes = [
            subprocess.run(
                _send(root), capture_output=True, text=True, env=_env(), timeout=300, check=False
            )
            for _ in range(3)
        ]
    finally:
        stop.set()
        dropper.join()
        admin.dispose()
    assert dropped > 0
    for outcome in outcomes:
        assert "Traceback" not in outcome.stderr, _said(outcome)
        if outcome.returncode != 0:  # stopped, or failed: either way naming the server
            assert "127.0.0.1" in outcome.stderr + outcome.stdout, _said(outcome)
    finish = subprocess.run(
        _send(root), capture_output=True, text=True, env=_env(), timeout=300, check=False
    )
    assert finish.returncode == 0, _said(finish)
    _assert_each_record_once(root, sandbox_file)
    assert _states(store_url) == {SendState.SUCCESSFUL: CUSTOMERS + INVOICES + PAYMENTS}


# ------------------------------------------------------------------ linking in two windows


def _contact(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        contact = Contact(kind=ContactKind.CUSTOMER, account_ref="C1", name="Ada Boilers")
        session.add(contact)
        session.flush()
        return contact.id


@pytest.mark.both_stores
def test_saving_links_someone_else_changed_since_loading_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    contact_id = _contact(session_factory)
    # Both windows loaded the contact unlinked; the bookkeeper saves first.
    with session_factory.begin() as bookkeeper:
        apply_links(
            bookkeeper, "sandbox", [LinkChange(contact_id, "R-1", loaded_ref="")], actor="a"
        )
    with pytest.raises(ChangedElsewhere, match=CHANGED_ELSEWHERE), session_factory.begin() as s:
        apply_links(s, "sandbox", [LinkChange(contact_id, "R-2", loaded_ref="")], actor="b")
    with session_factory() as session:
        assert session.scalars(select(Link.remote_ref)).all() == ["R-1"]
    # After reloading, the office manager sees R-1 and may change it.
    with session_factory.begin() as session:
        apply_links(
            session, "sandbox", [LinkChange(contact_id, "R-2", loaded_ref="R-1")], actor="b"
        )
    with session_factory() as session:
        assert session.scalars(select(Link.version)).one() == 2


@pytest.mark.both_stores
def test_a_save_racing_another_is_refused_by_the_version_number(
    session_factory: sessionmaker[Session],
) -> None:
    contact_id = _contact(session_factory)
    with session_factory.begin() as session:
        apply_links(session, "sandbox", [LinkChange(contact_id, "R-1")], actor="a")
    with session_factory() as slow:
        # The slow window has read the link (version 1) when the other one saves.
        assert slow.scalars(select(Link)).one().remote_ref == "R-1"
        with session_factory.begin() as fast:
            apply_links(fast, "sandbox", [LinkChange(contact_id, "R-2")], actor="fast")
        with pytest.raises(ChangedElsewhere, match=CHANGED_ELSEWHERE):
            apply_links(
                slow, "sandbox", [LinkChange(contact_id, "R-3", loaded_ref="R-1")], actor="slow"
            )
        slow.rollback()
    with session_factory() as session:
        assert session.scalars(select(Link.remote_ref)).all() == ["R-2"]


# ---------------------------------------------------------------------- connection problems


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "") -> tuple[int, str]:
    old, handlers = sys.stdin, list(logging.getLogger().handlers)
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(args)
    finally:
        sys.stdin = old
        for handler in logging.getLogger().handlers:  # what the command set up, and no more
            if handler not in handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_server_that_is_down_is_named_and_nothing_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("LEDGERLINK_DATABASE_URL", f"postgresql://office@127.0.0.1:{port}/books")
    code, output = _cli(["--data-dir", str(tmp_path / "d"), "status"], capsys)
    assert code == 2
    assert f"cannot reach the PostgreSQL server 127.0.0.1:{port} (database books" in output
    assert "Traceback" not in output


@on_postgres
def test_store_use_keeps_the_password_in_the_keyring_only(
    tmp_path: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = postgres_server.server_url()
    assert server is not None
    database = make_url(store_url).database
    role, secret = f"r_{database}", "correct horse battery"
    postgres_server.run_admin(server, f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'")
    postgres_server.run_admin(server, f'ALTER DATABASE "{database}" OWNER TO {role}')
    monkeypatch.delenv("LEDGERLINK_DATABASE_URL")
    address = f"postgresql://{role}@{server.host}:{server.port}/{database}"
    folder = tmp_path / "pc"

    code, output = _cli(["--data-dir", str(folder), "store", "use", address], capsys, "wrong\n")
    assert code == 2 and "refused the password" in output and "Traceback" not in output
    assert not (folder / "store.json").exists()

    code, output = _cli(["--data-dir", str(folder), "store", "use", address], capsys, secret + "\n")
    assert code == 0, output
    assert json.loads((folder / "store.json").read_text()) == {"url": address}
    assert memory_keyring.entries[("Ledgerlink", password_name(address))] == secret
    code, output = _cli(["--data-dir", str(folder), "status", "--json"], capsys)
    assert code == 0, output
    code, output = _cli(["--data-dir", str(folder), "store", "show"], capsys)
    assert f"PostgreSQL server {server.host}:{server.port} (database {database}" in output
    logged = b"".join(p.read_bytes() for p in (folder / "logs").glob("*"))
    files = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert secret.encode() not in files and secret.encode() not in logged

    code, output = _cli(
        ["--data-dir", str(folder), "store", "use", address.replace(role, f"{role}:pw")], capsys
    )
    assert code == 2 and "Leave the password out of the address" in output


@on_postgres
def test_store_copy_moves_a_sqlite_store_and_checks_it(
    tmp_path: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("LEDGERLINK_DATABASE_URL")
    root = tmp_path / "office"
    _prepare(root)  # 1,000 records on the SQLite file
    local = open_store(DataPaths(root))
    with local.session_factory.begin() as session:
        contact_id = session.scalars(select(Contact.id)).first()
        assert contact_id is not None
        apply_links(
            session, "sandbox", [LinkChange(contact_id, "R-9", method=LinkMethod.TYPED)], actor="t"
        )
    local.close()
    target = make_url(store_url)
    address = target._replace(password=None).render_as_string()
    stdin = f"{target.password}\n"

    code, output = _cli(["--data-dir", str(root), "store", "copy", "--to", address], capsys, stdin)
    assert code == 0, output
    assert "Copied and checked row for row" in output
    code, output = _cli(["--data-dir", str(root), "store", "copy", "--to", address], capsys, stdin)
    assert code == 2 and "is not empty" in output

    copied = make_engine(store_url)
    factory = make_session_factory(copied)
    with factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 1
        assert session.scalar(select(func.count()).select_from(Contact)) == CUSTOMERS
        assert session.scalars(select(Link.remote_ref)).all() == ["R-9"]
        # New rows get new ids: the sequences were moved past the copied ones.
        session.add(Contact(kind=ContactKind.SUPPLIER, account_ref="S-NEW", name="New"))
    copied.dispose()


def test_the_demo_never_uses_a_shared_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERLINK_DATABASE_URL", "postgresql://office@db.example.lan/books")
    paths = DataPaths(tmp_path / "data")
    assert paths.database_url == "postgresql://office@db.example.lan/books"
    assert paths.demo().database_url == f"sqlite:///{tmp_path / 'data' / 'demo' / 'ledgerlink.db'}"


def test_a_damaged_store_file_is_a_clear_set_up_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "store.json").write_text("{not json", encoding="utf-8")
    code, output = _cli(["--data-dir", str(folder), "status"], capsys)
    assert code == 2 and "store.json cannot be read" in output and "Traceback" not in output
