"""The kit's shared widgets: the details pane's height."""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from app.ui.kit.widgets import DOCUMENT_MARGIN, DetailsPane


def test_the_pane_uses_qt_s_own_document_margin(qtbot: QtBot) -> None:
    browser = QTextBrowser()
    qtbot.addWidget(browser)
    assert browser.document().documentMargin() == DOCUMENT_MARGIN


def test_the_pane_is_as_high_as_its_lines_and_margins(qtbot: QtBot) -> None:
    pane = DetailsPane(5)
    qtbot.addWidget(pane)
    margins = pane.contentsMargins()
    expected = (
        pane.fontMetrics().lineSpacing() * 5
        + int(pane.document().documentMargin() * 2)
        + margins.top()
        + margins.bottom()
        + 2
    )
    assert pane.height() == expected
    shorter = DetailsPane(3)
    qtbot.addWidget(shorter)
    assert shorter.height() < expected
