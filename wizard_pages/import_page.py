"""Import from the package (situation 3): its customers and suppliers come here once.

The page reads the package in a worker and shows how many it holds and every one of
them (marked new or already here). A contact the package gives no role (FreeAgent: no
invoices or bills yet) has its Type chosen in the list, never guessed. *Import* runs
with a progress bar and a cancel; each imported contact is linked to its source.
Running it again adds only new ones.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.importing.from_package import (
    ImportProgress,
    PackageContactsPreview,
    PackageImportReport,
    import_package_contacts,
    preview_package_contacts,
)
from app.services.setup.routing import Page
from app.ui.kit.style import wrapped_label
from app.ui.kit.tables import set_text_columns
from connectors.contract import ContactRole
from connectors.wording import count as count_of
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.models import TYPE_CHOICES, PackageContactModel


def _n(count: int, noun: str) -> str:
    return count_of(count, noun)


class TypeChoiceDelegate(QStyledItemDelegate):
    """A drop-down of :data:`~wizard_pages.models.TYPE_CHOICES` for the Type of a
    contact the package gives no role."""

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        combo = QComboBox(parent)
        combo.addItems([word for word, _ in TYPE_CHOICES])
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(
        self,
        editor: QWidget,
        model: QAbstractItemModel,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class ImportPage(WizardPage):
    """Shows what the package holds, imports it with progress and cancel."""

    page_id = Page.IMPORT_FROM_PACKAGE

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        self.summary = wrapped_label()
        self.summary.setObjectName("importSummary")
        self.model = PackageContactModel()
        self.model.dataChanged.connect(self._type_chosen)
        self.table = QTableView()
        self.table.setModel(self.model)
        # Only a contact with no role in the package is editable (its Type).
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.type_delegate = TypeChoiceDelegate(self.table)
        self.table.setItemDelegateForColumn(PackageContactModel.TYPE, self.type_delegate)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # Widths in characters; a value cut short is whole in its tool-tip.
        set_text_columns(self.table, self.fontMetrics(), (9, 24, 12, 9, 26, 13, 34))
        # "Here already?" decides what the import does: beside the name, not off screen.
        self.table.horizontalHeader().moveSection(len(PackageContactModel.COLUMNS) - 1, 2)
        self.import_button = QPushButton("&Import them")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button = QPushButton("&Cancel import")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.skipped = wrapped_label()
        self.skipped.setVisible(False)
        for fixed in (self.import_button, self.cancel_button):
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        actions = QHBoxLayout()
        actions.addWidget(self.import_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.progress, 1)
        actions.addStretch(0)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.skipped)
        self._cancel: threading.Event | None = None
        self.report: PackageImportReport | None = None
        #: What the user sees (and imports): an import refuses if links changed since.
        self.preview: PackageContactsPreview | None = None

    def initializePage(self) -> None:
        self.begin()
        self.setSubTitle(
            f"Bring the customers and suppliers in {self.context.package_name} into "
            "Ledgerlink once, each linked to its record there."
        )
        self.set_complete(False)
        self.report = None
        self.skipped.setVisible(False)
        self.load_preview()

    def load_preview(self, *, quiet: bool = False) -> None:
        """Read the package's contacts; ``quiet`` keeps the status line (after an import)."""
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory

        def work(_cancel: threading.Event, _progress: Progress) -> PackageContactsPreview:
            with connect() as connector:
                return preview_package_contacts(factory, connector)

        if not quiet:
            self.import_button.setEnabled(False)
            self.status.busy(f"Reading the customers and suppliers in {self.context.package_name}…")
        self.run(work, name="read package contacts", on_success=self._previewed)

    def _previewed(self, preview: PackageContactsPreview) -> None:
        self.preview = preview
        self.model.set_rows(preview.rows)
        customers = preview.count(ContactRole.CUSTOMER)
        suppliers = preview.count(ContactRole.SUPPLIER)
        self.summary.setText(
            f"{preview.package_name} holds {_n(customers, 'customer')} and "
            f"{_n(suppliers, 'supplier')}: {preview.new:,} new here, "
            f"{preview.already_here:,} imported before."
        )
        if self.report is not None:
            stopped = self.report.cancelled or bool(self.report.refused)
            self.import_button.setEnabled(stopped and preview.new > 0)
            return
        if preview.new:
            self.import_button.setEnabled(True)
            self._show_what_to_press(preview)
        elif preview.rows:
            self.status.success(
                f"All {_n(len(preview.rows), 'contact')} are already here from an earlier "
                "import; nothing new to import."
            )
            self.set_complete(True)
        else:
            self.status.plain(
                f"{preview.package_name} has no customers or suppliers yet, so there is "
                "nothing to import. You can carry on."
            )
            self.set_complete(True)

    def _show_what_to_press(self, preview: PackageContactsPreview) -> None:
        """The status line before an import, counting the contacts whose type is still
        to choose as the user chooses them."""
        undecided = self.model.undecided()
        choose = ""
        if undecided:
            choose = (
                f" {_n(undecided, 'contact')} in {preview.package_name} "
                f"{'is' if undecided == 1 else 'are'} neither a customer nor a "
                "supplier there yet: double-click its Type to choose; one left on "
                "“Choose…” is not imported."
            )
        self.status.plain(
            f"Press Import them to bring in the {_n(preview.new, 'new contact')}. "
            "It is a one-time step: importing again later adds only contacts that are new." + choose
        )

    def _type_chosen(self) -> None:
        if self.preview is not None and self.report is None and self.preview.new:
            self._show_what_to_press(self.preview)

    # ------------------------------------------------------------------ importing

    def start_import(self) -> None:
        connect = self.context.connector_factory()
        factory = self.context.store.session_factory
        preview = self.preview

        chosen = self.model.chosen()

        def work(cancel: threading.Event, progress: Progress) -> PackageImportReport:
            with connect() as connector:
                return import_package_contacts(
                    factory,
                    connector,
                    cancel=cancel,
                    progress=progress,
                    preview=preview,
                    chosen=chosen,
                )

        self.import_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.busy("Importing…")
        task = self.run(
            work,
            name="import package contacts",
            on_success=self._imported,
            on_failure=self._import_failed,
            on_progress=self._progress,
        )
        self._cancel = task.cancel_event

    def cancel_import(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.status.busy("Stopping after the contacts being saved now…")

    def _progress(self, step: ImportProgress) -> None:
        self.progress.setRange(0, max(step.total, 1))
        self.progress.setValue(step.done)
        if step.current:
            self.status.busy(f"Importing {step.current}… ({step.done:,} of {step.total:,})")

    def _finish(self) -> None:
        self._cancel = None
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)

    def _imported(self, report: PackageImportReport) -> None:
        self._finish()
        self.report = report
        stopped = report.cancelled or bool(report.refused)
        if stopped:
            self.status.error(report.describe())
        else:
            self.status.success(report.describe())
        listed = [*report.skipped, *report.undecided]
        if listed:
            self.skipped.setText("\n".join(f"• {line}" for line in listed))
            self.skipped.setVisible(True)
        self.set_complete(not stopped)
        self.load_preview(quiet=True)

    def _import_failed(self, message: str) -> None:
        self._finish()
        self.report = None
        self.import_button.setEnabled(True)
        self.status.error(f"The import stopped: {message}. What was imported stays.")
