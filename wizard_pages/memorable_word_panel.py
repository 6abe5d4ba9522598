"""Signing in to KashFlow from the Connect page (``kind="memorable_word"`` fields).

Step 1 takes the user name and password (or the password remembered in the keyring)
and asks KashFlow which characters of the memorable word it wants; step 2 shows one
box per character asked for, by position ("character 2"), never a box for the whole
word. "Remember my password" keeps the password in the system keyring; the memorable
word is never kept. Both steps run in workers through
:mod:`app.services.setup.password_signin`; nothing here touches the network, the
keyring or the database on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.kit.style import wrapped_label
from app.ui.kit.widgets import StatusLine
from connectors.contract import Company, ConnectField, PackageInfo
from wizard_pages.context import Progress, WizardContext

#: The service module; a test may point this at a stand-in with the same functions.
SERVICE_MODULE = "app.services.setup.password_signin"

Runner = Callable[..., Any]


def password_service() -> Any:
    import importlib

    return importlib.import_module(SERVICE_MODULE)


class MemorableWordPanel(QWidget):
    """User name, password, "remember", then the memorable word's characters by position."""

    #: Signed in; the company reached.
    connected = Signal(object)
    #: Something the connection depends on changed (test again).
    changed = Signal()

    def __init__(
        self, context: WizardContext, info: PackageInfo, field: ConnectField, run: Runner
    ) -> None:
        super().__init__()
        self.context = context
        self.info = info
        self.run = run
        self.attempt: Any = None
        self.remembered = False

        self.username = QLineEdit(context.choices.package_settings.get("username", ""))
        self.username.setObjectName("kashflowUsername")
        self.password = QLineEdit()
        self.password.setObjectName("kashflowPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("&Remember my password in this computer's keyring")
        self.remember.setObjectName("rememberPassword")
        self.continue_button = QPushButton(field.label)
        self.continue_button.setObjectName(f"signin-{field.key}")
        self.continue_button.clicked.connect(self.start)
        self.status = StatusLine()
        self.status.plain(
            field.help
            or f"{info.name} then asks for a few characters of your memorable word, by position."
        )
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(f"{info.name} user name:", self.username)
        form.addRow(f"{info.name} password:", self.password)
        form.addRow("", self.remember)

        self.characters_host = QWidget()
        self.characters_label = wrapped_label()
        self.characters_form = QFormLayout()
        self.characters: dict[int, QLineEdit] = {}
        self.sign_in_button = QPushButton("&Sign in")
        self.sign_in_button.setObjectName("kashflowFinish")
        self.sign_in_button.clicked.connect(self.finish)
        characters_layout = QVBoxLayout(self.characters_host)
        characters_layout.setContentsMargins(0, 4, 0, 0)
        characters_layout.addWidget(self.characters_label)
        characters_layout.addLayout(self.characters_form)
        characters_layout.addWidget(self.sign_in_button)
        self.characters_host.setVisible(False)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.continue_button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(top)
        layout.addWidget(self.characters_host)
        for edit in (self.username, self.password):
            edit.textEdited.connect(self._edited)

    # ------------------------------------------------------------------ status

    def show_status(self) -> None:
        """Whether a session is open and a password remembered (keyring: a worker)."""
        paths, factory, key = self.context.paths, self.context.store.session_factory, self.info.key

        def work(_cancel: threading.Event, _progress: Progress) -> Any:
            return password_service().password_sign_in_status(paths, factory, key)

        def shown(state: Any) -> None:
            self.remembered = bool(state.remembers_password)
            if state.username and not self.username.text():
                self.username.setText(state.username)
            if self.remembered:
                self.remember.setChecked(True)
                self.password.setPlaceholderText("remembered in the keyring: leave empty")
            if state.signed_in:
                self.status.success(
                    f"Signed in to {self.info.name}. If a send stops with 'sign in again', "
                    "sign in here."
                )

        self.run(work, name="sign-in status", on_success=shown, on_failure=lambda _m: None)

    def _edited(self) -> None:
        self.characters_host.setVisible(False)
        self.changed.emit()

    # ------------------------------------------------------------------ step 1

    def start(self) -> None:
        username = self.username.text().strip()
        password = self.password.text()
        if not username:
            self.status.error(f"Type your {self.info.name} user name first.")
            return
        if not password and not self.remembered:
            self.status.error(f"Type your {self.info.name} password first.")
            return
        paths, factory, key = self.context.paths, self.context.store.session_factory, self.info.key

        def work(_cancel: threading.Event, _progress: Progress) -> Any:
            return password_service().start_password_sign_in(
                paths, factory, key, username, password
            )

        self.close_signin()
        self.continue_button.setEnabled(False)
        self.status.busy(f"Checking your user name and password with {self.info.name}…")
        self.changed.emit()
        self.run(work, name="password sign-in", on_success=self._asked, on_failure=self._failed)

    def _asked(self, attempt: Any) -> None:
        self.attempt = attempt
        self.continue_button.setEnabled(True)
        while self.characters_form.rowCount():
            self.characters_form.removeRow(0)
        self.characters.clear()
        for position in attempt.challenge.positions:
            edit = QLineEdit()
            edit.setObjectName(f"character-{position}")
            edit.setMaxLength(1)
            edit.setMaximumWidth(48)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            self.characters[position] = edit
            self.characters_form.addRow(f"Character {position}:", edit)
        self.characters_label.setText(
            f"{self.info.name} asks for {attempt.challenge.describe()} of your memorable word. "
            "Type just those characters, one in each box (capitals do not matter)."
        )
        self.characters_host.setVisible(True)
        self.status.plain("Now the characters of your memorable word.")
        if self.characters:
            next(iter(self.characters.values())).setFocus()

    # ------------------------------------------------------------------ step 2

    def finish(self) -> None:
        attempt = self.attempt
        if attempt is None:
            return
        characters = {p: edit.text() for p, edit in self.characters.items()}
        empty = [p for p, c in characters.items() if len(c) != 1]
        if empty:
            self.status.error(
                "Type one character in each box ("
                + ", ".join(f"character {p}" for p in empty)
                + " is empty)."
            )
            return
        remember = self.remember.isChecked()

        def work(_cancel: threading.Event, _progress: Progress) -> Company:
            company: Company = attempt.finish(characters, remember=remember)
            return company

        self.sign_in_button.setEnabled(False)
        self.status.busy(f"Signing in to {self.info.name}…")
        self.run(work, name="memorable word", on_success=self._signed_in, on_failure=self._failed)

    def _signed_in(self, company: Company) -> None:
        self.close_signin()
        self.sign_in_button.setEnabled(True)
        self.characters_host.setVisible(False)
        self.password.clear()
        for edit in self.characters.values():
            edit.clear()
        self.remembered = self.remember.isChecked()
        self.status.success(f"Signed in to {company.name}.")
        self.connected.emit(company)

    def _failed(self, message: str) -> None:
        self.continue_button.setEnabled(True)
        self.sign_in_button.setEnabled(True)
        self.characters_host.setVisible(False)
        for edit in self.characters.values():
            edit.clear()
        self.close_signin()
        self.status.error(message)

    def close_signin(self) -> None:
        attempt, self.attempt = self.attempt, None
        if attempt is not None:
            attempt.close()
