"""Sage Business Cloud Accounting beyond the shared conformance suite: the business
picker and ``X-Business``, references read from web addresses (Sage's legacy id) or
contact references, five-minute tokens, VAT worked out and sent, credit notes set
against invoices, lock dates, limits and 422 answers in plain words."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.contract import (
    Company,
    ContactRole,
    DocumentDraft,
    DocumentType,
    LockDates,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import NeedsReconnecting, OutcomeUncertain, RateLimited, Rejected
from connectors.http import loads_json
from connectors.sage_business_cloud import BusinessNotChosen, SageBusinessCloudConnector, wire
from connectors.sage_business_cloud.rejections import InvoiceSummary, Subject, rejection
from connectors.sage_business_cloud.wire import SageError
from tests.connector_harness import Chart, customer, invoice, line, payment, supplier
from tests.harnesses_cloud import browse, open_sage
from tests.standins.clock import VirtualClock
from tests.standins.sage import WEB, Business, FaultKind, SageStandIn

JAN_5 = date(2026, 1, 5)
STANDARD = RemoteTaxRate("GB_STANDARD", "Standard 20.00%", Decimal(20))
ADDRESS = {
    "address_line_1": "Unit 4",
    "address_line_2": "Mill Lane",
    "city": "Leeds",
    "region": "West Yorkshire",
    "postal_code": "LS1 4AB",
    "country_id": "GB",
}


@dataclass
class Sage:
    standin: SageStandIn
    connector: SageBusinessCloudConnector
    clock: VirtualClock

    @property
    def business(self) -> Business:
        return self.standin.only_business()


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[Sage]:
    clock = VirtualClock()
    standin, connector = open_sage(tmp_path, SageStandIn(clock=clock.now), sleep=clock.sleep)
    with connector:
        yield Sage(standin, connector, clock)


# ----------------------------------------------------------------------------- businesses


def test_a_sign_in_reaching_several_businesses_asks_which(tmp_path: Path) -> None:
    standin = SageStandIn()
    first = standin.add_business("Riverside Plumbing Ltd")
    second = standin.add_business("Riverside Heating Ltd")
    with open_sage(tmp_path, standin, tenant_id="")[1] as connector:
        names = {c.name for c in connector.list_organisations()}
        assert names == {"Riverside Plumbing Ltd", "Riverside Heating Ltd"}
        with pytest.raises(BusinessNotChosen, match="Riverside Heating Ltd"):
            connector.connect()
    with open_sage(tmp_path, standin, tenant_id=second.id)[1] as connector:
        assert connector.connect().name == "Riverside Heating Ltd"
        connector.list_tax_rates()
    assert set(standin.business_headers) == {second.id}
    assert first.id not in standin.business_headers


def test_the_only_business_is_used_without_asking(tmp_path: Path) -> None:
    standin = SageStandIn()
    business = standin.add_business()
    with open_sage(tmp_path, standin, tenant_id="")[1] as connector:
        assert connector.connect().id == business.id
        assert connector.list_tax_rates()
    assert set(standin.business_headers) == {business.id}


def test_a_business_the_sign_in_cannot_reach_needs_reconnecting(tmp_path: Path) -> None:
    standin = SageStandIn()
    standin.add_business()
    with (
        open_sage(tmp_path, standin, tenant_id="0" * 32)[1] as connector,
        pytest.raises(NeedsReconnecting, match="403"),
    ):
        connector.list_tax_rates()


# ----------------------------------------------------------------------------- references


@pytest.fixture
def abbey(sage: Sage) -> dict[str, object]:
    return sage.standin.add_contact(
        sage.business,
        "CUSTOMER",
        "Abbey Boilers Ltd",
        reference="ABBEY01",
        email="accounts@abbey.example",
        main_address=ADDRESS,
        main_contact_person={"name": "Anne Marsh", "telephone": "0113 496 0000"},
    )


def test_a_reference_is_read_from_an_id_a_web_address_or_the_sage_reference(
    sage: Sage, abbey: dict[str, object]
) -> None:
    contact_id = str(abbey["id"])
    resolve = sage.connector.resolve_reference
    assert resolve(contact_id) == contact_id
    assert resolve(f"https://api.accounting.sage.com/v3.1/contacts/{contact_id}") == contact_id
    assert resolve(f"{WEB}/contacts/customers/{contact_id}") == contact_id
    assert resolve("ABBEY01") == contact_id
    assert resolve("NOSUCHREF") is None
    assert resolve("  ") is None


def test_an_older_web_address_number_is_searched_for_never_by_reading_every_contact(
    sage: Sage, abbey: dict[str, object]
) -> None:
    # legacy_id is not in Sage's v3.1 swagger: the stand-in never serves it.
    listed = sage.connector._get("contacts", {"attributes": "all"})
    assert "legacy_id" not in listed["$items"][0]
    assert sage.connector._get(f"contacts/{abbey['legacy_id']}") is None
    # A contact whose reference is its own web-address number is found by one search.
    numbered = sage.standin.add_contact(sage.business, "CUSTOMER", "Brook Ltd", reference="")
    numbered["reference"] = str(numbered["legacy_id"])
    address = f"{WEB}/contacts/customers/{numbered['legacy_id']}"
    assert sage.connector.resolve_reference(address) == numbered["id"]

    before = len(sage.standin.urls)
    resolve = sage.connector.resolve_reference
    assert resolve(f"{WEB}/contacts/customers/{abbey['legacy_id']}") is None
    assert resolve(str(abbey["legacy_id"])) is None
    assert sage.connector.get_contact(f"{WEB}/contacts/customers/999999999") is None
    looked = [u for u in sage.standin.urls[before:] if "/v3.1/contacts" in u]
    assert looked and all("search=" in u for u in looked), looked


def test_a_contact_read_by_its_web_address_has_sages_exact_details(
    sage: Sage, abbey: dict[str, object]
) -> None:
    found = sage.connector.get_contact(f"{WEB}/contacts/customers/{abbey['id']}")
    assert found == RemoteContact(
        ref=str(abbey["id"]),
        role=ContactRole.CUSTOMER,
        name="Abbey Boilers Ltd",
        contact_name="Anne Marsh",
        address_1="Unit 4",
        address_2="Mill Lane",
        town="Leeds",
        county="West Yorkshire",
        postcode="LS1 4AB",
        email="accounts@abbey.example",
        phone="0113 496 0000",
        our_ref="ABBEY01",
    )
    assert sage.connector.info.exact_match_fields == ("name", "address", "email")


def test_a_reference_sage_already_has_is_refused_naming_that_contact(
    sage: Sage, abbey: dict[str, object]
) -> None:
    with pytest.raises(Rejected) as caught:
        sage.connector.create_contact(customer("ABBEY01", "Abbey Heating"), "k")
    assert (caught.value.code, caught.value.field) == ("duplicate_reference", "account_ref")
    assert str(abbey["id"]) in caught.value.reason and "ABBEY01" in caught.value.reason


def test_a_customer_and_a_supplier_may_share_a_name(sage: Sage) -> None:
    buyer = sage.connector.create_contact(customer("C1", "Midland Plumbers"), "k1")
    seller = sage.connector.create_contact(supplier("S1", "Midland Plumbers"), "k2")
    assert buyer != seller
    assert sage.connector.find_existing(RemoteRecordType.SUPPLIER, "S1") == seller
    assert sage.connector.find_existing(RemoteRecordType.CUSTOMER, "S1") is None


# ----------------------------------------------------------------------------- documents


def test_vat_is_worked_out_here_sent_with_each_line_and_checked(sage: Sage) -> None:
    chart = Chart.discover(sage.connector)
    who = sage.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(chart, "INV-1", who, JAN_5, line(chart, "3", "33.33"), line(chart, "1", "9.99"))
    made = sage.business.sales_invoices[sage.connector.create_document(draft, "k-i")]
    assert [ln["tax_amount"] for ln in made["invoice_lines"]] == [Decimal("20.00"), Decimal("2.00")]
    assert made["total_amount"] == draft.gross_total

    wrong = replace(draft.lines[0], vat_amount=Decimal("20.05"))
    bad = replace(draft, number="INV-2", lines=(wrong,))
    with pytest.raises(Rejected) as caught:
        sage.connector.create_document(bad, "k-bad")
    assert (caught.value.code, caught.value.field) == ("vat_mismatch", "lines[0].vat_amount")
    assert "INV-2" in caught.value.reason
    assert sage.business.invoices_numbered("INV-2") == []


def _invoice_and_credit(sage: Sage, credit: str) -> tuple[str, DocumentDraft]:
    chart = Chart.discover(sage.connector)
    who = sage.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = sage.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k-i")
    note = invoice(
        chart, "CN-1", who, JAN_5, line(chart, "1", credit), doc_type=DocumentType.CREDIT_NOTE
    )
    return inv, replace(note, credits_document_ref=inv)


def test_a_credit_note_is_set_against_the_invoice_it_credits(sage: Sage) -> None:
    inv, draft = _invoice_and_credit(sage, "20.00")
    note = sage.connector.create_document(draft, "k-cn")
    assert sage.business.outstanding(inv) == Decimal("96.00")
    made = sage.business.sales_credit_notes[note]
    assert made["outstanding_amount"] == 0
    # Where Sage stores and returns it: the invoice's date, and its number and id in notes.
    assert "original_invoice_number" not in made
    assert made["original_invoice_date"] == JAN_5.isoformat()
    assert f"Credits invoice INV-1 (Sage id {inv})" in made["notes"]
    assert len(sage.business.contact_allocations) == 1


def test_the_stand_in_refuses_fields_sages_swagger_does_not_have(sage: Sage) -> None:
    _, draft = _invoice_and_credit(sage, "20.00")
    body = wire.document_payload(draft)
    body["sales_credit_note"]["original_invoice_number"] = "INV-1"
    response, data = sage.connector._call("POST", "sales_credit_notes", body=body)
    assert response.status_code == 422
    assert [e.source for e in wire.errors_of(data)] == ["original_invoice_number"]
    assert sage.business.sales_credit_notes == {}


def test_an_interrupted_setting_against_is_finished_when_the_note_is_looked_up(
    sage: Sage, tmp_path: Path
) -> None:
    inv, draft = _invoice_and_credit(sage, "20.00")
    sage.standin.arm(FaultKind.REFUSE_CONNECTION, path="contact_allocations")
    with pytest.raises(OutcomeUncertain, match="is in Sage"):
        sage.connector.create_document(draft, "k-cn")
    (note,) = sage.business.sales_credit_notes.values()
    assert note["outstanding_amount"] == Decimal("24.00")

    # Found and finished from what Sage returns, also by a connection that never sent it.
    _, fresh = open_sage(tmp_path, sage.standin, sleep=sage.clock.sleep)
    with fresh:
        assert fresh.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") == note["id"]
    assert note["outstanding_amount"] == 0 and sage.business.outstanding(inv) == Decimal("96.00")
    # The same key again is answered from what was found: no second credit note.
    assert sage.connector.create_document(draft, "k-cn") == note["id"]
    assert len(sage.business.sales_credit_notes) == len(sage.business.contact_allocations) == 1


def test_a_lost_answer_to_the_setting_against_is_not_allocated_twice(sage: Sage) -> None:
    inv, draft = _invoice_and_credit(sage, "20.00")
    sage.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="contact_allocations")
    with pytest.raises(OutcomeUncertain):
        sage.connector.create_document(draft, "k-cn")
    assert sage.connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") is not None
    assert sage.business.outstanding(inv) == Decimal("96.00")
    assert len(sage.business.contact_allocations) == 1


def test_a_credit_larger_than_what_is_owed_is_refused_before_sending(sage: Sage) -> None:
    _, draft = _invoice_and_credit(sage, "150.00")
    with pytest.raises(Rejected) as caught:
        sage.connector.create_document(draft, "k-cn")
    assert caught.value.code == "over_allocation" and "INV-1" in caught.value.reason
    assert sage.business.sales_credit_notes == {}


def test_payments_are_found_by_reference_and_replayed_from_memory(sage: Sage) -> None:
    chart = Chart.discover(sage.connector)
    who = sage.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = sage.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k-i")
    draft = payment(chart, "PAY-1", who, JAN_5, (inv, "50.00"), amount="60.00")
    made = sage.connector.create_payment(draft, "k-p")
    posts = len(sage.standin.requests)
    assert sage.connector.create_payment(draft, "k-p") == made
    assert len(sage.standin.requests) == posts  # answered from memory, nothing sent
    assert sage.connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == made
    received = sage.business.contact_payments[made]
    assert received["total_amount"] == Decimal("60.00")  # £10 stays on account
    assert sage.business.outstanding(inv) == Decimal("70.00")


# ----------------------------------------------------------------------------- settings, limits


def test_lock_dates_come_from_the_financial_settings(sage: Sage) -> None:
    sage.business.accounts_start_date = date(2024, 4, 1)
    sage.business.year_end_lockdown_date = None
    assert sage.connector.lock_dates() == LockDates(period_lock=date(2024, 3, 31))
    sage.business.year_end_lockdown_date = date(2025, 3, 31)
    locks = sage.connector.lock_dates()
    assert locks.effective == date(2025, 3, 31)

    chart = Chart.discover(sage.connector)
    who = sage.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    with pytest.raises(Rejected) as caught:
        sage.connector.create_document(invoice(chart, "INV-1", who, date(2025, 3, 1)), "k")
    assert caught.value.code == "locked_period" and "31/03/2025" in caught.value.reason


def test_five_minute_tokens_are_refreshed_and_the_new_refresh_token_kept(sage: Sage) -> None:
    secrets = sage.connector.context.secrets
    first = secrets.get("sage_business_cloud.refresh_token")
    sage.connector.connect()
    sage.clock.advance(241)  # within a minute of expiry: refreshed before the next call
    sage.connector.connect()
    second = secrets.get("sage_business_cloud.refresh_token")
    assert sage.standin.auth.token_requests == ["refresh_token"]
    assert second and second != first
    sage.clock.advance(600)
    sage.connector.connect()
    assert sage.standin.auth.token_requests == ["refresh_token", "refresh_token"]


def test_sage_saying_too_many_becomes_rate_limited_with_its_wait(sage: Sage) -> None:
    sage.standin.arm(FaultKind.RATE_LIMIT, method="GET", path="tax_rates", retry_after=17)
    with pytest.raises(RateLimited) as caught:
        sage.connector.list_tax_rates()
    assert caught.value.retry_after == 17.0


def test_the_connection_paces_itself_to_sixty_requests_a_minute(sage: Sage) -> None:
    started = sage.clock.now()
    for _ in range(121):
        sage.connector.list_tax_rates()
    assert 120 <= sage.clock.now() - started < 121
    assert sage.standin.statuses[429] == 0


def test_the_stand_in_refuses_a_hundred_and_first_request_in_a_minute(tmp_path: Path) -> None:
    clock = VirtualClock()
    _, connector = open_sage(tmp_path, SageStandIn(clock=clock.now), sleep=clock.sleep)
    with connector:
        connector.http.limiter = None  # another app on the same business, say
        for _ in range(100):
            connector.list_tax_rates()
        with pytest.raises(RateLimited) as caught:
            connector.list_tax_rates()
        assert caught.value.retry_after == 60.0
        clock.advance(60)
        assert connector.list_tax_rates()


# ----------------------------------------------------------------------------- 422 in words


class _Lookups:
    def contact_by_reference(self, reference: str) -> RemoteContact | None:
        return None

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        return InvoiceSummary(invoice_id, "INV-7", Decimal("120.00"), Decimal("20.00"))

    def lock_dates(self) -> LockDates:
        return LockDates(year_end_lock=date(2025, 12, 31))


@pytest.mark.parametrize(
    ("error", "code", "field", "words"),
    [
        (SageError("RecordInvalid", "has already been taken", "invoice_number"),
         "duplicate_number", "number", "already has invoice INV-7"),
        (SageError("RecordInvalid", "cannot be on or before the year end lockdown date", "date"),
         "locked_period", "date", "31/12/2025"),
        (SageError("RecordInvalid", "is not a valid tax rate", "invoice_lines.2.tax_rate_id"),
         "unknown_tax_rate", "lines[2].vat_rate", "Line 3"),
        (SageError("RecordInvalid", "is not valid", "invoice_lines.1.ledger_account_id"),
         "unknown_account", "lines[1].nominal_account", "Line 2"),
        (SageError("RecordInvalid", "is not a valid customer", "contact_id"),
         "unknown_contact", "contact", "does not have"),
        (SageError("RecordInvalid", "something new", "footer"),
         "sage_refused", "", "footer something new"),
    ],
)  # fmt: skip
def test_422_answers_become_plain_words(
    error: SageError, code: str, field: str, words: str
) -> None:
    chart = Chart("a" * 32, "b" * 32, STANDARD)
    subject = Subject(invoice(chart, "INV-7", "c" * 32, date(2025, 12, 1)))
    refused = rejection(subject, [error], _Lookups())
    assert (refused.code, refused.field) == (code, field)
    assert words in refused.reason and refused.fix.strip()


def test_an_over_payment_names_the_invoice_and_what_is_owed() -> None:
    chart = Chart("a" * 32, "b" * 32, STANDARD)
    draft = payment(chart, "PAY-1", "c" * 32, JAN_5, ("d" * 32, "10.00"), ("e" * 32, "30.00"))
    error = SageError(
        "RecordInvalid", "exceeds the outstanding amount", "allocated_artefacts.1.amount"
    )
    refused = rejection(Subject(draft), [error], _Lookups())
    assert (refused.code, refused.field) == ("over_payment", "allocations[1].amount")
    assert "£30.00 against invoice INV-7" in refused.reason and "£20.00" in refused.reason


# ----------------------------------------------------------------------------- signing in


def test_signing_in_with_the_pasted_address(tmp_path: Path) -> None:
    standin = SageStandIn()
    business = standin.add_business("Riverside Plumbing Ltd")
    with open_sage(tmp_path, standin, tenant_id="")[1] as connector:
        connector.oauth.tokens.forget()  # signed out: only the client secret is kept
        attempt = connector.oauth.begin(listen=False)
        query = parse_qs(urlsplit(attempt.url).query)
        assert query["filter"] == ["apiv3.1"] and query["country"] == ["gb"]
        assert query["scope"] == ["full_access"]
        assert attempt.redirect_uri == "http://localhost:47671/callback"

        answer = attempt.read_pasted(browse(standin, attempt.url))
        connector.oauth.finish(attempt, answer)

        assert connector.signed_in
        assert connector.list_organisations() == [Company(business.id, "Riverside Plumbing Ltd")]
        assert connector.connect().id == business.id


# ----------------------------------------------------------------------------- as Sage publishes it


def test_the_token_request_carries_the_client_secret_in_the_form_body(sage: Sage) -> None:
    seen: list[httpx.Request] = []
    standin = sage.standin

    def spy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            seen.append(request)
        return standin(request)

    sage.connector.tokens._transport = httpx.MockTransport(spy)
    sage.clock.advance(241)  # within a minute of expiry: refreshed before the next call
    sage.connector.connect()
    (token,) = seen
    form = parse_qs(token.content.decode())
    assert form["client_id"] == [standin.auth.client_id]
    assert form["client_secret"] == [standin.auth.client_secret]
    assert "Authorization" not in token.headers
    # The stand-in, like Sage's samples, expects the form: HTTP Basic is refused.
    credentials = f"{standin.auth.client_id}:{standin.auth.client_secret}".encode()
    basic = standin(
        httpx.Request(
            "POST",
            "https://oauth.accounting.sage.com/token",
            data={"grant_type": "refresh_token", "refresh_token": "x"},
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
        )
    )
    assert basic.status_code == 401


def test_decimal_values_go_as_strings(sage: Sage) -> None:
    inv, draft = _invoice_and_credit(sage, "20.00")
    sage.connector.create_document(draft, "k-cn")
    chart = Chart.discover(sage.connector)
    who = str(sage.business.sales_invoices[inv]["contact"]["id"])
    sage.connector.create_payment(
        payment(chart, "PAY-1", who, JAN_5, (inv, "50.00"), amount="60.00"), "k-p"
    )
    assert len(sage.business.contact_allocations) == 1
    assert sage.standin.numbers_sent == []
    body = wire.document_payload(draft)["sales_credit_note"]["credit_note_lines"][0]
    assert body["unit_price"] == "20.00" and body["tax_amount"] == "4.00"


def _lose_then_resend(
    sage: Sage, tmp_path: Path, path: str, create: Callable[[SageBusinessCloudConnector], str]
) -> tuple[str, str]:
    """``create`` on a connection whose answer is lost after Sage saved, then again on a
    fresh connection that skips looking up (as if the look-up found nothing in time)."""
    sage.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path=path)
    with pytest.raises(OutcomeUncertain):
        create(sage.connector)
    _, fresh = open_sage(tmp_path, sage.standin, sleep=sage.clock.sleep)
    with fresh:
        # Skip every look-up (ours and the namesake check): only Sage's replay is left.
        fresh.find_existing = lambda *_: None  # type: ignore[method-assign]
        fresh._refuse_namesake = lambda _: None  # type: ignore[method-assign]
        again = create(fresh)
    body = loads_json(next(c for p, c in reversed(sage.standin.posted) if p.endswith(path)))
    return again, next(iter(body.values()))["idempotency_id"]


@pytest.mark.parametrize("kind", ["contact", "invoice", "credit_note", "payment"])
def test_a_resend_after_a_lost_answer_is_answered_by_sage_from_its_idempotency_id(
    sage: Sage, tmp_path: Path, kind: str
) -> None:
    chart = Chart.discover(sage.connector)
    who = sage.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = sage.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k-i")
    drafts: dict[str, tuple[str, Callable[[SageBusinessCloudConnector], str], Callable[[], int]]]
    drafts = {
        "contact": (
            "contacts",
            lambda c: c.create_contact(customer("BR01", "Brook Ltd"), "k-new"),
            lambda: len(sage.business.contacts),
        ),
        "invoice": (
            "sales_invoices",
            lambda c: c.create_document(invoice(chart, "INV-2", who, JAN_5), "k-new"),
            lambda: len(sage.business.sales_invoices),
        ),
        "credit_note": (
            "sales_credit_notes",
            lambda c: c.create_document(
                invoice(
                    chart, "CN-1", who, JAN_5, line(chart, "1", "5.00"),
                    doc_type=DocumentType.CREDIT_NOTE,
                ),
                "k-new",
            ),
            lambda: len(sage.business.sales_credit_notes),
        ),
        "payment": (
            "contact_payments",
            lambda c: c.create_payment(
                payment(chart, "PAY-1", who, JAN_5, (inv, "50.00")), "k-new"
            ),
            lambda: len(sage.business.contact_payments),
        ),
    }  # fmt: skip
    path, create, count = drafts[kind]
    before = count()
    made, idempotency_id = _lose_then_resend(sage, tmp_path, path, create)
    assert count() == before + 1 and sage.standin.replays == 1
    assert re.fullmatch(r"[0-9a-f]{32}", idempotency_id)
    assert made in sage.business.collection(path)


def test_a_repeated_setting_against_is_answered_from_its_idempotency_id(sage: Sage) -> None:
    inv, draft = _invoice_and_credit(sage, "20.00")
    sage.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="contact_allocations")
    with pytest.raises(OutcomeUncertain):
        sage.connector.create_document(draft, "k-cn")
    (note,) = sage.business.sales_credit_notes.values()
    subject = Subject(draft)
    again = sage.connector._allocate(
        who_of(note), inv, note["id"], Decimal("24.00"), JAN_5, subject
    )
    assert again is None
    assert len(sage.business.contact_allocations) == 1 and sage.standin.replays == 1
    assert sage.business.outstanding(inv) == Decimal("96.00")


def test_a_corrected_record_is_a_new_request_not_a_replay(sage: Sage) -> None:
    body = wire.contact_payload(customer("AB01", "Abbey Boilers Ltd"))
    fixed = wire.contact_payload(customer("AB01", "Abbey Boilers Limited"))
    first = wire.with_idempotency(body, "k")["contact"]["idempotency_id"]
    assert first == wire.with_idempotency(body, "k")["contact"]["idempotency_id"]
    assert first != wire.with_idempotency(fixed, "k")["contact"]["idempotency_id"]
    assert first != wire.with_idempotency(body, "k2")["contact"]["idempotency_id"]


def who_of(record: dict[str, object]) -> str:
    contact = record["contact"]
    assert isinstance(contact, dict)
    return str(contact["id"])
