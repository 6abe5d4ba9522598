"""Harnesses for the connector conformance suite, and draft builders it shares.

A harness knows how to build a fresh connector for one package inside ``tmp_path`` (a
real file for the Sandbox; later a fake server behind an httpx transport for Xero,
QuickBooks Online and Sage Business Cloud), how to arm a fault on it, and how to set up
what the contract cannot (a lock date) or inspect what it does not expose (what is still
owed on an invoice). To cover a new package, add a harness to :data:`HARNESSES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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


HARNESSES: tuple[ConnectorHarness, ...] = (SandboxHarness(),)


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
