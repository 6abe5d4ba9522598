"""Editing a reference cell: type it, paste it, or pick the package's record; and cell
text that stays readable on a light or dark palette."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QCompleter,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.ui.kit.style import readable
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
            choices.modelReset.connect(self._fit_popup)

    def _fit_popup(self) -> None:
        """The pick list as wide as its widest line (the completer would make it as
        narrow as the cell), but no wider than the window."""
        completer = self.completer()
        popup = completer.popup() if completer is not None else None
        if popup is None or self.choices is None:
            return
        metrics = popup.fontMetrics()
        widest = max(
            (
                metrics.horizontalAdvance(str(self.choices.index(row, 0).data()))
                for row in range(self.choices.rowCount())
            ),
            default=0,
        )
        style = popup.style()
        chrome = (
            2 * popup.frameWidth()
            + style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
            + 4 * style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin)
            + 8
        )
        window = self.window()
        cap = window.width() if window is not None and window is not self else 10_000
        popup.setMinimumWidth(min(max(widest + chrome, self.width()), cap))

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


class ReadableDelegate(QStyledItemDelegate):
    """Draws cells as usual, but text whose colour would not read on its cell (a fixed
    status colour on a dark palette, light text on a highlighted cell) is lightened or
    darkened until it does (WCAG AA, 4.5:1)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        if option.state & QStyle.StateFlag.State_Selected:
            return  # the style draws selected text in HighlightedText on Highlight
        palette = option.palette
        brush = option.backgroundBrush
        background = (
            brush.color()
            if brush.style() != Qt.BrushStyle.NoBrush
            else palette.color(QPalette.ColorRole.Base)
        )
        text = palette.color(QPalette.ColorRole.Text)
        shown = readable(text, background)
        if shown != text:
            palette.setColor(QPalette.ColorRole.Text, shown)
            option.palette = palette


class ReferenceDelegate(ReadableDelegate):
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
