"""Type-ahead: pick the package's record by name, postcode or email.

:class:`PackageChoicesModel` is filtered in Python over precomputed lowercase keys (a
``QCompleter`` filtering 100,000 rows itself would call ``data()`` through the binding
for each one), and the completer shows it unfiltered. The keys are kept joined, a
block of records to a string (see :class:`JoinedKeys`). The completion role is the
record's reference, so picking a line puts the reference into the cell.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, islice
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.services.linking.matching import PackageIndex, TheirContact, address_text
from wizard_pages.link_grid.columns import REF_ROLE

Index = QModelIndex | QPersistentModelIndex

#: How many matches the list shows (more would not help anyone pick).
LIMIT = 50


#: Records per joined string: a character beyond Latin-1 (which makes Python keep a
#: string at 2 or 4 bytes a character) widens only its own block.
BLOCK = 4096
_SEP = "\x00"


class JoinedKeys:
    """Search keys kept as a few long strings instead of one string per record (100,000
    strings of about 60 characters take 11 MB, joined about 6): each block of records'
    keys in one string, each key after a separator, and where each key starts.

    A match is checked against the key's own bounds, so a separator that turns up
    inside a key, or a needle running from one key into the next, finds nothing
    that ``needle in key`` would not."""

    __slots__ = ("_blocks",)

    def __init__(self, keys: Iterable[str]) -> None:
        self._blocks: list[tuple[str, array[int]]] = []
        keys = iter(keys)
        while block := list(islice(keys, BLOCK)):
            self._add(block)

    def _add(self, keys: list[str]) -> None:
        # Key i is text[starts[i] : starts[i + 1] - 1]; each is preceded by _SEP.
        starts = array("i", accumulate((len(k) + 1 for k in keys), initial=1))
        self._blocks.append((_SEP + _SEP.join(keys), starts))

    def containing(self, needle: str, limit: int) -> list[int]:
        """The first ``limit`` records (in order) whose key contains ``needle``."""
        found: list[int] = []
        size = len(needle)
        for number, (text, starts) in enumerate(self._blocks):
            first = number * BLOCK
            at = text.find(needle)
            while at >= 0:
                key = bisect_right(starts, at) - 1
                end = starts[key + 1] - 1
                if key >= 0 and at + size <= end:
                    found.append(first + key)
                    if len(found) == limit:
                        return found
                    at = text.find(needle, end + 1)  # the next key
                else:  # across a separator: look further on
                    at = text.find(needle, at + 1)
        return found

    def starting(self, needle: str, limit: int) -> list[int]:
        """The first ``limit`` records (in order) whose key starts with ``needle``."""
        found: list[int] = []
        size = len(needle)
        wanted = _SEP + needle
        for number, (text, starts) in enumerate(self._blocks):
            first = number * BLOCK
            at = text.find(wanted)
            while at >= 0:
                key = bisect_right(starts, at + 1) - 1
                end = starts[key + 1] - 1
                if starts[key] == at + 1 and at + 1 + size <= end:
                    found.append(first + key)
                    if len(found) == limit:
                        return found
                    at = text.find(wanted, end)  # the separator before the next key
                else:  # a separator inside a key, or a key too short: look further on
                    at = text.find(wanted, at + 1)
        return found


class PackageChoicesModel(QAbstractListModel):
    """The package's contacts matching what is typed: "Name · postcode · email"."""

    def __init__(self) -> None:
        super().__init__()
        self._index: PackageIndex | None = None
        #: Per contact: name, postcode, email and reference, lowercased. The name comes
        #: first, so a key starting with the needle means the name starts with it.
        self._keys: JoinedKeys | None = None
        self._shown: list[int] = []
        self._query = ""

    def set_contacts(self, index: PackageIndex) -> None:
        """Offer the contacts of ``index`` (clears the current matches). Their search
        keys are built on the first query (about 0.1 s for 100,000), not before: most
        sessions never type a name into a cell."""
        self.beginResetModel()
        self._index = index
        self._keys = None
        self._shown = []
        self._query = ""
        self.endResetModel()

    def _search_keys(self) -> JoinedKeys:
        if self._keys is None:
            contacts = self._index.contacts if self._index is not None else ()
            self._keys = JoinedKeys(
                "\n".join(
                    (c.name, c.postcode, c.postcode.replace(" ", ""), c.email, c.ref)
                ).casefold()
                for c in contacts
            )
        return self._keys

    @property
    def query(self) -> str:
        return self._query

    def set_query(self, text: str) -> int:
        """Show the records whose name, postcode, email or reference contains ``text``,
        names starting with it first. Returns how many are shown (at most ``LIMIT``)."""
        needle = text.strip().casefold()
        if needle == self._query:
            return len(self._shown)
        shown: list[int] = []
        if needle:
            keys = self._search_keys()
            shown = keys.starting(needle, LIMIT)
            if len(shown) < LIMIT:
                first = set(shown)
                hits = keys.containing(needle, LIMIT * 2)
                shown += [i for i in hits if i not in first][: LIMIT - len(shown)]
        self.beginResetModel()
        self._shown = shown
        self._query = needle
        self.endResetModel()
        return len(shown)

    def _contact(self, row: int) -> TheirContact:
        assert self._index is not None
        return self._index.contacts[self._shown[row]]

    def ref_at(self, row: int) -> str:
        assert self._index is not None
        return self._index.reference_of(self._contact(row))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        contact = self._contact(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return " · ".join(p for p in (contact.name, contact.postcode, contact.email) if p)
        if role in (REF_ROLE, Qt.ItemDataRole.EditRole):
            return self.ref_at(index.row())
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = (
                contact.name,
                address_text(contact),
                contact.postcode,
                self.ref_at(index.row()),
            )
            return "\n".join(part for part in parts if part)
        return None
