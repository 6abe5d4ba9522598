"""Table models for the dashboard: counts by state, and the failure list.

None of them touches the ``Qt`` namespace: its first use builds every one of its enums
as a Python enum (about 25 ms), which the dashboard's first page does not otherwise need.
So roles are compared as the plain ints Qt hands to ``data()``, and column titles come
from C++ (:class:`StatusModel` is a ``QStandardItemModel``; the other two are shown
through :func:`with_titles`), because a ``headerData`` written in Python is handed a
``Qt.Orientation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QConcatenateTablesProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
)
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication

from app.services.sending.causes import Cause
from app.services.sending.change_items import PendingChangeItem
from app.services.sending.failures import FailureItem
from connectors.wording import when

if TYPE_CHECKING:
    # Only named: building QIcon's class (its theme-icon enum) costs the first page
    # about 2 ms, and icons are made only once a failure is shown.
    from PySide6.QtGui import QIcon

Index = QModelIndex | QPersistentModelIndex

RECORD_TITLES = {
    "customer": "Customers",
    "supplier": "Suppliers",
    "invoice": "Invoices",
    "credit_note": "Credit notes",
    "payment": "Payments",
}
STATE_COLUMNS = (
    ("waiting", "Waiting"),
    ("processing", "Processing"),
    ("failed", "Failed"),
    ("uncertain", "Being checked"),
    ("successful", "Successful"),
    ("entered_manually", "Entered by hand"),
    ("do_not_send", "Not to send"),
)
STATE_WORDS = {
    "failed": "Failed",
    "uncertain": "Being checked",
}

#: ``Qt.ItemDataRole`` values, as ``data()`` receives them (``tests/test_status_models.py``
#: holds them equal to Qt's own).
DISPLAY_ROLE = 0
DECORATION_ROLE = 1
TOOLTIP_ROLE = 3
FONT_ROLE = 6
TEXT_ALIGNMENT_ROLE = 7
#: ``Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter``, as an int.
RIGHT_AND_CENTRED = 0x0002 | 0x0080


def with_titles(
    model: QAbstractItemModel, titles: Sequence[str], parent: QObject | None = None
) -> QConcatenateTablesProxyModel:
    """``model`` as a view shows it, under the column ``titles``: a proxy whose first
    source is a ``QStandardItemModel`` of no rows holding the titles (its horizontal
    header is the proxy's) and whose second is ``model`` (every row, as they are)."""
    header = QStandardItemModel(0, len(titles))
    header.setHorizontalHeaderLabels(list(titles))
    proxy = QConcatenateTablesProxyModel(parent)
    header.setParent(proxy)
    proxy.addSourceModel(header)
    proxy.addSourceModel(model)
    return proxy


class StatusModel(QStandardItemModel):
    """Rows: record types. Columns: how many are in each send state (plus, for a desktop
    bridge, the records handed over and not yet confirmed, under the package's label).

    Its cells and titles are C++ items, so painting the table runs no Python."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._states: dict[str, dict[str, int]] = {}
        self._rows: list[str] = list(RECORD_TITLES)
        self._columns: tuple[tuple[str, str], ...] = STATE_COLUMNS
        self._fill()

    def set_states(self, states: dict[str, dict[str, int]], handed_over_label: str = "") -> None:
        self._states = states
        self._columns = STATE_COLUMNS
        if handed_over_label:
            self._columns = (
                *STATE_COLUMNS[:2],
                ("handed_over", handed_over_label),
                *STATE_COLUMNS[2:],
            )
        self._fill()

    def _fill(self) -> None:
        bold = QFont()
        bold.setBold(True)
        self.clear()
        for record_type in self._rows:
            row = []
            for state, _title in self._columns:
                number = self.count(record_type, state)
                item = QStandardItem(f"{number:,}")
                item.setEditable(False)
                item.setDragEnabled(False)
                item.setDropEnabled(False)
                item.setData(RIGHT_AND_CENTRED, TEXT_ALIGNMENT_ROLE)
                if state == "failed" and number:
                    item.setFont(bold)
                row.append(item)
            self.appendRow(row)
        self.setHorizontalHeaderLabels([title for _state, title in self._columns])
        self.setVerticalHeaderLabels([RECORD_TITLES[r] for r in self._rows])

    def count(self, record_type: str, state: str) -> int:
        return self._states.get(record_type, {}).get(state, 0)


class FailureModel(QAbstractTableModel):
    """One row per failed record, grouped by cause (largest first): each cause's records,
    each followed, indented, by the records it holds back. A view shows it through
    :func:`with_titles` with :attr:`COLUMNS`."""

    COLUMNS = ("Cause", "Record", "State", "Why it failed", "How to fix it")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[FailureItem, bool, Cause | None]] = []
        self._icons: dict[str, QIcon] = {}

    def set_failures(self, roots: list[FailureItem], causes: Sequence[Cause] = ()) -> None:
        """``roots`` as :func:`~app.services.sending.failures.list_failures` gives them,
        in the order of ``causes`` (records of no cause last, as they came)."""
        cause_of = {r.outbox_id: c for c in causes for r in c.records}
        order = {id(c): n for n, c in enumerate(causes)}
        ranked = sorted(
            roots,
            key=lambda r: (
                order.get(id(cause_of[r.outbox_id]), len(order))
                if r.outbox_id in cause_of
                else len(order)
            ),
        )
        self.beginResetModel()
        self._rows = []
        for root in ranked:
            cause = cause_of.get(root.outbox_id)
            self._rows.append((root, False, cause))
            self._rows.extend((dependant, True, cause) for dependant in root.dependants)
        self.endResetModel()

    def item(self, row: int) -> FailureItem:
        return self._rows[row][0]

    def is_held_back(self, row: int) -> bool:
        return self._rows[row][1]

    def cause(self, row: int) -> Cause | None:
        """The cause the record at ``row`` fails by, or is held back by."""
        return self._rows[row][2]

    def _icon(self, state: str) -> QIcon:
        if state not in self._icons:
            from PySide6.QtWidgets import QStyle  # its enums: only once a failure is shown

            style = QApplication.style()
            pixmap = (
                QStyle.StandardPixmap.SP_MessageBoxWarning
                if state == "uncertain"
                else QStyle.StandardPixmap.SP_MessageBoxCritical
            )
            self._icons[state] = style.standardIcon(pixmap)
        return self._icons[state]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        item, held_back, cause = self._rows[row]
        column = index.column()
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE):
            if column == 0:
                if cause is None:
                    return ""
                first = row == 0 or self._rows[row - 1][2] is not cause
                # The cause is named once, on its first row, with what it stops.
                if role == TOOLTIP_ROLE or first:
                    return f"{cause.title} ({cause.summary()})"
                return ""
            if column == 1:
                return f"    ↳ {item.label}" if held_back else item.label
            if column == 2:
                return "Held back" if held_back else STATE_WORDS.get(item.state, item.state)
            return item.reason if column == 3 else item.fix
        if role == DECORATION_ROLE and column == 1 and not held_back:
            return self._icon(item.state)
        if role == FONT_ROLE and not held_back and column == 1:
            font = QFont()
            font.setBold(True)
            return font
        return None


class PendingChangeModel(QAbstractTableModel):
    """Records changed in the job system after they were sent: one row per record. A view
    shows it through :func:`with_titles` with :attr:`COLUMNS`."""

    COLUMNS = ("Record", "What changed (as sent → now)", "Found in", "Noticed")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[PendingChangeItem] = []

    def set_changes(self, changes: list[PendingChangeItem]) -> None:
        self.beginResetModel()
        self._rows = list(changes)
        self.endResetModel()

    def item(self, row: int) -> PendingChangeItem:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid():
            return None
        item = self._rows[index.row()]
        if role not in (DISPLAY_ROLE, TOOLTIP_ROLE):
            return None
        column = index.column()
        if column == 0:
            return item.label
        if column == 1:
            separator = "\n" if role == TOOLTIP_ROLE else ";  "
            return separator.join(f"{c.field}: “{c.before}” → “{c.after}”" for c in item.changes)
        if column == 2:
            return item.source
        return when(item.detected_at)
