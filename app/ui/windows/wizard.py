"""The set-up wizard: its pages, the side panel, help and the routing.

``nextId`` asks :func:`app.services.setup.routing.next_page` (or
:func:`~app.services.setup.routing.next_in` when a dashboard quick link opened just
some pages). The current page is stored as it changes, so closing midway and opening
again resumes there. Finishing the last page marks set-up complete.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget, QWizard

from app.services.setup.choices import finish_setup, remember_wizard_page
from app.services.setup.routing import (
    TITLES,
    WIZARD_PAGES,
    Page,
    next_in,
    next_page,
    steps,
)
from wizard_pages.base import WizardPage
from wizard_pages.connect_page import ConnectPage
from wizard_pages.context import WizardContext
from wizard_pages.get_started_page import GetStartedPage
from wizard_pages.help import HelpDialog
from wizard_pages.import_page import ImportPage
from wizard_pages.link_page import LinkCustomersPage, LinkSuppliersPage
from wizard_pages.nominal_page import NominalPage
from wizard_pages.review_page import ReviewPage
from wizard_pages.side_panel import StepsPanel
from wizard_pages.sync_page import SyncPage

PAGE_CLASSES: dict[Page, type[WizardPage]] = {
    Page.GET_STARTED: GetStartedPage,
    Page.CONNECT: ConnectPage,
    Page.IMPORT_FROM_PACKAGE: ImportPage,
    Page.NOMINAL_ACCOUNTS: NominalPage,
    Page.LINK_CUSTOMERS: LinkCustomersPage,
    Page.LINK_SUPPLIERS: LinkSuppliersPage,
    Page.REVIEW_AND_SEND: ReviewPage,
    Page.SYNC: SyncPage,
}
#: QWizard's integer page ids.
PAGE_IDS: dict[Page, int] = {page: number for number, page in enumerate(WIZARD_PAGES)}
PAGES_BY_ID: dict[int, Page] = {number: page for page, number in PAGE_IDS.items()}


class SetupWizard(QWizard):
    """The wizard, embedded in the main window (not a separate dialog)."""

    #: The user finished (Finish or Done); set-up is marked complete first when the
    #: whole route was followed.
    completed = Signal()
    #: The user closed the wizard without finishing (what they chose is kept).
    closed = Signal()

    def __init__(
        self,
        context: WizardContext,
        start: Page = Page.GET_STARTED,
        only: tuple[Page, ...] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setObjectName("setupWizard")
        self.context = context
        self.only = only
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setTitleFormat(Qt.TextFormat.RichText)
        self.setSubTitleFormat(Qt.TextFormat.PlainText)
        self.setOption(QWizard.WizardOption.HaveHelpButton, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.HelpButton, "&Help")
        self.setButtonText(QWizard.WizardButton.BackButton, "< &Back")
        self.setButtonText(QWizard.WizardButton.NextButton, "&Next >")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Done" if only else "&Finish set-up")
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.setToolTip(
            "Close the wizard (Esc). What you have chosen is kept."
            if only
            else "Close the wizard (Esc). What you have chosen is kept, and the wizard "
            "opens here next time."
        )
        self.side_panel = StepsPanel()
        self.side_panel.step_chosen.connect(self.go_to)
        self.setSideWidget(self.side_panel)
        self.pages: dict[Page, WizardPage] = {}
        for page in only or WIZARD_PAGES:
            widget = PAGE_CLASSES[page](context)
            self.pages[page] = widget
            self.setPage(PAGE_IDS[page], widget)
        self.setStartId(PAGE_IDS[start])
        self.help_dialog: HelpDialog | None = None
        self.helpRequested.connect(self.show_help)
        self.f1 = QShortcut(QKeySequence(Qt.Key.Key_F1), self)
        self.f1.activated.connect(self.show_help)
        self.currentIdChanged.connect(self._page_changed)
        context.choices_changed.connect(self._refresh_side_panel)
        context.save_failed.connect(self._save_failed)

    # ------------------------------------------------------------------ routing

    def current_page(self) -> Page | None:
        return PAGES_BY_ID.get(self.currentId())

    def nextId(self) -> int:
        current = self.current_page()
        if current is None:
            return -1
        try:
            if self.only:
                following = next_in(self.only, current)
            else:
                following = next_page(self.context.choices.situation, current)
        except ValueError:
            return -1
        return -1 if following is None else PAGE_IDS[following]

    def route(self) -> tuple[Page, ...]:
        """The pages this wizard walks through, for the side panel."""
        return self.only or steps(self.context.choices.situation)

    def go_to(self, name: str) -> None:
        """Jump back to a passed step (from the side panel)."""
        page = Page(name)
        if page not in self.pages:
            return
        self.setStartId(PAGE_IDS[page])
        self.restart()

    def _page_changed(self, page_id: int) -> None:
        page = PAGES_BY_ID.get(page_id)
        if page is None:
            return
        self._refresh_side_panel()
        if self.only is None:
            self.context.change(
                "save wizard page", lambda store: remember_wizard_page(store, page.value)
            )

    def _refresh_side_panel(self) -> None:
        choices = self.context.choices
        note = "" if choices.situation or self.only else "Choose a situation to see every step."
        self.side_panel.show_steps(self.route(), self.current_page(), note=note)
        info = self.context.info
        footer = []
        if info is not None:
            footer.append(f"<b>Package</b><br>{html.escape(info.name)}")
        if choices.company_name:
            footer.append(f"<b>Company</b><br>{html.escape(choices.company_name)}")
        self.side_panel.set_footer("<br><br>".join(footer))
        current = self.current_page()
        if current is not None:
            self.setWindowTitle(f"Ledgerlink set-up: {TITLES[current]}")

    def _save_failed(self, message: str) -> None:
        page = self.currentPage()
        if isinstance(page, WizardPage):
            page.status.error(f"Could not save your choice: {message}")

    # ------------------------------------------------------------------ help

    def show_help(self) -> None:
        current = self.current_page()
        if current is None:
            return
        if self.help_dialog is None:
            self.help_dialog = HelpDialog(self)
        self.help_dialog.show_page(current, self.context.choices.package)

    # ------------------------------------------------------------------ finishing

    def accept(self) -> None:
        """Finish: store that set-up is complete (unless only a quick link's pages were
        shown), then tell the main window."""
        review = self.pages.get(Page.REVIEW_AND_SEND)
        if isinstance(review, ReviewPage) and review.sending():
            return
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton):
            self.button(which).setEnabled(False)
        if self.only is not None:
            self.completed.emit()
            return

        self.context.change(
            "finish set-up", finish_setup, on_success=lambda _: self.completed.emit()
        )

    def reject(self) -> None:
        """Close (or Esc): stop what is running and leave; choices are already stored."""
        review = self.pages.get(Page.REVIEW_AND_SEND)
        if isinstance(review, ReviewPage) and review.sending():
            review.cancel_send()
            return
        self.closed.emit()
