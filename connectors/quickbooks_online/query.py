"""QuickBooks Online's query language, the little of it Ledgerlink writes.

``select * from Customer where DisplayName = 'O\\'Neill Ltd' startposition 1 maxresults
1000``: conditions joined by ``and`` (the language has no ``or``), string literals in
single quotes with ``\\'`` and ``\\\\`` escaped, and paging by ``startposition`` (1-based)
and ``maxresults`` (at most 1,000).
"""

from __future__ import annotations

from collections.abc import Iterable

#: The largest page the query endpoint returns.
MAX_RESULTS = 1000


def literal(value: str) -> str:
    """A string literal: ``O'Neill`` → ``'O\\'Neill'``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def equals(field: str, value: str) -> str:
    """``field = 'value'``, with the value quoted."""
    return f"{field} = {literal(value)}"


def one_of(field: str, values: Iterable[str]) -> str:
    """``Id in ('1', '2')``."""
    return f"{field} in ({', '.join(literal(v) for v in values)})"


def select(
    entity: str,
    *conditions: str,
    start: int = 1,
    max_results: int = MAX_RESULTS,
) -> str:
    """One page of ``entity`` matching every condition."""
    where = f" where {' and '.join(conditions)}" if conditions else ""
    return f"select * from {entity}{where} startposition {start} maxresults {max_results}"
