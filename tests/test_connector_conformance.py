"""What every connector must do, checked through the contract alone.

One suite, parametrised over the harnesses in :mod:`tests.connector_harness` (the
Sandbox now; Xero, QuickBooks Online and Sage Business Cloud as their harnesses arrive).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import registry
from connectors.contract import (
    AccountType,
    Connector,
    ContactRole,
    ContactUpdate,
    PackageKind,
    RemoteContact,
    RemoteRecordType,
)
from connectors.errors import ConnectorError, OutcomeUncertain, Rejected
from tests.connector_harness import (
    HARNESSES,
    Chart,
    ConnectorHarness,
    customer,
    invoice,
    payment,
    supplier,
)
from tests.harnesses_cloud import CLOUD_HARNESSES

JAN_5 = date(2026, 1, 5)


@pytest.fixture(params=(*HARNESSES, *CLOUD_HARNESSES), ids=lambda h: h.key)
def harness(request: pytest.FixtureRequest) -> ConnectorHarness:
    chosen: ConnectorHarness = request.param
    return chosen


@pytest.fixture
def connector(harness: ConnectorHarness, tmp_path: Path) -> Iterator[Connector]:
    with harness.make_connector(tmp_path) as opened:
        yield opened


@pytest.fixture
def chart(connector: Connector) -> Chart:
    return Chart.discover(connector)


def _assert_rejected(exc: Rejected, code: str, field: str, *in_reason: str) -> None:
    assert exc.code == code
    assert exc.field == field
    assert exc.reason.strip() and exc.fix.strip()
    for fragment in in_reason:
        assert fragment in exc.reason


def _count(connector: Connector, role: ContactRole) -> int:
    return sum(1 for _ in connector.iter_contacts(role))


# ----------------------------------------------------------------------------- declaration


def test_package_info_is_complete(harness: ConnectorHarness, connector: Connector) -> None:
    info = type(connector).info
    assert info.key == harness.key
    assert registry.package_info(info.key) is info
    assert info.name.strip()
    assert isinstance(info.kind, PackageKind)
    ref = info.reference
    assert ref.label.strip() and ref.pattern and ref.where_to_find
    assert all(step.strip() for step in ref.where_to_find)
    parsed = ref.parse(ref.example)
    assert parsed is not None and parsed.reference == ref.example and not parsed.from_url
    assert ref.example in ref.describe_expected()
    if harness.example_contact_url:
        from_url = ref.parse(harness.example_contact_url)
        assert from_url is not None and from_url.from_url
        assert from_url.reference == ref.example
    else:  # the package's web addresses do not carry the reference (KashFlow)
        assert not ref.url_patterns and not ref.url_example
    assert ref.parse("certainly not a reference") is None
    assert info.rate_limit.per_minute > 0 and info.rate_limit.concurrent >= 1
    assert info.batch_size >= 1


def test_connect_returns_the_same_company_every_time(connector: Connector) -> None:
    company = connector.connect()
    assert company.id.strip() and company.name.strip()
    assert connector.connect() == company


def test_accounts_include_sales_and_bank(connector: Connector) -> None:
    accounts = connector.list_accounts()
    types = {a.type for a in accounts}
    assert AccountType.SALES in types and AccountType.BANK in types
    assert len({a.id for a in accounts}) == len(accounts)


def test_tax_rates_include_twenty_percent(connector: Connector) -> None:
    rates = connector.list_tax_rates()
    assert any(r.rate == Decimal(20) for r in rates)
    assert len({r.id for r in rates}) == len(rates)


# ----------------------------------------------------------------------------- contacts


@pytest.mark.parametrize("role", list(ContactRole))
def test_created_contact_can_be_read_back_and_found(
    connector: Connector, role: ContactRole
) -> None:
    make = customer if role is ContactRole.CUSTOMER else supplier
    draft = make("AB01", "Abbey Boilers Ltd", town="Leeds", email="accounts@abbey.example")
    ref = connector.create_contact(draft, "conformance-contact-1")

    remote = connector.get_contact(ref)
    assert remote is not None
    assert (remote.ref, remote.role, remote.name) == (ref, role, "Abbey Boilers Ltd")
    assert remote.town == "Leeds" and remote.email == "accounts@abbey.example"
    assert connector.find_existing(RemoteRecordType(role.value), "AB01") == ref
    assert [c.ref for c in connector.iter_contacts(role)] == [ref]
    assert [c.ref for c in connector.find_contacts_by_name(role, "Abbey Boilers Ltd")] == [ref]
    parsed = type(connector).info.reference.parse(ref)
    assert parsed is not None and parsed.reference == ref


def test_duplicate_contact_name_is_rejected(connector: Connector) -> None:
    first = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-1")
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("AB02", "Abbey Boilers Ltd"), "k-2")
    _assert_rejected(caught.value, "duplicate_name", "name", "Abbey Boilers Ltd")
    assert first in caught.value.fix
    assert _count(connector, ContactRole.CUSTOMER) == 1
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "AB02") is None


def test_unknown_contact_reference_reads_as_none(
    harness: ConnectorHarness, connector: Connector
) -> None:
    assert connector.get_contact(harness.unknown_contact_ref) is None
    assert connector.get_contact("not-a-reference") is None
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "NOBODY") is None


@pytest.mark.parametrize("role", list(ContactRole))
def test_a_contact_update_changes_its_details_and_never_its_name(
    connector: Connector, role: ContactRole
) -> None:
    if not type(connector).info.can_update_contacts:
        with pytest.raises(Rejected) as refused:
            connector.update_contact("anything", ContactUpdate())
        assert refused.value.code == "updates_not_supported"
        return
    make = customer if role is ContactRole.CUSTOMER else supplier
    ref = connector.create_contact(make("AB01", "Abbey Boilers Ltd", town="Leeds"), "k-u")
    # Fields every package holds as they are (two address lines, no third).
    update = ContactUpdate(
        contact_name="Ann Abbey",
        address_1="9 Canal Street",
        town="Loughborough",
        postcode="LE11 1AA",
        email="accounts@abbey.example",
        phone="0116 496 0000",
    )
    now = connector.update_contact(ref, update)
    assert isinstance(now, RemoteContact)
    assert (now.ref, now.name) == (ref, "Abbey Boilers Ltd")
    for field_name in ContactUpdate.__dataclass_fields__:
        assert getattr(now, field_name) == getattr(update, field_name), field_name
    assert connector.get_contact(ref) == now
    with pytest.raises(Rejected) as refused:
        connector.update_contact(ref, ContactUpdate(email="not an email"))
    assert refused.value.field == "email" and refused.value.reason and refused.value.fix
    unchanged = connector.get_contact(ref)
    assert unchanged is not None and unchanged.email == "accounts@abbey.example"


# ----------------------------------------------------------------------------- documents
# ----------------------------------------------------------------------------- documents


def test_invoice_create_and_duplicate_number(connector: Connector, chart: Chart) -> None:
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    ref = connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i1")
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-1001") == ref

    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i2")
    _assert_rejected(caught.value, "duplicate_number", "number", "INV-1001")
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-1001") == ref


def test_payment_is_allocated_to_the_invoice(
    harness: ConnectorHarness, connector: Connector, chart: Chart
) -> None:
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    assert harness.outstanding(connector, inv) == Decimal("120.00")

    ref = connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "50.00")), "k-p")
    assert connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == ref
    assert harness.outstanding(connector, inv) == Decimal("70.00")


def test_over_payment_is_rejected(
    harness: ConnectorHarness, connector: Connector, chart: Chart
) -> None:
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "100.00")), "k-p1")

    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "PAY-2", who, JAN_5, (inv, "20.01")), "k-p2")
    _assert_rejected(caught.value, "over_payment", "allocations[0].amount", "INV-1001")
    assert connector.find_existing(RemoteRecordType.PAYMENT, "PAY-2") is None
    assert harness.outstanding(connector, inv) == Decimal("20.00")


def test_idempotent_replay_returns_the_same_id(connector: Connector, chart: Chart) -> None:
    draft = customer("AB01", "Abbey Boilers Ltd")
    who = connector.create_contact(draft, "same-key-contact")
    assert connector.create_contact(draft, "same-key-contact") == who
    assert _count(connector, ContactRole.CUSTOMER) == 1

    inv_draft = invoice(chart, "INV-1001", who, JAN_5)
    inv = connector.create_document(inv_draft, "same-key-invoice")
    assert connector.create_document(inv_draft, "same-key-invoice") == inv

    pay_draft = payment(chart, "PAY-1", who, JAN_5, (inv, "120.00"))
    pay = connector.create_payment(pay_draft, "same-key-payment")
    assert connector.create_payment(pay_draft, "same-key-payment") == pay


def test_lock_date_refuses_documents_on_or_before_it(
    harness: ConnectorHarness, connector: Connector, chart: Chart
) -> None:
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    lock = date(2025, 11, 30)
    harness.set_lock_date(connector, lock)
    assert connector.lock_dates().effective == lock

    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1001", who, lock), "k-i1")
    _assert_rejected(caught.value, "locked_period", "date", "30/11/2025")
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-1001") is None

    after = lock + timedelta(days=1)
    assert connector.create_document(invoice(chart, "INV-1001", who, after), "k-i2")


# ----------------------------------------------------------------------------- faults


def test_fault_before_write_is_retriable_and_writes_nothing(
    harness: ConnectorHarness, connector: Connector
) -> None:
    draft = customer("AB01", "Abbey Boilers Ltd")
    harness.arm_fault_before_write(connector)
    with pytest.raises(ConnectorError) as caught:
        connector.create_contact(draft, "k-fault")
    assert caught.value.retriable
    assert not isinstance(caught.value, OutcomeUncertain | Rejected)
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "AB01") is None
    assert _count(connector, ContactRole.CUSTOMER) == 0

    ref = connector.create_contact(draft, "k-fault")
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "AB01") == ref


def test_fault_after_write_is_uncertain_and_the_record_can_be_found(
    harness: ConnectorHarness, connector: Connector, chart: Chart
) -> None:
    who = connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(chart, "INV-1001", who, JAN_5)
    harness.arm_fault_after_write(connector)
    with pytest.raises(OutcomeUncertain):
        connector.create_document(draft, "k-lost")

    found = connector.find_existing(RemoteRecordType.INVOICE, "INV-1001")
    assert found is not None
    assert connector.create_document(draft, "k-lost") == found


#: Desktop bridges → the test module running the conformance checks that apply to them.
BRIDGE_CONFORMANCE = {
    "quickbooks_desktop": "test_qbwc_conformance.py",
    "sage_50": "test_sage50_conformance.py",
}


def test_every_registered_connector_has_a_conformance_harness() -> None:
    """The registry comes from the catalogue; a package that declares a connector must
    come with a harness here, or this suite silently skips it."""
    from connectors.catalogue import PACKAGES
    from connectors.registry import CONNECTORS

    declared = {info.key for info in PACKAGES if info.connector}
    assert set(CONNECTORS) == declared
    # Desktop bridges answer later, on evidence: their checks are in their own suite
    # (tests/test_qbwc_conformance.py).
    declared -= {info.key for info in PACKAGES if info.kind is PackageKind.DESKTOP}
    covered = {h.key for h in (*HARNESSES, *CLOUD_HARNESSES)}
    # Desktop bridges answer later, through their own transport: the checks that apply
    # to them run in a module of their own, which must exist.
    for key, module in BRIDGE_CONFORMANCE.items():
        assert (Path(__file__).parent / module).is_file(), module
        covered.add(key)
    missing = sorted(declared - covered)
    assert not missing, f"registered connectors without a conformance harness: {missing}"


def test_each_cloud_connector_stands_on_the_cloud_base(tmp_path: Path) -> None:
    """Cloud packages that sign in with OAuth stand on :class:`CloudConnector`; one that
    signs in otherwise (KashFlow: a memorable word) still paces every request on the one
    :class:`~connectors.limits.RateLimiter` built from its declared limits."""
    from connectors.catalogue import PACKAGES
    from connectors.cloud import CloudConnector
    from connectors.contract import ConnectorContext, PackageKind
    from connectors.limits import RateLimiter
    from connectors.registry import _load
    from tests.connector_harness import MemorySecrets

    for info in PACKAGES:
        if not info.connector or info.kind is not PackageKind.CLOUD:
            continue
        cls = _load(info.key)
        if any(f.kind == "oauth" for f in info.connect_fields):
            assert issubclass(cls, CloudConnector), info.key
            continue
        with cls(ConnectorContext(tmp_path, {}, MemorySecrets())) as opened:
            assert isinstance(opened.rate_limiter, RateLimiter), info.key
            assert opened.http.limiter is opened.rate_limiter, info.key
