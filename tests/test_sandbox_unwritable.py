"""A Sandbox file that cannot be written (read-only, disk full): a send stops naming the
file and what to do, with nothing written and every record waiting; never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connectors.contract import ContactDraft, ContactRole
from connectors.sandbox import SandboxFileError, SandboxStore
from tests.conftest import MemoryKeyring
from tests.send_fixtures import EXPECTED, build_rig
from tests.test_sending import run, states


@contextmanager
def read_only(store: SandboxStore) -> Iterator[None]:
    """Every new connection of ``store`` refuses writes, as SQLite does for a read-only
    file (permissions would not stop root, who runs CI)."""

    def refuse_writes(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")

    engine = store._engine
    engine.dispose()
    event.listen(engine, "connect", refuse_writes)
    try:
        yield
    finally:
        event.remove(engine, "connect", refuse_writes)
        engine.dispose()


def test_a_write_to_a_file_that_cannot_be_written_names_it_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.db"
    draft = ContactDraft(role=ContactRole.CUSTOMER, our_ref="C1", name="Ada Boilers Ltd")
    with SandboxStore(path) as store:
        with read_only(store):
            assert store.count_contacts() == 0  # reading still works
            with pytest.raises(SandboxFileError) as refused:
                store.create_contact(draft, "key-1")
        said = str(refused.value)
        assert str(path) in said and "cannot be written" in said and "nothing" in said
        assert store.count_contacts() == 0
        store.create_contact(draft, "key-1")
        assert store.count_contacts() == 1


def test_a_send_to_a_file_that_cannot_be_written_stops_and_loses_nothing(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    rig = build_rig(tmp_path / "data", memory_keyring)
    try:
        with rig.connector() as connector:
            with read_only(connector.store):
                report = rig.sender(connector).run()
            path = connector.database_path
        assert str(path) in report.stopped_reason
        assert "cannot be written" in report.stopped_reason
        assert "fault in Ledgerlink" not in report.stopped_reason
        assert set(states(rig)) == {"waiting"}
        assert not report.uncertain

        assert run(rig).ok
        assert rig.package_counts() == EXPECTED
    finally:
        rig.store.close()
