"""Screenshots of every page, written by the test run for people to look at.

``save_screenshot(widget, "wizard-connect")`` writes ``<repo>/screenshots/<name>.png``
(the folder is git-ignored; the README's pictures are copies in ``docs/img/``). Set
``LEDGERLINK_SCREENSHOTS=0`` to skip writing them.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

SCREENSHOT_DIR = Path(__file__).resolve().parents[1] / "screenshots"


def save_screenshot(widget: QWidget, name: str) -> Path | None:
    """Grab ``widget`` (laid out and painted) into ``screenshots/<name>.png``."""
    if os.environ.get("LEDGERLINK_SCREENSHOTS", "1") == "0":
        return None
    QApplication.processEvents()
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write the screenshot {path}")
    return path
