"""The KashFlow connector against its stand-in: the memorable-word sign-in, lapsed
sessions, locked accounts, Codes, invoice numbers, payments and injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from connectors.catalogue import KASHFLOW
from connectors.contract import AccountType, RemoteRecordType
from connectors.errors import OutcomeUncertain, RateLimited, Rejected
from connectors.kashflow import AccountLocked, KashFlowConnector, SessionLapsed, SignInRefused
from connectors.kashflow.signin import PASSWORD as PASSWORD_ENTRY
from connectors.kashflow.signin import SESSION_TOKEN
from tests.connector_harness import Chart, customer, invoice, payment
from tests.harnesses_cloud import open_kashflow
from tests.standins.base import FaultKind
from tests.standins.clock import VirtualClock
from tests.standins.kashflow import MEMORABLE_WORD, PASSWORD, USERNAME, KashFlowStandIn

JAN_5 = date(2026, 1, 5)


@dataclass
class KashFlow:
    standin: KashFlowStandIn
    connector: KashFlowConnector
    clock: VirtualClock


@pytest.fixture
def kf(tmp_path: Path) -> Iterator[KashFlow]:
    clock = VirtualClock()
    standin, connector = open_kashflow(
        tmp_path, KashFlowStandIn(clock=clock.now), sleep=clock.sleep
    )
    with connector:
        yield KashFlow(standin, connector, clock)


def _signed_out(kf: KashFlow) -> KashFlowConnector:
    kf.connector.context.secrets.delete(SESSION_TOKEN)
    return kf.connector


def _characters(positions: tuple[int, ...], word: str = MEMORABLE_WORD) -> dict[int, str]:
    return {p: word[p - 1].upper() for p in positions}


# ----------------------------------------------------------------------------- sign-in


def test_signing_in_asks_only_for_the_characters_kashflow_names(kf: KashFlow) -> None:
    connector = _signed_out(kf)
    challenge = connector.start_sign_in(PASSWORD, USERNAME)
    assert challenge.positions == (2, 3, 6)
    assert challenge.describe() == "characters 2, 3 and 6"
    company = connector.finish_sign_in(
        challenge, _characters(challenge.positions), remember_password=None
    )
    assert company.name and connector.signed_in
    secrets = connector.context.secrets
    assert secrets.get(SESSION_TOKEN) in kf.standin.sessions
    assert secrets.get(PASSWORD_ENTRY) is None  # not remembered unless asked
    # The PUT carried exactly the three characters, never the word.
    assert all(MEMORABLE_WORD not in str(v) for v in secrets.values.values())  # type: ignore[attr-defined]


def test_remember_keeps_the_password_so_the_next_sign_in_needs_only_the_characters(
    kf: KashFlow,
) -> None:
    connector = _signed_out(kf)
    challenge = connector.start_sign_in(PASSWORD, USERNAME)
    connector.finish_sign_in(challenge, _characters(challenge.positions), PASSWORD)
    assert connector.context.secrets.get(PASSWORD_ENTRY) == PASSWORD
    connector.context.secrets.delete(SESSION_TOKEN)
    again = connector.start_sign_in("", USERNAME)  # nothing typed: the remembered one
    assert again.positions == (1, 4, 9)
    connector.finish_sign_in(again, _characters(again.positions), None)
    assert connector.context.secrets.get(PASSWORD_ENTRY) is None  # unticked: forgotten


def test_a_character_per_position_is_checked_before_anything_is_sent(kf: KashFlow) -> None:
    connector = _signed_out(kf)
    challenge = connector.start_sign_in(PASSWORD, USERNAME)
    sent = len(kf.standin.requests)
    with pytest.raises(SignInRefused, match="exactly one character for each of characters 2"):
        connector.finish_sign_in(challenge, {2: "i", 3: "ne", 6: "p"}, None)
    with pytest.raises(SignInRefused):
        connector.finish_sign_in(challenge, {**_characters(challenge.positions), 1: "p"}, None)
    assert len(kf.standin.requests) == sent


def test_wrong_characters_three_times_lock_the_account_which_is_never_retried(
    kf: KashFlow,
) -> None:
    connector = _signed_out(kf)
    for _attempt in range(2):
        challenge = connector.start_sign_in(PASSWORD, USERNAME)
        with pytest.raises(SignInRefused, match="memorable word"):
            connector.finish_sign_in(challenge, {p: "z" for p in challenge.positions}, None)
    challenge = connector.start_sign_in(PASSWORD, USERNAME)
    with pytest.raises(AccountLocked) as caught:
        connector.finish_sign_in(challenge, {p: "z" for p in challenge.positions}, None)
    assert not caught.value.retriable and "locked" in str(caught.value)
    # KashFlow's own words, as its REST authentication page gives them, are shown.
    assert "User account is locked, please contact administrator." in str(caught.value)
    sent = len(kf.standin.requests)
    with pytest.raises(AccountLocked):
        connector.start_sign_in(PASSWORD, USERNAME)
    assert len(kf.standin.requests) == sent + 1  # one answer read, no retry


def test_a_wrong_password_says_where_api_access_is_switched_on(kf: KashFlow) -> None:
    with pytest.raises(SignInRefused, match="API settings"):
        _signed_out(kf).start_sign_in("wrong", USERNAME)


def test_a_lapsed_session_mid_send_asks_to_sign_in_again_and_nothing_is_written(
    kf: KashFlow,
) -> None:
    kf.standin.arm(FaultKind.EXPIRE_TOKEN, path="customers")
    with pytest.raises(SessionLapsed, match="Sign in again") as caught:
        kf.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    assert not caught.value.retriable
    assert not kf.standin.account.customers


def test_an_hour_unused_ends_the_session(kf: KashFlow) -> None:
    assert kf.connector.connect()
    kf.clock.advance(3601)
    with pytest.raises(SessionLapsed):
        kf.connector.connect()


def test_a_locked_account_answers_as_locked_not_as_sign_in_again(kf: KashFlow) -> None:
    kf.standin.account.locked = True
    with pytest.raises(AccountLocked, match="will not try again"):
        kf.connector.list_accounts()


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("typed", ["ACME01", "acme-01", "SHA_2", "A"])
def test_a_code_is_what_a_user_types(typed: str) -> None:
    parsed = KASHFLOW.reference.parse(typed)
    assert parsed is not None and parsed.reference == typed and not parsed.from_url


@pytest.mark.parametrize(
    "typed", ["", "ACME 01", "https://app.kashflow.com/#customers/12", "-AB", "X" * 21]
)
def test_anything_else_is_not_a_kashflow_code(typed: str) -> None:
    assert KASHFLOW.reference.parse(typed) is None


def test_a_contact_is_made_with_our_account_reference_as_its_code(kf: KashFlow) -> None:
    code = kf.connector.create_contact(
        customer("AB01", "Abbey Boilers Ltd", town="Leeds", postcode="LS1 1AA"), "k-c"
    )
    assert code == "AB01"
    remote = kf.connector.get_contact("AB01")
    assert remote is not None and (remote.town, remote.postcode) == ("Leeds", "LS1 1AA")
    with pytest.raises(Rejected) as caught:
        kf.connector.create_contact(customer("AB01", "Another Ltd"), "k-d")
    assert caught.value.code == "duplicate_reference" and "AB01" in caught.value.reason


def test_an_account_reference_that_cannot_be_a_code_is_refused_before_sending(
    kf: KashFlow,
) -> None:
    with pytest.raises(Rejected) as caught:
        kf.connector.create_contact(customer("AB 01", "Abbey Boilers Ltd"), "k-c")
    assert caught.value.code == "bad_code" and caught.value.field == "account_ref"
    assert not kf.standin.account.customers


# ----------------------------------------------------------------------------- documents


def test_nominals_and_bank_accounts_are_the_accounts(kf: KashFlow) -> None:
    accounts = {a.id: a for a in kf.connector.list_accounts()}
    assert accounts["4000"].type is AccountType.SALES
    assert accounts["1200"].type is AccountType.OTHER  # the bank nominal: not a bank account
    assert accounts["bank:1"].type is AccountType.BANK


def test_a_taken_invoice_number_is_refused_instead_of_kashflow_renumbering_it(
    kf: KashFlow,
) -> None:
    chart = Chart.discover(kf.connector)
    who = kf.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    assert kf.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-1") == "1001"
    with pytest.raises(Rejected) as caught:
        kf.connector.create_document(invoice(chart, "SO-1001", who, JAN_5), "k-2")
    assert caught.value.code == "duplicate_number" and "INV-1001" in caught.value.reason
    assert list(kf.standin.account.invoices) == [1001]


@pytest.mark.parametrize(
    "fault",
    [FaultKind.TIMEOUT_AFTER_SAVE, FaultKind.DROP_AFTER_SAVE, FaultKind.SERVER_ERROR_AFTER_SAVE],
)
def test_a_lost_answer_is_uncertain_and_the_invoice_found_by_number(
    kf: KashFlow, fault: FaultKind
) -> None:
    chart = Chart.discover(kf.connector)
    who = kf.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    draft = invoice(chart, "INV-1001", who, JAN_5)
    kf.standin.arm(fault, path="invoices")
    with pytest.raises(OutcomeUncertain):
        kf.connector.create_document(draft, "k-i")
    assert kf.connector.create_document(draft, "k-i") == "1001"
    assert list(kf.standin.account.invoices) == [1001]


def test_a_429_is_honoured_with_its_retry_after(kf: KashFlow) -> None:
    kf.standin.arm(FaultKind.RATE_LIMIT, method="GET", path="nominals", retry_after=12)
    with pytest.raises(RateLimited) as caught:
        kf.connector.list_accounts()
    assert caught.value.retry_after == 12.0


def test_a_payment_is_a_payment_line_found_again_by_its_note(kf: KashFlow) -> None:
    chart = Chart.discover(kf.connector)
    who = kf.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = kf.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    ref = kf.connector.create_payment(payment(chart, "PAY-1", who, JAN_5, (inv, "50.00")), "k-p")
    (line,) = kf.standin.account.invoices[1001]["PaymentLines"]
    assert line["Note"] == "PAY-1" and line["AccountId"] == 1
    assert kf.connector.find_existing(RemoteRecordType.PAYMENT, "PAY-1") == ref


def test_a_payment_into_a_locked_bank_account_is_refused_before_sending(kf: KashFlow) -> None:
    chart = Chart.discover(kf.connector)
    who = kf.connector.create_contact(customer("AB01", "Abbey Boilers Ltd"), "k-c")
    inv = kf.connector.create_document(invoice(chart, "INV-1001", who, JAN_5), "k-i")
    kf.standin.account.set_lock(date(2026, 2, 28))
    kf.clock.advance(600)  # past the connector's lock-date cache
    with pytest.raises(Rejected) as caught:
        kf.connector.create_payment(payment(chart, "PAY-1", who, date(2026, 2, 1), (inv, "5")), "k")
    assert caught.value.code == "locked_period" and "28/02/2026" in caught.value.reason
    assert kf.standin.account.invoices[1001]["PaymentLines"] == []
