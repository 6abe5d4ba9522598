"""A bookkeeper's first hour (issue 19): keyboard traps, counts that follow the grid."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from functools import partial

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QMenuBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.config import DataPaths
from app.db.models import Contact, Situation
from app.services.setup.choices import choose_package_and_situation
from app.services.setup.connections import connector_for
from app.services.setup.routing import WIZARD_PAGES, Page, steps
from app.services.store import open_store
from app.ui.kit.workers import TaskRunner
from connectors.contract import ContactRole
from tests.screenshots import save_screenshot
from tests.test_wizard_flow import (
    LONG,
    click,
    demo_paths,
    open_window,
    wait_for_page,
    wizard_of,
)
from tests.test_wizard_pages import dark_palette, settle_layouts
from wizard_pages.connect_page import ConnectPage
from wizard_pages.link_grid import LinkWorkbench
from wizard_pages.link_page import LinkPage

__all__ = ["demo_paths"]

_MNEMONIC = re.compile(r"(?<!&)&([^&\s])")


def mnemonic(text: str) -> str | None:
    """The Alt+ letter in a Qt text ("Link &exact matches" → "e"), or None."""
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).lower() if found else None


def duplicate_mnemonics(root: QWidget) -> dict[str, list[str]]:
    """Alt+ letters shared by more than one visible, enabled-or-not control under
    ``root`` (buttons, group boxes, labels with a buddy, menu titles)."""
    owners: dict[str, list[str]] = defaultdict(list)

    def add(text: str) -> None:
        letter = mnemonic(text)
        if letter:
            owners[letter].append(text)

    for button in root.findChildren(QAbstractButton):
        if button.isVisibleTo(root):
            add(button.text())
    for box in root.findChildren(QGroupBox):
        if box.isVisibleTo(root):
            add(box.title())
    for label in root.findChildren(QLabel):
        if label.isVisibleTo(root) and label.buddy() is not None:
            add(label.text())
    for bar in root.findChildren(QMenuBar):
        if bar.isVisibleTo(root):
            for action in bar.actions():
                add(action.text())
    return {letter: texts for letter, texts in owners.items() if len(texts) > 1}


def test_the_check_finds_a_shared_letter(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    for text in ("Link &exact matches", "&Export links", "Save && &close", "&Keep"):
        layout.addWidget(QPushButton(text))
    assert mnemonic("Save && &close") == "c" and mnemonic("A && B") is None
    assert duplicate_mnemonics(host) == {"e": ["Link &exact matches", "&Export links"]}


def test_no_page_and_not_the_dashboard_has_a_letter_twice(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    window = open_window(qtbot, demo_paths)
    wizard = wizard_of(window)
    found: dict[str, dict[str, list[str]]] = {}
    for which in WIZARD_PAGES:
        wizard.setStartId(list(WIZARD_PAGES).index(which))
        wizard.restart()
        wait_for_page(qtbot, wizard, which)
        qtbot.waitUntil(
            lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)), timeout=LONG
        )
        QCoreApplication.processEvents()
        duplicates = duplicate_mnemonics(window)
        if duplicates:
            found[which.value] = duplicates
    window.show_dashboard()
    qtbot.waitUntil(
        lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)), timeout=LONG
    )
    duplicates = duplicate_mnemonics(window)
    if duplicates:
        found["dashboard"] = duplicates
    assert found == {}, found


def test_focus_stays_on_save_after_saving_links(qtbot: QtBot, demo_paths: DataPaths) -> None:
    """Saving with the keyboard leaves the focus on Save, not on the wizard's "< Back"
    (where the next Space or Enter would leave the page)."""
    window = open_window(qtbot, demo_paths, page="link-customers")
    wizard = wizard_of(window)
    links = wait_for_page(qtbot, wizard, Page.LINK_CUSTOMERS)
    assert isinstance(links, LinkPage)
    qtbot.waitUntil(
        lambda: links.workbench is not None and links.workbench.book is not None, timeout=LONG
    )
    workbench = links.workbench
    assert workbench is not None
    qtbot.waitUntil(lambda: not workbench.busy, timeout=LONG)
    window.activateWindow()
    qtbot.waitActive(window)
    assert links.numbers["linked"].text() == "0"
    workbench.exact_button.click()
    assert workbench.dirty
    # The page's counts follow the grid at once, before anything is saved.
    linked = book_linked(workbench)
    assert linked > 0
    assert links.numbers["linked"].text() == f"{linked:,}"
    assert links.numbers["unlinked"].text() == f"{len(workbench.book or []) - linked:,}"
    workbench.undo_stack.undo()
    assert links.numbers["linked"].text() == "0"
    workbench.undo_stack.redo()
    assert links.numbers["linked"].text() == f"{linked:,}"
    workbench.save_button.setFocus()
    assert QApplication.focusWidget() is workbench.save_button
    with qtbot.waitSignal(workbench.saved, timeout=LONG):
        qtbot.keyClick(workbench.save_button, Qt.Key.Key_Space)
    back = wizard.button(QWizard.WizardButton.BackButton)
    assert QApplication.focusWidget() is not back
    assert QApplication.focusWidget() is workbench.save_button


def test_enter_on_connect_tests_then_goes_on(qtbot: QtBot, demo_paths: DataPaths) -> None:
    """On Connect, Enter runs Test connection without tabbing to it, then goes on."""
    window = open_window(qtbot, demo_paths, page="connect")
    wizard = wizard_of(window)
    connect = wait_for_page(qtbot, wizard, Page.CONNECT)
    assert isinstance(connect, ConnectPage)
    window.activateWindow()
    qtbot.waitActive(window)
    assert not connect.isComplete()
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    qtbot.waitUntil(connect.isComplete, timeout=LONG)
    assert "Connected to" in connect.status.text()
    focused = QApplication.focusWidget()
    assert focused is wizard.button(QWizard.WizardButton.NextButton)
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: wizard.currentPage() is not connect, timeout=LONG)


def book_linked(workbench: LinkWorkbench) -> int:
    book = workbench.book
    assert book is not None
    return sum(1 for state in book.states if state.ref)


def test_connect_says_what_the_package_holds_and_switches_situation(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    """Situation 1 chosen, but the package holds contacts: Connect says how many, names
    the situation that fits, and one click switches to it."""
    store = open_store(demo_paths)
    try:
        choose_package_and_situation(store, "sandbox", Situation.NEW_TO_PACKAGE)
        with store.session_factory() as session:
            ours = session.scalar(select(func.count()).select_from(Contact))
    finally:
        store.close()
    with connector_for(demo_paths, "sandbox") as connector:
        connector.connect()
        customers = sum(1 for _ in connector.iter_contacts(ContactRole.CUSTOMER))
        suppliers = sum(1 for _ in connector.iter_contacts(ContactRole.SUPPLIER))
    assert customers and suppliers and ours
    window = open_window(qtbot, demo_paths, page="connect")
    wizard = wizard_of(window)
    connect = wait_for_page(qtbot, wizard, Page.CONNECT)
    assert isinstance(connect, ConnectPage)
    assert not connect.holdings.isVisibleTo(connect)
    click(qtbot, connect.test_button)
    qtbot.waitUntil(connect.isComplete, timeout=LONG)
    name = wizard.context.package_name
    assert connect.holdings.isVisibleTo(connect)
    assert connect.holdings.text() == (
        f"{name} holds {customers:,} customers and {suppliers:,} suppliers; Ledgerlink "
        f"holds {ours:,} contacts from your job system. That fits situation 2 (both used "
        "side by side) better than the one chosen."
    )
    assert connect.switch_button.isVisibleTo(connect)
    assert connect.switch_button.text() == "Switch to situation 2 (both used side by side)"
    click(qtbot, connect.switch_button)
    qtbot.waitUntil(
        lambda: wizard.context.choices.situation is Situation.SIDE_BY_SIDE, timeout=LONG
    )
    qtbot.waitUntil(lambda: not connect.switch_button.isVisibleTo(connect), timeout=LONG)
    assert connect.holdings.text().endswith("Situation 2 (both used side by side) chosen.")
    assert list(wizard.side_panel.pages) == list(steps(Situation.SIDE_BY_SIDE))


#: Pages a newcomer sees first, whole at the smallest window and the larger text.
FITS_WITHOUT_SCROLLING = (Page.GET_STARTED, Page.LINK_CUSTOMERS, Page.LINK_SUPPLIERS)


@pytest.mark.parametrize("size", [(1000, 680), (1600, 1000)], ids=["1000x680", "1600x1000"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("scale", [1.0, 1.25], ids=["100", "125"])
def test_screenshots_of_every_page_with_the_demo(
    qtbot: QtBot, demo_paths: DataPaths, size: tuple[int, int], dark: bool, scale: float
) -> None:
    """Every wizard page and the dashboard at both sizes, light and dark, 100 % and 125 %
    text, kept in ``screenshots/`` for people to look at; none needs more room than the
    window has."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    font, palette = app.font(), app.palette()
    try:
        bigger = QFont(font)
        bigger.setPointSizeF(font.pointSizeF() * scale)
        app.setFont(bigger)
        if dark:
            app.setPalette(dark_palette())
        window = open_window(qtbot, demo_paths)
        window.resize(*size)
        wizard = wizard_of(window)
        tag = f"{size[0]}x{size[1]}-{'dark' if dark else 'light'}-{round(scale * 100)}"
        for which in WIZARD_PAGES:
            wizard.setStartId(list(WIZARD_PAGES).index(which))
            wizard.restart()
            wait_for_page(qtbot, wizard, which)
            qtbot.waitUntil(
                lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)),
                timeout=LONG,
            )
            page = wizard.pages[which]
            if isinstance(page, LinkPage):  # its suggestions come shortly after the grid
                qtbot.waitUntil(partial(analysed, page), timeout=LONG)
            settle_layouts()
            needed = window.centralWidget().minimumSizeHint()
            assert needed.width() <= size[0] and needed.height() <= size[1], (which, needed)
            # The page's own content is never wider than its view (pages scroll down only:
            # anything wider is cut off at the right, as Sync's buttons were at 125 %).
            body = page.body.minimumSizeHint().width()
            assert body <= page.scroll_area.viewport().width(), (which, body)
            if which in FITS_WITHOUT_SCROLLING:  # a first page should not scroll at all
                scroll_bar = page.scroll_area.verticalScrollBar()
                assert scroll_bar.maximum() == 0, (which, scroll_bar.maximum())
            assert save_screenshot(window, f"{tag}-{which.value}") is not None or not_saving()
            if isinstance(page, LinkPage) and page.workbench is not None:
                # The side panel open on its suggestions, as a user opens it.
                page.workbench.show_side_panel(True)
                page.workbench.side.setCurrentIndex(1)
                settle_layouts()
                name = f"{tag}-{which.value}-suggestions"
                assert save_screenshot(window, name) is not None or not_saving()
        window.show_dashboard()
        qtbot.waitUntil(
            lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)), timeout=LONG
        )
        settle_layouts()
        assert save_screenshot(window, f"{tag}-dashboard") is not None or not_saving()
    finally:
        app.setFont(font)
        app.setPalette(palette)


def analysed(page: LinkPage) -> bool:
    workbench = page.workbench
    return workbench is not None and workbench.book is not None and workbench.book.analysed


def not_saving() -> bool:
    return os.environ.get("LEDGERLINK_SCREENSHOTS", "1") == "0"
