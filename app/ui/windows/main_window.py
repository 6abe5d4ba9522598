"""The main window: the set-up wizard until set-up is done, then the dashboard.

The window is shown at once with a "opening your data" view, before the store is
opened (in a worker) and before the heavy modules (SQLAlchemy, the services, the wizard
pages) are imported, so the first window appears about as fast as an empty one. Then it
shows, in order of precedence: the page asked for with ``ledgerlink --page NAME``; the
dashboard once set-up is complete; else the wizard where the user left it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import DataPaths

if TYPE_CHECKING:
    from concurrent.futures import Future

    from PySide6.QtGui import QCloseEvent, QPaintEvent, QShowEvent

    from app.services.dashboard_read import DashboardSnapshot
    from app.services.setup.routing import Page
    from app.services.setup.state import SetupState
    from app.services.store import Store
    from app.ui.kit.workers import TaskRunner
    from app.ui.windows.dashboard import Dashboard
    from app.ui.windows.wizard import SetupWizard
    from wizard_pages.context import WizardContext

log = logging.getLogger(__name__)

TWO_HOURS_MS = 2 * 60 * 60 * 1000
Progress = Callable[[object], None]


class MainWindow(QMainWindow):
    """One window: loading view, wizard or dashboard."""

    #: Emitted after every dashboard refresh (tests wait on it).
    refreshed = Signal()
    #: Emitted when a dashboard send finishes, with its report.
    send_finished = Signal(object)
    #: "loading", "wizard" or "dashboard", whenever the view changes.
    view_changed = Signal(str)
    #: Emitted once the store is open (a returning user's dashboard shows its data
    #: before: see :meth:`open`).
    store_opened = Signal()

    def __init__(
        self,
        paths: DataPaths,
        *,
        page: str | None = None,
        auto_send_interval_ms: int = TWO_HOURS_MS,
        first_read: Future[DashboardSnapshot | None] | None = None,
    ) -> None:
        """``first_read``, when given, is the dashboard's read already started (see
        ``app.services.first_read``); :meth:`show_read_if_ready` shows it when it has
        finished, else :meth:`open` waits for it, off the GUI
        thread, instead of reading."""
        super().__init__()
        self._early_read = first_read
        self.paths = paths
        self.requested_page = page
        self.auto_send_interval_ms = auto_send_interval_ms
        self.store: Store | None = None
        self.setup: SetupState | None = None
        self._tasks: TaskRunner | None = None
        self._opener: TaskRunner | None = None
        self.dashboard: Dashboard | None = None
        self.wizard: SetupWizard | None = None
        self.wizard_context: WizardContext | None = None
        self.view = "loading"
        self._open_on_paint = False
        self._before_open: Callable[[], None] | None = None
        #: The view asked for while the store opens (see _once_open).
        self._when_open: Callable[[], None] | None = None
        #: Every store a worker opened for this window, so closing the window closes
        #: it even when the worker's answer had not been delivered yet.
        self._stores_opened: list[Store] = []
        self._closing = False
        self.setWindowTitle("Ledgerlink")
        self.resize(1000, 680)
        self.setMinimumSize(820, 560)

        self.stack = QStackedWidget()
        #: The "Opening your data…" view, made when the window is shown without its data
        #: (a returning user's read is usually done by then: see show_read_if_ready).
        self.loading: QWidget | None = None
        self.loading_label = QLabel("Opening your data…")
        self.loading_label.setWordWrap(True)
        self.loading_busy: QProgressBar | None = None
        self.setCentralWidget(self.stack)
        self.folder_label = QLabel("")
        self.folder_label.setObjectName("dataFolder")
        self.statusBar().addPermanentWidget(self.folder_label)

    @property
    def tasks(self) -> TaskRunner:
        """The window's workers, made on first use."""
        if self._tasks is None:
            from app.ui.kit.workers import TaskRunner

            self._tasks = TaskRunner(self)
        return self._tasks

    # ------------------------------------------------------------------ opening

    def open_when_shown(self, first: Callable[[], None] | None = None) -> None:
        """Open the store once the window has first been painted, so the work of opening
        it (importing SQLAlchemy, migrating) never delays the first window. ``first``
        runs once, on the GUI thread, just before the store is opened (so after a
        returning user's dashboard is painted), e.g. setting up the log file."""
        self._open_on_paint = True
        self._before_open = first

    def showEvent(self, event: QShowEvent) -> None:
        if self.stack.count() == 0:
            self._loading_view()
        super().showEvent(event)

    def _loading_view(self) -> QWidget:
        """The "Opening your data…" view (also where a failure to open is told), made
        on first use; it is the current view only while nothing else is shown."""
        if self.loading is None:
            # Centred with stretches rather than alignment flags: this view can be built
            # before the first paint, and the Qt namespace's enums cost more to import
            # than it does.
            self.loading = QWidget()
            busy = QProgressBar()
            busy.setRange(0, 0)
            busy.setFixedWidth(240)
            middle = QVBoxLayout()
            middle.addStretch(1)
            middle.addWidget(self.loading_label)
            middle.addWidget(busy)
            middle.addStretch(1)
            loading_layout = QHBoxLayout(self.loading)
            loading_layout.addStretch(1)
            loading_layout.addLayout(middle)
            loading_layout.addStretch(1)
            self.loading_busy = busy
            self.stack.addWidget(self.loading)
        return self.loading

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._open_on_paint:
            self._open_on_paint = False
            QTimer.singleShot(0, self._open_after_paint)

    def _open_after_paint(self) -> None:
        self.open()

    def _run_before_open(self) -> None:
        first, self._before_open = self._before_open, None
        if first is not None:
            first()

    def open(self) -> None:
        """Show the right view, opening (and migrating) the store in a worker.

        A returning user's dashboard is read first with ``sqlite3`` (see
        app.services.dashboard_read: SQLAlchemy's import alone takes longer than the
        window's first paint) and shown at once; the store is opened after it, and the
        dashboard's actions wait for it. Otherwise the store is opened first.
        """
        if self.requested_page is not None:
            self._open_store(first_read=False)
            return
        if self.dashboard is not None and self.view == "dashboard":
            # Its first read was shown before the first paint (show_read_if_ready).
            self._open_store(first_read=True)
            return
        paths = self.paths
        early, self._early_read = self._early_read, None

        def work(_cancel: threading.Event, _progress: Progress) -> DashboardSnapshot | None:
            try:
                if early is not None:
                    return early.result()
                from app.services.dashboard_read import read_dashboard

                return read_dashboard(paths)
            except Exception:
                # Only a shortcut: the store's own read shows the same page a moment later.
                log.warning("the quick first read failed; opening the store", exc_info=True)
                return None

        self.tasks.start(
            work,
            name="read dashboard",
            on_success=self._first_read,
            on_failure=lambda _message: self._open_store(first_read=False),
        )

    def _open_store(self, *, first_read: bool) -> None:
        if self._closing:
            return
        self._run_before_open()
        paths, opened = self.paths, self._stores_opened

        def work(_cancel: threading.Event, _progress: Progress) -> tuple[Store, SetupState]:
            from app.services.setup.choices import read_setup
            from app.services.store import open_store

            store = open_store(paths)
            opened.append(store)
            return store, read_setup(store)

        if first_read:
            # On a thread of its own: the dashboard's workers wait for this store, so
            # they must never hold the threads it needs.
            if self._opener is None:
                from app.ui.kit.workers import TaskRunner

                self._opener = TaskRunner(self, max_threads=1)
            self._opener.start(
                work, name="open store", on_success=self._store_ready, on_failure=self._store_failed
            )
            return
        self.tasks.start(work, name="open store", on_success=self._opened, on_failure=self._failed)

    def show_read_if_ready(self) -> bool:
        """Show the dashboard's first read now if it has already finished with a page
        to show, so the window's first paint is that page rather than "Opening your
        data…" (never waits: a read still running is shown by :meth:`open` as before).
        Called before the window is first shown; the store is opened after its paint."""
        early = self._early_read
        if self.requested_page is not None or early is None or not early.done():
            return False
        if early.exception() is not None:
            return False  # open() logs it and opens the store instead
        snapshot = early.result()
        if snapshot is None or not snapshot.setup.setup_complete:
            return False
        try:
            self._show_read(snapshot)
        except Exception:
            # Outside the event loop the crash hook would not show it: take the normal
            # path instead (open() shows the same read, from a worker, or reports it).
            log.exception("showing the first read before the first paint failed")
            self._drop_dashboard()
            return False
        self._early_read = None
        return True

    def _drop_dashboard(self) -> None:
        if self.dashboard is not None:
            self.stack.removeWidget(self.dashboard)
            self.dashboard.deleteLater()
            self.dashboard = None
        self.setup = None
        self._set_view("loading")

    def _first_read(self, snapshot: DashboardSnapshot | None) -> None:
        if self._closing:
            return
        if snapshot is None or not snapshot.setup.setup_complete:
            self._open_store(first_read=False)
            return
        self._show_read(snapshot)
        # Once the data is painted: importing SQLAlchemy in a worker meanwhile would take
        # the interpreter's lock from building and painting the page.
        QTimer.singleShot(0, self, lambda: self._open_store(first_read=True))

    def _show_read(self, snapshot: DashboardSnapshot) -> None:
        self.setup = snapshot.setup
        dashboard = self._dashboard_view()
        self._set_view("dashboard")
        dashboard.show_snapshot(snapshot)

    def _adopt(self, result: tuple[Store, SetupState]) -> bool:
        """Take the opened store and its set-up, and serve the Web Connector; False when
        the window is closing (closeEvent closes that store)."""
        if self._closing:
            return False
        self.store, self.setup = result
        self.start_web_connector()
        return True

    def _store_ready(self, result: tuple[Store, SetupState]) -> None:
        if not self._adopt(result):
            return
        if self.dashboard is not None:
            self.dashboard.attach_store(result[0])
        waiting, self._when_open = self._when_open, None
        if waiting is not None:
            waiting()
        self.store_opened.emit()

    def _store_failed(self, message: str) -> None:
        if self.dashboard is not None:
            self.dashboard.store_failed(message)
        self._when_open = None
        self.stack.setCurrentWidget(self._loading_view())
        self._set_view("loading")
        self._failed(message)

    def _once_open(self, then: Callable[[], None]) -> None:
        """Show a view (a quick link's page, a failure's fix) now if the store is open,
        else as soon as it is. Each replaces the view, so one asked for while the store
        opens replaces any asked for before it: only the last one pressed is built."""
        if self.store is not None:
            then()
        else:
            self._when_open = then

    def _opened(self, result: tuple[Store, SetupState]) -> None:
        from app.services.setup.routing import Page, parse_page

        if not self._adopt(result):
            return
        self.store_opened.emit()
        requested, self.requested_page = self.requested_page, None
        if requested:
            try:
                page = parse_page(requested)
            except ValueError as exc:
                self._failed(str(exc))
                return
            self.show_page(page)
        elif result[1].setup_complete:
            self.show_dashboard()
        else:
            self.resume_wizard(Page.GET_STARTED)

    def start_web_connector(self) -> None:
        """While the window is open, serve QuickBooks Desktop's Web Connector (started in
        a worker; see app.ui.windows.qbwc_host)."""
        if self.store is not None and self.setup is not None:
            from app.ui.windows.qbwc_host import start_web_connector

            start_web_connector(self, self.store, self.setup.package)

    def _failed(self, message: str) -> None:
        self._loading_view()
        if self.loading_busy is not None:
            self.loading_busy.setVisible(False)
        self.loading_label.setText(f"Ledgerlink could not open your data.\n\n{message}")
        self.refreshed.emit()

    # ------------------------------------------------------------------ views

    def show_page(self, page: Page) -> None:
        """Open straight at ``page`` (``--page`` and the dashboard's quick links)."""
        from app.services.setup.routing import Page, pages_for_opening

        assert self.setup is not None
        if page is Page.DASHBOARD:
            self.show_dashboard()
            return
        if not self.setup.package or self.setup.situation is None:
            # Nothing else makes sense before a package and situation are chosen.
            self.show_wizard(Page.GET_STARTED, None)
            return
        only = pages_for_opening(
            self.setup.situation, page, setup_complete=self.setup.setup_complete
        )
        self.show_wizard(only[0] if only else page, only)

    def resume_wizard(self, default: Page) -> None:
        """The wizard at the page the user left it on (stored), or ``default``."""
        from app.services.setup.routing import Page, steps

        assert self.setup is not None
        start = default
        stored = self.setup.wizard_page
        if stored and self.setup.package and stored in {p.value for p in Page}:
            page = Page(stored)
            if page in steps(self.setup.situation):
                start = page
        self.show_wizard(start, None)

    def show_wizard(self, start: Page, only: tuple[Page, ...] | None) -> None:
        from app.ui.windows.wizard import SetupWizard
        from wizard_pages.context import WizardContext

        assert self.store is not None and self.setup is not None
        self._drop_wizard()
        context = WizardContext(self.store, self.setup, parent=self)
        wizard = SetupWizard(context, start, only)
        wizard.completed.connect(self._wizard_completed)
        wizard.closed.connect(self._wizard_closed)
        self.wizard_context, self.wizard = context, wizard
        self.stack.addWidget(wizard)
        self.stack.setCurrentWidget(wizard)
        wizard.restart()
        self._set_view("wizard")

    def show_dashboard(self) -> None:
        dashboard = self._dashboard_view()
        self._set_view("dashboard")
        dashboard.refresh()

    def _dashboard_view(self) -> Dashboard:
        """The dashboard, made on first use, as the current view."""
        from app.ui.windows.dashboard import Dashboard

        self._drop_wizard()
        if self.dashboard is None:
            self.dashboard = Dashboard(
                self.store, self.tasks, auto_send_interval_ms=self.auto_send_interval_ms
            )
            self.dashboard.refreshed.connect(self._dashboard_refreshed)
            self.dashboard.send_finished.connect(self.send_finished.emit)
            self.dashboard.open_page.connect(self._quick_link)
            self.dashboard.open_record.connect(self._open_fix)
            self.stack.addWidget(self.dashboard)
        self.stack.setCurrentWidget(self.dashboard)
        return self.dashboard

    def _set_view(self, view: str) -> None:
        self.view = view
        self.view_changed.emit(view)

    def _dashboard_refreshed(self) -> None:
        dashboard = self.dashboard
        if dashboard is not None and dashboard.snapshot is not None:
            self.setup = dashboard.snapshot.setup
            name = dashboard.snapshot.data.package_name
            self.setWindowTitle(f"Ledgerlink – {name}")
            self.folder_label.setText(f"Data folder: {dashboard.snapshot.data.status.data_dir}")
        self.refreshed.emit()

    def _quick_link(self, name: str) -> None:
        from app.services.setup.routing import Page

        self._once_open(lambda: self.show_page(Page(name)))

    def _open_fix(self, name: str, contact_id: int) -> None:
        """A failure's fix: the wizard at page ``name``, at our contact ``contact_id``
        (the link grid selects it once it is loaded)."""
        self._once_open(lambda: self._show_fix(name, contact_id))

    def _show_fix(self, name: str, contact_id: int) -> None:
        from app.services.setup.routing import Page
        from wizard_pages.link_page import LinkPage

        self.show_page(Page(name))
        page = self.wizard.pages.get(Page(name)) if self.wizard is not None else None
        if isinstance(page, LinkPage):
            page.focus_contact(contact_id)

    # ------------------------------------------------------------------ the wizard

    def _wizard_completed(self) -> None:
        from app.services.setup.routing import Page

        context = self.wizard_context
        assert context is not None
        self.setup = replace(context.choices)
        if self.setup.setup_complete:
            self.show_dashboard()
        else:
            self.resume_wizard(Page.GET_STARTED)

    def _wizard_closed(self) -> None:
        context = self.wizard_context
        assert context is not None
        self.setup = replace(context.choices)
        if self.setup.setup_complete:
            self.show_dashboard()
        else:
            # First set-up, closed midway: everything chosen is stored; the wizard opens
            # where the user left it next time.
            self.close()

    def _drop_wizard(self) -> None:
        wizard, context = self.wizard, self.wizard_context
        self.wizard = self.wizard_context = None
        if context is not None:
            context.shutdown()
        if wizard is not None:
            self.stack.removeWidget(wizard)
            wizard.deleteLater()
        if context is not None:
            context.deleteLater()

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        runners = [r for r in (self._tasks, self._opener) if r is not None]
        for runner in runners:
            runner.cancel_all()
        if self.wizard_context is not None:
            self.wizard_context.shutdown()
        if self._opener is not None:
            self._opener.wait()
        if self.dashboard is not None:
            # Workers started before the store was open wait for it: let them go.
            self.dashboard.store_failed("The window was closed before your data was open.")
        for runner in runners:
            runner.wait()
        if self.store is not None:
            from app.ui.windows.qbwc_host import stop_web_connector

            stop_web_connector(self.store)
        for store in self._stores_opened:  # self.store among them
            store.close()
        self._stores_opened.clear()
        self.store = None
        super().closeEvent(event)
