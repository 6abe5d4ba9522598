"""Our nominal accounts: adding, renaming, removing, listing with mappings, matching."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import AccountKind, AccountMapping, NominalAccount
from app.services.setup.connections import connector_for
from app.services.setup.mapping import MappingError
from app.services.setup.nominal_accounts import (
    NominalAccountError,
    add_account,
    compatible,
    list_rows,
    load_page,
    map_account,
    remove_account,
    rename_account,
    suggest_matches,
)
from connectors.catalogue import SAGE_50
from connectors.contract import AccountType, RemoteAccount
from connectors.sandbox import SandboxConnector


@pytest.fixture
def sandbox(data_paths: DataPaths) -> Iterator[SandboxConnector]:
    connector = connector_for(data_paths, "sandbox")
    assert isinstance(connector, SandboxConnector)
    with connector:
        yield connector


def test_add_a_second_sales_account(session: Session) -> None:
    account = add_account(
        session, AccountKind.SALES, " sales-call ", "Sales –  call-outs", actor="test"
    )
    assert (account.code, account.name, account.kind) == (
        "SALES-CALL",
        "Sales – call-outs",
        AccountKind.SALES,
    )
    codes = [r.code for r in list_rows(session, "sandbox") if r.kind is AccountKind.SALES]
    assert codes == ["SALES", "SALES-CALL", "SALES-LAB", "SALES-MAT"]


@pytest.mark.parametrize(
    ("kind", "code", "name", "message"),
    [
        (AccountKind.SALES, "", "Sales – call-outs", "Give the new sales account a code"),
        (AccountKind.BANK, "SAVINGS ACCOUNT", "Savings", "no spaces"),
        (AccountKind.BANK, "X" * 33, "Savings", "at most 32"),
        (AccountKind.EXPENSE, "sales", "Other", "already used by “Sales”, a sales account"),
        (AccountKind.EXPENSE, "EXP-2", "  ", "Give the expense account a name"),
        (AccountKind.SALES, "S2", "sales – LABOUR", "already a sales account called “Sales"),
        (AccountKind.BANK, "B2", "N" * 101, "at most 100"),
    ],
)
def test_bad_accounts_are_refused_with_the_field_named(
    session: Session, kind: AccountKind, code: str, name: str, message: str
) -> None:
    before = session.scalars(select(NominalAccount.code)).all()
    with pytest.raises(NominalAccountError, match=message):
        add_account(session, kind, code, name, actor="test")
    assert session.scalars(select(NominalAccount.code)).all() == before


def test_the_same_name_is_fine_for_a_different_kind(session: Session) -> None:
    add_account(session, AccountKind.EXPENSE, "EXP-SALES", "Sales", actor="test")


def test_rename_and_remove(session: Session) -> None:
    add_account(session, AccountKind.BANK, "SAVINGS", "Savings", actor="test")
    rename_account(session, "savings", "Business savings", actor="test")
    assert {r.code: r.name for r in list_rows(session, "sandbox")}["SAVINGS"] == "Business savings"
    with pytest.raises(NominalAccountError, match="already a bank account called"):
        rename_account(session, "SAVINGS", "bank current account", actor="test")
    remove_account(session, "SAVINGS", actor="test")
    assert "SAVINGS" not in {r.code for r in list_rows(session, "sandbox")}
    with pytest.raises(NominalAccountError, match="standard accounts"):
        remove_account(session, "SALES-LAB", actor="test")
    with pytest.raises(NominalAccountError, match="no nominal account with code “NOPE”"):
        remove_account(session, "NOPE", actor="test")


def test_an_account_in_use_cannot_be_removed(data_paths: DataPaths) -> None:
    from app.services.setup.demo import prepare_demo

    store = prepare_demo(data_paths.demo())
    try:
        with store.session_factory() as session:
            add_account(session, AccountKind.SALES, "SALES-X", "Sales – extra", actor="test")
            account = session.scalars(
                select(NominalAccount).where(NominalAccount.code == "SALES-X")
            ).one()
            # Point one demo line at it, as an import would.
            from app.db.models import DocumentLine

            line = session.scalars(select(DocumentLine).limit(1)).one()
            line.nominal_account_id = account.id
            session.flush()
            with pytest.raises(NominalAccountError, match="used by 1 invoice or credit note"):
                remove_account(session, "SALES-X", actor="test")
    finally:
        store.close()


def test_mapping_through_the_page_service(
    session_factory: sessionmaker[Session], sandbox: SandboxConnector
) -> None:
    data = load_page(session_factory, sandbox)
    assert data.remote_accounts is not None
    assert [a.code for a in compatible(AccountKind.BANK, data.remote_accounts)] == ["1200", "1210"]
    rows = map_account(
        session_factory, sandbox.info, data.remote_accounts, "bank", "1210", actor="test"
    )
    bank = next(r for r in rows if r.code == "BANK")
    assert (bank.remote_code, bank.remote_name, bank.mapped) == (
        "1210",
        "Bank deposit account",
        True,
    )
    with pytest.raises(MappingError, match="can only be matched to a bank account"):
        map_account(
            session_factory, sandbox.info, data.remote_accounts, "BANK", "4000", actor="test"
        )
    with pytest.raises(MappingError, match="no account with code or id '9999'"):
        map_account(
            session_factory, sandbox.info, data.remote_accounts, "SALES", "9999", actor="test"
        )
    with session_factory() as session:
        mapping = session.scalars(select(AccountMapping)).one()
        assert mapping.remote_code == "1210"


def test_packages_that_cannot_list_accounts_take_a_typed_code(
    session_factory: sessionmaker[Session],
) -> None:
    typed_only = replace(SAGE_50, can_list_accounts=False)
    rows = map_account(session_factory, typed_only, None, "SALES", " 4000 ", actor="test")
    sales = next(r for r in rows if r.code == "SALES")
    assert (sales.remote_id, sales.remote_code) == ("4000", "4000")
    with pytest.raises(NominalAccountError, match="Type the Sage 50 Accounts account code"):
        map_account(session_factory, typed_only, None, "BANK", "  ", actor="test")


def test_unmapped_accounts_used_by_waiting_records_block(data_paths: DataPaths) -> None:
    from app.services.setup.demo import prepare_demo

    store = prepare_demo(data_paths.demo())
    try:
        with connector_for(store.paths, "sandbox") as connector:
            data = load_page(store.session_factory, connector)
            assert {r.code for r in data.blocking} == {"SALES", "SALES-LAB", "SALES-MAT", "BANK"}
            assert all(r.unmapped_uses > 0 for r in data.blocking)
            assert data.remote_accounts is not None
            for code, remote in (("SALES", "4000"), ("SALES-LAB", "4010")):
                map_account(
                    store.session_factory,
                    connector.info,
                    data.remote_accounts,
                    code,
                    remote,
                    actor="test",
                )
            data = load_page(store.session_factory, connector)
            assert {r.code for r in data.blocking} == {"SALES-MAT", "BANK"}
    finally:
        store.close()


def test_suggested_matches_are_same_name_and_right_type(session: Session) -> None:
    rows = list_rows(session, "sandbox")
    remote = [
        RemoteAccount("a", "4000", "Sales", AccountType.SALES),
        RemoteAccount("b", "4010", "SALES – labour", AccountType.SALES),
        RemoteAccount("c", "1200", "Bank current account", AccountType.BANK),
        RemoteAccount("d", "8000", "Bank current account", AccountType.EXPENSE),
        RemoteAccount("e", "4020", "Sales – materials", AccountType.SALES),
        RemoteAccount("f", "4021", "Sales – materials", AccountType.SALES),
    ]
    suggestions = {code: account.id for code, account in suggest_matches(rows, remote).items()}
    # Two package accounts share the materials name: no guess is made.
    assert suggestions == {"SALES": "a", "SALES-LAB": "b", "BANK": "c"}


def test_compatible_lists_only_the_right_type() -> None:
    remote = [
        RemoteAccount("x", "1200", "Bank", AccountType.BANK),
        RemoteAccount("y", "4000", "Sales", AccountType.SALES),
        RemoteAccount("z", "1100", "Debtors", AccountType.OTHER),
    ]
    assert [a.id for a in compatible(AccountKind.SALES, remote)] == ["y"]
    assert [a.id for a in compatible(AccountKind.EXPENSE, remote)] == []
