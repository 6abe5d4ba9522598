"""Sage 50 on the Connect page, under the export folder: Sage's nominal list (pasted or
from its export), its financial year and lock date, and the account references
Ledgerlink proposes for new accounts.

Every read and write runs in a worker; the page's settings mirror is kept in step so the
connector the wizard opens next sees what was saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.errors import SetupError
from app.services.sage50 import actions
from app.services.sage50.setup import Proposal
from app.ui.kit.style import heading_font
from app.ui.kit.widgets import StatusLine
from app.ui.kit.workers import Task
from connectors.wording import count
from wizard_pages.context import Progress, WizardContext

Index = QModelIndex | QPersistentModelIndex
RunFn = Callable[..., Task]


class ProposalModel(QAbstractTableModel):
    COLUMNS = ("Customer or supplier", "Our reference", "Sage 50 reference", "Why")

    def __init__(self) -> None:
        super().__init__()
        self.proposals: list[Proposal] = []

    def set_proposals(self, proposals: list[Proposal]) -> None:
        self.beginResetModel()
        self.proposals = list(proposals)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.proposals)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        p = self.proposals[index.row()]
        return (f"{p.name} ({p.role.value})", p.our_ref, p.reference, p.why)[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return str(section + 1)


class Sage50SetupPanel(QWidget):
    """Nominal list, dates and account references for Sage 50."""

    def __init__(self, context: WizardContext, run: RunFn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._run = run
        nominal_title = QLabel("Sage 50's nominal list")
        nominal_title.setFont(heading_font(self.font(), 1.05))
        self.nominal_text = QPlainTextEdit()
        self.nominal_text.setObjectName("sage50-nominal")
        self.nominal_text.setPlaceholderText(
            "Paste Sage's nominal list here (Nominal codes › select all › copy), one code "
            "per line, e.g.\n1200  Bank Current Account\n4000  Sales Type A"
        )
        self.nominal_text.setMaximumHeight(110)
        self.save_nominal = QPushButton("Save the &pasted list")
        self.save_nominal.clicked.connect(self.save_pasted_nominals)
        self.import_nominal = QPushButton("Import Sage's nominal list &file…")
        self.import_nominal.clicked.connect(self.choose_nominal_file)
        nominal_buttons = QHBoxLayout()
        nominal_buttons.addWidget(self.save_nominal)
        nominal_buttons.addWidget(self.import_nominal)
        nominal_buttons.addStretch(1)

        self.year_start = QLineEdit()
        self.year_start.setObjectName("sage50-year-start")
        self.year_start.setPlaceholderText("DD/MM/YYYY")
        self.lock_date = QLineEdit()
        self.lock_date.setObjectName("sage50-lock-date")
        self.lock_date.setPlaceholderText("DD/MM/YYYY (none)")
        self.save_dates_button = QPushButton("Save the &dates")
        self.save_dates_button.clicked.connect(self.save_dates)
        dates = QFormLayout()
        dates.addRow("First day of Sage's financial year:", self.year_start)
        dates.addRow("Lock date (nothing on or before it):", self.lock_date)
        dates.addRow(self.save_dates_button)

        refs_title = QLabel("Account references for new customers and suppliers")
        refs_title.setFont(heading_font(self.font(), 1.05))
        self.proposals = ProposalModel()
        self.proposal_view = QTableView()
        self.proposal_view.setObjectName("sage50-references")
        self.proposal_view.setModel(self.proposals)
        self.proposal_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.proposal_view.verticalHeader().setVisible(False)
        self.proposal_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive
        )
        self.proposal_view.horizontalHeader().setStretchLastSection(True)
        self.propose_button = QPushButton("P&ropose references")
        self.propose_button.clicked.connect(self.propose)
        self.keep_button = QPushButton("&Keep these references")
        self.keep_button.setEnabled(False)
        self.keep_button.clicked.connect(self.keep)
        ref_buttons = QHBoxLayout()
        ref_buttons.addWidget(self.propose_button)
        ref_buttons.addWidget(self.keep_button)
        ref_buttons.addStretch(1)
        self.status = StatusLine()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(nominal_title)
        layout.addWidget(self.nominal_text)
        layout.addLayout(nominal_buttons)
        layout.addLayout(dates)
        layout.addWidget(refs_title)
        layout.addWidget(self.proposal_view)
        layout.addLayout(ref_buttons)
        layout.addWidget(self.status)

    # ------------------------------------------------------------------ writing

    def _write(self, name: str, write: Callable[[], actions.Saved]) -> None:
        def work(_cancel: threading.Event, _progress: Progress) -> actions.Saved:
            return write()

        self.status.busy("Saving…")
        self._run(
            work, name=name, on_success=self._saved, on_failure=self.status.error, writes=True
        )

    def _saved(self, saved: actions.Saved) -> None:
        self.context.choices.package_settings = saved.settings
        self.status.success(saved.message)

    @property
    def _factory(self) -> actions.Factory:
        return self.context.store.session_factory

    def save_pasted_nominals(self) -> None:
        text, factory = self.nominal_text.toPlainText(), self._factory
        try:
            actions.parse_nominal_text_check(text)
        except SetupError as exc:
            self.status.error(str(exc))
            return
        self._write(
            "sage50 nominal list",
            lambda: actions.save_pasted_nominals(factory, text, actor="user"),
        )

    def choose_nominal_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self,
            "Sage 50's nominal list",
            "",
            "CSV or text files (*.csv *.CSV *.txt);;All files (*)",
        )
        if name:
            self.import_nominal_file(Path(name))

    def import_nominal_file(self, path: Path) -> None:
        factory = self._factory
        self._write(
            "sage50 nominal file", lambda: actions.import_nominal_file(factory, path, actor="user")
        )

    def save_dates(self) -> None:
        start, lock, factory = self.year_start.text(), self.lock_date.text(), self._factory
        try:
            actions.parse_day(start, "The first day of the financial year")
            actions.parse_day(lock, "The lock date")
        except SetupError as exc:
            self.status.error(str(exc))
            return
        self._write("sage50 dates", lambda: actions.save_dates(factory, start, lock, actor="user"))

    def propose(self) -> None:
        factory = self._factory

        def work(_cancel: threading.Event, _progress: Progress) -> list[Proposal]:
            return actions.proposals(factory)

        self.status.busy("Proposing references…")
        self._run(
            work, name="sage50 references", on_success=self._proposed, on_failure=self.status.error
        )

    def _proposed(self, proposals: list[Proposal]) -> None:
        self.proposals.set_proposals(proposals)
        self.keep_button.setEnabled(bool(proposals))
        changed = sum(1 for p in proposals if p.why)
        self.status.plain(
            f"{count(len(proposals), 'account')} to create in Sage 50; {changed:,} get a reference "
            "different from ours (see Why)."
        )

    def keep(self) -> None:
        chosen, factory = list(self.proposals.proposals), self._factory
        self._write(
            "sage50 keep references",
            lambda: actions.keep_references(factory, chosen, actor="user"),
        )
