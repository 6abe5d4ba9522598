"""Signing in to a cloud package from the Connect page (``kind="oauth"`` fields).

It drives :mod:`app.services.setup.signin` (see ``docs/signin.md``) from workers: start the
sign-in, open the package's page in the system browser, wait for the browser to come
back (or take the address the user pastes), then, when the sign-in reaches several
organisations, let the user pick one. Nothing here touches the network, the keyring or
the database on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.kit.style import wrapped_label
from app.ui.kit.widgets import StatusLine
from connectors.contract import Company, ConnectField, PackageInfo
from connectors.wording import count
from wizard_pages.context import Progress, WizardContext

#: The service module; a test may point this at a stand-in with the same functions.
SIGNIN_MODULE = "app.services.setup.signin"

Runner = Callable[..., Any]


def signin_service() -> Any:
    """``app.services.setup.signin``, imported when first needed (it pulls in httpx)."""
    import importlib

    return importlib.import_module(SIGNIN_MODULE)


class SignInPanel(QWidget):
    """A sign-in button, what is happening, the paste box and the organisation picker."""

    #: Signed in and an organisation is chosen; its name.
    signed_in = Signal(str)
    #: The chosen organisation answered (after a pick among several).
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
        self.signin: Any = None
        self._waiting: threading.Event | None = None
        self._pasting = False
        self._user_cancelled = False
        self.organisations: list[Any] = []

        self.button = QPushButton(field.label)
        self.button.setObjectName(f"signin-{field.key}")
        self.button.clicked.connect(self.start)
        self.status = StatusLine()
        self.status.plain(field.help or f"Opens {info.name}'s sign-in page in your web browser.")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.button)
        top.addWidget(self.status, 1)

        self.waiting = QWidget()
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.address.setObjectName("signinAddress")
        self.pasted = QLineEdit()
        self.pasted.setObjectName("pastedAddress")
        self.pasted.setPlaceholderText("the address your browser ended on, pasted here")
        self.paste_button = QPushButton("&Use this address")
        self.paste_button.clicked.connect(self.use_pasted)
        self.cancel_button = QPushButton("Cancel sign-in")
        self.cancel_button.clicked.connect(self.cancel)
        paste_row = QHBoxLayout()
        paste_row.addWidget(self.pasted, 1)
        paste_row.addWidget(self.paste_button)
        paste_row.addWidget(self.cancel_button)
        waiting_layout = QVBoxLayout(self.waiting)
        waiting_layout.setContentsMargins(0, 4, 0, 0)
        waiting_layout.addWidget(
            wrapped_label(
                f"Sign in on {info.name}'s page in your browser and allow access. If the "
                "browser did not open, copy this address into it:"
            )
        )
        waiting_layout.addWidget(self.address)
        waiting_layout.addWidget(
            wrapped_label(
                "If the browser says it cannot reach Ledgerlink after you allowed access, "
                "copy the address it shows and paste it here:"
            )
        )
        waiting_layout.addLayout(paste_row)
        self.waiting.setVisible(False)

        self.picker = QWidget()
        self.organisation = QComboBox()
        self.organisation.setObjectName("organisation")
        self.choose_button = QPushButton("Use this &organisation")
        self.choose_button.clicked.connect(self.choose)
        picker_row = QHBoxLayout(self.picker)
        picker_row.setContentsMargins(0, 4, 0, 0)
        picker_row.addWidget(QLabel("Organisation:"))
        picker_row.addWidget(self.organisation, 1)
        picker_row.addWidget(self.choose_button)
        self.picker.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.waiting)
        layout.addWidget(self.picker)

    # ------------------------------------------------------------------ status

    def show_status(self) -> None:
        """Say whether Ledgerlink is signed in already (keyring read, in a worker)."""
        paths, factory, key = self.context.paths, self.context.store.session_factory, self.info.key

        def work(_cancel: threading.Event, _progress: Progress) -> Any:
            return signin_service().sign_in_status(paths, factory, key)

        def shown(state: Any) -> None:
            if state.signed_in and state.organisation_name:
                self.status.success(
                    f"Signed in; sending to {state.organisation_name}. Sign in again to "
                    "change organisation."
                )
            elif state.signed_in:
                self.status.plain("Signed in. Sign in again to choose the organisation.")

        self.run(work, name="sign-in status", on_success=shown, on_failure=lambda _m: None)

    # ------------------------------------------------------------------ signing in

    def start(self) -> None:
        paths, factory, key = self.context.paths, self.context.store.session_factory, self.info.key

        def work(_cancel: threading.Event, _progress: Progress) -> Any:
            return signin_service().start_sign_in(paths, factory, key)

        self.close_signin()
        self.picker.setVisible(False)
        self.button.setEnabled(False)
        self.status.busy(f"Preparing to sign in to {self.info.name}…")
        self.changed.emit()
        self.run(work, name="start sign-in", on_success=self._started, on_failure=self._failed)

    def _started(self, signin: Any) -> None:
        self.signin = signin
        self.address.setText(signin.url)
        self.pasted.clear()
        self.waiting.setVisible(True)
        QDesktopServices.openUrl(QUrl(signin.url))
        self.status.busy(f"Waiting for you to sign in to {self.info.name} in your browser…")
        self._wait()

    def _wait(self) -> None:
        signin = self.signin

        def work(cancel: threading.Event, _progress: Progress) -> list[Any]:
            return list(signin.wait_for_browser(cancel))

        self._pasting = False
        task = self.run(
            work, name="wait for the browser", on_success=self._answered, on_failure=self._stopped
        )
        self._waiting = task.cancel_event

    def use_pasted(self) -> None:
        """Finish with the address the user pasted (the browser could not come back)."""
        text = self.pasted.text().strip()
        if not text or self.signin is None:
            self.status.error("Paste the whole address from your browser's address bar first.")
            return
        signin = self.signin
        self._pasting = True
        if self._waiting is not None:
            self._waiting.set()

        def work(_cancel: threading.Event, _progress: Progress) -> list[Any]:
            return list(signin.complete_with_pasted_address(text))

        self.status.busy("Finishing the sign-in…")
        self.run(work, name="pasted address", on_success=self._answered, on_failure=self._failed)

    def cancel(self) -> None:
        self._pasting = False
        self._user_cancelled = True
        if self._waiting is not None:
            self._waiting.set()

    def _stopped(self, message: str) -> None:
        """The wait ended without an answer: cancelled (by the user, or to use a pasted
        address instead), refused or timed out."""
        if self._pasting:
            return
        if self._user_cancelled:
            self._user_cancelled = False
            self.close_signin()
            self.button.setEnabled(True)
            self.status.plain("Sign-in cancelled. Press the button to start again.")
            return
        self._failed(message)

    def _failed(self, message: str) -> None:
        self.close_signin()
        self.button.setEnabled(True)
        self.status.error(message)

    def _answered(self, organisations: list[Any]) -> None:
        self.close_signin()
        self.button.setEnabled(True)
        self.organisations = organisations
        if not organisations:
            self.status.error(
                f"You are signed in, but this sign-in reaches no {self.info.name} "
                "organisation. Sign in again and allow access to one."
            )
            return
        if len(organisations) == 1:
            name = organisations[0].name
            self.context.choices.company_name = name
            self.status.success(f"Signed in to {name}. Now test the connection.")
            self.signed_in.emit(name)
            return
        self.organisation.clear()
        for organisation in organisations:
            self.organisation.addItem(organisation.name)
        self.picker.setVisible(True)
        self.status.plain(
            f"This sign-in reaches {count(len(organisations), 'organisation')}: choose the one "
            "Ledgerlink should send to."
        )

    def choose(self) -> None:
        index = self.organisation.currentIndex()
        if index < 0:
            return
        organisation = self.organisations[index]
        paths, factory, key = self.context.paths, self.context.store.session_factory, self.info.key

        def work(_cancel: threading.Event, _progress: Progress) -> Company:
            company: Company = signin_service().choose_organisation(
                paths, factory, key, organisation
            )
            return company

        def chosen(company: Company) -> None:
            self.picker.setVisible(False)
            self.status.success(f"Sending to {company.name}.")
            self.signed_in.emit(company.name)
            self.connected.emit(company)

        self.status.busy(f"Checking {organisation.name}…")
        self.run(work, name="choose organisation", on_success=chosen, on_failure=self._failed)

    def close_signin(self) -> None:
        """Stop listening for the browser (no I/O: safe on the GUI thread)."""
        if self._waiting is not None:
            self._waiting.set()
            self._waiting = None
        if self.signin is not None:
            self.signin.close()
            self.signin = None
        self.waiting.setVisible(False)
