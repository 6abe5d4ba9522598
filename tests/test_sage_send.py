"""The demo data, sent through the real send engine to the Sage Business Cloud stand-in
(situation 1: a new, empty business), ends up in Sage exactly once — with and without
faults.

Sage has neither batches nor idempotency keys, so the engine sends one record per
request, and every lost answer is settled by looking the record up by our own key
before anything is sent again. Time is virtual; Sage's five-minute access tokens are
refreshed many times over the send.
"""

from __future__ import annotations

import re
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
from connectors.catalogue import SAGE_BUSINESS_CLOUD
from connectors.http import loads_json
from connectors.sage_business_cloud import SageBusinessCloudConnector, wire
from tests.demo_stores import CloudRun, make_demo_template, map_by_code, namesakes, store_copy
from tests.harnesses_cloud import open_sage
from tests.standins.clock import VirtualClock
from tests.standins.sage import Business, FaultKind, SageStandIn

pytestmark = pytest.mark.slow

#: Our nominal accounts → nominal codes in the stand-in's UK chart.
MAPPING = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, prepared once: each test works on its own copy."""
    return make_demo_template(tmp_path_factory, "sage_business_cloud")


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    yield from store_copy(demo_template, tmp_path)


class Run(CloudRun[SageStandIn, SageBusinessCloudConnector]):
    @property
    def business(self) -> Business:
        return self.standin.only_business()


@pytest.fixture
def run(store: Store, tmp_path: Path) -> Iterator[Run]:
    clock = VirtualClock()
    standin = SageStandIn(clock=clock.now)
    standin, connector = open_sage(tmp_path, standin, sleep=clock.sleep)
    map_by_code(store, connector, SAGE_BUSINESS_CLOUD, MAPPING)
    with connector:
        yield Run(store, standin, connector, clock)


def _namesakes(store: Store) -> set[int]:
    """Our contacts whose name an earlier one of the same kind has (Ledgerlink does not
    create a second same-named contact in Sage)."""
    return namesakes(store, lambda c: (c.kind, " ".join(c.name.split()).casefold()))


def assert_each_record_once(run: Run) -> None:
    business = run.business
    refused = _namesakes(run.store)
    with run.store.session_factory() as session:
        outbox = {
            (e.record_type, e.record_id): e
            for e in session.scalars(
                select(OutboxEntry).where(OutboxEntry.package == "sage_business_cloud")
            )
        }
        for contact in session.scalars(select(Contact)):
            found = business.contacts_referenced(contact.account_ref)
            entry = outbox[(RecordType(contact.kind.value), contact.id)]
            if contact.id in refused:
                assert found == [], contact.name
                assert entry.state is SendState.FAILED and entry.error_code == "duplicate_name"
                assert contact.name in entry.error_reason and entry.error_field == "name"
                continue
            assert len(found) == 1, (contact.account_ref, len(found))
            assert entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == found[0]["id"]
            kind = "CUSTOMER" if contact.kind is ContactKind.CUSTOMER else "VENDOR"
            assert [t["id"] for t in found[0]["contact_types"]] == [kind]
            assert found[0]["name"] == contact.name.strip()
        documents = session.scalars(
            select(Document).options(selectinload(Document.lines), selectinload(Document.contact))
        ).all()
        for document in documents:
            invoice = document.kind is DocumentKind.INVOICE
            found = (
                business.invoices_numbered(document.number)
                if invoice
                else business.credit_notes_numbered(document.number)
            )
            entry = outbox[(RecordType(document.kind.value), document.id)]
            if document.contact_id in refused:
                assert found == [] and entry.state is SendState.FAILED
                assert entry.error_code == "blocked"
                continue
            assert len(found) == 1, document.number
            assert entry.state is SendState.SUCCESSFUL, (document.number, entry.error_reason)
            assert entry.remote_id == found[0]["id"]
            assert found[0]["total_amount"] == document.gross_total
            # The VAT Ledgerlink worked out is what Sage holds, line by line.
            lines = found[0]["invoice_lines" if invoice else "credit_note_lines"]
            assert [line["tax_amount"] for line in lines] == [
                line.vat_amount for line in document.lines
            ]
            if not invoice and wire.credited_invoice(found[0]) is not None:
                assert found[0]["outstanding_amount"] == 0, document.number
                allocations = [
                    a
                    for a in business.contact_allocations.values()
                    if any(p["artefact"]["id"] == found[0]["id"] for p in a["allocated_artefacts"])
                ]
                assert len(allocations) == 1, document.number
        payments = session.scalars(select(Payment).options(selectinload(Payment.allocations))).all()
        for payment in payments:
            parts = business.payments_referenced(payment.reference)
            entry = outbox[(RecordType.PAYMENT, payment.id)]
            if payment.contact_id in refused:
                assert parts == [] and entry.state is SendState.FAILED
                continue
            assert entry.state is SendState.SUCCESSFUL, (payment.reference, entry.error_reason)
            assert len(parts) == 1, payment.reference
            assert parts[0]["total_amount"] == payment.amount
            assert entry.remote_id == parts[0]["id"]
            allocated = sum((a["amount"] for a in parts[0]["allocated_artefacts"]), Decimal(0))
            assert allocated == sum((a.amount for a in payment.allocations), Decimal(0))
    # Every call named the business: none went to whichever is Sage's "lead" business.
    assert set(run.standin.business_headers) == {business.id}


def test_demo_data_reaches_sage_once(run: Run) -> None:
    report = run.send()

    assert_each_record_once(run)
    assert len(_namesakes(run.store)) == 2  # "David Jones" and "J. Patel" appear twice
    assert report.failed["customer"] == 2
    assert report.stopped_reason == "" and not report.uncertain
    assert report.sent["invoice"] + report.failed["invoice"] == 708
    # One record per request, at about one a second: a long send, in virtual time, over
    # which the five-minute access token was refreshed again and again.
    assert run.clock.slept > 20 * 60
    assert run.standin.auth.token_requests.count("refresh_token") > 4
    # Paced to about one request a second: Sage never had to say "too many".
    assert run.standin.statuses[429] == 0
    # As Sage publishes it: decimal values as strings, an idempotency_id in every create.
    assert run.standin.numbers_sent == []
    for path, content in run.standin.posted:
        (resource,) = loads_json(content).values()
        assert re.fullmatch(r"[0-9a-f]{32}", resource["idempotency_id"]), path


def test_demo_data_reaches_sage_once_despite_faults(run: Run) -> None:
    armed = [
        run.standin.arm(FaultKind.EXPIRE_TOKEN, method="GET", path="tax_rates"),
        run.standin.arm(FaultKind.RATE_LIMIT, path="contacts", skip=3, retry_after=20),
        run.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="contacts", skip=10),
        run.standin.arm(FaultKind.REFUSE_CONNECTION, path="contacts", skip=20),
        run.standin.arm(FaultKind.DROP_AFTER_SAVE, path="contacts", skip=30),
        run.standin.arm(FaultKind.SERVER_ERROR, path="sales_invoices", skip=5),
        run.standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="sales_invoices", skip=40),
        run.standin.arm(FaultKind.DROP_AFTER_SAVE, path="sales_invoices", skip=100),
        run.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="sales_credit_notes", skip=2),
        run.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="contact_allocations", skip=4),
        run.standin.arm(FaultKind.SERVER_ERROR, path="contact_allocations", skip=8),
        run.standin.arm(FaultKind.DROP_AFTER_SAVE, path="contact_payments", skip=7),
        run.standin.arm(FaultKind.RATE_LIMIT, path="contact_payments", skip=30, retry_after=45),
        run.standin.arm(FaultKind.EXPIRE_TOKEN, method="", path="contact_payments", skip=50),
        run.standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="contact_payments", skip=200),
        run.standin.arm(FaultKind.SERVER_ERROR, method="GET", path="contact_payments"),
    ]
    report = run.send()

    assert run.standin.faults == [], "every armed fault fired"
    assert len(run.standin.fired) == len(armed)
    assert_each_record_once(run)
    assert report.stopped_reason == "" and not report.uncertain
    # Eight faults lost the answer after Sage had saved: each was found, not resent.
    assert report.resolved_found >= 8


def test_rows_left_in_processing_by_a_crash_are_found_not_resent(run: Run) -> None:
    run.send()
    with run.store.session_factory.begin() as session:
        picked = {}
        for record_type in RecordType:
            entry = session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.record_type == record_type)
                .where(OutboxEntry.state == SendState.SUCCESSFUL)
                .order_by(OutboxEntry.id.desc())
            ).first()
            assert entry is not None
            picked[entry.id] = entry.remote_id
            entry.state = SendState.PROCESSING
    business = run.business
    counts = (len(business.contacts), len(business.sales_invoices), len(business.contact_payments))

    report = run.send()

    assert report.resolved_found == len(picked) and sum(report.sent.values()) == len(picked)
    assert (
        len(business.contacts),
        len(business.sales_invoices),
        len(business.contact_payments),
    ) == counts
    with run.store.session_factory() as session:
        for entry_id, remote_id in picked.items():
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None and entry.state is SendState.SUCCESSFUL
            assert entry.remote_id == remote_id
    assert_each_record_once(run)
