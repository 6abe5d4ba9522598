"""QuickBooks Online beyond the shared conformance suite: batches, display names shared
across customers and suppliers, items, credit memos set against invoices, limits,
faults in plain words, and signing in by pasting the address back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.services.setup.signin import Organisation, SignIn, package_settings
from app.services.setup.state import load_setup
from connectors.catalogue import QUICKBOOKS_ONLINE
from connectors.contract import (
    BatchItem,
    ContactRole,
    DocumentDraft,
    DocumentType,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.display_names import read_display_names, with_display_name
from connectors.errors import (
    ConnectorError,
    OutcomeUncertain,
    RateLimited,
    Rejected,
    TemporarilyUnavailable,
)
from connectors.oauth import SignInError
from connectors.quickbooks_online import QuickBooksOnlineConnector
from connectors.quickbooks_online.rejections import (
    InvoiceSummary,
    NameHolder,
    Subject,
    rejection,
)
from connectors.quickbooks_online.signin import PastedAddressAttempt
from connectors.quickbooks_online.wire import QboError
from tests.connector_harness import Chart, customer, invoice, line, payment, supplier
from tests.harnesses_cloud import browse, open_qbo
from tests.standins.clock import VirtualClock
from tests.standins.qbo import RELAY, Company, FaultKind, QboStandIn

JAN_5 = date(2026, 1, 5)


@dataclass
class Qbo:
    standin: QboStandIn
    connector: QuickBooksOnlineConnector
    clock: VirtualClock
    tmp_path: Path

    @property
    def company(self) -> Company:
        return self.standin.only_company()

    def reopen(self, **settings: str) -> QuickBooksOnlineConnector:
        self.connector.close()
        self.connector = open_qbo(self.tmp_path, self.standin, self.clock.sleep, **settings)[1]
        return self.connector

    def posts(self, path: str) -> int:
        return sum(1 for m, p in self.standin.requests if m == "POST" and p.endswith(path))


@pytest.fixture
def qbo(tmp_path: Path) -> Iterator[Qbo]:
    clock = VirtualClock()
    standin, connector = open_qbo(tmp_path, QboStandIn(clock=clock.now), clock.sleep)
    opened = Qbo(standin, connector, clock, tmp_path)
    yield opened
    opened.connector.close()


# ----------------------------------------------------------------------------- batches


def test_a_batch_goes_thirty_at_a_time_and_each_record_gets_its_own_answer(qbo: Qbo) -> None:
    drafts = [customer(f"C{n:02}", f"Customer {n:02}") for n in range(35)]
    drafts[31] = customer("C31", "Customer 02")  # a namesake of one in the first request
    items = [BatchItem(d, f"key-{n}") for n, d in enumerate(drafts)]

    results = qbo.connector.create_batch(items)

    assert qbo.posts("/batch") == 2  # 30 + 5
    refused = results[31]
    assert isinstance(refused, Rejected) and refused.code == "duplicate_name"
    assert "QuickBooks already has customer" in refused.reason and "Customer 02" in refused.reason
    made = [r for r in results if isinstance(r, str)]
    assert len(made) == 34 == len(qbo.company.customers)

    # The same records again carry the same requestids: QuickBooks replays its answers.
    again = qbo.connector.create_batch(items)
    assert [r for r in again if isinstance(r, str)] == made
    assert len(qbo.company.customers) == 34


def test_a_corrected_record_is_a_new_request_not_a_replay(qbo: Qbo) -> None:
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    qbo.company.book_close_date = JAN_5
    draft = invoice(chart, "INV-1", who, JAN_5)
    with pytest.raises(Rejected) as closed:
        qbo.connector.create_document(draft, "k-inv")
    assert closed.value.code == "locked_period" and "05/01/2026" in closed.value.reason

    fixed = invoice(chart, "INV-1", who, date(2026, 1, 6))
    assert qbo.connector.create_document(fixed, "k-inv") in qbo.company.invoices


# ----------------------------------------------------------------------------- names


def test_a_business_that_is_customer_and_supplier_needs_a_second_display_name(qbo: Qbo) -> None:
    """QuickBooks keeps one list of names for customers, suppliers and employees, so
    Ledgerlink asks for a second display name, and never makes one up itself."""
    buyer = qbo.connector.create_contact(customer("C1", "Midland Plumbers"), "k-c1")
    draft = supplier("S1", "Midland Plumbers", town="Leicester")

    with pytest.raises(Rejected) as caught:
        qbo.connector.create_contact(draft, "k-s1")
    refused = caught.value
    assert (refused.code, refused.field) == ("name_used_by_other_role", "name")
    assert f"customer {buyer}" in refused.reason
    assert "second display name" in refused.fix and "never changes a name" in refused.fix
    assert qbo.company.vendors == {}  # nothing suffixed and sent behind the user's back

    chosen = with_display_name(
        qbo.connector.context.settings,
        ContactRole.SUPPLIER,
        "S1",
        "Midland Plumbers (supplies)",
        QUICKBOOKS_ONLINE,
    )
    assert read_display_names(chosen) == {
        (ContactRole.SUPPLIER, "S1"): "Midland Plumbers (supplies)"
    }
    connector = qbo.reopen(display_names=chosen["display_names"])
    made = connector.create_contact(draft, "k-s1")
    vendor = qbo.company.vendors[made]
    assert vendor["DisplayName"] == "Midland Plumbers (supplies)"
    assert vendor["CompanyName"] == "Midland Plumbers"  # our own name, unchanged
    assert connector.find_existing(RemoteRecordType.SUPPLIER, "S1") == made
    assert connector.find_existing(RemoteRecordType.CUSTOMER, "C1") == buyer


def test_a_name_an_employee_holds_is_refused_naming_the_employee(qbo: Qbo) -> None:
    held = qbo.standin.add_name(qbo.company, "Employee", "Sam Fitter")
    with pytest.raises(Rejected) as caught:
        qbo.connector.create_contact(customer("C9", "sam fitter"), "k")
    assert caught.value.code == "name_used_by_other_role"
    assert f"employee {held['Id']}" in caught.value.reason


def test_a_display_name_with_a_colon_is_refused_before_sending(qbo: Qbo) -> None:
    before = len(qbo.standin.requests)
    with pytest.raises(Rejected) as caught:
        qbo.connector.create_contact(customer("C1", "Smith: Plumbing"), "k")
    assert (caught.value.code, caught.value.field) == ("invalid_name", "name")
    assert "colon" in caught.value.reason and "Smith: Plumbing" in caught.value.reason
    assert len(qbo.standin.requests) == before
    with pytest.raises(ConnectorError, match=r"does not allow a colon \(:\)"):
        with_display_name({}, ContactRole.SUPPLIER, "S1", "A: B", QUICKBOOKS_ONLINE)


def test_a_pasted_supplier_address_finds_the_supplier(qbo: Qbo) -> None:
    made = qbo.connector.create_contact(
        supplier("S1", "Soar Valley Merchants", email="accounts@soar.example"), "k"
    )
    pasted = f"https://app.qbo.intuit.com/app/vendordetail?nameId={made}&tab=details"
    parsed = qbo.connector.info.reference.parse(pasted)
    assert parsed is not None and parsed.from_url and parsed.reference == made

    found = qbo.connector.get_contact(parsed.reference)
    assert found is not None
    assert (found.role, found.name, found.email, found.our_ref) == (
        ContactRole.SUPPLIER,
        "Soar Valley Merchants",
        "accounts@soar.example",
        "S1",
    )


# ----------------------------------------------------------------------------- items


def test_a_sales_line_must_post_through_an_item(qbo: Qbo) -> None:
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    income = next(a for a in qbo.connector.list_income_accounts() if a.name == "Sales")
    before = qbo.posts("/invoice")

    draft = invoice(chart, "INV-1", who, JAN_5, line(chart, "1", "10", account_id=income.id))
    with pytest.raises(Rejected) as caught:
        qbo.connector.create_document(draft, "k")
    assert (caught.value.code, caught.value.field) == (
        "unknown_account",
        "lines[0].nominal_account",
    )
    assert "products and services" in caught.value.reason
    assert qbo.posts("/invoice") == before


def test_an_item_made_inactive_in_quickbooks_is_explained(qbo: Qbo) -> None:
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    item_id = chart.sales_account_id.removeprefix("item:")
    qbo.company.items[item_id]["Active"] = False

    with pytest.raises(Rejected) as caught:
        qbo.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k")
    assert caught.value.code == "unknown_account"
    assert "inactive" in caught.value.reason and "INV-1" in caught.value.reason


def test_invoice_lines_post_to_the_items_income_account_with_our_vat(qbo: Qbo) -> None:
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(
        chart, "INV-1", who, JAN_5, line(chart, "3", "33.33"), line(chart, "0.5", "0.05")
    )
    made = qbo.company.invoices[qbo.connector.create_document(draft, "k")]

    assert made["TotalAmt"] == draft.gross_total and made["Balance"] == draft.gross_total
    assert made["TxnTaxDetail"]["TotalTax"] == draft.vat_total
    item = qbo.company.items[chart.sales_account_id.removeprefix("item:")]
    posted = {line["SalesItemLineDetail"]["ItemAccountRef"]["value"] for line in made["Line"][:-1]}
    assert posted == {item["IncomeAccountRef"]["value"]}
    assert qbo.connector.document_numbers(DocumentType.INVOICE) == {"INV-1"}


# ----------------------------------------------------------------------------- credit memos


def _invoice_and_credit(qbo: Qbo, credit: str) -> tuple[str, DocumentDraft]:
    """Invoice INV-1 for £120.00, and credit note CN-1 of ``credit`` + VAT against it."""
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = qbo.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k-i")
    credit_note = invoice(
        chart, "CN-1", who, JAN_5, line(chart, "1", credit), doc_type=DocumentType.CREDIT_NOTE
    )
    return inv, replace(credit_note, credits_document_ref=inv)


def test_a_credit_memo_is_set_against_the_invoice_it_credits(qbo: Qbo) -> None:
    inv, draft = _invoice_and_credit(qbo, "20.00")
    memo = qbo.connector.create_document(draft, "k-cn")

    assert qbo.company.outstanding(inv) == Decimal("96.00")
    assert qbo.company.credit_memos[memo]["Balance"] == 0
    zero = [p for p in qbo.company.payments.values() if p["TotalAmt"] == 0]
    assert len(zero) == 1
    # A setting-against is not a customer payment: looking up payments never finds it.
    assert qbo.connector.find_existing(RemoteRecordType.PAYMENT, "") is None
    assert qbo.connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") == memo
    assert len(qbo.company.payments) == 1


def test_an_interrupted_setting_against_is_finished_when_the_memo_is_looked_up(qbo: Qbo) -> None:
    inv, draft = _invoice_and_credit(qbo, "20.00")
    qbo.standin.arm(FaultKind.REFUSE_CONNECTION, path="payment")
    with pytest.raises(TemporarilyUnavailable):
        qbo.connector.create_document(draft, "k-cn")
    (memo,) = qbo.company.credit_memos.values()
    assert memo["Balance"] == memo["TotalAmt"] == Decimal("24.00")

    assert qbo.connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") == memo["Id"]
    assert memo["Balance"] == 0 and qbo.company.outstanding(inv) == Decimal("96.00")
    # Looking again changes nothing: it is already set against the invoice.
    assert qbo.connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1") == memo["Id"]
    assert qbo.company.outstanding(inv) == Decimal("96.00") and len(qbo.company.payments) == 1


def test_a_lost_answer_to_the_setting_against_is_not_applied_twice(qbo: Qbo) -> None:
    inv, draft = _invoice_and_credit(qbo, "20.00")
    qbo.standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path="payment")
    with pytest.raises(OutcomeUncertain):
        qbo.connector.create_document(draft, "k-cn")
    memo = qbo.connector.find_existing(RemoteRecordType.CREDIT_NOTE, "CN-1")
    assert memo is not None and qbo.connector.create_document(draft, "k-cn") == memo
    assert qbo.company.outstanding(inv) == Decimal("96.00") and len(qbo.company.payments) == 1


def test_a_credit_larger_than_what_is_owed_is_refused_before_sending(qbo: Qbo) -> None:
    _, draft = _invoice_and_credit(qbo, "150.00")
    with pytest.raises(Rejected) as caught:
        qbo.connector.create_document(draft, "k-cn")
    assert (caught.value.code, caught.value.field) == ("over_allocation", "original_invoice_number")
    assert "INV-1" in caught.value.reason and "£120.00" in caught.value.reason
    assert qbo.company.credit_memos == {}


def test_two_payments_in_one_batch_cannot_pay_an_invoice_twice(qbo: Qbo) -> None:
    chart = Chart.discover(qbo.connector)
    who = qbo.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = qbo.connector.create_document(invoice(chart, "INV-1", who, JAN_5), "k-i")
    items = [
        BatchItem(payment(chart, "PAY-1", who, JAN_5, (inv, "100.00")), "k-p1"),
        BatchItem(payment(chart, "PAY-2", who, JAN_5, (inv, "30.00")), "k-p2"),
    ]
    first, second = qbo.connector.create_batch(items)
    assert isinstance(first, str)
    assert isinstance(second, Rejected) and second.code == "over_payment"
    assert "£20.00 of its £120.00 still owed" in second.reason
    assert qbo.company.outstanding(inv) == Decimal("20.00")


# ----------------------------------------------------------------------------- limits


def test_quickbooks_saying_too_many_becomes_rate_limited(qbo: Qbo) -> None:
    qbo.standin.arm(FaultKind.RATE_LIMIT, method="GET", path="query")
    with pytest.raises(RateLimited) as caught:
        qbo.connector.list_tax_rates()
    # QuickBooks sends no Retry-After: a whole minute is waited.
    assert caught.value.retry_after == 60.0


def test_the_connector_keeps_within_the_batch_budget_without_a_429(qbo: Qbo) -> None:
    start = qbo.clock.now()
    for n in range(41):
        qbo.connector.create_batch([BatchItem(customer(f"C{n}", f"Customer {n}"), f"k{n}")])
    # The 41st batch in a minute waited for the window instead of earning a 429.
    assert qbo.clock.now() - start >= 60.0
    assert qbo.standin.statuses[429] == 0


# ----------------------------------------------------------------------------- faults in words


def _subject() -> Subject:
    return Subject(customer("AB01", "Abbey Boilers Ltd"))


class _Lookups:
    def name_holders(self, name: str) -> list[NameHolder]:
        return [NameHolder("customer", "58", name)]

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        return InvoiceSummary(invoice_id, "INV-7", Decimal("120.00"), Decimal("20.00"))

    def book_close_date(self) -> date | None:
        return date(2025, 12, 31)


@pytest.mark.parametrize(
    ("error", "code", "field", "words"),
    [
        (
            QboError("6240", "Duplicate Name Exists Error", "The name supplied already exists."),
            "duplicate_name",
            "name",
            "customer 58",
        ),
        (
            QboError("6140", "Duplicate Document Number Error", ""),
            "duplicate_number",
            "number",
            "already has",
        ),
        # One Intuit table gives 6210 for a duplicate number: the words decide.
        (
            QboError("6210", "Duplicate Document Number Error", ""),
            "duplicate_number",
            "number",
            "already has",
        ),
        (
            QboError("6210", "Account Period Closed", "The account period has closed"),
            "locked_period",
            "date",
            "31/12/2025",
        ),
        (
            QboError(
                "6000",
                "A business validation error",
                "Make sure all your transactions have a VAT rate before you save.",
            ),
            "unknown_tax_rate",
            "lines[0].vat_rate",
            "VAT code",
        ),
        (
            QboError("2500", "Invalid Reference Id", "", "CustomerRef"),
            "unknown_contact",
            "contact",
            "inactive",
        ),
        (
            QboError("2500", "Invalid Reference Id", "", "DepositToAccountRef"),
            "not_a_bank_account",
            "bank_account",
            "cannot pay into",
        ),
        (
            QboError("9999", "Something new", "Nobody has seen this before"),
            "quickbooks_refused",
            "",
            "Nobody has seen this before",
        ),
    ],
)
def test_faults_become_plain_words(error: QboError, code: str, field: str, words: str) -> None:
    subject = _subject()
    if code in ("duplicate_number", "locked_period", "unknown_tax_rate", "unknown_contact"):
        chart = Chart("item:1", "5", STANDARD)
        subject = Subject(invoice(chart, "INV-7", "58", date(2025, 12, 1)))
    if code == "not_a_bank_account":
        subject = Subject(payment(Chart("item:1", "5", STANDARD), "PAY-1", "58", JAN_5))
    refused = rejection(subject, [error], _Lookups())
    assert (refused.code, refused.field) == (code, field)
    assert words in refused.reason + refused.fix
    assert refused.reason.strip() and refused.fix.strip()


STANDARD = RemoteTaxRate("2", "20.0% S", Decimal(20))


# ----------------------------------------------------------------------------- signing in


def test_signing_in_by_pasting_the_address_the_relay_page_shows(tmp_path: Path) -> None:
    standin = QboStandIn()
    company = standin.add_company("Riverside Plumbing Ltd")
    _, connector = open_qbo(tmp_path, standin, tenant_id="", redirect_uri=RELAY)
    connector.oauth.tokens.forget()  # signed out: only the client secret is kept

    attempt = connector.oauth.begin(listen=True)
    assert isinstance(attempt, PastedAddressAttempt) and not attempt.listening
    assert attempt.redirect_uri == RELAY and attempt.receiver is None
    with pytest.raises(SignInError, match="Paste the address"):
        attempt.wait()
    address = browse(standin, attempt.url)
    assert address.startswith(RELAY + "?") and "realmId=" in address

    answer = attempt.read_pasted(address)
    connector.accept_answer(answer)
    connector.oauth.finish(attempt, answer)

    assert connector.signed_in
    assert connector.list_organisations()[0].id == company.realm_id
    assert connector.connect().name == "Riverside Plumbing Ltd"
    assert standin.auth.token_requests == ["authorization_code"]
    connector.close()


def test_signing_in_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGERLINK_QUICKBOOKS_ONLINE_REDIRECT_URI", raising=False)
    monkeypatch.delenv("LEDGERLINK_QUICKBOOKS_ONLINE_CLIENT_SECRET", raising=False)
    standin = QboStandIn()
    for settings, words in (
        ({}, "LEDGERLINK_QUICKBOOKS_ONLINE_REDIRECT_URI"),
        ({"redirect_uri": "http://relay.example/qbo"}, "must start with https://"),
    ):
        with (
            open_qbo(tmp_path, standin, **settings)[1] as connector,
            pytest.raises(SignInError, match=words),
        ):
            connector.oauth.begin()
    with open_qbo(tmp_path, standin, redirect_uri=RELAY)[1] as connector:
        connector.context.secrets.delete("quickbooks_online.client_secret")
        with pytest.raises(SignInError, match="client secret"):
            connector.oauth.begin()


def test_an_answer_without_the_company_is_refused(qbo: Qbo) -> None:
    from connectors.oauth import AuthorizationResponse

    with pytest.raises(SignInError, match="realmId"):
        qbo.connector.accept_answer(AuthorizationResponse("code", {"state": "s"}))


def test_the_hour_long_access_token_is_refreshed_when_it_runs_out(qbo: Qbo) -> None:
    qbo.connector.connect()
    qbo.clock.advance(3600)
    qbo.connector.connect()
    assert qbo.standin.auth.token_requests == ["refresh_token"]


def test_the_sign_in_service_keeps_the_chosen_company(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    """Through ``app.services.setup.signin``: the pasted address finishes the sign-in, and the
    company (its ``realmId``) is kept as the package's ``tenant_id`` setting."""
    standin = QboStandIn()
    company = standin.add_company("Riverside Plumbing Ltd")
    _, connector = open_qbo(tmp_path, standin, tenant_id="", redirect_uri=RELAY)
    connector.oauth.tokens.forget()
    signin = SignIn("quickbooks_online", connector, connector.oauth.begin(), session_factory)
    try:
        organisations = signin.complete_with_pasted_address(browse(standin, signin.url))
    finally:
        signin.close()

    assert organisations == [Organisation(company.realm_id, "Riverside Plumbing Ltd")]
    settings = package_settings(session_factory, "quickbooks_online")
    assert settings["tenant_id"] == company.realm_id
    assert settings["tenant_name"] == "Riverside Plumbing Ltd"
    with session_factory() as session:
        assert load_setup(session).company_name == "Riverside Plumbing Ltd"
