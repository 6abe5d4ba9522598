"""Changing a linked contact's details (never its name) through each cloud connector but
Xero's (tests/test_contact_updates_xero.py), over a real socket to its stand-in: the
vendor's update verb and body, its concurrency token, and its refusals in plain words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from connectors.contract import Connector, ContactUpdate
from connectors.errors import Rejected
from connectors.freeagent import FreeAgentConnector
from connectors.kashflow import KashFlowConnector
from connectors.quickbooks_online import QuickBooksOnlineConnector
from connectors.sage_business_cloud import SageBusinessCloudConnector
from tests.connector_harness import customer, supplier
from tests.harnesses_cloud import open_freeagent, open_kashflow, open_qbo, open_sage
from tests.standins.freeagent import FreeAgentStandIn
from tests.standins.kashflow import KashFlowStandIn
from tests.standins.loopback import LoopbackServer
from tests.standins.qbo import QboStandIn
from tests.standins.sage import SageStandIn

C = TypeVar("C", bound=Connector)
S = TypeVar("S")

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


@contextmanager
def over_socket(
    opener: Callable[..., tuple[S, C]], tmp_path: Path, standin: Any
) -> Iterator[tuple[S, C]]:
    """The harness's connector, but talking HTTP to the stand-in on a loopback port."""
    standin.transport = httpx.HTTPTransport
    with LoopbackServer(standin) as server:
        made, connector = opener(tmp_path, standin, endpoint=server.url)
        with connector:
            yield made, connector


def assert_details(now: Any, update: ContactUpdate = NEW) -> None:
    for name in ContactUpdate.__dataclass_fields__:
        assert getattr(now, name) == getattr(update, name), name


# ----------------------------------------------------------------------------- QuickBooks Online


@pytest.fixture
def qbo(tmp_path: Path) -> Iterator[tuple[QboStandIn, QuickBooksOnlineConnector]]:
    with over_socket(open_qbo, tmp_path, QboStandIn()) as opened:
        yield opened


def test_qbo_sparse_update_with_the_sync_token(
    qbo: tuple[QboStandIn, QuickBooksOnlineConnector],
) -> None:
    standin, connector = qbo
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd", town="Leicester"), "k1")
    vendor = connector.create_contact(supplier("S1", "Midland Merchants", town="Derby"), "k2")
    now = connector.update_contact(ref, NEW)
    assert now.name == "Ada Boilers Ltd"
    assert_details(now)
    record = standin.only_company().table("Customer")[ref]
    assert record["SyncToken"] == "1" and record["CompanyName"] == "Ada Boilers Ltd"
    assert connector.update_contact(vendor, NEW).name == "Midland Merchants"
    assert standin.only_company().table("Vendor")[vendor]["SyncToken"] == "1"
    assert connector.get_contact(ref) == now
    # A second update reads the new SyncToken first.
    again = ContactUpdate(**{**NEW.__dict__, "town": "Oadby"})
    assert connector.update_contact(ref, again).town == "Oadby"


def test_qbo_refusals_stale_inactive_and_bad_values(
    qbo: tuple[QboStandIn, QuickBooksOnlineConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    standin, connector = qbo
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd"), "k1")
    record = standin.only_company().table("Customer")[ref]
    # Someone saves the customer in QuickBooks between our read and our write.
    original = connector._first

    def read_then_someone_saves(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        return found

    monkeypatch.setattr(connector, "_first", read_then_someone_saves)
    with pytest.raises(Rejected) as stale:
        connector.update_contact(ref, NEW)
    assert stale.value.code == "changed_meanwhile" and "Ada Boilers Ltd" in stale.value.reason
    monkeypatch.undo()
    assert "BillAddr" not in record  # nothing was saved
    with pytest.raises(Rejected) as bad:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert bad.value.field == "email" and "email address is not valid" in bad.value.reason
    record["Active"] = False
    with pytest.raises(Rejected) as inactive:
        connector.update_contact(ref, NEW)
    assert inactive.value.code == "inactive_contact" and "active again" in inactive.value.fix
    with pytest.raises(Rejected) as unknown:
        connector.update_contact("9999", NEW)
    assert unknown.value.code == "unknown_contact"


# ----------------------------------------------------------------------------- Sage Business Cloud

#: Sage's address has two lines: our third joins the second.
SAGE_NEW = ContactUpdate(**{**NEW.__dict__, "address_2": "Unit 4, Canal Wharf"})


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[tuple[SageStandIn, SageBusinessCloudConnector]]:
    with over_socket(open_sage, tmp_path, SageStandIn()) as opened:
        yield opened


def test_sage_put_changes_the_address_and_contact_person_only(
    sage: tuple[SageStandIn, SageBusinessCloudConnector],
) -> None:
    standin, connector = sage
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd", town="Leicester"), "k1")
    now = connector.update_contact(ref, SAGE_NEW)
    assert now.name == "Ada Boilers Ltd" and now.our_ref == "C1"
    assert_details(now, SAGE_NEW)
    assert connector.get_contact(ref) == now
    assert any(url.endswith(f"/contacts/{ref}") for url in standin.urls)
    # Our third address line travels in Sage's second, as on create.
    split = ContactUpdate(**{**NEW.__dict__, "address_3": "Canal Wharf"})
    assert connector.update_contact(ref, split).address_2 == "Unit 4, Canal Wharf"


def test_sage_refusals_obfuscated_deleted_and_bad_values(
    sage: tuple[SageStandIn, SageBusinessCloudConnector],
) -> None:
    standin, connector = sage
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd"), "k1")
    with pytest.raises(Rejected) as bad:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert bad.value.field == "email" and "is invalid" in bad.value.reason
    record = standin.only_business().contacts[ref]
    record["gdpr_obfuscated"] = True
    with pytest.raises(Rejected) as obfuscated:
        connector.update_contact(ref, SAGE_NEW)
    assert obfuscated.value.code == "archived_contact" and "GDPR" in obfuscated.value.reason
    record["gdpr_obfuscated"] = False
    record["deleted_at"] = "2026-11-30T10:00:00Z"
    with pytest.raises(Rejected) as deleted:
        connector.update_contact(ref, SAGE_NEW)
    assert deleted.value.code == "unknown_contact"
    assert record.get("main_address") is None  # nothing was changed


# ----------------------------------------------------------------------------- FreeAgent


@pytest.fixture
def freeagent(tmp_path: Path) -> Iterator[tuple[FreeAgentStandIn, FreeAgentConnector]]:
    with over_socket(open_freeagent, tmp_path, FreeAgentStandIn()) as opened:
        yield opened


def test_freeagent_put_changes_the_details_and_keeps_the_name_and_our_ref(
    freeagent: tuple[FreeAgentStandIn, FreeAgentConnector],
) -> None:
    standin, connector = freeagent
    ref = connector.create_contact(supplier("S1", "Midland Merchants", town="Derby"), "k1")
    now = connector.update_contact(ref, NEW)
    assert (now.name, now.our_ref) == ("Midland Merchants", "S1")
    assert_details(now)
    assert connector.get_contact(ref) == now
    record = standin.only_company().contacts[int(ref)]
    assert record["organisation_name"] == "Midland Merchants"
    assert record["first_name"] == "Ada" and record["last_name"] == "Lovelace"


def test_freeagent_refusals_hidden_and_bad_values(
    freeagent: tuple[FreeAgentStandIn, FreeAgentConnector],
) -> None:
    standin, connector = freeagent
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd"), "k1")
    with pytest.raises(Rejected) as bad:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert bad.value.field == "email" and "Email is invalid" in bad.value.reason
    record = standin.only_company().contacts[int(ref)]
    record["status"] = "Hidden"
    with pytest.raises(Rejected) as hidden:
        connector.update_contact(ref, NEW)
    assert hidden.value.code == "archived_contact" and "hidden in FreeAgent" in hidden.value.reason
    assert "town" not in record  # nothing was changed
    with pytest.raises(Rejected) as unknown:
        connector.update_contact("999999", NEW)
    assert unknown.value.code == "unknown_contact"


# ----------------------------------------------------------------------------- KashFlow

#: KashFlow's address: two street lines (our third joins the second), town and county.
KASHFLOW_NEW = SAGE_NEW


@pytest.fixture
def kashflow(tmp_path: Path) -> Iterator[tuple[KashFlowStandIn, KashFlowConnector]]:
    with over_socket(open_kashflow, tmp_path, KashFlowStandIn()) as opened:
        yield opened


def test_kashflow_put_keeps_the_name_code_and_other_fields(
    kashflow: tuple[KashFlowStandIn, KashFlowConnector],
) -> None:
    standin, connector = kashflow
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd", town="Leicester"), "k1")
    standin.account.customers[ref]["Notes"] = "Pays by BACS"
    now = connector.update_contact(ref, KASHFLOW_NEW)
    assert (now.name, now.ref) == ("Ada Boilers Ltd", "C1")
    assert_details(now, KASHFLOW_NEW)
    assert standin.account.customers[ref]["Notes"] == "Pays by BACS"  # not ours: kept
    vendor = connector.create_contact(supplier("S1", "Midland Merchants"), "k2")
    assert connector.update_contact(vendor, KASHFLOW_NEW).name == "Midland Merchants"


def test_kashflow_refusals_archived_and_bad_values(
    kashflow: tuple[KashFlowStandIn, KashFlowConnector],
) -> None:
    standin, connector = kashflow
    ref = connector.create_contact(customer("C1", "Ada Boilers Ltd"), "k1")
    with pytest.raises(Rejected) as bad:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert bad.value.field == "email" and "not a valid email" in bad.value.reason
    standin.account.customers[ref]["Archived"] = True
    with pytest.raises(Rejected) as archived:
        connector.update_contact(ref, KASHFLOW_NEW)
    assert archived.value.code == "archived_contact" and "(C1)" in archived.value.reason
    assert "Address" not in standin.account.customers[ref]  # nothing was changed
    with pytest.raises(Rejected) as unknown:
        connector.update_contact("NOPE99", KASHFLOW_NEW)
    assert unknown.value.code == "unknown_contact"


def test_kashflow_finds_the_code_as_typed_for_an_update_as_for_a_look_up(
    kashflow: tuple[KashFlowStandIn, KashFlowConnector],
) -> None:
    """KashFlow's case rules for a Code are not published: an update asks for the Code
    exactly as typed (only spaces trimmed), as :meth:`get_contact` does, never upper-cased."""
    standin, connector = kashflow
    connector.create_contact(customer("Ab01", "Ada Boilers Ltd"), "k1")
    standin.requests.clear()
    looked_up = connector.get_contact(" Ab01 ")
    assert looked_up is not None
    asked = list(standin.requests)
    standin.requests.clear()
    now = connector.update_contact(" Ab01 ", KASHFLOW_NEW)
    assert now.ref == looked_up.ref
    assert asked == [("GET", "/v2/customers/Ab01")]
    assert standin.requests[:2] == [*asked, ("PUT", "/v2/customers/Ab01")]
