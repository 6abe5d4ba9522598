"""The kit's tables of one-line text rows: sized in characters of the font they show."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QTableView
from pytestqt.qtbot import QtBot

from app.ui.kit.tables import set_text_columns


def table(qtbot: QtBot, columns: int) -> QTableView:
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(QStandardItemModel(3, columns, view))
    return view


@pytest.mark.parametrize("points", [9.0, 18.0])
def test_columns_are_as_wide_as_their_characters_in_the_font_given(
    qtbot: QtBot, points: float
) -> None:
    font = QFont()
    font.setPointSizeF(points)
    metrics = QFontMetrics(font)
    char = metrics.averageCharWidth()
    view = table(qtbot, 3)
    set_text_columns(view, metrics, (9, 24))
    assert [view.columnWidth(c) for c in (0, 1)] == [9 * char + 16, 24 * char + 16]
    vertical = view.verticalHeader()
    assert vertical.isHidden()
    assert vertical.sectionResizeMode(0) is QHeaderView.ResizeMode.Fixed
    assert vertical.defaultSectionSize() == metrics.height() + 8
    horizontal = view.horizontalHeader()
    assert horizontal.sectionResizeMode(0) is QHeaderView.ResizeMode.Interactive
    assert horizontal.stretchLastSection()
    assert horizontal.textElideMode() is Qt.TextElideMode.ElideRight


def test_widths_may_be_given_by_column_with_a_padding_of_their_own(qtbot: QtBot) -> None:
    metrics = QFontMetrics(QFont())
    char = metrics.averageCharWidth()
    view = table(qtbot, 4)
    before = view.columnWidth(1)
    set_text_columns(view, metrics, {2: 13, 0: 5}, padding=12)
    assert view.columnWidth(0) == 5 * char + 12
    assert view.columnWidth(2) == 13 * char + 12
    assert view.columnWidth(1) == before  # not named: left as it was
