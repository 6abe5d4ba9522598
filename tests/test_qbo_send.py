"""The demo data, sent through the real send engine to the QuickBooks Online stand-in
(situation 1: a new, empty company), ends up in QuickBooks exactly once — with and
without faults.

Time is virtual: the sender paces itself to QuickBooks' limits and sleeps on a clock
that only moves when something sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db.models import (
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
)
from app.services.setup.mapping import set_mapping
from app.services.setup.qbo_items import create_and_map, item_choices, map_to_item
from app.services.store import Store
from connectors.catalogue import QUICKBOOKS_ONLINE
from connectors.quickbooks_online import QuickBooksOnlineConnector
from tests.demo_stores import CloudRun, make_demo_template, namesakes, store_copy
from tests.harnesses_cloud import open_qbo
from tests.standins.clock import VirtualClock
from tests.standins.qbo import Company, FaultKind, QboStandIn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, prepared once: each test works on its own copy."""
    return make_demo_template(tmp_path_factory, "quickbooks_online")


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    yield from store_copy(demo_template, tmp_path)


class Run(CloudRun[QboStandIn, QuickBooksOnlineConnector]):
    @property
    def company(self) -> Company:
        return self.standin.only_company()


def map_accounts(store: Store, connector: QuickBooksOnlineConnector) -> None:
    """Labour and call-outs post through the company's own items; materials through a
    new item Ledgerlink adds (with consent) for the "Sales of Product Income" account."""
    choices = item_choices(connector)
    by_name = {item.name: item for item in choices.items}
    with store.session_factory.begin() as session:
        map_to_item(session, QUICKBOOKS_ONLINE, "SALES", by_name["Sales"], actor="test")
        map_to_item(session, QUICKBOOKS_ONLINE, "SALES-LAB", by_name["Services"], actor="test")
    materials = next(a for a in choices.income_accounts if a.name == "Sales of Product Income")
    create_and_map(
        store.session_factory,
        connector,
        "SALES-MAT",
        materials.id,
        "Materials",
        consent=True,
        actor="test",
    )
    accounts = connector.list_accounts()
    current = next(a for a in accounts if a.code == "1200")
    with store.session_factory.begin() as session:
        set_mapping(session, QUICKBOOKS_ONLINE, accounts, "BANK", current.id, actor="test")


@pytest.fixture
def run(store: Store, tmp_path: Path) -> Iterator[Run]:
    clock = VirtualClock()
    standin = QboStandIn(clock=clock.now)
    standin, connector = open_qbo(tmp_path, standin, clock.sleep)
    map_accounts(store, connector)
    with connector:
        yield Run(store, standin, connector, clock)


def assert_each_record_once(run: Run) -> None:
    """Every record we hold is in QuickBooks exactly once (or, for the namesakes it
    refuses and what depends on them, not at all), with our totals and links."""
    company = run.company
    refused = namesakes(run.store)
    with run.store.session_factory() as session:
        outbox = {
            (e.record_type, e.record_id): e
            for e in session.scalars(
                select(OutboxEntry).where(OutboxEntry.package == "quickbooks_online")
            )
        }
        for contact in session.scalars(select(Contact)):
            entity = "Customer" if contact.kind is ContactKind.CUSTOMER else "Vendor"
            found = company.noted(entity, contact.account_ref)
            entry = outbox[(RecordType(contact.kind.value), contact.id)]
            if contact.id in refused:
                assert found == [], contact.name
                assert entry.state is SendState.FAILED and entry.error_code == "duplicate_name"
                assert contact.name in entry.error_reason and entry.error_field == "name"
                continue
            assert len(found) == 1, (contact.account_ref, len(found))
            assert entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == found[0]["Id"]
            assert found[0]["DisplayName"] == " ".join(contact.name.split())
        documents = session.scalars(
            select(Document).options(selectinload(Document.lines), selectinload(Document.contact))
        ).all()
        for document in documents:
            invoice = document.kind is DocumentKind.INVOICE
            found = company.numbered("Invoice" if invoice else "CreditMemo", document.number)
            entry = outbox[(RecordType(document.kind.value), document.id)]
            if document.contact_id in refused:
                assert found == [] and entry.state is SendState.FAILED
                assert entry.error_code == "blocked"
                continue
            assert len(found) == 1, document.number
            assert entry.state is SendState.SUCCESSFUL, (document.number, entry.error_reason)
            assert entry.remote_id == found[0]["Id"]
            assert found[0]["TotalAmt"] == document.gross_total
            if not invoice and "Ledgerlink: set against" in found[0].get("PrivateNote", ""):
                # Set against its invoice once: the credit is used up, by one zero payment.
                assert found[0]["Balance"] == 0, document.number
                applications = [
                    p
                    for p in company.payments.values()
                    if any(
                        linked["TxnId"] == found[0]["Id"]
                        for line in p["Line"]
                        for linked in line["LinkedTxn"]
                    )
                ]
                assert len(applications) == 1, document.number
        payments = session.scalars(select(Payment).options(selectinload(Payment.allocations))).all()
        for payment in payments:
            parts = company.payments_referenced(payment.reference)
            entry = outbox[(RecordType.PAYMENT, payment.id)]
            if payment.contact_id in refused:
                assert parts == [] and entry.state is SendState.FAILED
                continue
            assert entry.state is SendState.SUCCESSFUL, (payment.reference, entry.error_reason)
            assert len(parts) == 1, payment.reference
            assert parts[0]["TotalAmt"] == payment.amount
            assert entry.remote_id == parts[0]["Id"]
            applied = sum((line["Amount"] for line in parts[0]["Line"]), Decimal(0))
            assert applied == sum((a.amount for a in payment.allocations), Decimal(0))
    # Every API call named the minor version, and it was 75.
    assert set(run.standin.minor_versions) == {"75"}


def test_demo_data_reaches_quickbooks_once(run: Run) -> None:
    report = run.send()

    assert_each_record_once(run)
    assert len(namesakes(run.store)) == 2  # "David Jones" and "J. Patel" appear twice
    assert report.failed["customer"] == 2
    assert report.stopped_reason == "" and not report.uncertain
    assert report.sent["invoice"] + report.failed["invoice"] == 708
    # Batches of up to 30, paced within 500 operations and 40 batches a minute: QuickBooks
    # never had to say "too many".
    assert run.standin.statuses[429] == 0
    batches = sum(1 for m, p in run.standin.requests if m == "POST" and p.endswith("/batch"))
    assert 50 < batches < 100
    assert run.clock.slept > 60


def test_demo_data_reaches_quickbooks_once_despite_faults(run: Run) -> None:
    armed = [
        run.standin.arm(FaultKind.EXPIRE_TOKEN, method="GET", path="query", skip=2),
        run.standin.arm(FaultKind.SERVER_ERROR, method="GET", path="query", skip=4),
        run.standin.arm(FaultKind.RATE_LIMIT, path="batch", skip=2),
        run.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="batch", skip=4),
        run.standin.arm(FaultKind.REFUSE_CONNECTION, path="batch", skip=6),
        run.standin.arm(FaultKind.SERVER_ERROR, path="batch", skip=10),
        run.standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="batch", skip=14),
        run.standin.arm(FaultKind.DROP_AFTER_SAVE, path="batch", skip=20),
        run.standin.arm(FaultKind.EXPIRE_TOKEN, method="", path="batch", skip=25),
        run.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="batch", skip=31),
        run.standin.arm(FaultKind.DROP_AFTER_SAVE, path="batch", skip=40),
    ]
    report = run.send()

    assert run.standin.faults == [], "every armed fault fired"
    assert len(run.standin.fired) == len(armed)
    assert_each_record_once(run)
    assert report.stopped_reason == "" and not report.uncertain
    # Each lost answer made its whole batch uncertain; every record was found, not resent.
    assert report.resolved_found >= 30
    assert run.standin.auth.token_requests.count("refresh_token") >= 2


def test_a_second_send_sends_nothing_again(run: Run) -> None:
    run.send()
    counts = (len(run.company.customers), len(run.company.invoices), len(run.company.payments))
    again = run.send()
    assert sum(again.sent.values()) == 0
    assert (
        len(run.company.customers),
        len(run.company.invoices),
        len(run.company.payments),
    ) == counts


def test_rows_left_in_processing_by_a_crash_are_found_not_resent(run: Run) -> None:
    """A run that died mid-request leaves rows in processing; the next run asks
    QuickBooks and finds them, rather than sending them a second time."""
    run.send()
    with run.store.session_factory.begin() as session:
        picked = {}
        for record_type in (
            RecordType.CUSTOMER,
            RecordType.SUPPLIER,
            RecordType.INVOICE,
            RecordType.CREDIT_NOTE,
            RecordType.PAYMENT,
        ):
            entry = session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.record_type == record_type)
                .where(OutboxEntry.state == SendState.SUCCESSFUL)
                .order_by(OutboxEntry.id.desc())
            ).first()
            assert entry is not None
            picked[entry.id] = entry.remote_id
            entry.state = SendState.PROCESSING
    counts = (len(run.company.customers), len(run.company.invoices), len(run.company.payments))

    report = run.send()

    assert report.resolved_found == 5 and sum(report.sent.values()) == 5
    assert (
        len(run.company.customers),
        len(run.company.invoices),
        len(run.company.payments),
    ) == counts
    with run.store.session_factory() as session:
        for entry_id, remote_id in picked.items():
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None and entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == remote_id
    assert_each_record_once(run)
