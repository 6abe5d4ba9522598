"""Set look-ups that suit both stores: ``column IN (…)`` on SQLite, ``= ANY(array)`` on
PostgreSQL, a range for a run of consecutive ids, and PostgreSQL's ``ANALYZE`` after a
bulk load."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

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


#: How many values one ``IN (...)`` list takes on SQLite: well inside its limit on bound
#: parameters (999 before SQLite 3.32), leaving room for a query's other parameters.
SQLITE_CHUNK = 900

T = TypeVar("T")


def chunk_size(session: Session, sqlite: int = SQLITE_CHUNK) -> int:
    """How many values one :func:`one_of` look-up should take: ``sqlite`` there (its limit
    on bound parameters), ten thousand in one array on PostgreSQL, where each statement
    is a round trip to the server."""
    return 10_000 if is_postgresql(session) else sqlite


def chunked(values: Iterable[T], size: int = SQLITE_CHUNK) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``, in order."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def batches(session: Session, values: Iterable[T], sqlite: int = SQLITE_CHUNK) -> Iterator[list[T]]:
    """``values`` in lists for one :func:`one_of` look-up each: ``sqlite`` at a time on
    SQLite, many more at a time on PostgreSQL (see :func:`chunk_size`)."""
    return chunked(values, chunk_size(session, sqlite))


#: Consecutive ids from this many on are looked up as one range (:func:`id_chunks`).
RUN_FROM = 32
#: The most ids one range look-up covers.
LONGEST_RUN = 10_000


def id_chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    """``ids`` (duplicates dropped) in ascending order, cut up for :func:`among`: each run
    of at least :data:`RUN_FROM` consecutive ids on its own (at most :data:`LONGEST_RUN`),
    the others in lists of at most ``size``.

    Records imported together have consecutive ids, so a large send or dry run reads
    most of its rows by a few ranges rather than by lists of hundreds of ids, which
    SQLite's driver binds and its planner looks up one at a time.
    """
    ordered = sorted(set(ids))
    total = len(ordered)
    scattered: list[int] = []
    start = 0
    while start < total:
        stop = _run_end(ordered, start, min(total, start + LONGEST_RUN))
        if stop - start >= RUN_FROM:
            yield ordered[start:stop]
        else:
            scattered += ordered[start:stop]
            if len(scattered) >= size:
                yield scattered[:size]
                del scattered[:size]
        start = stop
    while scattered:
        yield scattered[:size]
        del scattered[:size]


def _run_end(ordered: Sequence[int], start: int, stop: int) -> int:
    """Where the run of consecutive values from ``ordered[start]`` ends (at most
    ``stop``): ``ordered`` is sorted and distinct, so ``value - position`` stays the same
    along a run and grows after it, and a binary search finds its end."""
    base = ordered[start] - start
    if start + 1 >= stop or ordered[start + 1] - (start + 1) != base:
        return start + 1
    low, high = start + 2, stop
    while low < high:
        middle = (low + high) // 2
        if ordered[middle] - middle == base:
            low = middle + 1
        else:
            high = middle
    return low


def among(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, in any order and with any repeats: ``BETWEEN`` the
    lowest and highest when the ids are exactly every value between them (as
    :func:`id_chunks` gives a run), else :func:`one_of`."""
    if len(ids) > 1:
        low, high = min(ids), max(ids)
        # n distinct ids spanning exactly n values are every value of that span.
        if high - low == len(ids) - 1 and len(set(ids)) == len(ids):
            result: ColumnElement[bool] = column.between(low, high)
            return result
    return one_of(session, column, ids)


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
