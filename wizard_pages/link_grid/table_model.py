"""The link grid's table model: one row per contact over a :class:`LinkBook`.

Filtering and sorting are done here over plain Python lists rather than through a
``QSortFilterProxyModel``: a proxy calls ``filterAcceptsRow`` once per row through the
Python binding (100,000 calls per keystroke), while one list comprehension over
precomputed lowercase search keys answers in a few milliseconds (see
``bench/link_grid.py``). The model keeps ``_view``, the book rows shown, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from operator import is_, ne
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QUndoStack
from PySide6.QtWidgets import QApplication, QStyle

from app.services.linking.matching import Reading, address_text
from app.services.linking.workbench import PROBLEMS, LinkBook, LinkStatus, RowState, Tab
from connectors.contract import PackageInfo
from wizard_pages.link_grid.columns import (
    METHOD_WORDS,
    OUR_COLUMNS,
    PASTE_ROLE,
    PICK_ROLE,
    RECORD_ROLE,
    STATUS_ROLE,
    STATUS_WORDS,
    Column,
    titles,
)
from wizard_pages.link_grid.commands import SameState, SetStatesCommand

Index = QModelIndex | QPersistentModelIndex

#: Above this many changed rows, one dataChanged covers the whole table.
_BULK = 500

_INVALID_BACKGROUND = QColor("#fde2e1")
_WAITING_BACKGROUND = QColor("#fff4ce")
_STATUS_COLOURS = {
    LinkStatus.LINKED: QColor("#1b6e20"),
    LinkStatus.WILL_BE_CREATED: QColor("#44546a"),
}
_PROBLEM_COLOUR = QColor("#a4262c")


class LinkTableModel(QAbstractTableModel):
    """Rows: our contacts (filtered and sorted). The reference column is editable."""

    #: The tab counts (linked, problems…) may have changed.
    counts_changed = Signal()
    #: Book rows whose state changed (for the side panels).
    rows_changed = Signal(object)

    def __init__(self, info: PackageInfo, undo_stack: QUndoStack) -> None:
        super().__init__()
        self.info = info
        self.undo_stack = undo_stack
        self._titles = titles(info)
        self._book: LinkBook | None = None
        #: Book rows in display order: a ``range`` until the grid is sorted by a column
        #: (a list would hold an int object per row, 4 MB at 100,000 rows).
        self._order: Sequence[int] = range(0)
        self._view: Sequence[int] = self._order
        self._positions: list[int] | None = None
        self._tab = Tab.ALL
        self._needle = ""
        self._narrowable = False
        self._icons: dict[LinkStatus, QIcon] = {}
        self._cells: dict[Column, Callable[[int], str]] = {}

    # ------------------------------------------------------------------ the book

    @property
    def book(self) -> LinkBook | None:
        return self._book

    def set_book(self, book: LinkBook) -> None:
        """Show ``book`` (all rows, in its order, filter cleared)."""
        self.beginResetModel()
        self._book = book
        self._order = range(len(book))
        self._view = self._order
        self._positions = None
        self._tab, self._needle, self._narrowable = Tab.ALL, "", False
        self._cells = self._cell_functions(book)
        self.endResetModel()
        self.counts_changed.emit()

    def record(self, view_row: int) -> int:
        """The book row shown at ``view_row``."""
        return self._view[view_row]

    def view_row(self, record: int) -> int | None:
        """Where book row ``record`` is shown, or ``None`` if the filter hides it."""
        if isinstance(self._view, range):  # every row, in the book's order
            return self._view.index(record) if record in self._view else None
        if self._positions is None:
            positions = [-1] * (len(self._book) if self._book else 0)
            for view_row, book_row in enumerate(self._view):
                positions[book_row] = view_row
            self._positions = positions
        found = self._positions[record]
        return None if found < 0 else found

    @property
    def shown(self) -> Sequence[int]:
        """The book rows shown, in order."""
        return self._view

    # ------------------------------------------------------------------ filtering

    def set_filter(self, tab: Tab, needle: str) -> None:
        """Show the rows of ``tab`` whose name, account, postcode, email, town or
        reference contains ``needle`` (any case)."""
        needle = needle.strip().casefold()
        if self._book is None or (tab is self._tab and needle == self._needle):
            return
        narrowing = self._narrowable and tab is self._tab and needle.startswith(self._needle)
        rows = self._view if narrowing else self._order
        self.beginResetModel()
        self._view = self._rows(rows, tab, needle)
        self._positions = None
        self._tab, self._needle, self._narrowable = tab, needle, True
        self.endResetModel()

    def _rows(self, rows: Sequence[int], tab: Tab, needle: str) -> Sequence[int]:
        """The rows of ``rows`` the filter shows: the whole order itself, not a copy,
        when nothing is filtered."""
        assert self._book is not None
        if tab is Tab.ALL and not needle and rows is self._order:
            return rows
        return self._book.matching(rows, tab, needle)

    # ------------------------------------------------------------------ editing

    def apply_states(self, states: Mapping[int, RowState]) -> None:
        """Set rows' states (called by the undo stack's commands)."""
        if self._book is None:
            return
        touched = self._book.apply(states)
        self._refresh(touched)

    def refresh_rows(self, rows: Iterable[int]) -> None:
        """Repaint book rows changed behind the model's back (look-ups, a save)."""
        self._refresh(set(rows))

    def _refresh(self, touched: set[int]) -> None:
        if not touched:
            return
        self._narrowable = False
        last_column = self.columnCount() - 1
        if len(touched) > _BULK:
            if self._view:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(self._view) - 1, last_column)
                )
        else:
            for record in touched:
                view_row = self.view_row(record)
                if view_row is not None:
                    self.dataChanged.emit(
                        self.index(view_row, 0), self.index(view_row, last_column)
                    )
        self.counts_changed.emit()
        self.rows_changed.emit(touched)

    def push_states(self, states: Mapping[int, RowState], text: str) -> bool:
        """Apply ``states`` as one undoable step; ``False`` when nothing would change.

        ``states`` belongs to the undo stack from then on: it must not be changed."""
        book = self._book
        if book is None:
            return False
        current = book.states
        after: Mapping[int, RowState]
        if all(map(ne, map(current.__getitem__, states.keys()), states.values())):
            after = states  # every row changes ("Link exact matches": no copy of 45,000)
        else:
            after = {row: state for row, state in states.items() if current[row] != state}
        if not after:
            return False
        before: Mapping[int, RowState]
        first = current[next(iter(after))]
        if all(map(is_, map(current.__getitem__, after), repeat(first))):
            before = SameState(after.keys(), first)
        else:
            before = {row: current[row] for row in after}
        self.undo_stack.push(SetStatesCommand(self.apply_states, before, after, text))
        return True

    def set_references(
        self, texts: Mapping[int, str], *, pasted: bool = False, text: str = ""
    ) -> bool:
        """Enter references (or web addresses) into book rows, as one undoable step."""
        book = self._book
        if book is None:
            return False
        states = {
            row: book.reading_state(row, value, pasted=pasted) for row, value in texts.items()
        }
        return self.push_states(
            states, text or ("Paste references" if pasted else "Type reference")
        )

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._view)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == Column.REFERENCE:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._titles[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole and section == Column.REFERENCE:
            return self.info.reference.describe_expected()
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        book = self._book
        if book is None or not index.isValid():
            return None
        row = self._view[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[column](row)
        if role == Qt.ItemDataRole.EditRole:
            return book.states[row].text if column is Column.REFERENCE else self._cells[column](row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(book, row, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(book, row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATUS:
            status = book.statuses[row]
            return QBrush(_STATUS_COLOURS.get(status, _PROBLEM_COLOUR))
        if role == Qt.ItemDataRole.DecorationRole and column is Column.STATUS:
            return self._icon(book.statuses[row])
        if role == Qt.ItemDataRole.FontRole:
            return self._font(book, row, column)
        if role == RECORD_ROLE:
            return row
        if role == STATUS_ROLE:
            return book.statuses[row]
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            self._book is None
            or not index.isValid()
            or index.column() != Column.REFERENCE
            or role not in (Qt.ItemDataRole.EditRole, PASTE_ROLE, PICK_ROLE)
        ):
            return False
        row = self._view[index.row()]
        text = "" if value is None else str(value)
        state = self._book.reading_state(
            row, text, pasted=role == PASTE_ROLE, picked=role == PICK_ROLE
        )
        what = {PASTE_ROLE: "Paste reference", PICK_ROLE: "Pick from list"}.get(
            role, "Type reference"
        )
        self.push_states({row: state}, f"{what} for {self._book.ours[row].name}")
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        book = self._book
        if book is None or not 0 <= column < len(Column):
            return
        cell = self._cells[Column(column)]
        if column == Column.STATUS:
            keys: list[Any] = [(s not in PROBLEMS, s.value) for s in book.statuses]
        else:
            keys = [cell(row).casefold() for row in range(len(book))]
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        records = [self._view[index.row()] for index in persistent]
        self._order = sorted(
            range(len(book)),
            key=keys.__getitem__,
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        self._view = self._rows(self._order, self._tab, self._needle)
        self._positions = None
        moved = []
        for index, record in zip(persistent, records, strict=True):
            view_row = self.view_row(record)
            moved.append(
                self.index(view_row, index.column()) if view_row is not None else QModelIndex()
            )
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # ------------------------------------------------------------------ cells

    def _cell_functions(self, book: LinkBook) -> dict[Column, Callable[[int], str]]:
        def their(row: int, read: Callable[[Any], str]) -> str:
            contact = book.their_contact(row) if book.states[row].ref else None
            return read(contact) if contact is not None else ""

        def reference(row: int) -> str:
            state = book.states[row]
            if state.reading is Reading.NEEDS_LOOKUP:
                return state.ref or f"{state.text} (web address number)"
            return state.text

        def method(row: int) -> str:
            state = book.states[row]
            return METHOD_WORDS[state.method] if state.ref and state.method else ""

        return {
            Column.ACCOUNT: lambda row: book.ours[row].account_ref,
            Column.NAME: lambda row: book.contact(row).name,
            Column.ADDRESS: lambda row: address_text(book.contact(row)),
            Column.POSTCODE: lambda row: book.contact(row).postcode,
            Column.EMAIL: lambda row: book.contact(row).email,
            Column.REFERENCE: reference,
            Column.THEIR_NAME: lambda row: their(row, lambda c: c.name),
            Column.THEIR_ADDRESS: lambda row: their(row, address_text),
            Column.THEIR_EMAIL: lambda row: their(row, lambda c: c.email),
            Column.STATUS: lambda row: STATUS_WORDS[book.statuses[row]],
            Column.METHOD: method,
        }

    def _tooltip(self, book: LinkBook, row: int, column: Column) -> str | None:
        if column is Column.REFERENCE:
            if book.states[row].text:
                return book.explain(row)
            where = self.info.reference.where_to_find
            return " ".join((self.info.reference.describe_expected(), *where[:1]))
        if column in (Column.STATUS, Column.METHOD):
            return book.explain(row)
        text = self._cells[column](row)
        if column in OUR_COLUMNS and book.states[row].details is not None:
            return f"{text}\n(copied from {self.info.name}; saved with the links)"
        return text or None

    def _background(self, book: LinkBook, row: int, column: Column) -> QBrush | None:
        if column is not Column.REFERENCE:
            return None
        status = book.statuses[row]
        if status in (LinkStatus.INVALID, LinkStatus.NOT_FOUND):
            return QBrush(_INVALID_BACKGROUND)
        if status is LinkStatus.LOOKING_UP:
            return QBrush(_WAITING_BACKGROUND)
        return None

    def _font(self, book: LinkBook, row: int, column: Column) -> QFont | None:
        if not book.is_changed(row):
            return None
        if column is Column.REFERENCE:
            font = QFont()
            font.setBold(True)
            return font
        if column in OUR_COLUMNS and book.states[row].details is not None:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _icon(self, status: LinkStatus) -> QIcon:
        icon = self._icons.get(status)
        if icon is None:
            pixmap = {
                LinkStatus.LINKED: QStyle.StandardPixmap.SP_DialogApplyButton,
                LinkStatus.WILL_BE_CREATED: QStyle.StandardPixmap.SP_FileIcon,
                LinkStatus.LOOKING_UP: QStyle.StandardPixmap.SP_BrowserReload,
            }.get(status, QStyle.StandardPixmap.SP_MessageBoxWarning)
            style = QApplication.style()
            icon = style.standardIcon(pixmap) if style is not None else QIcon()
            self._icons[status] = icon
        return icon
