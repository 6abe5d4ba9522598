"""Situation 3's one-time import of the package's customers and suppliers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import Contact, ContactKind, Link, LinkMethod, OutboxEntry, SendState
from app.services.importing.from_package import (
    AccountRefs,
    ImportProgress,
    import_package_contacts,
    preview_package_contacts,
)
from app.services.linking.package_list import cached_list
from app.services.linking.saving import CHANGED_ELSEWHERE, LinkChange, apply_links
from app.services.setup.connections import connector_for
from connectors.contract import ContactDraft, ContactRole, RemoteContact
from connectors.sandbox import SandboxConnector


def draft(role: ContactRole, name: str, our_ref: str = "", **fields: str) -> ContactDraft:
    return ContactDraft(role=role, our_ref=our_ref, name=name, **fields)


@pytest.fixture
def sandbox(data_paths: DataPaths) -> Iterator[SandboxConnector]:
    connector = connector_for(data_paths, "sandbox")
    assert isinstance(connector, SandboxConnector)
    with connector:
        connector.store.add_contacts(
            [
                draft(ContactRole.CUSTOMER, "Stoneygate Guest House", "CUS0001", town="Wigston"),
                draft(ContactRole.CUSTOMER, "Brookside Academy", postcode="LE10 2HN"),
                draft(ContactRole.CUSTOMER, "Mr G. Dawson", "CUS0003"),
                draft(ContactRole.SUPPLIER, "Soar Valley Plumbers' Merchants Ltd", "SUP001"),
            ]
        )
        yield connector


def contacts(session: Session) -> dict[str, Contact]:
    return {c.name: c for c in session.scalars(select(Contact))}


def test_preview_counts_and_marks_what_is_already_here(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    preview = preview_package_contacts(session_factory, sandbox)
    assert preview.count(ContactRole.CUSTOMER) == 3
    assert preview.count(ContactRole.SUPPLIER) == 1
    assert (preview.new, preview.already_here) == (4, 0)
    assert preview.rows[0].name == "Stoneygate Guest House"
    assert preview.rows[0].town == "Wigston"
    import_package_contacts(session_factory, sandbox)
    preview = preview_package_contacts(session_factory, sandbox)
    assert (preview.new, preview.already_here) == (0, 4)


def test_import_creates_linked_contacts_that_never_send(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    seen: list[ImportProgress] = []
    report = import_package_contacts(session_factory, sandbox, progress=seen.append)
    assert report.added == {ContactKind.CUSTOMER: 3, ContactKind.SUPPLIER: 1}
    assert report.already_here == 0 and not report.cancelled
    assert "Imported 3 customers and 1 supplier from Sandbox" in report.describe()
    assert seen[-1] == ImportProgress(4, 4, "")
    with session_factory() as session:
        ours = contacts(session)
        # The package's own reference for the contact is kept as our account reference;
        # where it has none, one is made from the name.
        assert ours["Stoneygate Guest House"].account_ref == "CUS0001"
        assert ours["Brookside Academy"].account_ref == "BROOKS01"
        assert ours["Brookside Academy"].postcode == "LE10 2HN"
        assert ours["Soar Valley Plumbers' Merchants Ltd"].kind is ContactKind.SUPPLIER
        links = {link.contact_id: link for link in session.scalars(select(Link))}
        for contact in ours.values():
            link = links[contact.id]
            assert link.method is LinkMethod.IMPORTED
            assert sandbox.get_contact(link.remote_ref) is not None
            assert sandbox.get_contact(link.remote_ref).name == contact.name  # type: ignore[union-attr]
        states = {e.record_id: e.state for e in session.scalars(select(OutboxEntry))}
        assert set(states.values()) == {SendState.SUCCESSFUL}


def test_the_import_keeps_the_packages_list_for_the_link_page(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    import_package_contacts(session_factory, sandbox)
    with session_factory() as session:
        customers = cached_list(session, "sandbox", ContactRole.CUSTOMER)
        suppliers = cached_list(session, "sandbox", ContactRole.SUPPLIER)
    assert customers is not None and suppliers is not None
    assert [c.name for c in customers.contacts] == [
        c.name for c in sandbox.iter_contacts(ContactRole.CUSTOMER)
    ]
    assert [c.name for c in suppliers.contacts] == ["Soar Valley Plumbers' Merchants Ltd"]


def test_running_again_adds_only_new_contacts_and_says_so(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    import_package_contacts(session_factory, sandbox)
    again = import_package_contacts(session_factory, sandbox)
    assert again.total_added == 0 and again.already_here == 4
    assert "4 contacts were already here" in again.describe()
    assert "nothing new was added" in again.describe()

    sandbox.store.add_contact(draft(ContactRole.CUSTOMER, "Brookside Academy Annexe"))
    third = import_package_contacts(session_factory, sandbox)
    assert third.added == {ContactKind.CUSTOMER: 1}
    assert third.already_here == 4
    with session_factory() as session:
        ours = contacts(session)
        assert len(ours) == 5
        # Unique even though the name starts the same way as an earlier import's.
        assert ours["Brookside Academy Annexe"].account_ref == "BROOKS02"


def test_cancel_between_chunks_keeps_whole_chunks_and_the_next_run_continues(
    session_factory: sessionmaker[Session],
    sandbox: SandboxConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.services.importing.from_package.CHUNK", 2)
    cancel = threading.Event()

    def stop_after_first_chunk(step: ImportProgress) -> None:
        if step.done >= 2:
            cancel.set()

    report = import_package_contacts(
        session_factory, sandbox, cancel=cancel, progress=stop_after_first_chunk
    )
    assert report.cancelled and report.total_added == 2
    assert "Import cancelled" in report.describe()
    with session_factory() as session:
        assert len(contacts(session)) == 2
        assert len(session.scalars(select(Link)).all()) == 2
    rest = import_package_contacts(session_factory, sandbox)
    assert (rest.total_added, rest.already_here) == (2, 2)


def test_a_contact_we_cannot_keep_is_reported_by_name_and_field(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    sandbox.store.add_contact(draft(ContactRole.CUSTOMER, "Long Postcode Ltd", postcode="X" * 17))
    report = import_package_contacts(session_factory, sandbox)
    assert report.total_added == 4
    assert len(report.skipped) == 1
    assert "Long Postcode Ltd" in report.skipped[0]
    assert "postcode is 17 characters long" in report.skipped[0]
    assert "1 contact could not be imported" in report.describe()


def test_an_empty_package_says_there_is_nothing(
    session_factory: sessionmaker[Session], data_paths: DataPaths
) -> None:
    with connector_for(data_paths, "sandbox") as empty:
        report = import_package_contacts(session_factory, empty)
    assert report.total_added == 0
    assert "has no customers or suppliers to import" in report.describe()


def test_account_refs_are_unique_per_kind() -> None:
    refs = AccountRefs([(ContactKind.CUSTOMER, "acme01"), (ContactKind.SUPPLIER, "SUP001")])

    def remote(name: str, our_ref: str = "") -> RemoteContact:
        return RemoteContact(ref="R", role=ContactRole.CUSTOMER, name=name, our_ref=our_ref)

    assert refs.make(ContactKind.CUSTOMER, remote("Acme Heating")) == "ACMEHE01"
    assert refs.make(ContactKind.CUSTOMER, remote("ACME")) == "ACME02"
    assert refs.make(ContactKind.CUSTOMER, remote("Other", our_ref="ACME02")) == "OTHER01"
    assert refs.make(ContactKind.CUSTOMER, remote("Someone", our_ref="SUP001")) == "SUP001"
    assert refs.make(ContactKind.SUPPLIER, remote("Someone", our_ref="SUP001")) == "SOMEON01"
    assert refs.make(ContactKind.CUSTOMER, remote("&&&")) == "CUS01"
    assert refs.make(ContactKind.CUSTOMER, remote("X", our_ref="R" * 40)) == "X01"


def _ours(session_factory: sessionmaker[Session], *rows: tuple[ContactKind, str, str, str]) -> None:
    with session_factory.begin() as session:
        for kind, ref, name, email in rows:
            session.add(Contact(kind=kind, account_ref=ref, name=name, email=email))


def test_contacts_already_ours_are_linked_not_added_and_namesakes_are_never_guessed(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    with sandbox:
        sandbox.store.add_contacts(
            [
                draft(ContactRole.CUSTOMER, "J. Patel", email="jp@example.com"),
                draft(ContactRole.CUSTOMER, "Agnieszka King", email="ak@example.com"),
            ]
        )
    _ours(
        session_factory,
        (ContactKind.CUSTOMER, "CUS0001", "Stoneygate Guest House", ""),  # same reference
        (ContactKind.CUSTOMER, "CUS0002", "Brookside Academy", ""),  # same name
        (ContactKind.CUSTOMER, "CUS0031", "J. Patel", ""),  # two of ours: namesakes
        (ContactKind.CUSTOMER, "CUS0109", "J. Patel", ""),
        (ContactKind.CUSTOMER, "CUS0050", "A. King", "AK@example.com"),  # same email
        (ContactKind.SUPPLIER, "SUP009", "Mr G. Dawson", ""),  # a supplier, not a customer
    )

    preview = preview_package_contacts(session_factory, sandbox)
    here = {row.name: row.here_text for row in preview.rows}
    assert here["Stoneygate Guest House"] == (
        "yes, as CUS0001 “Stoneygate Guest House”, same account reference: will be linked"
    )
    assert here["J. Patel"].startswith("unsure: could be CUS0031 “J. Patel” or CUS0109")
    assert here["Mr G. Dawson"] == "no, new"

    report = import_package_contacts(session_factory, sandbox)

    assert report.linked_existing == {ContactKind.CUSTOMER: 3}
    assert report.added == {ContactKind.CUSTOMER: 1, ContactKind.SUPPLIER: 1}
    (unsure,) = report.ambiguous
    assert "J. Patel" in unsure and "CUS0031" in unsure and "CUS0109" in unsure
    assert "3 contacts were already in Ledgerlink" in report.describe()
    with session_factory() as session:
        names = [c.name for c in session.scalars(select(Contact))]
        assert names.count("Stoneygate Guest House") == 1
        assert names.count("J. Patel") == 2  # nothing guessed, nothing added
        assert names.count("Mr G. Dawson") == 2  # our supplier, and the package's customer
        links = {
            link.contact_id: link.method
            for link in session.scalars(select(Link).where(Link.package == "sandbox"))
        }
        by_ref = {c.account_ref: c.id for c in session.scalars(select(Contact))}
        for ref in ("CUS0001", "CUS0002", "CUS0050"):
            assert links[by_ref[ref]] is LinkMethod.AUTO_EXACT
        assert by_ref["CUS0031"] not in links and by_ref["CUS0109"] not in links


def test_a_package_needing_equal_details_leaves_a_near_twin_for_the_link_page(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    from dataclasses import replace

    _ours(session_factory, (ContactKind.CUSTOMER, "B1", "Brookside Academy", ""))
    strict = replace(sandbox.info, exact_match_fields=("name", "address", "email"))
    sandbox.info = strict  # the Sandbox under Sage's rule: our postcode is empty

    report = import_package_contacts(session_factory, sandbox)

    assert not report.linked_existing
    assert any("needs the details to be equal" in line for line in report.ambiguous)


def _id_of(session_factory: sessionmaker[Session], account_ref: str) -> int:
    with session_factory() as session:
        return session.scalars(select(Contact.id).where(Contact.account_ref == account_ref)).one()


def _package_ref(sandbox: SandboxConnector, name: str) -> str:
    with sandbox:
        return next(c.ref for c in sandbox.store.list_contacts() if c.name == name)


@pytest.mark.both_stores
def test_links_saved_since_the_preview_refuse_the_import(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    _ours(session_factory, (ContactKind.CUSTOMER, "CUS0001", "Stoneygate Guest House", ""))
    preview = preview_package_contacts(session_factory, sandbox)
    here = {row.name: row.here_text for row in preview.rows}
    assert here["Stoneygate Guest House"].endswith("will be linked")
    # Someone else links our Stoneygate to another package contact after the preview.
    other = _package_ref(sandbox, "Mr G. Dawson")
    with session_factory.begin() as session:
        apply_links(
            session, "sandbox", [LinkChange(_id_of(session_factory, "CUS0001"), other)], actor="b"
        )

    report = import_package_contacts(session_factory, sandbox, preview=preview)

    assert CHANGED_ELSEWHERE in report.refused
    assert "Stoneygate Guest House (CUS0001)" in report.refused
    assert report.refused in report.describe()
    assert (report.total_added, sum(report.linked_existing.values())) == (0, 0)
    with session_factory() as session:
        assert len(contacts(session)) == 1  # nothing added
        assert session.scalars(select(Link.remote_ref)).all() == [other]  # theirs kept
    # The preview read again shows their link; importing it then goes ahead.
    again = preview_package_contacts(session_factory, sandbox)
    report = import_package_contacts(session_factory, sandbox, preview=again)
    assert not report.refused and report.total_added == 3


@pytest.mark.both_stores
def test_a_package_contact_linked_by_someone_else_during_the_import_is_not_added_again(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    _ours(session_factory, (ContactKind.SUPPLIER, "SUP777", "Soar Valley (ours)", ""))
    soar = _package_ref(sandbox, "Soar Valley Plumbers' Merchants Ltd")
    preview = preview_package_contacts(session_factory, sandbox)

    def someone_links_it(step: ImportProgress) -> None:
        # After the import has read the links, before it writes its first chunk.
        if step.done == 0 and step.current:
            with session_factory.begin() as session:
                ours = _id_of(session_factory, "SUP777")
                apply_links(session, "sandbox", [LinkChange(ours, soar)], actor="b")

    report = import_package_contacts(
        session_factory, sandbox, preview=preview, progress=someone_links_it
    )

    assert CHANGED_ELSEWHERE in report.refused and soar in report.refused
    assert report.total_added == 0
    with session_factory() as session:
        names = sorted(contacts(session))
        assert names == ["Soar Valley (ours)"]  # not added a second time
        assert session.scalars(select(Link.remote_ref)).all() == [soar]
