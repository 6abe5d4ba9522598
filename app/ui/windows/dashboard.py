"""The accounting dashboard: what is waiting, sent and failed, and what to do about it.

Counts per record type and send state, the failure list (each root cause with the
records it holds back) and its actions, *Send data now* with progress and cancel, last
and next send times, the two-hourly automatic send, and quick links that reopen the
wizard at one page. Everything that reads or writes runs in a worker.

The first page is built without the ``Qt`` namespace (its first use builds all of its
enums, about 25 ms): enum properties are set by name (``setProperty``), the buttons are
kept at the top by a stretch, the tables' titles come from C++ (see status_models), and
what the first paint does not show (the quick links' hand cursor, the "Change by hand"
page's table) is made after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QConcatenateTablesProxyModel, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.errors import UserError
from app.services.sending.causes import CHOOSE_CODE
from app.services.setup.routing import Page
from app.ui.kit.style import heading_font, wrapped_label
from app.ui.kit.widgets import DetailsPane, StatusLine
from app.ui.kit.workers import TaskRunner
from app.ui.windows.status_models import (
    FailureModel,
    PendingChangeModel,
    StatusModel,
    with_titles,
)
from connectors.wording import count, when
from wizard_pages.help import HelpButton

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent

    from app.services.dashboard import ActionDone, DashboardSnapshot
    from app.services.sending.sender import SendProgress, SendReport
    from app.services.store import Store
    from wizard_pages.import_files_dialog import ImportFilesDialog

TWO_HOURS_MS = 2 * 60 * 60 * 1000
SITUATION_WORDS = {
    "new_to_package": "new to the package",
    "side_by_side": "both used side by side",
    "package_first": "the package came first",
}

Progress = Callable[[object], None]


class Dashboard(QWidget):
    """The main window's view once set-up is done."""

    #: Emitted after every refresh (tests wait on it).
    refreshed = Signal()
    #: Emitted when a send finishes, with its report (``None`` if it could not start).
    send_finished = Signal(object)
    #: A quick link: open the wizard at this page (its value).
    open_page = Signal(str)
    #: A failure's fix: open the wizard at this page (its value) at our contact (its id).
    open_record = Signal(str, int)

    def __init__(
        self,
        store: Store | None,
        tasks: TaskRunner,
        *,
        auto_send_interval_ms: int = TWO_HOURS_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        #: The open store; ``None`` while the window still opens it (the first data
        #: shown then came from app.services.dashboard_read): see :meth:`attach_store`.
        self.store = store
        self._opened: Future[Store] = Future()
        if store is not None:
            self._opened.set_result(store)
        self.tasks = tasks
        self.snapshot: DashboardSnapshot | None = None
        self._send_cancel: threading.Event | None = None
        self.next_send_at: datetime | None = None
        self.auto_timer = QTimer(self)
        self.auto_timer.setInterval(auto_send_interval_ms)
        self.auto_timer.timeout.connect(self._auto_send_due)

        layout = QVBoxLayout(self)
        layout.addLayout(self._header())
        layout.addLayout(self._quick_links())
        layout.addWidget(self._status_table())
        layout.addLayout(self._send_row())
        self.times = QLabel("")
        self.times.setObjectName("times")
        layout.addWidget(self.times)
        self.current = StatusLine()
        self.current.setObjectName("current")
        layout.addWidget(self.current)
        self.lists = QTabWidget()
        self.lists.setObjectName("lists")
        self.lists.setDocumentMode(True)
        self.lists.addTab(self._failures_page(), "Failed records")
        self.change_model = PendingChangeModel()
        self._changes_page: QWidget = QWidget()
        self._change_view: QTableView | None = None
        self._confirm_button: QPushButton | None = None
        self.lists.addTab(self._changes_page, "Change by hand")
        self.lists.currentChanged.connect(self._tab_shown)
        layout.addWidget(self.lists, 1)
        self._selection_changed()
        self.import_button.setEnabled(store is not None)
        self._finished = False

    def attach_store(self, store: Store) -> None:
        """The store, now open: workers started before (they wait for it) carry on."""
        self.store = store
        self.import_button.setEnabled(True)
        self._opened.set_result(store)

    def store_failed(self, message: str) -> None:
        """The store could not be opened (or the window closed first): workers waiting
        for it fail with ``message``. Nothing changes once the store was attached."""
        if self._opened.done():
            return
        self._opened.set_exception(UserError(message))
        self.current.error(message)

    def show_snapshot(self, snapshot: DashboardSnapshot) -> None:
        """Show data read before the store was opened (the window's first read)."""
        self._show(snapshot)

    # ------------------------------------------------------------------ building

    def _header(self) -> QHBoxLayout:
        """The firm's name and package, what the data is, the job system's import and
        the help button."""
        self.heading = QLabel("Loading…")
        self.heading.setFont(heading_font(self.font(), 1.5))
        self.subheading = wrapped_label(muted=True)
        self.help_button = HelpButton(Page.DASHBOARD)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.heading)
        titles.addWidget(self.subheading)
        header.addLayout(titles, 1)
        self.import_button = QPushButton("Import &files…")
        self.import_button.setObjectName("importFiles")
        self.import_button.setToolTip("Import CSV files exported from the job system")
        self.import_button.clicked.connect(self.open_import)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.help_button)
        at_top = QVBoxLayout()  # level with the firm's name, however tall the titles
        at_top.addLayout(buttons)
        at_top.addStretch(1)
        header.addLayout(at_top)
        return header

    def _quick_links(self) -> QHBoxLayout:
        """Flat buttons that reopen the wizard at a set-up page."""
        links = QHBoxLayout()
        links.addWidget(QLabel("Change set-up:"))
        self.quick_links: dict[Page, QPushButton] = {}
        for page, text in (
            (Page.LINK_CUSTOMERS, "&Link customers and suppliers"),
            (Page.NOMINAL_ACCOUNTS, "&Nominal accounts"),
            (Page.SYNC, "Keep contacts &in step"),
            (Page.GET_STARTED, "Change &package or situation"),
        ):
            button = QPushButton(text)
            button.setObjectName(f"quick-{page.value}")
            button.setFlat(True)
            button.clicked.connect(lambda _=False, p=page: self.open_page.emit(p.value))
            links.addWidget(button)
            self.quick_links[page] = button
        links.addStretch(1)
        return links

    def _status_table(self) -> QTableView:
        """Counts per record type and send state, five rows high, never scrolled."""
        self.status_model = StatusModel()
        self.status_view = QTableView()
        self.status_view.setObjectName("statusTable")
        self.status_view.setModel(self.status_model)
        self.status_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.status_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.status_view.setProperty("focusPolicy", "NoFocus")
        self.status_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # A title wider than its column at 125 % ends in "…", not cut at both ends.
        self.status_view.horizontalHeader().setProperty("textElideMode", "ElideRight")
        self.status_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows_height = self.status_view.verticalHeader().defaultSectionSize() * 5
        self.status_view.setFixedHeight(
            rows_height + self.status_view.horizontalHeader().sizeHint().height() + 4
        )
        return self.status_view

    def _send_row(self) -> QHBoxLayout:
        """Send now, cancel, its progress and the two-hourly switch."""
        self.send_button = QPushButton("&Send data now")
        self.send_button.setObjectName("sendNow")
        self.send_button.setDefault(True)
        self.send_button.setEnabled(False)
        # As a property, and as text that Qt converts: setShortcut's overloads (keys, key
        # combinations) build the Qt namespace's enums while choosing one, and a
        # QKeySequence made in Python builds its own class.
        self.send_button.setProperty("shortcut", "Ctrl+Return")
        self.send_button.setToolTip("Send everything waiting (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send_now)
        self.cancel_button = QPushButton("&Cancel sending")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_send)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.auto_send = QCheckBox("Send &automatically every two hours")
        self.auto_send.toggled.connect(self._auto_send_toggled)
        for fixed in (self.send_button, self.cancel_button):
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        send_row = QHBoxLayout()
        send_row.addWidget(self.send_button)
        send_row.addWidget(self.cancel_button)
        send_row.addWidget(self.progress, 1)
        send_row.addStretch(0)
        send_row.addSpacing(12)
        send_row.addWidget(self.auto_send)
        return send_row

    def _failures_page(self) -> QWidget:
        """The failed records, the selected one's reason and fix, and what to do."""
        self.failures_title = QLabel("Failed records")
        self.failures_title.setFont(heading_font(self.font(), 1.1))
        self.details = DetailsPane(5)
        self.details.setObjectName("details")
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.failures_title)
        layout.addWidget(self._failure_table(), 1)
        layout.addWidget(self.details)
        layout.addLayout(self._failure_actions())
        return page

    def _failure_table(self) -> QTableView:
        self.failure_model = FailureModel()
        self.failure_view = QTableView()
        self.failure_view.setObjectName("failureTable")
        self.failure_view.setModel(with_titles(self.failure_model, FailureModel.COLUMNS, self))
        self.failure_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failure_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.failure_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.failure_view.setWordWrap(False)
        self.failure_view.verticalHeader().setVisible(False)
        header_view = self.failure_view.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header_view.setStretchLastSection(True)
        header_view.setProperty("textElideMode", "ElideRight")
        for column, width in enumerate((230, 220, 90, 260)):
            self.failure_view.setColumnWidth(column, width)
        selection = self.failure_view.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        return self.failure_view

    def _failure_actions(self) -> QHBoxLayout:
        """Retry, do not send (with what it holds back), entered by hand, export."""
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setToolTip("Send the selected records again with the next send")
        self.retry_button.clicked.connect(self.retry_selected)
        self.exclude_button = QPushButton("&Do not send")
        self.exclude_button.clicked.connect(self.exclude_selected)
        self.with_dependants = QCheckBox("with the records it holds bac&k")
        self.with_dependants.setChecked(True)
        self.manual_id = QLineEdit()
        self.manual_id.setObjectName("manualId")
        self.manual_id.setPlaceholderText("id in the package")
        self.manual_id.setMaximumWidth(170)
        self.manual_button = QPushButton("Entered &by hand")
        self.manual_button.setToolTip(
            "The selected record is already in the package: type its id there, then press this"
        )
        self.manual_button.clicked.connect(self.entered_manually_selected)
        self.export_button = QPushButton("&Export list…")
        self.export_button.clicked.connect(self.export_list)
        self.fix_button = QPushButton("Fi&x…")
        self.fix_button.setToolTip(
            "Open the page where the selected record's problem is fixed (for a customer or "
            "supplier to choose, the link grid at that contact)"
        )
        self.fix_button.clicked.connect(self.open_fix)
        self.new_button = QPushButton("Create ne&w")
        self.new_button.setToolTip(
            "Create as new: the selected contacts are none of the package's records, so the "
            "next send creates them"
        )
        self.new_button.clicked.connect(self.create_selected_as_new)
        actions = QHBoxLayout()
        for widget in (
            self.fix_button,
            self.new_button,
            self.retry_button,
            self.exclude_button,
            self.with_dependants,
        ):
            actions.addWidget(widget)
        actions.addSpacing(16)
        actions.addWidget(self.manual_id)
        actions.addWidget(self.manual_button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        return actions

    # ------------------------------------------------------------------ importing

    def open_import(self) -> ImportFilesDialog:
        """Open the import from the job system; the counts refresh after an import."""
        # Imported when first opened: the dialog's modules are not needed to show the
        # dashboard, and cost a fifth of a second to import.
        from PySide6.QtCore import Qt

        from wizard_pages.import_files_dialog import ImportFilesDialog

        assert self.store is not None, "the import button waits for the store"
        dialog = ImportFilesDialog(self.store, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.imported.connect(lambda _result: self.refresh())
        dialog.show()
        self.import_dialog = dialog
        return dialog

    def _tab_shown(self, index: int) -> None:
        if self.lists.widget(index) is self._changes_page:
            self._build_changes_page()

    @property
    def change_view(self) -> QTableView:
        """The "Change by hand" table (its page is built when first shown)."""
        self._build_changes_page()
        assert self._change_view is not None
        return self._change_view

    @property
    def confirm_button(self) -> QPushButton:
        """ "Change made in the package" for the selected changes."""
        self._build_changes_page()
        assert self._confirm_button is not None
        return self._confirm_button

    def _build_changes_page(self) -> None:
        """Records the job system changed after they were sent (insert-only sending): made
        when the page is first shown, from :attr:`change_model` (kept up to date)."""
        if self._change_view is not None:
            return
        intro = wrapped_label(muted=True)
        intro.setText(
            "Ledgerlink never changes a record already in your package. These were changed "
            "in your job system after they were sent: make the same change in the package, "
            "then select them and press “Change made in the package”."
        )
        view = self._change_view = QTableView()
        view.setObjectName("changeTable")
        view.setModel(with_titles(self.change_model, PendingChangeModel.COLUMNS, self))
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((200, 470, 150)):
            view.setColumnWidth(column, width)
        confirm = self._confirm_button = QPushButton("Change &made in the package")
        confirm.setEnabled(False)
        confirm.clicked.connect(self.confirm_selected_changes)
        view.selectionModel().selectionChanged.connect(
            lambda *_: confirm.setEnabled(view.selectionModel().hasSelection())
        )
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(confirm)
        page_layout = QVBoxLayout(self._changes_page)
        page_layout.addWidget(intro)
        page_layout.addWidget(view, 1)
        page_layout.addLayout(row)
        if self._changes_page.isVisible():  # else Qt shows them on its next turn
            for widget in (intro, view, confirm):
                widget.show()

    def confirm_selected_changes(self) -> None:
        from app.services.dashboard import confirm_changes

        rows = _model_rows(self.change_view)
        ids = [self.change_model.item(r).id for r in rows]
        if not ids:
            return
        self._act("confirm changes", lambda store: confirm_changes(store, ids))

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Read the counts, failures and set-up in a worker, then show them."""
        opened = self._opened

        def work(_cancel: threading.Event, _progress: Progress) -> DashboardSnapshot:
            from app.services.dashboard import load_snapshot

            return load_snapshot(opened.result())

        self.tasks.start(work, name="load dashboard", on_success=self._show, on_failure=self._error)

    def _show(self, snapshot: DashboardSnapshot) -> None:
        self.snapshot = snapshot
        status, setup = snapshot.data.status, snapshot.setup
        self.heading.setText(snapshot.data.package_name)
        self.help_button.package = status.package
        parts = []
        if setup.company_name:
            parts.append(f"Company: {setup.company_name}")
        if status.situation:
            parts.append(f"Situation: {SITUATION_WORDS.get(status.situation, status.situation)}")
        self.subheading.setText("   ·   ".join(parts))
        self.status_model.set_states(status.states, snapshot.data.handed_over_label)
        self.failure_model.set_failures(snapshot.data.failures, snapshot.data.causes)
        causes = len(snapshot.data.causes)
        failed = sum(1 + len(f.dependants) for f in snapshot.data.failures)
        self.failures_title.setText(
            f"Failed records: {count(failed, 'record')} from {count(causes, 'cause')}"
            if failed
            else "Failed records: none"
        )
        self.lists.setTabText(0, f"Failed records ({failed:,})")
        self.change_model.set_changes(list(snapshot.changes))
        self.lists.setTabText(1, f"Change by hand ({len(snapshot.changes):,})")
        if self._confirm_button is not None:
            self._confirm_button.setEnabled(False)
        self.auto_send.blockSignals(True)
        self.auto_send.setChecked(setup.auto_send)
        self.auto_send.blockSignals(False)
        self._schedule(setup.auto_send)
        self._show_times()
        self.send_button.setEnabled(bool(status.package) and not self.sending())
        self._selection_changed()
        self.refreshed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._finished and self.snapshot is not None:
            self._finished = True
            # Posted while painting, so it runs once the page with its data is painted.
            QTimer.singleShot(0, self, self._finish_building)

    def _finish_building(self) -> None:
        """What the first page's paint does not need: the quick links' hand cursor."""
        from PySide6.QtCore import Qt

        for button in self.quick_links.values():
            button.setCursor(Qt.CursorShape.PointingHandCursor)

    def _show_times(self) -> None:
        last = self.snapshot.setup.last_send_at if self.snapshot else None
        next_text = (
            when(self.next_send_at)
            if self.next_send_at
            else "not scheduled (automatic sending is off)"
        )
        text = f"Last send: {when(last)}    ·    Next send: {next_text}"
        notes = (
            [n for n in (self.snapshot.data.bridge_note, self.snapshot.data.held_back_note) if n]
            if self.snapshot
            else []
        )
        self.times.setText("\n".join([text, *notes]))

    def _error(self, message: str) -> None:
        self.current.error(message)
        self.refreshed.emit()

    # ------------------------------------------------------------------ sending

    def sending(self) -> bool:
        return self._send_cancel is not None

    def send_now(self) -> None:
        if self.sending():
            return
        opened = self._opened

        def work(cancel: threading.Event, progress: Progress) -> SendReport:
            from app.services.sending.run import send_now

            return send_now(opened.result(), actor="user", cancel=cancel, progress=progress)

        self.send_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.current.busy("Connecting…")
        task = self.tasks.start(
            work,
            name="send",
            on_success=self._sent,
            on_failure=self._send_failed,
            on_progress=self._send_progress,
        )
        self._send_cancel = task.cancel_event

    def cancel_send(self) -> None:
        if self._send_cancel is not None:
            self._send_cancel.set()
            self.cancel_button.setEnabled(False)
            self.current.busy("Stopping after the record being sent now…")

    def _send_progress(self, progress: SendProgress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        if progress.current:
            self.current.busy(
                f"Sending {progress.current} ({progress.done + 1:,} of {progress.total:,})"
            )

    def _sent(self, report: SendReport) -> None:
        self._send_done()
        from app.services.sending.run import send_outcome
        from connectors.registry import package_info

        outcome = send_outcome(report, package_info(report.package).name)
        if outcome.needs_attention:
            self.current.error(outcome.summary)
        else:
            self.current.success(outcome.summary)
        self.send_finished.emit(report)

    def _send_failed(self, message: str) -> None:
        self._send_done()
        self.current.error(f"Could not send: {message}")
        self.send_finished.emit(None)

    def _send_done(self) -> None:
        self._send_cancel = None
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        if self.auto_timer.isActive():
            self.next_send_at = datetime.now().astimezone() + timedelta(
                milliseconds=self.auto_timer.remainingTime()
            )
        self.refresh()

    # ------------------------------------------------------------------ automatic

    def _auto_send_toggled(self, on: bool) -> None:
        opened = self._opened

        def work(_cancel: threading.Event, _progress: Progress) -> None:
            from app.services.setup.choices import set_auto_send

            set_auto_send(opened.result(), on)

        self.tasks.start(work, name="save automatic sending", on_failure=self._error)
        self._schedule(on)
        self._show_times()

    def _schedule(self, on: bool) -> None:
        if on and not self.auto_timer.isActive():
            self.auto_timer.start()
            self.next_send_at = datetime.now().astimezone() + timedelta(
                milliseconds=self.auto_timer.interval()
            )
        elif not on:
            self.auto_timer.stop()
            self.next_send_at = None

    def _auto_send_due(self) -> None:
        self.next_send_at = datetime.now().astimezone() + timedelta(
            milliseconds=self.auto_timer.interval()
        )
        if not self.sending() and self.isVisible():
            self.send_now()
        self._show_times()

    # ------------------------------------------------------------------ failures

    def selected_rows(self) -> list[int]:
        return _model_rows(self.failure_view)

    def selected_ids(self) -> list[int]:
        return [self.failure_model.item(row).outbox_id for row in self.selected_rows()]

    def _selection_changed(self, *_: Any) -> None:
        rows = self.selected_rows()
        for button in (self.retry_button, self.exclude_button):
            button.setEnabled(bool(rows) and not self.sending())
        self.manual_button.setEnabled(len(rows) == 1)
        self.manual_id.setEnabled(len(rows) == 1)
        items = [self.failure_model.item(row) for row in rows]
        self.fix_button.setEnabled(len(items) == 1 and bool(items[0].fix_page))
        self.new_button.setEnabled(
            bool(items) and all(i.code == CHOOSE_CODE for i in items) and not self.sending()
        )
        self.export_button.setEnabled(self.failure_model.rowCount() > 0)
        if len(rows) == 1:
            item = self.failure_model.item(rows[0])
            held = (
                " (held back by the record above it in the list)"
                if (self.failure_model.is_held_back(rows[0]))
                else ""
            )
            cause = self.failure_model.cause(rows[0])
            by_cause = (
                f"<i>Cause:</i> {_escape(cause.title)} ({_escape(cause.summary())})<br>"
                if cause is not None
                else ""
            )
            self.details.setText(
                f"<b>{_escape(item.label)}</b>{held}<br>{by_cause}{_escape(item.reason)}<br>"
                f"<i>Fix:</i> {_escape(item.fix)}"
            )
        elif rows:
            self.details.setText(f"{count(len(rows), 'record')} selected.")
        else:
            self.details.setText(
                "Select a record to see why it failed and how to fix it."
                if self.failure_model.rowCount()
                else "Nothing has failed."
            )

    def _act(self, name: str, action: Callable[[Store], ActionDone]) -> None:
        """Run a dashboard service in a worker, say what it did and refresh."""
        opened = self._opened

        def work(_cancel: threading.Event, _progress: Progress) -> ActionDone:
            return action(opened.result())

        def finished(done: ActionDone) -> None:
            self.current.success(done.message)
            self.refresh()

        self.tasks.start(work, name=name, on_success=finished, on_failure=self.current.error)

    def retry_selected(self) -> None:
        from app.services.dashboard import retry_records

        ids = self.selected_ids()
        if not ids:
            return
        self._act("retry", lambda store: retry_records(store, ids))

    def exclude_selected(self) -> None:
        from app.services.dashboard import keep_back

        ids = self.selected_ids()
        if not ids:
            return
        include = self.with_dependants.isChecked()
        self._act("do not send", lambda store: keep_back(store, ids, include_dependants=include))

    def entered_manually_selected(self) -> None:
        from app.services.dashboard import mark_entered_by_hand

        ids = self.selected_ids()
        remote_id = self.manual_id.text().strip()
        if len(ids) != 1:
            return
        if not remote_id:
            self.current.error(
                "Type the record's id in the package first (for example its invoice number "
                "there), then press Entered by hand."
            )
            self.manual_id.setFocus()
            return
        self.manual_id.clear()
        self._act("entered manually", lambda store: mark_entered_by_hand(store, ids[0], remote_id))

    def open_fix(self) -> None:
        """Open where the selected record is fixed; a contact to choose opens the link
        grid at that contact."""
        rows = self.selected_rows()
        if len(rows) != 1:
            return
        item = self.failure_model.item(rows[0])
        if not item.fix_page:
            return
        if item.record_type in ("customer", "supplier"):
            self.open_record.emit(item.fix_page, item.record_id)
        else:
            self.open_page.emit(item.fix_page)

    def create_selected_as_new(self) -> None:
        from app.services.dashboard import create_as_new

        ids = self.selected_ids()
        if not ids or self.snapshot is None or not self.snapshot.data.status.package:
            return
        package = self.snapshot.data.status.package
        self._act("create as new", lambda store: create_as_new(store, package, ids))

    def export_list(self) -> None:
        from PySide6.QtWidgets import QFileDialog  # its class (and enums) only when used

        from app.services.dashboard import export_failure_list

        name, _filter = QFileDialog.getSaveFileName(
            self, "Export the failure list", str(Path.home() / "failures.csv"), "CSV (*.csv)"
        )
        if not name or self.snapshot is None or not self.snapshot.data.status.package:
            return
        path = Path(name)
        package = self.snapshot.data.status.package
        opened = self._opened
        self.tasks.start(
            lambda _cancel, _progress: export_failure_list(opened.result(), package, path),
            name="export failures",
            on_success=lambda done: self.current.success(done.message),
            on_failure=self.current.error,
        )


def _escape(text: str) -> str:
    import html  # with its entities, only once a failure is selected

    return html.escape(text)


def _model_rows(view: QTableView) -> list[int]:
    """The rows selected in ``view``, as rows of the list under its titles (the view's
    model is :func:`with_titles`' proxy)."""
    proxy = view.model()
    assert isinstance(proxy, QConcatenateTablesProxyModel)
    selected = view.selectionModel().selectedRows()
    return sorted({proxy.mapToSource(index).row() for index in selected})
