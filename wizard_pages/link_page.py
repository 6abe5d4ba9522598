"""Link customers / Link suppliers: our contacts matched to the package's, once.

The link grid (its own issue, in :mod:`wizard_pages.link_grid`) is embedded with
:meth:`LinkPage.set_grid`; until then the page shows how many are linked and lets
support staff export and import the links as CSV (the same file as
``ledgerlink links export|import``).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.linking.counts import ContactKind, LinkCounts, count_links, export_links_file
from app.services.linking.links_csv import LinksImportReport, import_links
from app.services.setup.routing import Page
from app.ui.kit.style import heading_font, wrapped_label
from connectors.contract import ContactRole
from wizard_pages.base import WizardPage
from wizard_pages.context import Progress, WizardContext
from wizard_pages.link_grid import LinkWorkbench

WORDS = {ContactKind.CUSTOMER: "customers", ContactKind.SUPPLIER: "suppliers"}


class LinkPage(WizardPage):
    """Counts of linked and unlinked contacts of one kind, and room for the link grid."""

    kind: ContactKind

    def __init__(self, context: WizardContext) -> None:
        super().__init__(context)
        self.counts: LinkCounts | None = None
        self.workbench: LinkWorkbench | None = None
        self._workbench_package = ""
        self._next_after_save = False
        #: Our contact to select once the grid has loaded (a failure's fix), or None.
        self._focus: int | None = None
        self.numbers: dict[str, QLabel] = {}
        counts_box = QFrame()
        counts_box.setFrameShape(QFrame.Shape.StyledPanel)
        # One line (each number beside its title): the height goes to the link grid.
        grid = QGridLayout(counts_box)
        grid.setContentsMargins(9, 4, 9, 4)
        for column, (key, title) in enumerate(
            (("linked", "Linked"), ("unlinked", "Not linked yet"), ("total", "Total"))
        ):
            number = QLabel("–")
            number.setObjectName(f"count-{key}")
            number.setFont(heading_font(self.font(), 1.4))
            grid.addWidget(number, 0, 2 * column, Qt.AlignmentFlag.AlignBaseline)
            grid.addWidget(QLabel(title), 0, 2 * column + 1, Qt.AlignmentFlag.AlignBaseline)
            grid.setColumnStretch(2 * column + 1, 1)
            self.numbers[key] = number
        self.explain = wrapped_label()

        #: Where the link grid goes; :meth:`set_grid` replaces what is in it.
        self.grid_host = QWidget()
        self.grid_host.setObjectName("gridHost")
        self.grid_layout = QVBoxLayout(self.grid_host)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.placeholder = self._placeholder()
        self.grid_layout.addWidget(self.placeholder)

        layout = QVBoxLayout(self.body)
        layout.addWidget(counts_box)
        layout.addWidget(self.explain)
        layout.addWidget(self.grid_host, 1)
        layout.addWidget(self.status)

    def _placeholder(self) -> QWidget:
        host = QWidget()
        self.csv_text = wrapped_label()
        self.export_button = QPushButton("E&xport links to a CSV file…")
        self.export_button.clicked.connect(self.export_csv)
        self.import_button = QPushButton("Import &links from a CSV file…")
        self.import_button.clicked.connect(self.import_csv)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.csv_text)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return host

    def set_grid(self, widget: QWidget) -> None:
        """Show ``widget`` (the link grid) above the CSV buttons."""
        self.csv_text.setVisible(False)
        self.grid_layout.insertWidget(0, widget, 1)

    def _ensure_workbench(self) -> None:
        """One link grid per page and package; a new one if the package changed."""
        info = self.context.info
        if info is None:
            return
        if self.workbench is not None and self._workbench_package == info.key:
            self.workbench.load()
            return
        if self.workbench is not None:
            self.grid_layout.removeWidget(self.workbench)
            self.workbench.deleteLater()
        self.workbench = LinkWorkbench(
            self.context.store.session_factory,
            self.context.connector_factory(),
            ContactRole(self.kind.value),
            info,
        )
        self.workbench.saved.connect(self._grid_saved)
        self.workbench.loaded.connect(self._apply_focus)
        self.workbench.counts_changed.connect(self._show_numbers)
        self._workbench_package = info.key
        self.set_grid(self.workbench)
        self.workbench.load()

    def focus_contact(self, contact_id: int) -> None:
        """Select our contact ``contact_id`` in the link grid, now or once it has loaded
        (the dashboard's "Fix…" for a contact to choose)."""
        self._focus = contact_id
        self._apply_focus()

    def _apply_focus(self) -> None:
        workbench, wanted = self.workbench, self._focus
        if workbench is None or wanted is None or workbench.busy or workbench.book is None:
            return
        self._focus = None
        for row, contact in enumerate(workbench.book.ours):
            if contact.id == wanted:
                workbench.select_record(row)
                workbench.view.setFocus()
                return

    def _grid_saved(self, _outcome: object) -> None:
        self.load()
        if self._next_after_save:
            self._next_after_save = False
            wizard = self.wizard()
            if wizard is not None:
                wizard.next()

    def validatePage(self) -> bool:
        """Unsaved links are saved (in a worker) or dropped, as the user says."""
        workbench = self.workbench
        if workbench is None or not workbench.dirty:
            return super().validatePage()
        answer = QMessageBox.question(
            self,
            "Save the links?",
            "You changed links that are not saved yet. Save them before going on?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Discard:
            return super().validatePage()
        self._next_after_save = workbench.save()
        return False

    # ------------------------------------------------------------------ loading

    def initializePage(self) -> None:
        self.begin()
        words = WORDS[self.kind]
        package = self.context.package_name
        self.setSubTitle(
            f"Link each of our {words} that {package} already has to its record there, so "
            "sending never creates a duplicate."
        )
        what = (
            f"its invoices, credit notes and payments go to the record {package} already has"
            if self.kind is ContactKind.CUSTOMER
            else f"the record {package} already has is used"
        )
        self.explain.setText(
            f"A linked {words[:-1]} is never created again in {package}: {what}. Unlinked "
            f"{words} are created in {package} when they are first sent."
        )
        self.csv_text.setText(
            f"Support staff can link many at once: export the links, fill in the "
            f"package_ref column with each {words[:-1]}'s {package} reference (or the "
            "web address of the record), and import the file. The Help button says where "
            "to find the reference."
        )
        # Linking is never compulsory: unlinked contacts are created when sent.
        self.set_complete(True)
        self.load()
        self._ensure_workbench()

    def load(self) -> None:
        factory = self.context.store.session_factory
        package = self.context.choices.package or ""
        kind = self.kind

        def work(_cancel: threading.Event, _progress: Progress) -> LinkCounts:
            return count_links(factory, package, kind)

        self.run(work, name="count links", on_success=self._counted)

    def _counted(self, counts: LinkCounts) -> None:
        self.counts = counts
        workbench = self.workbench
        if workbench is not None and workbench.book is not None and workbench.dirty:
            return  # the grid's own numbers include what is not saved yet
        self._show_numbers(counts.linked, counts.total)

    def _show_numbers(self, linked: int, total: int) -> None:
        """The counts as they stand, changing as links change, saved or not."""
        self.numbers["linked"].setText(f"{linked:,}")
        self.numbers["unlinked"].setText(f"{total - linked:,}")
        self.numbers["total"].setText(f"{total:,}")

    # ------------------------------------------------------------------ CSV

    def export_csv(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, "Export links", str(Path.home() / "links.csv"), "CSV files (*.csv)"
        )
        if not name:
            return
        path = Path(name)
        factory = self.context.store.session_factory
        package = self.context.choices.package or ""

        def work(_cancel: threading.Event, _progress: Progress) -> int:
            return export_links_file(factory, package, path)

        self.run(
            work,
            name="export links",
            on_success=lambda rows: self.status.success(f"Wrote {rows:,} contacts to {path}."),
        )

    def import_csv(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, "Import links", str(Path.home()), "CSV files (*.csv)"
        )
        if not name:
            return
        path = Path(name)
        factory = self.context.store.session_factory
        info = self.context.info
        assert info is not None
        connect = self.context.connector_factory()

        def work(_cancel: threading.Event, _progress: Progress) -> LinksImportReport:
            # With the connector, references are checked against the package (and its
            # web addresses looked up where they carry a different number).
            return import_links(factory, info, path, actor="user", connector_factory=connect)

        self.status.busy(f"Importing links from {path.name}…")
        self.run(work, name="import links", on_success=self._links_imported)

    def _links_imported(self, report: LinksImportReport) -> None:
        if report.errors:
            shown = report.errors[:8]
            more = len(report.errors) - len(shown)
            self.status.error(
                "Nothing was linked; the file has problems:\n"
                + "\n".join(shown)
                + (f"\n…and {more} more." if more else "")
            )
            return
        text = (
            f"Linked {report.linked:,}, unlinked {report.unlinked:,}, "
            f"unchanged {report.unchanged:,}."
        )
        if report.warnings:
            text += " " + " ".join(report.warnings[:3])
        self.status.success(text)
        self.load()


class LinkCustomersPage(LinkPage):
    page_id = Page.LINK_CUSTOMERS
    kind = ContactKind.CUSTOMER


class LinkSuppliersPage(LinkPage):
    page_id = Page.LINK_SUPPLIERS
    kind = ContactKind.SUPPLIER
