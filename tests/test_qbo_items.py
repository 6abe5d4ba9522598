"""Nominal mapping for QuickBooks Online: our sales accounts map to items (choose one, or
let Ledgerlink add one for an income account — only with the user's consent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AccountMapping, AuditEvent, NominalAccount
from app.services.errors import SetupError
from app.services.setup.qbo_items import (
    ConsentRequired,
    create_and_map,
    create_item_for_account,
    item_choices,
    map_to_item,
)
from connectors.catalogue import QUICKBOOKS_ONLINE
from connectors.errors import Rejected
from connectors.quickbooks_online import QuickBooksOnlineConnector
from tests.connector_harness import Chart, customer, invoice, line
from tests.harnesses_cloud import open_qbo
from tests.standins.qbo import QboStandIn


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[QboStandIn, QuickBooksOnlineConnector]]:
    standin, connector = open_qbo(tmp_path)
    with connector:
        yield standin, connector


def _item_posts(standin: QboStandIn) -> int:
    return sum(1 for m, p in standin.requests if m == "POST" and p.endswith("/item"))


def test_choices_list_items_with_their_income_accounts(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
) -> None:
    _, connector = opened
    choices = item_choices(connector)
    assert {(i.name, i.income_account_name, i.income_account_code) for i in choices.items} == {
        ("Sales", "Sales", "4000"),
        ("Services", "Services", "4010"),
    }
    materials = next(a for a in choices.income_accounts if a.name == "Sales of Product Income")
    assert choices.items_posting_to(materials.id) == []
    assert [a.code for a in choices.income_accounts] == ["4000", "4010", "4020", "4900"]


def test_no_item_is_added_without_consent(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
    session_factory: sessionmaker[Session],
) -> None:
    standin, connector = opened
    materials = next(a for a in connector.list_income_accounts() if a.code == "4020")
    before = len(standin.only_company().items)
    with pytest.raises(ConsentRequired, match="only when you agree"):
        create_item_for_account(connector, materials.id, "Materials", consent=False)
    with pytest.raises(ConsentRequired):
        create_and_map(
            session_factory,
            connector,
            "SALES-MAT",
            materials.id,
            "Materials",
            consent=False,
            actor="test",
        )
    assert _item_posts(standin) == 0
    assert len(standin.only_company().items) == before
    with session_factory() as session:
        assert session.scalars(select(AccountMapping)).all() == []


def test_an_item_added_with_consent_is_mapped_and_sales_post_to_its_account(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
    session_factory: sessionmaker[Session],
) -> None:
    standin, connector = opened
    materials = next(a for a in connector.list_income_accounts() if a.code == "4020")

    item = create_and_map(
        session_factory,
        connector,
        "SALES-MAT",
        materials.id,
        "  Materials ",
        consent=True,
        actor="test",
    )

    assert (item.name, item.income_account_id) == ("Materials", materials.id)
    with session_factory() as session:
        mapping = session.scalars(
            select(AccountMapping).join(NominalAccount).where(NominalAccount.code == "SALES-MAT")
        ).one()
        # The convention: the item as item:<Id>, coded with its income account's number.
        assert mapping.package == "quickbooks_online"
        assert mapping.remote_id == f"item:{item.id}"
        assert mapping.remote_code == "4020"
        assert mapping.remote_name == "Materials (posts to Sales of Product Income)"
        actions = {e.action for e in session.scalars(select(AuditEvent))}
        assert {"qbo_item_created", "mapped_account"} <= actions
    assert any(a.id == mapping.remote_id for a in connector.list_accounts())

    chart = Chart.discover(connector)
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(
        chart, "INV-1", who, date(2026, 1, 5), line(chart, "2", "15", account_id=mapping.remote_id)
    )
    made = standin.only_company().invoices[connector.create_document(draft, "k-i")]
    detail = made["Line"][0]["SalesItemLineDetail"]
    assert detail["ItemRef"]["value"] == item.id
    assert detail["ItemAccountRef"]["value"] == materials.id


def test_an_existing_item_is_chosen_without_adding_anything(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
    session_factory: sessionmaker[Session],
) -> None:
    standin, connector = opened
    services = next(i for i in item_choices(connector).items if i.name == "Services")
    with session_factory.begin() as session:
        mapping = map_to_item(session, QUICKBOOKS_ONLINE, "sales-lab", services, actor="test")
        assert (mapping.remote_id, mapping.remote_code) == (f"item:{services.id}", "4010")
    assert _item_posts(standin) == 0


def test_only_sales_accounts_map_to_items(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
    session_factory: sessionmaker[Session],
) -> None:
    _, connector = opened
    services = item_choices(connector).items[0]
    with session_factory.begin() as session, pytest.raises(SetupError, match="bank account"):
        map_to_item(session, QUICKBOOKS_ONLINE, "BANK", services, actor="test")
    with session_factory.begin() as session, pytest.raises(SetupError, match="NOPE"):
        map_to_item(session, QUICKBOOKS_ONLINE, "NOPE", services, actor="test")


def test_an_item_name_quickbooks_already_has_is_refused(
    opened: tuple[QboStandIn, QuickBooksOnlineConnector],
) -> None:
    _, connector = opened
    sales = next(a for a in connector.list_income_accounts() if a.code == "4000")
    with pytest.raises(Rejected) as caught:
        create_item_for_account(connector, sales.id, "services", consent=True)
    assert (caught.value.code, caught.value.field) == ("duplicate_name", "name")
    assert "choose that one" in caught.value.fix.lower()
    with pytest.raises(Rejected) as wrong:
        create_item_for_account(connector, "999", "Extras", consent=True)
    assert wrong.value.code == "unknown_account" and "999" in wrong.value.reason
