"""Pairing QuickBooks Desktop from the Connect page, the service the window keeps
running, and the dashboard's "Queued for QuickBooks" column."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.db.models import Situation
from app.services.qbwc import hosting
from app.services.qbwc.pairing import PASSWORD_SECRET, load_pairing
from app.services.setup.state import SetupState
from app.services.store import Store, open_store
from app.ui.windows.status_models import StatusModel
from tests.conftest import MemoryKeyring
from tests.standins.quickbooks_desktop import FakeQuickBooks, WebConnectorClient
from tests.test_wizard_flow import LONG
from wizard_pages.connect_page import ConnectPage
from wizard_pages.context import WizardContext
from wizard_pages.qbwc_panel import QbwcPanel

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)


@pytest.fixture
def store(data_paths: DataPaths) -> Iterator[Store]:
    opened = open_store(data_paths)
    yield opened
    hosting.stop(opened.paths.root)
    opened.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pair_wait_for_the_first_poll_then_connected(
    qtbot: QtBot, store: Store, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    choices = SetupState(package="quickbooks_desktop", situation=Situation.PACKAGE_FIRST)
    page = ConnectPage(WizardContext(store, choices))
    qtbot.addWidget(page)
    page.initializePage()
    page.show()
    panels = page.findChildren(QbwcPanel)
    assert len(panels) == 1
    panel = panels[0]
    assert "Add an application" in panel.steps.text()
    qtbot.waitUntil(lambda: "Not paired" in panel.status.text(), timeout=LONG)

    qtbot.keyClicks(panel.password, "correct horse battery")
    panel.port.setValue(free_port())
    out = tmp_path / "Ledgerlink.qwc"
    with qtbot.waitSignal(panel.changed, timeout=LONG):
        panel.save_to(out)
    assert out.is_file() and panel.password.text() == ""
    assert "Waiting for the Web Connector" in panel.status.text()
    assert memory_keyring.entries[("Ledgerlink", PASSWORD_SECRET)] == "correct horse battery"
    assert hosting.running(store.paths.root)
    assert not page.isComplete()

    with store.session_factory() as session:
        pairing = load_pairing(session)
    assert pairing is not None
    qb = FakeQuickBooks(file_id=pairing.file_id)
    client = WebConnectorClient(
        f"http://127.0.0.1:{pairing.port}/qbwc", "ledgerlink", "correct horse battery"
    )
    assert client.run(qb).progress == [100]

    with qtbot.waitSignal(panel.connected, timeout=LONG) as arrived:
        panel.refresh()
    assert arrived.args is not None and arrived.args[0].name == "Heating Co Ltd"
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert "lists have arrived" in panel.status.text()
    panel.stop()
    page.context.shutdown()


def test_status_model_shows_the_handed_over_column(qtmodeltester: ModelTester) -> None:
    model = StatusModel()
    states = {"customer": {"handed_over": 3, "successful": 1}}
    model.set_states(states, "Queued for QuickBooks")
    qtmodeltester.check(model)
    horizontal = Qt.Orientation.Horizontal
    headers = [model.headerData(c, horizontal) for c in range(model.columnCount())]
    assert "Queued for QuickBooks" in headers
    column = headers.index("Queued for QuickBooks")
    assert model.data(model.index(0, column)) == "3"
    model.set_states(states)
    assert model.columnCount() == len(headers) - 1


def test_the_window_serves_the_web_connector_while_open(
    qtbot: QtBot, data_paths: DataPaths, tmp_path: Path
) -> None:
    from app.services.qbwc.pairing import write_qwc_file
    from app.services.setup.state import choose_package
    from tests.test_wizard_flow import open_window

    prepared = open_store(data_paths)
    with prepared.session_factory.begin() as session:
        choose_package(session, "quickbooks_desktop", Situation.PACKAGE_FIRST)
        write_qwc_file(session, tmp_path / "l.qwc", port=free_port())
    prepared.close()

    window = open_window(qtbot, data_paths)
    qtbot.waitUntil(lambda: hosting.running(data_paths.root), timeout=LONG)
    qtbot.waitUntil(lambda: "Listening" in window.statusBar().currentMessage(), timeout=LONG)
    window.close()
    assert not hosting.running(data_paths.root)
