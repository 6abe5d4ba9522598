"""Keep contacts in step: linked contacts whose details differ from the package's.

Side by side, one row a contact: our name and the package's (a link to another name is
kept and shown as such), the details that differ with both values, which side changed
since they last agreed, and the direction the row will go. Rows where only one side
changed are offered that way; a conflict (both changed) is left until the user picks a
direction. Nothing is written until *Apply*; the worker then writes row by row and a
refused row says why while the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from app.services.linking.sync import (
    FIELD_WORDS,
    Direction,
    SyncOutcome,
    SyncRow,
    SyncState,
    apply_sync,
    load_sync,
    switch_sync,
)
from app.services.setup.routing import Page
from app.ui.kit.style import error_color, wrapped_label
from connectors.wording import count
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext

Index = QModelIndex | QPersistentModelIndex

DIRECTION_WORDS = {
    Direction.OURS_TO_PACKAGE: "Ours → package",
    Direction.PACKAGE_TO_OURS: "Package → ours",
    Direction.LEAVE: "Leave as is",
}


class SyncModel(QAbstractTableModel):
    """One differing linked contact a row, with the direction the user chose for it."""

    COLUMNS = ("Contact", "Differs", "Ours", "Package", "Changed", "Goes", "Package's contact")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[SyncRow] = []
        self.choices: dict[int, Direction] = {}

    def set_rows(self, rows: Sequence[SyncRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.choices = {row.contact_id: row.offered for row in self.rows}
        self.endResetModel()

    def choose(self, rows: Sequence[int], direction: Direction) -> None:
        """The user's direction for these rows (conflicts included: it is their choice)."""
        for row in rows:
            self.choices[self.rows[row].contact_id] = direction
        if rows:
            column = self.COLUMNS.index("Goes")
            self.dataChanged.emit(self.index(min(rows), column), self.index(max(rows), column))

    def take_offers(self) -> None:
        """Every row that is not a conflict goes the way its change points; conflicts
        keep whatever the user chose for them."""
        for row in self.rows:
            if not row.conflict:
                self.choices[row.contact_id] = row.offered
        if self.rows:
            column = self.COLUMNS.index("Goes")
            self.dataChanged.emit(self.index(0, column), self.index(len(self.rows) - 1, column))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def _text(self, row: SyncRow, column: int) -> str:
        if column == 0:
            other = f" ↔ “{row.their_name}” (another name: kept)" if row.names_differ else ""
            return f"{row.account_ref} {row.our_name}{other}"
        if column == 1:
            return ", ".join(FIELD_WORDS[f] for f in row.differing)
        if column == 2:
            return " · ".join(row.ours[f] or "(empty)" for f in row.differing)
        if column == 3:
            return " · ".join(row.theirs[f] or "(empty)" for f in row.differing)
        if column == 4:
            if row.waiting:
                return f"ours handed over, waiting: {row.waiting}"
            changed = "both sides" if row.conflict else "ours" if row.changed_ours else "package"
            return f"{changed} (last values refused: {row.refused})" if row.refused else changed
        if column == 5:
            return DIRECTION_WORDS[self.choices.get(row.contact_id, Direction.LEAVE)]
        return f"{row.their_ref} {row.their_name}"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(row, column)
        if role == Qt.ItemDataRole.FontRole and (
            (column == 2 and row.changed_ours) or (column == 3 and row.changed_theirs)
        ):
            font = QFont()
            font.setBold(True)  # the side that changed since they last agreed
            return font
        return None


class SyncPage(WizardPage):
    """Lists what differs, lets the user choose directions, applies them."""

    page_id = Page.SYNC

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        self.explanation = wrapped_label()
        self.enabled_box = QCheckBox("&Keep linked contacts' details in step with the package")
        self.enabled_box.toggled.connect(self._toggled)
        self.model = SyncModel()
        self.table = QTableView()
        self.table.setObjectName("syncTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        for column, width in enumerate((170, 75, 130, 130, 105, 110)):
            self.table.setColumnWidth(column, width)
        self.ours_button = QPushButton("&Ours → package")
        self.theirs_button = QPushButton("Package → o&urs")
        self.leave_button = QPushButton("&Leave as is")
        self.offers_button = QPushButton("All rows: &take what changed")
        self.apply_button = QPushButton("&Apply")
        for button, direction in (
            (self.ours_button, Direction.OURS_TO_PACKAGE),
            (self.theirs_button, Direction.PACKAGE_TO_OURS),
            (self.leave_button, Direction.LEAVE),
        ):
            button.clicked.connect(lambda _=False, d=direction: self._choose(d))
        self.offers_button.clicked.connect(self.model.take_offers)
        self.apply_button.clicked.connect(self.apply)
        selected = QHBoxLayout()
        selected.addWidget(QLabel("Selected rows:"))
        for button in (self.ours_button, self.theirs_button, self.leave_button):
            selected.addWidget(button)
        selected.addStretch(1)
        # A row of their own: at 125 % text one row would be wider than the window.
        every = QHBoxLayout()
        every.addWidget(self.offers_button)
        every.addStretch(1)
        every.addWidget(self.apply_button)
        self.failures = wrapped_label()
        self.failures.setVisible(False)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.explanation)
        layout.addWidget(self.enabled_box)
        layout.addWidget(self.table, 1)
        layout.addLayout(selected)
        layout.addLayout(every)
        layout.addWidget(self.status)
        layout.addWidget(self.failures)
        self._loading = False
        #: Said once the rows are read again after an apply (it outranks "N differ").
        self._after_load = ""

    def initializePage(self) -> None:
        self.begin()
        name = self.context.package_name
        self.setSubTitle(
            f"Linked customers and suppliers whose details differ from {name}'s: addresses, "
            "postcodes, phone numbers and emails (never names)."
        )
        self.explanation.setText(
            "Bold values changed since the two last agreed. A row changed on both sides "
            "goes nowhere until you choose its direction. Nothing is written until you "
            "press Apply."
        )
        self.set_complete(True)
        self.load()

    def load(self) -> None:
        """Read what differs, in a worker."""
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> SyncState:
            with connect() as connector:
                return load_sync(factory, connector)

        self._set_busy(True)
        self.status.busy(f"Comparing your linked contacts with {self.context.package_name}…")
        self.run(work, name="compare linked contacts", on_success=self._loaded)

    def _loaded(self, state: SyncState) -> None:
        self._loading = True
        self.enabled_box.setChecked(state.enabled)
        self._loading = False
        self.model.set_rows(state.rows)
        self._set_busy(False)
        conflicts = sum(1 for row in state.rows if row.conflict)
        if not state.rows:
            self.status.success(f"Every linked contact agrees with {self.context.package_name}.")
        else:
            text = f"{count(len(state.rows), 'linked contact')} differ"
            text += f"; {count(conflicts, 'conflict')} for you to decide." if conflicts else "."
            self.status.plain(text if len(state.rows) != 1 else text.replace("differ", "differs"))
        if not state.enabled:
            self.status.plain("Contact sync is off for this package: tick the box above to use it.")
        if self._after_load:
            self.status.success(self._after_load)
            self._after_load = ""

    def _set_busy(self, busy: bool) -> None:
        enabled = self.enabled_box.isChecked()
        for button in (self.ours_button, self.theirs_button, self.leave_button):
            button.setEnabled(not busy)
        self.offers_button.setEnabled(not busy)
        self.apply_button.setEnabled(not busy and enabled)

    def _toggled(self, on: bool) -> None:
        if self._loading:
            return
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> int:
            with connect() as connector:
                return switch_sync(factory, connector, on, actor="user")

        self.apply_button.setEnabled(False)
        self.run(work, name="switch contact sync", on_success=lambda _n: self.load(), writes=True)

    def _choose(self, direction: Direction) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        if not rows:
            self.status.plain("Select the rows first (click, Shift+click or Ctrl+A).")
            return
        self.model.choose(rows, direction)

    def apply(self) -> None:
        """Write every row's chosen direction, in a worker."""
        rows = list(self.model.rows)
        choices = dict(self.model.choices)
        if not any(choices.get(r.contact_id, Direction.LEAVE) is not Direction.LEAVE for r in rows):
            self.status.plain("Every row is set to “Leave as is”: nothing to write.")
            return
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> SyncOutcome:
            with connect() as connector:
                return apply_sync(factory, connector, rows, choices, actor="user")

        self._set_busy(True)
        self.status.busy("Writing the chosen details…")
        self.run(work, name="apply contact sync", on_success=self._applied, writes=True)

    def _applied(self, outcome: SyncOutcome) -> None:
        name = self.context.package_name
        self.failures.setVisible(bool(outcome.failed))
        if outcome.failed:
            self.failures.setText(
                "Not written:\n" + "\n".join(f"• {label}: {why}" for label, why in outcome.failed)
            )
            palette = self.failures.palette()
            palette.setColor(self.failures.foregroundRole(), error_color(palette))
            self.failures.setPalette(palette)
        self._after_load = (
            f"Written to {name}: {outcome.to_package}; taken into Ledgerlink: "
            f"{outcome.to_ours}; left as they are: {outcome.left}."
        )
        if outcome.handed_over:
            self._after_load += (
                f" Handed over to {name}, confirmed when it has them: {outcome.handed_over}."
            )
        self.load()
