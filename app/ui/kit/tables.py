"""Tables of one-line text rows, sized in characters so that larger text widens them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView, QTableView


def set_text_columns(
    view: QTableView,
    metrics: QFontMetrics,
    widths: Mapping[int, int] | Iterable[int],
    *,
    padding: int = 16,
) -> None:
    """Lay ``view`` out for rows of one line of text in the font of ``metrics``.

    Rows are one line high and fixed (no row numbers); the user may widen any column, the
    last fills what is left, and a title longer than its column ends in "…". ``widths``
    gives a column's starting width in average characters (by column, or in column
    order), to which ``padding`` pixels are added for the cell's margins.
    """
    horizontal = view.horizontalHeader()
    horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    horizontal.setStretchLastSection(True)
    horizontal.setTextElideMode(Qt.TextElideMode.ElideRight)
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(metrics.height() + 8)
    char = metrics.averageCharWidth()
    by_column = widths.items() if isinstance(widths, Mapping) else enumerate(widths)
    for column, width in by_column:
        view.setColumnWidth(column, width * char + padding)
