"""Help for each page, written for the chosen package.

The texts live in ``resources/help/``: ``<page>.md`` for every package (both link pages
share ``link.md``), and ``<package>/<page>.md`` with what is particular to one package.
The link help always ends with the package's own steps for finding a reference, taken
from its declaration in :mod:`connectors.catalogue`, so the two never disagree.
"""

from __future__ import annotations

from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QDialog, QPushButton, QVBoxLayout, QWidget

from app.services.setup.routing import TITLES, Page

_LINK_PAGES = {Page.LINK_CUSTOMERS: "customers", Page.LINK_SUPPLIERS: "suppliers"}


def _file_name(page: Page) -> str:
    return "link.md" if page in _LINK_PAGES else f"{page.value}.md"


def _read(*parts: str) -> str:
    from resources import resource  # importlib.resources: only once help is asked for

    node = resource("help", *parts)
    return node.read_text(encoding="utf-8") if node.is_file() else ""


def help_markdown(page: Page, package: str | None) -> str:
    """The help for ``page`` (Markdown), for ``package`` when one is chosen."""
    from connectors.catalogue import BY_KEY  # only once help is asked for: a fast first page

    info = BY_KEY.get(package or "")
    name = _file_name(page)
    text = _read(name)
    if info is not None:
        specific = _read(info.key, name)
        if specific:
            text += "\n\n" + specific
        if page in _LINK_PAGES:
            steps = "\n".join(
                f"{n}. {step}" for n, step in enumerate(info.reference.where_to_find, 1)
            )
            text += (
                f"\n\n## Where to find the {info.reference.label}\n\n{steps}\n\n"
                f"A reference looks like `{info.reference.example}`."
            )
            if info.reference.url_example:
                text += f" A web address like `{info.reference.url_example}` works too."
    values = {
        "{package}": info.name if info else "your accounting package",
        "{contacts}": _LINK_PAGES.get(page, "contacts"),
        "{reference}": info.reference.label if info else "reference",
    }
    for token, value in values.items():
        text = text.replace(token, value)
    return text.strip() + "\n"


class HelpDialog(QDialog):
    """A window beside the wizard showing one page's help; it does not block the wizard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        # Imported here: every page has a Help button, few open the dialog.
        from PySide6.QtWidgets import QDialogButtonBox, QTextBrowser

        super().__init__(parent)
        self.setModal(False)
        self.resize(560, 600)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)

    def show_page(self, page: Page, package: str | None) -> None:
        from connectors.catalogue import BY_KEY  # only once help is asked for: a fast first page

        name = BY_KEY[package].name if package in BY_KEY else ""
        self.setWindowTitle(f"Help: {TITLES[page]}" + (f" ({name})" if name else ""))
        self.browser.setMarkdown(help_markdown(page, package))
        self.show()
        self.raise_()
        self.activateWindow()


class HelpButton(QPushButton):
    """“Help” (also F1) for one page; shows :class:`HelpDialog`."""

    def __init__(self, page: Page, package: str | None = None, parent: QWidget | None = None):
        # Not QPushButton(text, parent): with parent None that call also weighs the
        # (icon, text) overload, which builds QIcon's class (about 2 ms of the first page).
        super().__init__(parent)
        self.setText("&Help")
        self.page = page
        self.package = package
        # In the window (QShortcut's default context), the key as text that Qt converts:
        # the Qt namespace's enums, or a QKeySequence made in Python (its class), cost
        # more to build than the dashboard's first page (see dashboard.py).
        self.f1 = QShortcut(self)
        self.f1.setProperty("key", "F1")
        self.f1.activated.connect(self.show_help)
        self.setToolTip("Help for this page (F1)")
        self.dialog: HelpDialog | None = None
        self.clicked.connect(self.show_help)

    def show_help(self) -> None:
        if self.dialog is None:
            self.dialog = HelpDialog(self.window())
        self.dialog.show_page(self.page, self.package)
