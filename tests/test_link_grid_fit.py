"""The link grid at the default 1000 x 680 window (issue 19 §5): the columns a user
needs in view without scrolling, no page scroll bar, a side panel that opens on demand,
a pick list as wide as its lines, and colours that read in a dark palette."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.services.linking.workbench import LinkStatus
from app.services.setup.routing import WIZARD_PAGES, Page
from app.ui.kit.style import READABLE, contrast_ratio, link_color, readable
from app.ui.kit.workers import TaskRunner
from app.ui.windows.main_window import MainWindow
from tests.test_first_hour import analysed
from tests.test_link_grid import demo_template, open_editor, record_named, store, workbench
from tests.test_wizard_flow import LONG, demo_paths, open_window, wait_for_page, wizard_of
from tests.test_wizard_pages import clipped, dark_palette, settle_layouts
from wizard_pages.link_grid import LinkWorkbench
from wizard_pages.link_grid.columns import NEEDED, STATUS_ROLE, Column
from wizard_pages.link_page import LinkPage
from wizard_pages.side_panel import StepsPanel

__all__ = ["demo_paths", "demo_template", "store", "workbench"]

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")


@pytest.fixture(params=[1.0, 1.25], ids=["100", "125"])
def text_scale(request: pytest.FixtureRequest) -> Iterator[float]:
    """The system font at 100 % and 25 % larger (as at 125 % scaling)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    font = app.font()
    bigger = QFont(font)
    bigger.setPointSizeF(font.pointSizeF() * request.param)
    app.setFont(bigger)
    yield request.param
    app.setFont(font)


def link_page_at(qtbot: QtBot, paths: DataPaths, size: tuple[int, int]) -> LinkPage:
    """The Link customers page in a window of ``size``, loaded and analysed."""
    window = open_window(qtbot, paths)
    window.resize(*size)
    wizard = wizard_of(window)
    wizard.setStartId(list(WIZARD_PAGES).index(Page.LINK_CUSTOMERS))
    wizard.restart()
    page = wait_for_page(qtbot, wizard, Page.LINK_CUSTOMERS)
    assert isinstance(page, LinkPage)
    qtbot.waitUntil(partial(analysed, page), timeout=LONG)
    qtbot.waitUntil(
        lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)), timeout=LONG
    )
    settle_layouts()
    return page


def on_screen(widget: QWidget, area: QWidget) -> bool:
    """Whether all of ``widget`` lies inside ``area`` (an ancestor), where it is seen."""
    top_left = widget.mapTo(area, widget.rect().topLeft())
    return area.rect().contains(QRect(top_left, widget.size()))


def test_the_needed_columns_and_the_buttons_fit_the_default_window(
    qtbot: QtBot, demo_paths: DataPaths, text_scale: float
) -> None:
    page = link_page_at(qtbot, demo_paths, (1000, 680))
    window = page.window()
    assert isinstance(window, MainWindow) and window.size().toTuple() == (1000, 680)
    bench = page.workbench
    assert bench is not None
    # No page scroll bar: the grid takes the height the page leaves.
    assert not page.scroll_area.verticalScrollBar().isVisible()
    view = bench.view
    assert on_screen(view, page.scroll_area.viewport())
    header = view.horizontalHeader()
    seen = header.viewport().rect()
    frozen = bench.frozen
    assert frozen.isVisible()
    for column in NEEDED:
        rect = QRect(
            header.sectionViewportPosition(column), 0, header.sectionSize(column), header.height()
        )
        assert seen.contains(rect), (Column(column).name, rect, seen)
        if column not in frozen.columns:  # not under the frozen Account and Name
            assert rect.left() >= frozen.width(), Column(column).name
    assert view.horizontalScrollBar().value() == 0
    # The buttons are on screen, whole, with nothing to scroll to.
    for button in (bench.exact_button, bench.save_button, bench.side_button):
        assert button.isVisible() and on_screen(button, page.scroll_area.viewport())
    assert clipped(page) == []


def test_the_side_panel_opens_on_demand_where_the_grid_needs_the_width(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    page = link_page_at(qtbot, demo_paths, (1000, 680))
    bench = page.workbench
    assert bench is not None
    assert not bench.side.isVisible() and not bench.side_button.isChecked()
    suggestions = bench.suggestions_model.rowCount()
    duplicates = bench.duplicates_model.rowCount()
    assert suggestions > 0
    assert bench.side_button.text() == (
        f"Show su&ggestions ({suggestions:,}) and duplicates ({duplicates:,})"
    )
    qtbot.mouseClick(bench.side_button, Qt.MouseButton.LeftButton)
    settle_layouts()
    assert bench.side.isVisible() and bench.side_button.isChecked()
    assert bench.side.width() >= bench.side.minimumSizeHint().width()
    assert bench.side_button.text() == "Hide su&ggestions and duplicates"
    # The user's choice holds when the window changes size.
    page.window().resize(1010, 690)
    settle_layouts()
    assert bench.side.isVisible()
    qtbot.mouseClick(bench.side_button, Qt.MouseButton.LeftButton)
    assert not bench.side.isVisible()


def test_a_wide_window_shows_the_side_panel_beside_every_needed_column(
    qtbot: QtBot, demo_paths: DataPaths, text_scale: float
) -> None:
    page = link_page_at(qtbot, demo_paths, (1600, 1000))
    bench = page.workbench
    assert bench is not None
    assert bench.side.isVisible() and bench.side_button.isChecked()
    assert bench.side.width() >= bench.side.minimumSizeHint().width()
    header = bench.view.horizontalHeader()
    for column in NEEDED:
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= header.viewport().width(), Column(column).name


def test_the_pick_list_is_as_wide_as_its_lines(
    qtbot: QtBot,
    workbench: LinkWorkbench,
) -> None:
    workbench.resize(1300, 700)
    editor = open_editor(qtbot, workbench, record_named(workbench, "Stoneygate Guest House"))
    editor.clear()
    qtbot.keyClicks(editor, "le1")  # a postcode district: many long lines
    completer = editor.completer()
    assert completer is not None
    popup = completer.popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible)
    model = popup.model()
    lines = [str(model.index(r, 0).data()) for r in range(model.rowCount())]
    assert len(lines) > 3
    widest = max(popup.fontMetrics().horizontalAdvance(line) for line in lines)
    assert editor.width() < widest  # the cell alone would cut them
    assert popup.width() >= widest


# ------------------------------------------------------------------------ colours


def anchor_colours(html: str, palette: QPalette) -> list[QColor]:
    """The colour each link of a rich text is drawn in: its own style, or the palette's."""
    colours = []
    for anchor in re.findall(r"<a [^>]*>", html):
        styled = re.search(r"color:\s*(#[0-9a-fA-F]{6})", anchor)
        colours.append(
            QColor(styled.group(1)) if styled else palette.color(QPalette.ColorRole.Link)
        )
    return colours


@pytest.mark.parametrize(
    "theme", ["light", "dark", "dark-with-light-link"], ids=lambda theme: theme
)
def test_the_steps_links_read_on_their_background(qtbot: QtBot, theme: str) -> None:
    panel = StepsPanel()
    qtbot.addWidget(panel)
    if theme != "light":
        dark = dark_palette()
        if theme == "dark-with-light-link":  # a theme that left Qt's default dark blue
            dark.setColor(QPalette.ColorRole.Link, QPalette().color(QPalette.ColorRole.Link))
        panel.setPalette(dark)
    panel.show_steps([Page.GET_STARTED, Page.CONNECT, Page.NOMINAL_ACCOUNTS], Page.NOMINAL_ACCOUNTS)
    palette = panel.palette()
    background = palette.color(QPalette.ColorRole.Window)
    colours = anchor_colours(panel.steps_label.text(), palette)
    assert len(colours) == 2
    for colour in colours:
        assert contrast_ratio(colour, background) >= READABLE, colour.name()
    current = re.search(r"<b style='color:(#[0-9a-f]{6})'", panel.steps_label.text())
    assert current and contrast_ratio(QColor(current.group(1)), background) >= READABLE


def test_the_steps_follow_a_change_of_palette(qtbot: QtBot) -> None:
    panel = StepsPanel()
    qtbot.addWidget(panel)
    panel.show_steps([Page.GET_STARTED, Page.CONNECT], Page.CONNECT)
    light = anchor_colours(panel.steps_label.text(), panel.palette())
    panel.setPalette(dark_palette())
    dark = anchor_colours(panel.steps_label.text(), panel.palette())
    window = dark_palette().color(QPalette.ColorRole.Window)
    assert dark != light and contrast_ratio(dark[0], window) >= READABLE


def test_readable_keeps_a_good_colour_and_fixes_a_poor_one() -> None:
    white, night = QColor("#ffffff"), QColor("#202124")
    assert readable(QColor("#1b6e20"), white) == QColor("#1b6e20")
    assert contrast_ratio(QColor("#0000ff"), night) < READABLE
    fixed = readable(QColor("#0000ff"), night)
    assert contrast_ratio(fixed, night) >= READABLE
    assert fixed.hue() == QColor("#0000ff").hue()  # still a blue
    assert round(contrast_ratio(QColor("#000000"), white), 1) == 21.0
    dark = dark_palette()
    dark.setColor(QPalette.ColorRole.Link, QColor("#8ab4f8"))  # a theme that set its own
    assert link_color(dark) == QColor("#8ab4f8")


def test_status_words_read_in_a_dark_palette(
    qtbot: QtBot,
    workbench: LinkWorkbench,
) -> None:
    view = workbench.view
    view.setPalette(dark_palette())
    model = workbench.model
    checked = set()
    for row in range(model.rowCount()):
        index = model.index(row, Column.STATUS)
        status = index.data(STATUS_ROLE)
        if status in checked:
            continue
        checked.add(status)
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.palette = view.palette()
        view.itemDelegateForIndex(index).initStyleOption(option, index)
        text = option.palette.color(QPalette.ColorRole.Text)
        assert contrast_ratio(text, dark_palette().color(QPalette.ColorRole.Base)) >= READABLE
    assert LinkStatus.WILL_BE_CREATED in checked
