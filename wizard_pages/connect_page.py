"""Connect: a form built from what the chosen connector declares it needs, and a test.

Each :class:`~connectors.contract.ConnectField` becomes one row: ``text`` a box,
``secret`` a hidden box (kept in the system keyring as ``<package>.<key>``, never in
the database), ``folder`` a box with *Choose…*, ``oauth`` a
:class:`~wizard_pages.sign_in_panel.SignInPanel` (sign in through the system browser,
then pick the organisation), and ``memorable_word`` a
:class:`~wizard_pages.memorable_word_panel.MemorableWordPanel` (KashFlow: password, then
the memorable word's characters asked for by position). The Sandbox declares nothing,
so its page is just the test. *Test connection* runs in a worker and shows the company
it reached; Next stays disabled until it has worked.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from app.services.setup.choices import Situation, choose_package_and_situation
from app.services.setup.connections import (
    ConnectionTested,
    save_and_test_connection,
    secret_name,
)
from app.services.setup.routing import Page
from app.ui.kit.style import wrapped_label
from connectors.contract import Company, ConnectField, PackageInfo
from connectors.wording import count
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.memorable_word_panel import MemorableWordPanel
from wizard_pages.sign_in_panel import SignInPanel

__all__ = ["ConnectPage", "secret_name"]

#: Situations as the Connect page names them (the Get started page's numbers).
SITUATION_TITLES = {
    Situation.NEW_TO_PACKAGE: "1 (new to the package)",
    Situation.SIDE_BY_SIDE: "2 (both used side by side)",
    Situation.PACKAGE_FIRST: "3 (the package came first)",
}


class ConnectPage(WizardPage):
    """Sign in, choose a folder or nothing at all, then test the connection."""

    page_id = Page.CONNECT

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        self.intro = wrapped_label()
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.inputs: dict[str, QLineEdit] = {}
        self.sign_in_panels: dict[str, SignInPanel | MemorableWordPanel] = {}
        #: Panels of desktop bridges (QuickBooks Desktop's Web Connector).
        self.extra_panels: list[QWidget] = []
        #: Sage 50: nominal list, dates and references, under the folder.
        self.sage50_panel: QWidget | None = None
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.company_label = wrapped_label()
        #: What the package holds once connected, and the situation that fits.
        self.holdings = wrapped_label()
        self.holdings.setObjectName("holdings")
        self.switch_button = QPushButton()
        self.switch_button.setObjectName("switch-situation")
        self.switch_button.clicked.connect(self.switch_situation)
        self._suggested: Situation | None = None
        holdings_row = QHBoxLayout()
        holdings_row.addWidget(self.holdings, 1)
        holdings_row.addWidget(self.switch_button)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.intro)
        layout.addWidget(self.form_host)
        layout.addLayout(test_row)
        layout.addWidget(self.status)
        layout.addLayout(holdings_row)
        layout.addStretch(1)
        self._show_holdings(None)
        self._built_for: str | None = None

    # ------------------------------------------------------------------ the form

    def initializePage(self) -> None:
        self.begin()
        info = self.context.info
        assert info is not None, "the Get started page chooses a package first"
        self.setSubTitle(f"Let Ledgerlink reach your company in {info.name}.")
        if self._built_for != info.key:
            self._build_form(info)
        self.set_complete(False)
        self.test_button.setEnabled(True)
        self.status.plain("Press Test connection (or Enter) to check that Ledgerlink can reach it.")
        for panel in self.sign_in_panels.values():
            panel.show_status()
        # Enter runs the test straight away: the first box to fill in, or the button.
        first = next(iter(self.inputs.values()), None)
        (first or self.test_button).setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter tests the connection until it has worked (Next is disabled till then)."""
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not self.isComplete()
            and self.test_button.isEnabled()
        ):
            event.accept()
            self.test_connection()
            return
        super().keyPressEvent(event)

    def _build_form(self, info: PackageInfo) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs.clear()
        for panel in self.sign_in_panels.values():
            panel.close_signin()
        self.sign_in_panels.clear()
        for extra in self.extra_panels:
            extra.deleteLater()
        self.extra_panels.clear()
        self._built_for = info.key
        if not info.connect_fields:
            self.intro.setText(
                f"{info.name} runs inside Ledgerlink, so there is nothing to sign in to "
                "and nothing to install."
            )
            self.form_host.setVisible(False)
            return
        self.intro.setText(f"Ledgerlink needs the following to reach {info.name}.")
        self.form_host.setVisible(True)
        saved = self.context.choices.package_settings
        for field in info.connect_fields:
            widget = self._field_widget(info, field, saved)
            if field.kind in ("oauth", "qbwc", "memorable_word"):
                self.form.addRow(widget)  # the panel says what it is
            else:
                self.form.addRow(f"{field.label}:", widget)
        self.sage50_panel = None
        if info.key == "sage_50":
            from wizard_pages.sage50_setup_panel import Sage50SetupPanel

            self.sage50_panel = Sage50SetupPanel(self.context, self.run)
            self.form.addRow(self.sage50_panel)

    def _field_widget(
        self, info: PackageInfo, field: ConnectField, saved: dict[str, str]
    ) -> QWidget:
        if field.kind == "memorable_word":
            word_panel = MemorableWordPanel(self.context, info, field, self.run)
            word_panel.changed.connect(self._details_changed)
            word_panel.connected.connect(self._connected)
            self.sign_in_panels[field.key] = word_panel
            return word_panel
        if field.kind == "qbwc":
            from wizard_pages.qbwc_panel import QbwcPanel

            qbwc = QbwcPanel(self.context, info, field, self.run)
            qbwc.changed.connect(self._details_changed)
            qbwc.connected.connect(self._connected)
            self.extra_panels.append(qbwc)
            return qbwc
        if field.kind == "oauth":
            panel = SignInPanel(self.context, info, field, self.run)
            panel.changed.connect(self._details_changed)
            panel.connected.connect(self._connected)
            self.sign_in_panels[field.key] = panel
            return panel
        edit = QLineEdit(saved.get(field.key, "") if field.kind != "secret" else "")
        edit.setObjectName(f"field-{field.key}")
        if field.help:
            edit.setToolTip(field.help)
        edit.textEdited.connect(self._details_changed)
        self.inputs[field.key] = edit
        if field.kind == "secret":
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("kept in your system's keyring, never in Ledgerlink's files")
            return edit
        if field.kind == "folder":
            choose = QPushButton("C&hoose…")
            choose.clicked.connect(lambda: self._choose_folder(edit, field.label))
            return _row(edit, choose)
        return edit

    def _choose_folder(self, edit: QLineEdit, label: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, label, edit.text())
        if folder:
            edit.setText(folder)
            self._details_changed()

    def _details_changed(self) -> None:
        if self.isComplete():
            self.status.plain("Test the connection again after changing these details.")
        self.set_complete(False)

    # ------------------------------------------------------------------ actions

    def test_connection(self) -> None:
        info = self.context.info
        assert info is not None
        fields = {f.key: f for f in info.connect_fields}
        settings = {
            key: edit.text().strip()
            for key, edit in self.inputs.items()
            if fields[key].kind != "secret"
        }
        secrets = {
            key: edit.text()
            for key, edit in self.inputs.items()
            if fields[key].kind == "secret" and edit.text()
        }
        missing = [fields[k].label for k, v in settings.items() if not v]
        if missing:
            self.status.error(f"Fill in {', '.join(missing)} first.")
            return
        store = self.context.store

        def work(_cancel: threading.Event, _progress: Progress) -> ConnectionTested:
            return save_and_test_connection(store, info.key, settings, secrets)

        def tested(result: ConnectionTested) -> None:
            self.context.adopt(result.state)
            self._connected(result.company)
            self._show_holdings(result)

        self.test_button.setEnabled(False)
        self.set_complete(False)
        self._show_holdings(None)
        self.status.busy(f"Connecting to {info.name}…")
        self.run(work, name="test connection", on_success=tested, on_failure=self._failed)

    def _connected(self, company: Company) -> None:
        info = self.context.info
        assert info is not None
        self.test_button.setEnabled(True)
        for edit in self.inputs.values():
            if edit.echoMode() is QLineEdit.EchoMode.Password:
                edit.clear()
        if company.name != self.context.choices.company_name:
            # Signing in stored the company already; the choices show what it stored.
            self.context.adopt(replace(self.context.choices, company_name=company.name))
        self.status.success(f"Connected to {company.name} in {info.name}.")
        self.set_complete(True)
        wizard = self.wizard()
        focused = QApplication.focusWidget()
        if wizard is not None and (focused is None or self.isAncestorOf(focused)):
            # The next Enter goes on to the next page, not round the test again.
            wizard.button(QWizard.WizardButton.NextButton).setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_holdings(self, result: ConnectionTested | None) -> None:
        """Say what the package holds, and offer the situation that fits if it is not
        the one chosen (one click switches)."""
        self._suggested = None
        self.switch_button.setVisible(False)
        if result is None or result.package_customers is None or result.package_suppliers is None:
            self.holdings.setVisible(False)
            return
        name = self.context.package_name
        held = (
            f"{name} holds {count(result.package_customers, 'customer')} and "
            f"{count(result.package_suppliers, 'supplier')}; Ledgerlink holds "
            f"{count(result.our_contacts, 'contact')} from your job system."
        )
        suggested = Situation(result.suggested) if result.suggested else None
        chosen = self.context.choices.situation
        if suggested is not None and suggested is not chosen:
            title = SITUATION_TITLES[suggested]
            held += f" That fits situation {title} better than the one chosen."
            self._suggested = suggested
            self.switch_button.setText(f"Switch to situation {title}")
            self.switch_button.setVisible(True)
        self.holdings.setText(held)
        self.holdings.setVisible(True)

    def switch_situation(self) -> None:
        """Choose the suggested situation (the steps after this page follow it)."""
        suggested, package = self._suggested, self.context.choices.package
        if suggested is None or package is None:
            return
        self.switch_button.setEnabled(False)

        def switched(_state: object) -> None:
            self.switch_button.setEnabled(True)
            self.switch_button.setVisible(False)
            self._suggested = None
            self.holdings.setText(
                self.holdings.text().split(" That fits")[0]
                + f" Situation {SITUATION_TITLES[suggested]} chosen."
            )

        self.context.change(
            "switch situation",
            lambda store: choose_package_and_situation(store, package, suggested),
            on_success=switched,
        )

    def _failed(self, message: str) -> None:
        self.test_button.setEnabled(True)
        self.status.error(f"Could not connect: {message}")
        self.set_complete(False)


def _row(*widgets: QWidget) -> QWidget:
    host = QWidget()
    row = QHBoxLayout(host)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return host
