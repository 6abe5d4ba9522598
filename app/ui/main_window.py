"""The main window: the accounting dashboard.

Counts by send state, the failure list and "Send data now". All reading and sending runs
in :class:`~app.ui.workers.TaskRunner` tasks; the GUI thread only shows results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.config import DataPaths
from app.services.connections import active_connector
from app.services.dashboard import DashboardData, load_dashboard
from app.services.sending import Sender, SendProgress, SendReport
from app.services.store import Store, open_store
from app.ui.status_models import FailureModel, StatusModel
from app.ui.workers import TaskRunner


class MainWindow(QMainWindow):
    """The dashboard a user lands on once set-up is done."""

    #: Emitted after every refresh of the dashboard (tests wait on it).
    refreshed = Signal()
    #: Emitted when a send finishes, with its report.
    send_finished = Signal(object)

    def __init__(self, paths: DataPaths) -> None:
        super().__init__()
        self.paths = paths
        self.store: Store | None = None
        self.tasks = TaskRunner(self)
        self._send_task_cancel: Callable[[], None] | None = None
        self.setWindowTitle("Ledgerlink")
        self.resize(1000, 640)

        self.heading = QLabel("Opening your data…")
        self.heading.setObjectName("heading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.subheading = QLabel("")
        self.subheading.setWordWrap(True)

        self.status_model = StatusModel()
        self.status_view = QTableView()
        self.status_view.setModel(self.status_model)
        self.status_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.status_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.status_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.status_view.setMaximumHeight(
            self.status_view.horizontalHeader().sizeHint().height() * 7
        )

        self.send_button = QPushButton("&Send data now")
        self.send_button.setEnabled(False)
        self.send_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.send_button.clicked.connect(self.send_now)
        self.cancel_button = QPushButton("&Cancel sending")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_send)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.current = QLabel("")

        send_row = QHBoxLayout()
        send_row.addWidget(self.send_button)
        send_row.addWidget(self.cancel_button)
        send_row.addWidget(self.progress, 1)
        send_row.addStretch()

        self.failures_title = QLabel("Failed records")
        self.failure_model = FailureModel()
        self.failure_view = QTableView()
        self.failure_view.setModel(self.failure_model)
        self.failure_view.setWordWrap(True)
        self.failure_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failure_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.failure_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive
        )
        self.failure_view.horizontalHeader().setStretchLastSection(True)
        self.failure_view.setColumnWidth(0, 240)
        self.failure_view.setColumnWidth(1, 380)

        layout = QVBoxLayout()
        layout.addWidget(self.heading)
        layout.addWidget(self.subheading)
        layout.addWidget(self.status_view)
        layout.addLayout(send_row)
        layout.addWidget(self.current)
        layout.addWidget(self.failures_title)
        layout.addWidget(self.failure_view, 1)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.setStatusBar(QStatusBar())

    # ------------------------------------------------------------------ loading

    def open(self) -> None:
        """Open (and migrate) the store in a worker, then load the dashboard."""

        def work(_cancel: threading.Event, _progress: Callable[[object], None]) -> Store:
            return open_store(self.paths)

        self.tasks.start(work, name="open store", on_success=self._opened, on_failure=self._error)

    def _opened(self, store: Store) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        store = self.store
        if store is None:
            return

        def work(_cancel: threading.Event, _progress: Callable[[object], None]) -> DashboardData:
            return load_dashboard(store)

        self.tasks.start(work, name="load dashboard", on_success=self._show, on_failure=self._error)

    def _show(self, data: DashboardData) -> None:
        status = data.status
        self.heading.setText(data.package_name)
        last = (
            datetime.fromisoformat(status.last_send_at).astimezone().strftime("%d/%m/%Y %H:%M")
            if status.last_send_at
            else "never"
        )
        situation = (status.situation or "not chosen").replace("_", " ")
        self.subheading.setText(
            f"Situation: {situation}  ·  Last send: {last}  ·  Data folder: {status.data_dir}"
        )
        self.status_model.set_states(status.states)
        self.failure_model.set_failures(data.failures)
        count = sum(1 + len(f.dependants) for f in data.failures)
        self.failures_title.setText(
            f"Failed records ({count})" if count else "Failed records: none"
        )
        self.failure_view.resizeRowsToContents()
        self.send_button.setEnabled(bool(status.package) and self._send_task_cancel is None)
        self.refreshed.emit()

    def _error(self, message: str) -> None:
        self.statusBar().showMessage(message)
        self.current.setText(message)
        self.refreshed.emit()

    # ------------------------------------------------------------------ sending

    def send_now(self) -> None:
        store = self.store
        if store is None or self._send_task_cancel is not None:
            return

        def work(cancel: threading.Event, progress: Callable[[object], None]) -> SendReport:
            with active_connector(store.paths, store.session_factory) as connector:
                connector.connect()
                sender = Sender(store.session_factory, connector, cancel=cancel, progress=progress)
                return sender.run()

        self.send_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.current.setText("Connecting…")
        task = self.tasks.start(
            work,
            name="send",
            on_success=self._sent,
            on_failure=self._send_failed,
            on_progress=self._send_progress,
        )
        self._send_task_cancel = task.cancel

    def cancel_send(self) -> None:
        if self._send_task_cancel is not None:
            self._send_task_cancel()
            self.current.setText("Stopping after the current record…")

    def _send_progress(self, progress: SendProgress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        if progress.current:
            self.current.setText(
                f"Sending {progress.current} ({progress.done + 1} of {progress.total})"
            )

    def _sent(self, report: SendReport) -> None:
        self._send_finished()
        sent = sum(report.sent.values())
        failed = sum(report.failed.values())
        text = f"Sent {sent} record(s)"
        if failed:
            text += f"; {failed} failed (see the list below)"
        if report.cancelled:
            text += "; cancelled"
        if report.stopped_reason:
            text += f". Stopped: {report.stopped_reason}"
        self.current.setText(text + ".")
        self.send_finished.emit(report)

    def _send_failed(self, message: str) -> None:
        self._send_finished()
        self.current.setText(f"Could not send: {message}")
        self.send_finished.emit(None)

    def _send_finished(self) -> None:
        self._send_task_cancel = None
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.refresh()

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        self.tasks.cancel_all()
        self.tasks.wait()
        if self.store is not None:
            self.store.close()
        super().closeEvent(event)
