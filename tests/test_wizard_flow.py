"""The wizard from the first page to the dashboard, for each situation, on the Sandbox
with the demo data, driven by clicks and typing as a person would.

Every page is also saved as a screenshot (see ``tests/screenshots.py``).
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QRadioButton, QWizard
from pytestqt.qtbot import QtBot
from sqlalchemy import delete, select

from app.config import DataPaths
from app.db.models import (
    Contact,
    ContactKind,
    Document,
    DocumentLine,
    Link,
    LinkMethod,
    OutboxEntry,
    Payment,
    PaymentAllocation,
    Situation,
)
from app.services.linking.saving import LinkChange, apply_links
from app.services.sending.preflight import Preflight
from app.services.setup.connections import connector_for
from app.services.setup.demo import prepare_demo
from app.services.setup.routing import TITLES, Page, steps
from app.services.setup.state import load_setup
from app.services.status import collect_status
from app.services.store import open_store
from app.ui.windows.main_window import MainWindow
from app.ui.windows.wizard import SetupWizard
from connectors.contract import ContactRole
from connectors.registry import has_connector
from connectors.sandbox import SandboxStore
from tests.screenshots import save_screenshot
from wizard_pages.base import WizardPage
from wizard_pages.connect_page import ConnectPage
from wizard_pages.get_started_page import GetStartedPage
from wizard_pages.import_page import ImportPage
from wizard_pages.link_page import LinkPage
from wizard_pages.nominal_page import NominalPage
from wizard_pages.review_page import ReviewPage

LONG = 60_000

# The offscreen platform cannot raise windows or grab the keyboard (dialogs, completer
# pop-ups); harmless without a real screen.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)

# ---------------------------------------------------------------------------- driving


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """Click a button where a person would: on the indicator of a radio button."""
    assert button.isVisible(), f"{button.text()!r} is not visible"
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    if isinstance(button, QRadioButton):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))
    else:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def open_window(qtbot: QtBot, paths: DataPaths, **options: object) -> MainWindow:
    """Show the main window on ``paths`` and wait until it shows the wizard or dashboard."""
    window = MainWindow(paths, **options)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.view_changed, timeout=LONG):
        window.show()
        window.open()
    qtbot.waitExposed(window)
    return window


def wizard_of(window: MainWindow) -> SetupWizard:
    assert window.view == "wizard" and window.wizard is not None
    return window.wizard


def wait_for_page(qtbot: QtBot, wizard: SetupWizard, which: Page) -> WizardPage:
    qtbot.waitUntil(lambda: wizard.current_page() is which, timeout=LONG)
    return wizard.pages[which]


def wait_until_complete(qtbot: QtBot, wizard_page: WizardPage) -> None:
    qtbot.waitUntil(wizard_page.isComplete, timeout=LONG)


def button(wizard: SetupWizard, which: QWizard.WizardButton) -> QAbstractButton:
    return wizard.button(which)


def go_next(qtbot: QtBot, wizard: SetupWizard, expected: Page) -> WizardPage:
    click(qtbot, button(wizard, QWizard.WizardButton.NextButton))
    return wait_for_page(qtbot, wizard, expected)


def type_into(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Clear an account box, type ``text`` and press Enter."""
    edit = combo.lineEdit()
    assert edit is not None
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)
    completer = combo.completer()
    if completer is not None and completer.popup().isVisible():
        qtbot.keyClick(completer.popup(), Qt.Key.Key_Escape)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def shot(window: MainWindow, name: str) -> None:
    save_screenshot(window, name)


def side_panel_steps(wizard: SetupWizard) -> list[Page]:
    return list(wizard.side_panel.pages)


def label_text(label: QLabel) -> str:
    return label.text().replace("\u00a0", " ")


# ---------------------------------------------------------------------------- data


@pytest.fixture
def demo_paths(tmp_path: Path) -> DataPaths:
    """The demo data on the Sandbox (situation 2 chosen, nothing mapped or sent)."""
    paths = DataPaths(tmp_path / "demo")
    prepare_demo(paths).close()
    return paths


def company_name(paths: DataPaths) -> str:
    with connector_for(paths, "sandbox") as connector:
        return connector.connect().name


def expected_preflight(paths: DataPaths) -> dict[str, int]:
    """What the pre-flight service itself predicts (the page must show the same)."""
    store = open_store(paths)
    try:
        with connector_for(paths, "sandbox") as connector:
            report = Preflight(store.session_factory, connector).run()
    finally:
        store.close()
    counts = {k: report.to_send.get(k, 0) for k in ("customer", "supplier", "invoice")}
    counts.update(
        credit_note=report.to_send.get("credit_note", 0),
        payment=report.to_send.get("payment", 0),
        linked=report.already_linked,
        found=len(report.linked),
        held=len(report.held_back),
        fail=len(report.failures),
    )
    return counts


def shown_numbers(review: ReviewPage) -> dict[str, int]:
    return {key: int(label.text().replace(",", "")) for key, label in review.numbers.items()}


def exact_name_links(paths: DataPaths, path: Path) -> int:
    """A links CSV, as support staff would fill it in: our contacts whose name the Sandbox
    has exactly once, with the Sandbox's reference."""
    with connector_for(paths, "sandbox") as connector:
        theirs: dict[tuple[str, str], list[str]] = {}
        for role in ContactRole:
            for contact in connector.iter_contacts(role):
                theirs.setdefault((role.value, contact.name), []).append(contact.ref)
    store = open_store(paths)
    rows = 0
    try:
        with store.session_factory() as session, path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["kind", "account_ref", "package_ref"])
            for contact in session.scalars(select(Contact).order_by(Contact.id)):
                refs = theirs.get((contact.kind.value, contact.name), [])
                if len(refs) == 1:
                    writer.writerow([contact.kind.value, contact.account_ref, refs[0]])
                    rows += 1
    finally:
        store.close()
    return rows


# ---------------------------------------------------------------------------- pages


def get_started(
    qtbot: QtBot, window: MainWindow, situation: Situation, screenshot: str = ""
) -> SetupWizard:
    wizard = wizard_of(window)
    page = wait_for_page(qtbot, wizard, Page.GET_STARTED)
    assert isinstance(page, GetStartedPage)
    # Every package is listed; only those with a connector can be chosen.
    assert len(page.package_buttons) == 8
    for key, radio in page.package_buttons.items():
        assert radio.isEnabled() is has_connector(key)
        available = "not available in this version" not in label_text(page.package_notes[key])
        assert available is has_connector(key)
    click(qtbot, page.package_buttons["sandbox"])
    click(qtbot, page.situation_buttons[situation])
    assert side_panel_steps(wizard) == list(steps(situation))
    assert page.isComplete()
    if screenshot:
        shot(window, screenshot)
    return wizard


def connect(qtbot: QtBot, window: MainWindow, paths: DataPaths, screenshot: str = "") -> None:
    wizard = wizard_of(window)
    page = go_next(qtbot, wizard, Page.CONNECT)
    assert isinstance(page, ConnectPage)
    assert not button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    assert "nothing to sign in to" in page.intro.text()
    click(qtbot, page.test_button)
    wait_until_complete(qtbot, page)
    expected = company_name(paths)
    assert f"Connected to {expected}" in page.status.text()
    assert button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    assert html.escape(expected) in wizard.side_panel.footer.text()
    if screenshot:
        shot(window, screenshot)


def map_accounts(qtbot: QtBot, window: MainWindow, screenshot: str = "") -> NominalPage:
    wizard = wizard_of(window)
    page = wizard.pages[Page.NOMINAL_ACCOUNTS]
    assert isinstance(page, NominalPage)
    qtbot.waitUntil(lambda: bool(page.editors), timeout=LONG)
    return page


# ---------------------------------------------------------------------------- flows


def test_situation_2_side_by_side_to_the_dashboard(
    qtbot: QtBot, demo_paths: DataPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, demo_paths)
    wizard = get_started(qtbot, window, Situation.SIDE_BY_SIDE, "wizard-1-get-started")
    # Trying another situation changes the steps on the left at once.
    start = wizard.pages[Page.GET_STARTED]
    assert isinstance(start, GetStartedPage)
    click(qtbot, start.situation_buttons[Situation.NEW_TO_PACKAGE])
    assert side_panel_steps(wizard) == list(steps(Situation.NEW_TO_PACKAGE))
    click(qtbot, start.situation_buttons[Situation.SIDE_BY_SIDE])
    assert side_panel_steps(wizard) == list(steps(Situation.SIDE_BY_SIDE))

    connect(qtbot, window, demo_paths, "wizard-2-connect")

    # Nominal accounts: the accounts waiting records use block Next until matched.
    page = go_next(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    assert isinstance(page, NominalPage)
    qtbot.waitUntil(lambda: "Match these before going on" in page.needed.text(), timeout=LONG)
    for code in ("SALES", "SALES-LAB", "SALES-MAT", "BANK"):
        assert f"({code})" in page.needed.text()
    assert "(EXPENSES)" not in page.needed.text()
    assert not button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    shot(window, "wizard-3-nominal-accounts")

    # A Bank account typed as a sales account is refused, with the reason beside it.
    bank = page.editors["BANK"].chooser
    assert isinstance(bank, QComboBox)
    type_into(qtbot, bank, "4000")
    qtbot.waitUntil(lambda: page.editors["BANK"].state.kind == "error", timeout=LONG)
    assert "can only be matched to a bank account" in page.editors["BANK"].state.text()
    # Typing the right code works.
    type_into(qtbot, bank, "1200")
    qtbot.waitUntil(lambda: page.editors["BANK"].state.kind == "success", timeout=LONG)
    assert "Bank current account" in page.editors["BANK"].state.text()
    # Searching by part of a name, then picking from the list.
    sales = page.editors["SALES"].chooser
    assert isinstance(sales, QComboBox)
    type_into(qtbot, sales, "4000 · Sales")
    qtbot.waitUntil(lambda: page.editors["SALES"].row.mapped, timeout=LONG)
    # The rest: the suggested same-name matches.
    assert page.suggest_button.isVisible()
    click(qtbot, page.suggest_button)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert page.editors["SALES-LAB"].row.remote_code == "4010"
    assert page.editors["SALES-MAT"].row.remote_code == "4020"
    assert "Every account that records waiting to be sent use is matched" in page.needed.text()

    # Adding a second sales account.
    click(qtbot, page.add_buttons[page.editors["SALES"].row.kind])
    dialog = page.add_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.code, "sales lab")
    qtbot.keyClicks(dialog.name, "Sales - call-outs")
    click(qtbot, dialog.buttons.buttons()[0])
    qtbot.waitUntil(lambda: dialog.status.kind == "error", timeout=LONG)
    assert "no spaces" in dialog.status.text()
    dialog.code.clear()
    qtbot.keyClicks(dialog.code, "SALES-CALL")
    with qtbot.waitSignal(dialog.added, timeout=LONG):
        click(qtbot, dialog.buttons.buttons()[0])
    qtbot.waitUntil(lambda: "SALES-CALL" in page.editors, timeout=LONG)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert "Not used by anything waiting" in page.editors["SALES-CALL"].state.text()
    shot(window, "wizard-3-nominal-accounts-matched")

    # Link customers: counts, then links imported from a CSV file by support staff.
    links = go_next(qtbot, wizard, Page.LINK_CUSTOMERS)
    assert isinstance(links, LinkPage)
    qtbot.waitUntil(lambda: links.counts is not None, timeout=LONG)
    assert links.counts is not None
    assert (links.counts.linked, links.counts.total) == (0, 200)
    assert links.numbers["unlinked"].text() == "200"
    csv_file = tmp_path / "links.csv"
    linked_rows = exact_name_links(demo_paths, csv_file)
    assert linked_rows > 0
    monkeypatch.setattr(
        "wizard_pages.link_page.QFileDialog.getOpenFileName",
        lambda *args, **kwargs: (str(csv_file), "CSV files (*.csv)"),
    )
    click(qtbot, links.import_button)
    qtbot.waitUntil(lambda: links.status.kind == "success", timeout=LONG)
    with csv_file.open(newline="") as handle:
        customers_linked = sum(1 for row in csv.DictReader(handle) if row["kind"] == "customer")
    qtbot.waitUntil(
        lambda: links.counts is not None and links.counts.linked == customers_linked,
        timeout=LONG,
    )
    assert f"Linked {linked_rows:,}" in links.status.text()
    shot(window, "wizard-4-link-customers")

    suppliers = go_next(qtbot, wizard, Page.LINK_SUPPLIERS)
    assert isinstance(suppliers, LinkPage)
    qtbot.waitUntil(lambda: suppliers.counts is not None, timeout=LONG)
    assert suppliers.counts is not None
    assert suppliers.counts.total == 30
    assert suppliers.counts.linked == linked_rows - customers_linked
    shot(window, "wizard-5-link-suppliers")

    review = go_next(qtbot, wizard, Page.REVIEW_AND_SEND)
    send_and_finish(qtbot, window, demo_paths, review, "wizard-6-review-and-send")
    dashboard_matches_the_store(qtbot, window, demo_paths, "dashboard")


def send_and_finish(
    qtbot: QtBot, window: MainWindow, paths: DataPaths, review: WizardPage, screenshot: str
) -> None:
    """On Review and send: the numbers are the pre-flight's; send now; finish."""
    assert isinstance(review, ReviewPage)
    wizard = wizard_of(window)
    wait_until_complete(qtbot, review)
    expected = expected_preflight(paths)
    assert shown_numbers(review) == expected
    assert review.failure_model.rowCount() == len(review.data.causes if review.data else [])
    if review.failure_model.rowCount():
        index = review.failure_model.index(0, 0)
        qtbot.mouseClick(
            review.failure_view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=review.failure_view.visualRect(index).center(),
        )
        cause = review.failure_model.cause(0)
        assert cause.title in review.details.text()
        assert cause.fix in review.details.text()
        # A record held back by a cause is listed under it, never as a cause itself.
        held = (
            {r.outbox_id for c in review.data.causes for r in c.held_back} if review.data else set()
        )
        roots = (
            {r.outbox_id for c in review.data.causes for r in c.records} if review.data else set()
        )
        assert not held & roots
    shot(window, screenshot)
    finish = button(wizard, QWizard.WizardButton.FinishButton)
    assert finish.isVisible() and finish.isEnabled()
    to_send = sum(
        expected[k] for k in ("customer", "supplier", "invoice", "credit_note", "payment")
    )
    if to_send:
        click(qtbot, review.auto_send)
        click(qtbot, review.send_button)
        assert review.progress.isVisible() and review.cancel_button.isVisible()
        assert not finish.isEnabled()
        qtbot.waitUntil(lambda: review.current.text().startswith("Sent "), timeout=LONG)
        wait_until_complete(qtbot, review)
        assert not review.progress.isVisible()
        # The check after the send finished: its "Checking every record…" is gone.
        assert review.status.kind != "busy"
        assert "Checking" not in review.status.text()
        assert review.status.text() == "Press Finish to open the dashboard."
        assert review.last_send is not None
        sent = sum(review.last_send.sent.values())
        assert f"Sent {sent:,} records" in review.current.text()
        assert sent == to_send
    else:
        assert not review.send_button.isEnabled()
    with qtbot.waitSignal(window.refreshed, timeout=LONG):
        click(qtbot, button(wizard, QWizard.WizardButton.FinishButton))
    assert window.view == "dashboard"
    store = open_store(paths)
    try:
        with store.session_factory() as session:
            setup = load_setup(session)
        assert setup.setup_complete and setup.wizard_page is None
        assert setup.auto_send is bool(to_send)
    finally:
        store.close()


def dashboard_matches_the_store(
    qtbot: QtBot, window: MainWindow, paths: DataPaths, screenshot: str
) -> None:
    dashboard = window.dashboard
    assert dashboard is not None
    qtbot.waitUntil(lambda: dashboard.snapshot is not None, timeout=LONG)
    store = open_store(paths)
    try:
        with store.session_factory() as session:
            status = collect_status(session, paths)
    finally:
        store.close()
    model = dashboard.status_model
    for record_type, states in status.states.items():
        for state, count in states.items():
            assert model.count(record_type, state) == count, (record_type, state)
    assert dashboard.heading.text() == "Sandbox (practice package)"
    assert company_name(paths) in dashboard.subheading.text()
    failures = dashboard.snapshot.data.failures if dashboard.snapshot else []
    assert dashboard.failure_model.rowCount() == sum(1 + len(f.dependants) for f in failures)
    assert "Last send: " in dashboard.times.text()
    shot(window, screenshot)


def test_situation_1_new_to_the_package_to_the_dashboard(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    with SandboxStore(demo_paths.sandbox_database) as sandbox:
        sandbox.reset(company_name="Fresh Start Heating Ltd")
    window = open_window(qtbot, demo_paths)
    wizard = get_started(qtbot, window, Situation.NEW_TO_PACKAGE, "situation-1-get-started")
    connect(qtbot, window, demo_paths)
    page = go_next(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    assert isinstance(page, NominalPage)
    qtbot.waitUntil(lambda: page.suggest_button.isVisible(), timeout=LONG)
    click(qtbot, page.suggest_button)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    # Situation 1 has no link steps: straight to Review and send.
    review = go_next(qtbot, wizard, Page.REVIEW_AND_SEND)
    assert side_panel_steps(wizard) == [
        Page.GET_STARTED,
        Page.CONNECT,
        Page.NOMINAL_ACCOUNTS,
        Page.REVIEW_AND_SEND,
    ]
    send_and_finish(qtbot, window, demo_paths, review, "situation-1-review-and-send")
    dashboard_matches_the_store(qtbot, window, demo_paths, "situation-1-dashboard")
    with connector_for(demo_paths, "sandbox") as connector:
        created = sum(1 for role in ContactRole for _ in connector.iter_contacts(role))
    assert created > 0


@pytest.fixture
def package_first_paths(demo_paths: DataPaths) -> DataPaths:
    """Situation 3: the Sandbox is filled (the demo's), our job system has no records."""
    store = open_store(demo_paths)
    try:
        with store.session_factory.begin() as session:
            for model in (PaymentAllocation, Payment, DocumentLine, Document, OutboxEntry, Link):
                session.execute(delete(model))
            session.execute(delete(Contact))
    finally:
        store.close()
    return demo_paths


def test_situation_3_import_refuses_when_someone_linked_since_the_list_was_read(
    qtbot: QtBot, package_first_paths: DataPaths
) -> None:
    paths = package_first_paths
    window = open_window(qtbot, paths)
    wizard = get_started(qtbot, window, Situation.PACKAGE_FIRST)
    connect(qtbot, window, paths)
    page = go_next(qtbot, wizard, Page.IMPORT_FROM_PACKAGE)
    assert isinstance(page, ImportPage)
    qtbot.waitUntil(lambda: page.import_button.isEnabled(), timeout=LONG)
    # Another computer links one of the package's customers after the list was read.
    with connector_for(paths, "sandbox") as connector:
        theirs = next(iter(connector.iter_contacts(ContactRole.CUSTOMER)))
    store = open_store(paths)
    try:
        with store.session_factory.begin() as session:
            ours = Contact(kind=ContactKind.CUSTOMER, account_ref="OTHER1", name="Other PC's")
            session.add(ours)
            session.flush()
            apply_links(session, "sandbox", [LinkChange(ours.id, theirs.ref)], actor="other")
    finally:
        store.close()
    click(qtbot, page.import_button)
    qtbot.waitUntil(lambda: "changed by someone else" in page.status.text(), timeout=LONG)
    assert "Other PC's (OTHER1)" in page.status.text()
    assert not page.isComplete()
    # The list is read again (now with their link) and may be imported.
    qtbot.waitUntil(lambda: "1 imported before" in page.summary.text(), timeout=LONG)
    qtbot.waitUntil(lambda: page.import_button.isEnabled(), timeout=LONG)
    click(qtbot, page.import_button)
    qtbot.waitUntil(page.isComplete, timeout=LONG)


def test_situation_3_package_first_to_the_dashboard(
    qtbot: QtBot, package_first_paths: DataPaths
) -> None:
    paths = package_first_paths
    with connector_for(paths, "sandbox") as connector:
        in_package = {role: sum(1 for _ in connector.iter_contacts(role)) for role in ContactRole}
    window = open_window(qtbot, paths)
    wizard = get_started(qtbot, window, Situation.PACKAGE_FIRST, "situation-3-get-started")
    connect(qtbot, window, paths)
    page = go_next(qtbot, wizard, Page.IMPORT_FROM_PACKAGE)
    assert isinstance(page, ImportPage)
    qtbot.waitUntil(lambda: page.import_button.isEnabled(), timeout=LONG)
    customers, suppliers = in_package[ContactRole.CUSTOMER], in_package[ContactRole.SUPPLIER]
    assert f"holds {customers} customers and {suppliers} suppliers" in page.summary.text()
    assert page.model.rowCount() == customers + suppliers
    assert not page.isComplete()
    shot(window, "wizard-import-from-package")
    click(qtbot, page.import_button)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert (
        f"Imported {customers} customers and {suppliers} suppliers from Sandbox"
        in page.status.text()
    )
    qtbot.waitUntil(lambda: "0 new here" in page.summary.text(), timeout=LONG)
    shot(window, "wizard-import-from-package-done")

    # Going back and importing again adds nothing and says so.
    click(qtbot, button(wizard, QWizard.WizardButton.BackButton))
    wait_for_page(qtbot, wizard, Page.CONNECT)
    page = go_next(qtbot, wizard, Page.IMPORT_FROM_PACKAGE)
    assert isinstance(page, ImportPage)
    qtbot.waitUntil(page.isComplete, timeout=LONG)
    assert "already here from an earlier import; nothing new to import" in page.status.text()
    assert not page.import_button.isEnabled()

    nominal = go_next(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    qtbot.waitUntil(nominal.isComplete, timeout=LONG)  # nothing waiting uses any account
    customer_links = go_next(qtbot, wizard, Page.LINK_CUSTOMERS)
    assert isinstance(customer_links, LinkPage)
    qtbot.waitUntil(lambda: customer_links.counts is not None, timeout=LONG)
    assert customer_links.counts is not None
    assert (customer_links.counts.linked, customer_links.counts.total) == (customers, customers)
    links = go_next(qtbot, wizard, Page.LINK_SUPPLIERS)
    assert isinstance(links, LinkPage)
    qtbot.waitUntil(lambda: links.counts is not None, timeout=LONG)
    assert links.counts is not None
    assert (links.counts.linked, links.counts.total) == (suppliers, suppliers)
    review = go_next(qtbot, wizard, Page.REVIEW_AND_SEND)
    send_and_finish(qtbot, window, paths, review, "situation-3-review-and-send")
    dashboard_matches_the_store(qtbot, window, paths, "situation-3-dashboard")
    store = open_store(paths)
    try:
        with store.session_factory() as session:
            methods = set(session.scalars(select(Link.method)))
            kinds = {
                kind: len(session.scalars(select(Contact.id).where(Contact.kind == kind)).all())
                for kind in ContactKind
            }
    finally:
        store.close()
    assert methods == {LinkMethod.IMPORTED}
    assert kinds == {ContactKind.CUSTOMER: customers, ContactKind.SUPPLIER: suppliers}


# ---------------------------------------------------------------------------- resuming


def test_closing_midway_and_reopening_resumes_where_the_user_was(
    qtbot: QtBot, demo_paths: DataPaths
) -> None:
    window = open_window(qtbot, demo_paths)
    wizard = get_started(qtbot, window, Situation.NEW_TO_PACKAGE)
    connect(qtbot, window, demo_paths)
    go_next(qtbot, wizard, Page.NOMINAL_ACCOUNTS)
    # Escape closes the wizard; during first set-up that closes the window.
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LONG)

    again = open_window(qtbot, demo_paths)
    resumed = wizard_of(again)
    assert resumed.current_page() is Page.NOMINAL_ACCOUNTS
    assert resumed.context.choices.package == "sandbox"
    assert resumed.context.choices.situation is Situation.NEW_TO_PACKAGE
    assert side_panel_steps(resumed) == list(steps(Situation.NEW_TO_PACKAGE))
    # The side panel's passed steps are links back to them.
    assert f"href='{Page.CONNECT.value}'" in resumed.side_panel.steps_label.text()
    resumed.side_panel.steps_label.linkActivated.emit(Page.GET_STARTED.value)
    wait_for_page(qtbot, resumed, Page.GET_STARTED)
    assert resumed.windowTitle().endswith(TITLES[Page.GET_STARTED])


def test_page_option_opens_straight_at_a_page(qtbot: QtBot, demo_paths: DataPaths) -> None:
    window = open_window(qtbot, demo_paths, page="link-suppliers")
    wizard = wizard_of(window)
    # Set-up is not finished and link-suppliers is on situation 2's route: the wizard
    # carries on from there.
    assert wizard.current_page() is Page.LINK_SUPPLIERS
    assert wizard.only is None
    shot(window, "page-option-link-suppliers")
