"""Sage trusts a link only when our name, address and email equal its own exactly,
capitals included: the link workbench refuses the link while our email differs only in
case, and accepts it once Sage's spelling is copied into our record.

The Sage contact is found the way a bookkeeper does it: by pasting its web address,
carrying the contact's id (an older one, carrying Sage's legacy number, is searched for
and, when not found, the row offers the pick by name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, Link, LinkMethod
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.linking.matching import Reading
from app.services.linking.saving import LinkChange
from app.services.linking.workbench import (
    LinkRefused,
    LinkStatus,
    PlannedLink,
    SavePlan,
    look_up_references,
    prepare_workbench,
    save_links,
)
from connectors.contract import Connector, ContactRole
from tests.harnesses_cloud import open_sage
from tests.standins.sage import WEB, SageStandIn

CUSTOMERS = """account_ref,name,address_1,address_2,town,county,postcode,email
AB01,Abbey Boilers Ltd,Unit 4,Mill Lane,Leeds,West Yorkshire,LS1 4AB,Accounts@Abbey.example
"""


@pytest.fixture
def standin() -> SageStandIn:
    standin = SageStandIn()
    business = standin.add_business()
    standin.add_contact(
        business,
        "CUSTOMER",
        "Abbey Boilers Ltd",
        reference="ABBEY",
        email="accounts@abbey.example",
        main_address={
            "address_line_1": "Unit 4",
            "address_line_2": "Mill Lane",
            "city": "Leeds",
            "region": "West Yorkshire",
            "postal_code": "LS1 4AB",
            "country_id": "GB",
        },
    )
    return standin


@pytest.fixture
def connector_factory(standin: SageStandIn, tmp_path: Path) -> Callable[[], Connector]:
    def make() -> Connector:
        return open_sage(tmp_path, standin)[1]

    return make


@pytest.fixture
def ours(session_factory: sessionmaker[Session]) -> int:
    report = import_csv_bytes(
        session_factory, ImportKind.CUSTOMERS, CUSTOMERS.encode(), file="customers.csv"
    )
    assert report.ok, report.describe()
    with session_factory() as session:
        return session.scalars(select(Contact.id)).one()


def test_link_is_refused_while_our_email_differs_only_in_case_then_accepted_with_their_spelling(
    session_factory: sessionmaker[Session],
    standin: SageStandIn,
    connector_factory: Callable[[], Connector],
    ours: int,
) -> None:
    (sage_contact,) = standin.only_business().contacts.values()
    older = f"{WEB}/contacts/customers/{sage_contact['legacy_id']}"
    book = prepare_workbench(session_factory, connector_factory, ContactRole.CUSTOMER)

    # An older web address carries Sage's legacy number, which v3.1 cannot look up: Sage's
    # search finds nothing for it, and the row says so and offers the pick by name.
    state = book.reading_state(0, older, pasted=True)
    assert state.reading is Reading.NEEDS_LOOKUP and state.method is LinkMethod.PASTED_URL
    book.apply({0: state})
    assert book.statuses[0] is LinkStatus.LOOKING_UP
    book.resolve(look_up_references(connector_factory, book.pending_lookups()))
    assert book.statuses[0] is LinkStatus.NOT_FOUND and book.states[0].ref == ""
    explained = book.explain(0)
    assert f"found no contact with the web-address number {sage_contact['legacy_id']}" in explained
    assert "type its name, postcode or email in this cell" in explained

    # A web address carrying the contact's id links straight away.
    address = f"{WEB}/contacts/customers/{sage_contact['id']}"
    state = book.reading_state(0, address, pasted=True)
    assert state.reading is Reading.OK and state.method is LinkMethod.PASTED_URL
    book.apply({0: state})
    assert book.states[0].ref == sage_contact["id"]

    # Same name and address; the email differs only in capitals: not trusted.
    assert book.statuses[0] is LinkStatus.DETAILS_DIFFER
    assert "email" in book.explain(0) and "capital letters" in book.explain(0)
    plan = book.save_plan()
    assert plan.links == () and len(plan.blocked) == 1
    # Even a plan that tries to save the link anyway is refused, and nothing is written.
    theirs = book.their_contact(0)
    forced = SavePlan(
        links=(
            PlannedLink(
                LinkChange(ours, sage_contact["id"], "Abbey Boilers Ltd", LinkMethod.PASTED_URL),
                "Abbey Boilers Ltd (AB01)",
                theirs,
            ),
        ),
        fixes=(),
        blocked=(),
        shared=(),
        unlink_warnings=(),
        rows=(0,),
    )
    with pytest.raises(LinkRefused) as refused:
        save_links(session_factory, book.info, forced)
    message = str(refused.value)
    assert "“Accounts@Abbey.example” here but “accounts@abbey.example” in Sage" in message
    with session_factory() as session:
        assert session.scalars(select(Link)).all() == []

    # "Use their spelling": Sage's values copied into our record, then the link holds.
    fixed = book.spelling_state(0)
    assert fixed is not None and fixed.details is not None
    assert fixed.details.email == "accounts@abbey.example"
    book.apply({0: fixed})
    assert book.statuses[0] is LinkStatus.LINKED
    outcome = save_links(session_factory, book.info, book.save_plan())
    assert (outcome.linked, outcome.fixed) == (1, 1)
    with session_factory() as session:
        link = session.scalars(select(Link)).one()
        assert (link.contact_id, link.remote_ref) == (ours, sage_contact["id"])
        assert link.method is LinkMethod.PASTED_URL
        contact = session.get(Contact, ours)
        assert contact is not None and contact.email == "accounts@abbey.example"
