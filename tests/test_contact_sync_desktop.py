"""The contact sync through the desktop bridges (QuickBooks Desktop, Sage 50): a write is
handed over, shown as waiting (never handed over twice) and confirmed or failed later on
the package's answer.

QuickBooks Desktop: ``CustomerMod``/``VendorMod`` with the ``ListID`` and ``EditSequence``
last read, carried by the Web Connector over a real socket to the QuickBooks stand-in; a
stale ``EditSequence`` (3200) fails that row with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from app.db.models import AuditEvent, Contact, PendingContactUpdate
from app.services.linking.sync import (
    Direction,
    SyncOutcome,
    SyncRow,
    apply_sync,
    switch_sync,
    sync_rows,
)
from app.services.linking.sync_handover import CONFIRMED, FAILED
from app.services.sage50.reconcile import reconcile
from connectors.contract import ContactRole, ContactUpdate, HandedOver
from connectors.errors import Rejected
from connectors.quickbooks_desktop import lists
from connectors.sage_50 import files
from tests.qbwc_fixtures import QbwcRig, qbwc_rig
from tests.sage50_fixtures import SageRig, build_sage_rig
from tests.test_qbxml import XSD


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[QbwcRig]:
    """Everything sent and confirmed (so every contact is linked), sync switched on."""
    with qbwc_rig(tmp_path / "data") as made:
        assert made.poll().progress[-1] == 100  # reads QuickBooks' lists
        made.map_accounts()
        made.send()
        made.poll()
        with made.connector() as connector:
            assert switch_sync(made.store.session_factory, connector, True, actor="test") == 4
        yield made


def change_ours(rig: QbwcRig, account_ref: str, **values: str) -> None:
    with rig.store.session_factory.begin() as session:
        contact = session.scalars(select(Contact).where(Contact.account_ref == account_ref)).one()
        for name, value in values.items():
            setattr(contact, name, value)


def rows(rig: QbwcRig) -> dict[str, SyncRow]:
    with rig.connector() as connector:
        return {r.account_ref: r for r in sync_rows(rig.store.session_factory, connector)}


def apply_offered(rig: QbwcRig, chosen: list[SyncRow]) -> object:
    with rig.connector() as connector:
        return apply_sync(
            rig.store.session_factory,
            connector,
            chosen,
            {r.contact_id: Direction.OURS_TO_PACKAGE for r in chosen},
            actor="test",
        )


def updates(rig: QbwcRig) -> list[PendingContactUpdate]:
    with rig.store.session_factory() as session:
        found = list(session.scalars(select(PendingContactUpdate)))
        session.expunge_all()
        return found


def test_a_customer_mod_is_handed_over_then_confirmed_on_the_next_poll(rig: QbwcRig) -> None:
    change_ours(rig, "C1", town="Market Harborough", phone="0116 496 0000")
    change_ours(rig, "S1", email="sales@midland.example")
    before = rows(rig)
    assert set(before) == {"C1", "S1"}
    outcome = apply_offered(rig, list(before.values()))
    assert outcome.handed_over == 2 and outcome.to_package == 0  # type: ignore[attr-defined]
    waiting = rows(rig)
    assert waiting["C1"].waiting and "Web Connector" in waiting["C1"].waiting
    again = apply_offered(rig, list(waiting.values()))
    assert again.handed_over == 0 and again.left == 2  # type: ignore[attr-defined]
    assert len(updates(rig)) == 2  # never handed over twice

    run = rig.poll()

    assert "2 contacts updated in QuickBooks" in run.closed
    mods = [r for r in run.requests if "ModRq" in r]
    assert len(mods) == 1 and "<CustomerMod>" in mods[0] and "<VendorMod>" in mods[0]
    assert "<EditSequence>1764748800</EditSequence>" in mods[0]
    ada = next(e for e in rig.qb.entities if e.name == "Ada Boilers Ltd")
    assert ada.details["City"] == "Market Harborough" and ada.details["Phone"] == "0116 496 0000"
    assert ada.edit_sequence == "1764748801"
    supplier = next(e for e in rig.qb.entities if e.kind == "vendor")
    assert supplier.details["Email"] == "sales@midland.example"
    assert {u.state for u in updates(rig)} == {CONFIRMED}
    assert rows(rig) == {}  # both sides agree now, and the new EditSequence is kept
    with rig.connector() as connector:
        assert connector._read().customers[0].edit_sequence == "1764748801"
    with rig.store.session_factory() as session:
        confirmed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact_synced")
        ).all()
    assert len(confirmed) == 2
    # A second change goes with the new EditSequence.
    change_ours(rig, "C1", postcode="LE16 7AA")
    apply_offered(rig, list(rows(rig).values()))
    rig.poll()
    assert ada.details["PostalCode"] == "LE16 7AA"


def test_a_stale_edit_sequence_fails_that_row_with_the_reason(rig: QbwcRig) -> None:
    change_ours(rig, "C1", email="accounts@adaboilers.example")
    change_ours(rig, "C2", town="Hinckley")
    apply_offered(rig, list(rows(rig).values()))
    # Someone saves Ada Boilers in QuickBooks before the Web Connector runs.
    rig.qb.change_in_quickbooks("Ada Boilers Ltd", Phone="0116 496 0999")

    run = rig.poll()

    by_ref = {u.remote_ref: u for u in updates(rig)}
    assert by_ref["Ben Pipes"].state == CONFIRMED  # the other row went on
    ada = by_ref["Ada Boilers Ltd"]
    assert ada.state == FAILED and "3200" in ada.reason and "changed in QuickBooks" in ada.reason
    assert "1 record refused" in run.closed
    entity = next(e for e in rig.qb.entities if e.name == "Ada Boilers Ltd")
    assert entity.details.get("Email") == "ada@example.com"  # nothing was overwritten
    # QuickBooks' lists are read again at once, in the same poll: both sides' changes
    # show, for the user to choose, with why our last values did not go.
    assert "lists read" in run.closed
    row = rows(rig)["C1"]
    assert "3200" in row.refused and not row.waiting
    assert row.conflict and row.offered is Direction.LEAVE
    assert row.theirs["phone"] == "0116 496 0999" and row.ours["email"].startswith("accounts@")


@pytest.mark.skipif(not XSD, reason="set LEDGERLINK_QBXML_XSD to Intuit's qbxmlops130.xsd")
def test_the_mod_requests_are_valid_against_intuits_schema(rig: QbwcRig) -> None:
    schema = etree.XMLSchema(etree.parse(XSD))
    change_ours(rig, "C1", town="Oadby", address_2="", phone="")
    change_ours(rig, "S1", contact_name="Sam Smith")
    apply_offered(rig, list(rows(rig).values()))
    run = rig.poll()
    (request,) = [r for r in run.requests if "ModRq" in r]
    document = etree.fromstring(request.split("?>", 2)[2].encode())
    assert schema.validate(document), schema.error_log.last_error


# ----------------------------------------------------------------------------- Sage 50
# A row of a Customer Records import file, where a blank does not overwrite; confirmed
# when a reconciliation finds the new details in Sage's Record CSV export.


def record_csv(path: Path, *accounts: dict[str, str]) -> Path:
    """A Customer or Supplier Record CSV as Sage 50 exports it (cp1252, CRLF)."""
    import csv
    import io

    from connectors.sage_50.layout import CONTACT_COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for account in accounts:
        writer.writerow([account.get(column.name, "") for column in CONTACT_COLUMNS])
    path.write_bytes(out.getvalue().encode("cp1252"))
    return path


ADA = {
    "A/C": "C1",
    "Name": "Ada Boilers Ltd",
    "Address Line 1": "1 Mill Lane",
    "Address Line 3": "Leicester",
    "Address Line 5": "LE1 1AA",
    "E-mail": "ada@example.com",
}
BEN = {
    "A/C": "C2",
    "Name": "Ben Pipes",
    "Address Line 1": "2 Mill Lane",
    "Address Line 3": "Leicester",
    "Address Line 5": "LE1 1AB",
    "E-mail": "ben@example.com",
}
CARA = {
    "A/C": "C3",
    "Name": "Cara Heating",
    "Address Line 1": "3 Mill Lane",
    "Address Line 3": "Leicester",
    "Address Line 5": "LE1 1AC",
}


@pytest.fixture
def sage(tmp_path: Path) -> Iterator[SageRig]:
    """Everything sent as import files, imported and confirmed by a reconciliation (so
    every customer is linked), sync switched on."""
    made = build_sage_rig(tmp_path)
    made.send()
    found = reconcile(
        made.session_factory,
        [record_csv(tmp_path / "CUSTOMER.CSV", ADA, BEN, CARA)],
        roles={tmp_path / "CUSTOMER.CSV": ContactRole.CUSTOMER},
        actor="test",
    )
    assert len(found.confirmed) == 3
    with made.connector() as connector:
        assert switch_sync(made.session_factory, connector, True, actor="test") == 3
    yield made
    made.store.close()


def sage_rows(rig: SageRig) -> dict[str, SyncRow]:
    with rig.connector() as connector:
        return {r.account_ref: r for r in sync_rows(rig.session_factory, connector)}


def sage_write_ours(rig: SageRig, changes: dict[str, dict[str, str]]) -> SyncOutcome:
    """Change our customers (``changes`` by reference), then sync every row ours →
    package."""
    with rig.session_factory.begin() as session:
        for ref, values in changes.items():
            contact = session.scalars(select(Contact).where(Contact.account_ref == ref)).one()
            for name, value in values.items():
                setattr(contact, name, value)
    rows_now = sage_rows(rig)
    with rig.connector() as connector:
        return apply_sync(
            rig.session_factory,
            connector,
            list(rows_now.values()),
            {r.contact_id: Direction.OURS_TO_PACKAGE for r in rows_now.values()},
            actor="test",
        )


def test_sage_50_writes_a_records_row_and_confirms_it_from_sages_export(
    sage: SageRig, tmp_path: Path
) -> None:
    outcome = sage_write_ours(
        sage,
        {
            "C1": {"town": "Market Harborough", "phone": "0116 496 0000"},
            "C2": {"email": ""},  # Sage's import cannot clear a field
        },
    )
    assert outcome.handed_over == 1 and outcome.to_package == 0
    ((label, why),) = outcome.failed
    assert "Ben Pipes" in label and "cannot clear" in why and "ben@example.com" in why
    (written,) = [p for p in sage.written() if p.name.endswith("customer-records.csv")][-1:]
    row = written.read_bytes().decode("cp1252").splitlines()[-1].split(",")
    assert row[:8] == [
        "C1",
        "Ada Boilers Ltd",
        "1 Mill Lane",
        "",
        "Market Harborough",
        "",
        "LE1 1AA",
        "",
    ]
    assert row[8] == "0116 496 0000" and row[26] == "ada@example.com"
    waiting = sage_rows(sage)["C1"]
    assert "File › Import, Customer Records" in waiting.waiting

    # Sage's export before the file is imported: still waiting, listed as not imported.
    before = reconcile(
        sage.session_factory,
        [record_csv(tmp_path / "BEFORE.CSV", ADA, BEN, CARA)],
        roles={tmp_path / "BEFORE.CSV": ContactRole.CUSTOMER},
        actor="test",
    )
    assert [(f.record_type, f.reference) for f in before.missing] == [("customer details", "C1")]
    assert sage_rows(sage)["C1"].waiting

    imported = {**ADA, "Address Line 3": "Market Harborough", "Telephone": "0116 496 0000"}
    after = reconcile(
        sage.session_factory,
        [record_csv(tmp_path / "AFTER.CSV", imported, BEN, CARA)],
        roles={tmp_path / "AFTER.CSV": ContactRole.CUSTOMER},
        actor="test",
    )
    assert ("customer details", "C1") in [(f.record_type, f.reference) for f in after.confirmed]
    assert after.missing == []
    assert "C1" not in sage_rows(sage)  # agreed now


def test_sage_50_writes_a_run_of_updates_into_its_records_file_once(
    sage: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many accounts a sync writes, each Records file is rewritten once; a row
    Sage could not take fails with its reason and the others go on."""
    written: list[Path] = []
    write_whole = files.write_whole

    def counted(path: Path, data: bytes) -> None:
        written.append(path)
        write_whole(path, data)

    monkeypatch.setattr(files, "write_whole", counted)
    outcome = sage_write_ours(
        sage,
        {
            "C1": {"town": "Market Harborough"},
            "C2": {"email": ""},  # refused: Sage's import cannot clear a field
            "C3": {"phone": "0116 496 0333"},
        },
    )
    assert outcome.handed_over == 2
    ((label, why),) = outcome.failed
    assert "Ben Pipes" in label and "cannot clear" in why
    (path,) = written
    lines = path.read_bytes().decode("cp1252").splitlines()
    assert [line.split(",")[0] for line in lines] == ["C1", "C3"]
    waiting = sage_rows(sage)
    assert f"{path.name}, line 1:" in waiting["C1"].waiting
    assert f"{path.name}, line 2:" in waiting["C3"].waiting


def test_quickbooks_desktop_reads_its_lists_once_for_a_run_of_updates(
    rig: QbwcRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lists file is read once for every contact a sync writes; an unknown contact
    is refused with its reason and the others go on."""
    loads: list[Path] = []
    load = lists.load

    def counted(data_dir: Path) -> lists.QuickBooksLists:
        loads.append(data_dir)
        return load(data_dir)

    monkeypatch.setattr(lists, "load", counted)
    with rig.connector() as connector:
        answers = list(
            connector.update_contacts(
                [
                    ("Ada Boilers Ltd", ContactUpdate(town="Oadby")),
                    ("No Such Plumber", ContactUpdate(town="Oadby")),
                    ("Ben Pipes", ContactUpdate(town="Hinckley")),
                ]
            )
        )
    assert len(loads) == 1
    assert [type(a) for a in answers] == [HandedOver, Rejected, HandedOver]
    refused = answers[1]
    assert isinstance(refused, Rejected) and "No Such Plumber" in refused.reason


def test_a_records_file_sage_50_cannot_be_given_fails_its_rows_with_the_reason(
    sage: SageRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Records file that cannot be written (a full disk, say) fails its rows in plain
    words, none shown as waiting; the sync goes again once the folder takes files."""
    write_whole = files.write_whole

    def full(path: Path, data: bytes) -> None:
        raise files.WriteFailed(path, OSError(28, "No space left on device"), in_place=False)

    monkeypatch.setattr(files, "write_whole", full)
    outcome = sage_write_ours(
        sage, {"C1": {"town": "Market Harborough"}, "C3": {"phone": "0116 496 0333"}}
    )
    assert outcome.handed_over == 0 and len(outcome.failed) == 2
    assert all("No space left on device" in why for _, why in outcome.failed)
    assert not any(row.waiting for row in sage_rows(sage).values())

    monkeypatch.setattr(files, "write_whole", write_whole)
    again = sage_write_ours(sage, {})  # the same rows, nothing changed since
    assert again.handed_over == 2 and not again.failed
