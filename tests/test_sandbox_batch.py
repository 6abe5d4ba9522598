"""The Sandbox's batch create: one transaction per batch, yet each record answered,
checked and kept (or refused) exactly as its own create would be, idempotency keys
honoured and faults firing per record."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.contract import (
    BatchItem,
    ContactDraft,
    DocumentDraft,
    DocumentType,
    PaymentDraft,
    RemoteRecordType,
)
from connectors.errors import OutcomeUncertain, Rejected, TemporarilyUnavailable
from connectors.sandbox import FaultKind, Operation, SandboxConnector
from connectors.sandbox.lookups import Lookups, invoice_unpaid
from tests.connector_harness import (
    Chart,
    customer,
    invoice,
    line,
    make_context,
    payment,
    supplier,
)

JAN_5 = date(2026, 1, 5)


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[SandboxConnector]:
    folder = tmp_path / "data"
    folder.mkdir()
    with SandboxConnector(make_context(folder)) as opened:
        assert isinstance(opened, SandboxConnector)
        yield opened


@pytest.fixture
def chart(connector: SandboxConnector) -> Chart:
    return Chart.discover(connector)


@pytest.fixture
def ada(connector: SandboxConnector) -> str:
    return connector.create_contact(customer("ADA01", "Ada Boiler Services Ltd"), "k-ada")


def test_each_record_is_answered_by_position_and_a_refusal_writes_nothing(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    items = [
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k1"),
        # Sees the one before it in the same transaction, as a package would.
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k2"),
        BatchItem(invoice(chart, "INV-2", ada, JAN_5), "k3"),
    ]
    first, refused, third = connector.create_batch(items)

    assert isinstance(refused, Rejected) and refused.code == "duplicate_number"
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-1") == first
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-2") == third
    assert connector.store.count_documents() == 2


def test_a_batch_sent_again_with_its_keys_creates_nothing(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    items = [BatchItem(invoice(chart, f"INV-{n}", ada, JAN_5), f"k{n}") for n in range(1, 4)]
    first = connector.create_batch(items)
    again = connector.create_batch(items)

    assert list(again) == list(first)
    assert connector.store.count_documents() == 3
    # A key reused for another kind of record is refused, in a batch as alone.
    (reused,) = connector.create_batch([BatchItem(customer("C9", "Someone Else"), "k1")])
    assert isinstance(reused, Rejected) and reused.code == "idempotency_key_reused"


def test_a_batch_is_the_same_as_its_records_created_one_by_one(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    inv = connector.create_document(invoice(chart, "INV-1", ada, JAN_5), "k-inv")  # £120
    items = [
        BatchItem(payment(chart, "P1", ada, JAN_5, (inv, "100.00")), "k-p1"),
        # Over-pays only because of the payment before it in this batch.
        BatchItem(payment(chart, "P2", ada, JAN_5, (inv, "30.00")), "k-p2"),
        BatchItem(payment(chart, "P3", ada, JAN_5, (inv, "20.00")), "k-p3"),
    ]
    p1, over, p3 = connector.create_batch(items)

    assert isinstance(over, Rejected) and over.code == "over_payment"
    assert isinstance(p1, str) and isinstance(p3, str)
    assert connector.store.outstanding(inv) == Decimal("0.00")
    assert [p.reference for p in connector.store.list_payments()] == ["P1", "P3"]


def test_a_refused_credit_note_undoes_only_its_own_writes(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    inv = connector.create_document(invoice(chart, "INV-1", ada, JAN_5), "k-inv")  # £120
    credit = invoice(
        chart, "CN-1", ada, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
    )  # £30
    items = [
        BatchItem(replace(credit, credits_document_ref=inv), "k-cn1"),
        # £150 against the £90 still owed: refused after its document row was written.
        BatchItem(
            replace(
                credit,
                number="CN-2",
                lines=(line(chart, "1", "125.00"),),
                credits_document_ref=inv,
            ),
            "k-cn2",
        ),
        BatchItem(invoice(chart, "INV-2", ada, JAN_5), "k-inv2"),
    ]
    kept, refused, after = connector.create_batch(items)

    assert isinstance(refused, Rejected) and refused.code == "over_allocation"
    assert connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-2") is None
    assert connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") == kept
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-2") == after
    assert connector.store.outstanding(inv) == Decimal("90.00")
    assert connector.store.count_documents() == 3


def test_an_outage_part_way_keeps_the_records_before_it(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    connector.faults.fail_next_creates(1, operations=[Operation.CREATE_DOCUMENT])
    items = [
        BatchItem(customer("C1", "Bramley Heating"), "k-c1"),
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k-inv"),
    ]
    with pytest.raises(TemporarilyUnavailable):
        connector.create_batch(items)
    contact = connector.find_existing(RemoteRecordType.CUSTOMER, "C1")
    assert contact is not None
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-1") is None

    # The sender retries the whole batch with the same keys: nothing is made twice.
    again = connector.create_batch(items)
    assert again[0] == contact
    assert again[1] == connector.find_existing(RemoteRecordType.INVOICE, "INV-1")
    assert connector.store.count_contacts() == 2


def test_a_lost_answer_part_way_keeps_what_was_written(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    connector.faults.lose_next_responses(1, operations=[Operation.CREATE_DOCUMENT])
    items = [
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k1"),
        BatchItem(invoice(chart, "INV-2", ada, JAN_5), "k2"),
    ]
    with pytest.raises(OutcomeUncertain):
        connector.create_batch(items)
    written = connector.find_existing(RemoteRecordType.INVOICE, "INV-1")
    assert written is not None
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV-2") is None
    (fired,) = connector.faults.triggered
    assert fired.kind is FaultKind.RESPONSE_LOST and fired.written_ref == written
    assert connector.create_batch(items)[0] == written
    assert connector.store.count_documents() == 2


def _one_by_one(target: SandboxConnector, items: list[BatchItem]) -> list[str | Rejected]:
    answers: list[str | Rejected] = []
    for item in items:
        draft = item.draft
        try:
            if isinstance(draft, ContactDraft):
                answers.append(target.create_contact(draft, item.idempotency_key))
            elif isinstance(draft, DocumentDraft):
                answers.append(target.create_document(draft, item.idempotency_key))
            else:
                assert isinstance(draft, PaymentDraft)
                answers.append(target.create_payment(draft, item.idempotency_key))
        except Rejected as rejected:
            answers.append(rejected)
    return answers


def _seen(answers: Sequence[object]) -> list[object]:
    return [(a.code, a.field, a.reason, a.fix) if isinstance(a, Rejected) else a for a in answers]


def test_a_batch_answers_every_record_as_its_own_create_would(
    connector: SandboxConnector, chart: Chart, ada: str, tmp_path: Path
) -> None:
    # Records that refer to, or clash with, records made earlier in the same batch: the
    # batch must see each one as the file would after it was written. Ids are the same in
    # two fresh Sandboxes, so the second invoice's can be named before it exists.
    inv = "SBX-D000001"
    credit = invoice(
        chart, "CN-1", ada, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
    )  # £30
    items = [
        BatchItem(customer("C1", "Bramley Heating"), "k-c1"),
        BatchItem(customer("C2", "  BRAMLEY heating "), "k-c2"),  # a namesake
        BatchItem(customer("C1", "Another Name Ltd"), "k-c3"),  # account ref taken
        BatchItem(supplier("C1", "Bramley Supplies"), "k-s1"),  # other role: fine
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k-inv1"),  # £120
        BatchItem(payment(chart, "P1", ada, JAN_5, (inv, "100.00")), "k-p1"),
        BatchItem(payment(chart, "P2", ada, JAN_5, (inv, "30.00")), "k-p2"),  # over
        BatchItem(replace(credit, credits_document_ref=inv), "k-cn1"),  # over
        BatchItem(
            replace(
                credit, number="CN-2", lines=(line(chart, "1", "10.00"),), credits_document_ref=inv
            ),
            "k-cn2",
        ),  # £12
        BatchItem(payment(chart, "P3", ada, JAN_5, (inv, "8.00")), "k-p3"),
        BatchItem(payment(chart, "P3", ada, JAN_5, (inv, "0.01")), "k-p4"),  # reference taken
        BatchItem(invoice(chart, "INV-1", ada, JAN_5), "k-inv2"),  # number taken
    ]
    folder = tmp_path / "alone"
    folder.mkdir()
    with SandboxConnector(make_context(folder)) as alone:
        assert isinstance(alone, SandboxConnector)
        assert alone.create_contact(customer("ADA01", "Ada Boiler Services Ltd"), "k-ada") == ada
        expected = _one_by_one(alone, items)
        expected_outstanding = alone.store.outstanding(inv)

    answers = connector.create_batch(items)

    assert _seen(answers) == _seen(expected)
    assert [a.code for a in answers if isinstance(a, Rejected)] == [
        "duplicate_name",
        "duplicate_reference",
        "over_payment",
        "over_allocation",
        "duplicate_reference",
        "duplicate_number",
    ]
    assert connector.store.outstanding(inv) == expected_outstanding == Decimal("0.00")
    assert connector.store.count_contacts() == 3
    assert connector.store.count_documents() == 2
    assert [p.reference for p in connector.store.list_payments()] == ["P1", "P3"]


# ----------------------------------------------------------------------------- what is unpaid

# What is still unpaid on an invoice is one rule (lookups.invoice_unpaid): the batch checks
# (Lookups, loaded set-based) and the stored view (rules.invoice_outstanding, one invoice)
# must give the same answer for any invoice with payments and credit notes set against it.
_serial = itertools.count(1)
pennies = st.integers(min_value=1, max_value=250_000)


def pounds(count: int) -> str:
    return str(Decimal(count).scaleb(-2))


@given(
    prices=st.lists(pennies, min_size=1, max_size=3),
    settled=st.lists(st.tuples(st.booleans(), pennies), max_size=6),
)
def test_the_batch_checks_and_the_stored_view_agree_on_what_is_unpaid(
    connector: SandboxConnector,
    chart: Chart,
    prices: list[int],
    settled: list[tuple[bool, int]],
) -> None:
    n = next(_serial)
    who = connector.create_contact(customer(f"C{n}", f"Customer {n}"), f"k-c{n}")
    lines = [line(chart, "1", pounds(price)) for price in prices]
    inv = connector.create_document(invoice(chart, f"INV-{n}", who, JAN_5, *lines), f"k-i{n}")
    gross = sum((ln.net_amount + ln.vat_amount for ln in lines), Decimal("0.00"))
    paid = credited = Decimal("0.00")
    for step, (is_credit, wanted) in enumerate(settled):
        # Never more than is left: an over-payment is refused, and proven so elsewhere.
        amount = min(Decimal(wanted).scaleb(-2), gross - paid - credited)
        if amount <= 0:
            break
        if is_credit:
            credit_note = invoice(
                chart,
                f"CN-{n}-{step}",
                who,
                JAN_5,
                line(chart, "1", str(amount)),
                doc_type=DocumentType.CREDIT_NOTE,
            )
            ref = connector.create_document(credit_note, f"k-cn{n}-{step}")
            connector.store.allocate_credit_note(ref, inv, amount)  # part of its gross
            credited += amount
        else:
            draft = payment(chart, f"P-{n}-{step}", who, JAN_5, (inv, str(amount)))
            connector.create_payment(draft, f"k-p{n}-{step}")
            paid += amount
    # Worked out here, apart from the rule under test (whole pennies: nothing to round).
    expected = gross - paid - credited

    shown = connector.store.outstanding(inv)  # rules.invoice_outstanding
    with connector.store._reading() as session:
        one_by_one = Lookups(session)
        facts = one_by_one.document(inv)
        assert facts is not None
        on_demand = one_by_one.invoice_outstanding(facts)
        batch = Lookups(session)
        batch.preload([payment(chart, f"P-{n}-next", who, JAN_5, (inv, "0.01"))])
        preloaded = batch.document(inv)
        assert preloaded is not None
        for_a_batch = batch.invoice_outstanding(preloaded)
    assert shown == on_demand == for_a_batch == expected
    assert str(shown) == str(for_a_batch)  # to the penny, written the same way


def test_what_is_unpaid_is_to_the_penny_half_up() -> None:
    assert invoice_unpaid(Decimal("10.005"), Decimal("0"), Decimal("0")) == Decimal("10.01")
    assert invoice_unpaid(Decimal("10.00"), Decimal("3.334"), Decimal("1.001")) == Decimal("5.67")
    assert invoice_unpaid(Decimal("10.00"), Decimal("4.00"), Decimal("6.00")) == Decimal("0.00")
