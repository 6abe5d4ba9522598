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
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.services.setup.routing import TITLES, Page
from app.ui.style import error_color, muted_color, set_text_color, success_color
from app.ui.workers import Task
from wizard_pages.context import Progress, WizardContext


class StatusLine(QLabel):
    """One wrapped line that says what is happening, what went right, or what is wrong."""

    def __init__(self) -> None:
        super().__init__("")
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.kind = "plain"

    def _show(self, text: str, kind: str) -> None:
        self.kind = kind
        parent = self.parentWidget()
        palette = parent.palette() if parent is not None else self.palette()
        colors = {
            "error": error_color(palette),
            "success": success_color(palette),
            "busy": muted_color(palette),
        }
        if kind in colors:
            set_text_color(self, colors[kind])
        else:
            self.setPalette(palette)
        self.setText(text)

    def plain(self, text: str) -> None:
        self._show(text, "plain")

    def busy(self, text: str) -> None:
        self._show(text, "busy")

    def success(self, text: str) -> None:
        self._show(f"✓ {text}", "success")

    def error(self, text: str) -> None:
        self._show(text, "error")

    def clear(self) -> None:
        self._show("", "plain")


class DetailsPane(QTextBrowser):
    """A few lines of read-only rich text (the selected record's reason and fix) that
    scrolls when the text is longer, so nothing is ever cut off."""

    def __init__(self, lines: int = 4) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setTabChangesFocus(True)
        margins = self.contentsMargins()
        height = (
            self.fontMetrics().lineSpacing() * lines
            + int(self.document().documentMargin() * 2)
            + margins.top()
            + margins.bottom()
            + 2
        )
        self.setFixedHeight(height)

    def setText(self, text: str) -> None:
        self.setHtml(text)

    def text(self) -> str:
        """The text as shown (without markup)."""
        return self.toPlainText()


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
