"""Changing a linked Xero contact's details (never its name) through the connector, over
a real socket to the Xero stand-in, every request checked against Xero's OpenAPI
description: ``POST /Contacts/{ContactID}``, archived contacts and bad values refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.contract import ConnectorContext, ContactUpdate
from connectors.errors import Rejected
from connectors.xero import XeroConnector
from tests.connector_harness import MemorySecrets, customer
from tests.standins.loopback import LoopbackServer
from tests.standins.openapi import xero_checker
from tests.standins.xero import Organisation, XeroStandIn

NEW = ContactUpdate(
    contact_name="Ada Lovelace",
    address_1="9 Canal Street",
    address_2="Unit 4",
    town="Loughborough",
    county="Leicestershire",
    postcode="LE11 1AA",
    email="accounts@adaboilers.example",
    phone="0116 496 0000",
)


@pytest.fixture
def standin() -> XeroStandIn:
    made = XeroStandIn(checker=xero_checker(), strict=False)
    made.add_organisation()
    return made


@pytest.fixture
def connector(standin: XeroStandIn, tmp_path: Path) -> Iterator[XeroConnector]:
    org = standin.only_organisation()
    secrets = MemorySecrets()
    standin.store_tokens(secrets)
    with LoopbackServer(standin) as server:
        context = ConnectorContext(
            data_dir=tmp_path,
            settings={
                "client_id": standin.auth.client_id,
                "tenant_id": org.tenant.tenant_id,
                "endpoint": server.url,
            },
            secrets=secrets,
        )
        with XeroConnector(context, clock=standin.clock) as opened:
            yield opened
    assert standin.spec_problems == []


def make(connector: XeroConnector) -> str:
    draft = customer("C1", "Ada Boilers Ltd", address_1="1 Mill Lane", town="Leicester")
    return connector.create_contact(draft, "C1.key")


def test_details_change_the_name_and_street_address_stay(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    ref = make(connector)
    org = standin.only_organisation()
    org.contacts[ref]["Addresses"] = [
        *org.contacts[ref]["Addresses"][:-1],
        {"AddressType": "STREET", "AddressLine1": "Yard 2", "City": "Leicester"},
    ]
    now = connector.update_contact(ref, NEW)
    assert now.name == "Ada Boilers Ltd"
    assert (now.contact_name, now.address_1, now.address_2, now.town, now.county) == (
        "Ada Lovelace",
        "9 Canal Street",
        "Unit 4",
        "Loughborough",
        "Leicestershire",
    )
    assert (now.postcode, now.email, now.phone) == (
        "LE11 1AA",
        "accounts@adaboilers.example",
        "0116 496 0000",
    )
    assert connector.get_contact(ref) == now
    assert list(standin.requests_to("POST", f"/api.xro/2.0/Contacts/{ref}")) != []
    street = [a for a in org.contacts[ref]["Addresses"] if a["AddressType"] == "STREET"]
    assert street[0]["AddressLine1"] == "Yard 2"  # not ours to change
    # A detail cleared on our side is cleared in Xero too.
    cleared = connector.update_contact(ref, ContactUpdate(**{**NEW.__dict__, "phone": ""}))
    assert cleared.phone == "" and cleared.email == NEW.email


def test_an_archived_contact_is_refused_in_plain_words(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    ref = make(connector)
    org: Organisation = standin.only_organisation()
    org.contacts[ref]["ContactStatus"] = "ARCHIVED"
    with pytest.raises(Rejected) as refused:
        connector.update_contact(ref, NEW)
    assert refused.value.code == "archived_contact"
    assert "Ada Boilers Ltd" in refused.value.reason and "archived" in refused.value.reason
    assert "Restore" in refused.value.fix
    assert list(standin.requests_to("POST", "/api.xro/2.0/Contacts/")) == []


def test_xero_refusing_a_value_names_the_field(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    ref = make(connector)
    with pytest.raises(Rejected) as refused:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert refused.value.field == "email"
    assert "Email address must be valid" in refused.value.reason
    remote = connector.get_contact(ref)
    assert remote is not None and remote.town == "Leicester"


def test_an_unknown_contact_is_refused(connector: XeroConnector) -> None:
    with pytest.raises(Rejected) as refused:
        connector.update_contact("0b7d3a4e-1c2f-4e5a-9b8c-7d6e5f4a3b2c", NEW)
    assert refused.value.code == "unknown_contact"
