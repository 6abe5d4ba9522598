"""Our identity columns (Account, Name) kept in view while the grid scrolls sideways.

A second, borderless table over the grid's left edge shows the same model and shares
its selection; it hides every other column and follows the grid's row scrolling and
column widths (the frozen-column pattern from Qt's own examples).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHeaderView, QTableView
from shiboken6 import isValid


class FrozenColumns(QTableView):
    """Shows ``columns`` of ``grid`` pinned at its left edge."""

    def __init__(self, grid: QTableView, columns: Iterable[int]) -> None:
        super().__init__(grid)
        self.grid = grid
        self.columns = sorted(columns)
        self.setObjectName("frozenColumns")
        self.setModel(grid.model())
        self.setSelectionModel(grid.selectionModel())
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the grid
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(grid.verticalScrollMode())
        self.setSelectionBehavior(grid.selectionBehavior())
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(grid.wordWrap())
        self.setItemDelegate(grid.itemDelegate())
        self.setStyleSheet("QTableView#frozenColumns { border-right: 1px solid palette(mid); }")
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(grid.verticalHeader().defaultSectionSize())
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setSortIndicatorShown(False)
        self.horizontalHeader().setSectionsClickable(False)
        grid.viewport().stackUnder(self)
        self._show_only_frozen()
        # Follow the grid.
        grid.verticalScrollBar().valueChanged.connect(self.verticalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(grid.verticalScrollBar().setValue)
        grid.horizontalHeader().sectionResized.connect(self._width_changed)
        grid.model().modelReset.connect(self._show_only_frozen)
        grid.model().layoutChanged.connect(self._show_only_frozen)
        self.doubleClicked.connect(self._edit_in_grid)
        self._watched = (grid, grid.viewport())
        for watched in self._watched:
            watched.installEventFilter(self)
        self.update_geometry()

    def _show_only_frozen(self) -> None:
        for column in range(self.model().columnCount()):
            self.setColumnHidden(column, column not in self.columns)
            if column in self.columns:
                self.setColumnWidth(column, self.grid.columnWidth(column))
        self.update_geometry()

    def _width_changed(self, column: int, _old: int, new: int) -> None:
        if column in self.columns:
            self.setColumnWidth(column, new)
            self.update_geometry()

    def _edit_in_grid(self, index: QModelIndex) -> None:
        self.grid.setCurrentIndex(index)
        self.grid.setFocus()

    def frozen_width(self) -> int:
        return sum(self.grid.columnWidth(c) for c in self.columns)

    def update_geometry(self) -> None:
        """Sit over the grid's first columns, below its header, as wide as they are."""
        grid = self.grid
        # Frozen columns wider than most of the grid would hide the rest of it: then the
        # grid simply scrolls as a whole.
        self.setVisible(self.frozen_width() <= grid.viewport().width() * 0.6)
        self.setGeometry(
            grid.frameWidth() + grid.verticalHeader().width(),
            grid.frameWidth(),
            self.frozen_width(),
            grid.viewport().height() + grid.horizontalHeader().height(),
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest)
            and any(watched is w for w in self._watched)
            and all(isValid(w) for w in self._watched)
        ):
            self.update_geometry()
        return False
