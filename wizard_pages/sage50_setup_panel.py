"""Sage 50 on the Connect page, under the export folder: Sage's nominal list (pasted or
from its export), its financial year and lock date, and the account references
Ledgerlink proposes for new accounts.

Every read and write runs in a worker; the page's settings mirror is kept in step so the
connector the wizard opens next sees what was saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
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
from sqlalchemy.orm import Session

from app.services.errors import SetupError
from app.services.sage50.reports import (
    ReportKind,
    SageNominal,
    parse_nominal_text,
    read_report,
)
from app.services.sage50.setup import (
    Proposal,
    package_settings,
    propose_references,
    save_nominal_list,
    save_references,
    set_dates,
)
from app.ui.kit.style import heading_font
from app.ui.kit.widgets import StatusLine
from app.ui.kit.workers import Task
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


def _date(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()  # noqa: DTZ007
    except ValueError as exc:
        raise SetupError(f"{what} “{text}” is not a date; write it as DD/MM/YYYY.") from exc


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

    def _write(self, name: str, write: Callable[[Session], str]) -> None:
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> tuple[str, dict[str, str]]:
            with factory.begin() as session:
                said = write(session)
                return said, package_settings(session)

        self.status.busy("Saving…")
        self._run(
            work, name=name, on_success=self._saved, on_failure=self.status.error, writes=True
        )

    def _saved(self, result: tuple[str, dict[str, str]]) -> None:
        said, settings = result
        self.context.choices.package_settings = settings
        self.status.success(said)

    def _save_nominals(self, nominals: list[SageNominal]) -> Callable[[Session], str]:
        def write(session: Session) -> str:
            count = save_nominal_list(session, nominals, actor="user")
            return f"Nominal list saved: {count:,} code(s) from Sage 50."

        return write

    def save_pasted_nominals(self) -> None:
        try:
            nominals = parse_nominal_text(self.nominal_text.toPlainText())
        except SetupError as exc:
            self.status.error(str(exc))
            return
        self._write("sage50 nominal list", self._save_nominals(nominals))

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
        def write(session: Session) -> str:
            report = read_report(path)
            if report.kind is not ReportKind.NOMINAL:
                raise SetupError(f"{path.name} is not a nominal list (code, name per line).")
            return self._save_nominals(report.nominals)(session)

        self._write("sage50 nominal file", write)

    def save_dates(self) -> None:
        try:
            start = _date(self.year_start.text(), "The first day of the financial year")
            lock = _date(self.lock_date.text(), "The lock date")
        except SetupError as exc:
            self.status.error(str(exc))
            return

        def write(session: Session) -> str:
            set_dates(session, financial_year_start=start, lock_date=lock, actor="user")
            return "Dates saved: records outside them are refused before a file is written."

        self._write("sage50 dates", write)

    def propose(self) -> None:
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> list[Proposal]:
            with factory() as session:
                return propose_references(session)

        self.status.busy("Proposing references…")
        self._run(
            work, name="sage50 references", on_success=self._proposed, on_failure=self.status.error
        )

    def _proposed(self, proposals: list[Proposal]) -> None:
        self.proposals.set_proposals(proposals)
        self.keep_button.setEnabled(bool(proposals))
        changed = sum(1 for p in proposals if p.why)
        self.status.plain(
            f"{len(proposals):,} account(s) to create in Sage 50; {changed:,} get a reference "
            "different from ours (see Why)."
        )

    def keep(self) -> None:
        chosen = list(self.proposals.proposals)

        def write(session: Session) -> str:
            count = save_references(session, chosen, actor="user")
            return f"{count:,} reference(s) kept: every send uses them."

        self._write("sage50 keep references", write)
