"""Quick links pressed on the dashboard before its store is open: each waits for the
store, and only the last one pressed meanwhile (each replaces the view) is shown."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.services.setup.routing import Page
from app.ui.windows.main_window import MainWindow
from tests.test_dashboard import sent_paths, sent_template
from tests.test_dashboard_read import HeldStore, _window_on_its_first_read
from tests.test_wizard_flow import LONG

__all__ = ["sent_paths", "sent_template"]  # fixtures shared with the dashboard tests

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)


def test_only_the_last_link_pressed_while_the_store_opens_is_shown(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[Page] = []
    real_show_page = MainWindow.show_page

    def show_page(window: MainWindow, page: Page) -> None:
        shown.append(page)
        real_show_page(window, page)

    monkeypatch.setattr(MainWindow, "show_page", show_page)
    held = HeldStore(monkeypatch)
    window = _window_on_its_first_read(qtbot, sent_paths)
    dashboard = window.dashboard
    assert dashboard is not None
    links = dashboard.quick_links
    for page in (Page.NOMINAL_ACCOUNTS, Page.SYNC, Page.NOMINAL_ACCOUNTS, Page.NOMINAL_ACCOUNTS):
        links[page].click()
    assert shown == [] and window.view == "dashboard"
    with qtbot.waitSignal(window.store_opened, timeout=LONG):
        held.release.set()
    qtbot.waitUntil(lambda: window.view == "wizard", timeout=LONG)
    # Each link replaces the view: a page built only to be replaced at once would start
    # its reads for nothing.
    assert shown == [Page.NOMINAL_ACCOUNTS]
    assert window.wizard is not None
    assert window.wizard.current_page() is Page.NOMINAL_ACCOUNTS
