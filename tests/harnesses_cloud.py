"""Conformance harnesses for QuickBooks Online and Sage Business Cloud Accounting, each
a connector signed in to its local stand-in behind an httpx transport.

They implement :class:`tests.connector_harness.ConnectorHarness`; the shared suite
(``tests/test_connector_conformance.py``) runs over them once they are listed in its
``HARNESSES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx

from connectors.contract import Connector, ConnectorContext
from connectors.quickbooks_online import QuickBooksOnlineConnector
from connectors.sage_business_cloud import SageBusinessCloudConnector
from tests.connector_harness import ConnectorHarness, MemorySecrets
from tests.standins.qbo import Company, QboStandIn
from tests.standins.qbo import FaultKind as QboFault
from tests.standins.sage import Business, SageStandIn
from tests.standins.sage import FaultKind as SageFault


def _data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    return data_dir


def open_qbo(
    tmp_path: Path,
    standin: QboStandIn | None = None,
    sleep: Callable[[float], None] | None = None,
    **settings: str,
) -> tuple[QboStandIn, QuickBooksOnlineConnector]:
    """A QuickBooks Online connector signed in to a stand-in with one company (made if
    the stand-in has none)."""
    if standin is None:
        standin = QboStandIn()
    if not standin.companies:
        standin.add_company()
    company = next(iter(standin.companies.values()))
    secrets = MemorySecrets()
    standin.store_tokens(secrets)
    context = ConnectorContext(
        data_dir=_data_dir(tmp_path),
        settings={
            "client_id": standin.auth.client_id,
            "tenant_id": company.realm_id,
            **settings,
        },
        secrets=secrets,
        transport=standin.transport(),
    )
    return standin, QuickBooksOnlineConnector(context, clock=standin.clock, sleep=sleep)


class QuickBooksOnlineHarness(ConnectorHarness):
    key = "quickbooks_online"
    example_contact_url = "https://app.qbo.intuit.com/app/customerdetail?nameId=58"
    unknown_contact_ref = "987654"

    def __init__(self) -> None:
        self._standins: dict[int, QboStandIn] = {}

    def make_connector(self, tmp_path: Path) -> Connector:
        standin, connector = open_qbo(tmp_path)
        self._standins[id(connector)] = standin
        return connector

    def _company(self, connector: Connector) -> Company:
        return self._standins[id(connector)].only_company()

    def arm_fault_before_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(QboFault.REFUSE_CONNECTION)

    def arm_fault_after_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(QboFault.TIMEOUT_AFTER_SAVE)

    def set_lock_date(self, connector: Connector, lock_date: date | None) -> None:
        self._company(connector).book_close_date = lock_date

    def outstanding(self, connector: Connector, invoice_ref: str) -> Decimal:
        return self._company(connector).outstanding(invoice_ref)


def open_sage(
    tmp_path: Path,
    standin: SageStandIn | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    **settings: str,
) -> tuple[SageStandIn, SageBusinessCloudConnector]:
    """A Sage Business Cloud connector signed in to a stand-in with one business (made if
    the stand-in has none). On a virtual clock, pass its ``sleep`` too: the connection
    paces its own requests."""
    if standin is None:
        standin = SageStandIn()
    if not standin.businesses:
        standin.add_business()
    business = next(iter(standin.businesses.values()))
    secrets = MemorySecrets()
    standin.store_tokens(secrets)
    context = ConnectorContext(
        data_dir=_data_dir(tmp_path),
        settings={
            "client_id": standin.auth.client_id,
            "tenant_id": business.id,
            **settings,
        },
        secrets=secrets,
        transport=standin.transport(),
    )
    return standin, SageBusinessCloudConnector(context, clock=standin.clock, sleep=sleep)


class SageBusinessCloudHarness(ConnectorHarness):
    key = "sage_business_cloud"
    # The contact's address in the API ($path); Sage's web pages carry the legacy number.
    example_contact_url = (
        "https://api.accounting.sage.com/v3.1/contacts/cced5085c2d24394a758c5d16b38fca1"
    )
    unknown_contact_ref = "0123456789abcdef0123456789abcdef"

    def __init__(self) -> None:
        self._standins: dict[int, SageStandIn] = {}

    def make_connector(self, tmp_path: Path) -> Connector:
        standin, connector = open_sage(tmp_path)
        self._standins[id(connector)] = standin
        return connector

    def _business(self, connector: Connector) -> Business:
        return self._standins[id(connector)].only_business()

    def arm_fault_before_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(SageFault.REFUSE_CONNECTION)

    def arm_fault_after_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(SageFault.TIMEOUT_AFTER_SAVE)

    def set_lock_date(self, connector: Connector, lock_date: date | None) -> None:
        self._business(connector).year_end_lockdown_date = lock_date

    def outstanding(self, connector: Connector, invoice_ref: str) -> Decimal:
        return self._business(connector).outstanding(invoice_ref)


def browse(handler: Callable[[httpx.Request], httpx.Response], page: str) -> str:
    """Open a sign-in page through a stand-in as a browser would, with the user agreeing,
    and return the address the browser is sent on to (what the user copies)."""
    response = handler(httpx.Request("GET", page))
    location = response.headers.get("Location", "")
    if response.status_code != 302 or not location:
        raise AssertionError(f"the sign-in page answered {response.status_code}: {response.text}")
    return location


CLOUD_HARNESSES: tuple[ConnectorHarness, ...] = (
    QuickBooksOnlineHarness(),
    SageBusinessCloudHarness(),
)
