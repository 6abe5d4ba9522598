"""Small look-and-feel helpers that follow the system's light or dark palette.

Nothing here hard-codes a background: colours are taken from the palette, and the few
accent colours (error red, success green) are picked to read well on either.
"""

from __future__ import annotations

from functools import lru_cache

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


def _luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(c) for c in (color.redF(), color.greenF(), color.blueF()))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(one: QColor, other: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


#: WCAG 2 AA: normal text needs at least this contrast with its background.
READABLE = 4.5


def readable(color: QColor, background: QColor, minimum: float = READABLE) -> QColor:
    """``color`` itself if it reads on ``background``, else the same hue made lighter (on
    a dark background) or darker (on a light one) until it does."""
    # Remembered per pair: the grid asks for every cell it paints, with a few colours.
    return QColor.fromRgba(_readable_rgba(color.rgba(), background.rgba(), minimum))


@lru_cache(maxsize=256)
def _readable_rgba(color_rgba: int, background_rgba: int, minimum: float) -> int:
    return _make_readable(
        QColor.fromRgba(color_rgba), QColor.fromRgba(background_rgba), minimum
    ).rgba()


def _make_readable(color: QColor, background: QColor, minimum: float) -> QColor:
    if contrast_ratio(color, background) >= minimum:
        return QColor(color)
    towards_white = _luminance(background) < 0.18
    hue = max(color.hslHueF(), 0.0)  # grey has no hue (-1)
    saturation, lightness = color.hslSaturationF(), color.lightnessF()
    low, high = (lightness, 1.0) if towards_white else (0.0, lightness)
    for _ in range(24):  # bisect the lightness: the least change that reads
        middle = (low + high) / 2
        candidate = QColor(QColor.fromHslF(hue, saturation, middle).name())  # 8 bits
        reads = contrast_ratio(candidate, background) >= minimum
        if reads == towards_white:
            high = middle
        else:
            low = middle
    found = QColor(QColor.fromHslF(hue, saturation, high if towards_white else low).name())
    if contrast_ratio(found, background) < minimum:  # pragma: no cover - white/black read
        return QColor("#ffffff" if towards_white else "#000000")
    return found


def link_color(palette: QPalette) -> QColor:
    """The palette's link colour, made readable on its window background if a theme
    left it too dark (Qt's default link blue on a dark window)."""
    return readable(
        palette.color(QPalette.ColorRole.Link), palette.color(QPalette.ColorRole.Window)
    )
