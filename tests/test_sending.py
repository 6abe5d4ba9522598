"""The send engine against the Sandbox: exactly once, whatever the package does."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import (
    AuditEvent,
    Contact,
    Document,
    Link,
    LinkMethod,
    OutboxEntry,
    RecordType,
    SendState,
)
from app.services.linking.saving import LinkChange, apply_links
from app.services.sending import failure_actions
from app.services.sending.failures import list_failures
from app.services.sending.lock import SendInProgress, SendLock
from app.services.sending.preflight import Preflight
from app.services.sending.run import send_outcome
from app.services.sending.sender import SendReport
from connectors.contract import (
    BatchItem,
    ContactDraft,
    ContactRole,
    CreateResult,
    DocumentDraft,
    RemoteRecordType,
)
from connectors.errors import OutcomeUncertain
from connectors.sandbox.faults import Operation
from tests.conftest import MemoryKeyring
from tests.send_fixtures import EXPECTED, SendRig, build_rig

pytestmark = pytest.mark.both_stores


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring, store_url: str) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    yield rig
    rig.store.close()


def states(rig: SendRig) -> dict[str, int]:
    with rig.session_factory() as session:
        rows = session.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
        ).all()
    return {state.value: n for state, n in rows}


def run(rig: SendRig, **kwargs: object) -> SendReport:
    report = rig.send(**kwargs)
    assert isinstance(report, SendReport)
    return report


def test_everything_arrives_exactly_once(rig: SendRig) -> None:
    report = run(rig)
    assert report.ok
    assert rig.package_counts() == EXPECTED
    assert states(rig) == {"successful": 13}
    # Contacts created by the send are linked, so nothing is ever created twice.
    with rig.session_factory() as session:
        methods = set(session.scalars(select(Link.method)))
    assert methods == {LinkMethod.CREATED_BY_SEND}

    again = run(rig)
    assert sum(again.sent.values()) == 0 and again.requests == 0
    assert rig.package_counts() == EXPECTED


def test_batches_use_few_requests(rig: SendRig) -> None:
    report = run(rig)
    # one listing each of the package's customers and suppliers (to link, not create,
    # any it already holds), tax rates, and one batch each for customers, suppliers,
    # invoices, credit notes and payments
    assert report.requests == 8


def test_every_state_change_is_audited(rig: SendRig) -> None:
    run(rig)
    with rig.session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("sending") == 13
    assert actions.count("sent") == 13
    assert actions[-1] == "send_run"


def test_rate_limit_is_honoured_with_retry_after(rig: SendRig) -> None:
    rig.faults.rate_limit_next_calls(2, retry_after=30.0)
    report = run(rig)
    assert report.ok
    assert rig.time.sleeps[:2] == [30.0, 30.0]
    assert rig.package_counts() == EXPECTED


def test_server_error_before_writing_is_retried_with_backoff(rig: SendRig) -> None:
    rig.faults.fail_next_creates(2)
    report = run(rig)
    assert report.ok
    assert len(rig.time.sleeps) == 2 and rig.time.sleeps[1] > rig.time.sleeps[0] / 2
    assert rig.package_counts() == EXPECTED


@pytest.mark.parametrize("forgetful", [False, True], ids=["idempotent", "no-idempotency"])
@pytest.mark.parametrize(
    "operation",
    [Operation.CREATE_CONTACT, Operation.CREATE_DOCUMENT, Operation.CREATE_PAYMENT],
)
def test_lost_answer_after_the_package_wrote_is_resolved_not_resent(
    rig: SendRig, operation: Operation, forgetful: bool
) -> None:
    """A timeout or dropped connection after the package committed: uncertain, then
    found by looking, never a duplicate, even where the package has no idempotency."""
    rig.forgetful = forgetful
    rig.faults.lose_next_responses(1, operations=[operation])
    report = run(rig)
    assert rig.package_counts() == EXPECTED
    assert states(rig) == {"successful": 13}
    assert report.resolved_found >= 1
    with rig.session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "marked_uncertain" in actions and "resolved_found" in actions


def test_lookup_failing_leaves_rows_uncertain_until_the_next_run(rig: SendRig) -> None:
    rig.faults.lose_next_responses(1, operations=[Operation.CREATE_CONTACT])
    rig.faults.fail_next_creates(50, operations=[Operation.FIND_EXISTING])
    report = run(rig, max_attempts=1)
    assert report.uncertain or report.stopped_reason
    assert states(rig).get("uncertain", 0) >= 1
    rig.faults.clear()

    run(rig)
    assert rig.package_counts() == EXPECTED
    assert states(rig) == {"successful": 13}


def test_answers_lost_again_and_again_stop_the_run_not_resend_for_ever(
    rig: SendRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that drops every create before the package takes it: each answer is
    lost, each lookup finds nothing. One resend after the lookup, then the run stops."""
    calls: list[int] = []

    def dropping(items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        calls.append(len(items))
        raise OutcomeUncertain("the connection dropped before the package answered")

    with rig.connector() as connector:
        monkeypatch.setattr(connector, "create_batch", dropping)
        report = rig.sender(connector).run()
    assert len(calls) == 2 and calls[1] == 1  # the batch, then its first record once more
    assert "lost its answer twice for customer C1" in report.stopped_reason
    assert "fault in Ledgerlink" not in report.stopped_reason
    assert rig.package_counts()["contacts"] == 0
    left = states(rig)
    assert "processing" not in left
    # The batch's other records were never asked about: still unconfirmed, and counted.
    assert left.get("uncertain", 0) >= 1
    assert sum(report.uncertain.values()) == left["uncertain"]
    summary = send_outcome(report, "the Sandbox").summary
    assert f"{left['uncertain']} not yet confirmed (the next send asks the Sandbox" in summary
    monkeypatch.undo()

    assert run(rig).ok  # the connection back: every record once
    assert rig.package_counts() == EXPECTED
    assert states(rig) == {"successful": 13}


def test_expired_sign_in_stops_cleanly_and_loses_nothing(rig: SendRig) -> None:
    rig.faults.require_reconnect(None, operations=[Operation.CREATE_DOCUMENT])
    report = run(rig)
    assert "signing in again" in report.stopped_reason
    assert rig.package_counts()["invoices"] == 0
    assert states(rig) == {"successful": 4, "waiting": 9}
    rig.faults.clear()

    assert run(rig).ok
    assert rig.package_counts() == EXPECTED


def test_package_down_stops_after_bounded_retries(rig: SendRig) -> None:
    rig.faults.fail_next_creates(None, operations=[Operation.CREATE_CONTACT])
    report = run(rig, max_attempts=3)
    assert "not answering" in report.stopped_reason
    assert len(rig.time.sleeps) == 2
    assert states(rig) == {"waiting": 13}
    rig.faults.clear()
    assert run(rig).ok
    assert rig.package_counts() == EXPECTED


def test_interrupted_run_is_resolved_by_looking(rig: SendRig) -> None:
    """Rows left processing by a run that died (whether or not the package took them)."""
    with rig.connector() as connector:
        written = connector.create_contact(
            ContactDraft(role=ContactRole.CUSTOMER, our_ref="C1", name="Ada Boilers Ltd"),
            "ll-someone-elses-key",
        )
    with rig.session_factory.begin() as session:
        from app.services.sending.outbox import sync_outbox

        sync_outbox(session, "sandbox")
        rows = session.scalars(
            select(OutboxEntry).where(OutboxEntry.record_type == RecordType.CUSTOMER)
        ).all()
        for row in rows[:2]:  # C1 reached the package, C2 did not
            row.state = SendState.PROCESSING

    report = run(rig)
    assert report.resolved_found == 1 and report.resolved_not_found == 1
    assert rig.package_counts() == EXPECTED
    with rig.session_factory() as session:
        first = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).first()
    assert first is not None and first.remote_id == written


def test_failed_record_fails_alone_and_holds_back_its_dependants(rig: SendRig) -> None:
    # A near miss (capitals differ): never guessed, never created; the user chooses.
    with rig.connector() as connector:
        existing = connector.store.add_contact(
            ContactDraft(role=ContactRole.CUSTOMER, our_ref="", name="ADA BOILERS LTD")
        )
    report = run(rig)
    assert report.failed["customer"] == 1
    assert report.sent["customer"] == 2
    with rig.session_factory() as session:
        roots = list_failures(session, "sandbox")
    assert len(roots) == 1
    root = roots[0]
    assert root.code == "choose_contact" and root.field == "name"
    assert "ADA BOILERS LTD" in root.reason and existing.ref in root.reason
    assert root.fix_page == "link-customers"
    held = sorted(d.label for d in root.dependants)
    assert held == ["Credit note CN-1", "Invoice INV-1", "Invoice INV-4", "Payment PAY-1"]

    # The fix the reason suggests: link to their record. The dependants then go.
    with rig.session_factory.begin() as session:
        ada = session.scalars(select(Contact).where(Contact.account_ref == "C1")).one()
        apply_links(
            session,
            "sandbox",
            [LinkChange(ada.id, existing.ref, existing.name, LinkMethod.TYPED)],
            actor="test",
        )
    assert run(rig).ok
    counts = rig.package_counts()
    assert counts == {**EXPECTED, "contacts": EXPECTED["contacts"]}  # theirs, not a copy
    assert states(rig) == {"successful": 13}


def test_unmapped_account_fails_with_the_fix_and_goes_once_mapped(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    rig = build_rig(tmp_path / "data", memory_keyring, map_accounts=False)
    try:
        report = run(rig)
        assert report.sent == {"customer": 3, "supplier": 1}
        with rig.session_factory() as session:
            roots = list_failures(session, "sandbox")
        codes = {r.code for r in roots}
        assert codes == {"unmapped_account"}
        assert any("Open Nominal accounts" in r.fix for r in roots)
        assert rig.package_counts()["invoices"] == 0

        from app.services.setup.mapping import set_mapping
        from tests.send_fixtures import MAPPING

        with rig.connector() as connector, rig.session_factory.begin() as session:
            accounts = connector.list_accounts()
            for ours, theirs in MAPPING.items():
                set_mapping(session, connector.info, accounts, ours, theirs, actor="test")
        assert run(rig).ok
        assert rig.package_counts() == EXPECTED
    finally:
        rig.store.close()


def test_cancel_stops_between_batches(rig: SendRig) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(step: object) -> None:
        label = getattr(step, "current", "")
        seen.append(label)
        if label.startswith("Supplier"):  # reported as the supplier batch goes out
            cancel.set()

    report = run(rig, cancel=cancel, progress=progress)
    assert report.cancelled
    assert rig.package_counts()["invoices"] == 0
    assert states(rig) == {"successful": 4, "waiting": 9}


def test_preflight_predicts_the_send_exactly(rig: SendRig) -> None:
    # A supplier of that name: not a customer to link to, yet the Sandbox's names are
    # unique across customers and suppliers, so creating the customer is refused.
    with rig.connector() as connector:
        connector.store.add_contact(
            ContactDraft(role=ContactRole.SUPPLIER, our_ref="", name="Ben Pipes")
        )
        predicted = Preflight(rig.session_factory, connector).run()
    assert states(rig) == {}  # pre-flight wrote nothing
    report = run(rig)
    assert dict(predicted.to_send) == dict(report.sent)
    failed = {i.record_type: 0 for i in predicted.failures}
    for item in predicted.failures:
        failed[item.record_type] += 1
    assert failed == dict(report.failed)
    (root, held_back), *_ = predicted.root_causes()
    assert root.problem is not None and root.problem.code == "would_duplicate"
    assert {i.label for i in held_back} == {"Invoice INV-2", "Invoice INV-5", "Payment PAY-2"}


def test_failure_actions(rig: SendRig) -> None:
    with rig.connector() as connector:
        connector.store.add_contact(
            ContactDraft(role=ContactRole.SUPPLIER, our_ref="", name="Cara Heating")
        )
    run(rig)
    with rig.session_factory() as session:
        (root,) = list_failures(session, "sandbox")
    with (
        rig.session_factory.begin() as session,
        pytest.raises(failure_actions.ActionRefused, match="give the package's id"),
    ):
        failure_actions.entered_manually(session, root.outbox_id, " ", actor="test")
    with rig.session_factory.begin() as session:
        assert (
            failure_actions.do_not_send(
                session, [root.outbox_id], actor="test", include_dependants=True
            )
            == 3
        )
    assert states(rig)["do_not_send"] == 3
    with rig.session_factory.begin() as session:
        assert failure_actions.retry(session, [root.outbox_id], actor="test") == 3
    assert states(rig)["waiting"] == 3

    export = rig.store.paths.root / "failures.csv"
    run(rig)
    with rig.session_factory() as session:
        rows = failure_actions.export_failures(session, "sandbox", export)
    assert rows == 3
    text = export.read_text(encoding="utf-8")
    assert "Cara Heating" in text and "held_back_by" in text


def test_documents_are_never_updated_once_sent(rig: SendRig) -> None:
    run(rig)
    with rig.session_factory.begin() as session:
        invoice = session.scalars(select(Document).where(Document.number == "INV-2")).one()
        invoice.reference = "edited after sending"
    report = run(rig)
    assert report.requests == 0
    assert rig.package_counts() == EXPECTED


def test_preflight_catches_a_document_number_the_package_already_has(rig: SendRig) -> None:
    run(rig)
    with rig.session_factory.begin() as session:
        from app.db.models import DocumentKind, DocumentLine, NominalAccount

        sales = session.scalars(select(NominalAccount).where(NominalAccount.code == "SALES")).one()
        ben = session.scalars(select(Contact).where(Contact.account_ref == "C2")).one()
        clash = Document(
            kind=DocumentKind.INVOICE, number="INV-9", date=date(2026, 2, 1), contact=ben
        )
        clash.lines.append(
            DocumentLine(
                line_no=1,
                description="Extra",
                quantity=Decimal(1),
                unit_price=Decimal(10),
                nominal_account=sales,
                vat_rate=Decimal(20),
                vat_amount=Decimal("2.00"),
            )
        )
        session.add(clash)
    with rig.connector() as connector:
        theirs = replace(_invoice_draft(connector), number="INV-9")
        connector.create_document(theirs, "typed-by-hand")
        report = Preflight(rig.session_factory, connector).run()
    (item,) = report.failures
    assert item.label == "Invoice INV-9"
    assert item.problem is not None and item.problem.code == "duplicate_number"
    assert "already has an invoice numbered INV-9" in item.problem.reason
    assert "Entered manually" in item.problem.fix


def _invoice_draft(connector: object) -> DocumentDraft:
    from connectors.contract import DocumentType, LineDraft

    ben = connector.find_existing(RemoteRecordType.CUSTOMER, "C2")  # type: ignore[attr-defined]
    line = LineDraft(
        "Typed by hand",
        Decimal(1),
        Decimal(5),
        Decimal("5.00"),
        "SBX-A4000",
        "T1",
        Decimal(20),
        Decimal("1.00"),
    )
    return DocumentDraft(
        type=DocumentType.INVOICE, number="X", date=date(2026, 2, 1), contact_ref=ben, lines=(line,)
    )


def test_failures_say_which_page_fixes_them(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    rig = build_rig(tmp_path / "data", memory_keyring, map_accounts=False)
    try:
        with rig.connector() as connector:
            connector.store.add_contact(
                ContactDraft(
                    role=ContactRole.CUSTOMER, our_ref="", name="Midland Plumbers Merchants"
                )
            )
        run(rig)
        with rig.session_factory() as session:
            pages = {(r.code, r.fix_page) for r in list_failures(session, "sandbox")}
        assert ("duplicate_name", "link-suppliers") in pages
        assert ("unmapped_account", "nominal-accounts") in pages
    finally:
        rig.store.close()


def test_only_one_send_runs_at_a_time(rig: SendRig) -> None:
    lock = rig.store.paths.send_lock
    with SendLock(lock):
        report = run(rig, lock_path=lock)
        assert "Another send is already running" in report.stopped_reason
        assert states(rig) == {}  # touched nothing, not even the outbox
        with pytest.raises(SendInProgress):
            SendLock(lock).__enter__()
    assert run(rig, lock_path=lock).ok  # released with its holder
    assert rig.package_counts() == EXPECTED


def test_a_daily_limit_stops_the_send_instead_of_sleeping_for_hours(rig: SendRig) -> None:
    rig.faults.rate_limit_next_calls(
        1, retry_after=6 * 3600.0, operations=[Operation.CREATE_DOCUMENT]
    )
    report = run(rig)
    assert "accepts more in about 6.0 hours" in report.stopped_reason
    assert all(s < 3600 for s in rig.time.sleeps)
    assert states(rig) == {"successful": 4, "waiting": 9}
    assert run(rig).ok
    assert rig.package_counts() == EXPECTED


def test_records_before_the_cut_off_date_are_not_sent_and_go_once_it_moves(
    rig: SendRig,
) -> None:
    from app.services.setup.state import CUTOFF_DATE, set_setting

    with rig.session_factory.begin() as session:
        set_setting(session, CUTOFF_DATE, "2026-01-08")
    with rig.connector() as connector:
        predicted = Preflight(rig.session_factory, connector).run()
    report = run(rig)
    early = {i.label for i in predicted.failures if i.problem and i.problem.code == "before_cutoff"}
    assert early == {"Invoice INV-1", "Invoice INV-2", "Invoice INV-3"}
    assert dict(predicted.to_send) == dict(report.sent)
    assert rig.package_counts()["invoices"] == 2  # INV-4 and INV-5 only
    with rig.session_factory() as session:
        reasons = {r.label: r for r in list_failures(session, "sandbox")}
    assert "before your financial cut-off date 08/01/2026" in reasons["Invoice INV-1"].reason
    assert reasons["Invoice INV-1"].fix_page == "review-and-send"

    with rig.session_factory.begin() as session:
        set_setting(session, CUTOFF_DATE, None)
    assert run(rig).ok
    assert rig.package_counts() == EXPECTED
