"""Small look-and-feel helpers that follow the system's light or dark palette.

Nothing here hard-codes a background: colours are taken from the palette, and the few
accent colours (error red, success green) are picked to read well on either.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QLabel, QWidget


def is_dark(palette: QPalette) -> bool:
    """Whether the window background is dark (a dark system theme)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_color(palette: QPalette) -> QColor:
    return QColor("#ff8a80") if is_dark(palette) else QColor("#b3261e")


def success_color(palette: QPalette) -> QColor:
    return QColor("#81c995") if is_dark(palette) else QColor("#1e7b34")


def muted_color(palette: QPalette) -> QColor:
    """Secondary text: the text colour blended towards the background (opaque, so it
    also works inside rich text)."""
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    mix = 0.45
    return QColor(
        round(text.red() * (1 - mix) + back.red() * mix),
        round(text.green() * (1 - mix) + back.green() * mix),
        round(text.blue() * (1 - mix) + back.blue() * mix),
    )


def set_text_color(widget: QWidget, color: QColor) -> None:
    """Colour a label's text through its palette (no style sheet, so fonts stay native)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, color)
    palette.setColor(QPalette.ColorRole.Text, color)
    widget.setPalette(palette)


def heading_font(base: QFont, scale: float = 1.35) -> QFont:
    font = QFont(base)
    size = base.pointSizeF()
    if size > 0:
        font.setPointSizeF(size * scale)
    font.setBold(True)
    return font


def wrapped_label(text: str = "", *, muted: bool = False) -> QLabel:
    """A label that wraps instead of widening (or clipping) its window."""
    label = QLabel(text)
    label.setWordWrap(True)
    if muted:
        set_text_color(label, muted_color(label.palette()))
    return label
