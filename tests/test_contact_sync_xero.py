"""The contact sync on a cloud package: the linking scenarios of issue 15 (manual link,
auto-link on exact name, linked to a different name) through the sync service against
the Xero stand-in, each write going through ``POST /Contacts/{ContactID}``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config import DataPaths
from app.db.models import Contact, ContactSync, Link, LinkMethod, Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.linking.saving import LinkChange, apply_links
from app.services.linking.sync import (
    Direction,
    SyncOutcome,
    SyncRow,
    apply_sync,
    switch_sync,
    sync_rows,
)
from app.services.linking.workbench import prepare_workbench, save_links
from app.services.setup.state import choose_package
from app.services.store import open_store
from connectors.contract import ContactRole
from connectors.xero import XeroConnector
from tests.connector_harness import customer, open_xero
from tests.send_fixtures import CUSTOMERS, SUPPLIERS
from tests.standins.xero import Organisation, ms_date


class Rig:
    """Our contacts (none sent), a Xero organisation holding the same businesses as
    someone typed them into Xero, and a way to open a connector to it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.store = open_store(DataPaths(tmp_path / "store"))
        for kind, text in ((ImportKind.CUSTOMERS, CUSTOMERS), (ImportKind.SUPPLIERS, SUPPLIERS)):
            report = import_csv_bytes(
                self.store.session_factory, kind, text.encode(), file=f"{kind.value}.csv"
            )
            assert report.ok, report.describe()
        with self.store.session_factory.begin() as session:
            choose_package(session, "xero", Situation.SIDE_BY_SIDE)
        self.standin, _ = open_xero(tmp_path)

    @property
    def org(self) -> Organisation:
        return self.standin.only_organisation()

    def connector(self) -> XeroConnector:
        _, opened = open_xero(self.tmp_path, self.standin)
        return opened

    def their_contact(self, ref: str) -> dict[str, Any]:
        return self.org.contacts[ref]

    def typed_into_xero(self, name: str, **fields: str) -> str:
        """A contact someone made in Xero three hours ago."""
        with self.connector() as connector:
            ref = connector.create_contact(customer("", name, **fields), f"typed.{name}")
        self.org.contacts[ref]["UpdatedDateUTC"] = ms_date(time.time() - 3 * 3600)
        return ref

    def contact_id(self, account_ref: str) -> int:
        with self.store.session_factory() as session:
            return session.scalars(
                select(Contact.id).where(Contact.account_ref == account_ref)
            ).one()

    def link(self, account_ref: str, ref: str, name: str) -> None:
        with self.store.session_factory.begin() as session:
            apply_links(
                session,
                "xero",
                [LinkChange(self.contact_id(account_ref), ref, name, LinkMethod.TYPED)],
                actor="test",
            )

    def change_ours(self, account_ref: str, **values: str) -> None:
        with self.store.session_factory.begin() as session:
            contact = session.scalars(
                select(Contact).where(Contact.account_ref == account_ref)
            ).one()
            for name, value in values.items():
                setattr(contact, name, value)

    def ours(self, account_ref: str) -> Contact:
        with self.store.session_factory() as session:
            contact = session.scalars(
                select(Contact).where(Contact.account_ref == account_ref)
            ).one()
            session.expunge(contact)
            return contact

    def change_in_xero(self, ref: str, **address: str) -> None:
        """As a bookkeeper would in Xero's own screens."""
        contact = self.org.contacts[ref]
        pobox = next(a for a in contact["Addresses"] if a["AddressType"] == "POBOX")
        pobox.update(address)
        contact["UpdatedDateUTC"] = ms_date(time.time())

    def archive_in_xero(self, ref: str) -> None:
        self.org.contacts[ref].update(ContactStatus="ARCHIVED", UpdatedDateUTC=ms_date(time.time()))

    def rows(self) -> dict[str, SyncRow]:
        with self.connector() as connector:
            return {r.account_ref: r for r in sync_rows(self.store.session_factory, connector)}

    def switch_on(self) -> int:
        with self.connector() as connector:
            return switch_sync(self.store.session_factory, connector, True, actor="test")

    def apply(self, rows: list[SyncRow], choices: dict[int, Direction]) -> SyncOutcome:
        with self.connector() as connector:
            return apply_sync(self.store.session_factory, connector, rows, choices, actor="test")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path)
    yield made
    made.store.close()
    assert made.standin.spec_problems == []


def test_a_manual_link_syncs_each_way_and_a_conflict_waits_for_the_user(rig: Rig) -> None:
    ada = rig.typed_into_xero(
        "Ada Boilers Ltd",
        address_1="1 Mill Lane",
        town="Leicester",
        postcode="LE1 1AA",
        email="ada@example.com",
    )
    ben = rig.typed_into_xero(
        "Ben Pipes",
        address_1="2 Mill Lane",
        town="Leicester",
        postcode="LE1 1AB",
        email="ben@example.com",
    )
    rig.link("C1", ada, "Ada Boilers Ltd")
    rig.link("C2", ben, "Ben Pipes")
    assert rig.switch_on() == 2
    # Never-linked contacts (C3, S1) never appear, whatever changes.
    rig.change_ours("C3", town="Nowhere")
    assert rig.rows() == {}

    rig.change_ours("C1", email="accounts@adaboilers.example")
    rig.change_in_xero(ben, PostalCode="LE2 7ZZ")
    rig.standin.modified_since.clear()
    rows = rig.rows()
    assert set(rows) == {"C1", "C2"}
    # Every linked contact has agreed values: only the contacts Xero changed since (a
    # margin before) the agreement were read, and Ada's side came from the agreed values.
    assert rig.standin.modified_since
    assert rows["C1"].theirs["email"] == "ada@example.com"
    assert (rows["C2"].changed_ours, rows["C2"].changed_theirs) == (False, True)
    assert rows["C1"].offered is Direction.OURS_TO_PACKAGE
    assert rows["C2"].offered is Direction.PACKAGE_TO_OURS
    outcome = rig.apply(list(rows.values()), {r.contact_id: r.offered for r in rows.values()})
    assert (outcome.to_package, outcome.to_ours, outcome.failed) == (1, 1, [])
    assert rig.their_contact(ada)["EmailAddress"] == "accounts@adaboilers.example"
    assert rig.their_contact(ada)["Name"] == "Ada Boilers Ltd"
    assert rig.ours("C2").postcode == "LE2 7ZZ"
    assert rig.rows() == {}

    # Changed on both sides: a conflict, never resolved by "apply what is offered".
    rig.change_ours("C1", town="Oadby")
    rig.change_in_xero(ada, City="Wigston")
    (row,) = rig.rows().values()
    assert row.conflict and row.offered is Direction.LEAVE
    outcome = rig.apply([row], {row.contact_id: row.offered})
    assert outcome.left == 1
    assert rig.ours("C1").town == "Oadby"
    assert (
        next(a for a in rig.their_contact(ada)["Addresses"] if a["AddressType"] == "POBOX")["City"]
        == "Wigston"
    )
    rig.apply([row], {row.contact_id: Direction.OURS_TO_PACKAGE})
    assert rig.rows() == {}


def test_an_auto_link_on_exact_name_syncs_and_a_refusal_fails_only_its_row(
    rig: Rig,
) -> None:
    for name, line, postcode in (
        ("Ada Boilers Ltd", "1 Mill Lane", "LE1 1AA"),
        ("Ben Pipes", "2 Mill Lane", "LE1 1AB"),
        ("Cara Heating", "3 Mill Lane", "LE1 1AC"),
    ):
        rig.typed_into_xero(name, address_1=line, town="Leicester", postcode=postcode)
    book = prepare_workbench(rig.store.session_factory, rig.connector, ContactRole.CUSTOMER)
    states, _ = book.exact_match_states()
    book.apply(states)
    assert len(states) == 3
    save_links(rig.store.session_factory, book.info, book.save_plan())
    with rig.store.session_factory() as session:
        refs = {
            c.account_ref: link.remote_ref
            for link, c in session.execute(select(Link, Contact).join(Contact)).all()
            if link.method is LinkMethod.AUTO_EXACT
        }
    assert set(refs) == {"C1", "C2", "C3"}
    rig.switch_on()
    rig.change_ours("C1", phone="0116 496 0001")
    rig.change_ours("C2", phone="0116 496 0002")
    rig.archive_in_xero(refs["C2"])
    rows = rig.rows()
    assert set(rows) == {"C1"}  # Xero no longer lists the archived one
    # An archived contact read by id still shows: the row fails with Xero's reason.
    with rig.connector() as connector:
        archived = connector.get_contact(refs["C2"])
    assert archived is not None
    row_c2 = SyncRow(
        contact_id=rig.contact_id("C2"),
        role=ContactRole.CUSTOMER,
        account_ref="C2",
        our_name="Ben Pipes",
        their_ref=refs["C2"],
        their_name="Ben Pipes",
        ours={**rows["C1"].ours, "phone": "0116 496 0002"},
        theirs={**rows["C1"].theirs},
        differing=("phone",),
        changed_ours=True,
        changed_theirs=False,
    )
    outcome = rig.apply(
        [rows["C1"], row_c2],
        {
            rows["C1"].contact_id: Direction.OURS_TO_PACKAGE,
            row_c2.contact_id: Direction.OURS_TO_PACKAGE,
        },
    )
    assert outcome.to_package == 1
    ((label, why),) = outcome.failed
    assert "Ben Pipes" in label and "archived in Xero" in why and "Restore" in why
    assert rig.their_contact(refs["C1"])["Phones"][-1]["PhoneNumber"] == "0116 496 0001"


def test_a_link_to_a_differently_named_xero_contact_is_kept_and_shown(rig: Rig) -> None:
    company_b = rig.typed_into_xero("Company B", town="Derby")
    rig.link("C3", company_b, "Company B")
    rig.switch_on()
    (row,) = rig.rows().values()
    assert (row.our_name, row.their_name) == ("Cara Heating", "Company B")
    assert row.names_differ and row.conflict  # never agreed yet: the user chooses
    outcome = rig.apply([row], {row.contact_id: Direction.OURS_TO_PACKAGE})
    assert outcome.failed == []
    contact = rig.their_contact(company_b)
    assert contact["Name"] == "Company B"  # the link's other name is kept
    pobox = next(a for a in contact["Addresses"] if a["AddressType"] == "POBOX")
    assert (pobox["AddressLine1"], pobox["City"]) == ("3 Mill Lane", "Leicester")
    assert rig.ours("C3").name == "Cara Heating"
    assert rig.rows() == {}


def test_only_the_contacts_xero_reports_changed_are_read_once_all_have_agreed(
    rig: Rig,
) -> None:
    ada = rig.typed_into_xero("Ada Boilers Ltd", address_1="1 Mill Lane", town="Leicester")
    ben = rig.typed_into_xero("Ben Pipes", address_1="2 Mill Lane", town="Leicester")
    rig.link("C1", ada, "Ada Boilers Ltd")
    rig.link("C2", ben, "Ben Pipes")
    # Different on purpose: the first sync settles them, with the user's direction.
    first = rig.rows()
    assert set(first) == {"C1", "C2"} and not rig.standin.modified_since  # read in full
    rig.switch_on()
    rig.apply(
        list(first.values()), {r.contact_id: Direction.OURS_TO_PACKAGE for r in first.values()}
    )
    assert rig.rows() == {}
    # That sync was two hours ago; Xero last changed both contacts before it (changes are
    # read from an hour before the oldest agreement, for the two clocks).
    with rig.store.session_factory.begin() as session:
        for state in session.scalars(select(ContactSync)):
            state.synced_at -= timedelta(hours=2)
    for ref in (ada, ben):
        rig.org.contacts[ref]["UpdatedDateUTC"] = ms_date(time.time() - 4 * 3600)
    # An edit Xero did not stamp as modified (it always does; here only to prove the
    # point) is not read: Ada's side comes from the values agreed, Ben's from Xero.
    rig.org.contacts[ada]["EmailAddress"] = "unseen@example.com"
    rig.change_in_xero(ben, City="Hinckley")
    rig.standin.modified_since.clear()
    (row,) = rig.rows().values()
    assert row.account_ref == "C2" and row.theirs["town"] == "Hinckley"
    assert len(rig.standin.modified_since) == 1
    # A contact archived in Xero since is gone from the sync, as a full listing shows.
    rig.archive_in_xero(ben)
    assert rig.rows() == {}
