"""Failures grouped by their true cause: each cause once, held-back records under it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.services.sending.causes import Cause, FailedRecord, cause_lines, group_causes
from app.services.sending.failures import failure_causes
from app.services.sending.preflight import Preflight
from connectors.contract import ContactDraft, ContactRole
from connectors.wording import a_or_an, count, plural, when
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig

UNMAPPED = "Our nominal account “Sales” (SALES) is not matched to an account in Xero."


def unmapped(outbox_id: int, record_type: str = "invoice") -> FailedRecord:
    return FailedRecord(
        outbox_id,
        record_type,
        f"Invoice INV-{outbox_id}",
        "unmapped_account",
        "nominal_code",
        UNMAPPED,
        "Open Nominal accounts and choose the Xero account for SALES.",
        subject="SALES",
    )


def blocked(outbox_id: int, by: int, record_type: str = "payment") -> FailedRecord:
    return FailedRecord(
        outbox_id,
        record_type,
        f"Payment PAY-{outbox_id}",
        "blocked",
        "invoice_ref",
        f"Record {by} has not reached Xero yet (failed).",
        f"Fix record {by} first; this record is sent straight after it.",
        blocked_by=by,
    )


def duplicate(outbox_id: int, role: str = "customer") -> FailedRecord:
    return FailedRecord(
        outbox_id,
        role,
        f"Customer “Name {outbox_id}” (C{outbox_id})",
        "would_duplicate",
        "name",
        f"Xero already has a contact with exactly this name (X-{outbox_id}).",
        "Link this record to the existing contact on the Link page instead of creating it.",
    )


def test_one_unmapped_account_is_one_cause_with_its_held_back_records() -> None:
    records = [unmapped(1), unmapped(2), unmapped(3), blocked(10, by=1), blocked(11, by=10)]

    (cause,) = group_causes(records, "Xero")

    assert cause.title == UNMAPPED
    assert [r.outbox_id for r in cause.records] == [1, 2, 3]
    assert [r.outbox_id for r in cause.held_back] == [10, 11]
    assert cause.summary() == "3 invoices; holds back 2 payments"
    assert cause.command == "ledgerlink map SALES CODE"
    assert cause.fix_page == "nominal-accounts"


def test_contacts_the_package_already_holds_are_one_cause_per_role() -> None:
    records = [
        duplicate(1),
        duplicate(2),
        duplicate(3, "supplier"),
        blocked(20, by=2, record_type="invoice"),
    ]

    causes = group_causes(records, "Xero")

    assert [c.title for c in causes] == [
        "2 customers are already in Xero under the same name",
        "1 supplier is already in Xero under the same name",
    ]
    assert causes[0].held_back[0].outbox_id == 20
    assert causes[0].command == "ledgerlink --page link-customers"
    assert causes[1].command == "ledgerlink --page link-suppliers"


def test_distinct_problems_stay_distinct_and_the_biggest_comes_first() -> None:
    other = FailedRecord(5, "invoice", "Invoice INV-5", "locked_period", "date", "A", "B")
    lonely = blocked(30, by=999)  # held back by a record that is not failing itself
    causes = group_causes([other, unmapped(1), unmapped(2), lonely], "Xero")

    assert [c.code for c in causes] == ["unmapped_account", "locked_period", "blocked"]
    assert all(c.records for c in causes)
    assert sum(c.size for c in causes) == 4


def test_wording_counts_and_plurals() -> None:
    assert count(1, "credit note") == "1 credit note"
    assert count(1503, "record") == "1,503 records"
    assert plural("company", 2) == "companies"
    assert (a_or_an("invoice"), a_or_an("credit note")) == ("an invoice", "a credit note")
    lines = cause_lines(group_causes([unmapped(1), unmapped(2)], "Xero"), command_line=True)
    assert lines[0] == "2 records from 1 cause:"
    assert "`ledgerlink map SALES CODE`" in lines[3]
    window = cause_lines(group_causes([unmapped(1)], "Xero"), command_line=False)
    assert "ledgerlink map" not in "\n".join(window)


@pytest.fixture
def unmapped_rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring, map_accounts=False)
    yield rig
    rig.store.close()


def test_dry_run_and_failures_after_the_send_show_the_same_causes(
    unmapped_rig: SendRig,
) -> None:
    rig = unmapped_rig
    # A Sandbox supplier of that name: not a customer to link on the first send, but the
    # Sandbox's names are unique across both, so the customer cannot be created.
    with rig.connector() as connector:
        connector.store.add_contact(
            ContactDraft(role=ContactRole.SUPPLIER, our_ref="", name="Ben Pipes")
        )
        predicted = Preflight(rig.session_factory, connector).run().causes("Sandbox")

    rig.send()
    with rig.session_factory() as session:
        found = failure_causes(session, "sandbox", "Sandbox")

    def shape(causes: list[Cause]) -> dict[str, tuple[int, int]]:
        return {c.title: (len(c.records), len(c.held_back)) for c in causes}

    # Ben Pipes is already in the package; the accounts are unmapped: each cause once,
    # whether predicted or met, and no held-back record is a cause of its own.
    codes = {c.code for c in predicted}
    assert codes == {"would_duplicate", "unmapped_account"}
    assert all(c.code != "blocked" for c in predicted)
    titles = [c.title for c in predicted if c.code == "unmapped_account"]
    assert len(titles) == len(set(titles))
    assert sum(c.size for c in predicted) == sum(c.size for c in found)
    assert len(found) == len(predicted)
    assert [c.title for c in found] == [c.title for c in predicted]
    assert shape(found) == shape(predicted)
    assert shape(found)["1 customer is already in Sandbox under the same name"] == (1, 3)


def test_moments_read_as_a_person_would() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    moment = now - timedelta(minutes=5, microseconds=123456)
    local = moment.astimezone()
    assert when(moment, now) == f"today at {local:%H:%M}"
    assert when(now - timedelta(days=1), now).startswith("yesterday at ")
    assert (
        when(now - timedelta(days=30), now)
        == f"{(now - timedelta(days=30)).astimezone():%d/%m/%Y at %H:%M}"
    )
    assert when(None) == "never"
    assert "." not in when(moment, now)
