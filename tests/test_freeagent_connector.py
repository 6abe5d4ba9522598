"""The FreeAgent connector against its stand-in: what the conformance suite does not
cover — sign-in, references, the Draft → mark_as_sent pair, receipts, paging, limits,
lock dates and every injected fault."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.catalogue import FREEAGENT
from connectors.contract import AccountType, ContactRole, RemoteRecordType
from connectors.errors import NeedsReconnecting, OutcomeUncertain, RateLimited, Rejected
from connectors.freeagent import FreeAgentConnector
from tests.connector_harness import Chart, customer, invoice, payment
from tests.harnesses_cloud import browse, open_freeagent
from tests.standins.base import FaultKind
from tests.standins.clock import VirtualClock
from tests.standins.freeagent import Company, FreeAgentStandIn

JAN_5 = date(2026, 1, 5)


@dataclass
class FreeAgent:
    standin: FreeAgentStandIn
    connector: FreeAgentConnector
    clock: VirtualClock

    @property
    def company(self) -> Company:
        return self.standin.only_company()

    def customer_and_invoice(self, number: str = "INV-1001") -> tuple[str, str, Chart]:
        chart = Chart.discover(self.connector)
        who = self.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
        inv = self.connector.create_document(invoice(chart, number, who, JAN_5), f"k-{number}")
        return who, inv, chart


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FreeAgent]:
    clock = VirtualClock()
    standin, connector = open_freeagent(
        tmp_path, FreeAgentStandIn(clock=clock.now), sleep=clock.sleep
    )
    with connector:
        yield FreeAgent(standin, connector, clock)


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "typed",
    [
        "https://demoheating.freeagent.com/contacts/123",
        "https://demoheating.freeagent.com/contacts/123/edit",
        "https://api.freeagent.com/v2/contacts/123",
        "https://api.sandbox.freeagent.com/v2/contacts/123",
        "  123 ",
    ],
)
def test_a_reference_is_the_number_from_a_web_address_an_api_url_or_typed(typed: str) -> None:
    parsed = FREEAGENT.reference.parse(typed)
    assert parsed is not None and parsed.reference == "123"
    assert parsed.from_url == ("/" in typed)


@pytest.mark.parametrize("typed", ["", "abc", "https://example.com/contacts/123", "12a"])
def test_anything_else_is_not_a_freeagent_reference(typed: str) -> None:
    assert FREEAGENT.reference.parse(typed) is None


# ----------------------------------------------------------------------------- sign-in


def test_signing_in_in_the_browser_and_every_request_naming_ledgerlink(tmp_path: Path) -> None:
    standin = FreeAgentStandIn()
    standin.add_company("Riverside Plumbing Ltd")
    with open_freeagent(tmp_path, standin)[1] as connector:
        connector.oauth.tokens.forget()
        attempt = connector.oauth.begin(listen=False)
        parts = urlsplit(attempt.url)
        assert parts.path == "/v2/approve_app"
        assert attempt.redirect_uri == "http://localhost:47681/callback"
        assert parse_qs(parts.query)["response_type"] == ["code"]
        connector.oauth.finish(attempt, attempt.read_pasted(browse(standin, attempt.url)))
        assert connector.signed_in
        assert connector.list_organisations()[0].name == "Riverside Plumbing Ltd"
    # The token request used HTTP Basic with the client secret (the stand-in checks it).
    assert "authorization_code" in standin.auth.token_requests
    assert set(standin.user_agents) == {"Ledgerlink/0.1 (+desktop; httpx)"}


def test_the_sandbox_host_is_a_setting(tmp_path: Path) -> None:
    with open_freeagent(tmp_path, sandbox="yes")[1] as connector:
        assert connector.endpoints.api_url == "https://api.sandbox.freeagent.com/v2"
        assert connector.provider.token_url.endswith("api.sandbox.freeagent.com/v2/token_endpoint")


def test_an_expired_access_token_is_refreshed_and_a_revoked_sign_in_asks_again(
    fa: FreeAgent,
) -> None:
    first = fa.connector.context.secrets.get("freeagent.refresh_token")
    fa.standin.arm(FaultKind.EXPIRE_TOKEN, method="GET", path="company")
    assert fa.connector.connect().name == "Demo Heating Ltd"
    assert fa.connector.context.secrets.get("freeagent.refresh_token") != first
    fa.standin.auth.expire_access_tokens()
    fa.standin.auth.revoke_refresh_tokens()
    with pytest.raises(NeedsReconnecting):
        fa.connector.connect()


# ----------------------------------------------------------------------------- chart


def test_categories_and_bank_accounts_are_the_accounts(fa: FreeAgent) -> None:
    accounts = {a.id: a for a in fa.connector.list_accounts()}
    assert accounts["001"].type is AccountType.SALES and accounts["001"].name == "Sales"
    assert accounts["250"].type is AccountType.EXPENSE
    banks = [a for a in accounts.values() if a.type is AccountType.BANK]
    assert [b.name for b in banks] == ["Business Current Account"]
    assert banks[0].id.startswith("bank_accounts/")


# ----------------------------------------------------------------------------- documents


def test_an_invoice_is_created_as_draft_then_marked_as_sent(fa: FreeAgent) -> None:
    _, inv, _ = fa.customer_and_invoice()
    record = fa.company.invoices[int(inv)]
    assert record["status"] == "Open" and record["reference"] == "INV-1001"
    assert record["items"][0]["category"] == "001"
    puts = [p for m, p in fa.standin.requests if m == "PUT"]
    assert puts == [f"/v2/invoices/{inv}/transitions/mark_as_sent"]


@pytest.mark.parametrize(
    "fault", [FaultKind.TIMEOUT_AFTER_SAVE, FaultKind.DROP_AFTER_SAVE, FaultKind.REFUSE_CONNECTION]
)
def test_an_interrupted_mark_as_sent_is_finished_next_time_never_duplicated(
    fa: FreeAgent, tmp_path: Path, fault: FaultKind
) -> None:
    chart = Chart.discover(fa.connector)
    who = fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(chart, "INV-1001", who, JAN_5)
    fa.standin.arm(fault, method="PUT", path="invoices")
    with pytest.raises(OutcomeUncertain, match="Draft"):
        fa.connector.create_document(draft, "k-i")
    (record,) = fa.company.invoices.values()
    # Refused: still a Draft; answer lost: FreeAgent may have marked it already.
    assert record["status"] == ("Draft" if fault is FaultKind.REFUSE_CONNECTION else "Open")
    # The next run is a new connection: the step log on disk says which Draft to finish.
    _, again = open_freeagent(tmp_path, fa.standin, sleep=fa.clock.sleep)
    with again:
        made = again.create_document(draft, "k-i")
    assert len(fa.company.invoices) == 1
    assert fa.company.invoices[int(made)]["status"] == "Open"
    marks = [p for m, p in fa.standin.requests if m == "PUT"]
    assert len(marks) == (2 if fault is FaultKind.REFUSE_CONNECTION else 1)


def test_a_draft_left_by_a_crash_is_marked_as_sent_when_looked_up(fa: FreeAgent) -> None:
    chart = Chart.discover(fa.connector)
    who = fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    fa.standin.arm(FaultKind.REFUSE_CONNECTION, method="PUT", path="invoices")
    with pytest.raises(OutcomeUncertain):
        fa.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    found = fa.connector.find_existing(RemoteRecordType.INVOICE, "INV-1001")
    assert found is not None and fa.company.invoices[int(found)]["status"] == "Open"
    assert len(fa.company.invoices) == 1


def test_a_lost_create_is_looked_up_by_reference_before_any_resend(fa: FreeAgent) -> None:
    chart = Chart.discover(fa.connector)
    who = fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(chart, "INV-1001", who, JAN_5)
    fa.standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path="invoices")
    with pytest.raises(OutcomeUncertain):
        fa.connector.create_document(draft, "k-i")
    assert fa.connector.create_document(draft, "k-i") == str(next(iter(fa.company.invoices)))
    assert len(fa.company.invoices) == 1


def test_a_locked_period_is_refused_before_sending_with_what_to_do(fa: FreeAgent) -> None:
    chart = Chart.discover(fa.connector)
    who = fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    fa.company.year_end_lock = date(2026, 1, 31)
    assert fa.connector.lock_dates().effective == date(2026, 1, 31)
    with pytest.raises(Rejected) as caught:
        fa.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    assert caught.value.code == "locked_period" and "31/01/2026" in caught.value.reason
    assert "Account locking" in caught.value.fix
    assert not fa.company.invoices


def test_a_lock_ledgerlink_could_not_read_is_explained_from_freeagents_answer(
    fa: FreeAgent,
) -> None:
    chart = Chart.discover(fa.connector)
    who = fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    fa.connector.lock_dates()  # read while unlocked, then locked in FreeAgent meanwhile
    fa.company.user_lock = date(2026, 1, 31)
    with pytest.raises(Rejected) as caught:
        fa.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    assert caught.value.code == "locked_period" and caught.value.field == "date"
    assert "dated_on is in a locked period" in caught.value.reason


# ----------------------------------------------------------------------------- receipts


def test_a_receipt_is_a_bank_transaction_explanation_against_the_invoice(fa: FreeAgent) -> None:
    who, inv, chart = fa.customer_and_invoice()
    ref = fa.connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "50.00")), "k-p")
    (explanation,) = fa.company.explanations.values()
    assert explanation["paid_invoice"] == int(inv) and explanation["description"] == "PAY-1"
    assert explanation["gross_value"] == Decimal("50.00")
    assert fa.connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == ref


def test_a_payment_of_two_invoices_is_two_explanations_found_together(fa: FreeAgent) -> None:
    who, first, chart = fa.customer_and_invoice("INV-1001")
    second = fa.connector.create_document(invoice(chart, "INV-1002", who, JAN_5), "k-2")
    ref = fa.connector.create_payment(
        payment(chart, "PAY-1", who, JAN_5, (first, "120.00"), (second, "20.00")), "k-p"
    )
    assert sorted(e["description"] for e in fa.company.explanations.values()) == [
        "PAY-1 (1/2)",
        "PAY-1 (2/2)",
    ]
    assert fa.connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == ref
    assert fa.company.outstanding(first) == 0 and fa.company.outstanding(second) == 100


# ----------------------------------------------------------------------------- limits


def test_freeagent_saying_too_many_becomes_rate_limited_and_nothing_is_saved(
    fa: FreeAgent,
) -> None:
    fa.standin.arm(FaultKind.RATE_LIMIT, path="contacts", retry_after=42)
    with pytest.raises(RateLimited) as caught:
        fa.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    assert caught.value.retry_after == 42.0
    assert not fa.company.contacts


def test_a_server_error_on_a_read_is_retriable(fa: FreeAgent) -> None:
    fa.standin.arm(FaultKind.SERVER_ERROR, method="GET", path="company")
    with pytest.raises(Exception) as caught:
        fa.connector.connect()
    assert getattr(caught.value, "retriable", False)
    assert fa.connector.connect().name


def test_the_connection_keeps_within_120_a_minute(fa: FreeAgent) -> None:
    started = fa.clock.now()
    for _ in range(241):
        fa.connector.connect()
    assert 120 <= fa.clock.now() - started < 121
    assert fa.standin.statuses[429] == 0


def test_contacts_are_paged_through_link_headers(fa: FreeAgent) -> None:
    for n in range(130):
        fa.standin.add_contact(fa.company, f"Customer {n:03d}")
    names = [c.name for c in fa.connector.iter_contacts(ContactRole.CUSTOMER)]
    assert len(names) == 130 and names == sorted(names)
    pages = [p for m, p in fa.standin.requests if m == "GET" and p == "/v2/contacts"]
    assert len(pages) == 2
