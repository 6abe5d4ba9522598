"""Issue 15, scenarios 3 and 5 on the Sage Business Cloud stand-in, over a real socket.

Sage's exact-match rule is the strictest: name, address and email must equal ours
character for character, capitals included. A contact that meets it is linked on its
first send; one that only nearly meets it (an email in other capitals), or a name Sage
holds twice, is never guessed. The dry run predicts every outcome exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import DataPaths
from app.db.models import Contact, Link, LinkMethod, Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.failures import list_failures
from app.services.sending.first_send_links import CHOOSE, held_back_counts
from app.services.sending.preflight import Preflight, PreflightReport
from app.services.sending.run import send_outcome
from app.services.sending.sender import Sender, SendReport
from app.services.setup.choices import set_contacts_with_transactions
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.catalogue import SAGE_BUSINESS_CLOUD
from connectors.contract import ConnectorContext
from connectors.sage_business_cloud import SageBusinessCloudConnector
from tests.connector_harness import MemorySecrets
from tests.send_fixtures import (
    import_send_data,
)
from tests.standins.loopback import LoopbackServer
from tests.standins.sage import Business, SageStandIn

MAPPING = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}


@dataclass
class SageRig:
    store: Store
    standin: SageStandIn
    connector: SageBusinessCloudConnector

    @property
    def business(self) -> Business:
        return self.standin.only_business()

    def dry_run(self) -> PreflightReport:
        return Preflight(self.store.session_factory, self.connector).run()

    def send(self) -> SendReport:
        return Sender(self.store.session_factory, self.connector).run()

    def sage_contacts(self, name: str) -> list[str]:
        return [c["id"] for c in self.business.contacts.values() if c.get("name") == name]


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[SageRig]:
    store = open_store(DataPaths(tmp_path / "data"))
    import_send_data(store)
    standin = SageStandIn()
    business = standin.add_business()
    secrets = MemorySecrets()
    standin.store_tokens(secrets)
    with LoopbackServer(standin) as server:
        context = ConnectorContext(
            data_dir=tmp_path / "connector",
            settings={
                "client_id": standin.auth.client_id,
                "tenant_id": business.id,
                "endpoint": server.url,
            },
            secrets=secrets,
        )
        connector = SageBusinessCloudConnector(context)
        accounts = connector.list_accounts()
        with store.session_factory.begin() as session:
            choose_package(session, "sage_business_cloud", Situation.SIDE_BY_SIDE)
            for ours, theirs in MAPPING.items():
                remote = next(a for a in accounts if a.code == theirs)
                set_mapping(session, SAGE_BUSINESS_CLOUD, accounts, ours, remote.id, actor="t")
        with connector:
            yield SageRig(store, standin, connector)
    store.close()


def keyed_in(rig: SageRig, role: str, name: str, *, email: str = "", **address: str) -> str:
    """A contact typed into Sage by hand; its id."""
    fields: dict[str, object] = {"main_address": address} if address else {}
    if email:
        fields["email"] = email
    return str(rig.standin.add_contact(rig.business, role, name, **fields)["id"])


def ada_in_sage(rig: SageRig, email: str = "ada@example.com") -> str:
    """Ada Boilers Ltd as Sage holds her: our C1's address, and ``email``."""
    return keyed_in(
        rig,
        "CUSTOMER",
        "Ada Boilers Ltd",
        email=email,
        address_line_1="1 Mill Lane",
        city="Leicester",
        postal_code="LE1 1AA",
    )


def assert_dry_run_equals_send(predicted: PreflightReport, report: SendReport) -> None:
    assert dict(predicted.to_send) == dict(report.sent)
    assert dict(Counter(i.record_type for i in predicted.failures)) == dict(report.failed)
    assert dict(Counter(i.record_type for i in predicted.linked)) == dict(report.linked)
    assert dict(Counter(i.record_type for i in predicted.held_back)) == dict(report.held_back)


def test_name_address_and_email_all_equal_links_instead_of_creating(sage: SageRig) -> None:
    ref = ada_in_sage(sage)
    predicted = sage.dry_run()
    report = sage.send()
    assert_dry_run_equals_send(predicted, report)
    assert report.ok and report.linked == {"customer": 1}
    assert sage.sage_contacts("Ada Boilers Ltd") == [ref]  # linked, not a second one
    with sage.store.session_factory() as session:
        link = session.scalars(select(Link).join(Contact).where(Contact.account_ref == "C1")).one()
    assert (link.remote_ref, link.method) == (ref, LinkMethod.LINKED_ON_SEND)
    invoices = [
        i for i in sage.business.collection("sales_invoices").values() if i["contact"]["id"] == ref
    ]
    assert len(invoices) == 2
    assert (
        "linked 1 customer to ones already in Sage"
        in send_outcome(report, "Sage Business Cloud Accounting").summary
    )


def test_an_email_in_other_capitals_is_a_near_miss_never_guessed(sage: SageRig) -> None:
    ref = ada_in_sage(sage, email="ADA@example.com")
    predicted = sage.dry_run()
    report = sage.send()
    assert_dry_run_equals_send(predicted, report)
    assert not report.linked and report.failed["customer"] == 1
    with sage.store.session_factory() as session:
        (root,) = [r for r in list_failures(session, "sage_business_cloud") if r.code == CHOOSE]
    assert ref in root.reason and "its email differs from yours" in root.reason
    assert root.fix_page == "link-customers"
    assert sage.sage_contacts("Ada Boilers Ltd") == [ref]  # nothing created


def test_a_name_sage_holds_twice_is_never_guessed(sage: SageRig) -> None:
    first, second = ada_in_sage(sage), ada_in_sage(sage)
    predicted = sage.dry_run()
    report = sage.send()
    assert_dry_run_equals_send(predicted, report)
    assert report.failed["customer"] == 1 and not report.linked
    with sage.store.session_factory() as session:
        (root,) = [r for r in list_failures(session, "sage_business_cloud") if r.code == CHOOSE]
    assert "already has 2 customers named “Ada Boilers Ltd”" in root.reason
    assert first in root.reason and second in root.reason
    assert sorted(sage.sage_contacts("Ada Boilers Ltd")) == sorted([first, second])


def test_held_back_until_a_transaction_needs_them(sage: SageRig) -> None:
    from app.services.setup.choices import read_setup

    assert not read_setup(sage.store).contacts_with_transactions  # off by default
    set_contacts_with_transactions(sage.store, True)
    ref = ada_in_sage(sage)
    import_csv_bytes(
        sage.store.session_factory,
        ImportKind.CUSTOMERS,
        b"account_ref,name,town\nC4,Dan Drains,Derby\n",
        file="more.csv",
    )
    predicted = sage.dry_run()
    report = sage.send()
    assert_dry_run_equals_send(predicted, report)
    # No transaction yet for Dan or the supplier: they wait (not failures); Ada is linked.
    assert report.ok and report.linked == {"customer": 1}
    assert report.held_back == {"customer": 1, "supplier": 1}
    assert sage.sage_contacts("Midland Plumbers Merchants") == []
    assert sage.sage_contacts("Dan Drains") == []
    assert sage.sage_contacts("Ada Boilers Ltd") == [ref]
    with sage.store.session_factory() as session:
        assert held_back_counts(session, "sage_business_cloud") == {"customer": 1, "supplier": 1}

    # Dan's first invoice: Dan goes, then the invoice, in the same send.
    imported = import_csv_bytes(
        sage.store.session_factory,
        ImportKind.INVOICES,
        b"number,date,due_date,customer_ref,description,quantity,unit_price,nominal_code,"
        b"vat_rate\nINV-6,2026-02-01,2026-03-01,C4,Gutter clear,1,90,SALES-LAB,20\n",
        file="inv.csv",
    )
    assert imported.ok, imported.describe()
    predicted = sage.dry_run()
    report = sage.send()
    assert_dry_run_equals_send(predicted, report)
    assert report.sent == {"customer": 1, "invoice": 1} and report.held_back == {"supplier": 1}
    (dan,) = sage.sage_contacts("Dan Drains")
    invoices = sage.business.collection("sales_invoices").values()
    assert len([i for i in invoices if i["contact"]["id"] == dan]) == 1
    set_contacts_with_transactions(sage.store, False)
    assert sage.send().sent == {"supplier": 1}
    assert len(sage.sage_contacts("Midland Plumbers Merchants")) == 1
