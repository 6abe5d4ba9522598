"""Item models behind the wizard's lists (the package's contacts, its accounts, the
pre-flight's failures). Each holds plain data read in a worker, never ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, Qt

from app.services.importing.from_package import PreviewRow
from app.services.sending.causes import Cause, tally
from connectors.contract import ContactRole, RemoteAccount

ROLE_WORDS = {ContactRole.CUSTOMER: "Customer", ContactRole.SUPPLIER: "Supplier"}
RECORD_WORDS = {
    "customer": "Customer",
    "supplier": "Supplier",
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "payment": "Payment",
}


class _TableModel(QAbstractTableModel):
    """A read-only table over a list of rows, with fixed column headers."""

    COLUMNS: tuple[str, ...] = ()

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._row_count()

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def _row_count(self) -> int:
        raise NotImplementedError


#: What the user may choose for a contact the package gives no role.
TYPE_CHOICES: tuple[tuple[str, frozenset[ContactRole]], ...] = (
    ("Choose…", frozenset()),
    ("Customer", frozenset({ContactRole.CUSTOMER})),
    ("Supplier", frozenset({ContactRole.SUPPLIER})),
    ("Customer and supplier", frozenset(ContactRole)),
)


class PackageContactModel(_TableModel):
    """The package's customers and suppliers, each marked new or already here. A new
    contact the package gives no role has its Type chosen here (edit role: one of
    :data:`TYPE_CHOICES`' words); :meth:`chosen` hands the choices to the import."""

    COLUMNS = ("Type", "Name", "Town", "Postcode", "Email", "Reference", "Here already?")
    TYPE = 0

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[PreviewRow] = []
        self._chosen: dict[str, frozenset[ContactRole]] = {}

    def set_rows(self, rows: Sequence[PreviewRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        refs = {r.ref for r in self._rows if self._choosable(r)}
        self._chosen = {ref: roles for ref, roles in self._chosen.items() if ref in refs}
        self.endResetModel()

    def chosen(self) -> dict[str, frozenset[ContactRole]]:
        """Package reference → the roles chosen, for each contact given a type here."""
        return {ref: roles for ref, roles in self._chosen.items() if roles}

    def undecided(self) -> int:
        """New contacts with no role in the package and none chosen yet."""
        return sum(1 for r in self._rows if self._choosable(r) and not self._chosen.get(r.ref))

    @staticmethod
    def _choosable(row: PreviewRow) -> bool:
        return row.role is None and not row.already_here

    def _row_count(self) -> int:
        return len(self._rows)

    def flags(self, index: Any) -> Qt.ItemFlag:
        base = super().flags(index)
        editable = (
            index.isValid()
            and index.column() == self.TYPE
            and self._choosable(self._rows[index.row()])
        )
        return base | Qt.ItemFlag.ItemIsEditable if editable else base

    def _type_text(self, row: PreviewRow) -> str:
        if row.role is not None:
            return ROLE_WORDS[row.role]
        roles = self._chosen.get(row.ref, frozenset())
        return next(word for word, choice in TYPE_CHOICES if choice == roles)

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.EditRole,
        ):
            return None
        row = self._rows[index.row()]
        values = (
            self._type_text(row),
            row.name,
            row.town,
            row.postcode,
            row.email,
            row.ref,
            row.here_text,
        )
        return values[index.column()]

    def setData(self, index: Any, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != self.TYPE:
            return False
        row = self._rows[index.row()]
        roles = dict(TYPE_CHOICES).get(str(value))
        if roles is None or not self._choosable(row):
            return False
        self._chosen[row.ref] = roles
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        return True


class RemoteAccountModel(QAbstractListModel):
    """The package's accounts of one type, for a searchable drop-down."""

    #: The account's id in the package.
    IdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, accounts: Sequence[RemoteAccount] = ()) -> None:
        super().__init__()
        self._accounts: list[RemoteAccount] = list(accounts)

    def set_accounts(self, accounts: Sequence[RemoteAccount]) -> None:
        self.beginResetModel()
        self._accounts = list(accounts)
        self.endResetModel()

    def accounts(self) -> list[RemoteAccount]:
        return list(self._accounts)

    def account(self, row: int) -> RemoteAccount:
        return self._accounts[row]

    def row_of(self, remote_id: str) -> int:
        for row, account in enumerate(self._accounts):
            if account.id == remote_id:
                return row
        return -1

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._accounts)

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        account = self._accounts[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return describe_account(account)
        if role == self.IdRole:
            return account.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{describe_account(account)} ({account.type.value} account, id {account.id})"
        return None


def describe_account(account: RemoteAccount) -> str:
    """How a package account reads in a list: ``4000 · Sales``."""
    return f"{account.code} · {account.name}" if account.name else account.code


class PreflightFailureModel(_TableModel):
    """What would fail, grouped by cause: each cause once, with how many records fail
    because of it and how many it holds back (never a held-back record as a cause)."""

    COLUMNS = ("What would fail", "Records", "Holds back", "How to fix it")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Cause] = []

    def set_causes(self, causes: Sequence[Cause]) -> None:
        self.beginResetModel()
        self._rows = list(causes)
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self._rows)

    def cause(self, row: int) -> Cause:
        return self._rows[row]

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cause = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (
                cause.title,
                tally(cause.records),
                tally(cause.held_back) if cause.held_back else "",
                cause.fix,
            )
            return values[index.column()]
        return None
