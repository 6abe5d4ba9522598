"""The "Keep contacts in step" page: side by side, directions per row, apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.db.models import Contact, Link
from app.services.linking.sync import Direction, record_agreement, set_sync_enabled
from app.services.setup.routing import Page
from app.ui.windows.main_window import MainWindow
from connectors.contract import ContactUpdate
from connectors.sandbox import SandboxConnector
from tests.conftest import MemoryKeyring
from tests.screenshots import save_screenshot
from tests.send_fixtures import SendRig, build_rig
from tests.test_wizard_pages import clipped
from wizard_pages.sync_page import SyncPage

LONG = 60_000


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    rig.send()
    with rig.session_factory.begin() as session:
        set_sync_enabled(session, "sandbox", True, actor="test")
    with rig.connector() as connector:
        assert record_agreement(rig.session_factory, connector, actor="test") == 4
    yield rig
    rig.store.close()


def link_of(rig: SendRig, ref: str) -> str:
    with rig.session_factory() as session:
        return session.scalars(
            select(Link.remote_ref).join(Contact).where(Contact.account_ref == ref)
        ).one()


def change_ours(rig: SendRig, ref: str, **values: str) -> None:
    with rig.session_factory.begin() as session:
        contact = session.scalars(select(Contact).where(Contact.account_ref == ref)).one()
        for name, value in values.items():
            setattr(contact, name, value)


def change_theirs(connector: SandboxConnector, ref: str, **values: str) -> None:
    remote = connector.get_contact(ref)
    assert remote is not None
    current = {name: getattr(remote, name) for name in ContactUpdate.__dataclass_fields__}
    connector.store.update_contact(ref, ContactUpdate(**{**current, **values}))


def test_choose_directions_and_apply(qtbot: QtBot, rig: SendRig) -> None:
    change_ours(rig, "C1", town="Market Harborough")
    change_ours(rig, "C3", town="Oadby")
    with rig.connector() as connector:
        change_theirs(connector, link_of(rig, "C2"), postcode="LE2 7ZZ")
        change_theirs(connector, link_of(rig, "C3"), town="Wigston")

    window = MainWindow(rig.store.paths, page="sync")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        window.show()
        window.open()
    assert window.wizard is not None
    page = window.wizard.pages[Page.SYNC]
    assert isinstance(page, SyncPage)
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=LONG)
    qtbot.waitUntil(lambda: page.apply_button.isEnabled(), timeout=LONG)
    assert page.enabled_box.isChecked()
    by_ref = {row.account_ref: n for n, row in enumerate(page.model.rows)}
    model = page.model
    goes = model.COLUMNS.index("Goes")

    def shown(ref: str, column: int) -> str:
        return str(model.index(by_ref[ref], column).data())

    assert shown("C1", goes) == "Ours → package"
    assert shown("C2", goes) == "Package → ours"
    assert shown("C3", goes) == "Leave as is"  # changed on both sides: the user decides
    assert shown("C3", model.COLUMNS.index("Changed")) == "both sides"
    assert "Oadby" in shown("C3", model.COLUMNS.index("Ours"))
    assert "Wigston" in shown("C3", model.COLUMNS.index("Package"))
    save_screenshot(window, "sync-page")
    assert clipped(page) == []

    # "Take what changed" never touches the conflict; choosing for it is explicit.
    model.choose([by_ref["C3"]], Direction.LEAVE)
    page.offers_button.click()
    assert shown("C3", goes) == "Leave as is"
    page.table.selectRow(by_ref["C3"])
    page.theirs_button.click()
    assert shown("C3", goes) == "Package → ours"

    page.apply_button.click()
    qtbot.waitUntil(lambda: "Written to" in page.status.text(), timeout=LONG)
    assert (
        "Written to Sandbox (practice package): 1; taken into Ledgerlink: 2" in page.status.text()
    )
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=LONG)
    with rig.connector() as connector:
        remote = connector.get_contact(link_of(rig, "C1"))
        assert remote is not None and remote.town == "Market Harborough"
    with rig.session_factory() as session:
        towns = {c.account_ref: (c.town, c.postcode) for c in session.scalars(select(Contact))}
    assert towns["C3"][0] == "Wigston" and towns["C2"][1] == "LE2 7ZZ"
    window.close()


def test_the_model_passes_the_model_tester(qtmodeltester: object, rig: SendRig) -> None:
    from app.services.linking.sync import sync_rows
    from wizard_pages.sync_page import SyncModel

    change_ours(rig, "C1", town="Lutterworth")
    with rig.connector() as connector:
        rows = sync_rows(rig.session_factory, connector)
    model = SyncModel()
    model.set_rows(rows)
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 1


def test_a_row_waiting_for_a_desktop_bridge_or_refused_by_it_says_so(
    qtmodeltester: object,
) -> None:
    from dataclasses import replace

    from app.services.linking.sync import SyncRow
    from connectors.contract import SYNC_FIELDS, ContactRole
    from wizard_pages.sync_page import SyncModel

    values = dict.fromkeys(SYNC_FIELDS, "")
    row = SyncRow(
        contact_id=1,
        role=ContactRole.CUSTOMER,
        account_ref="C1",
        our_name="Ada Boilers Ltd",
        their_ref="Ada Boilers Ltd",
        their_name="Ada Boilers Ltd",
        ours={**values, "town": "Oadby"},
        theirs={**values, "town": "Leicester"},
        differing=("town",),
        changed_ours=True,
        changed_theirs=False,
        waiting="queued for the QuickBooks Web Connector's next poll",
    )
    refused = replace(row, contact_id=2, waiting="", refused="changed in QuickBooks (3200)")
    model = SyncModel()
    model.set_rows([row, refused])
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert "waiting: queued for the QuickBooks Web Connector" in str(model.index(0, 4).data())
    assert "last values refused: changed in QuickBooks (3200)" in str(model.index(1, 4).data())
