"""The link workbench widget, driven as a user would: typing, pasting ids, web addresses
and whole columns, undo, picking from the type-ahead list, the exact-match rule,
"Link exact matches", suggestions, duplicates and saving."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.db.models import (
    AuditEvent,
    Contact,
    ContactKind,
    Document,
    Link,
    LinkMethod,
    RecordType,
    SendState,
)
from app.services.errors import UserError
from app.services.linking.matching import OurContact, TheirContact
from app.services.linking.workbench import LinkBook, LinkStatus, Tab, WorkbenchData
from app.services.sending.outbox import entry_for, sync_outbox
from app.services.status import collect_status
from app.services.store import Store
from connectors.catalogue import PACKAGES, SAGE_BUSINESS_CLOUD, SANDBOX
from connectors.contract import Connector, ContactDraft, ContactRole, PackageInfo
from connectors.sandbox import SandboxConnector
from tests.test_link_support import (
    SAGE_RULE_INFO,
    SageRuleSandbox,
    demo_store_fixture,
    make_demo_template,
    memory_factory,
    remote,
    sandbox_factory,
)
from tests.test_wizard_flow import LONG
from wizard_pages.link_grid import LinkWorkbench, choices
from wizard_pages.link_grid.columns import STATUS_ROLE, Column
from wizard_pages.link_grid.delegate import ReferenceEditor
from wizard_pages.link_grid.workbench import question_box

STONEYGATE = "Stoneygate Guest House"

# Typing opens the type-ahead list, a pop-up the offscreen platform cannot raise or give
# the keyboard to; it says so, harmlessly.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    yield from demo_store_fixture(demo_template, tmp_path)


class Confirmations:
    """Stands in for the yes/no dialog, answering as told and keeping what was asked."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []
        self.yes_by_default: list[bool] = []

    def __call__(self, title: str, text: str, yes_by_default: bool) -> bool:
        self.asked.append((title, text))
        self.yes_by_default.append(yes_by_default)
        return self.answer


def open_workbench(
    qtbot: QtBot,
    store: Store,
    factory: Callable[[], Connector],
    info: PackageInfo = SANDBOX,
    role: ContactRole = ContactRole.CUSTOMER,
) -> LinkWorkbench:
    workbench = LinkWorkbench(store.session_factory, factory, role, info)
    qtbot.addWidget(workbench)
    workbench.resize(1300, 700)
    workbench.show()
    with qtbot.waitSignals([workbench.loaded, workbench.analysed], timeout=20_000):
        workbench.load()
    return workbench


@pytest.fixture
def workbench(qtbot: QtBot, store: Store) -> LinkWorkbench:
    return open_workbench(qtbot, store, sandbox_factory(store))


def book_of(workbench: LinkWorkbench) -> LinkBook:
    assert workbench.book is not None
    return workbench.book


def record_named(workbench: LinkWorkbench, name: str, nth: int = 0) -> int:
    rows = [r for r, c in enumerate(book_of(workbench).ours) if c.name == name]
    return rows[nth]


def their_ref(workbench: LinkWorkbench, name: str) -> str:
    return next(c.ref for c in book_of(workbench).theirs if c.name == name)


def cell(workbench: LinkWorkbench, record: int, column: Column) -> QModelIndex:
    view_row = workbench.model.view_row(record)
    assert view_row is not None
    return workbench.model.index(view_row, column)


def text(workbench: LinkWorkbench, record: int, column: Column, role: int = 0) -> Any:
    return cell(workbench, record, column).data(role or Qt.ItemDataRole.DisplayRole)


def open_editor(qtbot: QtBot, workbench: LinkWorkbench, record: int) -> ReferenceEditor:
    assert workbench.select_record(record)
    index = cell(workbench, record, Column.REFERENCE)
    workbench.view.setFocus()
    workbench.view.edit(index)
    editor = workbench.view.viewport().findChild(ReferenceEditor)
    assert editor is not None
    qtbot.waitUntil(editor.isVisible)
    return editor


def paste_with_keyboard(qtbot: QtBot, workbench: LinkWorkbench, record: int, clip: str) -> None:
    clipboard = QApplication.clipboard()
    assert clipboard is not None
    clipboard.setText(clip)
    assert workbench.select_record(record)
    workbench.view.setFocus()
    qtbot.keyClick(workbench.view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)


# ----------------------------------------------------------------------------- entering


def test_typing_a_reference_links_the_row(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    record = record_named(workbench, STONEYGATE)
    ref = their_ref(workbench, STONEYGATE)
    editor = open_editor(qtbot, workbench, record)
    qtbot.keyClicks(editor, ref.lower())
    # A whole reference typed: no list of names gets in the way of Enter.
    completer = editor.completer()
    assert completer is not None and completer.completionCount() == 0
    with qtbot.waitSignal(workbench.dirty_changed) as dirty:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert dirty.args == [True]
    assert text(workbench, record, Column.REFERENCE) == ref
    assert text(workbench, record, Column.STATUS) == "Linked"
    assert text(workbench, record, Column.METHOD) == "Typed"
    assert text(workbench, record, Column.THEIR_NAME) == STONEYGATE
    assert workbench.tabs.tabText(3) == "Linked (1)"


def test_an_invalid_reference_is_marked_with_what_is_expected(
    qtbot: QtBot, workbench: LinkWorkbench
) -> None:
    record = record_named(workbench, STONEYGATE)
    editor = open_editor(qtbot, workbench, record)
    qtbot.keyClicks(editor, "12345")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: text(workbench, record, Column.STATUS) == "Invalid reference")
    tooltip = text(workbench, record, Column.REFERENCE, Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("“12345” is not a Sandbox contact ID. Expected a Sandbox contact ID")
    assert "SBX-C000042" in tooltip
    background = text(workbench, record, Column.REFERENCE, Qt.ItemDataRole.BackgroundRole)
    assert background is not None
    assert workbench.tabs.tabText(2) == "Problems (1)"


def test_pasting_an_id_with_the_keyboard(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    record = record_named(workbench, STONEYGATE)
    ref = their_ref(workbench, STONEYGATE)
    paste_with_keyboard(qtbot, workbench, record, f"  {ref}\n")
    qtbot.waitUntil(lambda: text(workbench, record, Column.REFERENCE) == ref)
    assert text(workbench, record, Column.METHOD) == "Pasted reference"
    assert text(workbench, record, Column.STATUS) == "Linked"


def _url_cases() -> list[PackageInfo]:
    return [info for info in PACKAGES if info.reference.url_example]


@pytest.mark.parametrize("info", _url_cases(), ids=lambda info: info.key)
def test_pasting_a_web_address_takes_the_id_out_of_it(
    qtbot: QtBot, store: Store, info: PackageInfo
) -> None:
    with store.session_factory() as session:
        ours = session.scalars(select(Contact).where(Contact.name == STONEYGATE)).one()
        details = {
            f: getattr(ours, f)
            for f in ("address_1", "address_2", "address_3", "town", "county", "postcode", "email")
        }
    if info is SAGE_BUSINESS_CLOUD:  # its addresses carry a number Sage looks up
        ref, legacy = info.reference.example, {"130175300": info.reference.example}
    else:
        parsed = info.reference.parse(info.reference.url_example)
        assert parsed is not None
        ref, legacy = parsed.reference, {}
    factory = memory_factory(info, [remote(ref, STONEYGATE, **details)], legacy)
    workbench = open_workbench(qtbot, store, factory, info)
    record = record_named(workbench, STONEYGATE)
    paste_with_keyboard(qtbot, workbench, record, info.reference.url_example)
    qtbot.waitUntil(lambda: text(workbench, record, Column.STATUS) == "Linked", timeout=10_000)
    assert text(workbench, record, Column.REFERENCE) == ref
    assert text(workbench, record, Column.METHOD) == "Pasted web address"
    assert text(workbench, record, Column.THEIR_NAME) == STONEYGATE


def test_pasting_a_column_fills_consecutive_rows_and_undoes_in_one_step(
    qtbot: QtBot, workbench: LinkWorkbench
) -> None:
    book = book_of(workbench)
    refs = [c.ref for c in book.theirs[10:15]]
    first = workbench.model.record(3)
    # Copied from a spreadsheet: Windows line ends, a second column, a trailing newline.
    paste_with_keyboard(qtbot, workbench, first, "".join(f"{r}\tignored\r\n" for r in refs))
    records = [workbench.model.record(row) for row in range(3, 8)]
    qtbot.waitUntil(lambda: [book.states[r].ref for r in records] == refs)
    assert {book.states[r].method for r in records} == {LinkMethod.PASTED_ID}
    assert workbench.undo_stack.count() == 1
    assert workbench.undo_stack.undoText() == "Paste 5 references"
    qtbot.keyClick(workbench.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [book.states[r].ref for r in records] == [""] * 5
    assert not workbench.dirty
    workbench.redo_button.click()
    assert [book.states[r].ref for r in records] == refs
    assert workbench.dirty


def test_picking_from_the_type_ahead_list(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    record = record_named(workbench, STONEYGATE)
    ref = their_ref(workbench, STONEYGATE)
    editor = open_editor(qtbot, workbench, record)
    editor.clear()
    qtbot.keyClicks(editor, "stoneyg")
    completer = editor.completer()
    assert completer is not None
    popup = completer.popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible)
    shown = [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())]
    assert shown == [f"{STONEYGATE} · LE18 7XX · accounts@stoneygate-guest-house.example"]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.text() == ref)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: text(workbench, record, Column.REFERENCE) == ref)
    assert text(workbench, record, Column.METHOD) == "Picked from list"


def test_joined_type_ahead_keys_find_what_each_key_alone_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(choices, "BLOCK", 3)  # keys across several blocks
    keys = [
        "smith\nle1 1aa",
        "ab",
        "csmi",
        "th\x00smith",  # the separator inside a key
        "smi",
        "",
        "z\u2019smith",  # beyond Latin-1: a wider block
        "sm",
        "mith",
    ]
    joined = choices.JoinedKeys(keys)
    needles = ["smith", "smi", "s", "mi", "th", "h", "b\x00c", "\x00", "i\x00t", "’s", "q", "sm"]
    for needle in needles:
        for limit in (1, 2, 100):
            containing = [i for i, key in enumerate(keys) if needle in key][:limit]
            starting = [i for i, key in enumerate(keys) if key.startswith(needle)][:limit]
            assert joined.containing(needle, limit) == containing, needle
            assert joined.starting(needle, limit) == starting, needle
    assert choices.JoinedKeys([]).containing("a", 5) == []


def test_delete_clears_the_selected_references(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    book = book_of(workbench)
    record = record_named(workbench, STONEYGATE)
    workbench.model.set_references({record: their_ref(workbench, STONEYGATE)})
    assert workbench.select_record(record)
    workbench.view.setFocus()
    qtbot.keyClick(workbench.view, Qt.Key.Key_Delete)
    assert book.states[record].ref == ""
    assert text(workbench, record, Column.STATUS) == "Will be created"


# ----------------------------------------------------------------------------- filters


def test_filter_tabs_and_search(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    model = workbench.model
    assert model.rowCount() == 200
    qtbot.keyClicks(workbench.search, "stoneygate g")
    assert [model.index(r, Column.NAME).data() for r in range(model.rowCount())] == [STONEYGATE]
    workbench.search.clear()
    assert model.rowCount() == 200
    record = record_named(workbench, STONEYGATE)
    workbench.model.set_references({record: "oops"})
    workbench.set_tab(Tab.PROBLEMS)
    assert [model.record(r) for r in range(model.rowCount())] == [record]
    workbench.set_tab(Tab.UNLINKED)
    assert model.rowCount() == 200  # an invalid entry links nothing
    workbench.set_tab(Tab.LINKED)
    assert model.rowCount() == 0


def test_sorting_by_a_column(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    model = workbench.model
    workbench.view.sortByColumn(Column.ACCOUNT, Qt.SortOrder.DescendingOrder)
    accounts = [model.index(r, Column.ACCOUNT).data() for r in range(model.rowCount())]
    assert accounts == sorted(accounts, reverse=True)
    assert accounts[0] == "CUS0200"


# ----------------------------------------------------------------------------- exact match


def test_the_exact_match_rule_refuses_then_their_spelling_fixes_it(
    qtbot: QtBot, store: Store
) -> None:
    workbench = open_workbench(
        qtbot, store, sandbox_factory(store, SageRuleSandbox), SAGE_RULE_INFO
    )
    confirm = Confirmations(answer=False)
    workbench.confirm = confirm
    book = book_of(workbench)
    suggestions = workbench.suggestions_model
    row = next(
        r
        for r in range(suggestions.rowCount())
        if suggestions.suggestion(r).strong
        and book.theirs[suggestions.suggestion(r).position].name.isupper()
    )
    chosen = suggestions.suggestion(row)
    record, theirs = chosen.row, book.theirs[chosen.position]
    ours_before = book.ours[record].name
    workbench.side.setCurrentIndex(1)
    workbench.suggestions_view.selectRow(row)
    workbench.accept_button.click()
    assert text(workbench, record, Column.STATUS) == "Details differ"
    assert workbench.select_record(record)
    workbench.side.setCurrentWidget(workbench.compare)

    compare = workbench.compare
    assert compare.use_button.isVisible()
    assert compare.differences.text() == "Name: capital letters differ."
    assert "cannot be saved until they do" in compare.rule.text()
    name_ours, name_theirs = compare.cells[0][1].text(), compare.cells[0][2].text()
    assert "background-color" in name_ours and "background-color" in name_theirs

    workbench.save_button.click()
    assert confirm.asked == []  # nothing else to save: it just says why
    assert workbench.message.text().startswith("Nothing can be saved yet:")
    assert "details differ" in workbench.message.text()
    with store.session_factory() as session:
        assert session.scalars(select(Link)).first() is None

    qtbot.mouseClick(compare.use_button, Qt.MouseButton.LeftButton)
    assert text(workbench, record, Column.STATUS) == "Linked"
    assert text(workbench, record, Column.NAME) == theirs.name
    assert not compare.use_button.isVisible()
    with qtbot.waitSignal(workbench.saved, timeout=10_000) as saved:
        workbench.save_button.click()
    assert saved.args[0].fixed == 1 and saved.args[0].linked == 1
    with store.session_factory() as session:
        contact = session.get(Contact, book.ours[record].id)
        assert contact is not None and contact.name == theirs.name
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact_spelling_copied")
        ).one()
        assert json.loads(event.detail)["fields"] == {"name": [ours_before, theirs.name]}
        assert session.scalars(select(Link)).one().remote_ref == theirs.ref


# ----------------------------------------------------------------------------- automatic


def test_link_exact_matches_leaves_namesakes_unlinked(qtbot: QtBot, store: Store) -> None:
    package = [
        remote("SBX-C000001", STONEYGATE),
        remote("SBX-C000002", "Brookside Academy"),
        remote("SBX-C000003", "Brookside Academy"),  # two records, one name
        remote("SBX-C000004", "David Jones"),  # one record, two of ours
    ]
    workbench = open_workbench(qtbot, store, memory_factory(SANDBOX, package))
    book = book_of(workbench)
    qtbot.mouseClick(workbench.exact_button, Qt.MouseButton.LeftButton)
    assert book.states[record_named(workbench, STONEYGATE)].ref == "SBX-C000001"
    assert text(workbench, record_named(workbench, STONEYGATE), Column.METHOD) == (
        "Exact name match"
    )
    assert book.states[record_named(workbench, "Brookside Academy")].ref == ""
    assert book.states[record_named(workbench, "David Jones", 0)].ref == ""
    assert book.states[record_named(workbench, "David Jones", 1)].ref == ""
    assert workbench.message.text() == (
        "Linked 1 exact name match. 3 left unlinked: the name belongs to more than one "
        "record (theirs or yours); pick the right one by hand."
    )
    workbench.undo_button.click()
    assert book.states[record_named(workbench, STONEYGATE)].ref == ""


def test_accepting_all_strong_suggestions(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    book = book_of(workbench)
    strong = [s for s in workbench.suggestions_model.items if s.strong]
    assert strong
    assert workbench.accept_strong_button.text() == f"Accept all &strong ({len(strong)})"
    workbench.accept_strong_button.click()
    for suggestion in strong:
        assert book.states[suggestion.row].method is LinkMethod.SUGGESTION
        assert text(workbench, suggestion.row, Column.METHOD) == "Accepted suggestion"
    qtbot.waitUntil(
        lambda: not any(s.strong for s in workbench.suggestions_model.items), timeout=LONG
    )
    assert workbench.undo_stack.count() == 1


def test_duplicates_are_flagged(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    duplicates = workbench.duplicates_model
    rows = [duplicates.duplicate(r) for r in range(duplicates.rowCount())]
    jones = [d for d in rows if "David Jones" in d.names]
    assert jones and jones[0].where == "Your list" and jones[0].reason == "the same name"
    ref = their_ref(workbench, STONEYGATE)
    a, b = record_named(workbench, STONEYGATE), record_named(workbench, "Brookside Academy")
    workbench.model.set_references({a: ref, b: ref})
    assert text(workbench, a, Column.STATUS) == text(workbench, b, Column.STATUS)
    assert text(workbench, a, Column.STATUS) == "Reference used twice"
    assert cell(workbench, a, Column.STATUS).data(STATUS_ROLE) == LinkStatus.USED_TWICE
    qtbot.waitUntil(
        lambda: duplicates.rowCount() > 0 and duplicates.duplicate(0).where == "Same reference",
        timeout=LONG,
    )
    assert duplicates.duplicate(0).reason == f"all linked to Sandbox (practice package)'s {ref}"


# ----------------------------------------------------------------------------- saving


def test_saving_counts_linked_customers_as_successful(
    qtbot: QtBot, store: Store, workbench: LinkWorkbench
) -> None:
    workbench.confirm = Confirmations()
    outcome = workbench.link_exact_matches()
    assert outcome is not None and outcome.links
    dirty: list[bool] = []
    workbench.dirty_changed.connect(dirty.append)
    with qtbot.waitSignal(workbench.saved, timeout=10_000) as saved:
        qtbot.mouseClick(workbench.save_button, Qt.MouseButton.LeftButton)
    assert saved.args[0].linked == len(outcome.links)
    assert dirty == [False] and not workbench.dirty
    assert workbench.message.text().startswith(f"Saved: {len(outcome.links)} linked, 0 unlinked")
    with store.session_factory() as session:
        shown = collect_status(session, store.paths).states
        assert shown["customer"]["successful"] == len(outcome.links)
        assert len(session.scalars(select(Link)).all()) == len(outcome.links)


def test_unlinking_warns_when_records_were_sent_under_the_old_link(
    qtbot: QtBot, store: Store, workbench: LinkWorkbench
) -> None:
    record = record_named(workbench, STONEYGATE)
    ref = their_ref(workbench, STONEYGATE)
    workbench.model.set_references({record: ref})
    with qtbot.waitSignal(workbench.saved, timeout=10_000):
        workbench.save()
    contact_id = book_of(workbench).ours[record].id
    with store.session_factory.begin() as session:
        sync_outbox(session, "sandbox")
        document = session.scalars(
            select(Document).where(Document.contact_id == contact_id)
        ).first()
        assert document is not None
        entry = entry_for(session, "sandbox", RecordType(document.kind.value), document.id)
        assert entry is not None
        entry.state = SendState.SUCCESSFUL
    with qtbot.waitSignal(workbench.loaded, timeout=20_000):
        workbench.load()

    confirm = Confirmations(answer=False)
    workbench.confirm = confirm
    assert workbench.select_record(record)
    workbench.view.setFocus()
    qtbot.keyClick(workbench.view, Qt.Key.Key_Delete)
    assert not workbench.save()
    ((title, asked),) = confirm.asked
    assert title == "Records already sent under the old link"
    assert "1 record was already sent to Sandbox (practice package) under" in asked
    assert confirm.yes_by_default == [False]  # Enter keeps the link as it was
    with store.session_factory() as session:
        assert session.scalars(select(Link)).one().remote_ref == ref

    confirm.answer = True
    with qtbot.waitSignal(workbench.saved, timeout=10_000) as saved:
        assert workbench.save()
    assert saved.args[0].unlinked == 1
    with store.session_factory() as session:
        assert session.scalars(select(Link)).first() is None
        entry = entry_for(session, "sandbox", RecordType.CUSTOMER, contact_id)
        assert entry is not None and entry.state is SendState.WAITING


def test_suppliers_have_their_own_grid(qtbot: QtBot, store: Store) -> None:
    workbench = open_workbench(qtbot, store, sandbox_factory(store), role=ContactRole.SUPPLIER)
    with store.session_factory() as session:
        suppliers = session.scalars(select(Contact).where(Contact.kind == ContactKind.SUPPLIER))
        assert workbench.model.rowCount() == len(suppliers.all())
    said = workbench.message.text()
    assert "in Sandbox (practice package), as Sandbox (practice package) listed them today" in said
    assert 'href="read-again"' in said


def test_the_packages_list_is_read_again_when_asked(qtbot: QtBot, store: Store) -> None:
    factory = sandbox_factory(store)
    workbench = open_workbench(qtbot, store, factory)
    before = len(book_of(workbench).theirs)
    with factory() as connector:
        assert isinstance(connector, SandboxConnector)
        connector.store.add_contact(ContactDraft(ContactRole.CUSTOMER, "", "New Since Ltd"))
    with qtbot.waitSignal(workbench.loaded, timeout=20_000):
        workbench.load()  # the copy kept in the store: as it was
    assert len(book_of(workbench).theirs) == before

    with qtbot.waitSignal(workbench.loaded, timeout=20_000):
        workbench.message.linkActivated.emit("read-again")
    assert len(book_of(workbench).theirs) == before + 1


def test_a_failed_load_says_why(qtbot: QtBot, store: Store) -> None:
    def broken() -> Connector:
        raise UserError("The Sandbox file is locked by another program.")

    workbench = LinkWorkbench(store.session_factory, broken, ContactRole.CUSTOMER, SANDBOX)
    qtbot.addWidget(workbench)
    with qtbot.waitSignal(workbench.failed, timeout=10_000) as failed:
        workbench.load()
    assert failed.args == ["The Sandbox file is locked by another program."]
    assert workbench.message.text() == (
        "Could not read the customers: The Sandbox file is locked by another program."
    )
    assert not workbench.save_button.isEnabled()


# ----------------------------------------------------------------------------- models


def test_every_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, workbench: LinkWorkbench
) -> None:
    qtmodeltester.check(workbench.model)
    workbench.search.setText("road")
    qtmodeltester.check(workbench.model)
    workbench.search.clear()
    qtmodeltester.check(workbench.suggestions_model)
    qtmodeltester.check(workbench.duplicates_model)
    assert workbench.choices is not None
    workbench.choices.set_query("e")
    assert workbench.choices.rowCount() == 50
    qtmodeltester.check(workbench.choices)


def test_the_grid_model_with_a_thousand_rows(
    qtbot: QtBot, qtmodeltester: ModelTester, store: Store
) -> None:
    ours = [
        OurContact(i, f"C{i:05d}", f"Customer {i}", postcode=f"LE{i % 90} 1AA") for i in range(1000)
    ]
    theirs = [TheirContact(f"SBX-C{i:06d}", f"Customer {i}") for i in range(0, 2000, 2)]
    data = WorkbenchData(ContactRole.CUSTOMER, ours, {}, {}, theirs, theirs_listed=True)
    workbench = LinkWorkbench(
        store.session_factory, sandbox_factory(store), ContactRole.CUSTOMER, SANDBOX
    )
    qtbot.addWidget(workbench)
    with qtbot.waitSignal(workbench.analysed, timeout=10_000):
        workbench.show_book(LinkBook(data, SANDBOX))
    assert workbench.model.rowCount() == 1000
    workbench.link_exact_matches()
    assert workbench.tabs.tabText(3) == "Linked (500)"
    qtmodeltester.check(workbench.model)
    workbench.view.sortByColumn(Column.STATUS, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(workbench.model)
    qtmodeltester.check(workbench.suggestions_model)


def test_the_editor_is_a_line_edit(qtbot: QtBot, workbench: LinkWorkbench) -> None:
    editor = open_editor(qtbot, workbench, record_named(workbench, STONEYGATE))
    assert isinstance(editor, QLineEdit)
    assert editor.placeholderText().startswith("Type a name, postcode or email")


def test_a_risky_question_answers_no_to_enter(qtbot: QtBot) -> None:
    """ "Link one record to two of yours — save anyway?" must not be a reflex Enter."""
    parent = QWidget()
    qtbot.addWidget(parent)
    risky = question_box(parent, "One record, two of yours", "Save anyway?", yes_by_default=False)
    assert risky.defaultButton() is risky.button(QMessageBox.StandardButton.No)
    assert risky.escapeButton() is risky.button(QMessageBox.StandardButton.No)
    plain = question_box(parent, "Save the others?", "Save?", yes_by_default=True)
    assert plain.defaultButton() is plain.button(QMessageBox.StandardButton.Yes)


def test_one_package_record_for_two_of_ours_needs_the_same_customer_choice(
    qtbot: QtBot, store: Store, workbench: LinkWorkbench
) -> None:
    ref = their_ref(workbench, STONEYGATE)
    first, second = record_named(workbench, STONEYGATE), 0
    if second == first:
        second = 1
    workbench.model.set_references({first: ref, second: ref})
    confirm = Confirmations(answer=False)
    workbench.confirm = confirm
    assert not workbench.save()
    ((title, asked),) = confirm.asked
    assert title == "Are these the same customer?"
    assert ref in asked and "one business entered twice" in asked
    with store.session_factory() as session:
        assert session.scalars(select(Link)).first() is None

    confirm.answer = True
    with qtbot.waitSignal(workbench.saved, timeout=10_000) as saved:
        assert workbench.save()
    assert saved.args[0].linked == 2
    with store.session_factory() as session:
        assert [link.remote_ref for link in session.scalars(select(Link))] == [ref, ref]


def test_account_and_name_stay_when_scrolling_sideways(
    qtbot: QtBot, workbench: LinkWorkbench
) -> None:
    """Our identity columns are frozen at the left; the reference, Status and How linked
    come straight after them (issue 19 §5)."""
    frozen = workbench.frozen
    assert frozen.model() is workbench.view.model()
    assert frozen.selectionModel() is workbench.view.selectionModel()
    shown = [c for c in range(frozen.model().columnCount()) if not frozen.isColumnHidden(c)]
    assert shown == [Column.ACCOUNT, Column.NAME]
    header = workbench.view.horizontalHeader()
    assert [header.logicalIndex(p) for p in range(5)] == [
        Column.ACCOUNT,
        Column.NAME,
        Column.REFERENCE,
        Column.STATUS,
        Column.METHOD,
    ]
    workbench.resize(900, 600)
    bar = workbench.view.horizontalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.maximum())
    assert frozen.isVisible()
    assert frozen.x() == workbench.view.frameWidth()
    assert frozen.width() == sum(workbench.view.columnWidth(c) for c in shown)
    # The frozen rows follow the grid's rows.
    workbench.view.verticalScrollBar().setValue(5)
    assert frozen.verticalScrollBar().value() == 5
    # Selecting in the grid selects the same row beside it.
    workbench.view.selectRow(3)
    assert frozen.selectionModel().isRowSelected(3)


def test_frozen_columns_step_aside_when_the_grid_is_too_narrow(
    qtbot: QtBot, workbench: LinkWorkbench
) -> None:
    frozen = workbench.frozen
    workbench.resize(1300, 700)
    qtbot.waitUntil(frozen.isVisible)
    workbench.view.setFixedWidth(frozen.frozen_width() + 40)
    qtbot.waitUntil(lambda: not frozen.isVisible())
    assert workbench.view.isVisible()


def test_side_panels_give_whole_values_as_tool_tips(workbench: LinkWorkbench) -> None:
    """A narrow Suggestions or Duplicates panel cuts cells and titles: the tool-tips
    carry them whole."""
    for model in (workbench.suggestions_model, workbench.duplicates_model):
        assert model.rowCount() > 0
        for column in range(model.columnCount()):
            title = model.headerData(column, Qt.Orientation.Horizontal)
            assert title
            tip = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
            assert tip == title
            cell = model.index(0, column)
            assert cell.data(Qt.ItemDataRole.ToolTipRole) == cell.data()
