"""Finished steps of multi-step records live in the app's store, so a second PC on a
shared store finishes what the first started, and an earlier version's step file is
moved in once (issue 17: never the same record twice across machines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.services.sending.step_store import StoreSteps, adopt_step_file
from app.services.setup.connections import connector_for
from connectors.cloud import CloudConnector
from connectors.contract import RemoteRecordType
from connectors.errors import TemporarilyUnavailable
from connectors.steps import StepLog
from tests.connector_harness import open_xero
from tests.standins.clock import VirtualClock
from tests.standins.openapi import xero_checker
from tests.standins.xero import FaultKind, XeroStandIn
from tests.test_finished_steps import _credit_for, _credit_note_creates

pytestmark = pytest.mark.both_stores


def test_steps_are_written_read_and_forgotten_per_package(
    session_factory: sessionmaker[Session],
) -> None:
    xero, freeagent = StoreSteps(session_factory, "xero"), StoreSteps(session_factory, "freeagent")
    xero.put("credit_note:CN-1", {"id": "abc", "left": "allocate"})
    xero.put("credit_note:CN-1", {"id": "abc", "left": "nothing"})
    freeagent.put("invoice:INV-9", {"url": "u"})
    assert xero.get("credit_note:CN-1") == {"id": "abc", "left": "nothing"}
    assert xero.unfinished_keys() == ["credit_note:CN-1"]
    assert freeagent.get("credit_note:CN-1") is None
    xero.forget("credit_note:CN-1")
    xero.forget("credit_note:CN-1")  # forgetting twice is harmless
    assert xero.unfinished_keys() == [] and freeagent.unfinished_keys() == ["invoice:INV-9"]


def test_a_record_one_pc_started_is_finished_by_another_on_the_same_store(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    clock = VirtualClock()
    standin = XeroStandIn(clock=clock.now, checker=xero_checker(), strict=True)
    org = standin.add_organisation()
    shared = StoreSteps(session_factory, "xero")
    pc_a, pc_b = tmp_path / "pc-a", tmp_path / "pc-b"
    pc_a.mkdir()
    pc_b.mkdir()
    with open_xero(pc_a, standin, sleep=clock.sleep, steps=shared)[1] as connector:
        inv, credit = _credit_for(connector)
        standin.arm(FaultKind.REFUSE_CONNECTION, path="CreditNotes/")
        with pytest.raises(TemporarilyUnavailable):
            connector.create_document(credit, "k3")  # type: ignore[arg-type]
    # PC A dies here; PC B (its own data folder, the same store) takes the record up.
    with open_xero(pc_b, standin, sleep=clock.sleep, steps=shared)[1] as other:
        assert other.steps.unfinished_keys() == ["credit_note:CN-1"]
        found = other.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1")
    assert found is not None and _credit_note_creates(standin) == 1
    assert [a["Invoice"]["InvoiceID"] for a in org.credit_notes[found]["Allocations"]] == [inv]
    assert shared.unfinished_keys() == []
    assert not list(pc_a.rglob("*-steps.sqlite3")) and not list(pc_b.rglob("*-steps.sqlite3"))


def test_an_earlier_versions_step_file_is_moved_into_the_store_once(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "old"
    legacy = StepLog.in_folder(folder, "xero")
    legacy.put("credit_note:CN-7", {"id": "from-file"})
    legacy.put("credit_note:CN-8", {"id": "stale"})
    steps = StoreSteps(session_factory, "xero")
    steps.put("credit_note:CN-8", {"id": "already-in-store"})

    assert adopt_step_file(steps, folder) == 1
    assert steps.get("credit_note:CN-7") == {"id": "from-file"}
    assert steps.get("credit_note:CN-8") == {"id": "already-in-store"}
    assert not (folder / "xero-steps.sqlite3").exists()
    assert (folder / "xero-steps.sqlite3.moved-to-store").exists()
    assert adopt_step_file(steps, folder) == 0


def test_the_apps_connectors_keep_their_steps_in_the_store(
    data_paths: DataPaths, session_factory: sessionmaker[Session]
) -> None:
    StepLog.in_folder(data_paths.root, "xero").put("invoice:INV-1", {"id": "x"})
    connector = connector_for(data_paths, "xero", {}, None, session_factory)
    assert isinstance(connector, CloudConnector)
    assert isinstance(connector.steps, StoreSteps)
    assert connector.steps.get("invoice:INV-1") == {"id": "x"}
