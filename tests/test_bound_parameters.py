"""The failure actions and the first-send pass take any number of outbox rows, on an
SQLite built with the old limit of 999 bound parameters a statement (before 3.32) as on
one with 32,766: the ids are looked up a chunk at a time, never in one ``IN`` list, and
each action stays one transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, ContactKind, OutboxEntry, RecordType, SendState
from app.services.sending.failure_actions import ActionRefused, do_not_send, retry
from app.services.sending.first_send_links import (
    CHOOSE,
    HELD_BACK,
    FirstSendPlan,
    HeldBack,
    apply_plan,
    confirm_new_contacts,
)

pytestmark = pytest.mark.both_stores

#: SQLite's default before 3.32.0; the drafts' chunks (900 ids) stay under it.
OLD_LIMIT = 999
#: More outbox rows than fit in one statement under that limit.
MANY = 1_200


@pytest.fixture
def factory(engine: Engine, session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The test's store; on SQLite every connection takes at most ``OLD_LIMIT``
    parameters a statement."""
    if engine.dialect.name == "sqlite":

        def old_limit(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, OLD_LIMIT)

        event.listen(engine, "connect", old_limit)
        engine.dispose()  # connections opened so far have the build's own limit
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert isinstance(raw, sqlite3.Connection)
            assert raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) == OLD_LIMIT
    return session_factory


def add_customers(
    factory: sessionmaker[Session], state: SendState, *, error_code: str = ""
) -> list[int]:
    """``MANY`` customers, each with an outbox row in ``state``; the rows' ids."""
    with factory.begin() as session:
        session.execute(
            insert(Contact),
            [
                {"kind": ContactKind.CUSTOMER, "account_ref": f"C{n:05}", "name": f"Customer {n}"}
                for n in range(MANY)
            ],
        )
        contact_ids = session.scalars(select(Contact.id).order_by(Contact.id)).all()
        session.execute(
            insert(OutboxEntry),
            [
                {
                    "package": "sandbox",
                    "record_type": RecordType.CUSTOMER,
                    "record_id": contact_id,
                    "state": state,
                    "error_code": error_code,
                    "idempotency_key": f"key-{contact_id}",
                }
                for contact_id in contact_ids
            ],
        )
        return list(session.scalars(select(OutboxEntry.id).order_by(OutboxEntry.id)))


def states(factory: sessionmaker[Session]) -> dict[tuple[SendState, str], int]:
    with factory() as session:
        return {
            (state, code): n
            for state, code, n in session.execute(
                select(OutboxEntry.state, OutboxEntry.error_code, func.count()).group_by(
                    OutboxEntry.state, OutboxEntry.error_code
                )
            )
        }


def test_retry_and_do_not_send_take_more_rows_than_one_statement_holds(
    factory: sessionmaker[Session],
) -> None:
    ids = add_customers(factory, SendState.FAILED, error_code="bad_field")
    with factory.begin() as session:
        assert retry(session, ids, actor="test") == MANY
    assert states(factory) == {(SendState.WAITING, ""): MANY}
    with factory.begin() as session:
        assert do_not_send(session, ids, actor="test", include_dependants=False) == MANY
    assert states(factory) == {(SendState.DO_NOT_SEND, ""): MANY}


def test_an_unknown_id_among_many_is_named_and_nothing_changes(
    factory: sessionmaker[Session],
) -> None:
    ids = add_customers(factory, SendState.FAILED, error_code="bad_field")
    missing = max(ids) + 1
    with (
        pytest.raises(ActionRefused, match=f"no outbox rows with ids \\[{missing}\\]"),
        factory.begin() as session,
    ):
        retry(session, [*ids, missing], actor="test")
    assert states(factory) == {(SendState.FAILED, "bad_field"): MANY}


def test_a_refusal_in_the_last_chunk_undoes_the_whole_action(
    factory: sessionmaker[Session],
) -> None:
    ids = add_customers(factory, SendState.FAILED, error_code="bad_field")
    with factory.begin() as session:
        last = session.get_one(OutboxEntry, ids[-1])
        last.state, last.error_code = SendState.SUCCESSFUL, ""
    with (
        pytest.raises(ActionRefused, match="is successful; only failed or do-not-send"),
        factory.begin() as session,
    ):
        retry(session, ids, actor="test")
    assert states(factory) == {
        (SendState.FAILED, "bad_field"): MANY - 1,
        (SendState.SUCCESSFUL, ""): 1,
    }


def test_retrying_one_row_brings_back_more_dependants_than_one_statement_holds(
    factory: sessionmaker[Session],
) -> None:
    ids = add_customers(factory, SendState.FAILED, error_code="blocked")
    root = ids[0]
    with factory.begin() as session:
        for entry in session.scalars(select(OutboxEntry).where(OutboxEntry.id != root)):
            entry.blocked_by_id = root
    with factory.begin() as session:
        assert retry(session, [root], actor="test") == MANY
    assert states(factory) == {(SendState.WAITING, ""): MANY}


def test_the_first_send_pass_applies_a_plan_of_more_rows_than_one_statement_holds(
    factory: sessionmaker[Session],
) -> None:
    add_customers(factory, SendState.WAITING)
    with factory() as session:
        plan = FirstSendPlan(
            held=[
                HeldBack(entry.id, entry.record_type, entry.record_id, "", "waits")
                for entry in session.scalars(select(OutboxEntry))
            ]
        )
    with factory.begin() as session:
        applied = apply_plan(session, "sandbox", plan, actor="test")
    assert applied.held == {"customer": MANY}
    assert states(factory) == {(SendState.WAITING, HELD_BACK): MANY}


def test_create_as_new_takes_more_rows_than_one_statement_holds(
    factory: sessionmaker[Session],
) -> None:
    ids = add_customers(factory, SendState.FAILED, error_code=CHOOSE)
    with factory.begin() as session:
        assert confirm_new_contacts(session, "sandbox", ids, actor="test") == MANY
    assert states(factory) == {(SendState.WAITING, ""): MANY}
