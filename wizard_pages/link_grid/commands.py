"""Undoable edits of the link grid: every change of rows' states is one command."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

from PySide6.QtGui import QUndoCommand

from app.services.linking.workbench import RowState

ApplyStates = Callable[[Mapping[int, RowState]], None]


class SameState(Mapping[int, RowState]):
    """One state for every row of ``rows`` (before "Link exact matches", 45,000 empty
    cells), without a dict entry for each."""

    def __init__(self, rows: Collection[int], state: RowState) -> None:
        self._rows = rows
        self._state = state

    def __getitem__(self, row: int) -> RowState:
        if row not in self._rows:
            raise KeyError(row)
        return self._state

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class SetStatesCommand(QUndoCommand):
    """Set some rows' states (a typed cell, a pasted column, "Link exact matches"…).

    ``before`` and ``after`` belong to the command from then on: they must not be
    changed afterwards."""

    def __init__(
        self,
        apply: ApplyStates,
        before: Mapping[int, RowState],
        after: Mapping[int, RowState],
        text: str,
    ) -> None:
        super().__init__(text)
        self._apply = apply
        # Kept as given, not copied: "Link exact matches" hands over tens of thousands
        # of rows, and the model builds both mappings afresh for each command.
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._apply(self._after)

    def undo(self) -> None:
        self._apply(self._before)
