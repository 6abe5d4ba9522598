"""Editing a reference cell: type it, paste it, or pick the package's record."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QCompleter,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from wizard_pages.link_grid.choices import PackageChoicesModel
from wizard_pages.link_grid.columns import PASTE_ROLE, PICK_ROLE, REF_ROLE

Index = QModelIndex | QPersistentModelIndex


class ReferenceEditor(QLineEdit):
    """A line edit that remembers whether its text was pasted or picked from the list."""

    def __init__(
        self,
        parent: QWidget | None,
        choices: PackageChoicesModel | None,
        is_reference: Callable[[str], bool] = lambda _: False,
    ) -> None:
        super().__init__(parent)
        self.pasted = False
        self.picked_ref = ""
        self.choices = choices
        self.is_reference = is_reference
        self.setClearButtonEnabled(True)
        if choices is not None:
            self.setPlaceholderText("Type a name, postcode or email to pick, or paste")
            completer = QCompleter(choices, self)
            completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
            completer.setCompletionRole(REF_ROLE)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setMaxVisibleItems(12)
            completer.activated[str].connect(self._picked)  # type: ignore[index]
            self.setCompleter(completer)
            self.textEdited.connect(self._offer)

    def _offer(self, text: str) -> None:
        """Offer the package's records matching what is typed: from two characters on,
        and not once the text is a whole reference (the user is typing one, not
        searching). The line edit shows the list itself when it has rows."""
        if self.choices is None:
            return
        wanted = len(text.strip()) >= 2 and not self.is_reference(text)
        self.choices.set_query(text if wanted else "")

    def _picked(self, ref: str) -> None:
        self.picked_ref = ref

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            self.pasted = True
        super().keyPressEvent(event)


class ReferenceDelegate(QStyledItemDelegate):
    """The reference column's editor, with the package's records to pick from."""

    def __init__(
        self,
        choices: PackageChoicesModel | None,
        is_reference: Callable[[str], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.choices = choices
        self.is_reference = is_reference

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        if self.choices is not None:
            self.choices.set_query("")
        return ReferenceEditor(parent, self.choices, self.is_reference)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, ReferenceEditor):
            editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
            editor.selectAll()
        else:  # pragma: no cover - only our editor is created
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if not isinstance(editor, ReferenceEditor):  # pragma: no cover
            super().setModelData(editor, model, index)
            return
        text = editor.text()
        if text == str(index.data(Qt.ItemDataRole.EditRole) or ""):
            return  # opened and closed without a change
        if editor.picked_ref and text == editor.picked_ref:
            role = PICK_ROLE
        elif editor.pasted:
            role = PASTE_ROLE
        else:
            role = Qt.ItemDataRole.EditRole
        model.setData(index, text, role)
