"""The wizard's side panel: the steps the chosen situation leads to, and where the user is.

Steps already passed are links, so a user who resumed midway (or used a keyboard) can
go back to any of them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.services.setup.routing import TITLES, Page
from app.ui.kit.style import heading_font, link_color, muted_color, readable


class StepsPanel(QFrame):
    """A numbered list of steps; the current one stands out, passed ones are links."""

    #: The user chose a passed step (its page value).
    step_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepsPanel")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(210)
        self.setMaximumWidth(260)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.title = QLabel("Setting up Ledgerlink")
        self.title.setFont(heading_font(self.font(), 1.15))
        self.title.setWordWrap(True)
        self.steps_label = QLabel()
        self.steps_label.setObjectName("steps")
        self.steps_label.setWordWrap(True)
        self.steps_label.setTextFormat(Qt.TextFormat.RichText)
        self.steps_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.steps_label.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.steps_label.linkActivated.connect(self.step_chosen.emit)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.footer = QLabel("")
        self.footer.setObjectName("footer")
        self.footer.setWordWrap(True)
        self.footer.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 16, 4)
        layout.addWidget(self.title)
        layout.addSpacing(12)
        layout.addWidget(self.steps_label)
        layout.addWidget(self.note)
        layout.addStretch(1)
        layout.addWidget(self.footer)
        self.pages: tuple[Page, ...] = ()
        self.current: Page | None = None
        self._can_go_back = True
        self._note = ""

    def show_steps(
        self,
        pages: Sequence[Page],
        current: Page | None,
        *,
        can_go_back: bool = True,
        note: str = "",
    ) -> None:
        """List ``pages`` with ``current`` marked; passed steps are links if allowed."""
        self.pages = tuple(pages)
        self.current = current
        self._can_go_back = can_go_back
        self._note = note
        muted = muted_color(self.palette()).name()
        current_color = readable(
            self.palette().color(QPalette.ColorRole.Highlight),
            self.palette().color(QPalette.ColorRole.Window),
        ).name()
        # The theme's link colour, lightened on a dark window if it would not read.
        link = link_color(self.palette()).name()
        position = self.pages.index(current) if current in self.pages else -1
        rows: list[str] = []
        for number, page in enumerate(self.pages, start=1):
            title = html.escape(TITLES[page])
            index = number - 1
            if index == position:
                rows.append(
                    f"<p style='margin:6px 0'><b style='color:{current_color}'>{number}. "
                    f"{title}</b></p>"
                )
            elif index < position:
                text = (
                    f"<a href='{page.value}' style='color:{link}'>{title}</a>"
                    if can_go_back
                    else title
                )
                rows.append(f"<p style='margin:6px 0'>✓ {text}</p>")
            else:
                rows.append(
                    f"<p style='margin:6px 0'><span style='color:{muted}'>{number}. {title}"
                    "</span></p>"
                )
        self.steps_label.setText("".join(rows))
        where = (
            f"Step {position + 1} of {len(self.pages)}: {TITLES[current]}"
            if current is not None and position >= 0
            else ""
        )
        self.steps_label.setAccessibleName(where or "Set-up steps")
        self.note.setText(note)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.pages:
            # Light to dark (or back): the colours written into the steps follow.
            self.show_steps(
                self.pages, self.current, can_go_back=self._can_go_back, note=self._note
            )

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
