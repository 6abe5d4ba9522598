"""What the Xero connector does beyond the shared conformance suite: Xero's one Contact
type, batches with per-record results, idempotency keys, paging, limits, organisations,
lock dates, credit notes set against invoices, and Xero's messages in plain words.

Every request goes to the local stand-in and, where Xero's OpenAPI description is
available, is checked against it (the stand-in raises at once on a violation)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import registry
from connectors.contract import (
    AccountType,
    BatchItem,
    ConnectorContext,
    ContactRole,
    DocumentType,
    RemoteRecordType,
)
from connectors.errors import (
    ConnectorError,
    NeedsReconnecting,
    OutcomeUncertain,
    RateLimited,
    Rejected,
)
from connectors.xero import OrganisationNotChosen, XeroConnector
from connectors.xero.connector import request_key
from connectors.xero.wire import parse_xero_date, where_equals
from tests.connector_harness import (
    Chart,
    MemorySecrets,
    customer,
    invoice,
    line,
    open_xero,
    payment,
    supplier,
)
from tests.standins import xero as xero_standin
from tests.standins.clock import VirtualClock
from tests.standins.xero import FaultKind, Organisation, XeroStandIn, parse_where

JAN_5 = date(2026, 1, 5)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def standin(clock: VirtualClock) -> XeroStandIn:
    from tests.standins.openapi import xero_checker

    made = XeroStandIn(clock=clock.now, checker=xero_checker(), strict=True)
    made.add_organisation()
    return made


@pytest.fixture
def connector(standin: XeroStandIn, clock: VirtualClock, tmp_path: Path) -> Iterator[XeroConnector]:
    _, opened = open_xero(tmp_path, standin, sleep=clock.sleep)
    with opened:
        yield opened


@pytest.fixture
def org(standin: XeroStandIn) -> Organisation:
    return standin.only_organisation()


@pytest.fixture
def chart(connector: XeroConnector) -> Chart:
    return Chart.discover(connector)


def puts(standin: XeroStandIn, prefix: str = "") -> list[str]:
    return list(standin.requests_to("PUT", "/api.xro/2.0/" + prefix))


# ----------------------------------------------------------------------------- registry, settings


def test_registry_lists_and_opens_xero(tmp_path: Path) -> None:
    infos, skipped = registry.available()
    assert "xero" in [i.key for i in infos] and not skipped
    context = ConnectorContext(tmp_path, {"client_id": "x"}, MemorySecrets())
    with registry.open_connector("xero", context) as opened:
        assert isinstance(opened, XeroConnector)
        assert opened.endpoints.api_url == "https://api.xero.com/api.xro/2.0"
        assert opened.provider.redirect_host == "localhost"


def test_endpoint_setting_only_points_at_this_computer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = ConnectorContext(tmp_path, {"endpoint": "https://evil.example"}, MemorySecrets())
    with pytest.raises(ConnectorError, match="must point at this computer"):
        XeroConnector(context)
    local = ConnectorContext(tmp_path, {"endpoint": "http://127.0.0.1:8765/"}, MemorySecrets())
    with XeroConnector(local) as opened:
        assert opened.endpoints.token_url == "http://127.0.0.1:8765/connect/token"
    monkeypatch.setenv("LEDGERLINK_XERO_ENDPOINT", "http://localhost:9000")
    with XeroConnector(ConnectorContext(tmp_path, {}, MemorySecrets())) as opened:
        assert opened.endpoints.api_url == "http://localhost:9000/api.xro/2.0"


# ----------------------------------------------------------------------------- reading


def test_chart_and_sales_vat_rates(connector: XeroConnector) -> None:
    accounts = {a.code: a for a in connector.list_accounts()}
    assert accounts["200"].type is AccountType.SALES
    assert accounts["090"].type is AccountType.BANK
    assert accounts["429"].type is AccountType.EXPENSE
    assert accounts["610"].type is AccountType.OTHER
    rates = {r.id: r for r in connector.list_tax_rates()}
    # Purchase-only rates are left out, so 20% on a sales line can only mean OUTPUT2.
    assert set(rates) == {"OUTPUT2", "RROUTPUT", "ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE"}
    assert rates["OUTPUT2"].rate == Decimal("20.00") and rates["RROUTPUT"].rate == Decimal(5)


def test_organisation_lock_dates_and_short_code(
    connector: XeroConnector, org: Organisation
) -> None:
    assert connector.lock_dates().effective is None
    org.period_lock, org.year_end_lock = date(2025, 11, 30), date(2025, 3, 31)
    found = connector.organisation()
    assert found.short_code == org.short_code and found.name == org.name
    assert found.lock_dates.period_lock == date(2025, 11, 30)
    assert found.lock_dates.effective == date(2025, 11, 30)


def test_xero_dates_and_where_quoting() -> None:
    assert parse_xero_date("/Date(1546214400000+0000)/") == date(2018, 12, 31)
    assert parse_xero_date("2019-03-14T00:00:00") == date(2019, 3, 14)
    assert parse_xero_date("") is None and parse_xero_date(None) is None
    clause = where_equals("Name", 'O"Brien \\ Sons')
    assert parse_where(clause) == [("Name", "==", 'O"Brien \\ Sons')]


def test_contacts_are_read_page_by_page(
    connector: XeroConnector, standin: XeroStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts = [customer(f"C{n:03d}", f"Customer {n:03d}") for n in range(230)]
    for start in range(0, 230, 50):
        chunk = drafts[start : start + 50]
        connector.create_batch([BatchItem(d, f"k-{d.our_ref}") for d in chunk])
    before = len(standin.requests)
    names = [c.name for c in connector.iter_contacts(ContactRole.CUSTOMER)]
    assert names == [d.name for d in drafts]
    pages = [p for _, p in standin.requests[before:]]
    assert pages == ["/api.xro/2.0/Contacts"]  # one page of up to 1,000

    # Should Xero answer smaller pages than asked for, its page count is followed: a
    # short page is not taken for the last one.
    monkeypatch.setattr(xero_standin, "PAGE_MAX", 100)
    before = len(standin.requests)
    names = [c.name for c in connector.iter_contacts(ContactRole.CUSTOMER)]
    assert names == [d.name for d in drafts]
    pages = [p for _, p in standin.requests[before:]]
    assert pages == ["/api.xro/2.0/Contacts"] * 3  # 100 + 100 + 30


def test_customers_and_suppliers_in_one_contact_type(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating", town="Leeds"), "k1")
    sup = connector.create_contact(supplier("S1", "Pipe World Ltd"), "k2")
    # A contact the bookkeeper made in Xero: no documents yet, so it could be either.
    theirs = connector.create_contact(customer("", "Walk-in Customer"), "k3")
    org.contacts[theirs]["ContactNumber"] = ""

    def refs(role: ContactRole) -> list[str]:
        return [c.ref for c in connector.iter_contacts(role)]

    assert refs(ContactRole.CUSTOMER) == [who, theirs]
    assert refs(ContactRole.SUPPLIER) == [sup, theirs]
    assert org.contacts[sup]["ContactNumber"] == "LL-S-S1"
    assert org.contacts[sup]["AccountNumber"] == "S1"
    fetched = connector.get_contact(who)
    assert fetched is not None and fetched.our_ref == "C1" and fetched.town == "Leeds"
    # Once Xero marks a contact a customer (it has an invoice), it is no supplier.
    connector.create_document(invoice(chart, "INV-1", theirs, JAN_5), "k4")
    assert refs(ContactRole.SUPPLIER) == [sup]
    assert connector.find_existing(RemoteRecordType.SUPPLIER, "S1") == sup
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "S1") is None


def test_a_merged_contact_reads_as_the_one_it_was_merged_into(
    connector: XeroConnector, org: Organisation
) -> None:
    old = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    kept = connector.create_contact(customer("C2", "Ada Heating Ltd"), "k2")
    org.contacts[old].update(ContactStatus="ARCHIVED", MergedToContactID=kept)
    merged = connector.get_contact(old)
    assert merged is not None and merged.ref == kept and merged.name == "Ada Heating Ltd"


@pytest.mark.parametrize(
    "pasted",
    [
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=!NLglS"
        "&redirecturl=/Contacts/View/3ff6d40c-af9a-40a3-89ce-3c1556a25591",
        "https://go.xero.com/Contacts/View.aspx?contactID=3FF6D40C-AF9A-40A3-89CE-3C1556A25591",
        "https://go.xero.com/app/!NLglS/contacts/contact/3ff6d40c-af9a-40a3-89ce-3c1556a25591",
        "3ff6d40c-af9a-40a3-89ce-3c1556a25591",
    ],
)
def test_contact_id_is_read_from_any_xero_address(pasted: str) -> None:
    parsed = XeroConnector.info.reference.parse(pasted)
    assert parsed is not None
    assert parsed.reference.lower() == "3ff6d40c-af9a-40a3-89ce-3c1556a25591"


def test_an_address_from_another_organisation_is_pointed_out(
    connector: XeroConnector, org: Organisation
) -> None:
    contact = "contacts/contact/3ff6d40c-af9a-40a3-89ce-3c1556a25591"
    assert (
        connector.pasted_address_problem(f"https://go.xero.com/app/{org.short_code}/{contact}")
        == ""
    )
    assert connector.pasted_address_problem(f"https://go.xero.com/app/{contact}") == ""
    problem = connector.pasted_address_problem(f"https://go.xero.com/app/!Zz9Yx/{contact}")
    assert "!Zz9Yx" in problem and org.name in problem and org.short_code in problem


# ----------------------------------------------------------------------------- organisations


def test_organisation_is_picked_when_only_one_and_asked_for_when_several(
    standin: XeroStandIn, tmp_path: Path
) -> None:
    only = standin.only_organisation()
    _, connector = open_xero(tmp_path, standin, tenant_id="")
    with connector:
        assert connector.connect().id == only.organisation_id
    second = standin.add_organisation("Second Books Ltd")
    _, connector = open_xero(tmp_path, standin, tenant_id="")
    with connector:
        with pytest.raises(OrganisationNotChosen, match="Second Books Ltd"):
            connector.connect()
        names = [c.name for c in connector.list_organisations()]
    assert names == [only.name, second.name]


def test_disconnected_organisation_needs_reconnecting(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    standin.organisations.clear()
    with pytest.raises(NeedsReconnecting, match="403"):
        connector.list_accounts()


# ----------------------------------------------------------------------------- batches


def test_a_batch_is_one_put_with_a_result_per_record(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    items = [
        BatchItem(customer("C1", "Ada Heating"), "k-1"),
        BatchItem(customer("C2", "ada heating "), "k-2"),  # Xero: same name
        BatchItem(supplier("S1", "Pipe World", email="not an email"), "k-3"),
        BatchItem(supplier("S2", "Boiler Bits"), "k-4"),
    ]
    results = connector.create_batch(items)
    assert puts(standin) == ["/api.xro/2.0/Contacts"]
    first, duplicate, bad_email, last = results
    assert isinstance(first, str) and isinstance(last, str)
    assert isinstance(duplicate, Rejected) and duplicate.code == "duplicate_name"
    assert first in duplicate.fix and duplicate.field == "name"
    assert isinstance(bad_email, Rejected) and bad_email.code == "invalid_email"
    assert bad_email.field == "email" and "Pipe World" in bad_email.reason

    # The same batch again is recognised by its key: Xero replays, nothing new is made.
    contacts = len(standin.only_organisation().contacts)
    again = connector.create_batch(items)
    assert again[0] == first and again[3] == last
    assert len(standin.only_organisation().contacts) == contacts


def test_idempotency_keys_follow_the_records_and_their_content() -> None:
    body = {"Contacts": [{"Name": "A"}]}
    one = request_key(["ll-0123456789abcdef0123456789abcde"], body)
    assert one == request_key(["ll-0123456789abcdef0123456789abcde"], body)
    assert one.startswith("ll-0123456789abcdef0123456789abcde.") and len(one) <= 128
    assert one != request_key(["ll-0123456789abcdef0123456789abcde"], {"Contacts": [{"Name": "B"}]})
    batch = request_key([f"ll-{n}" for n in range(50)], body)
    assert len(batch) <= 128 and batch != request_key([f"ll-{n}" for n in range(1, 51)], body)


def test_more_than_fifty_records_go_in_several_requests(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    items = [BatchItem(customer(f"C{n}", f"Customer {n}"), f"k-{n}") for n in range(120)]
    results = connector.create_batch(items)
    assert all(isinstance(r, str) for r in results) and len(set(results)) == 120
    assert len(puts(standin, "Contacts")) == 3


def test_creates_are_put_never_post(
    connector: XeroConnector, standin: XeroStandIn, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "10.00")), "k3")
    methods = {m for m, p in standin.requests if p.startswith("/api.xro/2.0/")}
    assert methods == {"GET", "PUT"}


# ----------------------------------------------------------------------------- documents, payments


def test_invoice_lines_carry_our_vat_and_four_decimal_places(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    draft = invoice(
        chart, "INV-1", who, JAN_5, line(chart, "0.75", "52.1234"), line(chart, "2", "2.35")
    )
    ref = connector.create_document(draft, "k2")
    stored = org.invoices[ref]
    assert stored["Total"] == draft.gross_total and stored["TotalTax"] == draft.vat_total
    assert stored["LineItems"][0]["UnitAmount"] == Decimal("52.1234")
    assert stored["LineItems"][0]["AccountCode"] == "200"
    assert stored["Status"] == "AUTHORISED"


def test_split_payment_is_all_or_nothing(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    first = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    second = connector.create_document(invoice(chart, "INV-2", who, JAN_5), "k3")
    with pytest.raises(Rejected) as caught:
        connector.create_payment(
            payment(chart, "PAY-1", who, JAN_5, (first, "120.00"), (second, "120.01")), "k4"
        )
    assert caught.value.code == "over_payment"
    assert caught.value.field == "allocations[1].amount" and "INV-2" in caught.value.reason
    assert org.payments == {} and org.outstanding(first) == Decimal("120.00")

    ref = connector.create_payment(
        payment(chart, "PAY-1", who, JAN_5, (first, "120.00"), (second, "20.00")), "k5"
    )
    parts = org.payments_referenced("PAY-1")
    assert [p["Amount"] for p in parts] == [Decimal("120.00"), Decimal("20.00")]
    assert ref == parts[0]["PaymentID"]
    assert connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == ref
    assert org.invoices[first]["Status"] == "PAID"


def test_credit_note_is_set_against_the_invoice_it_credits(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    credit = invoice(
        chart, "CN-1", who, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
    )
    from dataclasses import replace

    ref = connector.create_document(replace(credit, credits_document_ref=inv), "k3")
    assert org.credit_notes[ref]["RemainingCredit"] == Decimal("0.00")
    assert org.outstanding(inv) == Decimal("90.00")
    # Sent again with the same key (say, after a rate limit): replayed, not doubled.
    assert connector.create_document(replace(credit, credits_document_ref=inv), "k3") == ref
    assert org.outstanding(inv) == Decimal("90.00") and len(org.credit_notes) == 1


def test_credit_note_bigger_than_what_is_owed_is_refused_before_anything_is_sent(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "100.00")), "k3")
    from dataclasses import replace

    credit = replace(
        invoice(chart, "CN-1", who, JAN_5, doc_type=DocumentType.CREDIT_NOTE),
        credits_document_ref=inv,
    )
    with pytest.raises(Rejected) as caught:
        connector.create_document(credit, "k4")
    assert caught.value.code == "over_allocation"
    assert "£20.00" in caught.value.reason and "INV-1" in caught.value.reason
    assert org.credit_notes == {}


@pytest.mark.parametrize("fault", [FaultKind.TIMEOUT_AFTER_SAVE, FaultKind.SERVER_ERROR])
def test_a_lost_allocation_is_finished_when_the_credit_note_is_looked_up(
    connector: XeroConnector,
    standin: XeroStandIn,
    org: Organisation,
    chart: Chart,
    fault: FaultKind,
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    from dataclasses import replace

    credit = replace(
        invoice(
            chart, "CN-1", who, JAN_5, line(chart, "1", "25.00"), doc_type=DocumentType.CREDIT_NOTE
        ),
        credits_document_ref=inv,
    )
    standin.arm(fault, path="CreditNotes/")
    with pytest.raises(OutcomeUncertain):
        connector.create_document(credit, "k3")
    found = connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1")
    assert found is not None and len(org.credit_notes) == 1
    assert [a["Invoice"]["InvoiceID"] for a in org.credit_notes[found]["Allocations"]] == [inv]
    assert org.outstanding(inv) == Decimal("90.00")


# ----------------------------------------------------------------------------- Xero's refusals


def test_unknown_or_archived_account_names_the_line(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    other = next(a for a in connector.list_accounts() if a.code == "260")
    org.account(code="260")["Status"] = "ARCHIVED"  # type: ignore[index]
    draft = invoice(
        chart,
        "INV-1",
        who,
        JAN_5,
        line(chart, "1", "10.00"),
        line(chart, "1", "5.00", account_id=other.id),
    )
    with pytest.raises(Rejected) as caught:
        connector.create_document(draft, "k2")
    assert caught.value.code == "unknown_account"
    assert caught.value.field == "lines[1].nominal_account"
    assert "Line 2 of invoice INV-1" in caught.value.reason
    assert org.invoices == {}


def test_end_of_year_lock_date_refusal_names_the_dates(
    connector: XeroConnector, org: Organisation, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    org.year_end_lock = date(2025, 3, 31)
    with pytest.raises(Rejected) as caught:
        connector.create_document(invoice(chart, "INV-1", who, date(2025, 3, 1)), "k2")
    refused = caught.value
    assert (refused.code, refused.field) == ("locked_period", "date")
    assert "01/03/2025" in refused.reason and "31/03/2025" in refused.reason
    assert "end of year lock date" in refused.reason


def test_payment_into_an_account_that_cannot_take_payments(
    connector: XeroConnector, chart: Chart
) -> None:
    who = connector.create_contact(customer("C1", "Ada Heating"), "k1")
    inv = connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k2")
    sales = payment(chart, "PAY-1", who, JAN_5, (inv, "10.00"))
    from dataclasses import replace

    with pytest.raises(Rejected) as caught:
        connector.create_payment(replace(sales, bank_account_id=chart.sales_account_id), "k3")
    assert (caught.value.code, caught.value.field) == ("not_a_bank_account", "bank_account")


def test_a_message_we_do_not_know_is_quoted_with_the_record(
    connector: XeroConnector, chart: Chart
) -> None:
    from connectors.xero.rejections import Subject, rejection

    refused = rejection(Subject(customer("C9", "Zed Ltd")), ["Something new went wrong"], connector)
    assert refused.code == "xero_refused"
    assert 'customer "Zed Ltd" (account C9)' in refused.reason
    assert "Something new went wrong" in refused.reason and refused.fix


# ----------------------------------------------------------------------------- limits


def test_too_many_requests_is_rate_limited_with_xeros_wait(
    connector: XeroConnector, standin: XeroStandIn
) -> None:
    standin.arm(FaultKind.RATE_LIMIT, method="GET", retry_after=42)
    with pytest.raises(RateLimited) as caught:
        connector.list_accounts()
    assert caught.value.retry_after == 42 and "minute limit" in str(caught.value)


def test_the_connection_paces_itself_to_sixty_requests_a_minute(
    connector: XeroConnector, standin: XeroStandIn, clock: VirtualClock
) -> None:
    start = clock.now()
    for _ in range(150):
        connector.list_tax_rates()
    assert standin.statuses[429] == 0
    assert clock.now() - start >= 120  # 150 requests need at least two more minutes


def test_the_daily_limit_is_reported_with_hours_to_wait(
    connector: XeroConnector, org: Organisation, clock: VirtualClock
) -> None:
    org.day_calls.extend([(clock.now() - 3600, 1)] * 5000)
    with pytest.raises(RateLimited) as caught:
        connector.list_accounts()
    assert "day limit" in str(caught.value)
    assert caught.value.retry_after == pytest.approx(82800, abs=2)
