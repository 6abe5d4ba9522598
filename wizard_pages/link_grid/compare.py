"""Our details beside the package's, with the characters that differ highlighted.

For a package that requires an exact match (Sage Business Cloud: name, address and
email, capitals included) a link is refused while any of them differ, and "Use their
spelling" copies the package's values into our record (saved with the links, with an
entry in the audit history).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.services.linking.matching import (
    FIELD_LABELS,
    FieldComparison,
    Segment,
    compare_exact,
    describe_differences,
)
from app.services.linking.workbench import LinkBook, LinkStatus
from connectors.contract import PackageInfo
from connectors.wording import a_or_an

#: Columns compared when the package has no exact-match rule (for information only).
INFORMATIVE_COLUMNS: tuple[str, ...] = (
    "name",
    "address_1",
    "address_2",
    "town",
    "postcode",
    "email",
)

SPACE_MARK = "␣"
MISSING_MARK = "^"
_HIGHLIGHT = "background-color:#ffd966;color:#000;border-bottom:2px solid #c00000;"


def segments_html(segments: Sequence[Segment]) -> str:
    """Rich text of one value: differing runs highlighted, spaces in them shown as ␣ and
    a ‸ where the other side has characters this one lacks."""
    parts: list[str] = []
    for segment in segments:
        if not segment.differs:
            parts.append(html.escape(segment.text))
            continue
        shown = segment.text.replace(" ", SPACE_MARK) if segment.text else MISSING_MARK
        parts.append(f'<span style="{_HIGHLIGHT}">{html.escape(shown)}</span>')
    return "".join(parts) or '<span style="color:#767676">(blank)</span>'


def summary(comparisons: Sequence[FieldComparison]) -> str:
    """ "Name: capital letters differ. Town: spaces differ." or "" when all equal."""
    return " ".join(
        f"{c.label}: {describe_differences(c.differences)}." for c in comparisons if not c.equal
    )


class CompareView(QWidget):
    """The current row's details, ours beside the package's."""

    #: The user asked to copy the package's spelling into our record.
    use_their_spelling = Signal()

    def __init__(self, info: PackageInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.exact = bool(info.exact_match_fields)
        self.title = QLabel("Pick a row to compare it with the package's record.")
        self.title.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(2, 1)
        self.rule = QLabel("")
        self.rule.setWordWrap(True)
        self.differences = QLabel("")
        self.differences.setWordWrap(True)
        self.differences.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.legend = QLabel(
            f"Highlighted: characters that differ. {SPACE_MARK} is a space, {MISSING_MARK} "
            "marks where the other side has more."
        )
        self.legend.setWordWrap(True)
        self.use_button = QPushButton(f"Use {info.name}'s spelling")
        self.use_button.setToolTip(
            f"Copy {info.name}'s name, address and email into our record, so the two match "
            "exactly. Saved with the links, and recorded in the audit history."
        )
        self.use_button.clicked.connect(self.use_their_spelling)
        self.use_button.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.grid)
        layout.addWidget(self.differences)
        layout.addWidget(self.rule)
        layout.addWidget(self.legend)
        layout.addWidget(self.use_button)
        layout.addStretch(1)
        self.cells: list[tuple[QLabel, QLabel, QLabel]] = []
        self.comparisons: tuple[FieldComparison, ...] = ()

    def clear(self, message: str = "Pick a row to compare it with the package's record.") -> None:
        self.title.setText(message)
        self._fill(())
        self.rule.setText("")
        self.differences.setText("")
        self.use_button.setVisible(False)

    def show_row(self, book: LinkBook, row: int) -> None:
        """Compare ``row`` of ``book`` with the package's record it is linked to."""
        ours = book.contact(row)
        theirs = book.their_contact(row)
        if theirs is None:
            state = book.states[row]
            self.clear(
                f"{ours.name} is not linked to {a_or_an(self.info.name)} record yet."
                if not state.ref
                else f"{self.info.name}'s record {state.ref} is not in its list."
            )
            return
        columns = book.exact_columns or INFORMATIVE_COLUMNS
        self.comparisons = compare_exact(columns, ours, theirs)
        self._fill(self.comparisons)
        self.title.setText(
            f"{ours.name} ({ours.account_ref}) beside {self.info.name}'s {book.states[row].ref}"
        )
        self.differences.setText(summary(self.comparisons))
        differ = book.statuses[row] is LinkStatus.DETAILS_DIFFER
        if self.exact:
            self.rule.setText(
                f"{self.info.name} only accepts the link when these match exactly, capital "
                "letters included. It cannot be saved until they do."
                if differ
                else f"These match {self.info.name}'s record exactly."
            )
        else:
            self.rule.setText("")
        self.use_button.setVisible(self.exact and differ)

    def _fill(self, comparisons: Sequence[FieldComparison]) -> None:
        while len(self.cells) < len(comparisons):
            row = len(self.cells)
            cells = (QLabel(), QLabel(), QLabel())
            for column, label in enumerate(cells):
                label.setTextFormat(Qt.TextFormat.RichText if column else Qt.TextFormat.PlainText)
                label.setWordWrap(True)
                self.grid.addWidget(label, row + 1, column)
            self.cells.append(cells)
        if not self.grid.itemAtPosition(0, 1):
            for column, text in enumerate(("", "Ours", self.info.name)):
                header = QLabel(f"<b>{html.escape(text)}</b>")
                self.grid.addWidget(header, 0, column)
        for row, (label, ours, theirs) in enumerate(self.cells):
            visible = row < len(comparisons)
            for cell in (label, ours, theirs):
                cell.setVisible(visible)
            if visible:
                comparison = comparisons[row]
                label.setText(FIELD_LABELS.get(comparison.column, comparison.column))
                ours.setText(segments_html(comparison.our_segments))
                theirs.setText(segments_html(comparison.their_segments))
