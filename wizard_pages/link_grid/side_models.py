"""Table models for the workbench's side panels: suggestions and likely duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.services.linking.matching import DuplicateGroup, Suggestion
from app.services.linking.workbench import LinkBook, label_of
from connectors.contract import PackageInfo

Index = QModelIndex | QPersistentModelIndex


class SuggestionsModel(QAbstractTableModel):
    """One row per open suggestion: yours, the package's, the evidence, how strong."""

    def __init__(self, info: PackageInfo) -> None:
        super().__init__()
        self.columns = ("Yours", f"In {info.name}", "Evidence", "Strength")
        self._book: LinkBook | None = None
        self._items: list[Suggestion] = []

    def set_suggestions(self, book: LinkBook, items: Sequence[Suggestion]) -> None:
        self.beginResetModel()
        self._book = book
        self._items = list(items)
        self.endResetModel()

    def suggestion(self, row: int) -> Suggestion:
        return self._items[row]

    @property
    def items(self) -> list[Suggestion]:
        return self._items

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        book = self._book
        if book is None or not index.isValid():
            return None
        item = self._items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            column = index.column()
            if column == 0:
                return label_of(book.contact(item.row))
            if column == 1:
                theirs = book.theirs[item.position]
                where = ", ".join(p for p in (theirs.postcode, theirs.email) if p)
                return f"{theirs.name} ({where})" if where else theirs.name
            if column == 2:
                return item.describe()
            return "Strong" if item.strong else "Possible"
        if role == Qt.ItemDataRole.FontRole and index.column() == 3 and item.strong:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            # The tool-tip gives the whole title when a narrow panel cuts it.
            role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return self.columns[section]
        return None


@dataclass(frozen=True)
class DuplicateRow:
    """One line of the duplicates panel."""

    where: str
    names: str
    reason: str
    #: Book rows to show in the grid (ours), or empty for the package's own duplicates.
    rows: tuple[int, ...]


@dataclass(frozen=True)
class _GroupRows:
    """The duplicates' lines as made for one book's analysis and saves."""

    book: LinkBook
    ours: list[DuplicateGroup]
    theirs: list[DuplicateGroup]
    saves: int
    rows: list[DuplicateRow]


class DuplicatesModel(QAbstractTableModel):
    """Likely duplicates in our list, in the package's, and references used twice."""

    COLUMNS = ("Where", "Records", "Why they look the same")

    def __init__(self, info: PackageInfo) -> None:
        super().__init__()
        self.info = info
        self._rows: list[DuplicateRow] = []
        self._groups: _GroupRows | None = None

    def set_book(self, book: LinkBook) -> None:
        """Show ``book``'s references used twice and its likely duplicates."""
        rows: list[DuplicateRow] = []
        for ref, owners in sorted(book.shared_refs().items()):
            rows.append(
                DuplicateRow(
                    "Same reference",
                    " · ".join(label_of(book.contact(r)) for r in owners),
                    f"all linked to {self.info.name}'s {ref}",
                    tuple(owners),
                )
            )
        rows.extend(self._group_rows(book))
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def _group_rows(self, book: LinkBook) -> list[DuplicateRow]:
        """The likely duplicates' lines, made once per analysis (thousands of them; the
        side panels are refreshed after every edit). Saved spellings change our names,
        so they are made again after a save."""
        cached = self._groups
        if (
            cached is not None
            and cached.book is book
            and cached.ours is book.our_duplicates
            and cached.theirs is book.their_duplicates
            and cached.saves == book.saves
        ):
            return cached.rows
        rows: list[DuplicateRow] = []
        for group in book.our_duplicates:
            rows.append(
                DuplicateRow(
                    "Your list",
                    " · ".join(label_of(book.ours[m]) for m in group.members),
                    group.reason,
                    group.members,
                )
            )
        for group in book.their_duplicates:
            names = []
            for m in group.members:
                contact = book.theirs[m]
                names.append(f"{contact.name} ({book.index.reference_of(contact)})")
            rows.append(DuplicateRow(f"In {self.info.name}", " · ".join(names), group.reason, ()))
        self._groups = _GroupRows(
            book, book.our_duplicates, book.their_duplicates, book.saves, rows
        )
        return rows

    def duplicate(self, row: int) -> DuplicateRow:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (item.where, item.names, item.reason)[index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            # The tool-tip gives the whole title when a narrow panel cuts it.
            role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None
