"""The Connect page signs in to Xero for real (a local Xero over loopback) and never
shows a token: not in a label, a field, a list or a tooltip, so not in a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QTextEdit, QWidget
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.db.models import Situation
from app.services.setup.state import load_setup, package_settings_key, set_setting
from app.services.store import Store, open_store
from tests.conftest import MemoryKeyring
from tests.screenshots import save_screenshot
from tests.standins.loopback import LoopbackServer
from tests.standins.xero import XeroStandIn
from tests.test_signin import browse
from tests.test_wizard_pages import click
from wizard_pages.connect_page import ConnectPage
from wizard_pages.context import WizardContext

LONG = 20_000


@pytest.fixture
def store(data_paths: DataPaths) -> Iterator[Store]:
    opened = open_store(data_paths)
    yield opened
    opened.close()


def everything_shown(root: QWidget) -> str:
    """Every text the page can put in front of a person."""
    texts: list[str] = [root.windowTitle()]
    for widget in root.findChildren(QWidget):
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        elif isinstance(widget, QTextEdit):
            texts.append(widget.toPlainText())
        elif isinstance(widget, QComboBox):
            texts.extend(widget.itemText(i) for i in range(widget.count()))
    return "\n".join(texts)


def test_signing_in_on_the_connect_page_keeps_every_token_off_the_screen(
    qtbot: QtBot, store: Store, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin = XeroStandIn()
    standin.add_organisation("Hill Heating Ltd", "!HiLL1")
    standin.add_organisation("Hill Heating (Old Books) Ltd", "!HiLL2")
    opened: list[str] = []
    monkeypatch.setattr(
        "wizard_pages.sign_in_panel.QDesktopServices.openUrl",
        lambda url: opened.append(url.toString()) or True,
    )
    with LoopbackServer(standin) as server:
        with store.session_factory.begin() as session:
            set_setting(
                session,
                package_settings_key("xero"),
                {
                    "endpoint": server.url,
                    "client_id": standin.auth.client_id,
                    "redirect_ports": "0",
                },
            )
        with store.session_factory() as session:
            choices = replace(load_setup(session), package="xero", situation=Situation.SIDE_BY_SIDE)
        page = ConnectPage(WizardContext(store, choices))
        qtbot.addWidget(page)
        page.initializePage()
        page.resize(760, 560)
        page.show()
        panel = page.sign_in_panels["signin"]
        qtbot.waitUntil(panel.button.isEnabled, timeout=LONG)

        qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(opened), timeout=LONG)
        assert "close this tab" in browse(opened[0])  # the browser signs in, comes back
        qtbot.waitUntil(panel.picker.isVisible, timeout=LONG)
        panel.organisation.setCurrentIndex(1)
        click(qtbot, panel.choose_button)  # once the picker is laid out
        qtbot.waitUntil(page.isComplete, timeout=LONG)
        assert "Hill Heating (Old Books) Ltd" in page.status.text()
        save_screenshot(page, "connect-xero-signed-in")

        shown = everything_shown(page)
        issued = standin.auth.issued
        assert issued, "the stand-in issued no tokens"
        for secret in issued:
            assert secret not in shown
        stored = {name for (_service, name) in memory_keyring.entries}
        assert {"xero.access_token", "xero.refresh_token"} <= stored
        page.context.shutdown()
