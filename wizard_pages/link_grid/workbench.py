"""The link workbench: link our customers (or suppliers) to the package's records.

A :class:`LinkWorkbench` is a plain ``QWidget`` a wizard page (or the dashboard's "link
customers" window) embeds. Everything slow runs in :class:`~app.ui.kit.workers.TaskRunner`
tasks: loading both lists, looking up pasted web addresses, saving. The GUI thread only
edits the in-memory :class:`~app.services.linking.workbench.LinkBook` through undoable
commands.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable
from functools import partial

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QTabBar,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.linking.matching import (
    ExactMatchOutcome,
    Reading,
    Suggestion,
    TheirContact,
    read_reference,
)
from app.services.linking.workbench import (
    Analysis,
    LinkBook,
    SaveOutcome,
    SavePlan,
    Tab,
    look_up_references,
    prepare_workbench,
    save_links,
)
from app.services.store import SessionFactory
from app.ui.kit.tables import set_text_columns
from app.ui.kit.workers import Task, TaskRunner
from connectors.contract import Connector, ContactRole, PackageInfo
from connectors.wording import count, when
from wizard_pages.link_grid.choices import PackageChoicesModel
from wizard_pages.link_grid.columns import NEEDED, WIDTHS, Column
from wizard_pages.link_grid.compare import CompareView
from wizard_pages.link_grid.delegate import ReadableDelegate, ReferenceDelegate
from wizard_pages.link_grid.frozen import FrozenColumns
from wizard_pages.link_grid.side_models import DuplicatesModel, SuggestionsModel
from wizard_pages.link_grid.table_model import LinkTableModel

TAB_ORDER: tuple[tuple[Tab, str], ...] = (
    (Tab.ALL, "All"),
    (Tab.UNLINKED, "Unlinked"),
    (Tab.PROBLEMS, "Problems"),
    (Tab.LINKED, "Linked"),
)

#: How many reasons a confirmation lists before "and N more".
LISTED = 8
#: The message's link that reads the package's list again.
READ_AGAIN = "read-again"


def split_column(text: str) -> list[str]:
    """The cells of a column pasted from a spreadsheet or a list: one per line (the
    first cell of each line when several columns were copied)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and not lines[-1].strip():
        lines.pop()
    return [line.split("\t", 1)[0].strip() for line in lines]


def _listed(lines: Iterable[str]) -> str:
    items = list(lines)
    shown = "\n".join(f"• {line}" for line in items[:LISTED])
    more = len(items) - LISTED
    return shown + (f"\n…and {more} more." if more > 0 else "")


class LinkWorkbench(QWidget):
    """Link our customers (or suppliers) to the package's, without creating duplicates.

    Construct it with the session factory, a factory of connectors (called inside
    worker threads only), the role and the package's declaration; call :meth:`load`.
    """

    #: The grid is filled (after :meth:`load`).
    loaded = Signal()
    #: A save finished; carries its :class:`~app.services.linking.workbench.SaveOutcome`.
    saved = Signal(object)
    #: Whether there are unsaved changes.
    dirty_changed = Signal(bool)
    #: Loading, a look-up or saving failed; carries the message shown to the user.
    failed = Signal(str)
    #: Suggestions and duplicates are ready (shortly after ``loaded``).
    analysed = Signal()
    #: Linked and total rows as the grid stands, saved or not: (linked, total).
    counts_changed = Signal(int, int)

    def __init__(
        self,
        session_factory: SessionFactory,
        connector_factory: Callable[[], Connector],
        role: ContactRole,
        info: PackageInfo,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session_factory = session_factory
        self.connector_factory = connector_factory
        self.role = role
        self.info = info
        #: Asks the user a yes/no question (title, text); replaceable in tests.
        #: Asks yes or no: (title, text, whether Yes is the default answer).
        self.confirm: Callable[[str, str, bool], bool] = self._ask
        self._focus_after_busy: QWidget | None = None
        self.tasks = TaskRunner(self)
        self.undo_stack = QUndoStack(self)
        self.model = LinkTableModel(info, self.undo_stack)
        self.choices = PackageChoicesModel() if info.can_list_contacts else None
        self.suggestions_model = SuggestionsModel(info)
        self.duplicates_model = DuplicatesModel(info)
        self._dirty = False
        self._busy = False
        self._load_task: Task | None = None
        #: Counts loads, so the answer of one replaced by a later one is ignored.
        self._loads = 0
        self._looking_up: set[str] = set()
        self._side_timer = QTimer(self)
        self._side_timer.setSingleShot(True)
        self._side_timer.setInterval(120)
        self._side_timer.timeout.connect(self._refresh_side)
        self._build()
        self._connect()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        # The page around the workbench has margins already: every pixel goes to the grid.
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._filter_bar())
        self.splitter = QSplitter()
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._grid())
        self.splitter.addWidget(self._side_panel())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([780, 220])
        layout.addWidget(self.splitter, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.linkActivated.connect(self._link_activated)
        message_row = QHBoxLayout()
        message_row.addWidget(self.message, 1)
        message_row.addWidget(self._side_toggle(), 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(message_row)
        layout.addLayout(self._action_row())
        if not self.info.can_list_contacts:
            self.exact_button.setVisible(False)
            self.side.setTabVisible(1, False)
        self._set_busy(True)

    def _filter_bar(self) -> QHBoxLayout:
        """The tabs (all, unlinked, problems…) and the search box."""
        self.tabs = QTabBar()
        # Whole tabs, never scroll arrows: their full width is the minimum the layout keeps.
        self.tabs.setUsesScrollButtons(False)
        for _, title in TAB_ORDER:
            self.tabs.addTab(title)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, account, postcode, email or reference")
        self.search.setClearButtonEnabled(True)
        top = QHBoxLayout()
        top.addWidget(self.tabs)
        top.addWidget(self.search, 1)

        return top

    def _grid(self) -> QTableView:
        """The table of our contacts with their references, sized to its font."""
        self.view = QTableView()
        self.view.setModel(self.model)
        info = self.info
        self.delegate = ReferenceDelegate(
            self.choices,
            lambda text: read_reference(info, text).kind is not Reading.INVALID,
            self.view,
        )
        self.view.setItemDelegate(ReadableDelegate(self.view))
        self.view.setItemDelegateForColumn(Column.REFERENCE, self.delegate)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.view.setWordWrap(False)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep the book's name order
        # A title longer than its column ends in "…" (the whole title is its tool-tip),
        # rather than being cut at both ends.
        set_text_columns(self.view, self.fontMetrics(), WIDTHS)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        horizontal = self.view.horizontalHeader()
        # What a user needs at 1000 px first, straight after who the row is: the
        # reference, its status and how it was linked; the addresses to the right.
        for position, column in enumerate(NEEDED):
            horizontal.moveSection(horizontal.visualIndex(column), position)
        self.frozen = FrozenColumns(self.view, (Column.ACCOUNT, Column.NAME))

        self._add_grid_actions()
        return self.view

    def _add_grid_actions(self) -> None:
        """Paste, copy and clear on the grid; undo and redo on the whole workbench."""
        self.paste_action = QAction("Paste references", self.view)
        self.paste_action.setShortcut(QKeySequence.StandardKey.Paste)
        self.paste_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action = QAction("Copy", self.view)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.clear_action = QAction("Clear references", self.view)
        self.clear_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.clear_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.view.addActions([self.paste_action, self.copy_action, self.clear_action])
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    def _side_panel(self) -> QTabWidget:
        """Compare, Suggestions and Duplicates, beside the grid."""
        self.compare = CompareView(self.info)
        self.side = QTabWidget()
        self.side.tabBar().setUsesScrollButtons(False)
        self.side.addTab(self.compare, "Compare")
        self.side.addTab(self._suggestions_panel(), "Suggestions")
        self.side.addTab(self._duplicates_table(), "Duplicates")
        return self.side

    def _side_toggle(self) -> QPushButton:
        """Shows or hides the side panel. Where the window is too narrow for the needed
        columns and the panel together, the panel starts hidden and this opens it."""
        self.side_button = QPushButton()
        self.side_button.setCheckable(True)
        self.side_button.setChecked(True)
        #: The user showed or hid the panel: the window's width no longer decides.
        self._side_chosen = False
        self._side_sized = False
        self.splitter.installEventFilter(self)
        self.side_button.clicked.connect(self._side_toggled)
        self._name_side_button()
        return self.side_button

    def _side_toggled(self, shown: bool) -> None:
        self._side_chosen = True
        self.show_side_panel(shown)

    def show_side_panel(self, shown: bool, width: int | None = None) -> None:
        """Show (or hide) the side panel beside the grid, in a splitter ``width`` wide
        (its current width by default)."""
        self.side.setVisible(shown)
        self.side_button.setChecked(shown)
        if shown:
            total = (self.splitter.width() if width is None else width) - (
                self.splitter.handleWidth()
            )
            # A third of the width, less where the needed columns would not fit then;
            # never narrower than its tab titles (the grid's identity columns are frozen).
            side = max(
                self.side.minimumSizeHint().width(),
                min(total // 3, total - self._needed_grid_width()),
            )
            self.splitter.setSizes([max(total - side, 0), side])
        self._name_side_button()

    def _name_side_button(self) -> None:
        suggestions = self.suggestions_model.rowCount()
        duplicates = self.duplicates_model.rowCount()
        if self.side_button.isChecked():
            self.side_button.setText("Hide su&ggestions and duplicates")
            self.side_button.setToolTip("Give the grid the whole width.")
        else:
            text = (
                f"Show su&ggestions ({suggestions:,}) and duplicates ({duplicates:,})"
                if self.book is not None and self.book.analysed
                else "Show su&ggestions and duplicates"
            )
            self.side_button.setText(text)
            self.side_button.setToolTip(
                "Compare the current row with the package's record, accept suggested "
                "links and see likely duplicates, beside the grid."
            )

    def side_panel_fits(self, width: int | None = None) -> bool:
        """Whether, in a splitter ``width`` wide (its own by default), the side panel leaves
        the grid room for every needed column."""
        width = self.splitter.width() if width is None else width
        needed = self._needed_grid_width() + self.splitter.handleWidth()
        return width >= needed + self.side.minimumSizeHint().width()

    def _needed_grid_width(self) -> int:
        """The grid's width with every needed column in view."""
        view = self.view
        return (
            sum(view.columnWidth(c) for c in NEEDED)
            + 2 * view.frameWidth()
            + view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.splitter
            and event.type() == QEvent.Type.Resize
            and isinstance(event, QResizeEvent)
            and not self._side_chosen
        ):
            # Before the splitter shares out its new width: the side panel shows only
            # where the grid keeps every needed column, and is sized for the new width.
            width = event.size().width()
            fits = self.side_panel_fits(width)
            if fits != self.side.isVisibleTo(self) or not self._side_sized:
                self._side_sized = True
                self.show_side_panel(fits, width)
        return False

    def hasHeightForWidth(self) -> bool:
        # A grid has no natural height: it takes what the page leaves (the wrapped
        # message must not make the page ask for a scroll bar).
        return False

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumSizeHint().height())

    def _side_table(self, model: QAbstractItemModel) -> QTableView:
        """A side panel's table: one line a row, long values and titles ending in "…"
        (their tool-tips are whole), the last column taking the width left."""
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setWordWrap(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = view.horizontalHeader()
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        header.setStretchLastSection(True)
        vertical = view.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        return view

    def _suggestions_panel(self) -> QWidget:
        self.suggestions_view = self._side_table(self.suggestions_model)
        char = self.fontMetrics().averageCharWidth()
        for column, width in enumerate((18, 20, 16)):  # yours, theirs, evidence; strength
            self.suggestions_view.setColumnWidth(column, width * char + 12)
        self.accept_button = QPushButton("&Accept selected")
        self.accept_strong_button = QPushButton("Accept all &strong")
        suggestions_panel = QWidget()
        suggestions_layout = QVBoxLayout(suggestions_panel)
        explain = QLabel("Near misses. Double-click one to see it in the grid.")
        explain.setWordWrap(True)
        explain.setToolTip(
            "Near misses: names that differ only in capitals, spaces, punctuation or "
            "Ltd/Limited, the same email, or the same postcode and house number. Point at a "
            "cell to read it whole."
        )
        suggestions_layout.addWidget(explain)
        suggestions_layout.addWidget(self.suggestions_view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.accept_strong_button)
        suggestions_layout.addLayout(buttons)
        return suggestions_panel

    def _duplicates_table(self) -> QTableView:
        self.duplicates_view = self._side_table(self.duplicates_model)
        char = self.fontMetrics().averageCharWidth()
        for column, width in enumerate((13, 34)):  # where, records; why
            self.duplicates_view.setColumnWidth(column, width * char + 12)
        return self.duplicates_view

    def _action_row(self) -> QHBoxLayout:
        """Link exact matches, undo, redo and save."""
        plural = f"{self.role.value}s"
        self.exact_button = QPushButton("Link &exact matches")
        self.exact_button.setToolTip(
            f"Link each of your {plural} whose name equals exactly one {self.info.name} "
            "record's name (capitals and spaces count). Names shared by more than one "
            "record are left for you to decide."
        )
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.save_button = QPushButton("Save accounting &references")
        self.save_button.setDefault(True)
        actions = QHBoxLayout()
        actions.addWidget(self.exact_button)
        actions.addWidget(self.undo_button)
        actions.addWidget(self.redo_button)
        actions.addStretch(1)
        actions.addWidget(self.save_button)

        return actions

    def _connect(self) -> None:
        self.tabs.currentChanged.connect(self._filter_changed)
        self.search.textChanged.connect(self._filter_changed)
        self.paste_action.triggered.connect(lambda: self.paste())
        self.copy_action.triggered.connect(lambda: self.copy())
        self.clear_action.triggered.connect(lambda: self.clear_selected())
        self.exact_button.clicked.connect(lambda: self.link_exact_matches())
        self.accept_button.clicked.connect(lambda: self.accept_selected_suggestions())
        self.accept_strong_button.clicked.connect(lambda: self.accept_strong_suggestions())
        self.save_button.clicked.connect(lambda: self.save())
        self.compare.use_their_spelling.connect(lambda: self.use_their_spelling())
        self.model.counts_changed.connect(self._update_counts)
        self.model.rows_changed.connect(self._rows_changed)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        selection = self.view.selectionModel()
        selection.currentChanged.connect(self._current_changed)
        self.duplicates_view.doubleClicked.connect(self._show_duplicate)
        self.suggestions_view.doubleClicked.connect(self._show_suggestion)

    # ------------------------------------------------------------------ state

    @property
    def book(self) -> LinkBook | None:
        return self.model.book

    @property
    def dirty(self) -> bool:
        """Whether there are changes not saved yet."""
        return self._dirty

    @property
    def busy(self) -> bool:
        """Loading or saving."""
        return self._busy

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        ready = not busy and self.book is not None
        focused = QApplication.focusWidget()
        if busy and focused is not None and self.isAncestorOf(focused):
            # Disabling the focused button would pass the focus on down the chain, out of
            # the grid to the wizard's "< Back": hold it here, and give it back after.
            self._focus_after_busy = focused
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        for widget in (self.exact_button, self.save_button, self.tabs, self.search, self.side):
            widget.setEnabled(ready)
        self.view.setEnabled(ready)
        back = self._focus_after_busy
        if ready and back is not None:
            self._focus_after_busy = None
            if back.isEnabled() and back.isVisible():
                back.setFocus(Qt.FocusReason.OtherFocusReason)
            else:
                self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _ask(self, title: str, text: str, yes_by_default: bool) -> bool:
        answer = question_box(self, title, text, yes_by_default=yes_by_default).exec()
        return answer == QMessageBox.StandardButton.Yes

    def _say(self, text: str, *, rich: bool = False) -> None:
        """Show ``text`` under the grid (``rich``: HTML, for a link; else plain)."""
        self.message.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.message.setText(text)

    def _link_activated(self, href: str) -> None:
        if href == READ_AGAIN:
            self.read_package_again()

    def read_package_again(self) -> bool:
        """Read the package's list from the package again (the grid otherwise shows the
        copy kept in the store); unsaved edits are dropped only if the user agrees."""
        if self.busy:
            return False
        if self.dirty and not self.confirm(
            "Read the list again?",
            f"Reading {self.info.name}'s list again drops the links you have not saved. "
            "Read it again anyway?",
            False,
        ):
            return False
        self.load(refresh=True)
        return True

    # ------------------------------------------------------------------ loading

    def load(self, *, refresh: bool = False) -> None:
        """Read both lists in a worker and fill the grid (unsaved edits are dropped).

        The package's list is the copy kept in the store when there is one (the message
        says how old it is); ``refresh`` reads it from the package again."""
        if self._load_task is not None:
            self._load_task.cancel()
        self._set_busy(True)
        self._say(f"Reading your {self.role.value}s and {self.info.name}'s…")
        session_factory, connector_factory, role, info = (
            self.session_factory,
            self.connector_factory,
            self.role,
            self.info,
        )

        def work(cancel: threading.Event, progress: Callable[[object], None]) -> LinkBook:
            return prepare_workbench(
                session_factory,
                connector_factory,
                role,
                cancel,
                progress,
                info=info,
                refresh=refresh,
            )

        self._loads += 1
        load = self._loads
        self._load_task = self.tasks.start(
            work,
            name=f"load {role.value} links",
            on_success=lambda book: self._loaded(load, book),
            on_failure=lambda message: self._load_failed(load, message),
            on_progress=lambda text: self._say(str(text)),
        )

    def _loaded(self, load: int, book: LinkBook) -> None:
        if load != self._loads:
            return  # a later load replaced this one
        self._load_task = None
        self.show_book(book)
        self.loaded.emit()

    def show_book(self, book: LinkBook) -> None:
        """Fill the grid from a loaded book (what :meth:`load` does when its worker is
        done), then look for suggestions and duplicates in a worker."""
        self.undo_stack.clear()
        self._looking_up.clear()
        self.tabs.setCurrentIndex(0)
        self.search.clear()
        self.model.set_book(book)
        if self.choices is not None:
            self.choices.set_contacts(book.index)
        self._set_busy(False)
        self._set_dirty(False)
        name = self.info.name
        text = f"{len(book):,} of your {self.role.value}s; {len(book.theirs):,} in {name}"
        listed_at = book.data.listed_at
        if listed_at is not None:
            # The kept copy of the package's list is never passed off as current.
            text += f", as {name} listed them {when(listed_at)}"
        if not book.listed:
            self._say(
                f"{len(book):,} of your {self.role.value}s. {name} does not let Ledgerlink "
                "list its contacts, so references are checked for their form only."
            )
        else:
            again = html.escape(f"Read {name}'s list again")
            self._say(f'{html.escape(text)}. <a href="{READ_AGAIN}">{again}</a>', rich=True)
        self._refresh_side()
        # Once the grid has painted: the worker would otherwise compete with it for Python.
        QTimer.singleShot(0, self, lambda: self._analyse(book))

    def _analyse(self, book: LinkBook) -> None:
        if book is not self.book:
            return
        # Taken out when it runs: the finished task may outlive it, and its snapshot of
        # the book (our list, the unlinked rows) must not.
        runs = [book.analysis()]

        def work(_cancel: threading.Event, _progress: Callable[[object], None]) -> Analysis:
            return runs.pop()()

        self.tasks.start(
            work,
            name="find suggestions",
            on_success=partial(self._analysed, book),
            on_failure=lambda message: self._say(f"Could not look for suggestions: {message}"),
        )

    def _analysed(self, book: LinkBook, analysis: Analysis) -> None:
        if book is not self.book:
            return
        book.set_analysis(analysis)
        self._refresh_side()
        self.analysed.emit()

    def _load_failed(self, load: int, message: str) -> None:
        if load != self._loads:
            return
        self._load_task = None
        self._set_busy(False)
        self._say(f"Could not read the {self.role.value}s: {message}")
        self.failed.emit(message)

    # ------------------------------------------------------------------ filter

    def _filter_changed(self, *_: object) -> None:
        current = self._current_record()
        tab = TAB_ORDER[max(self.tabs.currentIndex(), 0)][0]
        self.model.set_filter(tab, self.search.text())
        if current is not None:
            self.select_record(current, scroll=False)

    def set_tab(self, tab: Tab) -> None:
        self.tabs.setCurrentIndex([t for t, _ in TAB_ORDER].index(tab))

    def _update_counts(self) -> None:
        book = self.book
        if book is None:
            return
        counts = book.tab_counts()
        for position, (tab, title) in enumerate(TAB_ORDER):
            self.tabs.setTabText(position, f"{title} ({counts[tab]:,})")
        self.counts_changed.emit(counts[Tab.ALL] - counts[Tab.UNLINKED], counts[Tab.ALL])

    # ------------------------------------------------------------------ selection

    def _current_record(self) -> int | None:
        index = self.view.currentIndex()
        if not index.isValid() or self.book is None:
            return None
        return self.model.record(index.row())

    def select_record(self, record: int, *, scroll: bool = True) -> bool:
        """Make book row ``record`` current (clearing the filter if it hides it)."""
        view_row = self.model.view_row(record)
        if view_row is None:
            if not scroll:
                return False
            self.search.clear()
            self.tabs.setCurrentIndex(0)
            view_row = self.model.view_row(record)
            if view_row is None:
                return False
        index = self.model.index(view_row, Column.REFERENCE)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        if scroll:
            self.view.scrollTo(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_compare(self.model.record(current.row()) if current.isValid() else None)

    def _show_compare(self, record: int | None) -> None:
        book = self.book
        if book is None or record is None:
            self.compare.clear()
            return
        self.compare.show_row(book, record)

    def _selected_rows(self) -> list[int]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedIndexes()})
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        return rows

    # ------------------------------------------------------------------ editing

    def paste(self, text: str | None = None) -> int:
        """Paste a column of references or web addresses into consecutive rows, from
        the first selected row down, as one undoable step; returns how many rows."""
        if self.book is None or self._busy:
            return 0
        if text is None:
            clipboard = QApplication.clipboard()
            text = clipboard.text() if clipboard is not None else ""
        cells = split_column(text)
        if not cells:
            return 0
        selected = self._selected_rows()
        start = selected[0] if selected else 0
        rows = self.model.shown[start : start + len(cells)]
        texts = dict(zip(rows, cells, strict=False))
        label = "Paste reference" if len(texts) == 1 else f"Paste {len(texts)} references"
        self.model.set_references(texts, pasted=True, text=label)
        left_over = len(cells) - len(rows)
        if left_over > 0:
            self._say(f"{count(left_over, 'pasted line')} did not fit below the selected row.")
        return len(texts)

    def copy(self) -> None:
        """Copy the selected cells as tab-separated text."""
        indexes = sorted(
            self.view.selectionModel().selectedIndexes(), key=lambda i: (i.row(), i.column())
        )
        if not indexes:
            return
        lines: dict[int, list[str]] = {}
        for index in indexes:
            lines.setdefault(index.row(), []).append(
                str(index.data(Qt.ItemDataRole.EditRole) or "")
            )
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText("\n".join("\t".join(cells) for cells in lines.values()))

    def clear_selected(self) -> int:
        """Clear the references of the selected rows (one undoable step)."""
        if self.book is None:
            return 0
        records = [self.model.record(row) for row in self._selected_rows()]
        self.model.set_references(dict.fromkeys(records, ""), text="Clear references")
        return len(records)

    def link_exact_matches(self) -> ExactMatchOutcome | None:
        """Link every unlinked row whose name equals exactly one package record's name
        (one undoable step); namesakes are left for the user."""
        book = self.book
        if book is None:
            return None
        states, outcome = book.exact_match_states()
        self.model.push_states(states, f"Link {count(len(states), 'exact match')}")
        parts = [f"Linked {count(len(outcome.links), 'exact name match')}."]
        if outcome.namesakes:
            parts.append(
                f"{len(outcome.namesakes):,} left unlinked: the name belongs to more than one "
                "record (theirs or yours); pick the right one by hand."
            )
        if outcome.contradicted:
            parts.append(
                f"{len(outcome.contradicted):,} left unlinked: same name but another postcode"
                + (" or details that must match exactly" if book.exact_fields else "")
                + "; see Suggestions."
            )
        self._say(" ".join(parts))
        return outcome

    def accept_suggestions(self, suggestions: Iterable[Suggestion]) -> int:
        book = self.book
        if book is None:
            return 0
        states = book.suggestion_states(suggestions)
        self.model.push_states(states, f"Accept {count(len(states), 'suggestion')}")
        self._refresh_side()
        return len(states)

    def accept_selected_suggestions(self) -> int:
        rows = sorted({i.row() for i in self.suggestions_view.selectionModel().selectedRows()})
        return self.accept_suggestions(self.suggestions_model.suggestion(r) for r in rows)

    def accept_strong_suggestions(self) -> int:
        return self.accept_suggestions(s for s in self.suggestions_model.items if s.strong)

    def use_their_spelling(self, record: int | None = None) -> bool:
        """Copy the package's name, address and email into our record for ``record``
        (the current row by default), saved with the links."""
        book = self.book
        record = self._current_record() if record is None else record
        if book is None or record is None:
            return False
        state = book.spelling_state(record)
        if state is None:
            return False
        pushed = self.model.push_states(
            {record: state}, f"Use {self.info.name}'s spelling for {book.ours[record].name}"
        )
        self._show_compare(record)
        return pushed

    def _rows_changed(self, rows: set[int]) -> None:
        book = self.book
        if book is None:
            return
        self._set_dirty(book.dirty)
        current = self._current_record()
        if current is not None and current in rows:
            self._show_compare(current)
        self._side_timer.start()
        self._look_up()

    # ------------------------------------------------------------------ look-ups

    def _look_up(self) -> None:
        book = self.book
        if book is None:
            return
        keys = book.pending_lookups() - self._looking_up
        if not keys:
            return
        self._looking_up |= keys
        factory = self.connector_factory

        def work(
            _cancel: threading.Event, _progress: Callable[[object], None]
        ) -> dict[str, TheirContact | None]:
            return look_up_references(factory, sorted(keys))

        self.tasks.start(
            work,
            name="look up web addresses",
            on_success=self._looked_up,
            on_failure=partial(self._lookup_failed, keys),
        )

    def _looked_up(self, found: dict[str, TheirContact | None]) -> None:
        self._looking_up -= set(found)
        book = self.book
        if book is None:
            return
        self.model.refresh_rows(book.resolve(found))

    def _lookup_failed(self, keys: set[str], message: str) -> None:
        self._looking_up -= keys
        self._say(f"Could not look up the web address in {self.info.name}: {message}")
        self.failed.emit(message)

    # ------------------------------------------------------------------ side panels

    def _refresh_side(self) -> None:
        book = self.book
        if book is None:
            return
        self.duplicates_model.set_book(book)
        self.side.setTabText(2, f"Duplicates ({self.duplicates_model.rowCount():,})")
        if not book.analysed:
            self.side.setTabText(1, "Suggestions (looking…)")
            self.accept_strong_button.setEnabled(False)
            self._name_side_button()
            return
        suggestions = book.open_suggestions()
        self.suggestions_model.set_suggestions(book, suggestions)
        strong = sum(1 for s in suggestions if s.strong)
        self.accept_strong_button.setText(f"Accept all &strong ({strong:,})")
        self.accept_strong_button.setEnabled(strong > 0)
        self.side.setTabText(1, f"Suggestions ({len(suggestions):,})")
        self._name_side_button()

    def _show_duplicate(self, index: QModelIndex) -> None:
        rows = self.duplicates_model.duplicate(index.row()).rows
        if rows:
            self.select_record(rows[0])

    def _show_suggestion(self, index: QModelIndex) -> None:
        self.select_record(self.suggestions_model.suggestion(index.row()).row)

    # ------------------------------------------------------------------ saving

    def save(self) -> bool:
        """Save every change in one transaction (in a worker); returns whether a save
        started. Rows that cannot be saved are listed and left as they are."""
        book = self.book
        if book is None or self._busy:
            return False
        plan = book.save_plan()
        if plan.blocked:
            reasons = _listed(reason for _, reason in plan.blocked)
            if plan.empty:
                self._say(f"Nothing can be saved yet:\n{reasons}")
                return False
            if not self.confirm(
                "Some rows cannot be saved yet",
                f"{count(len(plan.blocked), 'row')} cannot be saved:\n{reasons}\n\n"
                f"Save the other {count(len(plan.rows), 'change')} and leave these as they are?",
                True,
            ):
                return False
        if plan.empty:
            self._say("There are no changes to save.")
            return False
        if plan.shared and not self.confirm(
            f"Are these the same {self.role.value}?",
            f"{self.info.name} records linked to more than one of your {self.role.value}s:\n"
            f"{_listed(plan.shared)}\n\nDocuments for each will go to the same "
            f"{self.info.name} record. Save only if they are the same {self.role.value} "
            "(one business entered twice). Save anyway?",
            False,  # Enter must not save a doubtful link
        ):
            return False
        if plan.unlink_warnings and not self.confirm(
            "Records already sent under the old link",
            f"{_listed(plan.unlink_warnings)}\n\nChange these links anyway?",
            False,
        ):
            return False
        self._start_save(plan)
        return True

    def _start_save(self, plan: SavePlan) -> None:
        self._set_busy(True)
        self._say("Saving…")
        session_factory, info = self.session_factory, self.info

        def work(_cancel: threading.Event, _progress: Callable[[object], None]) -> SaveOutcome:
            return save_links(session_factory, info, plan)

        self.tasks.start(
            work,
            name=f"save {self.role.value} links",
            on_success=partial(self._saved, plan),
            on_failure=self._save_failed,
        )

    def _saved(self, plan: SavePlan, outcome: SaveOutcome) -> None:
        book = self.book
        self._set_busy(False)
        if book is not None:
            self.model.refresh_rows(book.mark_saved(plan))
            self._set_dirty(book.dirty)
        parts = [f"Saved: {outcome.linked:,} linked, {outcome.unlinked:,} unlinked"]
        if outcome.fixed:
            parts.append(f"{count(outcome.fixed, 'spelling')} copied from {self.info.name}")
        text = ", ".join(parts) + "."
        if outcome.warnings:
            text += "\n" + _listed(outcome.warnings)
        if plan.blocked:
            text += f"\n{count(len(plan.blocked), 'row')} not saved: see the Problems tab."
        self._say(text)
        self.saved.emit(outcome)

    def _save_failed(self, message: str) -> None:
        self._set_busy(False)
        self._say(f"Nothing was saved. {message}")
        self.failed.emit(message)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.tasks.cancel_all()
        self.tasks.wait()
        super().closeEvent(event)


def question_box(parent: QWidget, title: str, text: str, *, yes_by_default: bool) -> QMessageBox:
    """A Yes/No question; a risky one (``yes_by_default=False``) answers No to Enter."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    yes = box.addButton(QMessageBox.StandardButton.Yes)
    no = box.addButton(QMessageBox.StandardButton.No)
    box.setDefaultButton(yes if yes_by_default else no)
    box.setEscapeButton(no)
    return box
