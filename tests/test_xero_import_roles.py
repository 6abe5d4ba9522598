"""Xero's one-time import tells customers from suppliers by Xero's own marks
(``IsCustomer``: the contact has sales documents, ``IsSupplier``: purchase ones), or by
the role Ledgerlink created a contact in: a contact with both marks is both, one with
neither is shown for the user to choose and never guessed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import ContactKind
from app.services.importing.from_package import (
    import_package_contacts,
    preview_package_contacts,
)
from app.services.setup.connections import count_package_contacts
from connectors.contract import ContactRole
from connectors.xero import XeroConnector
from tests.connector_harness import open_xero, supplier
from tests.test_freeagent_import_roles import linked_here, roles_by_name

CUSTOMER, SUPPLIER = ContactRole.CUSTOMER, ContactRole.SUPPLIER

#: The connector, and the ContactIDs of its contacts by name.
Book = tuple[XeroConnector, dict[str, str]]


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    """Contacts keyed in by hand in Xero: one marked a customer, one a supplier, one
    both, one neither, and an archived customer; and a supplier Ledgerlink created,
    which Xero has not marked yet."""
    standin, connector = open_xero(tmp_path)
    org = standin.only_organisation()
    ids = {
        name: standin.add_contact(org, name, **marks)["ContactID"]
        for name, marks in (
            ("Abbey Hotel", {"IsCustomer": True}),
            ("Bolt Merchants", {"IsSupplier": True}),
            ("Corner Cafe", {"IsCustomer": True, "IsSupplier": True}),
            ("Dale Farm", {}),
            ("Elm Lodge", {"IsCustomer": True, "ContactStatus": "ARCHIVED"}),
        )
    }
    with connector:
        ids["Pipe World Ltd"] = connector.create_contact(supplier("S1", "Pipe World Ltd"), "k1")
        yield connector, ids


def test_the_connector_gives_each_active_contact_the_roles_xero_marks_it_with(
    book: Book,
) -> None:
    assert roles_by_name(book[0]) == {
        "Abbey Hotel": {CUSTOMER},
        "Bolt Merchants": {SUPPLIER},
        "Corner Cafe": {CUSTOMER, SUPPLIER},
        "Dale Farm": frozenset(),
        "Pipe World Ltd": {SUPPLIER},
    }


def test_the_link_lists_still_offer_an_unmarked_contact_on_both_sides(
    book: Book,
) -> None:
    connector, _ = book
    customers = {c.name for c in connector.iter_contacts(CUSTOMER)}
    suppliers = {c.name for c in connector.iter_contacts(SUPPLIER)}
    assert customers == {"Abbey Hotel", "Corner Cafe", "Dale Farm"}
    assert suppliers == {"Bolt Merchants", "Corner Cafe", "Dale Farm", "Pipe World Ltd"}


def test_the_import_takes_roles_from_xero_and_leaves_the_unmarked_to_the_user(
    session_factory: sessionmaker[Session], book: Book
) -> None:
    connector, ids = book
    preview = preview_package_contacts(session_factory, connector)
    shown = {(row.role, row.name): row.here_text for row in preview.rows}
    assert set(shown) == {
        (CUSTOMER, "Abbey Hotel"),
        (CUSTOMER, "Corner Cafe"),
        (SUPPLIER, "Bolt Merchants"),
        (SUPPLIER, "Corner Cafe"),
        (SUPPLIER, "Pipe World Ltd"),
        (None, "Dale Farm"),
    }
    assert shown[(None, "Dale Farm")].startswith("not yet: no invoices or bills there")

    report = import_package_contacts(session_factory, connector)
    assert (ContactKind.CUSTOMER, "Dale Farm", ids["Dale Farm"]) not in linked_here(session_factory)
    assert (ContactKind.SUPPLIER, "Dale Farm", ids["Dale Farm"]) not in linked_here(session_factory)
    assert (report.added[ContactKind.CUSTOMER], report.added[ContactKind.SUPPLIER]) == (2, 3)
    (undecided,) = report.undecided
    assert "Dale Farm" in undecided and ids["Dale Farm"] in undecided

    again = import_package_contacts(
        session_factory, connector, chosen={ids["Dale Farm"]: [CUSTOMER]}
    )
    assert again.total_added == 1 and not again.undecided
    assert {(k, n) for k, n, _ in linked_here(session_factory) if n == "Dale Farm"} == {
        (ContactKind.CUSTOMER, "Dale Farm")
    }


def test_connect_counts_each_xero_contact_in_the_roles_it_has(
    book: Book,
) -> None:
    # Abbey and Corner are customers; Bolt, Corner and Pipe World suppliers; Dale neither.
    assert count_package_contacts(book[0]) == (2, 3, 1)
