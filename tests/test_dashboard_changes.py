"""The dashboard's change-by-hand list: what changed after sending, and confirming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.pending_changes import list_pending
from app.ui.kit.workers import TaskRunner
from app.ui.windows.dashboard import Dashboard
from app.ui.windows.status_models import FailureModel, PendingChangeModel
from tests.conftest import MemoryKeyring
from tests.screenshots import save_screenshot
from tests.send_fixtures import CUSTOMERS, SendRig, build_rig


@pytest.fixture
def changed(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    rig.send()
    text = CUSTOMERS.replace("ada@example.com", "accounts@adaboilers.example")
    report = import_csv_bytes(
        rig.session_factory, ImportKind.CUSTOMERS, text.encode(), file="customers-march.csv"
    )
    assert report.already_sent
    yield rig
    rig.store.close()


def test_changed_records_are_listed_and_confirmed(qtbot: QtBot, changed: SendRig) -> None:
    tasks = TaskRunner()
    dashboard = Dashboard(changed.store, tasks)
    qtbot.addWidget(dashboard)
    dashboard.resize(1000, 680)
    dashboard.show()
    with qtbot.waitSignal(dashboard.refreshed, timeout=20_000):
        dashboard.refresh()

    assert dashboard.lists.tabText(1) == "Change by hand (1)"
    dashboard.lists.setCurrentIndex(1)
    model = dashboard.change_model
    assert model.rowCount() == 1
    assert model.index(0, 0).data() == "Customer “Ada Boilers Ltd” (C1)"
    assert model.index(0, 1).data() == ("email: “ada@example.com” → “accounts@adaboilers.example”")
    assert model.index(0, 2).data() == "customers-march.csv"
    save_screenshot(dashboard, "dashboard-change-by-hand")

    assert not dashboard.confirm_button.isEnabled()
    dashboard.change_view.selectRow(0)
    assert dashboard.confirm_button.isEnabled()
    with qtbot.waitSignal(dashboard.refreshed, timeout=20_000):
        qtbot.mouseClick(dashboard.confirm_button, Qt.MouseButton.LeftButton)
    assert dashboard.lists.tabText(1) == "Change by hand (0)"
    with changed.session_factory() as session:
        assert list_pending(session) == []
    tasks.wait()


def test_change_model_passes_the_model_tester(qtmodeltester: ModelTester, changed: SendRig) -> None:
    model = PendingChangeModel()
    with changed.session_factory() as session:
        model.set_changes(list_pending(session))
    qtmodeltester.check(model)


def test_the_change_page_is_made_when_first_shown_with_what_was_read(
    qtbot: QtBot, changed: SendRig
) -> None:
    tasks = TaskRunner()
    dashboard = Dashboard(changed.store, tasks)
    qtbot.addWidget(dashboard)
    dashboard.show()
    with qtbot.waitSignal(dashboard.refreshed, timeout=20_000):
        dashboard.refresh()
    page = dashboard.lists.widget(1)
    assert page.findChild(QTableView) is None  # not needed until its tab is shown
    assert dashboard.lists.tabText(1) == "Change by hand (1)"

    dashboard.lists.setCurrentIndex(1)
    view = page.findChild(QTableView)
    assert view is dashboard.change_view and view.isVisible()
    model = view.model()
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert titles == list(PendingChangeModel.COLUMNS)
    assert model.rowCount() == 1
    assert model.index(0, 0).data() == "Customer “Ada Boilers Ltd” (C1)"
    assert not dashboard.confirm_button.isEnabled()
    view.selectRow(0)
    assert dashboard.confirm_button.isEnabled()
    tasks.wait()


def test_the_first_page_settings_made_without_qt_enums_hold(qtbot: QtBot, changed: SendRig) -> None:
    tasks = TaskRunner()
    dashboard = Dashboard(changed.store, tasks)
    qtbot.addWidget(dashboard)
    dashboard.show()
    assert dashboard.status_view.focusPolicy() == Qt.FocusPolicy.NoFocus
    for view in (dashboard.status_view, dashboard.failure_view):
        assert view.horizontalHeader().textElideMode() == Qt.TextElideMode.ElideRight
    assert dashboard.send_button.shortcut() == QKeySequence("Ctrl+Return")
    assert dashboard.help_button.f1.key() == QKeySequence(Qt.Key.Key_F1)
    assert dashboard.help_button.f1.context() == Qt.ShortcutContext.WindowShortcut
    titles = dashboard.failure_view.model()
    assert [
        titles.headerData(c, Qt.Orientation.Horizontal) for c in range(titles.columnCount())
    ] == list(FailureModel.COLUMNS)
    links = list(dashboard.quick_links.values())
    assert all(b.cursor().shape() == Qt.CursorShape.ArrowCursor for b in links)
    with qtbot.waitSignal(dashboard.refreshed, timeout=20_000):
        dashboard.refresh()
    # The hand cursor is set once the page with its data has been painted.
    qtbot.waitUntil(
        lambda: all(b.cursor().shape() == Qt.CursorShape.PointingHandCursor for b in links)
    )
    tasks.wait()
