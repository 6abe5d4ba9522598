"""Keeping linked contacts' details in step (the sync wizard's service), on the Sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from app.cli import EXIT_OK, EXIT_SETUP, main
from app.db.models import AuditEvent, Contact, ContactKind, ContactSync, Link, LinkMethod
from app.services.linking.saving import LinkChange, apply_links
from app.services.linking.sync import (
    Direction,
    SyncNotAllowed,
    SyncRow,
    apply_sync,
    record_agreement,
    set_sync_enabled,
    sync_rows,
)
from app.services.linking.workbench import prepare_workbench, save_links
from connectors.contract import ContactDraft, ContactRole, ContactUpdate
from connectors.sandbox import SandboxConnector
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    """Our four contacts sent (so linked), one more of ours never linked, sync on."""
    rig = build_rig(tmp_path / "data", memory_keyring)
    rig.send()
    with rig.session_factory.begin() as session:
        session.add(Contact(kind=ContactKind.CUSTOMER, account_ref="C9", name="Never Linked"))
        set_sync_enabled(session, "sandbox", True, actor="test")
    yield rig
    rig.store.close()


def ours(rig: SendRig, ref: str) -> Contact:
    with rig.session_factory() as session:
        contact = session.scalars(select(Contact).where(Contact.account_ref == ref)).one()
        session.expunge(contact)
        return contact


def link_of(rig: SendRig, ref: str) -> str:
    with rig.session_factory() as session:
        return session.scalars(
            select(Link.remote_ref).join(Contact).where(Contact.account_ref == ref)
        ).one()


def change_ours(rig: SendRig, ref: str, **values: str) -> None:
    with rig.session_factory.begin() as session:
        contact = session.scalars(select(Contact).where(Contact.account_ref == ref)).one()
        for name, value in values.items():
            setattr(contact, name, value)


def change_theirs(rig: SendRig, connector: SandboxConnector, ref: str, **values: str) -> None:
    remote = connector.get_contact(link_of(rig, ref))
    assert remote is not None
    current = {name: getattr(remote, name) for name in ContactUpdate.__dataclass_fields__}
    connector.store.update_contact(remote.ref, ContactUpdate(**{**current, **values}))


def rows_by_ref(rig: SendRig, connector: SandboxConnector) -> dict[str, SyncRow]:
    return {row.account_ref: row for row in sync_rows(rig.session_factory, connector)}


def agree_all(rig: SendRig, connector: SandboxConnector) -> None:
    """As switching sync on does: the values that agree now are remembered."""
    assert record_agreement(rig.session_factory, connector, actor="test") >= 4


def test_only_linked_contacts_that_differ_are_listed_and_a_first_difference_is_a_conflict(
    rig: SendRig,
) -> None:
    with rig.connector() as connector:
        assert sync_rows(rig.session_factory, connector) == []  # sent as they are
        change_ours(rig, "C1", town="Market Harborough")
        change_ours(rig, "C9", town="Nowhere")  # never linked: never listed
        rows = rows_by_ref(rig, connector)
    assert set(rows) == {"C1"}
    row = rows["C1"]
    assert row.differing == ("town",)
    assert (row.ours["town"], row.theirs["town"]) == ("Market Harborough", "Leicester")
    # No agreed values yet: nobody can tell which side is right, so the user chooses.
    assert row.conflict and row.offered is Direction.LEAVE


def test_one_side_changed_is_offered_that_way_and_applied_exactly(rig: SendRig) -> None:
    with rig.connector() as connector:
        agree_all(rig, connector)
        change_ours(rig, "C1", email="accounts@adaboilers.example", phone="0116 496 0000")
        change_theirs(rig, connector, "C2", postcode="LE2 7ZZ")
        rows = rows_by_ref(rig, connector)
        assert rows["C1"].offered is Direction.OURS_TO_PACKAGE and not rows["C1"].conflict
        assert rows["C2"].offered is Direction.PACKAGE_TO_OURS and not rows["C2"].conflict
        outcome = apply_sync(
            rig.session_factory,
            connector,
            rows.values(),
            {r.contact_id: r.offered for r in rows.values()},
            actor="test",
        )
        assert (outcome.to_package, outcome.to_ours, outcome.failed) == (1, 1, [])
        remote = connector.get_contact(link_of(rig, "C1"))
        assert remote is not None
        assert (remote.email, remote.phone) == ("accounts@adaboilers.example", "0116 496 0000")
        assert remote.name == "Ada Boilers Ltd"
        assert ours(rig, "C2").postcode == "LE2 7ZZ"
        assert sync_rows(rig.session_factory, connector) == []
    with rig.session_factory() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact_synced")
        ).all()
    assert {json.loads(e.detail)["direction"] for e in events} >= {
        "ours_to_package",
        "package_to_ours",
    }


def test_a_conflict_is_never_resolved_without_the_user(rig: SendRig) -> None:
    with rig.connector() as connector:
        agree_all(rig, connector)
        change_ours(rig, "C3", town="Oadby")
        change_theirs(rig, connector, "C3", town="Wigston")
        (row,) = sync_rows(rig.session_factory, connector)
        assert row.conflict and row.changed_ours and row.changed_theirs
        # Applying "what is offered" leaves it alone.
        outcome = apply_sync(
            rig.session_factory, connector, [row], {row.contact_id: row.offered}, actor="test"
        )
        assert outcome.left == 1
        assert ours(rig, "C3").town == "Oadby"
        remote = connector.get_contact(link_of(rig, "C3"))
        assert remote is not None and remote.town == "Wigston"
        # The user's explicit choice goes.
        apply_sync(
            rig.session_factory,
            connector,
            [row],
            {row.contact_id: Direction.PACKAGE_TO_OURS},
            actor="test",
        )
        assert ours(rig, "C3").town == "Wigston"


def test_a_link_to_a_differently_named_record_is_kept_and_shown(rig: SendRig) -> None:
    with rig.connector() as connector:
        other = connector.store.add_contact(
            ContactDraft(role=ContactRole.CUSTOMER, our_ref="", name="Company B", town="Derby")
        )
        with rig.session_factory.begin() as session:
            contact = session.scalars(select(Contact).where(Contact.account_ref == "C9")).one()
            apply_links(
                session,
                "sandbox",
                [LinkChange(contact.id, other.ref, other.name, LinkMethod.TYPED)],
                actor="test",
            )
        (row,) = sync_rows(rig.session_factory, connector)
        assert (row.our_name, row.their_name) == ("Never Linked", "Company B")
        assert row.names_differ
        apply_sync(
            rig.session_factory,
            connector,
            [row],
            {row.contact_id: Direction.OURS_TO_PACKAGE},
            actor="test",
        )
        remote = connector.get_contact(other.ref)
        assert remote is not None and remote.name == "Company B" and remote.town == ""


def test_a_refused_row_fails_with_its_reason_and_the_others_go_on(rig: SendRig) -> None:
    with rig.connector() as connector:
        agree_all(rig, connector)
        change_ours(rig, "C1", email="not an email")
        change_ours(rig, "C2", town="Hinckley")
        rows = sync_rows(rig.session_factory, connector)
        outcome = apply_sync(
            rig.session_factory,
            connector,
            rows,
            {r.contact_id: Direction.OURS_TO_PACKAGE for r in rows},
            actor="test",
        )
        assert outcome.to_package == 1
        ((label, why),) = outcome.failed
        assert "Ada Boilers Ltd" in label and "not an email" in why
        remote = connector.get_contact(link_of(rig, "C2"))
        assert remote is not None and remote.town == "Hinckley"


def test_sync_is_opt_in_per_package(rig: SendRig) -> None:
    with rig.session_factory.begin() as session:
        set_sync_enabled(session, "sandbox", False, actor="test")
    change_ours(rig, "C1", town="Lutterworth")
    with rig.connector() as connector:
        rows = sync_rows(rig.session_factory, connector)
        with pytest.raises(SyncNotAllowed, match="switch it on first"):
            apply_sync(
                rig.session_factory,
                connector,
                rows,
                {rows[0].contact_id: Direction.OURS_TO_PACKAGE},
                actor="test",
            )


def test_the_command_line_lists_and_applies_only_with_a_direction(
    rig: SendRig, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(rig.store.paths.root)
    assert main(["--data-dir", data, "sync", "enable"]) == EXIT_OK
    assert "4 linked contacts agree with it now" in capsys.readouterr().out
    change_ours(rig, "C1", town="Melton Mowbray")
    assert main(["--data-dir", data, "sync", "--json"]) == EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert listed["enabled"] is True
    assert [r["account_ref"] for r in listed["rows"]] == ["C1"]
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", data, "sync", "apply"])
    assert usage.value.code == EXIT_SETUP
    capsys.readouterr()
    code = main(["--data-dir", data, "sync", "apply", "--direction", "ours-to-package"])
    assert code == EXIT_OK
    assert "Written to Sandbox (practice package): 1" in capsys.readouterr().out
    with rig.connector() as connector:
        remote = connector.get_contact(link_of(rig, "C1"))
        assert remote is not None and remote.town == "Melton Mowbray"
    code = main(
        ["--data-dir", data, "sync", "apply", "--direction", "ours-to-package", "--ref", "NOPE"]
    )
    assert code == EXIT_SETUP


def test_an_auto_link_on_exact_name_is_synced(rig: SendRig) -> None:
    with rig.connector() as connector:
        theirs = connector.store.add_contact(
            ContactDraft(role=ContactRole.CUSTOMER, our_ref="", name="Never Linked", town="Rugby")
        )
    with rig.session_factory.begin() as session:
        never = session.scalars(select(Contact).where(Contact.account_ref == "C9")).one()
        never.town = "Rugby"
    book = prepare_workbench(rig.session_factory, rig.connector, ContactRole.CUSTOMER)
    states, _ = book.exact_match_states()
    book.apply(states)
    save_links(rig.session_factory, book.info, book.save_plan())
    with rig.session_factory() as session:
        link = session.scalars(select(Link).join(Contact).where(Contact.account_ref == "C9")).one()
    assert (link.remote_ref, link.method) == (theirs.ref, LinkMethod.AUTO_EXACT)
    with rig.connector() as connector:
        agree_all(rig, connector)
        change_theirs(rig, connector, "C9", postcode="CV21 1AA")
        (row,) = sync_rows(rig.session_factory, connector)
        assert row.account_ref == "C9" and row.offered is Direction.PACKAGE_TO_OURS
        apply_sync(
            rig.session_factory, connector, [row], {row.contact_id: row.offered}, actor="test"
        )
    assert ours(rig, "C9").postcode == "CV21 1AA"


def test_agreeing_every_row_looks_up_the_agreed_values_once(rig: SendRig) -> None:
    """Remembering what agrees reads the agreed values in one query, not one per contact;
    run twice (first adding, then updating), every linked contact ends up agreed."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    with rig.connector() as connector:
        event.listen(rig.store.engine, "before_cursor_execute", note)
        try:
            for _ in range(2):
                seen.clear()
                assert record_agreement(rig.session_factory, connector, actor="test") == 4
                lookups = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
                assert sum("FROM contact_sync" in s for s in lookups) == 1, lookups
        finally:
            event.remove(rig.store.engine, "before_cursor_execute", note)
    with rig.session_factory() as session:
        agreed = session.scalars(select(ContactSync).where(ContactSync.package == "sandbox"))
        assert {state.contact_id for state in agreed} == set(
            session.scalars(select(Link.contact_id).where(Link.package == "sandbox"))
        )
