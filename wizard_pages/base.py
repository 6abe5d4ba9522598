"""What every wizard page has: its id, a status line, worker calls and completeness.

A page is complete (Next enabled) only when its work is done: ``validatePage`` never
does I/O, so pages do their loading and saving in workers and call
:meth:`WizardPage.set_complete` when the results are in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.services.setup.routing import TITLES, Page
from app.ui.kit.widgets import StatusLine
from app.ui.kit.workers import Task
from wizard_pages.context import Progress, WizardContext


class WizardPage(QWizardPage):
    """Base of every page: knows its :class:`Page` id and the shared context."""

    page_id: ClassVar[Page]
    subtitle: ClassVar[str] = ""

    def __init__(self, context: WizardContext) -> None:
        super().__init__()
        self.context = context
        self._complete = False
        self._generation = 0
        self.setTitle(
            f"<span style='font-size:x-large; font-weight:600'>{TITLES[self.page_id]}</span>"
        )
        if self.subtitle:
            self.setSubTitle(self.subtitle)
        self.status = StatusLine()
        # The page's content scrolls when the window is too small for it (large text,
        # high scaling), rather than squeezing wrapped text until it is cut off.
        self.body = QWidget()
        self.body.setObjectName("pageBody")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.body)
        scroll.viewport().setAutoFillBackground(False)
        self.body.setAutoFillBackground(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.scroll_area = scroll

    # ------------------------------------------------------------ completeness

    def isComplete(self) -> bool:
        return self._complete

    def set_complete(self, complete: bool) -> None:
        if complete != self._complete:
            self._complete = complete
            self.completeChanged.emit()

    # ------------------------------------------------------------ workers

    def begin(self) -> None:
        """Start afresh (called from ``initializePage``): results of work started on an
        earlier visit are ignored from now on."""
        self._generation += 1

    def run(
        self,
        function: Callable[[threading.Event, Progress], Any],
        *,
        name: str,
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        writes: bool = False,
    ) -> Task:
        """Run ``function`` in a worker (on the writer thread with ``writes``); the
        callbacks run on the GUI thread, and only if the user has not left and re-entered
        the page since."""
        generation = self._generation

        def current(callback: Callable[[Any], None]) -> Callable[[Any], None]:
            def call(value: Any) -> None:
                if shiboken6.isValid(self) and generation == self._generation:
                    callback(value)

            return call

        return self.context.run(
            function,
            name=name,
            on_success=current(on_success),
            on_failure=current(on_failure or self.status.error),
            on_progress=current(on_progress) if on_progress else None,
            writes=writes,
        )
