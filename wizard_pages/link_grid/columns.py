"""The link grid's columns and the words it shows for statuses and link methods."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

from app.services.linking.workbench import LinkMethod, LinkStatus
from connectors.contract import PackageInfo


class Column(IntEnum):
    ACCOUNT = 0
    NAME = 1
    ADDRESS = 2
    POSTCODE = 3
    EMAIL = 4
    REFERENCE = 5
    THEIR_NAME = 6
    THEIR_ADDRESS = 7
    THEIR_EMAIL = 8
    STATUS = 9
    METHOD = 10


#: Columns showing our contact (in italics while a copied spelling waits to be saved).
OUR_COLUMNS = frozenset(
    {Column.ACCOUNT, Column.NAME, Column.ADDRESS, Column.POSTCODE, Column.EMAIL}
)


def titles(info: PackageInfo) -> dict[Column, str]:
    """Header titles, naming the package where a column shows its data."""
    short = "Sandbox" if info.key == "sandbox" else info.name
    return {
        Column.ACCOUNT: "Account",
        Column.NAME: "Name",
        Column.ADDRESS: "Address",
        Column.POSTCODE: "Postcode",
        Column.EMAIL: "Email",
        Column.REFERENCE: info.reference.label,
        Column.THEIR_NAME: f"{short} name",
        Column.THEIR_ADDRESS: f"{short} address",
        Column.THEIR_EMAIL: f"{short} email",
        Column.STATUS: "Status",
        Column.METHOD: "How linked",
    }


#: What a user needs to see without scrolling, in this order: who the row is (frozen at
#: the left), then the reference, its status and how it was linked.
NEEDED: tuple[Column, ...] = (
    Column.ACCOUNT,
    Column.NAME,
    Column.REFERENCE,
    Column.STATUS,
    Column.METHOD,
)

#: Starting widths in characters (no resize-to-contents: the grid may hold 100,000 rows).
#: The needed columns together fit the default 1000 x 680 window at 125 % text; longer
#: values are elided and whole in their tool-tips.
WIDTHS: dict[Column, int] = {
    Column.ACCOUNT: 9,
    Column.NAME: 20,
    Column.ADDRESS: 30,
    Column.POSTCODE: 9,
    Column.EMAIL: 26,
    Column.REFERENCE: 14,
    Column.THEIR_NAME: 28,
    Column.THEIR_ADDRESS: 30,
    Column.THEIR_EMAIL: 26,
    Column.STATUS: 19,
    Column.METHOD: 14,
}

METHOD_WORDS: dict[LinkMethod, str] = {
    LinkMethod.TYPED: "Typed",
    LinkMethod.PASTED_ID: "Pasted reference",
    LinkMethod.PASTED_URL: "Pasted web address",
    LinkMethod.PICKED: "Picked from list",
    LinkMethod.AUTO_EXACT: "Exact name match",
    LinkMethod.SUGGESTION: "Accepted suggestion",
    LinkMethod.IMPORTED: "Imported from package",
    LinkMethod.CREATED_BY_SEND: "Created by a send",
    LinkMethod.LINKED_ON_SEND: "Found by a send",
    LinkMethod.CSV: "Links file (CSV)",
}

STATUS_WORDS: dict[LinkStatus, str] = {
    LinkStatus.LINKED: "Linked",
    LinkStatus.WILL_BE_CREATED: "Will be created",
    LinkStatus.INVALID: "Invalid reference",
    LinkStatus.LOOKING_UP: "Looking it up…",
    LinkStatus.NOT_FOUND: "Not found in package",
    LinkStatus.USED_TWICE: "Reference used twice",
    LinkStatus.DETAILS_DIFFER: "Details differ",
}

#: Custom item roles.
PASTE_ROLE = Qt.ItemDataRole.UserRole + 1  # setData: the text was pasted
PICK_ROLE = Qt.ItemDataRole.UserRole + 2  # setData: the reference was picked from the list
RECORD_ROLE = Qt.ItemDataRole.UserRole + 3  # data: the row's position in the book
STATUS_ROLE = Qt.ItemDataRole.UserRole + 4  # data: the row's LinkStatus
REF_ROLE = Qt.ItemDataRole.UserRole + 5  # choices: the package contact's reference
