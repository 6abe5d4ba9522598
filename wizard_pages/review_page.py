"""Review and send: what will happen, in numbers, before anything is written.

The pre-flight check (the same draft builder the sender uses) runs in a worker and the
page shows contacts to create, contacts already linked, invoices, credit notes and
payments, and what would fail and why (each root cause once). The user can send now,
with a progress bar, the record being sent and a cancel that stops cleanly after it,
and can choose to send automatically every two hours.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
)

from app.services.sending.causes import Cause
from app.services.sending.preflight import Preflight
from app.services.sending.run import send_now, send_outcome
from app.services.sending.sender import SendProgress, SendReport
from app.services.setup.choices import (
    set_auto_send,
    set_contacts_with_transactions,
    set_cutoff_date,
)
from app.services.setup.routing import Page
from app.ui.kit.style import heading_font, wrapped_label
from app.ui.kit.widgets import DetailsPane
from connectors.wording import count
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.models import PreflightFailureModel
from wizard_pages.sage50_files_panel import Sage50FilesPanel

#: The numbers the page shows, in order: key, words.
LINES: tuple[tuple[str, str], ...] = (
    ("customer", "Customers to create"),
    ("supplier", "Suppliers to create"),
    ("linked", "Contacts already linked (nothing to send)"),
    ("found", "Contacts found in the package (linked, not created)"),
    ("held", "Contacts waiting for a transaction"),
    ("invoice", "Invoices to send"),
    ("credit_note", "Credit notes to send"),
    ("payment", "Payments to send"),
    ("fail", "Records that would fail"),
)


@dataclass(frozen=True)
class ReviewData:
    """The pre-flight's numbers, as plain data for the GUI thread."""

    counts: dict[str, int]
    causes: list[Cause]


def run_preflight(preflight: Preflight, package_name: str) -> ReviewData:
    report = preflight.run()
    counts = {key: report.to_send.get(key, 0) for key, _ in LINES}
    counts["linked"] = report.already_linked
    counts["found"] = len(report.linked)
    counts["held"] = len(report.held_back)
    counts["fail"] = len(report.failures)
    return ReviewData(counts, report.causes(package_name))


class ReviewPage(WizardPage):
    """Pre-flight numbers, what would fail, send now, and the two-hourly choice."""

    page_id = Page.REVIEW_AND_SEND

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        numbers_box = QFrame()
        numbers_box.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(numbers_box)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.numbers: dict[str, QLabel] = {}
        for index, (key, words) in enumerate(LINES):
            number = QLabel("–")
            number.setObjectName(f"number-{key}")
            number.setFont(heading_font(self.font(), 1.15))
            row, column = index % 5, (index // 5) * 2
            grid.addWidget(number, row, column)
            grid.addWidget(QLabel(words), row, column + 1)
            self.numbers[key] = number

        self.failures_title = QLabel("What would fail, and why")
        self.failures_title.setFont(heading_font(self.font(), 1.05))
        self.failure_model = PreflightFailureModel()
        self.failure_view = QTableView()
        self.failure_view.setModel(self.failure_model)
        self.failure_view.setWordWrap(False)
        self.failure_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failure_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.failure_view.verticalHeader().setVisible(False)
        header = self.failure_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        for column, width in enumerate((290, 170, 170)):
            self.failure_view.setColumnWidth(column, width)
        # A table has no natural height: it takes what the page leaves, so larger text
        # does not push "Send now" below a page scroll bar.
        self.failure_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.failure_view.selectionModel().selectionChanged.connect(self._show_details)
        self.details = DetailsPane(3)
        self.details.setObjectName("details")

        self.cutoff_check = QCheckBox("Do not send anything dated &before")
        self.cutoff_check.toggled.connect(self._cutoff_changed)
        self.cutoff_date = QDateEdit()
        self.cutoff_date.setCalendarPopup(True)
        self.cutoff_date.setDisplayFormat("dd/MM/yyyy")
        self.cutoff_date.setEnabled(False)
        self.cutoff_date.editingFinished.connect(self._cutoff_changed)
        self.auto_send = QCheckBox("Send &automatically every two hours while Ledgerlink is open")
        self.auto_send.toggled.connect(self._auto_send_changed)
        self.with_transactions = QCheckBox(
            "Send customers and suppliers only &with a transaction that needs them"
        )
        self.with_transactions.setObjectName("contactsWithTransactions")
        self.with_transactions.setToolTip(
            "Off: every customer and supplier is sent. On: each waits until an invoice, "
            "credit note or payment for it is ready to send, and goes just before it."
        )
        self.with_transactions.toggled.connect(self._with_transactions_changed)
        options = QHBoxLayout()
        options.addWidget(self.cutoff_check)
        options.addWidget(self.cutoff_date)
        options.addStretch(1)

        self.send_button = QPushButton("&Send now")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.send_now)
        self.cancel_button = QPushButton("&Cancel sending")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_send)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        for fixed in (self.send_button, self.cancel_button):
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        send_row = QHBoxLayout()
        send_row.addWidget(self.send_button)
        send_row.addWidget(self.cancel_button)
        send_row.addWidget(self.progress, 1)
        send_row.addStretch(0)
        self.current = wrapped_label()
        self.current.setObjectName("current")

        layout = QVBoxLayout(self.body)
        self._layout = layout
        #: Sage 50: the files a send wrote, the steps in Sage and the reconcile step.
        self.sage50_files: Sage50FilesPanel | None = None
        layout.addWidget(numbers_box)
        layout.addWidget(self.failures_title)
        layout.addWidget(self.failure_view, 1)
        layout.addWidget(self.details)
        layout.addLayout(options)
        layout.addWidget(self.auto_send)
        layout.addWidget(self.with_transactions)
        layout.addLayout(send_row)
        layout.addWidget(self.current)
        layout.addWidget(self.status)
        layout.addStretch(0)
        self.data: ReviewData | None = None
        self.last_send: SendReport | None = None
        self._cancel: threading.Event | None = None

    # ------------------------------------------------------------------ checking

    def initializePage(self) -> None:
        self.begin()
        choices = self.context.choices
        self.setSubTitle(
            f"What Ledgerlink will write to {self.context.package_name}, before anything is "
            "written. Nothing is sent until you press Send now."
        )
        for widget, value in (
            (self.auto_send, choices.auto_send),
            (self.cutoff_check, choices.cutoff_date is not None),
            (self.with_transactions, choices.contacts_with_transactions),
        ):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        cutoff = choices.cutoff_date or date(datetime.now().astimezone().year, 1, 1)
        self.cutoff_date.setDate(QDate(cutoff.year, cutoff.month, cutoff.day))
        self.cutoff_date.setEnabled(choices.cutoff_date is not None)
        self.last_send = None
        self.current.clear()
        if choices.package == "sage_50":
            if self.sage50_files is None:
                self.sage50_files = Sage50FilesPanel(self.context, self.run)
                self._layout.insertWidget(self._layout.indexOf(self.status), self.sage50_files)
            self.sage50_files.refresh()
        self.check()

    def check(self) -> None:
        """Run the pre-flight check in a worker."""
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory
        package_name = self.context.package_name

        def work(_cancel: threading.Event, _progress: Progress) -> ReviewData:
            with connect() as connector:
                connector.connect()
                return run_preflight(Preflight(factory, connector), package_name)

        self.set_complete(False)
        self.send_button.setEnabled(False)
        self.status.busy(f"Checking every record against {self.context.package_name}…")
        self.run(work, name="pre-flight", on_success=self._checked, on_failure=self._failed)

    def _checked(self, data: ReviewData) -> None:
        self.data = data
        for key, label in self.numbers.items():
            label.setText(f"{data.counts.get(key, 0):,}")
        self.failure_model.set_causes(data.causes)
        self.failure_view.setVisible(bool(data.causes))
        self.details.setVisible(bool(data.causes))
        self._show_details()
        failing = data.counts["fail"]
        to_send = sum(
            data.counts[k] for k in ("customer", "supplier", "invoice", "credit_note", "payment")
        )
        self.failures_title.setText(
            f"What would fail, and why: {count(failing, 'record')} from "
            f"{count(len(data.causes), 'cause')}"
            if failing
            else "Nothing would fail."
        )
        # Always replace "Checking every record…", after a send as much as before one.
        if self.last_send is not None:
            self.status.plain("Press Finish to open the dashboard.")
        elif to_send:
            ready = count(to_send, "record")
            verb = "is" if to_send == 1 else "are"
            self.status.plain(
                f"{ready} {verb} ready to send. Press Send now, or Finish and send later "
                "from the dashboard."
            )
        else:
            self.status.plain("Nothing is waiting to be sent.")
        self.send_button.setEnabled(to_send > 0)
        self.set_complete(True)

    def _show_details(self, *_: object) -> None:
        rows = sorted({i.row() for i in self.failure_view.selectionModel().selectedRows()})
        if len(rows) != 1:
            self.details.setText(
                "Select a cause to read which records it stops and how to fix it."
                if self.failure_model.rowCount()
                else ""
            )
            return
        cause = self.failure_model.cause(rows[0])
        examples = ", ".join(html.escape(r.label) for r in cause.records[:3])
        more = len(cause.records) - 3
        if more > 0:
            examples += f" and {more:,} more"
        self.details.setText(
            f"<b>{html.escape(cause.title)}</b>: {html.escape(cause.summary())}.<br>"
            f"<i>For example:</i> {examples}<br>"
            f"<i>Fix:</i> {html.escape(cause.fix)}"
        )

    def _failed(self, message: str) -> None:
        self.status.error(f"Could not check the records: {message}")
        self.set_complete(True)

    # ------------------------------------------------------------------ options

    def _cutoff_changed(self) -> None:
        on = self.cutoff_check.isChecked()
        self.cutoff_date.setEnabled(on)
        picked = self.cutoff_date.date()
        cutoff = date(picked.year(), picked.month(), picked.day()) if on else None
        if cutoff == self.context.choices.cutoff_date:
            return
        self.context.change(
            "save cut-off date",
            lambda store: set_cutoff_date(store, cutoff),
            on_success=lambda _: self.check(),
        )

    def _auto_send_changed(self, on: bool) -> None:
        self.context.change("save automatic sending", lambda store: set_auto_send(store, on))

    def _with_transactions_changed(self, on: bool) -> None:
        # What would be sent changes with it, so the check runs again.
        self.context.change(
            "save sending contacts only with a transaction",
            lambda store: set_contacts_with_transactions(store, on),
            on_success=lambda _: self.check(),
        )

    # ------------------------------------------------------------------ sending

    def send_now(self) -> None:
        connect = self.context.connector_factory()
        store = self.context.store

        def work(cancel: threading.Event, progress: Progress) -> SendReport:
            return send_now(store, actor="user", connect=connect, cancel=cancel, progress=progress)

        self.set_complete(False)
        self.send_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.current.setText(f"Connecting to {self.context.package_name}…")
        task = self.run(
            work,
            name="send",
            on_success=self._sent,
            on_failure=self._send_failed,
            on_progress=self._send_progress,
        )
        self._cancel = task.cancel_event

    def cancel_send(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.current.setText("Stopping after the record being sent now…")

    def sending(self) -> bool:
        return self._cancel is not None

    def _send_progress(self, step: SendProgress) -> None:
        self.progress.setRange(0, max(step.total, 1))
        self.progress.setValue(step.done)
        if step.current:
            self.current.setText(f"Sending {step.current} ({step.done + 1:,} of {step.total:,})")

    def _send_done(self) -> None:
        self._cancel = None
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)

    def _sent(self, report: SendReport) -> None:
        self._send_done()
        self.last_send = report
        self.current.setText(send_outcome(report, self.context.package_name).summary)
        if self.sage50_files is not None:
            self.sage50_files.refresh()
        self.status.plain("Press Finish to open the dashboard.")
        self.check()

    def _send_failed(self, message: str) -> None:
        self._send_done()
        self.current.setText(f"Could not send: {message}")
        self.check()
