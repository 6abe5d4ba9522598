"""Set look-ups: ids cut into ranges and lists cover every id exactly once, and a range
or a list selects exactly the ids it was given, on both stores."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.lookups import (
    LONGEST_RUN,
    RUN_FROM,
    SQLITE_CHUNK,
    among,
    batches,
    chunked,
    id_chunks,
    is_postgresql,
)
from app.db.models import Contact, ContactKind

#: Ids in clumps: single ones, short runs, and runs longer than RUN_FROM.
clumps = st.lists(
    st.tuples(st.integers(1, 5_000), st.sampled_from([1, 2, 5, RUN_FROM - 1, RUN_FROM, 70])),
    max_size=40,
).map(lambda pairs: {start + k for start, length in pairs for k in range(length)})


@given(ids=clumps, size=st.sampled_from([1, 3, 900]))
def test_every_id_is_in_exactly_one_chunk_as_a_run_or_a_short_list(
    ids: set[int], size: int
) -> None:
    chunks = list(id_chunks(ids, size))
    flat = [i for chunk in chunks for i in chunk]
    assert sorted(flat) == sorted(ids)
    for chunk in chunks:
        assert chunk == sorted(chunk)
        consecutive = chunk[-1] - chunk[0] == len(chunk) - 1
        assert (consecutive and RUN_FROM <= len(chunk) <= LONGEST_RUN) or len(chunk) <= size


def test_a_long_run_is_cut_at_the_longest_range() -> None:
    chunks = list(id_chunks(range(1, 2 * LONGEST_RUN + 6), 900))
    assert [len(c) for c in chunks] == [LONGEST_RUN, LONGEST_RUN, 5]


@pytest.mark.both_stores
def test_ranges_and_lists_select_exactly_their_ids(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        session.add_all(
            Contact(id=n, kind=ContactKind.CUSTOMER, account_ref=f"C{n}", name=f"Customer {n}")
            for n in [*range(1, 81), *range(100, 140, 3)]
        )
    # Wanted: a run over a gap in the table, scattered ids, ids with no row.
    wanted = {*range(40, 119), 121, 127, 500}
    with session_factory() as session:
        found: list[int] = []
        for chunk in id_chunks(wanted, 4):
            found += session.scalars(select(Contact.id).where(among(session, Contact.id, chunk)))
    assert sorted(found) == [*range(40, 81), 100, 103, 106, 109, 112, 115, 118, 121, 127]


#: Ids in any order with repeats: clumps that may overlap, shuffled.
shuffled_with_repeats = (
    st.lists(
        st.tuples(st.integers(1, 300), st.sampled_from([1, 2, 3, RUN_FROM - 1, RUN_FROM, 70])),
        max_size=8,
    )
    .map(lambda pairs: [start + k for start, length in pairs for k in range(length)])
    .flatmap(lambda ids: st.permutations(ids))
)


def test_repeats_never_make_a_range_of_ids_not_asked_for() -> None:
    assert list(id_chunks([1, 1, 3], 5)) == [[1, 3]]
    assert list(id_chunks([5, 3, 5, 4, 7, 7, 9], 5)) == [[3, 4, 5, 7, 9]]
    assert list(id_chunks([*range(1, RUN_FROM + 1), 1], 900)) == [list(range(1, RUN_FROM + 1))]


@pytest.mark.both_stores
def test_any_ids_select_exactly_the_ids_asked_for(
    session_factory: sessionmaker[Session],
) -> None:
    """For any list, with repeats and in any order: through :func:`id_chunks` or straight
    to :func:`among`, the rows selected are those of the ids asked for, none more."""
    stored = {*range(1, 401)} - {150, 151, 250}
    with session_factory.begin() as session:
        session.add_all(
            Contact(id=n, kind=ContactKind.CUSTOMER, account_ref=f"C{n}", name=f"Customer {n}")
            for n in sorted(stored)
        )

    with session_factory() as session:

        def selected(ids: list[int]) -> set[int]:
            return set(session.scalars(select(Contact.id).where(among(session, Contact.id, ids))))

        @given(ids=shuffled_with_repeats, size=st.sampled_from([1, 3, 5, 900]))
        def check(ids: list[int], size: int) -> None:
            wanted = set(ids) & stored
            chunks = list(id_chunks(ids, size))
            assert sorted(i for chunk in chunks for i in chunk) == sorted(set(ids))
            assert set().union(*map(selected, chunks)) == wanted
            if ids:
                assert selected(ids) == wanted

        check()
        assert selected([1, 1, 3]) == {1, 3}
        assert selected([3, 1, 5]) == {1, 3, 5}


@given(values=st.lists(st.integers()), size=st.integers(1, 50))
def test_chunked_keeps_every_value_in_order_in_lists_of_at_most_size(
    values: list[int], size: int
) -> None:
    chunks = list(chunked(values, size))
    assert [v for chunk in chunks for v in chunk] == values
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    assert all(len(chunk) == size for chunk in chunks[:-1])


@pytest.mark.both_stores
def test_batches_fit_sqlites_parameter_limit_and_take_large_arrays_on_postgresql(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        sizes = [len(batch) for batch in batches(session, range(25_000))]
        expected = 10_000 if is_postgresql(session) else SQLITE_CHUNK
        assert sizes[0] == expected and sum(sizes) == 25_000
        assert SQLITE_CHUNK < 999  # SQLite's limit on bound parameters before 3.32
