"""The link workbench's Qt-free half on the demo store: loading both lists, row states
and statuses, the exact-match rule, and saving in one transaction."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
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
from app.services.linking.matching import Reading, exact_matches, shared_names
from app.services.linking.workbench import (
    LinkBook,
    LinkRefused,
    LinkStatus,
    Tab,
    load_workbench,
    look_up_references,
    prepare_workbench,
    save_links,
)
from app.services.sending.outbox import entry_for, sync_outbox
from app.services.status import collect_status
from app.services.store import Store
from connectors.catalogue import QUICKBOOKS_DESKTOP, SAGE_BUSINESS_CLOUD
from connectors.contract import ContactRole
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


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def store(demo_template: Path, tmp_path: Path, store_url: str) -> Iterator[Store]:
    yield from demo_store_fixture(demo_template, tmp_path, store_url)


def customers_book(store: Store, cls: type[SandboxConnector] = SandboxConnector) -> LinkBook:
    book = prepare_workbench(
        store.session_factory, sandbox_factory(store, cls), ContactRole.CUSTOMER
    )
    book.set_analysis(book.analysis()())
    return book


def row_of(book: LinkBook, account_ref: str) -> int:
    return next(r for r, c in enumerate(book.ours) if c.account_ref == account_ref)


def row_named(book: LinkBook, name: str) -> int:
    return next(r for r, c in enumerate(book.ours) if c.name == name)


def sandbox_ref_named(book: LinkBook, name: str) -> str:
    return next(c.ref for c in book.theirs if c.name == name)


# ----------------------------------------------------------------------------- loading


def test_loading_reads_our_contacts_links_and_the_packages_list(store: Store) -> None:
    with store.session_factory.begin() as session:
        first = session.scalars(
            select(Contact).where(Contact.kind == ContactKind.CUSTOMER).order_by(Contact.id)
        ).first()
        assert first is not None
        session.add(
            Link(
                package="sandbox",
                contact_id=first.id,
                remote_ref="SBX-C000001",
                method=LinkMethod.CSV,
            )
        )
        our_count = len(
            session.scalars(select(Contact).where(Contact.kind == ContactKind.CUSTOMER)).all()
        )
    progress: list[object] = []
    with SandboxConnector(sandbox_factory(store)().context) as connector:
        data = load_workbench(
            store.session_factory,
            connector,
            ContactRole.CUSTOMER,
            threading.Event(),
            progress.append,
        )
        package_count = connector.store.count_contacts(ContactRole.CUSTOMER)
    assert len(data.ours) == our_count == 200
    assert len(data.theirs) == package_count
    assert [c.name.casefold() for c in data.ours] == sorted(c.name.casefold() for c in data.ours)
    (row,) = data.links
    assert data.ours[row].id == first.id
    assert data.links[row].ref == "SBX-C000001"
    assert data.links[row].method is LinkMethod.CSV
    assert any("Sandbox" in str(p) for p in progress)


def test_a_fresh_book_has_every_row_waiting_to_be_created(store: Store) -> None:
    book = customers_book(store)
    assert book.tab_counts() == {Tab.ALL: 200, Tab.UNLINKED: 200, Tab.PROBLEMS: 0, Tab.LINKED: 0}
    assert not book.dirty


# ----------------------------------------------------------------------------- states


def test_typing_references_sets_each_rows_status(store: Store) -> None:
    book = customers_book(store)
    a, b, c = 0, 1, 2
    ref = book.theirs[5].ref
    book.apply({a: book.reading_state(a, "nonsense")})
    assert book.statuses[a] is LinkStatus.INVALID
    assert "is not a Sandbox contact ID" in book.explain(a)
    book.apply({b: book.reading_state(b, "SBX-C999999")})
    assert book.statuses[b] is LinkStatus.NOT_FOUND
    assert "has no customer SBX-C999999" in book.explain(b)
    book.apply({c: book.reading_state(c, ref.lower())})
    assert book.states[c].ref == ref  # the package's own spelling
    assert book.states[c].method is LinkMethod.TYPED
    assert book.statuses[c] is LinkStatus.LINKED
    assert book.tab_counts()[Tab.PROBLEMS] == 2
    assert book.dirty


def test_one_reference_on_two_rows_is_flagged_on_both_until_one_changes(store: Store) -> None:
    book = customers_book(store)
    ref = book.theirs[0].ref
    touched = book.apply(
        {3: book.reading_state(3, ref), 4: book.reading_state(4, ref, pasted=True)}
    )
    assert touched == {3, 4}
    assert book.statuses[3] is book.statuses[4] is LinkStatus.USED_TWICE
    assert book.states[4].method is LinkMethod.PASTED_ID
    assert book.shared_refs() == {ref: [3, 4]}
    assert book.apply({4: book.reading_state(4, "")}) == {3, 4}
    assert book.statuses[3] is LinkStatus.LINKED
    assert book.statuses[4] is LinkStatus.WILL_BE_CREATED
    assert book.shared_refs() == {}


def test_a_pasted_web_address_links_by_the_id_inside_it(store: Store) -> None:
    book = customers_book(store)
    ref = book.theirs[7].ref
    state = book.reading_state(0, f"https://sandbox.ledgerlink.invalid/contacts/{ref}", pasted=True)
    assert (state.ref, state.method) == (ref, LinkMethod.PASTED_URL)


def test_filters_by_tab_and_text(store: Store) -> None:
    book = customers_book(store)
    row = row_named(book, "Stoneygate Guest House")
    book.apply({row: book.reading_state(row, sandbox_ref_named(book, "Stoneygate Guest House"))})
    everything = list(range(len(book)))
    assert book.matching(everything, Tab.LINKED, "") == [row]
    assert book.matching(everything, Tab.ALL, "STONEYGATE") == [row]
    assert book.matching(everything, Tab.ALL, book.ours[row].postcode.lower()) == [row]
    assert row not in book.matching(everything, Tab.UNLINKED, "")
    assert book.matching(everything, Tab.PROBLEMS, "") == []


def test_exact_matches_and_suggestions_on_the_demo(store: Store) -> None:
    book = customers_book(store)
    assert book._name_matches is not None  # worked out by the analysis
    states, outcome = book.exact_match_states()
    # The same as without the analysis (worked out when asked).
    fresh = prepare_workbench(store.session_factory, sandbox_factory(store), ContactRole.CUSTOMER)
    assert fresh._name_matches is None
    assert fresh.exact_match_states() == (states, outcome)
    book.apply(states)
    assert {book.states[r].method for r in states} == {LinkMethod.AUTO_EXACT}
    # Every auto link is an exact name match, and no namesake elsewhere was taken.
    for row in states:
        theirs = book.their_contact(row)
        assert theirs is not None and theirs.name == book.ours[row].name
    assert outcome.contradicted  # the demo's namesakes live at other addresses
    for row in outcome.contradicted:
        assert not book.states[row].ref
    strong = [s for s in book.open_suggestions() if s.strong]
    assert strong
    accepted = book.suggestion_states(strong)
    book.apply(accepted)
    assert all(book.states[r].method is LinkMethod.SUGGESTION for r in accepted)
    assert not [s for s in book.open_suggestions() if s.row in accepted]


def test_search_keys_made_by_the_analysis_follow_edits_made_meanwhile(store: Store) -> None:
    book = prepare_workbench(store.session_factory, sandbox_factory(store), ContactRole.CUSTOMER)
    run = book.analysis()  # its snapshot is taken here; the grid is edited while it runs
    ref = book.theirs[0].ref
    renamed = book.states[1]._replace(details=book.ours[1]._replace(name="Renamed Lettings"))
    book.apply({0: book.reading_state(0, ref), 1: renamed})
    assert book._keys is None  # nobody has searched yet
    book.set_analysis(run())
    assert book._keys is not None  # taken from the analysis
    assert book.search_keys == [book._search_key(r) for r in range(len(book))]
    assert ref.casefold() in book.search_keys[0]
    assert "renamed lettings" in book.search_keys[1]
    assert book.matching(range(len(book)), Tab.ALL, "Renamed Lett") == [1]
    # Made when first needed instead: the same keys.
    fresh = prepare_workbench(store.session_factory, sandbox_factory(store), ContactRole.CUSTOMER)
    fresh.apply({0: fresh.reading_state(0, ref), 1: renamed})
    assert fresh.search_keys == book.search_keys


def test_open_suggestions_follow_each_edit(store: Store) -> None:
    """Worked out from the edits since the last call, they stay what the plain rule
    gives: the row still unlinked and the record still free."""
    book = customers_book(store)
    book.set_analysis(book.analysis()())

    def plain_rule() -> list:
        taken = {book.their_position(r) for r in range(len(book)) if book.states[r].ref}
        return [
            s for s in book.suggestions if not book.states[s.row].ref and s.position not in taken
        ]

    at_first = book.open_suggestions()
    assert at_first == plain_rule()
    first, second = book.suggestions[0], book.suggestions[-1]
    other = next(r for r in range(len(book)) if r not in (first.row, second.row))
    record_ref = book.index.reference_of(book.theirs[second.position])
    edits = [
        {first.row: book.link_state(first.row, first.position, LinkMethod.SUGGESTION)},
        {other: book.reading_state(other, record_ref)},  # takes another row's record
        {first.row: book.reading_state(first.row, "")},
        {other: book.reading_state(other, "")},
    ]
    for edit in edits:
        book.apply(edit)
        assert book.open_suggestions() == plain_rule()
    assert book.open_suggestions() == at_first  # every edit undone
    states, _ = book.exact_match_states()  # many rows at once: worked out afresh
    book.apply(states)
    assert book.open_suggestions() == plain_rule()


# ----------------------------------------------------------------------------- saving


@pytest.mark.both_stores
def test_saving_links_makes_their_outbox_rows_successful(store: Store) -> None:
    book = customers_book(store)
    states, _ = book.exact_match_states()
    book.apply(states)
    plan = book.save_plan()
    assert len(plan.links) == len(states) and not plan.blocked
    outcome = save_links(store.session_factory, book.info, plan)
    assert outcome.linked == len(states)
    with store.session_factory() as session:
        links = {link.contact_id: link for link in session.scalars(select(Link))}
        assert len(links) == len(states)
        for row in states:
            contact_id = book.ours[row].id
            assert links[contact_id].method is LinkMethod.AUTO_EXACT
            entry = entry_for(session, "sandbox", RecordType.CUSTOMER, contact_id)
            assert entry is not None and entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == book.states[row].ref
        shown = collect_status(session, store.paths).states
        assert shown["customer"]["successful"] == len(states)
    book.mark_saved(plan)
    assert not book.dirty


def test_rows_with_problems_are_left_out_of_the_save_with_why(store: Store) -> None:
    book = customers_book(store)
    good = row_named(book, "Stoneygate Guest House")
    book.apply(
        {
            0: book.reading_state(0, "rubbish"),
            good: book.reading_state(good, sandbox_ref_named(book, "Stoneygate Guest House")),
        }
    )
    plan = book.save_plan()
    assert [p.change.contact_id for p in plan.links] == [book.ours[good].id]
    ((row, why),) = plan.blocked
    assert row == 0
    assert why.startswith(f"{book.ours[0].name} ({book.ours[0].account_ref}): invalid reference")


def _send_an_invoice(store: Store, contact_id: int) -> None:
    with store.session_factory.begin() as session:
        sync_outbox(session, "sandbox")
        document = session.scalars(
            select(Document).where(Document.contact_id == contact_id)
        ).first()
        assert document is not None
        entry = entry_for(session, "sandbox", RecordType(document.kind.value), document.id)
        assert entry is not None
        entry.state = SendState.SUCCESSFUL
        entry.remote_id = "SBX-D000001"


@pytest.mark.both_stores
def test_unlinking_a_contact_with_sent_records_warns_first(store: Store) -> None:
    book = customers_book(store)
    row = row_named(book, "Stoneygate Guest House")
    ref = sandbox_ref_named(book, "Stoneygate Guest House")
    book.apply({row: book.reading_state(row, ref)})
    save_links(store.session_factory, book.info, book.save_plan())
    _send_an_invoice(store, book.ours[row].id)

    book = customers_book(store)  # reopened: the link and the sent invoice are known
    assert book.states[row].ref == ref
    assert book.statuses[row] is LinkStatus.LINKED
    book.apply({row: book.reading_state(row, "")})
    plan = book.save_plan()
    (warning,) = plan.unlink_warnings
    assert warning == (
        f"Stoneygate Guest House ({book.ours[row].account_ref}): 1 record was already sent "
        f"to Sandbox (practice package) under {ref}; it stays there."
    )
    outcome = save_links(store.session_factory, book.info, plan)
    assert outcome.unlinked == 1
    assert outcome.warnings  # apply_links says the same after the fact
    with store.session_factory() as session:
        assert session.scalars(select(Link)).first() is None
        entry = entry_for(session, "sandbox", RecordType.CUSTOMER, book.ours[row].id)
        assert entry is not None and entry.state is SendState.WAITING


# ----------------------------------------------------------------------------- exact match


@pytest.mark.both_stores
def test_the_exact_match_rule_refuses_a_link_until_the_spelling_is_copied(store: Store) -> None:
    book = customers_book(store, SageRuleSandbox)
    assert book.info is SAGE_RULE_INFO
    near = next(
        s for s in book.open_suggestions() if s.strong and book.theirs[s.position].name.isupper()
    )
    row, theirs = near.row, book.theirs[near.position]
    book.apply(book.suggestion_states([near]))
    assert book.statuses[row] is LinkStatus.DETAILS_DIFFER
    assert "Different: name." in book.explain(row)
    plan = book.save_plan()
    assert not plan.links and [r for r, _ in plan.blocked] == [row]

    fixed = book.spelling_state(row)
    assert fixed is not None and fixed.details is not None
    assert fixed.details.name == theirs.name
    book.apply({row: fixed})
    assert book.statuses[row] is LinkStatus.LINKED
    assert book.contact(row).name == theirs.name
    assert book.ours[row].name != theirs.name  # ours changes only when saved
    plan = book.save_plan()
    assert len(plan.fixes) == 1 and len(plan.links) == 1
    save_links(store.session_factory, book.info, plan, actor="tester")
    with store.session_factory() as session:
        contact = session.get(Contact, book.ours[row].id)
        assert contact is not None and contact.name == theirs.name
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact_spelling_copied")
        ).one()
        assert (event.actor, event.record_id, event.package) == ("tester", contact.id, "sandbox")
        detail = json.loads(event.detail)
        assert detail["remote_ref"] == theirs.ref
        assert detail["fields"] == {"name": [book.ours[row].name, theirs.name]}
        link = session.scalars(select(Link)).one()
        assert link.remote_ref == theirs.ref and link.method is LinkMethod.SUGGESTION
    before = book._our_names()
    book.mark_saved(plan)
    assert book.ours[row].name == theirs.name and not book.dirty
    # The copied spelling is now one of our names: the counts follow it, and "Link
    # exact matches" no longer uses what the analysis found by the old names.
    assert book._our_names() == shared_names(book.ours)
    assert before is not book._our_names()
    assert book._name_matches is None
    _, outcome = book.exact_match_states()
    taken = book._taken().__contains__
    unlinked = book.unlinked_rows()
    fields = book.exact_fields
    assert outcome == exact_matches(book.ours, unlinked, book.index, taken, exact_fields=fields)


@pytest.mark.both_stores
def test_saving_checks_the_rule_against_the_database_and_writes_nothing_if_broken(
    store: Store,
) -> None:
    book = customers_book(store, SageRuleSandbox)
    row = next(r for r in range(len(book)) if book.ours[r].name == "Stoneygate Guest House")
    book.apply({row: book.reading_state(row, sandbox_ref_named(book, "Stoneygate Guest House"))})
    assert book.statuses[row] is LinkStatus.LINKED
    plan = book.save_plan()
    with store.session_factory.begin() as session:  # someone edits the contact meanwhile
        contact = session.get(Contact, book.ours[row].id)
        assert contact is not None
        contact.email = "NEW@example.com"
    with pytest.raises(LinkRefused) as refused:
        save_links(store.session_factory, book.info, plan)
    assert str(refused.value).startswith(
        f"Stoneygate Guest House ({book.ours[row].account_ref}): email is “NEW@example.com” here"
    )
    with store.session_factory() as session:
        assert session.scalars(select(Link)).first() is None


# ----------------------------------------------------------------------------- other packages


def test_a_link_by_name_package_checks_the_exact_name(store: Store) -> None:
    info = replace(QUICKBOOKS_DESKTOP, can_list_contacts=True)
    factory = memory_factory(info, [remote("8000-1", "Stoneygate Guest House")])
    with factory() as connector:
        data = load_workbench(store.session_factory, connector, ContactRole.CUSTOMER)
    book = LinkBook(data, info)
    book.set_analysis(book.analysis()())
    row = row_named(book, "Stoneygate Guest House")
    book.apply({row: book.reading_state(row, "Stoneygate  Guest House")})
    assert book.statuses[row] is LinkStatus.NOT_FOUND
    assert "Did you mean “Stoneygate Guest House”? Capitals and spaces count." in book.explain(row)
    assert "Here spaces differ." in book.explain(row)
    book.apply({row: book.reading_state(row, "Stoneygate Guest House")})
    assert book.statuses[row] is LinkStatus.LINKED
    assert book.states[row].ref == "Stoneygate Guest House"


def test_a_package_that_cannot_list_contacts_checks_only_the_form(store: Store) -> None:
    # A name-linked package that cannot list its contacts (QuickBooks Desktop before
    # the Web Connector has read them).
    info = replace(QUICKBOOKS_DESKTOP, can_list_contacts=False)
    factory = memory_factory(info, [])
    with factory() as connector:
        data = load_workbench(store.session_factory, connector, ContactRole.CUSTOMER)
    book = LinkBook(data, info)
    book.apply({0: book.reading_state(0, "Anything: with a colon")})
    assert book.statuses[0] is LinkStatus.INVALID
    book.apply({0: book.reading_state(0, "Some Name")})
    assert book.statuses[0] is LinkStatus.LINKED
    assert "cannot list its contacts" in book.explain(0)


def test_a_sage_web_address_is_looked_up_by_its_number(store: Store) -> None:
    sage_ref = SAGE_BUSINESS_CLOUD.reference.example
    factory = memory_factory(
        SAGE_BUSINESS_CLOUD,
        [remote(sage_ref, "Stoneygate Guest House")],
        legacy={"130175300": sage_ref},
    )
    with factory() as connector:
        data = load_workbench(store.session_factory, connector, ContactRole.CUSTOMER)
    book = LinkBook(data, SAGE_BUSINESS_CLOUD)
    row = row_named(book, "Stoneygate Guest House")
    book.apply(
        {row: book.reading_state(row, SAGE_BUSINESS_CLOUD.reference.url_example, pasted=True)}
    )
    assert book.states[row].reading is Reading.NEEDS_LOOKUP
    assert book.statuses[row] is LinkStatus.LOOKING_UP
    assert book.pending_lookups() == {"130175300"}
    pasted = book.states[row]
    found = look_up_references(factory, book.pending_lookups())
    assert book.resolve(found) == {row}
    assert book.states[row].ref == sage_ref
    assert book.states[row].method is LinkMethod.PASTED_URL
    assert not book.pending_lookups()
    # Undo, then redo of the paste: the state from before the answer gets its reference.
    book.apply({row: book.reading_state(row, "")})
    book.apply({row: pasted})
    assert book.states[row].ref == sage_ref
    # Found; Sage's record here has only a name, so the exact-match rule objects.
    assert book.statuses[row] is LinkStatus.DETAILS_DIFFER
    other = row_named(book, "Brookside Academy")
    book.apply(
        {
            other: book.reading_state(
                other, "https://accounts-extra.sageone.com/contacts/customers/99"
            )
        }
    )
    book.resolve(look_up_references(factory, book.pending_lookups()))
    assert book.statuses[other] is LinkStatus.NOT_FOUND
    assert "no contact with the web-address number 99" in book.explain(other)
