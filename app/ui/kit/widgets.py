"""Common widgets the pages and windows share: a status line and a details pane."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QTextBrowser

from app.ui.kit.style import error_color, muted_color, set_text_color, success_color

#: ``QTextDocument``'s default ``documentMargin``, which a details pane keeps. Asking the
#: document for it would build the ``QTextDocument`` class in Python (about 1.5 ms of the
#: first page); tests/test_widgets_kit.py checks the two agree.
DOCUMENT_MARGIN = 4


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
            + DOCUMENT_MARGIN * 2
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
