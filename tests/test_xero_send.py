"""The demo data, sent through the real send engine to the Xero stand-in (situation 1: a
new, empty Xero organisation), ends up in Xero exactly once — with and without faults.

Time is virtual: the sender paces itself to Xero's 60 calls a minute and sleeps on a
clock that only moves when something sleeps, so a half-hour send takes seconds.
"""

from __future__ import annotations

from collections import Counter
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
from app.services.store import Store
from connectors.catalogue import XERO
from connectors.xero import XeroConnector
from tests.connector_harness import open_xero
from tests.demo_stores import CloudRun, make_demo_template, map_by_code, namesakes, store_copy
from tests.standins.clock import VirtualClock
from tests.standins.openapi import xero_checker
from tests.standins.xero import FaultKind, Organisation, XeroStandIn

pytestmark = pytest.mark.slow

#: Our nominal accounts → codes in the stand-in's UK chart of accounts.
MAPPING = {"SALES": "200", "SALES-LAB": "200", "SALES-MAT": "260", "BANK": "090"}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, prepared once: each test works on its own copy."""
    return make_demo_template(tmp_path_factory, "xero")


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    yield from store_copy(demo_template, tmp_path)


class Run(CloudRun[XeroStandIn, XeroConnector]):
    @property
    def org(self) -> Organisation:
        return self.standin.only_organisation()


@pytest.fixture
def run(store: Store, tmp_path: Path) -> Iterator[Run]:
    clock = VirtualClock()
    standin = XeroStandIn(clock=clock.now, checker=xero_checker())
    standin.add_organisation()
    standin, connector = open_xero(tmp_path, standin, sleep=clock.sleep)
    map_by_code(store, connector, XERO, MAPPING)
    with connector:
        yield Run(store, standin, connector, clock)


def _namesakes(store: Store) -> set[int]:
    """Our contacts whose name an earlier contact already has (Xero refuses them)."""
    return namesakes(store)


def assert_each_record_once(run: Run) -> None:
    """Every record we hold is in Xero exactly once (or, for the namesakes Xero refuses
    and what depends on them, not at all), with our totals and links."""
    org = run.org
    refused = _namesakes(run.store)
    with run.store.session_factory() as session:
        outbox = {
            (e.record_type, e.record_id): e
            for e in session.scalars(select(OutboxEntry).where(OutboxEntry.package == "xero"))
        }
        for contact in session.scalars(select(Contact)):
            role = "C" if contact.kind is ContactKind.CUSTOMER else "S"
            found = org.contacts_numbered(f"LL-{role}-{contact.account_ref}")
            entry = outbox[(RecordType(contact.kind.value), contact.id)]
            if contact.id in refused:
                assert found == [], contact.name
                assert entry.state is SendState.FAILED and entry.error_code == "duplicate_name"
                assert contact.name in entry.error_reason and entry.error_field == "name"
                continue
            assert len(found) == 1, (contact.account_ref, len(found))
            assert entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == found[0]["ContactID"]
            assert found[0]["Name"] == contact.name.strip()
        documents = session.scalars(
            select(Document).options(selectinload(Document.lines), selectinload(Document.contact))
        ).all()
        for document in documents:
            invoice = document.kind is DocumentKind.INVOICE
            found = (
                org.invoices_numbered(document.number)
                if invoice
                else org.credit_notes_numbered(document.number)
            )
            entry = outbox[(RecordType(document.kind.value), document.id)]
            if document.contact_id in refused:
                assert found == [] and entry.state is SendState.FAILED
                assert entry.error_code == "blocked"
                continue
            assert len(found) == 1, document.number
            assert entry.state is SendState.SUCCESSFUL, (document.number, entry.error_reason)
            assert entry.remote_id == found[0]["InvoiceID" if invoice else "CreditNoteID"]
            assert found[0]["Total"] == document.gross_total
            if not invoice and document.original_invoice_number:
                credited = org.invoices_numbered(document.original_invoice_number)[0]
                allocated = [a["Invoice"]["InvoiceID"] for a in found[0]["Allocations"]]
                assert allocated in ([credited["InvoiceID"]], []), document.number
        payments = session.scalars(select(Payment).options(selectinload(Payment.allocations))).all()
        for payment in payments:
            parts = org.payments_referenced(payment.reference)
            entry = outbox[(RecordType.PAYMENT, payment.id)]
            if payment.contact_id in refused:
                assert parts == [] and entry.state is SendState.FAILED
                continue
            assert entry.state is SendState.SUCCESSFUL, (payment.reference, entry.error_reason)
            assert len(parts) == len(payment.allocations), payment.reference
            assert sum((p["Amount"] for p in parts), Decimal(0)) == payment.amount
            assert entry.remote_id in {p["PaymentID"] for p in parts}
    assert run.standin.spec_problems == []
    assert not list(run.standin.requests_to("POST", "/api.xro/2.0/"))


def test_demo_data_reaches_xero_once_and_every_request_is_valid(run: Run) -> None:
    if xero_checker() is None:
        pytest.skip("Xero's OpenAPI description (../shared/specs) is not available")
    report = run.send()

    assert_each_record_once(run)
    refused = _namesakes(run.store)
    assert len(refused) == 2  # "David Jones" and "J. Patel" appear twice in the demo data
    assert report.failed["customer"] == 2
    assert report.stopped_reason == "" and not report.uncertain
    assert report.sent["invoice"] + report.failed["invoice"] == 708
    # Paced to 60 requests a minute: Xero never had to say "too many".
    assert run.standin.statuses[429] == 0
    # Up to 50 invoices per request: 708 invoices in 15 requests.
    assert len(list(run.standin.requests_to("PUT", "/api.xro/2.0/Invoices"))) == 15


def test_demo_data_reaches_xero_once_despite_faults(run: Run) -> None:
    # Batches of 50 make 5 contact requests, 15 invoice requests, one per credit note
    # (25, 9 of them also setting the note against its invoice) and about 50 payment
    # requests: the faults below are spread over them.
    standin = run.standin
    armed = [
        standin.arm(FaultKind.EXPIRE_TOKEN, method="", path="TaxRates"),
        standin.arm(FaultKind.RATE_LIMIT, path="Contacts", retry_after=20),
        standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="Contacts", skip=1),
        standin.arm(FaultKind.REFUSE_CONNECTION, path="Contacts", skip=2),
        standin.arm(FaultKind.SERVER_ERROR, path="Invoices", skip=2),
        standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="Invoices", skip=6),
        standin.arm(FaultKind.DROP_AFTER_SAVE, path="Invoices", skip=10),
        standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="CreditNotes/", skip=1),
        standin.arm(FaultKind.SERVER_ERROR, path="CreditNotes/", skip=3),
        standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="CreditNotes", skip=12),
        standin.arm(FaultKind.DROP_AFTER_SAVE, path="Payments", skip=2),
        standin.arm(FaultKind.RATE_LIMIT, path="Payments", skip=4, retry_after=45),
        standin.arm(FaultKind.EXPIRE_TOKEN, method="", path="Payments", skip=6),
        standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="Payments", skip=8),
    ]
    report = run.send()

    assert standin.faults == [], "every armed fault fired"
    assert sorted(map(id, standin.fired)) == sorted(map(id, armed))
    assert_each_record_once(run)
    assert report.stopped_reason == "" and not report.uncertain
    # Answers lost after Xero saved (two batches of 50 among them): found, not resent.
    assert report.resolved_found >= 100
    assert Counter(standin.auth.token_requests)["refresh_token"] == 2
    assert standin.statuses[401] == 2 and standin.statuses[429] == 2


def test_sending_again_sends_nothing_twice_even_after_a_crash(run: Run) -> None:
    """A second send has nothing new to send. A run that died mid-request leaves rows in
    processing; the next run asks Xero and finds them rather than sending them again."""
    run.send()
    before = len(run.standin.requests)
    counts = (len(run.org.contacts), len(run.org.invoices), len(run.org.payments))
    again = run.send()
    assert sum(again.sent.values()) == 0
    assert (len(run.org.contacts), len(run.org.invoices), len(run.org.payments)) == counts
    assert [m for m, _ in run.standin.requests[before:] if m != "GET"] == []

    with run.store.session_factory.begin() as session:
        picked = {}
        for record_type in (RecordType.CUSTOMER, RecordType.INVOICE, RecordType.PAYMENT):
            entry = session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.record_type == record_type)
                .where(OutboxEntry.state == SendState.SUCCESSFUL)
                .order_by(OutboxEntry.id.desc())
            ).first()
            assert entry is not None
            picked[entry.id] = entry.remote_id
            entry.state = SendState.PROCESSING

    report = run.send()

    assert report.resolved_found == 3 and sum(report.sent.values()) == 3
    assert (len(run.org.contacts), len(run.org.invoices), len(run.org.payments)) == counts
    with run.store.session_factory() as session:
        for entry_id, remote_id in picked.items():
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None and entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == remote_id
    assert_each_record_once(run)
