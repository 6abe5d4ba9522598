"""Nominal accounts: each of our Sales, Bank and Expense accounts matched to the package's.

The package's chart is read in a worker. Each of our accounts gets a searchable
drop-down of the package's accounts of the right type (type to filter by code or
name), or a box to type the code into where a package cannot list its accounts. A
choice is saved at once, in a worker; a wrong one (a Bank account to a sales account,
a code the package does not have) is refused beside the account with the reason. The
page names the unmapped accounts that waiting records use, and Next stays disabled
while any is left.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.services.setup.nominal_accounts import (
    AccountKind,
    NominalPageData,
    NominalRow,
    add_our_account,
    compatible,
    load_page,
    map_account,
    suggest_matches,
)
from app.services.setup.routing import Page
from app.ui.kit.style import (
    error_color,
    heading_font,
    muted_color,
    set_text_color,
    success_color,
    wrapped_label,
)
from app.ui.kit.widgets import StatusLine
from connectors.wording import count as count_of
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.models import RemoteAccountModel, describe_account

KIND_TITLES = {
    AccountKind.SALES: ("Sales accounts", "a sales"),
    AccountKind.BANK: ("Bank accounts", "a bank"),
    AccountKind.EXPENSE: ("Expense accounts", "an expense"),
}


def _uses(count: int) -> str:
    return count_of(count, "record")


@dataclass
class AccountEditor:
    """The widgets for one of our accounts."""

    row: NominalRow
    label: QLabel
    chooser: QComboBox | QLineEdit
    state: StatusLine

    def typed_text(self) -> str:
        if isinstance(self.chooser, QComboBox):
            return self.chooser.currentText().strip()
        return self.chooser.text().strip()


class NominalPage(WizardPage):
    """Match our accounts to the package's; Next once every account in use is matched."""

    page_id = Page.NOMINAL_ACCOUNTS

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        self.intro = wrapped_label()
        self.suggest_button = QPushButton("&Use suggested matches")
        self.suggest_button.setVisible(False)
        self.suggest_button.clicked.connect(self.use_suggestions)
        top = QHBoxLayout()
        top.addWidget(self.intro, 1)
        top.addWidget(self.suggest_button, 0, Qt.AlignmentFlag.AlignTop)

        self.rows_host = QWidget()
        self.grid = QGridLayout(self.rows_host)
        self.grid.setColumnStretch(0, 2)
        self.grid.setColumnStretch(1, 3)
        self.grid.setColumnStretch(2, 2)
        self.grid.setVerticalSpacing(6)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.rows_host)

        self.needed = wrapped_label()
        self.needed.setObjectName("needed")
        layout = QVBoxLayout(self.body)
        layout.addLayout(top)
        layout.addWidget(self.needed)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)

        self.data: NominalPageData | None = None
        self.models: dict[AccountKind, RemoteAccountModel] = {}
        self.editors: dict[str, AccountEditor] = {}
        self.add_buttons: dict[AccountKind, QPushButton] = {}
        self.add_dialog: AddAccountDialog | None = None
        #: Saves in flight: our code → the package account asked for.
        self._pending: dict[str, str] = {}

    # ------------------------------------------------------------------ loading

    def initializePage(self) -> None:
        self.begin()
        name = self.context.package_name
        self.setSubTitle(f"Match each of our accounts to the account it posts to in {name}.")
        self.intro.setText(
            f"Invoices and credit notes post to our Sales accounts and payments to our Bank "
            f"accounts. Choose the {name} account each one goes to: type to search by code "
            "or name."
        )
        self.set_complete(False)
        self.load()

    def load(self) -> None:
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> NominalPageData:
            with connect() as connector:
                return load_page(factory, connector)

        self.status.busy(f"Reading {self.context.package_name}'s accounts…")
        self.run(work, name="load nominal accounts", on_success=self._loaded)

    def _loaded(self, data: NominalPageData) -> None:
        self.data = data
        remote = data.remote_accounts or []
        for kind in AccountKind:
            self.models.setdefault(kind, RemoteAccountModel()).set_accounts(
                compatible(kind, remote)
            )
        self._build_rows(data.rows)
        self.status.clear()
        self._update(data.rows)

    def _build_rows(self, rows: list[NominalRow]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.editors.clear()
        self.add_buttons.clear()
        line = 0
        for kind, (title, word) in KIND_TITLES.items():
            heading = QLabel(title)
            heading.setFont(heading_font(self.font(), 1.1))
            add = QPushButton(f"Add {word} account…")
            add.setObjectName(f"add-{kind.value}")
            add.clicked.connect(lambda _=False, k=kind: self.open_add_dialog(k))
            self.add_buttons[kind] = add
            self.grid.addWidget(heading, line, 0, 1, 2)
            self.grid.addWidget(add, line, 2, Qt.AlignmentFlag.AlignRight)
            line += 1
            for row in (r for r in rows if r.kind is kind):
                editor = self._editor(row)
                self.grid.addWidget(editor.label, line, 0)
                self.grid.addWidget(editor.chooser, line, 1)
                self.grid.addWidget(editor.state, line, 2)
                self.editors[row.code] = editor
                line += 1
        self.grid.setRowStretch(line, 1)

    def _editor(self, row: NominalRow) -> AccountEditor:
        muted = muted_color(self.palette()).name()
        label = QLabel(f"{html.escape(row.name)}  <span style='color:{muted}'>{row.code}</span>")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        chooser: QComboBox | QLineEdit
        if self.data is not None and self.data.remote_accounts is None:
            chooser = QLineEdit(row.remote_code)
            chooser.setPlaceholderText(f"Type the {self.context.package_name} account code")
            chooser.editingFinished.connect(lambda c=row.code: self._typed(c))
        else:
            chooser = self._combo(row)
        chooser.setObjectName(f"map-{row.code}")
        chooser.setAccessibleName(f"{self.context.package_name} account for {row.name}")
        label.setBuddy(chooser)
        state = StatusLine()
        state.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        return AccountEditor(row, label, chooser, state)

    def _combo(self, row: NominalRow) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setModel(self.models[row.kind])
        combo.setMinimumContentsLength(18)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        completer = QCompleter(self.models[row.kind], combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        combo.setCompleter(completer)
        self._show_choice(combo, row)
        line_edit = combo.lineEdit()
        assert line_edit is not None
        line_edit.setPlaceholderText("Search by code or name…")
        combo.activated.connect(lambda index, c=row.code: self._picked(c, index))
        line_edit.returnPressed.connect(lambda c=row.code: self._typed(c))
        line_edit.editingFinished.connect(lambda c=row.code: self._typed(c))
        return combo

    def _show_choice(self, combo: QComboBox, row: NominalRow) -> None:
        model = self.models[row.kind]
        position = model.row_of(row.remote_id) if row.remote_id else -1
        combo.blockSignals(True)
        combo.setCurrentIndex(position)
        if position < 0:
            combo.setEditText(row.remote_code)
        combo.blockSignals(False)
        line_edit = combo.lineEdit()
        if line_edit is not None:
            line_edit.setModified(False)

    # ------------------------------------------------------------------ choosing

    def _picked(self, code: str, index: int) -> None:
        editor = self.editors.get(code)
        if editor is None or index < 0:
            return
        account = self.models[editor.row.kind].account(index)
        self.save(code, account.id)

    def _typed(self, code: str) -> None:
        editor = self.editors.get(code)
        if editor is None:
            return
        chooser = editor.chooser
        line_edit = chooser.lineEdit() if isinstance(chooser, QComboBox) else chooser
        if line_edit is None or not line_edit.isModified():
            return
        line_edit.setModified(False)
        text = editor.typed_text()
        if not text:
            return
        remote = text
        for account in self.models[editor.row.kind].accounts():
            if describe_account(account).casefold() == text.casefold():
                remote = account.id
                break
        else:
            remote = text.split(" ")[0]
        self.save(code, remote)

    def save(self, code: str, remote: str) -> None:
        """Match our ``code`` to the package account ``remote`` (its code or id)."""
        editor = self.editors[code]
        if remote in (editor.row.remote_id, editor.row.remote_code):
            return
        if self._pending.get(code) == remote:
            return
        self._pending[code] = remote
        info = self.context.info
        assert info is not None and self.data is not None
        accounts = self.data.remote_accounts
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> list[NominalRow]:
            return map_account(factory, info, accounts, code, remote, actor="user")

        def saved(rows: list[NominalRow]) -> None:
            self._pending.pop(code, None)
            self._update(rows)

        def refused(message: str) -> None:
            self._pending.pop(code, None)
            if code in self.editors:
                self.editors[code].state.error(message)

        editor.state.busy("Saving…")
        self.run(work, name="map account", on_success=saved, on_failure=refused, writes=True)

    def use_suggestions(self) -> None:
        if self.data is None or not self.data.remote_accounts:
            return
        info = self.context.info
        assert info is not None
        accounts = self.data.remote_accounts
        rows = [editor.row for editor in self.editors.values()]
        suggestions = suggest_matches(rows, accounts)
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> list[NominalRow]:
            result = rows
            for code, account in suggestions.items():
                result = map_account(factory, info, accounts, code, account.id, actor="user")
            return result

        self.suggest_button.setEnabled(False)
        self.status.busy("Matching accounts with the same name…")
        self.run(work, name="use suggested matches", on_success=self._suggested, writes=True)

    def _suggested(self, rows: list[NominalRow]) -> None:
        self.status.success("Matched the accounts whose names are the same. Check them below.")
        self._update(rows)

    # ------------------------------------------------------------------ state

    def _update(self, rows: list[NominalRow]) -> None:
        """Show each account's mapping and whether it blocks sending; set Next."""
        if self.data is not None:
            self.data = NominalPageData(rows, self.data.remote_accounts)
        for row in rows:
            editor = self.editors.get(row.code)
            if editor is None:
                continue
            editor.row = row
            if isinstance(editor.chooser, QComboBox):
                self._show_choice(editor.chooser, row)
            if row.mapped:
                target = row.remote_name or row.remote_code
                editor.state.success(f"Matched to {target}")
            elif row.unmapped_uses:
                editor.state.error(f"Needed by {_uses(row.unmapped_uses)} to send")
            else:
                editor.state.plain("Not used by anything waiting")
                set_text_color(editor.state, muted_color(self.palette()))
        blocking = [r for r in rows if not r.mapped and r.unmapped_uses]
        if blocking:
            names = ", ".join(f"{r.name} ({r.code})" for r in blocking)
            self.needed.setText(
                f"Match these before going on; records waiting to be sent use them: {names}."
            )
            set_text_color(self.needed, error_color(self.palette()))
        else:
            self.needed.setText(
                "Every account that records waiting to be sent use is matched." if rows else ""
            )
            set_text_color(self.needed, success_color(self.palette()))
        suggestions = (
            suggest_matches(rows, self.data.remote_accounts)
            if self.data is not None and self.data.remote_accounts
            else {}
        )
        self.suggest_button.setVisible(bool(suggestions))
        self.suggest_button.setEnabled(True)
        self.suggest_button.setText(f"&Use suggested matches ({len(suggestions)})")
        self.set_complete(not blocking)

    # ------------------------------------------------------------------ adding

    def open_add_dialog(self, kind: AccountKind) -> None:
        self.add_dialog = AddAccountDialog(self, kind)
        self.add_dialog.added.connect(lambda: self.load())
        self.add_dialog.open()


class AddAccountDialog(QDialog):
    """Add one of our accounts: kind, code and name, checked in a worker."""

    added = Signal()

    def __init__(self, page: NominalPage, kind: AccountKind) -> None:
        super().__init__(page)
        self.page = page
        self.setWindowTitle("Add an account")
        self.kind = QComboBox()
        for each, (title, _word) in KIND_TITLES.items():
            self.kind.addItem(title.removesuffix(" accounts"), each)
        self.kind.setCurrentIndex(list(KIND_TITLES).index(kind))
        self.code = QLineEdit()
        self.code.setObjectName("code")
        self.code.setPlaceholderText("for example SALES-CALL")
        self.name = QLineEdit()
        self.name.setObjectName("name")
        self.name.setPlaceholderText("for example Sales – call-outs")
        self.status = StatusLine()
        form = QFormLayout()
        form.addRow("&Type:", self.kind)
        form.addRow("&Code:", self.code)
        form.addRow("&Name:", self.name)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)

    def save(self) -> None:
        kind = AccountKind(self.kind.currentData())
        code, name = self.code.text(), self.name.text()
        factory = self.page.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> str:
            return add_our_account(factory, kind, code, name)

        def saved(_code: str) -> None:
            self.added.emit()
            self.accept()

        self.buttons.setEnabled(False)
        self.status.busy("Saving…")

        def refused(message: str) -> None:
            self.buttons.setEnabled(True)
            self.status.error(message)

        self.page.context.run(work, name="add account", on_success=saved, on_failure=refused)
