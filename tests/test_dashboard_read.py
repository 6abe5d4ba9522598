"""The dashboard's first read with ``sqlite3`` (app.services.dashboard_read): the same
snapshot as the SQLAlchemy path, ``None`` wherever the store must be opened first, and
a window that shows the data before the store is open, its actions waiting for it."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.db.models import (
    Contact,
    ContactKind,
    OutboxEntry,
    PendingChange,
    RecordType,
    SendState,
)
from app.services.dashboard import load_snapshot
from app.services.dashboard_read import DashboardSnapshot, read_dashboard
from app.services.sending.causes import HELD_BACK
from app.services.setup.demo import prepare_demo
from app.services.setup.state import PACKAGE, SETUP_COMPLETE, set_setting
from app.services.store import Store, open_store
from app.ui.kit.workers import TaskRunner
from app.ui.windows.dashboard import Dashboard
from app.ui.windows.main_window import MainWindow
from tests.test_dashboard import root_logging, sent_paths, sent_template
from tests.test_wizard_flow import LONG, open_window

# Fixtures shared with the dashboard tests.
__all__ = ["root_logging", "sent_paths", "sent_template"]

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)


def _add_what_the_demo_lacks(paths: DataPaths) -> None:
    """Changes to make by hand (one open, one confirmed, one applied), a contact held
    back for a transaction, and a failed row whose record is gone (named by its id)."""
    store = open_store(paths)
    start = datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC)
    try:
        with store.session_factory.begin() as session:
            for n, (confirmed, applied) in enumerate(
                [(None, None), (start, None), (start, start), (None, None)]
            ):
                session.add(
                    PendingChange(
                        record_type=RecordType.CUSTOMER,
                        record_id=n + 1,
                        label=f"Customer “Change {n}” (C{n})",
                        changes=json.dumps([{"field": "name", "before": "A", "after": f"B{n}"}]),
                        values_hash=f"hash{n}",
                        source="customers.csv",
                        detected_at=start + timedelta(minutes=n),
                        confirmed_at=confirmed,
                        applied_at=applied,
                    )
                )
            session.add(
                OutboxEntry(
                    package="sandbox",
                    record_type=RecordType.SUPPLIER,
                    record_id=888_888,
                    idempotency_key="held-supplier",
                    error_code=HELD_BACK,
                    error_reason="waits for a transaction",
                )
            )
            session.add(
                OutboxEntry(
                    package="sandbox",
                    record_type=RecordType.PAYMENT,
                    record_id=999_999,
                    state=SendState.UNCERTAIN,
                    idempotency_key="gone-payment",
                    error_code="timeout",
                    error_reason="No answer",
                )
            )
    finally:
        store.close()


def test_the_first_read_equals_the_sqlalchemy_read(sent_paths: DataPaths) -> None:
    _add_what_the_demo_lacks(sent_paths)
    store = open_store(sent_paths)
    try:
        expected = load_snapshot(store)
    finally:
        store.close()
    # What this store holds, so the comparison covers every part of the dashboard.
    assert expected.data.failures and any(f.dependants for f in expected.data.failures)
    assert expected.data.causes and expected.data.held_back_note
    assert expected.data.status.links and len(expected.changes) == 2
    assert any(f.label == "payment #999999" for f in expected.data.failures)
    assert read_dashboard(sent_paths) == expected


def _set(paths: DataPaths, sql: str, *values: object) -> None:
    with sqlite3.connect(paths.database) as db:
        db.execute(sql, values)


def test_the_first_read_was_checked_against_the_newest_schema() -> None:
    """A new migration must come with a look at the first read's SQL: until its
    revision is moved on, every start takes the normal path (correct, but slower)."""
    from app.db.migrate import head_revision
    from app.services.dashboard_read import READ_MODEL_REVISION

    assert head_revision() == READ_MODEL_REVISION, (
        "check app/services/dashboard_read.py's queries against the new schema, then "
        "set READ_MODEL_REVISION to the new head"
    )


def test_a_store_to_migrate_is_left_to_the_normal_path(sent_paths: DataPaths) -> None:
    assert read_dashboard(sent_paths) is not None
    _set(sent_paths, "UPDATE alembic_version SET version_num = '0005_older'")
    assert read_dashboard(sent_paths) is None


def test_a_desktop_bridge_is_left_to_the_normal_path(sent_paths: DataPaths) -> None:
    _set(sent_paths, "UPDATE settings SET value = ? WHERE key = ?", '"sage_50"', PACKAGE)
    assert read_dashboard(sent_paths) is None


def test_no_database_yet_is_left_to_the_normal_path(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "new")
    assert read_dashboard(paths) is None
    assert not paths.database.exists()


def test_a_shared_store_is_left_to_the_normal_path(
    sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERLINK_DATABASE_URL", "postgresql://office@db.example/ledgerlink")
    assert read_dashboard(sent_paths) is None


@pytest.mark.both_stores
def test_the_window_shows_the_dashboard_on_either_store(
    qtbot: QtBot, store_url: str, tmp_path: Path
) -> None:
    data_paths = DataPaths(tmp_path / "demo")  # on PostgreSQL, the test server's store
    store = prepare_demo(data_paths)
    try:
        with store.session_factory.begin() as session:
            set_setting(session, SETUP_COMPLETE, True)
        expected = load_snapshot(store)
    finally:
        store.close()
    window = open_window(qtbot, data_paths)
    qtbot.waitUntil(lambda: window.store is not None, timeout=LONG)
    assert window.view == "dashboard" and window.dashboard is not None
    qtbot.waitUntil(lambda: window.dashboard.snapshot is not None, timeout=LONG)  # type: ignore[union-attr]
    assert window.dashboard.snapshot == expected


def _dashboard_without_its_store(
    qtbot: QtBot, paths: DataPaths
) -> tuple[Dashboard, TaskRunner, DashboardSnapshot]:
    """A dashboard showing the first read of ``paths``, its store not yet attached."""
    snapshot = read_dashboard(paths)
    assert snapshot is not None
    tasks = TaskRunner()
    dashboard = Dashboard(None, tasks)
    qtbot.addWidget(dashboard)
    dashboard.show_snapshot(snapshot)
    return dashboard, tasks, snapshot


def test_actions_before_the_store_is_open_wait_for_it(qtbot: QtBot, sent_paths: DataPaths) -> None:
    dashboard, tasks, snapshot = _dashboard_without_its_store(qtbot, sent_paths)
    assert dashboard.snapshot == snapshot and not dashboard.import_button.isEnabled()
    dashboard.refresh()  # waits in its worker for the store
    store = open_store(sent_paths)
    try:
        with store.session_factory.begin() as session:  # so the refresh must show news
            session.add(Contact(kind=ContactKind.CUSTOMER, account_ref="NEW1", name="New Ltd"))
        with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
            dashboard.attach_store(store)
        assert dashboard.import_button.isEnabled()
        assert dashboard.snapshot == load_snapshot(store) != snapshot
        assert dashboard.current.kind != "error", dashboard.current.text()
    finally:
        tasks.wait()
        store.close()


def test_actions_fail_in_words_when_the_store_cannot_open(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    dashboard, tasks, _snapshot = _dashboard_without_its_store(qtbot, sent_paths)
    dashboard.refresh()
    with qtbot.waitSignal(dashboard.refreshed, timeout=LONG):
        dashboard.store_failed("The data folder cannot be opened.")
    tasks.wait()
    assert "cannot be opened" in dashboard.current.text()


class HeldStore:
    """``open_store`` held back until the test lets it go; what it opened and closed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services import store as store_module

        self.entered, self.release = threading.Event(), threading.Event()
        self.opened: list[Store] = []
        self.closed: list[Store] = []
        real_open = store_module.open_store

        def held_open(paths: DataPaths, **options: bool) -> Store:
            self.entered.set()
            assert self.release.wait(LONG / 1000), "the test never let the store open"
            store = real_open(paths, **options)
            real_close = store.close

            def close() -> None:
                self.closed.append(store)
                real_close()

            store.close = close  # type: ignore[method-assign]
            self.opened.append(store)
            return store

        monkeypatch.setattr(store_module, "open_store", held_open)


def _window_on_its_first_read(qtbot: QtBot, paths: DataPaths) -> MainWindow:
    """The main window, showing the dashboard read before its store is open."""
    window = MainWindow(paths)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.show()
        window.open()
    assert window.dashboard is not None and window.store is None
    return window


def test_the_window_waits_for_the_store_behind_its_data(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard shows the store's data while the store is still being opened; a
    quick link and a send pressed then run once it is open."""
    from app.services.setup.routing import Page

    held = HeldStore(monkeypatch)
    window = _window_on_its_first_read(qtbot, sent_paths)
    dashboard = window.dashboard
    assert dashboard is not None and window.view == "dashboard"
    assert dashboard.snapshot == read_dashboard(sent_paths)
    assert dashboard.send_button.isEnabled() and not dashboard.import_button.isEnabled()

    dashboard.send_now()  # its worker waits for the store
    dashboard.quick_links[Page.NOMINAL_ACCOUNTS].click()
    assert window.view == "dashboard"  # the wizard needs the store: it waits too
    with qtbot.waitSignals([window.store_opened, window.send_finished], timeout=LONG):
        held.release.set()
    assert window.store is not None and dashboard.store is window.store
    qtbot.waitUntil(lambda: window.view == "wizard", timeout=LONG)


def test_closing_before_the_store_is_open_lets_waiting_work_go(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send pressed while the store is still opening, then the window closed: the
    send's worker is let go (it waited for the store for ever, so the app hung on exit),
    and the store opened meanwhile is closed although its answer never arrived."""
    held = HeldStore(monkeypatch)
    window = _window_on_its_first_read(qtbot, sent_paths)
    assert window.dashboard is not None
    window.dashboard.send_now()  # its worker waits for the store
    qtbot.waitUntil(held.entered.is_set, timeout=LONG)
    held.release.set()  # the store opens while the window closes: its answer is never handled
    window.close()
    assert window.tasks.wait(0), "a worker still waits for the store"
    assert held.opened and held.closed == held.opened
    assert window.store is None


def test_a_read_started_before_the_window_is_what_it_shows(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    """``ledgerlink`` starts the first read before it builds the window; the window shows
    that read's data, then opens the store behind it."""
    from app.services.first_read import start_first_read
    from app.ui.windows.main_window import MainWindow

    first_read = start_first_read(sent_paths)
    window = MainWindow(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.show()
        window.open()
    assert first_read.done()
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == first_read.result() == read_dashboard(sent_paths)
    qtbot.waitUntil(lambda: window.store is not None, timeout=LONG)


def test_a_first_read_that_fails_leaves_the_window_to_the_store(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    from concurrent.futures import Future

    from app.crash_report import set_report_folder
    from app.ui.windows.main_window import MainWindow

    set_report_folder(sent_paths.logs)  # an unexpected failure's report stays in tmp_path
    failed: Future[DashboardSnapshot | None] = Future()
    failed.set_exception(OSError("disk went away"))
    window = MainWindow(sent_paths, first_read=failed)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.store_opened, timeout=LONG):
        window.show()
        window.open()
    qtbot.waitUntil(lambda: window.dashboard is not None, timeout=LONG)
    qtbot.waitUntil(lambda: window.dashboard.snapshot is not None, timeout=LONG)  # type: ignore[union-attr]
    store = open_store(sent_paths)
    try:
        expected = load_snapshot(store)
    finally:
        store.close()
    assert window.dashboard.snapshot == expected  # type: ignore[union-attr]


def test_a_read_finished_before_the_window_is_shown_is_its_first_paint(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    """When the first read has finished by the time the window is built (``ledgerlink``
    starts it before it imports Qt), the window's first paint is the dashboard with its
    data: "Opening your data…" is never made. The store opens after that paint."""
    from concurrent.futures import Future

    first_read: Future[DashboardSnapshot | None] = Future()
    first_read.set_result(read_dashboard(sent_paths))
    window = MainWindow(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    window.open_when_shown()
    assert window.show_read_if_ready()
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == first_read.result()
    with qtbot.waitSignal(window.store_opened, timeout=LONG):
        window.show()
    assert window.loading is None, "the loading view was made"
    assert window.stack.currentWidget() is window.dashboard
    assert window.store is not None and window.dashboard.store is window.store


def test_a_read_still_running_when_the_window_is_shown_comes_after_the_loading_view(
    qtbot: QtBot, sent_paths: DataPaths
) -> None:
    """A read not finished when the window is built is never waited for on the GUI
    thread: the window shows "Opening your data…", then the dashboard once read."""
    from concurrent.futures import Future

    first_read: Future[DashboardSnapshot | None] = Future()
    window = MainWindow(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    assert not window.show_read_if_ready()
    window.show()
    assert window.view == "loading" and window.stack.currentWidget() is window.loading
    assert window.loading_label.text() == "Opening your data…"
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.open()
        first_read.set_result(read_dashboard(sent_paths))
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == first_read.result()
    qtbot.waitUntil(lambda: window.store is not None, timeout=LONG)


def test_the_command_starts_the_read_before_it_builds_the_window(
    sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ledgerlink`` (no command) starts the dashboard's read, then hands that same read
    to the window; ``--page`` reads nothing early (the page asked for is shown)."""
    import app.cli
    import app.logging_setup
    from app.services import first_read as first_read_module
    from app.ui.windows import launch

    started: list[object] = []
    handed: list[object] = []

    def start(paths: DataPaths) -> object:
        started.append(paths)
        return f"read of {paths.root}"

    # What the read logs is kept for the log file: the keeping starts before the read.
    monkeypatch.setattr(app.logging_setup, "hold_early_records", lambda: started.append("holding"))
    monkeypatch.setattr(first_read_module, "begin_first_read", start)
    monkeypatch.setattr(launch, "run_window", lambda paths, page, read: handed.append(read) or 0)
    monkeypatch.setattr("app.ui.kit.platform_libs.check_qt_platform", lambda _environ: None)
    assert app.cli.main(["--data-dir", str(sent_paths.root)]) == 0
    assert started == ["holding", sent_paths] and handed == [f"read of {sent_paths.root}"]
    assert app.cli.main(["--data-dir", str(sent_paths.root), "--page", "dashboard"]) == 0
    assert started[2:] == ["holding"] and handed[-1] is None


class SteppingClock:
    """A clock that moves on by ``step`` seconds each time it is read: a read that asks
    it often enough runs out of time, deterministically."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def test_a_bounded_read_stops_once_its_time_is_up(sent_paths: DataPaths) -> None:
    """``late`` is asked before each query: once it says so, the read stops with
    ``ReadLate`` (never a partial snapshot, never ``None``, which would send the window
    to the store); while it never does, the read is the usual one."""
    from app.services.dashboard_read import ReadLate

    assert read_dashboard(sent_paths, late=lambda: False) == read_dashboard(sent_paths)
    for allowed in range(4):
        calls = [0]

        def late(allowed: int = allowed, calls: list[int] = calls) -> bool:
            calls[0] += 1
            return calls[0] > allowed

        with pytest.raises(ReadLate):
            read_dashboard(sent_paths, late)


def test_a_bounded_query_is_interrupted_while_it_runs() -> None:
    """A single long query is stopped in the middle (SQLite's progress handler), not
    only between queries."""
    from app.services.dashboard_read import _Connection

    connection = sqlite3.connect(":memory:", factory=_Connection)
    calls = [0]

    def late() -> bool:
        calls[0] += 1
        return calls[0] > 3

    try:
        count = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "SELECT count(*) FROM n"
        )
        assert connection.execute(count, (1000,)).fetchone() == (1000,)
        connection.bound(late)
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            connection.execute(count, (10_000_000,)).fetchone()
        assert calls[0] == 4  # one before the query, three while it ran
        connection.bound(None)
        assert connection.execute(count, (1000,)).fetchone() == (1000,)
    finally:
        connection.close()


@pytest.mark.usefixtures("root_logging")
def test_a_quick_read_is_done_before_the_window_and_is_its_first_paint(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the folder's own SQLite file, ``ledgerlink`` reads the dashboard at once,
    within its budget and before Qt is imported, so the window it builds paints the
    dashboard with its data first: no thread, no "Opening your data…"."""
    from app.services import first_read as first_read_module
    from app.ui.windows.launch import create_window

    def no_thread(paths: DataPaths) -> None:
        raise AssertionError("the read went to a thread")

    monkeypatch.setattr(first_read_module, "start_first_read", no_thread)
    clock = SteppingClock(0.0)  # time stands still: the read always finishes
    first_read = first_read_module.begin_first_read(sent_paths, clock=clock)
    assert first_read.done() and clock.reads > 5
    assert first_read.result() == read_dashboard(sent_paths)
    window = create_window(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == first_read.result()
    with qtbot.waitSignal(window.store_opened, timeout=LONG):
        qtbot.waitExposed(window)
    assert window.loading is None, "the loading view was made"


def test_a_read_out_of_time_goes_on_in_a_thread_behind_the_loading_view(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that runs past its budget is stopped and handed to a thread: the window
    opens on "Opening your data…", then shows the data once that read is done."""
    from concurrent.futures import Future

    from app.services import first_read as first_read_module

    in_thread: Future[DashboardSnapshot | None] = Future()
    started: list[DataPaths] = []
    monkeypatch.setattr(
        first_read_module, "start_first_read", lambda paths: started.append(paths) or in_thread
    )
    clock = SteppingClock(0.01)  # each look at the clock takes 10 ms of a 40 ms budget
    first_read = first_read_module.begin_first_read(sent_paths, budget_s=0.04, clock=clock)
    assert started == [sent_paths] and first_read is in_thread

    window = MainWindow(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    assert not window.show_read_if_ready()
    window.show()
    assert window.view == "loading" and window.stack.currentWidget() is window.loading
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.open()
        in_thread.set_result(read_dashboard(sent_paths))
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == read_dashboard(sent_paths)
    qtbot.waitUntil(lambda: window.store is not None, timeout=LONG)


@pytest.mark.parametrize("why", ["shared store", "fault"])
def test_a_read_that_cannot_be_done_at_once_goes_to_a_thread(
    sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    """A shared store is read in a thread as before (a server's answer is not bounded
    here); a fault in the quick read hands the read to the thread, which meets it again
    and hands it to the window."""
    from app.services import dashboard_read
    from app.services import first_read as first_read_module

    marker: object = object()
    monkeypatch.setattr(first_read_module, "start_first_read", lambda paths: marker)
    if why == "shared store":
        monkeypatch.setenv("LEDGERLINK_DATABASE_URL", "postgresql://office@db.example/ledger")
    else:

        def fault(paths: DataPaths, late: object = None) -> None:
            raise RuntimeError("a fault in the read")

        monkeypatch.setattr(dashboard_read, "read_dashboard", fault)
    assert first_read_module.begin_first_read(sent_paths) is marker


def test_a_fault_showing_the_read_before_the_first_paint_takes_the_normal_path(
    qtbot: QtBot, sent_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the first page before the window is shown runs outside the event loop,
    where the crash dialog cannot show a fault: a fault there is logged, the half-built
    page dropped, and the window opens the normal way (a second fault would reach the
    crash dialog from the worker's answer)."""
    from concurrent.futures import Future

    first_read: Future[DashboardSnapshot | None] = Future()
    first_read.set_result(read_dashboard(sent_paths))
    real_show = Dashboard.show_snapshot
    faults = ["once"]

    def show_snapshot(dashboard: Dashboard, snapshot: DashboardSnapshot) -> None:
        if faults:
            faults.pop()
            raise RuntimeError("a fault in showing the read")
        real_show(dashboard, snapshot)

    monkeypatch.setattr(Dashboard, "show_snapshot", show_snapshot)
    window = MainWindow(sent_paths, first_read=first_read)
    qtbot.addWidget(window)
    assert not window.show_read_if_ready()
    assert window.dashboard is None and window.view == "loading"
    assert window.stack.count() == 0
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        window.show()
        window.open()
    assert window.view == "dashboard" and window.dashboard is not None
    assert window.dashboard.snapshot == first_read.result()
    qtbot.waitUntil(lambda: window.store is not None, timeout=LONG)
