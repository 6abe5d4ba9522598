"""The demo data, sent through the real send engine to the FreeAgent and KashFlow
stand-ins (situation 1: an empty company), ends up in the package once — with faults,
and, for KashFlow, with the session lapsing mid-send (the send stops with "sign in
again"; after signing in the next send finishes the rest, nothing lost or doubled).

Neither package has batches or idempotency keys: one record per request, every lost
answer settled by looking the record up by our own key. Time is virtual.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import Contact, Document, DocumentKind, OutboxEntry, Payment, SendState
from app.services.sending.pacing import Backoff
from app.services.sending.sender import Sender, SendReport
from app.services.setup.mapping import set_mapping
from app.services.store import Store
from connectors.catalogue import FREEAGENT, KASHFLOW
from connectors.contract import AccountType, Connector, PackageInfo
from tests.demo_stores import make_demo_template, store_copy
from tests.harnesses_cloud import open_freeagent, open_kashflow
from tests.standins.base import FaultKind
from tests.standins.clock import VirtualClock
from tests.standins.freeagent import FreeAgentStandIn
from tests.standins.kashflow import KashFlowStandIn

# A year of demo data, one record per request, through the real engine: minutes of CPU
# on a loaded machine, so a longer limit than the suite's 120 s (a hang still fails).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Our sales accounts → the stand-ins' codes; the bank maps to each one's bank account.
SALES = {
    "freeagent": {"SALES": "001", "SALES-LAB": "002", "SALES-MAT": "049"},
    "kashflow": {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4900"},
}


@pytest.fixture(scope="module", params=["freeagent", "kashflow"])
def package(request: pytest.FixtureRequest) -> str:
    key: str = request.param
    return key


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, package: str) -> Path:
    return make_demo_template(tmp_path_factory, package)


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    yield from store_copy(template, tmp_path)


def _open(package: str, tmp_path: Path, clock: VirtualClock) -> tuple[object, Connector]:
    if package == "freeagent":
        return open_freeagent(tmp_path, FreeAgentStandIn(clock=clock.now), sleep=clock.sleep)
    return open_kashflow(tmp_path, KashFlowStandIn(clock=clock.now), sleep=clock.sleep)


def _map(store: Store, connector: Connector, info: PackageInfo) -> None:
    accounts = connector.list_accounts()
    bank = next(a for a in accounts if a.type is AccountType.BANK)
    with store.session_factory.begin() as session:
        for ours, theirs in {**SALES[info.key], "BANK": bank.id}.items():
            set_mapping(session, info, accounts, ours, theirs, actor="test")


def _send(store: Store, connector: Connector, clock: VirtualClock) -> SendReport:
    sender = Sender(
        store.session_factory,
        connector,
        sleep=clock.sleep,
        clock=clock.now,
        backoff=Backoff(rng=random.Random(7)),
    )
    return sender.run()


def _states(store: Store, package: str) -> Counter[SendState]:
    with store.session_factory() as session:
        return Counter(
            session.scalars(select(OutboxEntry.state).where(OutboxEntry.package == package))
        )


def _documents_in_package(standin: object) -> Counter[str]:
    """Our document number → how many documents the package holds for it."""
    if isinstance(standin, FreeAgentStandIn):
        company = standin.only_company()
        records = [*company.invoices.values(), *company.credit_notes.values()]
        return Counter(r["reference"] for r in records)
    assert isinstance(standin, KashFlowStandIn)
    prefix = "Ledgerlink number: "
    return Counter(
        r["CustomerReference"][len(prefix) :].split(";")[0]
        for r in standin.account.invoices.values()
    )


def _arm(standin: object, package: str) -> int:
    assert isinstance(standin, FreeAgentStandIn | KashFlowStandIn)
    documents = "invoices"
    receipts = "bank_transaction_explanations" if package == "freeagent" else "invoices/"
    contacts = "contacts" if package == "freeagent" else "customers"
    armed = [
        standin.arm(FaultKind.RATE_LIMIT, path=contacts, skip=3, retry_after=20),
        standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path=contacts, skip=10),
        standin.arm(FaultKind.REFUSE_CONNECTION, path=contacts, skip=20),
        standin.arm(FaultKind.DROP_AFTER_SAVE, path=contacts, skip=30),
        standin.arm(FaultKind.SERVER_ERROR, path=documents, skip=5),
        standin.arm(FaultKind.SERVER_ERROR_AFTER_SAVE, path=documents, skip=40),
        standin.arm(FaultKind.DROP_AFTER_SAVE, path=documents, skip=100),
        standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, path=receipts, skip=7),
        standin.arm(FaultKind.RATE_LIMIT, path=receipts, skip=30, retry_after=45),
    ]
    if package == "freeagent":
        armed += [
            standin.arm(FaultKind.TIMEOUT_AFTER_SAVE, method="PUT", path="invoices", skip=12),
            standin.arm(FaultKind.REFUSE_CONNECTION, method="PUT", path="invoices", skip=60),
            standin.arm(FaultKind.EXPIRE_TOKEN, path="contacts", skip=5),
        ]
    return len(armed)


def _assert_each_document_once(store: Store, standin: object) -> None:
    held = _documents_in_package(standin)
    assert all(n == 1 for n in held.values()), [k for k, n in held.items() if n > 1]
    with store.session_factory() as session:
        sent = session.scalars(
            select(Document.number)
            .join(OutboxEntry, OutboxEntry.record_id == Document.id)
            .where(OutboxEntry.state == SendState.SUCCESSFUL)
            .where(OutboxEntry.record_type.in_(["invoice", "credit_note"]))
        ).all()
    assert set(sent) <= set(held)


def test_demo_data_reaches_the_package_once_despite_faults(
    package: str, store: Store, tmp_path: Path
) -> None:
    clock = VirtualClock()
    standin, connector = _open(package, tmp_path, clock)
    info = FREEAGENT if package == "freeagent" else KASHFLOW
    with connector:
        _map(store, connector, info)
        armed = _arm(standin, package)
        report = _send(store, connector, clock)
    assert isinstance(standin, FreeAgentStandIn | KashFlowStandIn)
    assert standin.faults == [] and len(standin.fired) == armed
    assert report.stopped_reason == "" and not report.uncertain
    states = _states(store, package)
    assert states[SendState.UNCERTAIN] == 0 and states[SendState.PROCESSING] == 0
    assert states[SendState.SUCCESSFUL] > 700
    _assert_each_document_once(store, standin)
    with store.session_factory() as session:
        contacts = session.scalar(select(func.count()).select_from(Contact))
        payments = session.scalar(select(func.count()).select_from(Payment))
        invoices = session.scalar(
            select(func.count()).select_from(Document).where(Document.kind == DocumentKind.INVOICE)
        )
    assert contacts and payments and invoices
    # Paced: the package never had to say "too many" on its own.
    assert standin.statuses[429] == 2  # the two armed ones


def test_kashflow_session_lapsing_mid_send_stops_and_the_next_send_finishes(
    store: Store, tmp_path: Path, package: str
) -> None:
    if package != "kashflow":
        pytest.skip("FreeAgent refreshes its tokens; KashFlow's session must be signed in again")
    clock = VirtualClock()
    standin, connector = _open(package, tmp_path, clock)
    assert isinstance(standin, KashFlowStandIn)
    with connector:
        _map(store, connector, KASHFLOW)
        standin.arm(FaultKind.EXPIRE_TOKEN, path="invoices", skip=50)
        first = _send(store, connector, clock)
        assert "signing in again" in first.stopped_reason
        assert "Sign in again" in first.stopped_reason
        states = _states(store, package)
        assert states[SendState.UNCERTAIN] == 0 and states[SendState.PROCESSING] == 0
        assert states[SendState.WAITING] > 0  # nothing lost: the rest waits
        # The user signs in again (a new session), and the next send finishes the rest.
        connector.context.secrets.set("kashflow.session_token", standin.open_session())
        second = _send(store, connector, clock)
    assert second.stopped_reason == ""
    assert _states(store, package)[SendState.WAITING] == 0
    _assert_each_document_once(store, standin)


def test_pre_flight_predicts_the_lock_date_and_writes_nothing(
    package: str, store: Store, tmp_path: Path
) -> None:
    from datetime import date

    from app.services.sending.preflight import Preflight

    clock = VirtualClock()
    standin, connector = _open(package, tmp_path, clock)
    lock = date(2026, 1, 31)
    if isinstance(standin, FreeAgentStandIn):
        standin.only_company().year_end_lock = lock  # FreeAgent: Settings › Account locking
    else:
        assert isinstance(standin, KashFlowStandIn)
        standin.account.set_lock(lock)  # KashFlow: the bank account's transaction lock
    info = FREEAGENT if package == "freeagent" else KASHFLOW
    with connector:
        _map(store, connector, info)
        report = Preflight(store.session_factory, connector).run()
    assert isinstance(standin, FreeAgentStandIn | KashFlowStandIn)
    assert {method for method, _ in standin.requests} == {"GET"}
    locked = [i for i in report.failures if i.problem and i.problem.code == "locked_period"]
    assert locked, "documents dated on or before the lock are predicted to fail"
    assert all("31/01/2026" in i.problem.reason for i in locked if i.problem)
    with store.session_factory() as session:
        early = session.scalar(
            select(func.count()).select_from(Document).where(Document.date <= lock)
        ) + session.scalar(select(func.count()).select_from(Payment).where(Payment.date <= lock))
    # Only records dated on or before the lock (some of those fail first for another
    # cause, such as a namesake customer they depend on).
    assert 0 < len({i.outbox_id for i in locked}) <= early
