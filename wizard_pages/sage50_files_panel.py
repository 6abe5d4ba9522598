"""Sage 50: the import files written, the exact steps in Sage, and the reconcile step.

Shown on the Review and send page after a send (and wherever a Sage 50 user needs it).
Reads and reconciles in workers; the table is a model.
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
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.sage50.actions import FilesView, files_view
from app.services.sage50.ledger import ExportFile
from app.services.sage50.reconcile import Reconciliation, reconcile
from app.ui.kit.style import heading_font
from app.ui.kit.widgets import DetailsPane, StatusLine
from app.ui.kit.workers import Task
from connectors.wording import count
from wizard_pages.context import Progress, WizardContext

Index = QModelIndex | QPersistentModelIndex
RunFn = Callable[..., Task]


class FilesModel(QAbstractTableModel):
    """One row per import file: what it holds, how to import it, what waits."""

    COLUMNS = ("File", "Import as", "Records", "Waiting for import", "Confirmed", "State")

    def __init__(self) -> None:
        super().__init__()
        self._files: list[ExportFile] = []

    def set_files(self, files: list[ExportFile]) -> None:
        self.beginResetModel()
        self._files = list(files)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._files)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        f = self._files[index.row()]
        values = (
            f.name,
            f.kind.import_type if f.kind else "",
            f"{len(f.records):,}",
            f"{f.awaiting:,}",
            f"{f.confirmed:,}",
            f.status,
        )
        return values[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return str(section + 1)


class Sage50FilesPanel(QWidget):
    """The files written, the steps in Sage, and Reconcile."""

    def __init__(self, context: WizardContext, run: RunFn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._run = run
        title = QLabel("Sage 50 import files")
        title.setFont(heading_font(self.font(), 1.05))
        self.model = FilesModel()
        self.view = QTableView()
        self.view.setObjectName("sage50-files")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setColumnWidth(0, 330)
        self.steps = DetailsPane(6)
        self.steps.setObjectName("sage50-steps")
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.reconcile_button = QPushButton("Reconcile with Sage's e&xports…")
        self.reconcile_button.setToolTip(
            "In Sage 50, run the Customer Record CSV, Supplier Record CSV and Transaction "
            "CSV reports to files, then choose them here."
        )
        self.reconcile_button.clicked.connect(self.choose_exports)
        self.result = DetailsPane(5)
        self.result.setObjectName("sage50-reconciliation")
        self.status = StatusLine()
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.reconcile_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.steps)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(self.status)

    def refresh(self) -> None:
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> FilesView:
            return files_view(factory)

        self._run(work, name="sage50 files", on_success=self._show, on_failure=self.status.error)

    def _show(self, view: FilesView) -> None:
        self.model.set_files(view.files)
        if view.steps:
            self.steps.setText("\n".join(view.steps))
        elif view.files:
            self.steps.setText("Every file written is confirmed in Sage 50.")
        else:
            self.steps.setText(
                "No import files yet: press Send now, then import the files it writes."
            )

    def choose_exports(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Sage 50's CSV exports", "", "CSV files (*.csv *.CSV);;All files (*)"
        )
        if names:
            self.reconcile_files([Path(n) for n in names])

    def reconcile_files(self, paths: list[Path]) -> None:
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> Reconciliation:
            return reconcile(factory, paths, actor="user")

        self.status.busy(f"Reading {count(len(paths), 'Sage 50 export')}…")
        self._run(
            work, name="sage50 reconcile", on_success=self._reconciled, on_failure=self.status.error
        )

    def _reconciled(self, result: Reconciliation) -> None:
        self.result.setText(result.describe())
        if result.ok:
            self.status.success(f"{count(len(result.confirmed), 'record')} confirmed in Sage 50.")
        else:
            self.status.error(
                f"{count(len(result.missing), 'record')} exported but not in Sage's export: "
                "import their files again (listed above)."
            )
        self.refresh()
