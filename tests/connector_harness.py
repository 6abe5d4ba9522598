"""Harnesses for the connector conformance suite, and draft builders it shares.

A harness knows how to build a fresh connector for one package inside ``tmp_path`` (a
real file for the Sandbox; a local stand-in behind an httpx transport for Xero, and
later QuickBooks Online and Sage Business Cloud), how to arm a fault on it, and how to set up
what the contract cannot (a lock date) or inspect what it does not expose (what is still
owed on an invoice). To cover a new package, add a harness to :data:`HARNESSES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from connectors.contract import (
    AccountType,
    AllocationDraft,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    LineDraft,
    PaymentDraft,
    RemoteTaxRate,
)
from connectors.sandbox import SandboxConnector
from connectors.steps import StepStore
from connectors.xero import XeroConnector
from tests.standins.openapi import xero_checker
from tests.standins.xero import FaultKind, Organisation, XeroStandIn

PENNY = Decimal("0.01")


class MemorySecrets:
    """A :class:`~connectors.contract.SecretStore` that lives and dies with one test."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def make_context(data_dir: Path, **settings: str) -> ConnectorContext:
    return ConnectorContext(data_dir=data_dir, settings=dict(settings), secrets=MemorySecrets())


class ConnectorHarness(ABC):
    """How the conformance suite drives one package's connector."""

    #: The package key (also the pytest id).
    key: str
    #: A web address of a contact in the package whose id is the reference format's example.
    example_contact_url: str
    #: A well-formed contact reference the fresh package does not hold.
    unknown_contact_ref: str

    @abstractmethod
    def make_connector(self, tmp_path: Path) -> Connector:
        """A connector to a fresh, empty company whose files live under ``tmp_path``."""

    @abstractmethod
    def arm_fault_before_write(self, connector: Connector) -> None:
        """Make the next create fail retriably before the package writes anything."""

    @abstractmethod
    def arm_fault_after_write(self, connector: Connector) -> None:
        """Make the next create reach the package, then lose its answer."""

    @abstractmethod
    def set_lock_date(self, connector: Connector, lock_date: date | None) -> None:
        """Set the company's lock date, as its bookkeeper would in the package."""

    @abstractmethod
    def outstanding(self, connector: Connector, invoice_ref: str) -> Decimal:
        """What the package says is still owed on an invoice."""


class SandboxHarness(ConnectorHarness):
    key = "sandbox"
    example_contact_url = "https://sandbox.ledgerlink.invalid/contacts/SBX-C000042"
    unknown_contact_ref = "SBX-C999999"

    def make_connector(self, tmp_path: Path) -> Connector:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        return SandboxConnector(make_context(data_dir))

    @staticmethod
    def _sandbox(connector: Connector) -> SandboxConnector:
        assert isinstance(connector, SandboxConnector)
        return connector

    def arm_fault_before_write(self, connector: Connector) -> None:
        self._sandbox(connector).faults.fail_next_creates()

    def arm_fault_after_write(self, connector: Connector) -> None:
        self._sandbox(connector).faults.lose_next_responses()

    def set_lock_date(self, connector: Connector, lock_date: date | None) -> None:
        self._sandbox(connector).store.set_lock_date(lock_date)

    def outstanding(self, connector: Connector, invoice_ref: str) -> Decimal:
        return self._sandbox(connector).store.outstanding(invoice_ref)


def open_xero(
    tmp_path: Path,
    standin: XeroStandIn | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
    steps: StepStore | None = None,
    **settings: str,
) -> tuple[XeroStandIn, XeroConnector]:
    """A Xero connector signed in to a stand-in with one organisation (made if the
    stand-in has none), every request checked against Xero's OpenAPI description when it
    is available."""
    if standin is None:
        standin = XeroStandIn(checker=xero_checker(), strict=True)
    if not standin.organisations:
        standin.add_organisation()
    org = next(iter(standin.organisations.values()))
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    secrets = MemorySecrets()
    standin.store_tokens(secrets)
    context = ConnectorContext(
        data_dir=data_dir,
        settings={
            "client_id": standin.auth.client_id,
            "tenant_id": org.tenant.tenant_id,
            **settings,
        },
        secrets=secrets,
        transport=standin.transport(),
        steps=steps,
    )
    if sleep is None:
        return standin, XeroConnector(context, clock=standin.clock)
    return standin, XeroConnector(context, clock=standin.clock, sleep=sleep)


class XeroHarness(ConnectorHarness):
    key = "xero"
    example_contact_url = (
        "https://go.xero.com/app/!NLglS/contacts/contact/3ff6d40c-af9a-40a3-89ce-3c1556a25591"
    )
    unknown_contact_ref = "0b7d3a4e-1c2f-4e5a-9b8c-7d6e5f4a3b2c"

    def __init__(self) -> None:
        self._standins: dict[int, XeroStandIn] = {}

    def make_connector(self, tmp_path: Path) -> Connector:
        standin, connector = open_xero(tmp_path)
        self._standins[id(connector)] = standin
        return connector

    def _org(self, connector: Connector) -> Organisation:
        return self._standins[id(connector)].only_organisation()

    def arm_fault_before_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(FaultKind.REFUSE_CONNECTION)

    def arm_fault_after_write(self, connector: Connector) -> None:
        self._standins[id(connector)].arm(FaultKind.TIMEOUT_AFTER_SAVE)

    def set_lock_date(self, connector: Connector, lock_date: date | None) -> None:
        self._org(connector).period_lock = lock_date

    def outstanding(self, connector: Connector, invoice_ref: str) -> Decimal:
        return self._org(connector).outstanding(invoice_ref)


HARNESSES: tuple[ConnectorHarness, ...] = (SandboxHarness(), XeroHarness())


# ----------------------------------------------------------------------------- drafts


@dataclass(frozen=True)
class Chart:
    """The ids a draft needs, discovered through the contract (never hard-coded)."""

    sales_account_id: str
    bank_account_id: str
    standard_rate: RemoteTaxRate

    @classmethod
    def discover(cls, connector: Connector) -> Chart:
        accounts = connector.list_accounts()
        sales = next(a for a in accounts if a.type is AccountType.SALES)
        bank = next(a for a in accounts if a.type is AccountType.BANK)
        standard = next(r for r in connector.list_tax_rates() if r.rate == Decimal(20))
        return cls(sales.id, bank.id, standard)


def customer(our_ref: str, name: str, **fields: str) -> ContactDraft:
    return ContactDraft(role=ContactRole.CUSTOMER, our_ref=our_ref, name=name, **fields)


def supplier(our_ref: str, name: str, **fields: str) -> ContactDraft:
    return ContactDraft(role=ContactRole.SUPPLIER, our_ref=our_ref, name=name, **fields)


def line(
    chart: Chart,
    quantity: str,
    unit_price: str,
    *,
    description: str = "Boiler service",
    account_id: str | None = None,
    tax_rate: RemoteTaxRate | None = None,
) -> LineDraft:
    """A line whose net and VAT are computed the way the packages check them."""
    rate = tax_rate or chart.standard_rate
    qty, price = Decimal(quantity), Decimal(unit_price)
    net = (qty * price).quantize(PENNY, rounding=ROUND_HALF_UP)
    vat = (net * rate.rate / 100).quantize(PENNY, rounding=ROUND_HALF_UP)
    return LineDraft(
        description=description,
        quantity=qty,
        unit_price=price,
        net_amount=net,
        account_id=account_id or chart.sales_account_id,
        tax_rate_id=rate.id,
        vat_rate=rate.rate,
        vat_amount=vat,
    )


def invoice(
    chart: Chart,
    number: str,
    contact_ref: str,
    on: date,
    *lines: LineDraft,
    doc_type: DocumentType = DocumentType.INVOICE,
) -> DocumentDraft:
    """An invoice (or credit note) of one £100 + VAT line unless ``lines`` are given."""
    return DocumentDraft(
        type=doc_type,
        number=number,
        date=on,
        contact_ref=contact_ref,
        lines=lines or (line(chart, "1", "100.00"),),
    )


def payment(
    chart: Chart,
    reference: str,
    contact_ref: str,
    on: date,
    *allocations: tuple[str, str],
    amount: str | None = None,
) -> PaymentDraft:
    """A payment set against ``(invoice_ref, amount)`` pairs; its amount is their sum
    unless given."""
    drafts = tuple(AllocationDraft(ref, Decimal(value)) for ref, value in allocations)
    total = Decimal(amount) if amount is not None else sum((a.amount for a in drafts), PENNY * 0)
    return PaymentDraft(
        reference=reference,
        date=on,
        contact_ref=contact_ref,
        amount=total,
        bank_account_id=chart.bank_account_id,
        allocations=drafts,
    )
