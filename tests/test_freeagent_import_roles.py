"""FreeAgent's one-time import tells customers from suppliers by FreeAgent's own contact
list views (``clients``, ``suppliers``): a contact in both is both, one in neither is
shown for the user to choose and never guessed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QComboBox, QStyleOptionViewItem, QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, Link
from app.services.importing.from_package import (
    import_package_contacts,
    preview_package_contacts,
)
from app.services.setup.connections import count_package_contacts
from connectors.contract import ContactRole, contacts_with_roles
from connectors.freeagent import FreeAgentConnector
from tests.harnesses_cloud import open_freeagent
from tests.standins.freeagent import FreeAgentStandIn
from wizard_pages.import_page import TypeChoiceDelegate
from wizard_pages.models import PackageContactModel

CUSTOMER, SUPPLIER = ContactRole.CUSTOMER, ContactRole.SUPPLIER


@dataclass
class Book:
    standin: FreeAgentStandIn
    connector: FreeAgentConnector
    #: Contact numbers by name.
    numbers: dict[str, str]


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    """Five contacts keyed in by hand in FreeAgent: one with an invoice, one with a
    bill, one with both, one with neither, and a hidden one with an invoice."""
    standin = FreeAgentStandIn()
    company = standin.add_company()
    made = {
        name: standin.add_contact(company, name)
        for name in ("Abbey Hotel", "Bolt Merchants", "Corner Cafe", "Dale Farm", "Elm Lodge")
    }
    standin.add_invoice(company, made["Abbey Hotel"])
    standin.add_bill(company, made["Bolt Merchants"])
    standin.add_invoice(company, made["Corner Cafe"])
    standin.add_bill(company, made["Corner Cafe"], paid=True)
    standin.add_invoice(company, made["Elm Lodge"])
    company.contacts[made["Elm Lodge"]]["status"] = "Hidden"
    _, connector = open_freeagent(tmp_path, standin)
    with connector:
        yield Book(standin, connector, {name: str(n) for name, n in made.items()})


def _names_in_view(book: Book, view: str) -> set[str]:
    client = httpx.Client(transport=book.standin.transport())
    token = book.connector.oauth.tokens.access_token()
    response = client.get(
        "https://api.freeagent.com/v2/contacts",
        params={"view": view},
        headers={"Authorization": f"Bearer {token}", "User-Agent": "test"},
    )
    assert response.status_code == 200, response.text
    return {c["organisation_name"] for c in response.json()["contacts"]}


def test_the_standin_answers_freeagents_contact_views(book: Book) -> None:
    everyone = {"Abbey Hotel", "Bolt Merchants", "Corner Cafe", "Dale Farm", "Elm Lodge"}
    assert _names_in_view(book, "all") == everyone
    assert _names_in_view(book, "active") == everyone - {"Elm Lodge"}
    assert _names_in_view(book, "hidden") == {"Elm Lodge"}
    # "clients": all of them, hidden ones too; "suppliers": active ones only.
    assert _names_in_view(book, "clients") == {"Abbey Hotel", "Corner Cafe", "Elm Lodge"}
    assert _names_in_view(book, "suppliers") == {"Bolt Merchants", "Corner Cafe"}
    assert _names_in_view(book, "open_clients") == {"Abbey Hotel", "Corner Cafe", "Elm Lodge"}
    assert _names_in_view(book, "open_suppliers") == {"Bolt Merchants"}
    assert _names_in_view(book, "active_projects") == set()


def test_an_unknown_view_is_refused(book: Book) -> None:
    with pytest.raises(AssertionError, match="Unknown view"):
        _names_in_view(book, "customers")


def roles_by_name(connector: object) -> dict[str, frozenset[ContactRole]]:
    """Each contact the package lists with roles, by name, with the roles it gives."""
    capable = contacts_with_roles(connector)
    assert capable is not None
    return {c.contact.name: c.roles for c in capable.iter_contacts_with_roles()}


def test_the_connector_gives_each_active_contact_the_roles_freeagent_lists_it_in(
    book: Book,
) -> None:
    assert roles_by_name(book.connector) == {
        "Abbey Hotel": {CUSTOMER},
        "Bolt Merchants": {SUPPLIER},
        "Corner Cafe": {CUSTOMER, SUPPLIER},
        "Dale Farm": frozenset(),
    }
    # Three list reads (clients, suppliers, active), whatever the number of contacts.
    assert book.standin.requests.count(("GET", "/v2/contacts")) == 3


def test_the_link_lists_still_offer_every_active_contact(book: Book) -> None:
    for role in ContactRole:
        names = {c.name for c in book.connector.iter_contacts(role)}
        assert names == {"Abbey Hotel", "Bolt Merchants", "Corner Cafe", "Dale Farm"}


def linked_here(session_factory: sessionmaker[Session]) -> set[tuple[ContactKind, str, str]]:
    """(kind, name, package reference) of each of our contacts linked to the package."""
    with session_factory() as session:
        rows = session.execute(
            select(Contact.kind, Contact.name, Link.remote_ref).join(
                Link, Link.contact_id == Contact.id
            )
        )
        return {(kind, name, ref) for kind, name, ref in rows}


def test_the_import_takes_roles_from_freeagent_and_leaves_the_roleless_to_the_user(
    session_factory: sessionmaker[Session], book: Book
) -> None:
    n = book.numbers
    preview = preview_package_contacts(session_factory, book.connector)
    shown = {(row.role, row.name): row.here_text for row in preview.rows}
    assert set(shown) == {
        (CUSTOMER, "Abbey Hotel"),
        (CUSTOMER, "Corner Cafe"),
        (SUPPLIER, "Bolt Merchants"),
        (SUPPLIER, "Corner Cafe"),
        (None, "Dale Farm"),
    }
    assert shown[(None, "Dale Farm")].startswith("not yet: no invoices or bills there")
    assert (preview.new, preview.undecided) == (5, 1)

    report = import_package_contacts(session_factory, book.connector)
    assert linked_here(session_factory) == {
        (ContactKind.CUSTOMER, "Abbey Hotel", n["Abbey Hotel"]),
        (ContactKind.CUSTOMER, "Corner Cafe", n["Corner Cafe"]),
        (ContactKind.SUPPLIER, "Bolt Merchants", n["Bolt Merchants"]),
        (ContactKind.SUPPLIER, "Corner Cafe", n["Corner Cafe"]),
    }
    assert (report.added[ContactKind.CUSTOMER], report.added[ContactKind.SUPPLIER]) == (2, 2)
    (undecided,) = report.undecided
    assert "Dale Farm" in undecided and n["Dale Farm"] in undecided
    assert "neither a customer nor a supplier there yet" in report.describe()

    # The user chooses: Dale Farm is a supplier. Only it comes in; nothing twice.
    again = import_package_contacts(
        session_factory, book.connector, chosen={n["Dale Farm"]: [SUPPLIER]}
    )
    assert again.total_added == 1 and again.already_here == 4 and not again.undecided
    assert (ContactKind.SUPPLIER, "Dale Farm", n["Dale Farm"]) in linked_here(session_factory)
    later = preview_package_contacts(session_factory, book.connector)
    assert (later.new, later.undecided) == (0, 0)


def test_a_customer_who_later_becomes_a_supplier_too_is_added_as_a_supplier(
    session_factory: sessionmaker[Session], book: Book
) -> None:
    import_package_contacts(session_factory, book.connector)
    company = book.standin.only_company()
    book.standin.add_bill(company, int(book.numbers["Abbey Hotel"]))
    report = import_package_contacts(session_factory, book.connector)
    assert report.added[ContactKind.SUPPLIER] == 1 and report.total_added == 1
    assert (ContactKind.SUPPLIER, "Abbey Hotel", book.numbers["Abbey Hotel"]) in linked_here(
        session_factory
    )


def test_the_import_list_lets_the_user_choose_a_type_only_where_freeagent_gives_none(
    session_factory: sessionmaker[Session], book: Book, qtmodeltester: ModelTester
) -> None:
    model = PackageContactModel()
    model.set_rows(preview_package_contacts(session_factory, book.connector).rows)
    qtmodeltester.check(model)
    rows = {model.index(r, 1).data(): r for r in range(model.rowCount())}
    dale, abbey = model.index(rows["Dale Farm"], 0), model.index(rows["Abbey Hotel"], 0)
    assert dale.data() == "Choose…" and model.undecided() == 1
    assert not model.setData(abbey, "Supplier")  # FreeAgent already says: customer
    assert not model.setData(dale, "Nonsense")
    assert model.setData(dale, "Customer and supplier")
    assert dale.data() == "Customer and supplier" and model.undecided() == 0
    assert model.chosen() == {book.numbers["Dale Farm"]: frozenset({CUSTOMER, SUPPLIER})}
    report = import_package_contacts(session_factory, book.connector, chosen=model.chosen())
    assert report.total_added == 6 and not report.undecided


def test_the_type_drop_down_writes_the_choice_into_the_list(
    session_factory: sessionmaker[Session], book: Book, qtbot: QtBot
) -> None:
    model = PackageContactModel()
    model.set_rows(preview_package_contacts(session_factory, book.connector).rows)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = TypeChoiceDelegate(view)
    row = next(r for r in range(model.rowCount()) if model.index(r, 1).data() == "Dale Farm")
    index = model.index(row, PackageContactModel.TYPE)
    editor = delegate.createEditor(view.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(editor, QComboBox)
    assert [editor.itemText(i) for i in range(editor.count())] == [
        "Choose…",
        "Customer",
        "Supplier",
        "Customer and supplier",
    ]
    delegate.setEditorData(editor, index)
    assert editor.currentText() == "Choose…"
    editor.setCurrentText("Supplier")
    delegate.setModelData(editor, model, index)
    assert model.chosen() == {book.numbers["Dale Farm"]: frozenset({SUPPLIER})}


def test_connect_counts_each_freeagent_contact_in_the_roles_it_has(book: Book) -> None:
    # Abbey (client), Bolt (supplier), Corner (both); Dale is neither; Elm is hidden.
    assert count_package_contacts(book.connector) == (2, 2, 1)
