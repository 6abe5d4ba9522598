"""Issue 15, scenarios 3 and 5 on the Sandbox: a never-linked contact the package already
holds is linked on its first send, not created (a near miss or several matches are
never guessed), and, with the per-business option on, contacts wait until a
transaction needs them. The dry run predicts each outcome exactly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from app.db.models import AuditEvent, Contact, Link, LinkMethod, OutboxEntry, SendState
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.failures import failure_causes, list_failures
from app.services.sending.first_send_links import (
    CHOOSE,
    HELD_BACK,
    confirm_new_contacts,
    held_back_counts,
)
from app.services.sending.preflight import Preflight, PreflightReport
from app.services.sending.run import send_outcome
from app.services.sending.sender import SendReport
from app.services.setup.choices import read_setup, set_contacts_with_transactions
from connectors.contract import ContactDraft, ContactRole
from tests.conftest import MemoryKeyring
from tests.send_fixtures import EXPECTED, SendRig, build_rig


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    yield rig
    rig.store.close()


def seed(rig: SendRig, role: ContactRole, name: str, **fields: str) -> str:
    """A contact keyed into the Sandbox by hand; its reference."""
    with rig.connector() as connector:
        return connector.store.add_contact(
            ContactDraft(role=role, our_ref="", name=name, **fields)
        ).ref


def dry_run(rig: SendRig) -> PreflightReport:
    with rig.connector() as connector:
        return Preflight(rig.session_factory, connector).run()


def send(rig: SendRig) -> SendReport:
    report = rig.send()
    assert isinstance(report, SendReport)
    return report


def assert_dry_run_equals_send(predicted: PreflightReport, report: SendReport) -> None:
    assert dict(predicted.to_send) == dict(report.sent)
    assert dict(Counter(i.record_type for i in predicted.failures)) == dict(report.failed)
    assert dict(Counter(i.record_type for i in predicted.linked)) == dict(report.linked)
    assert dict(Counter(i.record_type for i in predicted.held_back)) == dict(report.held_back)


def import_rows(rig: SendRig, kind: ImportKind, text: str) -> None:
    report = import_csv_bytes(rig.session_factory, kind, text.encode(), file=f"{kind.value}.csv")
    assert report.ok, report.describe()


def contact_id(rig: SendRig, account_ref: str) -> int:
    with rig.session_factory() as session:
        return session.scalars(select(Contact.id).where(Contact.account_ref == account_ref)).one()


# ----------------------------------------------------------------------------- scenario 3


def test_an_exact_match_is_linked_instead_of_created(rig: SendRig) -> None:
    ref = seed(rig, ContactRole.CUSTOMER, "Ben Pipes")
    predicted = dry_run(rig)
    (item,) = predicted.linked
    assert item.label == "Customer “Ben Pipes” (C2)" and ref in item.linked_to
    assert predicted.to_json()["would_link"][0]["linked_to"] == f"Ben Pipes ({ref})"

    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    assert report.linked == {"customer": 1} and report.ok
    assert report.sent["customer"] == 2
    # Theirs was used: the package holds one Ben Pipes, and everything else once.
    assert rig.package_counts() == EXPECTED
    with rig.session_factory() as session:
        link = session.scalars(select(Link).where(Link.contact_id == contact_id(rig, "C2"))).one()
        assert (link.remote_ref, link.method) == (ref, LinkMethod.LINKED_ON_SEND)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "linked_on_send")
        ).all()
        assert [e.record_id for e in events] == [link.contact_id]
        assert ref in events[0].detail
    with rig.connector() as connector:
        invoices = [d for d in connector.store.list_documents() if d.contact_ref == ref]
    assert sorted(d.number for d in invoices) == ["INV-2", "INV-5"]
    summary = send_outcome(report, "Sandbox").summary
    assert "linked 1 customer to ones already in Sandbox" in summary


def test_two_of_ours_with_the_one_name_are_never_guessed(rig: SendRig) -> None:
    import_rows(rig, ImportKind.CUSTOMERS, "account_ref,name,town\nC4,Ben Pipes,Derby\n")
    ref = seed(rig, ContactRole.CUSTOMER, "Ben Pipes")
    predicted = dry_run(rig)
    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    assert report.failed["customer"] == 2 and not report.linked
    with rig.session_factory() as session:
        roots = list_failures(session, "sandbox")
        causes = failure_causes(session, "sandbox", "Sandbox")
    chosen = [r for r in roots if r.code == CHOOSE]
    assert {r.label for r in chosen} == {"Customer “Ben Pipes” (C2)", "Customer “Ben Pipes” (C4)"}
    assert all("2 customers of yours are named “Ben Pipes”" in r.reason for r in chosen)
    assert all(ref in r.reason and r.fix_page == "link-customers" for r in chosen)
    # One cause for both, holding back Ben's invoices and payment.
    (cause,) = [c for c in causes if c.code == CHOOSE]
    assert cause.title == "2 customers may already be in Sandbox: choose which one"
    assert cause.command == "ledgerlink --page link-customers"
    assert {r.label for r in cause.held_back} == {"Invoice INV-2", "Invoice INV-5", "Payment PAY-2"}
    assert rig.package_counts()["contacts"] == 4  # nothing created for either


def test_a_near_miss_is_never_guessed_until_the_user_says_it_is_new(rig: SendRig) -> None:
    ref = seed(rig, ContactRole.CUSTOMER, "Ada Boilers Limited")
    predicted = dry_run(rig)
    failure = predicted.failures[0]
    assert failure.problem is not None and failure.problem.code == CHOOSE
    assert f"“Ada Boilers Limited” ({ref}: name: Ltd / Limited differs" in failure.problem.reason

    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    assert not report.linked and report.failed["customer"] == 1
    # Looked at again on every send, and still not guessed.
    again = send(rig)
    assert again.failed["customer"] == 1 and not again.sent
    with rig.session_factory() as session:
        entry = session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.record_id == contact_id(rig, "C1"),
                OutboxEntry.record_type == "customer",
            )
        ).one()
    assert entry.state is SendState.FAILED and entry.error_code == CHOOSE

    # "It is none of them": created by the next send, with everything it held back.
    with rig.session_factory.begin() as session:
        assert confirm_new_contacts(session, "sandbox", [entry.id], actor="test") == 1
    with rig.session_factory.begin() as session, pytest.raises(ValueError) as twice:
        confirm_new_contacts(session, "sandbox", [entry.id], actor="test")
    assert str(twice.value).startswith("Customer “")  # named, not by its row number
    assert "is not waiting for you to choose which one" in str(twice.value)
    predicted = dry_run(rig)
    final = send(rig)
    assert_dry_run_equals_send(predicted, final)
    assert final.ok
    assert final.sent == {"customer": 1, "invoice": 2, "credit_note": 1, "payment": 1}
    assert rig.package_counts()["contacts"] == EXPECTED["contacts"] + 1


def test_linking_it_on_the_link_page_ends_the_choice(rig: SendRig) -> None:
    from app.services.linking.saving import LinkChange, apply_links

    ref = seed(rig, ContactRole.CUSTOMER, "BEN PIPES")
    send(rig)
    with rig.session_factory.begin() as session:
        apply_links(
            session,
            "sandbox",
            [LinkChange(contact_id(rig, "C2"), ref, "BEN PIPES", LinkMethod.PICKED)],
            actor="test",
        )
    report = send(rig)
    assert report.ok and report.sent == {"invoice": 2, "payment": 1}
    assert rig.package_counts() == EXPECTED


# ----------------------------------------------------------------------------- scenario 5


def test_the_option_is_off_by_default_and_every_contact_goes(rig: SendRig) -> None:
    assert read_setup(rig.store).contacts_with_transactions is False
    report = send(rig)
    # The supplier has no transaction at all, and still goes.
    assert report.sent["supplier"] == 1 and not report.held_back


def test_held_back_contacts_wait_then_go_with_their_transaction(rig: SendRig) -> None:
    state = set_contacts_with_transactions(rig.store, True)
    assert state.contacts_with_transactions
    import_rows(rig, ImportKind.CUSTOMERS, "account_ref,name,town\nC4,Dan Drains,Derby\n")
    predicted = dry_run(rig)
    assert {i.label for i in predicted.held_back} == {
        "Customer “Dan Drains” (C4)",
        "Supplier “Midland Plumbers Merchants” (S1)",
    }
    assert all(
        i.problem and "Waiting for a transaction" in i.problem.reason for i in predicted.held_back
    )

    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    assert report.ok and report.held_back == {"customer": 1, "supplier": 1}
    assert report.sent == {"customer": 3, "invoice": 5, "credit_note": 1, "payment": 3}
    assert "1 customer and 1 supplier wait for a transaction that needs them" in (
        send_outcome(report, "Sandbox").summary
    )
    with rig.session_factory() as session:
        # Waiting with the reason, never a failure.
        assert list_failures(session, "sandbox") == []
        assert held_back_counts(session, "sandbox") == {"customer": 1, "supplier": 1}
        held = session.scalars(select(OutboxEntry).where(OutboxEntry.error_code == HELD_BACK))
        assert {e.state for e in held} == {SendState.WAITING}

    # Dan's first invoice is ready: Dan goes first, then the invoice, in one send.
    import_rows(
        rig,
        ImportKind.INVOICES,
        "number,date,due_date,customer_ref,description,quantity,unit_price,nominal_code,"
        "vat_rate\nINV-6,2026-02-01,2026-03-01,C4,Gutter clear,1,90,SALES-LAB,20\n",
    )
    predicted = dry_run(rig)
    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    assert report.sent == {"customer": 1, "invoice": 1} and report.held_back == {"supplier": 1}
    with rig.session_factory() as session:
        events = [
            e.action
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.record_id == contact_id(rig, "C4"))
                .where(AuditEvent.record_type == "customer")
                .order_by(AuditEvent.id)
            )
        ]
    assert events[:2] == ["held_back", "released"] and "sent" in events

    # Turned off: the supplier is released at once and goes with the next send.
    set_contacts_with_transactions(rig.store, False)
    with rig.session_factory() as session:
        assert held_back_counts(session, "sandbox") == {}
    assert send(rig).sent == {"supplier": 1}
    assert rig.package_counts()["contacts"] == EXPECTED["contacts"] + 1


def test_a_transaction_before_the_cutoff_does_not_release_its_contact(rig: SendRig) -> None:
    from datetime import date

    from app.services.setup.choices import set_cutoff_date

    set_contacts_with_transactions(rig.store, True)
    set_cutoff_date(rig.store, date(2026, 1, 26))
    predicted = dry_run(rig)
    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    # Only Ben's and Cara's payments (26 and 27 January) are on or after the cut-off;
    # Ada's records are all before it, so Ada waits.
    assert report.held_back == {"customer": 1, "supplier": 1}
    assert report.sent == {"customer": 2}
    with rig.session_factory() as session:
        held = session.scalars(
            select(OutboxEntry.record_id).where(OutboxEntry.error_code == HELD_BACK)
        ).all()
    assert contact_id(rig, "C1") in held


# ----------------------------------------------------------------------------- command line


def test_the_command_line_shows_and_sets_the_option_and_confirms_new_contacts(
    rig: SendRig, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from app.cli import EXIT_FAILED, EXIT_OK, EXIT_SETUP, main

    data = str(rig.store.paths.root)

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", data, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = cli("options", "--json")
    assert code == EXIT_OK and json.loads(out) == {"contacts_with_transactions": False}
    code, out, _ = cli("options", "set", "contacts-with-transactions", "on")
    assert code == EXIT_OK and out.startswith("contacts-with-transactions: on")
    assert read_setup(rig.store).contacts_with_transactions

    ben = seed(rig, ContactRole.CUSTOMER, "Ben Pipes")
    seed(rig, ContactRole.CUSTOMER, "Cara-Heating")
    code, out, _ = cli("send", "--dry-run")
    assert code == EXIT_FAILED
    assert f"Customer “Ben Pipes” (C2) → Ben Pipes ({ben})" in out
    assert "Would wait for a transaction that needs them:\n  Supplier" in out
    assert "1 customer may already be in Sandbox (practice package): choose which one" in out

    code, out, _ = cli("send", "--json")
    sent = json.loads(out)
    assert sent["linked_on_send"] == {"customer": 1} and sent["held_back"] == {"supplier": 1}
    code, out, _ = cli("failures", "--json")
    (cara,) = [f for f in json.loads(out)["failures"] if f["code"] == CHOOSE]
    code, _, err = cli("create-new", "999999")
    assert code == EXIT_SETUP and "Nothing confirmed" in err
    code, out, _ = cli("create-new", str(cara["outbox_id"]))
    assert code == EXIT_OK and out.strip() == "1 contact will be created by the next send."
    code, out, _ = cli("send")
    assert code == EXIT_OK, out
    assert rig.package_counts()["contacts"] == 4  # two keyed in, Ada and Cara sent


def test_the_first_pass_writes_its_audit_entries_in_one_statement(rig: SendRig) -> None:
    """However many contacts the first pass links, their audit entries go in one insert."""
    for name in ("Ada Boilers Ltd", "Ben Pipes", "Cara Heating"):
        seed(rig, ContactRole.CUSTOMER, name)
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(rig.store.engine, "before_cursor_execute", note)
    try:
        predicted = dry_run(rig)
    finally:
        event.remove(rig.store.engine, "before_cursor_execute", note)
    assert len(predicted.linked) == 3
    audits = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS")]
    assert len(audits) == 1, audits
    report = send(rig)
    assert_dry_run_equals_send(predicted, report)
    with rig.session_factory() as session:
        linked = session.scalars(
            select(AuditEvent.record_id)
            .where(AuditEvent.action == "linked_on_send")
            .order_by(AuditEvent.id)
        ).all()
    assert linked == [contact_id(rig, ref) for ref in ("C1", "C2", "C3")]
