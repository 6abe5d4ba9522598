"""Get started: choose the accounting package and the situation, in plain words."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.services.importing.files import job_record_count
from app.services.setup.choices import Situation, choose_package_and_situation
from app.services.setup.routing import Page
from app.ui.kit.style import muted_color, set_text_color, wrapped_label
from connectors.catalogue import PACKAGES
from connectors.contract import PackageKind
from connectors.registry import has_connector
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.import_files_dialog import ImportFilesDialog

KIND_WORDS = {
    PackageKind.DESKTOP: "desktop",
    PackageKind.CLOUD: "cloud",
    PackageKind.PRACTICE: "practice, built in",
}

#: Each situation: its choice (with a mnemonic) and what it means for the user.
SITUATIONS: dict[Situation, tuple[str, str]] = {
    Situation.NEW_TO_PACKAGE: (
        "&1  I use this system and I'm just starting with the accounting package",
        "There are no customers or suppliers in the package yet. Ledgerlink creates them "
        "there as it sends your invoices, credit notes and payments.",
    ),
    Situation.SIDE_BY_SIDE: (
        "&2  I've been using both side by side",
        "Both already hold customers and suppliers. You link ours to theirs once, so "
        "nothing is ever created twice.",
    ),
    Situation.PACKAGE_FIRST: (
        "&3  I used the accounting package first and I'm just starting with this system",
        "The package's customers and suppliers are imported here once, each linked to "
        "its record there; then you link the suppliers.",
    ),
}


class GetStartedPage(WizardPage):
    """Which package, and which of the three situations."""

    page_id = Page.GET_STARTED
    subtitle = (
        "Tell Ledgerlink which accounting package you use and how you have used it so far. "
        "The steps on the left follow your choice."
    )

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        #: The choices as the service last gave them; what is on screen is shown on top.
        self._stored = context.choices
        self.package_buttons: dict[str, QRadioButton] = {}
        self.package_notes: dict[str, QLabel] = {}
        self.package_group = QButtonGroup(self)
        packages_box = QGroupBox("Accounting &package")
        grid = QGridLayout(packages_box)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(0)
        for index, info in enumerate(PACKAGES):
            available = has_connector(info.key)
            button = QRadioButton(info.name)
            button.setObjectName(f"package-{info.key}")
            button.setEnabled(available)
            kind = KIND_WORDS[info.kind]
            note = QLabel(kind if available else f"{kind} · not available in this version")
            note.setContentsMargins(24, 0, 0, 0)
            set_text_color(note, muted_color(note.palette()))
            if not available:
                button.setToolTip(f"Ledgerlink cannot connect to {info.name} in this version.")
            row, column = divmod(index, 2)
            grid.addWidget(button, row * 2, column)
            grid.addWidget(note, row * 2 + 1, column)
            self.package_group.addButton(button)
            self.package_buttons[info.key] = button
            self.package_notes[info.key] = note
            button.toggled.connect(self._changed)

        self.situation_buttons: dict[Situation, QRadioButton] = {}
        self.situation_group = QButtonGroup(self)
        situations_box = QGroupBox("Your &situation")
        column_layout = QVBoxLayout(situations_box)
        for situation, (title, explanation) in SITUATIONS.items():
            button = QRadioButton(title)
            button.setObjectName(f"situation-{situation.value}")
            detail = wrapped_label(explanation, muted=True)
            detail.setContentsMargins(26, 0, 0, 4)
            detail.setBuddy(button)
            column_layout.addWidget(button)
            column_layout.addWidget(detail)
            self.situation_group.addButton(button)
            self.situation_buttons[situation] = button
            button.toggled.connect(self._changed)

        layout = QVBoxLayout(self.body)
        layout.addWidget(packages_box)
        layout.addWidget(situations_box)
        layout.addWidget(self._no_data_row())
        layout.addWidget(self.status)
        layout.addStretch(1)

    def _no_data_row(self) -> QWidget:
        """Shown while there are no job-system records yet: a way to import them."""
        self.no_data = QWidget()
        row = QHBoxLayout(self.no_data)
        row.setContentsMargins(0, 0, 0, 0)
        self.no_data_note = wrapped_label(
            "There are no records from your job system here yet. Import its CSV files "
            "now, or later from the dashboard."
        )
        self.import_button = QPushButton("&Import files…")
        self.import_button.clicked.connect(self.open_import)
        row.addWidget(self.no_data_note, 1)
        row.addWidget(self.import_button, 0)
        self.no_data.setVisible(False)
        return self.no_data

    def _count_job_records(self) -> None:
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> int:
            return job_record_count(factory)

        self.run(
            work,
            name="count job records",
            on_success=lambda n: self.no_data.setVisible(n == 0),
            on_failure=lambda _message: None,
        )

    def open_import(self) -> ImportFilesDialog:
        """Import the job system's files; the note goes once records are here."""
        dialog = ImportFilesDialog(self.context.store, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.imported.connect(lambda _result: self._count_job_records())
        dialog.show()
        self.import_dialog = dialog
        return dialog

    def initializePage(self) -> None:
        self.begin()
        choices = self._stored = self.context.choices
        if choices.package in self.package_buttons and has_connector(choices.package):
            self.package_buttons[choices.package].setChecked(True)
        if choices.situation is not None:
            self.situation_buttons[choices.situation].setChecked(True)
        self._changed()
        self._count_job_records()

    def chosen_package(self) -> str | None:
        for key, button in self.package_buttons.items():
            if button.isChecked():
                return key
        return None

    def chosen_situation(self) -> Situation | None:
        for situation, button in self.situation_buttons.items():
            if button.isChecked():
                return situation
        return None

    def _changed(self) -> None:
        """Show the choice in the shared state at once (so the side panel and the routing
        follow it) by the service's own rule; it is written when the user moves on."""
        choices = self.context.choices
        package, situation = self.chosen_package(), self.chosen_situation()
        changed = (package, situation) != (choices.package, choices.situation)
        if changed:
            self.context.choices = self._stored.after_choosing(
                package, situation or self._stored.situation
            )
            self.context.choices_changed.emit()
        if package is None:
            self.status.plain("Choose the accounting package you use.")
        elif situation is None:
            self.status.plain("Choose the situation that describes you.")
        else:
            self.status.clear()
        self.set_complete(package is not None and situation is not None)

    def validatePage(self) -> bool:
        package, situation = self.chosen_package(), self.chosen_situation()
        if package is None or situation is None:
            return False
        # The next page depends on the situation now, before the service has written it;
        # the same rule the service applies gives the choices it will return.
        self.context.choices = self._stored = self._stored.after_choosing(package, situation)
        self.context.change(
            "save package and situation",
            lambda store: choose_package_and_situation(store, package, situation),
        )
        return True
