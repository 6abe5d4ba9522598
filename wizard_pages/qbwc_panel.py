"""Pairing with QuickBooks Desktop's Web Connector, on the Connect page (``kind="qbwc"``).

The user sets the Web Connector password (kept in the keyring), saves the ``.qwc`` file
and adds it in the Web Connector with the steps shown. The panel then waits for the
Web Connector's first poll, showing when it last called, and reports the company once
QuickBooks' lists have arrived. Everything that touches the keyring, the database, a
file or the service runs in a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.kit.style import wrapped_label
from app.ui.kit.widgets import StatusLine
from connectors.contract import Company, ConnectField, PackageInfo
from wizard_pages.context import Progress, WizardContext

Runner = Callable[..., Any]
#: How often the panel looks for the Web Connector's poll (milliseconds).
REFRESH_MS = 5000

STEPS = (
    "1. Set a password below and save the Web Connector file (.qwc).",
    "2. Open your company file in QuickBooks Desktop, as its administrator.",
    "3. Start the QuickBooks Web Connector (in QuickBooks: File > Update Web Services), "
    "choose Add an application and open the .qwc file; allow access when QuickBooks asks.",
    "4. Type the same password in the Web Connector's Password column, tick Ledgerlink and "
    "press Update Selected. It then runs every 15 minutes while QuickBooks is open.",
)


class QbwcPanel(QWidget):
    """Password, the .qwc file, the steps, and "waiting for the Web Connector"."""

    #: QuickBooks' lists have arrived; the company reached.
    connected = Signal(object)
    #: The pairing changed (test again).
    changed = Signal()

    def __init__(
        self, context: WizardContext, info: PackageInfo, field: ConnectField, run: Runner
    ) -> None:
        super().__init__()
        self.context = context
        self.info = info
        self.run = run
        self.username = QLineEdit("ledgerlink")
        self.username.setObjectName("qbwc-username")
        self.password = QLineEdit()
        self.password.setObjectName("qbwc-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("at least 8 characters; kept in your system's keyring")
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setValue(8438)
        self.save_button = QPushButton("&Save the Web Connector file…")
        self.save_button.setObjectName("qbwc-save")
        self.save_button.clicked.connect(self.choose_file)
        self.read_button = QPushButton("&Read QuickBooks' lists again")
        self.read_button.clicked.connect(self.read_again)
        self.steps = wrapped_label("\n".join(STEPS))
        self.status = StatusLine()
        self.status.plain("Not paired with the Web Connector yet.")

        form = QFormLayout()
        form.addRow("Web Connector user name:", self.username)
        form.addRow("Web Connector password:", self.password)
        form.addRow("Port on this computer:", self.port)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.read_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.steps)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self._refreshing = False
        self._reported = False
        self.timer.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    # ------------------------------------------------------------------ pairing

    def choose_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the Web Connector file", "Ledgerlink.qwc", "Web Connector file (*.qwc)"
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Keep the password and write the .qwc file (in a worker), then start the
        service so the Web Connector can reach it."""
        password = self.password.text()
        username = self.username.text().strip()
        port = self.port.value()
        store = self.context.store

        def work(_cancel: threading.Event, _progress: Progress) -> str:
            from app.services.qbwc import hosting

            return hosting.pair_and_serve(
                store, path, username=username, port=port, password=password
            )

        def saved(url: str) -> None:
            self.password.clear()
            self.save_button.setEnabled(True)
            self._reported = False
            self.status.success(
                f"Saved {path.name}. Ledgerlink is listening at {url}; add the file in the "
                "Web Connector (steps above). Waiting for the Web Connector…"
            )
            self.changed.emit()

        def failed(message: str) -> None:
            self.save_button.setEnabled(True)
            self.status.error(message)

        self.save_button.setEnabled(False)
        self.status.busy("Saving the Web Connector file…")
        self.run(work, name="save qwc file", on_success=saved, on_failure=failed)

    def read_again(self) -> None:
        store = self.context.store

        def work(_cancel: threading.Event, _progress: Progress) -> None:
            from app.services.qbwc.service import request_lists

            with store.session_factory.begin() as session:
                request_lists(session)

        self._reported = False
        self.run(work, name="read lists again", on_success=lambda _r: self.refresh())

    # ------------------------------------------------------------------ waiting

    def refresh(self) -> None:
        """Look (in a worker) at what the Web Connector has done."""
        if self._refreshing or not self.isVisible():
            return
        self._refreshing = True
        store = self.context.store

        def work(_cancel: threading.Event, _progress: Progress) -> tuple[Any, Company | None]:
            from app.services.qbwc.status import web_connector_status
            from connectors.quickbooks_desktop import lists

            with store.session_factory() as session:
                state = web_connector_status(session, store.paths.root)
            known = lists.load(store.paths.root)
            company = None
            if known.read_at and not state.waiting_for_lists:
                company = Company(known.company_file or known.company_name, known.company_name)
            return state, company

        def done(result: tuple[Any, Company | None]) -> None:
            self._refreshing = False
            state, company = result
            if not state.paired:
                return
            if state.waiting_for_lists:
                self.status.busy(f"Waiting for the Web Connector. {state.sentence()}")
                return
            self.status.success(f"QuickBooks' lists have arrived. {state.sentence()}")
            if company is not None and not self._reported:
                self._reported = True
                self.connected.emit(company)

        def failed(message: str) -> None:
            self._refreshing = False
            self.status.error(message)

        self.run(work, name="web connector status", on_success=done, on_failure=failed)

    def stop(self) -> None:
        self.timer.stop()
