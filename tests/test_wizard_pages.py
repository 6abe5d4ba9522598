"""Wizard pages one at a time: the Connect form for every package, help texts, the
page models, keyboard-only use, and layouts that fit at 125 % in light and dark."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QDate, QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
    QWizard,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.db.models import Situation
from app.services.importing.from_package import PreviewRow
from app.services.sending.causes import FailedRecord, group_causes
from app.services.setup.routing import WIZARD_PAGES, Page, steps
from app.services.setup.state import (
    SetupState,
    get_setting,
    load_setup,
    package_settings_key,
    set_setting,
)
from app.services.store import Store, open_store
from app.ui.kit.style import error_color, is_dark, muted_color, success_color
from app.ui.kit.workers import TaskRunner
from app.ui.windows.wizard import SetupWizard
from connectors.catalogue import BY_KEY, PACKAGES
from connectors.contract import AccountType, Company, ContactRole, RemoteAccount
from connectors.oauth import SignInCancelled
from tests.conftest import MemoryKeyring
from tests.screenshots import save_screenshot
from tests.standins.kashflow import MEMORABLE_WORD, KashFlowStandIn
from tests.standins.kashflow import PASSWORD as KASHFLOW_PASSWORD
from tests.standins.kashflow import USERNAME as KASHFLOW_USER
from tests.standins.loopback import LoopbackServer
from tests.test_wizard_flow import LONG, demo_paths, open_window, wait_for_page, wizard_of
from wizard_pages.connect_page import ConnectPage
from wizard_pages.context import WizardContext
from wizard_pages.help import HelpButton, help_markdown
from wizard_pages.memorable_word_panel import MemorableWordPanel
from wizard_pages.models import PackageContactModel, PreflightFailureModel, RemoteAccountModel
from wizard_pages.review_page import ReviewPage

__all__ = ["demo_paths"]  # the fixture, shared with the flow tests

pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)


@pytest.fixture
def store(data_paths: DataPaths) -> Iterator[Store]:
    opened = open_store(data_paths)
    yield opened
    opened.close()


def connect_page(qtbot: QtBot, store: Store, package: str) -> ConnectPage:
    choices = SetupState(package=package, situation=Situation.SIDE_BY_SIDE)
    page = ConnectPage(WizardContext(store, choices))
    qtbot.addWidget(page)
    page.initializePage()
    page.show()
    return page


# ---------------------------------------------------------------------------- connect


def test_the_sandbox_needs_nothing_but_a_test(qtbot: QtBot, store: Store) -> None:
    page = connect_page(qtbot, store, "sandbox")
    assert page.form.rowCount() == 0 and not page.form_host.isVisible()
    assert "nothing to sign in to" in page.intro.text()
    assert not page.isComplete()


def kashflow_panel(
    qtbot: QtBot, store: Store, endpoint: str
) -> tuple[ConnectPage, MemorableWordPanel]:
    """The Connect page for KashFlow at ``endpoint``, and its sign-in panel."""
    with store.session_factory.begin() as session:
        set_setting(session, package_settings_key("kashflow"), {"endpoint": endpoint})
    page = connect_page(qtbot, store, "kashflow")
    panel = page.sign_in_panels["signin"]
    assert isinstance(panel, MemorableWordPanel)
    return page, panel


def test_kashflow_asks_for_the_memorable_word_characters_by_position(
    qtbot: QtBot, store: Store, memory_keyring: MemoryKeyring
) -> None:
    with LoopbackServer(KashFlowStandIn()) as server:
        page, panel = kashflow_panel(qtbot, store, server.url)
        assert panel.password.echoMode() is QLineEdit.EchoMode.Password
        # A missing user name is named before anything is tried.
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
        assert panel.status.text() == "Type your KashFlow user name first."
        qtbot.keyClicks(panel.username, KASHFLOW_USER)
        qtbot.keyClicks(panel.password, KASHFLOW_PASSWORD)
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.characters_host.isVisible(), timeout=LONG)
        # Exactly the characters KashFlow asked for, one box each, never the whole word.
        assert sorted(panel.characters) == [2, 3, 6]
        assert "characters 2, 3 and 6" in panel.characters_label.text()
        assert all(e.maxLength() == 1 for e in panel.characters.values())
        for position, edit in panel.characters.items():
            qtbot.keyClicks(edit, MEMORABLE_WORD[position - 1].upper())
        page.resize(760, 480)
        save_screenshot(page, "connect-kashflow")
        qtbot.mouseClick(panel.sign_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert "Connected to KashFlow" in page.status.text()
    keys = {name for _service, name in memory_keyring.entries}
    assert "kashflow.session_token" in keys
    # "Remember" was not ticked: the password is not kept; the word never is.
    assert "kashflow.password" not in keys
    assert all(MEMORABLE_WORD not in v for v in memory_keyring.entries.values())
    with store.session_factory() as session:
        stored = get_setting(session, package_settings_key("kashflow"))
    assert stored["username"] == KASHFLOW_USER and KASHFLOW_PASSWORD not in str(stored)
    page.context.shutdown()


def test_a_wrong_kashflow_password_is_kashflows_refusal_not_an_apology(
    qtbot: QtBot, store: Store
) -> None:
    with LoopbackServer(KashFlowStandIn()) as server:
        page, panel = kashflow_panel(qtbot, store, server.url)
        qtbot.keyClicks(panel.username, KASHFLOW_USER)
        qtbot.keyClicks(panel.password, KASHFLOW_PASSWORD + "x")
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.continue_button.isEnabled(), timeout=LONG)
    said = panel.status.text()
    assert "KashFlow did not accept the user name and password" in said, said
    assert "API settings" in said and "fault in Ledgerlink" not in said  # no apology
    assert not panel.characters_host.isVisible() and not page.isComplete()
    page.context.shutdown()


def test_desktop_packages_ask_for_a_folder(qtbot: QtBot, store: Store, tmp_path: Path) -> None:
    page = connect_page(qtbot, store, "sage_50")
    assert list(page.inputs) == ["import_folder"]
    choose = [b for b in page.form_host.findChildren(QPushButton) if "hoose" in b.text()]
    assert len(choose) == 1
    page.inputs["import_folder"].setText(str(tmp_path))
    page.context.shutdown()


class FakeSignIn:
    """A stand-in for ``app.services.setup.signin`` with the API in docs/signin.md: the
    browser's answer arrives when the test says so."""

    def __init__(self, organisations: list[tuple[str, str]]) -> None:
        self.organisations = [types.SimpleNamespace(id=i, name=n) for i, n in organisations]
        self.browser_answered = threading.Event()
        self.calls: list[str] = []
        self.closed = 0
        self.chosen: list[str] = []

    # the module's functions
    def sign_in_status(self, paths: DataPaths, factory: object, package: str) -> object:
        self.calls.append(f"status {package}")
        return types.SimpleNamespace(signed_in=False, organisation_id="", organisation_name="")

    def start_sign_in(self, paths: DataPaths, factory: object, package: str) -> FakeSignIn:
        self.calls.append(f"start {package}")
        return self

    def choose_organisation(
        self, paths: DataPaths, factory: object, package: str, organisation: object
    ) -> Company:
        name = organisation.name
        self.chosen.append(name)
        return Company(id=organisation.id, name=name)

    # the SignIn object's
    url = "https://login.example/authorize?state=abc"

    def wait_for_browser(self, cancel: threading.Event) -> list[object]:
        while not self.browser_answered.wait(0.01):
            if cancel.is_set():
                raise SignInCancelled("Signing in was cancelled.")
        return self.organisations

    def complete_with_pasted_address(self, text: str) -> list[object]:
        self.calls.append(f"pasted {text}")
        return self.organisations[:1]

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def fake_signin(monkeypatch: pytest.MonkeyPatch) -> FakeSignIn:
    fake = FakeSignIn([("org-1", "Northfield Heating Ltd"), ("org-2", "Northfield Gas Ltd")])
    module = types.ModuleType("tests_fake_signin")
    for name in ("sign_in_status", "start_sign_in", "choose_organisation"):
        setattr(module, name, getattr(fake, name))
    monkeypatch.setitem(sys.modules, "tests_fake_signin", module)
    monkeypatch.setattr("wizard_pages.sign_in_panel.SIGNIN_MODULE", "tests_fake_signin")
    opened: list[str] = []
    monkeypatch.setattr(
        "wizard_pages.sign_in_panel.QDesktopServices.openUrl",
        lambda url: opened.append(url.toString()) or True,
    )
    fake.opened = opened  # type: ignore[attr-defined]
    return fake


def click(qtbot: QtBot, widget: QWidget) -> None:
    """Click ``widget`` as a person would, once Qt has laid out what just appeared.

    Showing the sign-in's waiting row posts a layout request; under load a click sent
    before it is handled lands where the button was before (nowhere), so the test
    waited for a cancel or a pasted address that never came.
    """
    settle_layouts()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_signing_in_through_the_browser_then_choosing_the_organisation(
    qtbot: QtBot, store: Store, fake_signin: FakeSignIn
) -> None:
    page = connect_page(qtbot, store, "xero")
    panel = page.sign_in_panels["signin"]
    assert panel.button.text() == "Sign in to Xero"
    qtbot.waitUntil(lambda: "status xero" in fake_signin.calls, timeout=LONG)
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.waiting.isVisible, timeout=LONG)
    assert fake_signin.opened == [fake_signin.url]  # type: ignore[attr-defined]
    assert panel.address.text() == fake_signin.url
    assert "Waiting for you to sign in to Xero" in panel.status.text()
    assert not page.isComplete()
    page.resize(760, 560)
    save_screenshot(page, "connect-xero-waiting-for-the-browser")

    fake_signin.browser_answered.set()
    qtbot.waitUntil(panel.picker.isVisible, timeout=LONG)
    assert not panel.waiting.isVisible()
    assert "reaches 2 organisations" in panel.status.text()
    save_screenshot(page, "connect-xero-choose-organisation")
    panel.organisation.setCurrentIndex(1)
    click(qtbot, panel.choose_button)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert fake_signin.chosen == ["Northfield Gas Ltd"]
    assert "Connected to Northfield Gas Ltd in Xero" in page.status.text()
    assert page.context.choices.company_name == "Northfield Gas Ltd"
    assert fake_signin.closed >= 1
    page.context.shutdown()


def test_signing_in_with_a_pasted_address(
    qtbot: QtBot, store: Store, fake_signin: FakeSignIn
) -> None:
    page = connect_page(qtbot, store, "xero")
    panel = page.sign_in_panels["signin"]
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.waiting.isVisible, timeout=LONG)
    click(qtbot, panel.paste_button)
    assert "Paste the whole address" in panel.status.text()
    qtbot.keyClicks(panel.pasted, "http://127.0.0.1:5123/callback?code=x&state=abc")
    with qtbot.waitSignal(panel.signed_in, timeout=LONG) as signed:
        click(qtbot, panel.paste_button)
    assert signed.args == ["Northfield Heating Ltd"]
    assert "pasted http://127.0.0.1:5123/callback?code=x&state=abc" in fake_signin.calls
    assert "Signed in to Northfield Heating Ltd. Now test the connection." in panel.status.text()
    assert not page.isComplete()  # the connection itself is still to be tested
    page.context.shutdown()


def test_cancelling_a_sign_in(qtbot: QtBot, store: Store, fake_signin: FakeSignIn) -> None:
    page = connect_page(qtbot, store, "xero")
    panel = page.sign_in_panels["signin"]
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.waiting.isVisible, timeout=LONG)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: "Sign-in cancelled" in panel.status.text(), timeout=LONG)
    assert panel.button.isEnabled() and not panel.waiting.isVisible()
    page.context.shutdown()


# ---------------------------------------------------------------------------- help


@pytest.mark.parametrize("info", PACKAGES, ids=lambda i: i.key)
def test_every_page_has_help_for_every_package(info: object) -> None:
    key = info.key
    for page in [*WIZARD_PAGES, Page.DASHBOARD]:
        text = help_markdown(page, key)
        assert text.startswith("# "), (page, key)
        assert "{" not in text, f"unfilled placeholder in {page} help"
    connect = help_markdown(Page.CONNECT, key)
    assert "## " in connect, f"{key} has no connect help of its own"
    for link_page in (Page.LINK_CUSTOMERS, Page.LINK_SUPPLIERS):
        link = help_markdown(link_page, key)
        package = BY_KEY[key]
        assert f"Where to find the {package.reference.label}" in link
        for number, step in enumerate(package.reference.where_to_find, start=1):
            assert f"{number}. {step}" in link
        assert package.reference.example in link
    assert "customers" in help_markdown(Page.LINK_CUSTOMERS, key).split("\n")[0]
    assert "suppliers" in help_markdown(Page.LINK_SUPPLIERS, key).split("\n")[0]


def test_help_without_a_package_is_general() -> None:
    text = help_markdown(Page.NOMINAL_ACCOUNTS, None)
    assert "your accounting package" in text


def test_help_button_shows_the_page_help(qtbot: QtBot) -> None:
    button = HelpButton(Page.REVIEW_AND_SEND, "xero")
    qtbot.addWidget(button)
    button.show()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = button.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == "Help: Review and send (Xero)"
    assert "Send automatically every two hours" in dialog.browser.toPlainText()
    dialog.close()


def test_the_wizard_help_button_and_f1(qtbot: QtBot, demo_paths: DataPaths) -> None:
    window = open_window(qtbot, demo_paths)
    wizard = wizard_of(window)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.HelpButton), Qt.MouseButton.LeftButton)
    assert wizard.help_dialog is not None and wizard.help_dialog.isVisible()
    assert "Your situation" in wizard.help_dialog.browser.toPlainText()
    save_screenshot(wizard.help_dialog, "help-get-started")
    wizard.help_dialog.close()


# ---------------------------------------------------------------------------- models


def test_page_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    contacts = PackageContactModel()
    contacts.set_rows(
        [
            PreviewRow(ContactRole.CUSTOMER, "SBX-C1", "Acme", "Leicester", "LE1 1AA", "", False),
            PreviewRow(ContactRole.SUPPLIER, "SBX-C2", "Bolt", "", "", "a@b.example", True),
        ]
    )
    qtmodeltester.check(contacts)
    assert contacts.index(1, 6).data() == "yes, imported before"

    accounts = RemoteAccountModel(
        [
            RemoteAccount("A1", "4000", "Sales", AccountType.SALES),
            RemoteAccount("A2", "4010", "", AccountType.SALES),
        ]
    )
    qtmodeltester.check(accounts)
    assert accounts.index(0, 0).data() == "4000 · Sales"
    assert accounts.index(1, 0).data() == "4010"
    assert accounts.row_of("A2") == 1 and accounts.row_of("nope") == -1

    failures = PreflightFailureModel()
    sales = [
        FailedRecord(
            n,
            "invoice",
            f"Invoice INV-{n}",
            "unmapped_account",
            "account",
            "Sales (SALES) is not matched",
            "Match it",
            subject="SALES",
        )
        for n in (1, 2)
    ]
    payment = FailedRecord(
        3, "payment", "Payment P-1", "blocked", "invoice", "Waits", "", blocked_by=1
    )
    failures.set_causes(group_causes([*sales, payment], "Xero"))
    qtmodeltester.check(failures)
    assert failures.rowCount() == 1
    assert [failures.index(0, c).data() for c in range(4)] == [
        "Sales (SALES) is not matched",
        "2 invoices",
        "1 payment",
        "Match it",
    ]
    for model in (PackageContactModel(), RemoteAccountModel(), PreflightFailureModel()):
        qtmodeltester.check(model)


# ---------------------------------------------------------------------------- keyboard


def test_keyboard_only(qtbot: QtBot, demo_paths: DataPaths) -> None:
    """Mnemonics pick the choices, Enter goes on, Esc closes."""
    window = open_window(qtbot, demo_paths)
    wizard = wizard_of(window)
    window.activateWindow()
    qtbot.waitActive(window)
    start = wait_for_page(qtbot, wizard, Page.GET_STARTED)
    start.setFocus()
    # A mnemonic "clicks" its radio button as a press and release (animateClick).
    qtbot.keyClick(start, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(
        lambda: wizard.context.choices.situation is Situation.PACKAGE_FIRST, timeout=LONG
    )
    assert list(wizard.side_panel.pages) == list(steps(Situation.PACKAGE_FIRST))
    qtbot.keyClick(start, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(
        lambda: wizard.context.choices.situation is Situation.NEW_TO_PACKAGE, timeout=LONG
    )
    qtbot.keyClick(wizard, Qt.Key.Key_Return)
    connect = wait_for_page(qtbot, wizard, Page.CONNECT)
    assert isinstance(connect, ConnectPage)
    qtbot.keyClick(connect, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(connect.isComplete, timeout=LONG)
    assert "Connected to" in connect.status.text()
    qtbot.keyClick(wizard, Qt.Key.Key_Return)
    wait_for_page(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    qtbot.keyClick(wizard, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    wait_for_page(qtbot, wizard, Page.CONNECT)


def test_tab_order_on_get_started_reaches_every_choice(qtbot: QtBot, demo_paths: DataPaths) -> None:
    window = open_window(qtbot, demo_paths)
    wizard = wizard_of(window)
    start = wait_for_page(qtbot, wizard, Page.GET_STARTED)
    reached = set()
    widget = start.nextInFocusChain()
    for _ in range(200):
        reached.add(widget.objectName())
        widget = widget.nextInFocusChain()
    assert "package-sandbox" in reached
    assert {f"situation-{s.value}" for s in Situation} <= reached


# ---------------------------------------------------------------------------- look


def dark_palette() -> QPalette:
    """A whole dark theme, as desktop dark modes (KDE, GNOME's Qt platform theme,
    Windows) set one: every role, so Qt's own style draws outlines, placeholders and
    tool-tips from dark colours, not its light defaults."""
    # From a button and a window colour Qt works out the bevel roles (Light, Midlight,
    # Mid, Dark, Shadow) the way a platform theme does.
    palette = QPalette(QColor("#303134"), QColor("#202124"))
    for role, color in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#2b2c2f"),
        (QPalette.ColorRole.AlternateBase, "#323336"),
        (QPalette.ColorRole.Text, "#e8eaed"),
        (QPalette.ColorRole.Button, "#303134"),
        (QPalette.ColorRole.ButtonText, "#e8eaed"),
        (QPalette.ColorRole.Highlight, "#8ab4f8"),
        (QPalette.ColorRole.HighlightedText, "#202124"),
        (QPalette.ColorRole.PlaceholderText, "#9aa0a6"),
        (QPalette.ColorRole.ToolTipBase, "#3c4043"),
        (QPalette.ColorRole.ToolTipText, "#e8eaed"),
        (QPalette.ColorRole.BrightText, "#ffffff"),
        (QPalette.ColorRole.Link, "#8ab4f8"),
        (QPalette.ColorRole.LinkVisited, "#c58af9"),
    ):
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f8389"))
    return palette


def test_colours_follow_a_dark_palette() -> None:
    dark, light = dark_palette(), QPalette(QColor("#f0f0f0"))
    assert is_dark(dark) and not is_dark(light)
    for pick in (error_color, success_color):
        assert pick(dark).lightness() > 128 > pick(light).lightness()
    # Muted text sits between the text and the background, in both.
    assert 32 < muted_color(dark).lightness() < 232
    assert muted_color(light).lightness() < QColor("#f0f0f0").lightness()


@pytest.fixture
def larger_text_and_dark() -> Iterator[None]:
    """The system font 25 % larger (as at 125 % scaling with fixed-size windows) and a
    dark palette, restored afterwards."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    font, palette = app.font(), app.palette()
    bigger = QFont(font)
    bigger.setPointSizeF(font.pointSizeF() * 1.25)
    app.setFont(bigger)
    app.setPalette(dark_palette())
    yield
    app.setFont(font)
    app.setPalette(palette)


def settle_layouts() -> None:
    """Apply every pending layout now.

    Qt lays widgets out on *posted* LayoutRequest events. A worker's result that set a
    label's text just before a check leaves that request queued; under load the check
    could run first and measure the label at its old size (the dashboard's data-folder
    label at 8 px). Sending the posted events first makes every measurement final.
    """
    for _ in range(10):  # a layout may post requests for its parents: a few rounds
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest.value)


def clipped(root: QWidget) -> list[str]:
    """Visible labels and buttons whose text is cut off: a wrapped label shorter than
    its text needs at its width, or a one-line label or button narrower than its text.
    Pending layouts are applied first (see :func:`settle_layouts`)."""
    settle_layouts()
    problems: list[str] = []
    for label in root.findChildren(QLabel):
        if not label.isVisibleTo(root) or not label.text().strip():
            continue
        name = label.text()[:40]
        if label.wordWrap():
            needed = label.heightForWidth(label.width())
            if needed > label.height() + 1:
                problems.append(f"“{name}” is {label.height()}px high, needs {needed}px")
        elif label.width() + 1 < label.minimumSizeHint().width():
            problems.append(f"“{name}” is {label.width()}px wide, needs more")
    for button in root.findChildren(QAbstractButton):
        if button.isVisibleTo(root) and button.width() + 1 < button.minimumSizeHint().width():
            problems.append(f"button “{button.text()}” is cut off")
    return problems


def test_the_clipping_check_measures_after_pending_layouts(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QHBoxLayout(host)
    label = QLabel("x")
    layout.addWidget(label)
    layout.addStretch(1)  # the label is as wide as its text, as in the dashboard's bar
    host.resize(600, 100)
    host.show()
    qtbot.waitExposed(host)
    # As a worker's result does: new text, and the layout only asked for, not applied.
    label.setText("Data folder: /home/someone/.local/share/Ledgerlink")
    assert label.width() < label.minimumSizeHint().width()
    assert clipped(host) == []


def test_the_clipping_check_catches_cut_off_text(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    label = QLabel("A long explanation that has to wrap over several lines to be read " * 3)
    label.setWordWrap(True)
    label.setParent(host)
    label.setGeometry(0, 0, 200, 20)
    button = QPushButton("A button with a long caption", host)
    button.setGeometry(0, 30, 40, 20)
    host.resize(220, 60)
    host.show()
    problems = clipped(host)
    assert len(problems) == 2
    label.setGeometry(0, 0, 200, label.heightForWidth(200))
    button.resize(button.minimumSizeHint())
    assert clipped(host) == []


@pytest.mark.usefixtures("larger_text_and_dark")
def test_every_page_fits_the_default_window_at_125_percent(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    window = open_window(qtbot, demo_paths)
    wizard: SetupWizard = wizard_of(window)
    size = window.size()
    for which in WIZARD_PAGES:
        wizard.setStartId(list(WIZARD_PAGES).index(which))
        wizard.restart()
        wait_for_page(qtbot, wizard, which)
        # Every worker of the window (the link grid has its own), then the layout passes
        # their results asked for: measure the page as the user finally sees it.
        qtbot.waitUntil(
            lambda: all(r.active == 0 for r in window.findChildren(TaskRunner)), timeout=LONG
        )
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
        needed = window.centralWidget().minimumSizeHint()
        assert needed.width() <= size.width(), f"{which} needs {needed.width()}px"
        assert needed.height() <= size.height(), f"{which} needs {needed.height()}px"
        assert clipped(window) == [], which
        save_screenshot(window, f"large-dark-{which.value}")


# ---------------------------------------------------------------------------- review


def test_cut_off_date_is_stored_and_checked_again(qtbot: QtBot, demo_paths: DataPaths) -> None:
    from app.services.setup.connections import connector_for
    from app.services.setup.nominal_accounts import load_page, map_account
    from tests.test_wizard_flow import expected_preflight, shown_numbers

    store = open_store(demo_paths)
    try:
        with connector_for(demo_paths, "sandbox") as connector:
            remote = load_page(store.session_factory, connector).remote_accounts
            for code, account in {"SALES": "4000", "SALES-LAB": "4010"}.items():
                map_account(store.session_factory, connector.info, remote, code, account, actor="t")
    finally:
        store.close()
    window = open_window(qtbot, demo_paths, page="review-and-send")
    wizard = wizard_of(window)
    review = wait_for_page(qtbot, wizard, Page.REVIEW_AND_SEND)
    assert isinstance(review, ReviewPage)
    qtbot.waitUntil(review.isComplete, timeout=LONG)
    before = shown_numbers(review)
    assert before == expected_preflight(demo_paths)
    assert not review.cutoff_date.isEnabled()
    review.cutoff_date.setDate(QDate(2026, 6, 1))
    with qtbot.waitSignal(review.completeChanged, timeout=LONG):
        qtbot.mouseClick(review.cutoff_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 8))
    qtbot.waitUntil(review.isComplete, timeout=LONG)
    after = shown_numbers(review)
    assert after == expected_preflight(demo_paths)
    assert after["fail"] > before["fail"]
    store = open_store(demo_paths)
    try:
        with store.session_factory() as session:
            assert load_setup(session).cutoff_date == date(2026, 6, 1)
    finally:
        store.close()
    # Selecting a cause shows it in full underneath.
    assert review.failure_model.rowCount() > 0
    review.failure_view.selectRow(0)
    cause = review.failure_model.cause(0)
    assert cause.title in review.details.text()
    assert cause.records[0].label in review.details.text()


def test_sending_contacts_only_with_a_transaction_is_a_checkbox_off_by_default(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    from tests.test_wizard_flow import expected_preflight, shown_numbers

    window = open_window(qtbot, demo_paths, page="review-and-send")
    review = wait_for_page(qtbot, wizard_of(window), Page.REVIEW_AND_SEND)
    assert isinstance(review, ReviewPage)
    qtbot.waitUntil(review.isComplete, timeout=LONG)
    assert not review.with_transactions.isChecked()
    assert shown_numbers(review)["held"] == 0
    with qtbot.waitSignal(review.completeChanged, timeout=LONG):
        review.with_transactions.setChecked(True)
    qtbot.waitUntil(review.isComplete, timeout=LONG)
    shown = shown_numbers(review)
    assert shown == expected_preflight(demo_paths)
    assert shown["held"] > 0  # the demo's suppliers have no transactions
    store = open_store(demo_paths)
    try:
        with store.session_factory() as session:
            assert load_setup(session).contacts_with_transactions
    finally:
        store.close()
