"""Set look-ups that suit both stores: ``column IN (…)`` on SQLite, ``= ANY(array)`` on
PostgreSQL, and PostgreSQL's ``ANALYZE`` after a bulk load."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, text
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    """Whether ``session`` works on a PostgreSQL store."""
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL ``column = ANY(:values)`` instead: one array
    parameter rather than hundreds, which the driver would otherwise parse and the server
    plan afresh for every query (a visible share of a large import or dry run there)."""
    result: ColumnElement[bool]
    if is_postgresql(session):
        result = column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    else:
        result = column.in_(list(values))
    return result


def chunk_size(session: Session, sqlite: int) -> int:
    """How many values one :func:`one_of` look-up should take: ``sqlite`` there (its limit
    on bound parameters), ten thousand in one array on PostgreSQL, where each statement
    is a round trip to the server."""
    return 10_000 if is_postgresql(session) else sqlite


#: Rows written in one go after which PostgreSQL's statistics are brought up to date.
ANALYZE_AFTER_ROWS = 1_000


def analyze(session: Session, tables: Iterable[str]) -> None:
    """PostgreSQL: refresh the planner's statistics of ``tables`` after a bulk load.

    The server's own autovacuum does so only up to a minute later; until then a table
    filled by one import looks empty or tiny to the planner, which then scans it whole
    for every look-up of the next import or the dry run. The import runs it after its
    commit, in a transaction of its own (a failure here must never undo an import); it
    takes no lock that stops other readers or writers; for a role that does not own a
    table the server skips it with a warning, not an error. SQLite plans by its indexes
    and needs nothing here.
    """
    if is_postgresql(session):
        for table in tables:
            session.execute(text(f'ANALYZE "{table}"'))
