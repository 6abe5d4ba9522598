"""Type-ahead: pick the package's record by name, postcode or email.

:class:`PackageChoicesModel` is filtered in Python over precomputed lowercase keys (a
``QCompleter`` filtering 100,000 rows itself would call ``data()`` through the binding
for each one), and the completer shows it unfiltered. The completion role is the
record's reference, so picking a line puts the reference into the cell.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.services.linking.matching import PackageIndex, TheirContact, address_text
from wizard_pages.link_grid.columns import REF_ROLE

Index = QModelIndex | QPersistentModelIndex

#: How many matches the list shows (more would not help anyone pick).
LIMIT = 50


class PackageChoicesModel(QAbstractListModel):
    """The package's contacts matching what is typed: "Name · postcode · email"."""

    def __init__(self) -> None:
        super().__init__()
        self._index: PackageIndex | None = None
        #: Per contact: name, postcode, email and reference, lowercased. The name comes
        #: first, so ``key.startswith(needle)`` means the name starts with it.
        self._keys: list[str] = []
        self._shown: list[int] = []
        self._query = ""

    def set_contacts(self, index: PackageIndex) -> None:
        """Offer the contacts of ``index`` (clears the current matches). Their search
        keys are built on the first query (about 0.1 s for 100,000), not before: most
        sessions never type a name into a cell."""
        self.beginResetModel()
        self._index = index
        self._keys = []
        self._shown = []
        self._query = ""
        self.endResetModel()

    def _search_keys(self) -> list[str]:
        if not self._keys and self._index is not None and self._index.contacts:
            self._keys = [
                "\n".join(
                    (c.name, c.postcode, c.postcode.replace(" ", ""), c.email, c.ref)
                ).casefold()
                for c in self._index.contacts
            ]
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
            hits = [i for i, key in enumerate(keys) if needle in key]
            shown = [i for i in hits if keys[i].startswith(needle)][:LIMIT]
            if len(shown) < LIMIT:
                first = set(shown)
                shown += [i for i in hits[: LIMIT * 2] if i not in first][: LIMIT - len(shown)]
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
