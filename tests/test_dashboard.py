"""The accounting dashboard: counts, the failure list and its actions, sending now (with
progress and cancel), the two-hourly send and the quick links back into the wizard."""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView, QWizard
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.config import DataPaths
from app.db.models import OutboxEntry, SendState
from app.services.sending.failures import FailureItem, failure_causes, list_failures
from app.services.sending.sender import Sender, SendReport
from app.services.setup.connections import connector_for
from app.services.setup.demo import prepare_demo
from app.services.setup.nominal_accounts import load_page, map_account
from app.services.setup.routing import Page
from app.services.setup.state import AUTO_SEND, SETUP_COMPLETE, set_setting
from app.services.status import collect_status
from app.services.store import open_store
from app.ui.windows.dashboard import Dashboard
from app.ui.windows.main_window import MainWindow
from app.ui.windows.status_models import FailureModel, StatusModel
from connectors.registry import package_info
from tests.screenshots import save_screenshot
from tests.test_wizard_flow import LONG, click, open_window, wait_for_page, wizard_of
from tests.test_wizard_pages import clipped, larger_text_and_dark, settle_layouts

__all__ = ["larger_text_and_dark"]  # a fixture shared with the page tests

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)

MAPPING = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}


def _build(root: Path, *, send: bool) -> DataPaths:
    """Demo data, accounts mapped, set-up complete; with ``send``, one send done (so the
    Sandbox's refusals fill the failure list)."""
    paths = DataPaths(root / "demo")
    store = prepare_demo(paths)
    try:
        with connector_for(paths, "sandbox") as connector:
            remote = load_page(store.session_factory, connector).remote_accounts
            for code, account in MAPPING.items():
                map_account(
                    store.session_factory, connector.info, remote, code, account, actor="test"
                )
            if send:
                Sender(store.session_factory, connector).run()
        with store.session_factory.begin() as session:
            set_setting(session, SETUP_COMPLETE, True)
    finally:
        store.close()
    return paths


@pytest.fixture(scope="session")
def sent_template(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return _build(tmp_path_factory.mktemp("sent"), send=True)


@pytest.fixture(scope="session")
def ready_template(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return _build(tmp_path_factory.mktemp("ready"), send=False)


def _copy(template: DataPaths, tmp_path: Path) -> DataPaths:
    target = tmp_path / "demo"
    shutil.copytree(template.root, target)
    return DataPaths(target)


@pytest.fixture
def sent_paths(sent_template: DataPaths, tmp_path: Path) -> DataPaths:
    return _copy(sent_template, tmp_path)


@pytest.fixture
def ready_paths(ready_template: DataPaths, tmp_path: Path) -> DataPaths:
    return _copy(ready_template, tmp_path)


@pytest.fixture
def dashboard_window(qtbot: QtBot, sent_paths: DataPaths) -> Iterator[MainWindow]:
    window = open_window(qtbot, sent_paths)
    assert window.view == "dashboard"
    # The snapshot is read by a worker: under load that takes longer than the default 5 s.
    qtbot.waitUntil(
        lambda: window.dashboard is not None and window.dashboard.snapshot is not None,
        timeout=LONG,
    )
    yield window


def dashboard_of(window: MainWindow) -> Dashboard:
    assert window.dashboard is not None
    return window.dashboard


def click_row(qtbot: QtBot, view: QTableView, row: int, *, control: bool = False) -> None:
    """Click a row of a table as a person would (Ctrl adds it to the selection)."""
    index = view.model().index(row, 0)
    view.scrollTo(index)
    modifier = Qt.KeyboardModifier.ControlModifier if control else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, modifier, view.visualRect(index).center()
    )


def states(paths: DataPaths, ids: list[int]) -> dict[int, SendState]:
    store = open_store(paths)
    try:
        with store.session_factory() as session:
            rows = session.scalars(select(OutboxEntry).where(OutboxEntry.id.in_(ids)))
            return {row.id: row.state for row in rows}
    finally:
        store.close()


def failures(paths: DataPaths) -> list[FailureItem]:
    store = open_store(paths)
    try:
        with store.session_factory() as session:
            return list_failures(session, "sandbox")
    finally:
        store.close()


def root_row_with_dependants(model: FailureModel) -> int:
    for row in range(model.rowCount()):
        if not model.is_held_back(row) and model.item(row).dependants:
            return row
    raise AssertionError("no failure holds anything back")


# ---------------------------------------------------------------------------- showing


def test_counts_and_failure_list_match_the_store(
    qtbot: QtBot, dashboard_window: MainWindow, sent_paths: DataPaths
) -> None:
    dashboard = dashboard_of(dashboard_window)
    store = open_store(sent_paths)
    try:
        with store.session_factory() as session:
            status = collect_status(session, sent_paths)
    finally:
        store.close()
    for record_type, counts in status.states.items():
        for state, count in counts.items():
            assert dashboard.status_model.count(record_type, state) == count
    assert status.states["customer"]["failed"] > 0
    roots = failures(sent_paths)
    held_back = sum(len(r.dependants) for r in roots)
    assert dashboard.failure_model.rowCount() == len(roots) + held_back
    store = open_store(sent_paths)
    try:
        with store.session_factory() as session:
            causes = failure_causes(session, "sandbox", package_info("sandbox").name)
    finally:
        store.close()
    # Grouped by true cause: far fewer causes than records that fail on their own.
    assert 0 < len(causes) < len(roots)
    assert sum(c.size for c in causes) == len(roots) + held_back
    assert dashboard.failures_title.text() == (
        f"Failed records: {len(roots) + held_back:,} records from {len(causes):,} causes"
    )
    # Rows come cause by cause, each cause named once, on its first row.
    model = dashboard.failure_model
    shown = [model.cause(row) for row in range(model.rowCount())]
    named = [model.index(row, 0).data() for row in range(model.rowCount())]
    in_order = [c for n, c in enumerate(shown) if n == 0 or shown[n - 1] is not c]
    assert [c.title if c else None for c in in_order] == [c.title for c in causes]
    assert sum(1 for text in named if text) == len(causes)
    for row in range(model.rowCount()):
        cause = shown[row]
        assert cause is not None
        under = cause.held_back if model.is_held_back(row) else cause.records
        assert model.item(row).outbox_id in {r.outbox_id for r in under}
    assert dashboard.times.text().startswith("Last send: today at")
    assert "Next send: not scheduled" in dashboard.times.text()
    assert dashboard_window.folder_label.text() == f"Data folder: {sent_paths.root}"

    # Selecting a failure shows its reason and fix in full.
    row = root_row_with_dependants(dashboard.failure_model)
    click_row(qtbot, dashboard.failure_view, row)
    item = dashboard.failure_model.item(row)
    assert dashboard.selected_ids() == [item.outbox_id]
    shown = dashboard.details.text()
    assert item.label in shown and item.reason in shown
    assert f"Fix: {item.fix}" in shown
    assert dashboard.retry_button.isEnabled() and dashboard.exclude_button.isEnabled()
    save_screenshot(dashboard_window, "dashboard-with-failures")


def test_models_pass_the_model_tester(
    qtmodeltester: ModelTester, dashboard_window: MainWindow
) -> None:
    dashboard = dashboard_of(dashboard_window)
    qtmodeltester.check(dashboard.status_model)
    qtmodeltester.check(dashboard.failure_model)
    empty_status, empty_failures = StatusModel(), FailureModel()
    qtmodeltester.check(empty_status)
    qtmodeltester.check(empty_failures)


# ---------------------------------------------------------------------------- actions


def test_do_not_send_with_what_it_holds_back_then_retry(
    qtbot: QtBot, dashboard_window: MainWindow, sent_paths: DataPaths
) -> None:
    dashboard = dashboard_of(dashboard_window)
    row = root_row_with_dependants(dashboard.failure_model)
    root = dashboard.failure_model.item(row)
    ids = [root.outbox_id, *(d.outbox_id for d in root.dependants)]
    click_row(qtbot, dashboard.failure_view, row)
    assert dashboard.with_dependants.isChecked()
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        click(qtbot, dashboard.exclude_button)
    assert set(states(sent_paths, ids).values()) == {SendState.DO_NOT_SEND}
    assert f"{len(ids)} records will not be sent" in dashboard.current.text()
    assert dashboard.failure_model.rowCount() == sum(
        1 + len(r.dependants) for r in failures(sent_paths)
    )

    # Another failure, retried: it and what it holds back wait for the next send.
    row = root_row_with_dependants(dashboard.failure_model)
    other = dashboard.failure_model.item(row)
    other_ids = [other.outbox_id, *(d.outbox_id for d in other.dependants)]
    click_row(qtbot, dashboard.failure_view, row)
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        click(qtbot, dashboard.retry_button)
    assert set(states(sent_paths, other_ids).values()) == {SendState.WAITING}
    assert "will be sent again with the next send" in dashboard.current.text()


def test_do_not_send_without_what_it_holds_back(
    qtbot: QtBot, dashboard_window: MainWindow, sent_paths: DataPaths
) -> None:
    dashboard = dashboard_of(dashboard_window)
    row = root_row_with_dependants(dashboard.failure_model)
    root = dashboard.failure_model.item(row)
    click_row(qtbot, dashboard.failure_view, row)
    click(qtbot, dashboard.with_dependants)
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        click(qtbot, dashboard.exclude_button)
    found = states(sent_paths, [root.outbox_id, root.dependants[0].outbox_id])
    assert found[root.outbox_id] is SendState.DO_NOT_SEND
    assert found[root.dependants[0].outbox_id] is SendState.FAILED


def test_entered_by_hand_needs_the_package_id(
    qtbot: QtBot, dashboard_window: MainWindow, sent_paths: DataPaths
) -> None:
    dashboard = dashboard_of(dashboard_window)
    click_row(qtbot, dashboard.failure_view, 0)
    item = dashboard.failure_model.item(0)
    click(qtbot, dashboard.manual_button)
    assert "Type the record's id in the package first" in dashboard.current.text()
    assert states(sent_paths, [item.outbox_id])[item.outbox_id] is SendState.FAILED
    qtbot.keyClicks(dashboard.manual_id, "SBX-C000001")
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        click(qtbot, dashboard.manual_button)
    assert states(sent_paths, [item.outbox_id])[item.outbox_id] is SendState.ENTERED_MANUALLY
    assert dashboard.status_model.count(item.record_type, "entered_manually") == 1


def test_selecting_several_rows(qtbot: QtBot, dashboard_window: MainWindow) -> None:
    dashboard = dashboard_of(dashboard_window)
    click_row(qtbot, dashboard.failure_view, 0)
    click_row(qtbot, dashboard.failure_view, 2, control=True)
    assert len(dashboard.selected_ids()) == 2
    assert dashboard.details.text() == "2 records selected."
    # "Entered by hand" is for one record at a time.
    assert not dashboard.manual_button.isEnabled()


def test_export_the_failure_list(
    qtbot: QtBot,
    dashboard_window: MainWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dashboard = dashboard_of(dashboard_window)
    target = tmp_path / "failures.csv"
    monkeypatch.setattr(
        "PySide6.QtWidgets.QFileDialog.getSaveFileName",
        lambda *args, **kwargs: (str(target), "CSV (*.csv)"),
    )
    click(qtbot, dashboard.export_button)
    qtbot.waitUntil(lambda: dashboard.current.kind == "success", timeout=LONG)
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == dashboard.failure_model.rowCount()
    assert rows[0]["record"] == dashboard.failure_model.item(0).label


# ---------------------------------------------------------------------------- sending


def test_send_now_shows_progress_and_cancel_stops_cleanly(
    qtbot: QtBot, ready_paths: DataPaths
) -> None:
    window = open_window(qtbot, ready_paths)
    dashboard = dashboard_of(window)
    qtbot.waitUntil(lambda: dashboard.send_button.isEnabled(), timeout=LONG)
    waiting_before = sum(dashboard.status_model.count(t, "waiting") for t in ("invoice", "payment"))
    assert waiting_before > 0

    click(qtbot, dashboard.send_button)
    assert dashboard.progress.isVisible() and dashboard.cancel_button.isVisible()
    assert not dashboard.send_button.isEnabled()
    qtbot.waitUntil(lambda: dashboard.current.text().startswith("Sending "), timeout=LONG)
    assert " of " in dashboard.current.text()
    with qtbot.waitSignal(window.send_finished, timeout=LONG) as finished:
        click(qtbot, dashboard.cancel_button)
    report = finished.args[0]
    assert isinstance(report, SendReport)
    assert report.cancelled and not report.stopped_reason
    assert "cancelled, what is left waits for the next send" in dashboard.current.text()
    assert not dashboard.progress.isVisible() and not dashboard.cancel_button.isVisible()
    qtbot.waitUntil(dashboard.send_button.isEnabled, timeout=LONG)
    store = open_store(ready_paths)
    try:
        with store.session_factory() as session:
            left = session.scalars(
                select(OutboxEntry).where(OutboxEntry.state == SendState.WAITING)
            ).all()
            processing = session.scalars(
                select(OutboxEntry).where(OutboxEntry.state == SendState.PROCESSING)
            ).all()
    finally:
        store.close()
    assert left, "a cancel straight after the first record leaves the rest waiting"
    assert not processing, "nothing is left half-sent"
    save_screenshot(window, "dashboard-after-cancel")

    # Sending again carries on with what was left.
    with qtbot.waitSignal(window.send_finished, timeout=LONG) as again:
        click(qtbot, dashboard.send_button)
    second = again.args[0]
    assert isinstance(second, SendReport) and not second.cancelled
    assert sum(second.sent.values()) + sum(second.failed.values()) >= len(left) - sum(
        1 for row in left if row.record_type.value in ("customer", "supplier")
    )


def test_automatic_send_runs_on_the_timer(qtbot: QtBot, ready_paths: DataPaths) -> None:
    store = open_store(ready_paths)
    try:
        with store.session_factory.begin() as session:
            set_setting(session, AUTO_SEND, True)
    finally:
        store.close()
    window = MainWindow(ready_paths, auto_send_interval_ms=300)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.send_finished, timeout=LONG) as finished:
        window.open()
    assert isinstance(finished.args[0], SendReport)
    dashboard = dashboard_of(window)
    qtbot.waitUntil(lambda: "Last send: today at" in dashboard.times.text(), timeout=LONG)
    assert "Next send: today at" in dashboard.times.text() or "tomorrow" in dashboard.times.text()
    assert dashboard.auto_send.isChecked()
    # Turning it off stops the timer and says so.
    click(qtbot, dashboard.auto_send)
    assert not dashboard.auto_timer.isActive()
    assert "not scheduled (automatic sending is off)" in dashboard.times.text()


# ---------------------------------------------------------------------------- quick links


def test_quick_links_reopen_the_wizard_at_one_page(
    qtbot: QtBot, dashboard_window: MainWindow
) -> None:
    window = dashboard_window
    dashboard = dashboard_of(window)

    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, dashboard.quick_links[Page.NOMINAL_ACCOUNTS])
    wizard = wizard_of(window)
    assert wizard.only == (Page.NOMINAL_ACCOUNTS,)
    page = wait_for_page(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    done = wizard.button(QWizard.WizardButton.FinishButton)
    assert done.text() == "&Done"
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, done)
    assert window.view == "dashboard"

    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, dashboard.quick_links[Page.LINK_CUSTOMERS])
    wizard = wizard_of(window)
    assert wizard.side_panel.pages == (Page.LINK_CUSTOMERS, Page.LINK_SUPPLIERS)
    wait_for_page(qtbot, wizard, Page.LINK_CUSTOMERS)
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    wait_for_page(qtbot, wizard, Page.LINK_SUPPLIERS)
    save_screenshot(window, "quick-link-link-suppliers")
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert window.view == "dashboard"

    # Changing package or situation walks the whole route; Close returns to the dashboard.
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, dashboard.quick_links[Page.GET_STARTED])
    wizard = wizard_of(window)
    assert wizard.only is None
    wait_for_page(qtbot, wizard, Page.GET_STARTED)
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert window.view == "dashboard"


@pytest.mark.parametrize(
    ("name", "view", "only"),
    [
        ("dashboard", "dashboard", None),
        ("nominal-accounts", "wizard", (Page.NOMINAL_ACCOUNTS,)),
        ("link-suppliers", "wizard", (Page.LINK_SUPPLIERS,)),
        ("get-started", "wizard", None),
    ],
)
def test_page_option_once_set_up(
    qtbot: QtBot, sent_paths: DataPaths, name: str, view: str, only: tuple[Page, ...] | None
) -> None:
    window = open_window(qtbot, sent_paths, page=name)
    assert window.view == view
    if view == "wizard":
        wizard = wizard_of(window)
        assert wizard.only == only
        assert wizard.current_page() is Page(name)


def test_an_unknown_page_name_is_explained(qtbot: QtBot, sent_paths: DataPaths) -> None:
    window = MainWindow(sent_paths, page="suppliers")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.open()
    assert "no page called “suppliers”" in window.loading_label.text()
    assert "link-suppliers" in window.loading_label.text()


@pytest.mark.usefixtures("larger_text_and_dark")
def test_the_dashboard_fits_at_125_percent_in_dark(qtbot: QtBot, sent_paths: DataPaths) -> None:
    window = open_window(qtbot, sent_paths)
    dashboard = dashboard_of(window)
    qtbot.waitUntil(lambda: dashboard.snapshot is not None, timeout=LONG)
    click_row(qtbot, dashboard.failure_view, 0)
    qtbot.waitUntil(lambda: window.tasks.active == 0, timeout=LONG)
    settle_layouts()
    needed = window.centralWidget().minimumSizeHint()
    assert needed.width() <= window.width() and needed.height() <= window.height()
    assert clipped(window) == []
    save_screenshot(window, "large-dark-dashboard")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger back as it was (the window adds a log file handler)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_the_window_is_shown_before_the_store_is_opened(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    from concurrent.futures import Future

    from app.services.dashboard_read import DashboardSnapshot, read_dashboard
    from app.ui.windows.launch import create_window

    # A read not finished when the window is built (one finished by then is the first
    # paint: tests/test_dashboard_read.py).
    first_read: Future[DashboardSnapshot | None] = Future()
    window = create_window(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    # Shown at once, still "opening your data".
    assert window.isVisible() and window.view == "loading" and window.store is None
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        qtbot.waitExposed(window)
        first_read.set_result(read_dashboard(sent_paths))
    # The data is shown first (read with sqlite3), then the store is opened.
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot is not None
    with qtbot.waitSignal(window.store_opened, timeout=LONG):
        pass
    assert window.store is not None and window.dashboard.store is window.store
    assert (sent_paths.logs / "ledgerlink.log").exists()


def test_files_imported_from_the_dashboard_show_in_its_counts(
    qtbot: QtBot, sent_paths: DataPaths, tmp_path: Path
) -> None:
    window = open_window(qtbot, sent_paths)
    dashboard = dashboard_of(window)
    qtbot.waitUntil(lambda: dashboard.snapshot is not None, timeout=LONG)
    snapshot = dashboard.snapshot
    assert snapshot is not None
    customers_before = snapshot.data.status.records["customer"]
    path = tmp_path / "new-customers.csv"
    path.write_text("account_ref,name\nNEW001,Brand New Heating Ltd\n", encoding="utf-8")
    # The dashboard shows its data before the store is open; the import waits for it.
    qtbot.waitUntil(lambda: dashboard.import_button.isEnabled(), timeout=LONG)
    dialog = dashboard.open_import()
    dialog.add_files([path])
    box = dialog.files[0][1]
    box.setCurrentIndex(box.findData("customers"))
    dialog.check_button.click()
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=LONG)
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        dialog.import_button.click()
    qtbot.waitUntil(
        lambda: (
            dashboard.snapshot is not None
            and dashboard.snapshot.data.status.records["customer"] == customers_before + 1
        ),
        timeout=LONG,
    )
    save_screenshot(window, "dashboard-import-files")
    dialog.close()


def test_a_contact_to_choose_opens_the_link_grid_at_it(
    qtbot: QtBot, dashboard_window: MainWindow
) -> None:
    from wizard_pages.link_page import LinkPage

    window = dashboard_window
    dashboard = dashboard_of(window)
    model = dashboard.failure_model
    row = next(r for r in range(model.rowCount()) if model.item(r).code == "choose_contact")
    item = model.item(row)
    assert item.record_type == "customer" and item.fix_page == "link-customers"
    click_row(qtbot, dashboard.failure_view, row)
    assert dashboard.new_button.isEnabled()
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        click(qtbot, dashboard.fix_button)
    page = wait_for_page(qtbot, wizard_of(window), Page.LINK_CUSTOMERS)
    assert isinstance(page, LinkPage)

    def selected() -> int | None:
        workbench = page.workbench
        if workbench is None or workbench.busy or workbench.book is None:
            return None
        record = workbench._current_record()
        return None if record is None else workbench.book.ours[record].id

    qtbot.waitUntil(lambda: selected() == item.record_id, timeout=LONG)


def test_a_contact_to_choose_can_be_created_as_new(
    qtbot: QtBot, dashboard_window: MainWindow
) -> None:
    dashboard = dashboard_of(dashboard_window)
    model = dashboard.failure_model
    row = next(r for r in range(model.rowCount()) if model.item(r).code == "choose_contact")
    item = model.item(row)
    click_row(qtbot, dashboard.failure_view, row)
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        click(qtbot, dashboard.new_button)
    assert "1 contact will be created by the next send" in dashboard.current.text()
    assert states(dashboard_window.paths, [item.outbox_id]) == {item.outbox_id: SendState.WAITING}
    # Anything else selected: not a contact to choose, so the button is off.
    other = next(r for r in range(model.rowCount()) if model.item(r).code != "choose_contact")
    click_row(qtbot, dashboard.failure_view, other)
    assert not dashboard.new_button.isEnabled()
