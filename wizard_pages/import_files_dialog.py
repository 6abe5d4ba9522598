"""Import from the job system: choose its CSV files, check them, then import them.

Each file's kind is told from its header (or its name, where customers and suppliers
share a layout) and can be chosen. *Check files* is a dry run of the whole set that
lists every bad row by file, line and column; *Import* writes every file or none. Both
run in a worker with a progress bar and a Cancel button, through the Qt-free
:func:`app.services.importing.files.import_files`. Used by the dashboard and by the
wizard's first page when there are no job-system records yet.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.importing.files import (
    IMPORT_ORDER,
    ChosenFile,
    FilesReport,
    ImportKind,
    ImportProgress,
    import_files,
    recognise_kind,
)
from app.services.store import Store
from app.ui.kit.style import wrapped_label
from app.ui.kit.widgets import StatusLine
from app.ui.kit.workers import TaskRunner

KIND_WORDS = {
    ImportKind.CUSTOMERS: "Customers",
    ImportKind.SUPPLIERS: "Suppliers",
    ImportKind.INVOICES: "Invoices",
    ImportKind.CREDIT_NOTES: "Credit notes",
    ImportKind.PAYMENTS: "Payments",
}

#: How much of a file is read to tell its kind (the header is its first line).
HEAD_BYTES = 64 * 1024


class ImportPreviewModel(QAbstractTableModel):
    """Every problem a check found: file, line, column and what is wrong."""

    COLUMNS = ("File", "Line", "Column", "Problem")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[str, str, str, str]] = []

    def set_report(self, result: FilesReport | None) -> None:
        self.beginResetModel()
        self._rows = []
        for report in result.reports if result else []:
            for error in report.errors:
                line = str(error.line) if error.line > 0 else "(whole file)"
                self._rows.append((report.file, line, error.column, error.message))
        self.endResetModel()

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        return self._rows[index.row()][index.column()]


class ImportFilesDialog(QDialog):
    """Choose the job system's files, check them (a dry run) and import them."""

    #: Files were imported (the caller refreshes what it shows).
    imported = Signal(object)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Import from the job system")
        self.tasks = TaskRunner(self, max_threads=1)
        self.files: list[tuple[Path, QComboBox]] = []
        self.checked: FilesReport | None = None
        self._cancel: threading.Event | None = None
        self._build()
        self._update_buttons()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        intro = wrapped_label(
            "Choose the CSV files your job system exported: customers, suppliers, "
            "invoices, credit notes and payments (one or several). Check them first: "
            "every problem is listed by file, line and column. Import writes every file "
            "or none of them."
        )
        self.choose_button = QPushButton("&Choose files…")
        self.choose_button.clicked.connect(self.choose_files)
        self.clear_button = QPushButton("C&lear")
        self.clear_button.clicked.connect(self.clear_files)
        self.file_grid_host = QWidget()
        self.file_grid = QGridLayout(self.file_grid_host)
        self.file_grid.setContentsMargins(0, 0, 0, 0)
        self.file_grid.setColumnStretch(2, 1)
        self.check_button = QPushButton("C&heck files")
        self.check_button.clicked.connect(lambda: self.start(dry_run=True))
        self.import_button = QPushButton("&Import")
        self.import_button.clicked.connect(lambda: self.start(dry_run=False))
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = StatusLine()
        self.problems = ImportPreviewModel()
        self.problem_view = QTableView()
        self.problem_view.setModel(self.problems)
        self.problem_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.problem_view.verticalHeader().setVisible(False)
        header = self.problem_view.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.problem_view.setVisible(False)
        self.close_button = QPushButton("Cl&ose")
        self.close_button.clicked.connect(self.close)

        choose_row = QHBoxLayout()
        choose_row.addWidget(self.choose_button)
        choose_row.addWidget(self.clear_button)
        choose_row.addStretch(1)
        action_row = QHBoxLayout()
        action_row.addWidget(self.check_button)
        action_row.addWidget(self.import_button)
        action_row.addWidget(self.cancel_button)
        action_row.addWidget(self.progress, 1)
        action_row.addStretch(0)
        action_row.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(choose_row)
        layout.addWidget(self.file_grid_host)
        layout.addLayout(action_row)
        layout.addWidget(self.status)
        # The problem list takes the room when it shows; otherwise the rest stays on top.
        layout.addWidget(self.problem_view, 100)
        layout.addStretch(1)
        self.resize(760, 480)

    # ------------------------------------------------------------------ files

    def choose_files(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(
            self, "Choose the job system's files", str(Path.home()), "CSV files (*.csv *.txt)"
        )
        self.add_files([Path(name) for name in names])

    def add_files(self, paths: Sequence[Path]) -> None:
        """Add files to the set, each with the kind its header shows (or to choose)."""
        for path in paths:
            if any(path == known for known, _box in self.files):
                continue
            box = QComboBox()
            box.addItem("Choose what it holds…", None)
            for choice in IMPORT_ORDER:
                box.addItem(KIND_WORDS[choice], choice.value)
            recognised = self._recognise(path)
            if recognised is not None:
                box.setCurrentIndex(box.findData(recognised.value))
            box.currentIndexChanged.connect(self._set_changed)
            box.setAccessibleName(f"What {path.name} holds")
            row = len(self.files)
            name = QLabel(path.name)
            name.setToolTip(str(path))
            self.file_grid.addWidget(name, row, 0)
            self.file_grid.addWidget(box, row, 1)
            self.files.append((path, box))
        self._set_changed()

    def _recognise(self, path: Path) -> ImportKind | None:
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except OSError:
            return None
        return recognise_kind(head, path.name)

    def clear_files(self) -> None:
        while self.file_grid.count():
            item = self.file_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.files = []
        self._set_changed()

    def chosen(self) -> list[ChosenFile] | None:
        """The files with their kinds; ``None`` while a kind is still to be chosen."""
        chosen = []
        for path, box in self.files:
            value = box.currentData()
            if value is None:
                return None
            chosen.append(ChosenFile(path, ImportKind(value)))
        return chosen

    def _set_changed(self) -> None:
        """The set or a kind changed: an earlier check no longer stands."""
        self.checked = None
        self.problems.set_report(None)
        self.problem_view.setVisible(False)
        if not self.files:
            self.status.plain("Choose one or more files.")
        elif self.chosen() is None:
            self.status.plain("Choose what each file holds, then check the files.")
        else:
            self.status.plain("Check the files before importing them.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self._cancel is not None
        ready = bool(self.files) and self.chosen() is not None
        self.choose_button.setEnabled(not running)
        self.clear_button.setEnabled(not running and bool(self.files))
        self.check_button.setEnabled(not running and ready)
        self.import_button.setEnabled(
            not running and ready and self.checked is not None and self.checked.ok
        )
        self.close_button.setEnabled(not running)
        for _path, box in self.files:
            box.setEnabled(not running)

    # ------------------------------------------------------------------ work

    def start(self, *, dry_run: bool) -> None:
        """Check (``dry_run``) or import the chosen files in a worker."""
        files = self.chosen()
        if not files:
            return
        factory = self.store.session_factory

        def work(cancel: threading.Event, progress: Any) -> FilesReport:
            return import_files(factory, files, dry_run=dry_run, cancel=cancel, progress=progress)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.status.busy("Checking the files…" if dry_run else "Importing the files…")
        task = self.tasks.start(
            work,
            name="check files" if dry_run else "import files",
            on_success=self._finished,
            on_failure=self._failed,
            on_progress=self._progressed,
        )
        self._cancel = task.cancel_event
        self._update_buttons()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.status.busy("Stopping; nothing will be written…")

    def _progressed(self, step: ImportProgress) -> None:
        self.progress.setRange(0, max(step.total, 1))
        self.progress.setValue(step.done)
        if not (self._cancel and self._cancel.is_set()):
            self.status.busy(f"{step.file}: row {step.done:,} of {step.total:,}")

    def _done(self) -> None:
        self._cancel = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _finished(self, result: FilesReport) -> None:
        self._done()
        self.problems.set_report(result)
        self.problem_view.setVisible(self.problems.rowCount() > 0)
        if result.ok:
            self.status.success(result.summary())
        else:
            self.status.error(result.summary())
        if result.dry_run:
            self.checked = result
        else:
            self.checked = None
            if result.ok:
                self.imported.emit(result)
        self._update_buttons()

    def _failed(self, message: str) -> None:
        self._done()
        self.status.error(f"Could not read the files: {message}")
        self._update_buttons()

    def busy(self) -> bool:
        return self._cancel is not None

    def closeEvent(self, event: Any) -> None:
        """Closing stops a check or import in progress (nothing is written) and waits."""
        self.cancel()
        self.tasks.cancel_all()
        self.tasks.wait()
        super().closeEvent(event)
