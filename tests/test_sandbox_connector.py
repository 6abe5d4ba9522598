"""The Sandbox package: its rules, idempotency, look-ups, paging, faults, file and demo
pre-fill, driven through the connector contract (and its admin API where the contract
has no say)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import registry
from connectors.contract import (
    ContactDraft,
    ContactRole,
    DocumentType,
    RemoteContact,
    RemoteRecordType,
)
from connectors.errors import (
    NeedsReconnecting,
    OutcomeUncertain,
    RateLimited,
    Rejected,
    TemporarilyUnavailable,
)
from connectors.sandbox import (
    BANK_ACCOUNT_ID,
    DEFAULT_ACCOUNTS,
    DEFAULT_COMPANY_NAME,
    DEMO_LOCK_DATE,
    FaultKind,
    Operation,
    PrefillCategory,
    SandboxConnector,
    SandboxFileError,
    SandboxStore,
    account_id_for_code,
    prefill_for_demo,
)
from connectors.sandbox.models import SCHEMA_VERSION
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
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def connector(data_dir: Path) -> Iterator[SandboxConnector]:
    with SandboxConnector(make_context(data_dir)) as opened:
        assert isinstance(opened, SandboxConnector)
        yield opened


@pytest.fixture
def chart(connector: SandboxConnector) -> Chart:
    return Chart.discover(connector)


@pytest.fixture
def ada(connector: SandboxConnector) -> str:
    return connector.create_contact(
        customer("ADA01", "Ada Boiler Services Ltd", email="accounts@ada.example"), "k-ada"
    )


def rejected(
    exc: pytest.ExceptionInfo[Rejected], code: str, field: str, *in_reason: str
) -> Rejected:
    """Assert the refusal's code and field, that it says why and what to do, and that the
    reason names what it should."""
    error = exc.value
    assert error.code == code, error.reason
    assert error.field == field
    assert error.reason.strip() and error.fix.strip()
    assert str(error) == error.reason
    for fragment in in_reason:
        assert fragment in error.reason, (fragment, error.reason)
    return error


# ----------------------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    "second",
    ["Ada Boiler Services Ltd", "ADA BOILER SERVICES LTD", "  ada boiler services ltd  "],
    ids=["same", "case", "spaces"],
)
def test_duplicate_name_is_rejected_whatever_case_or_spaces(
    connector: SandboxConnector, ada: str, second: str
) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("ADA02", second), "k-2")
    error = rejected(caught, "duplicate_name", "name", "Ada Boiler Services Ltd", ada, "ADA02")
    assert f"link our customer to Sandbox contact {ada}" in error.fix
    assert connector.store.count_contacts() == 1


def test_duplicate_name_across_customers_and_suppliers(
    connector: SandboxConnector, ada: str
) -> None:
    assert type(connector).info.names_unique_across_roles
    with pytest.raises(Rejected) as caught:
        connector.create_contact(supplier("S01", "Ada Boiler Services Ltd"), "k-s")
    rejected(caught, "duplicate_name", "name", "already has a customer", ada)


def test_names_differing_inside_are_different_contacts(
    connector: SandboxConnector, ada: str
) -> None:
    other = connector.create_contact(customer("ADA02", "Ada  Boiler Services Ltd"), "k-2")
    assert other != ada
    assert connector.store.count_contacts(ContactRole.CUSTOMER) == 2


def test_missing_name_is_rejected(connector: SandboxConnector) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("C77", "   "), "k")
    rejected(caught, "missing_name", "name", "C77")


def test_our_account_reference_is_unique_per_role(connector: SandboxConnector, ada: str) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("ADA01", "Another Business"), "k-2")
    rejected(caught, "duplicate_reference", "account_ref", "ADA01", ada)
    # The same reference on a supplier is another record in our system.
    assert connector.create_contact(supplier("ADA01", "Ada's Merchants"), "k-3")


@pytest.mark.parametrize(
    "email", ["not-an-email", "ada@example", "ada boiler@example.com", "a@b.com; c@d.com"]
)
def test_invalid_email_is_rejected(connector: SandboxConnector, email: str) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("C1", "Bramley Heating", email=email), "k")
    rejected(caught, "invalid_email", "email", "Bramley Heating", email)
    assert connector.store.count_contacts() == 0


def test_plausible_email_is_accepted(connector: SandboxConnector) -> None:
    ref = connector.create_contact(
        customer("C1", "Bramley Heating", email=" accounts@bramley-heating.co.uk "), "k"
    )
    remote = connector.get_contact(ref)
    assert remote is not None and remote.email == "accounts@bramley-heating.co.uk"


def test_contact_ids_and_reading_them_back(connector: SandboxConnector) -> None:
    first = connector.create_contact(customer("C1", "Bramley Heating", postcode="LS1 4AP"), "k1")
    second = connector.create_contact(supplier("S1", "Pipe Centre"), "k2")
    assert (first, second) == ("SBX-C000001", "SBX-C000002")
    remote = connector.get_contact(" sbx-c000001 ")
    assert remote is not None
    assert (remote.ref, remote.name, remote.postcode, remote.our_ref) == (
        first,
        "Bramley Heating",
        "LS1 4AP",
        "C1",
    )
    assert connector.get_contact("SBX-C000003") is None
    assert connector.get_contact("SBX-D000001") is None
    assert connector.get_contact("") is None


def test_find_contacts_by_name_is_exact(connector: SandboxConnector, ada: str) -> None:
    found = connector.find_contacts_by_name(ContactRole.CUSTOMER, "Ada Boiler Services Ltd")
    assert [c.ref for c in found] == [ada]
    assert connector.find_contacts_by_name(ContactRole.CUSTOMER, "ada boiler services ltd") == []
    assert connector.find_contacts_by_name(ContactRole.SUPPLIER, "Ada Boiler Services Ltd") == []


def test_iter_contacts_pages_through_more_than_one_page(
    connector: SandboxConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = connector.store.add_contacts(
        [customer(f"C{n:03d}", f"Customer {n:03d}") for n in range(450)]
        + [supplier("S1", "The Only Supplier")]
    )
    pages: list[int] = []
    real_page = connector.store.contacts_page

    def counting_page(
        role: ContactRole, *, after: str = "", limit: int = 200
    ) -> list[RemoteContact]:
        page = real_page(role, after=after, limit=limit)
        pages.append(len(page))
        return page

    monkeypatch.setattr(connector.store, "contacts_page", counting_page)
    refs = [c.ref for c in connector.iter_contacts(ContactRole.CUSTOMER)]
    assert refs == [c.ref for c in added[:450]]
    assert pages == [200, 200, 50]
    assert [c.name for c in connector.iter_contacts(ContactRole.SUPPLIER)] == ["The Only Supplier"]


def test_each_page_is_a_call_that_can_be_rate_limited(connector: SandboxConnector) -> None:
    connector.store.add_contacts([customer(f"C{n}", f"Customer {n}") for n in range(250)])
    contacts = connector.iter_contacts(ContactRole.CUSTOMER)
    first_page = [next(contacts) for _ in range(200)]
    connector.faults.rate_limit_next_calls(retry_after=7, operations=[Operation.LIST_CONTACTS])
    with pytest.raises(RateLimited) as caught:
        next(contacts)
    assert caught.value.retry_after == 7
    assert len(first_page) == 200


# ----------------------------------------------------------------------------- documents


def test_unknown_contact_is_rejected(connector: SandboxConnector, chart: Chart) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", "SBX-C000099", JAN_5), "k")
    rejected(caught, "unknown_contact", "contact", "Invoice INV-1", "SBX-C000099")
    assert connector.store.count_documents() == 0


def test_invoice_for_a_supplier_is_rejected(connector: SandboxConnector, chart: Chart) -> None:
    pipe = connector.create_contact(supplier("S1", "Pipe Centre"), "k-s")
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", pipe, JAN_5), "k")
    rejected(caught, "unknown_contact", "contact", "Pipe Centre", "supplier")


def test_a_reference_past_any_row_id_is_an_unknown_contact(
    connector: SandboxConnector, chart: Chart
) -> None:
    """Twenty digits look like a Sandbox reference but no row can have them: the record
    is refused as naming an unknown contact, not the batch stopped by an overflow."""
    far = "SBX-C" + "9" * 20
    assert connector.get_contact(far) is None
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", far, JAN_5), "k")
    rejected(caught, "unknown_contact", "contact", "Invoice INV-1", far)


def test_unknown_account_is_rejected_naming_the_line(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    # The account code where the account's id belongs: real packages refuse it too.
    draft = invoice(
        chart, "INV-1", ada, JAN_5, line(chart, "1", "10"), line(chart, "1", "5", account_id="4000")
    )
    with pytest.raises(Rejected) as caught:
        connector.create_document(draft, "k")
    rejected(caught, "unknown_account", "lines[1].nominal_account", "Line 2", "INV-1", '"4000"')


def test_sales_documents_must_post_to_sales_accounts(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    rent = account_id_for_code("7100")
    draft = invoice(chart, "INV-1", ada, JAN_5, line(chart, "1", "10", account_id=rent))
    with pytest.raises(Rejected) as caught:
        connector.create_document(draft, "k")
    rejected(caught, "wrong_account_type", "lines[0].nominal_account", "7100 Rent", "INV-1")


def test_unknown_tax_rate_is_rejected(connector: SandboxConnector, chart: Chart, ada: str) -> None:
    good = line(chart, "2", "10")
    bad = replace(good, tax_rate_id="S")
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", ada, JAN_5, bad), "k")
    rejected(caught, "unknown_tax_rate", "lines[0].vat_rate", '"S"', "INV-1")


def test_vat_rate_must_match_the_tax_rate(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    good = line(chart, "2", "10")
    bad = replace(good, vat_rate=Decimal("5"), vat_amount=Decimal("1.00"))
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", ada, JAN_5, bad), "k")
    rejected(caught, "vat_rate_mismatch", "lines[0].vat_rate", "Standard 20%")


def test_line_net_must_be_quantity_times_price_rounded_half_up(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    good = line(chart, "1.5", "42.1250")
    assert good.net_amount == Decimal("63.19")  # 63.1875 rounded half-up
    bad = replace(good, net_amount=Decimal("63.18"))
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", ada, JAN_5, bad), "k")
    rejected(caught, "net_mismatch", "lines[0].net_amount", "£63.18", "£63.19")
    assert connector.create_document(invoice(chart, "INV-1", ada, JAN_5, good), "k2")


@pytest.mark.parametrize(("vat", "accepted"), [("12.64", True), ("12.65", True), ("12.66", False)])
def test_vat_must_be_within_a_penny(
    connector: SandboxConnector, chart: Chart, ada: str, vat: str, accepted: bool
) -> None:
    good = line(chart, "1.5", "42.1250")  # VAT 20% of 63.19 = 12.638 → 12.64
    draft_line = replace(good, vat_amount=Decimal(vat))
    draft = invoice(chart, "INV-1", ada, JAN_5, draft_line)
    if accepted:
        ref = connector.create_document(draft, "k")
        stored = connector.store.get_document(ref)
        assert stored is not None and stored.vat_total == Decimal(vat)
    else:
        with pytest.raises(Rejected) as caught:
            connector.create_document(draft, "k")
        rejected(caught, "vat_mismatch", "lines[0].vat_amount", "£12.66", "£12.64")


def test_amounts_are_kept_exactly(connector: SandboxConnector, chart: Chart, ada: str) -> None:
    draft = invoice(
        chart,
        "INV-1",
        ada,
        JAN_5,
        line(chart, "1.5", "42.1250", description="Labour"),
        line(chart, "3", "0.3333", description="Washers"),
    )
    ref = connector.create_document(draft, "k")
    stored = connector.store.get_document_by_number(DocumentType.INVOICE, "INV-1")
    assert stored is not None and stored.ref == ref
    assert [ln.unit_price for ln in stored.lines] == [Decimal("42.1250"), Decimal("0.3333")]
    assert (stored.net_total, stored.vat_total, stored.gross_total) == (
        Decimal("64.19"),
        Decimal("12.84"),
        Decimal("77.03"),
    )
    assert stored.gross_total == draft.gross_total


def test_document_numbers_are_unique_per_type(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    inv = connector.create_document(invoice(chart, "1001", ada, JAN_5), "k1")
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, " 1001 ", ada, JAN_5), "k2")
    rejected(caught, "duplicate_number", "number", "invoice 1001", inv, "05/01/2026")
    credit = invoice(chart, "1001", ada, JAN_5, doc_type=DocumentType.CREDIT_NOTE)
    assert connector.create_document(credit, "k3") != inv


def test_documents_need_lines_and_a_number(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    empty = invoice(chart, "INV-1", ada, JAN_5)
    with pytest.raises(Rejected) as caught:
        connector.create_document(replace(empty, lines=()), "k1")
    rejected(caught, "no_lines", "lines", "INV-1")
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, " ", ada, JAN_5), "k2")
    rejected(caught, "missing_number", "number", "05/01/2026")


# ----------------------------------------------------------------------------- payments


@pytest.fixture
def inv(connector: SandboxConnector, chart: Chart, ada: str) -> str:
    return connector.create_document(invoice(chart, "INV-1001", ada, JAN_5), "k-inv")  # £120


def test_over_payment_is_rejected(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "100.00")), "k1")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P2", ada, JAN_5, (inv, "20.01")), "k2")
    error = rejected(
        caught, "over_payment", "allocations[0].amount", "P2", "INV-1001", "£20.00", "£120.00"
    )
    assert "£20.00" in error.fix
    assert connector.store.count_payments() == 1
    assert connector.store.outstanding(inv) == Decimal("20.00")


def test_two_allocations_to_one_invoice_count_together(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    draft = payment(chart, "P1", ada, JAN_5, (inv, "60.00"), (inv, "60.01"))
    with pytest.raises(Rejected) as caught:
        connector.create_payment(draft, "k")
    rejected(caught, "over_payment", "allocations[1].amount", "£120.01")


@pytest.mark.parametrize("amount", ["100.00", "50.01"])
def test_allocations_must_add_up_to_the_payment(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str, amount: str
) -> None:
    draft = payment(chart, "P1", ada, JAN_5, (inv, "50.00"), amount=amount)
    with pytest.raises(Rejected) as caught:
        connector.create_payment(draft, "k")
    rejected(caught, "allocation_mismatch", "allocations", f"£{amount}", "£50.00")
    assert connector.store.count_payments() == 0


def test_payment_allocations_must_be_invoices_of_that_customer(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    bob = connector.create_contact(customer("BOB", "Bob's Radiators"), "k-bob")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", bob, JAN_5, (inv, "10.00")), "k1")
    rejected(caught, "wrong_contact", "allocations[0].document", "INV-1001", "Bob's Radiators")

    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", ada, JAN_5, ("SBX-D000404", "10.00")), "k2")
    rejected(caught, "unknown_invoice", "allocations[0].document", "SBX-D000404")

    credit = connector.create_document(
        invoice(chart, "CN-1", ada, JAN_5, doc_type=DocumentType.CREDIT_NOTE), "k-cn"
    )
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", ada, JAN_5, (credit, "10.00")), "k3")
    rejected(caught, "unknown_invoice", "allocations[0].document", "credit note")


def test_payment_needs_a_known_customer_and_a_bank_account(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", "SBX-C000777", JAN_5, (inv, "1.00")), "k1")
    rejected(caught, "unknown_contact", "contact", "Payment P1", "SBX-C000777")

    draft = payment(chart, "P1", ada, JAN_5, (inv, "1.00"))
    sales = replace(draft, bank_account_id=chart.sales_account_id)
    with pytest.raises(Rejected) as caught:
        connector.create_payment(sales, "k2")
    rejected(caught, "not_a_bank_account", "bank_account", "4000 Sales")

    unknown = replace(draft, bank_account_id="1200")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(unknown, "k3")
    rejected(caught, "unknown_account", "bank_account", '"1200"')


def test_payment_references_are_unique(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    first = connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "10.00")), "k1")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "10.00")), "k2")
    rejected(caught, "duplicate_reference", "reference", "P1", first)


def test_credit_note_reduces_what_is_outstanding(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    credit = connector.create_document(
        invoice(
            chart, "CN-1", ada, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
        ),
        "k-cn",
    )  # £30.00 gross
    connector.store.allocate_credit_note(credit, inv)
    assert connector.store.outstanding(inv) == Decimal("90.00")
    stored = connector.store.get_document(credit)
    assert stored is not None and stored.outstanding == Decimal("0.00")

    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "120.00")), "k1")
    rejected(
        caught, "over_payment", "allocations[0].amount", "£90.00", "£30.00 already paid or credited"
    )
    assert connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "90.00")), "k2")
    assert connector.store.outstanding(inv) == Decimal("0.00")

    with pytest.raises(Rejected) as caught:
        connector.store.allocate_credit_note(credit, inv, Decimal("1.00"))
    rejected(caught, "over_allocation", "original_invoice_number", "CN-1")


def test_credit_note_naming_its_invoice_is_set_against_it(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    base = invoice(
        chart, "CN-1", ada, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
    )
    credit = connector.create_document(replace(base, credits_document_ref=inv), "k-cn")
    assert connector.store.outstanding(inv) == Decimal("90.00")
    stored = connector.store.get_document(credit)
    assert stored is not None and stored.outstanding == Decimal("0.00")

    # Crediting more than is owed refuses the whole credit note.
    connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "80.00")), "k-p")
    big = replace(base, number="CN-2", credits_document_ref=inv)
    with pytest.raises(Rejected) as caught:
        connector.create_document(big, "k-cn2")
    rejected(caught, "over_allocation", "original_invoice_number", "CN-2", "£10.00")
    assert connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-2") is None


# ----------------------------------------------------------------------------- lock date


def test_lock_date_refuses_documents_and_payments(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    connector.store.set_lock_date(date(2025, 11, 30))
    assert connector.lock_dates().period_lock == date(2025, 11, 30)

    for day in (date(2025, 11, 30), date(2025, 6, 1)):
        with pytest.raises(Rejected) as caught:
            connector.create_document(invoice(chart, "INV-1", ada, day), f"k-{day}")
        error = rejected(caught, "locked_period", "date", "Invoice INV-1", "30/11/2025")
        assert "30/11/2025" in error.fix

    inv = connector.create_document(invoice(chart, "INV-1", ada, date(2025, 12, 1)), "k-ok")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(payment(chart, "P1", ada, date(2025, 11, 30), (inv, "1.00")), "k")
    rejected(caught, "locked_period", "date", "Payment P1", "30/11/2025")
    assert connector.create_payment(
        payment(chart, "P1", ada, date(2025, 12, 1), (inv, "1.00")), "k"
    )

    connector.store.set_lock_date(None)
    assert connector.lock_dates().effective is None
    assert connector.create_document(invoice(chart, "INV-2", ada, date(2025, 6, 1)), "k-old")


# ----------------------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_the_first_id_and_creates_nothing(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    # A replay answers as the first create did, even where a fresh create would be refused.
    again = customer("ADA01", "Ada Boiler Services Ltd", email="accounts@ada.example")
    assert connector.create_contact(again, "k-ada") == ada
    assert connector.store.count_contacts() == 1

    draft = invoice(chart, "INV-1", ada, JAN_5)
    inv = connector.create_document(draft, "k-inv")
    assert connector.create_document(draft, "k-inv") == inv
    assert connector.store.count_documents() == 1

    pay = payment(chart, "P1", ada, JAN_5, (inv, "120.00"))
    ref = connector.create_payment(pay, "k-pay")
    assert connector.create_payment(pay, "k-pay") == ref
    assert connector.store.count_payments() == 1
    assert connector.store.outstanding(inv) == Decimal("0.00")


def test_a_new_key_is_a_new_create(connector: SandboxConnector, ada: str) -> None:
    again = customer("ADA01", "Ada Boiler Services Ltd")
    with pytest.raises(Rejected) as caught:
        connector.create_contact(again, "k-different")
    rejected(caught, "duplicate_name", "name")


def test_idempotency_key_cannot_create_another_kind_of_record(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", ada, JAN_5), "k-ada")
    rejected(caught, "idempotency_key_reused", "", "k-ada", ada)
    with pytest.raises(Rejected) as caught:
        connector.create_contact(customer("X", "X Ltd"), "k" * 129)
    rejected(caught, "invalid_idempotency_key", "idempotency_key", "129")


# ----------------------------------------------------------------------------- find_existing


def test_find_existing_for_every_record_type(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    pipe = connector.create_contact(supplier("PIPE", "Pipe Centre"), "k-pipe")
    inv = connector.create_document(invoice(chart, "INV-1", ada, JAN_5), "k-inv")
    credit = connector.create_document(
        invoice(chart, "CN-1", ada, JAN_5, doc_type=DocumentType.CREDIT_NOTE), "k-cn"
    )
    pay = connector.create_payment(payment(chart, "PAY-1", ada, JAN_5, (inv, "5.00")), "k-pay")

    expected = {
        (RemoteRecordType.CUSTOMER, "ADA01"): ada,
        (RemoteRecordType.SUPPLIER, "PIPE"): pipe,
        (RemoteRecordType.INVOICE, "INV-1"): inv,
        (RemoteRecordType.CREDIT_NOTE, "CN-1"): credit,
        (RemoteRecordType.PAYMENT, "PAY-1"): pay,
    }
    for (record_type, key), ref in expected.items():
        assert connector.find_existing(record_type, key) == ref
        assert connector.find_existing(record_type, f" {key} ") == ref
    assert connector.find_existing(RemoteRecordType.SUPPLIER, "ADA01") is None
    assert connector.find_existing(RemoteRecordType.CREDIT_NOTE, "INV-1") is None
    assert connector.find_existing(RemoteRecordType.INVOICE, "CN-1") is None
    assert connector.find_existing(RemoteRecordType.PAYMENT, "PAY-2") is None
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "") is None
    # Contacts typed in by hand carry no reference of ours.
    typed = connector.store.add_contact(customer("", "Walk-in Customer"))
    assert typed.our_ref == ""
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "Walk-in Customer") is None


# ----------------------------------------------------------------------------- faults


def test_fail_next_creates_writes_nothing_then_recovers(connector: SandboxConnector) -> None:
    connector.faults.fail_next_creates(2)
    draft = customer("C1", "Bramley Heating")
    for _ in range(2):
        with pytest.raises(TemporarilyUnavailable) as caught:
            connector.create_contact(draft, "k")
        assert caught.value.retriable
    assert connector.store.count_contacts() == 0
    assert connector.list_accounts()  # reads are unaffected by a create fault
    ref = connector.create_contact(draft, "k")
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "C1") == ref
    assert [t.kind for t in connector.faults.triggered] == [FaultKind.UNAVAILABLE] * 2
    assert connector.faults.armed == ()


def test_lost_response_writes_then_is_uncertain(connector: SandboxConnector) -> None:
    connector.faults.lose_next_responses()
    draft = customer("C1", "Bramley Heating")
    with pytest.raises(OutcomeUncertain) as caught:
        connector.create_contact(draft, "k")
    assert not caught.value.retriable
    found = connector.find_existing(RemoteRecordType.CUSTOMER, "C1")
    assert found is not None
    assert connector.store.count_contacts() == 1
    assert connector.faults.triggered[-1].written_ref == found
    assert connector.create_contact(draft, "k") == found  # replay with the same key
    assert connector.store.count_contacts() == 1


def test_rate_limit_next_call(connector: SandboxConnector) -> None:
    connector.faults.rate_limit_next_calls(retry_after=12.5)
    with pytest.raises(RateLimited) as caught:
        connector.connect()
    assert caught.value.retry_after == 12.5 and caught.value.retriable
    assert connector.connect().name == DEFAULT_COMPANY_NAME


def test_require_reconnect_until_cleared(connector: SandboxConnector) -> None:
    connector.faults.require_reconnect()
    for call in (connector.connect, connector.list_tax_rates, connector.lock_dates):
        with pytest.raises(NeedsReconnecting) as caught:
            call()
        assert not caught.value.retriable
    with pytest.raises(NeedsReconnecting):
        connector.create_contact(customer("C1", "Bramley Heating"), "k")
    assert connector.store.count_contacts() == 0
    connector.faults.clear()
    assert connector.connect()


def test_faults_fire_in_order_and_only_on_their_operations(
    connector: SandboxConnector, chart: Chart, ada: str, inv: str
) -> None:
    connector.faults.lose_next_responses(operations=[Operation.CREATE_PAYMENT])
    connector.faults.fail_next_creates(1)
    connector.faults.rate_limit_next_calls(1, retry_after=1, operations=[Operation.GET_CONTACT])

    # The outage is the first fault matching a contact create; the payment fault waits.
    with pytest.raises(TemporarilyUnavailable):
        connector.create_contact(customer("C2", "Second"), "k2")
    assert connector.create_contact(customer("C2", "Second"), "k2")
    with pytest.raises(RateLimited):
        connector.get_contact(ada)
    with pytest.raises(OutcomeUncertain):
        connector.create_payment(payment(chart, "P1", ada, JAN_5, (inv, "1.00")), "kp")
    assert connector.store.count_payments() == 1
    assert [(t.kind, t.operation) for t in connector.faults.triggered] == [
        (FaultKind.UNAVAILABLE, Operation.CREATE_CONTACT),
        (FaultKind.RATE_LIMITED, Operation.GET_CONTACT),
        (FaultKind.RESPONSE_LOST, Operation.CREATE_PAYMENT),
    ]


def test_outage_until_cleared_and_arming_mistakes(connector: SandboxConnector) -> None:
    connector.faults.fail_next_creates(None)
    for n in range(3):
        with pytest.raises(TemporarilyUnavailable):
            connector.create_contact(customer(f"C{n}", f"Name {n}"), f"k{n}")
    connector.faults.clear()
    assert connector.create_contact(customer("C0", "Name 0"), "k0")
    with pytest.raises(ValueError, match="create"):
        connector.faults.lose_next_responses(operations=[Operation.LIST_ACCOUNTS])
    with pytest.raises(ValueError, match="at least 1"):
        connector.faults.fail_next_creates(0)


# ----------------------------------------------------------------------------- the file


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_file_is_created_private_to_its_owner(connector: SandboxConnector, data_dir: Path) -> None:
    path = data_dir / "sandbox.db"
    assert not path.exists()  # opened lazily
    connector.connect()
    assert connector.database_path == path
    for name in ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name


def test_database_setting_chooses_the_file(data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "practice.db"
    with SandboxConnector(make_context(data_dir, database=str(elsewhere))) as absolute:
        absolute.connect()
    assert elsewhere.exists()
    with SandboxConnector(make_context(data_dir, database="mine.db")) as relative:
        relative.connect()
    assert (data_dir / "mine.db").exists()
    assert not (data_dir / "sandbox.db").exists()


def test_registry_opens_the_sandbox_lazily(data_dir: Path) -> None:
    with registry.open_connector("sandbox", make_context(data_dir)) as opened:
        assert isinstance(opened, SandboxConnector)
        assert not (data_dir / "sandbox.db").exists()
        assert opened.connect().name == DEFAULT_COMPANY_NAME


def test_newer_schema_is_refused(data_dir: Path) -> None:
    path = data_dir / "sandbox.db"
    SandboxStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sbx_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    with (
        SandboxConnector(make_context(data_dir)) as refusing,
        pytest.raises(SandboxFileError) as caught,
    ):
        refusing.connect()
    assert "newer version of Ledgerlink" in str(caught.value)
    assert f"schema {SCHEMA_VERSION + 1}" in str(caught.value)


def test_a_file_that_is_not_a_sandbox_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "ledgerlink.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY)")
    db.close()
    with pytest.raises(SandboxFileError, match="not a Sandbox file"):
        SandboxStore(other)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(SandboxFileError, match="cannot be opened"):
        SandboxStore(garbage)


def test_data_survives_reopening(data_dir: Path) -> None:
    with SandboxConnector(make_context(data_dir)) as first:
        ref = first.create_contact(customer("C1", "Bramley Heating"), "k")
        company = first.connect()
    with SandboxConnector(make_context(data_dir)) as second:
        assert second.connect() == company
        assert second.get_contact(ref) is not None
        assert second.create_contact(customer("C1", "Bramley Heating"), "k") == ref


def test_admin_company_reset_and_ids_never_reused(
    connector: SandboxConnector, chart: Chart, ada: str
) -> None:
    before = connector.connect()
    connector.store.set_company_name("Practice Plumbing Ltd")
    assert connector.connect() == type(before)(before.id, "Practice Plumbing Ltd")
    connector.store.set_lock_date(date(2025, 1, 31))
    connector.create_document(invoice(chart, "INV-1", ada, date(2025, 2, 1)), "k-inv")

    after = connector.store.reset()
    assert after.name == DEFAULT_COMPANY_NAME and after.id != before.id
    assert connector.connect() == after
    assert connector.store.count_contacts() == connector.store.count_documents() == 0
    assert connector.lock_dates().effective is None
    assert connector.get_contact(ada) is None
    # Keys are forgotten and ids are not handed out again.
    again = connector.create_contact(customer("ADA01", "Ada Boiler Services Ltd"), "k-ada")
    assert again == "SBX-C000002"
    assert len(connector.list_accounts()) == len(DEFAULT_ACCOUNTS)


def test_one_connector_per_thread_on_the_same_file(data_dir: Path) -> None:
    errors: list[BaseException] = []
    refs: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        try:
            with SandboxConnector(make_context(data_dir)) as mine:
                start.wait(timeout=30)
                for i in range(15):
                    ref = mine.create_contact(
                        customer(f"T{n}-{i}", f"Thread {n} customer {i}"), f"t{n}-{i}"
                    )
                    with lock:
                        refs.append(ref)
        except BaseException as exc:
            errors.append(exc)

    SandboxStore(data_dir / "sandbox.db").close()  # create the file once
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(refs) == len(set(refs)) == 60
    with SandboxStore(data_dir / "sandbox.db") as store:
        assert store.count_contacts() == 60


# ----------------------------------------------------------------------------- demo pre-fill


CUSTOMERS: tuple[ContactDraft, ...] = (
    customer(
        "C01",
        "Abbott & Sons Ltd",
        address_1="1 Mill Lane",
        town="Leeds",
        postcode="LS1 1AA",
        email="a@abbott.example",
    ),
    customer(
        "C02", "Beacon Lettings", town="Leeds", email="office@beacon.example", phone="0113 496 0000"
    ),
    customer("C03", "Carter Property Limited", address_1="9 Park Row", town="Leeds"),
    customer("C04", "Dales Housing Association", town="Skipton"),
    customer("C05", "Eve Ellison", town="Otley"),
    customer("C06", "Fairfax Care Homes Ltd", town="Harrogate"),
    customer("C07", "Green & Co", address_1="2 High Street", town="Ilkley", postcode="LS29 8AA"),
    customer("C08", "Harrison Builders", town="Wetherby"),
    customer("C09", "Ivy Cottage B&B", town="Pateley Bridge"),
    customer("C10", "Jones Joinery", town="Keighley"),
    customer("C11", "Kirkgate Dental Practice", town="Leeds"),
    customer("C12", "Lister Mills Management Ltd", town="Bradford"),
)
SUPPLIERS: tuple[ContactDraft, ...] = tuple(
    supplier(f"S{n:02d}", name, town="Leeds")
    for n, name in enumerate(
        [
            "City Plumbing Supplies",
            "Graham Plumbers Merchant",
            "Screwfix Direct Ltd",
            "Wolseley UK Limited",
            "Toolstation",
            "Travis Perkins",
            "Leeds Fuel Cards",
            "Yorkshire Vans",
            "BES Ltd",
            "Plumb Center",
        ],
        start=1,
    )
)


def test_prefill_places_each_of_ours_in_its_category(connector: SandboxConnector) -> None:
    summary = prefill_for_demo(connector, CUSTOMERS, SUPPLIERS)
    store = connector.store
    assert summary.lock_date == DEMO_LOCK_DATE == date(2025, 11, 30)
    assert connector.lock_dates().effective == DEMO_LOCK_DATE
    assert store.count_documents() == store.count_payments() == 0

    c = summary.customers
    assert c.exact == ("C01", "C02", "C04", "C06", "C08", "C11", "C12")
    assert c.near_miss == ("C03", "C09")
    assert c.namesake == ("C07",)
    assert c.missing == ("C05", "C10")
    s = summary.suppliers
    assert s.exact == ("S01", "S02", "S03", "S05", "S06", "S08", "S10")
    assert (s.near_miss, s.namesake, s.missing) == (("S04",), ("S09",), ("S07",))

    ours = {d.our_ref: d for d in (*CUSTOMERS, *SUPPLIERS)}
    for role_summary in (c, s):
        for placed in role_summary.contacts:
            mine = ours[placed.our_ref]
            if placed.category is PrefillCategory.MISSING:
                assert placed.sandbox_ref == ""
                assert store.find_contacts_by_name(mine.role, mine.name) == []
                continue
            remote = connector.get_contact(placed.sandbox_ref)
            assert remote is not None and remote.role is mine.role
            assert remote.our_ref == ""  # nothing looks "already sent"
            assert remote.name == placed.sandbox_name
            if placed.category is PrefillCategory.EXACT:
                assert (remote.name, remote.address_1, remote.town, remote.postcode) == (
                    mine.name,
                    mine.address_1,
                    mine.town,
                    mine.postcode,
                )
                assert (remote.email, remote.phone) == (mine.email, mine.phone)
            elif placed.category is PrefillCategory.NEAR_MISS:
                assert remote.name != mine.name
                assert (remote.town, remote.email) == (mine.town, mine.email)
            else:
                assert remote.name == mine.name
                assert (remote.address_1, remote.town) != (mine.address_1, mine.town)

    # Capitals for the first near miss, an extra/missing space for the second.
    assert (
        c.get("C03").variation == "case" and c.get("C03").sandbox_name == "CARTER PROPERTY LIMITED"
    )
    assert c.get("C09").variation == "spaces" and c.get(
        "C09"
    ).sandbox_name == "Ivy Cottage B&B".replace(" ", "  ", 1)
    assert (s.get("S04").variation, s.get("S04").sandbox_name) == ("ltd", "Wolseley UK Ltd")
    assert c.category_of("C07") is PrefillCategory.NAMESAKE
    total = sum(1 for r in (c, s) for p in r.contacts if p.sandbox_ref)
    assert store.count_contacts() == total


def test_prefill_variations_cover_ltd_and_punctuation(connector: SandboxConnector) -> None:
    # Near misses rotate through the variations: case, spaces, Ltd/Limited, punctuation.
    customers = [
        customer(f"C{n}", name)
        for n, name in enumerate(
            [
                "A1",
                "A2",
                "Norton Heating Ltd",
                "A4",
                "A5",
                "A6",
                "A7",
                "A8",
                "Bell & Webb",
                "A10",
                "A11",
                "A12",
                "Parker Gas Limited",
                "A14",
                "A15",
                "A16",
                "A17",
                "A18",
                "Quinn and Daughters",
                "A20",
            ]
        )
    ]
    summary = prefill_for_demo(connector, customers, [])
    near = {
        p.our_ref: (p.variation, p.sandbox_name)
        for p in summary.customers.contacts
        if p.category is PrefillCategory.NEAR_MISS
    }
    assert near == {
        "C2": ("case", "NORTON HEATING LTD"),
        "C8": ("spaces", "Bell&Webb"),
        "C12": ("ltd", "Parker Gas Ltd"),
        "C18": ("punctuation", "Quinn & Daughters"),
    }


def test_prefill_is_deterministic_and_sending_behaves_as_the_demo_expects(
    connector: SandboxConnector, chart: Chart
) -> None:
    first = prefill_for_demo(connector, CUSTOMERS, SUPPLIERS)
    again = prefill_for_demo(connector, CUSTOMERS, SUPPLIERS)
    assert [(p.our_ref, p.category, p.sandbox_name) for p in first.customers.contacts] == [
        (p.our_ref, p.category, p.sandbox_name) for p in again.customers.contacts
    ]
    c = again.customers
    # A missing customer can be sent; an exact one is refused with a pointer to link it.
    assert connector.create_contact(CUSTOMERS[4], "send-C05")
    with pytest.raises(Rejected) as caught:
        connector.create_contact(CUSTOMERS[0], "send-C01")
    assert caught.value.code == "duplicate_name"
    assert c.get("C01").sandbox_ref in caught.value.fix
    # The demo's first invoice (01/12/2025) is after the lock date.
    inv = invoice(chart, "INV-1", c.get("C01").sandbox_ref, date(2025, 12, 1))
    assert connector.create_document(inv, "send-inv-1")


def test_prefill_falls_back_to_missing_when_it_cannot_place_a_record(data_dir: Path) -> None:
    customers = [
        customer("C1", "Shared Name Ltd"),
        customer("C2", "Bad Email Ltd", email="nobody-at-example"),
    ]
    # One business that is both our customer and our supplier: a pre-filled copy of either
    # would make sending the other fail, so neither is pre-filled.
    suppliers = [supplier("S1", "shared name ltd"), supplier("S2", "Unique Supplies")]
    with SandboxStore(data_dir / "sandbox.db") as store:
        summary = prefill_for_demo(store, customers, suppliers)
        outcome = {
            p.our_ref: (p.category, p.variation)
            for r in (summary.customers, summary.suppliers)
            for p in r.contacts
        }
        assert outcome == {
            "C1": (PrefillCategory.MISSING, "name_clash"),
            "C2": (PrefillCategory.MISSING, "refused"),
            "S1": (PrefillCategory.MISSING, "name_clash"),
            "S2": (PrefillCategory.EXACT, ""),
        }
        assert [c.name for c in store.list_contacts()] == ["Unique Supplies"]
    with SandboxStore(data_dir / "other.db") as other, pytest.raises(ValueError, match="supplier"):
        prefill_for_demo(other, suppliers, [])


def test_bank_account_id_constant_is_a_bank_account(connector: SandboxConnector) -> None:
    accounts = {a.id: a for a in connector.list_accounts()}
    assert accounts[BANK_ACCOUNT_ID].code == "1200"
    assert {a.code for a in accounts.values()} >= {
        "1200",
        "1210",
        "4000",
        "4010",
        "4020",
        "4900",
        "5000",
        "7100",
        "7500",
        "7900",
        "1100",
        "2100",
        "2200",
    }
    rates = {r.id: (r.name, r.rate) for r in connector.list_tax_rates()}
    assert rates == {
        "T1": ("Standard 20%", Decimal("20.00")),
        "T2": ("Reduced 5%", Decimal("5.00")),
        "T3": ("Zero rated 0%", Decimal("0.00")),
        "T4": ("Exempt 0%", Decimal("0.00")),
        "T5": ("No VAT 0%", Decimal("0.00")),
    }
