"""Column types that keep money, quantities and timestamps exact on every database.

SQLite has no exact decimal type (``NUMERIC`` silently becomes a float), so amounts are
stored as whole numbers of their smallest unit: pence for money, ten-thousandths for
quantities and unit prices. PostgreSQL stores the same integers, so no SQLite-only SQL is
needed and sums in SQL stay exact. Timestamps are stored naive-UTC and read back aware.

Both the app's store (:mod:`app.db.types`) and the Sandbox's own file
(:mod:`connectors.sandbox.models`) use these; they live here because connectors never
import the app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class InexactValueError(ValueError):
    """A value has more decimal places than its column keeps."""


class ScaledDecimal(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` stored as an integer count of ``10**-scale`` units.

    A value with more decimal places than ``scale`` is refused rather than rounded: the
    importers round where the bookkeeping rules say so, never the storage layer.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """The Decimal as a whole count of units; refuses floats and values with too
        many places."""
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("money and quantities must be Decimal, never float")
            value = Decimal(value)
        scaled = value.scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise InexactValueError(f"{value} has more than {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """The stored count of units back as a Decimal at this scale."""
        return _decimals(self.scale)(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any]:
        """:meth:`process_result_value` as one call per value read rather than two, and
        a count read before not converted again (rates, quantities and prices repeat):
        a dry run of 100,000 records reads a third of a million of them."""
        convert = _decimals(self.scale)
        inner = self.impl_instance.result_processor(dialect, coltype)
        if inner is None:
            return convert
        return lambda value: convert(inner(value))


@cache
def _decimals(scale: int) -> Callable[[Any], Decimal | None]:
    """Stored counts of ``10**-scale`` units back as Decimals, the latest few thousand
    kept (a Decimal cannot change, so one can be handed out any number of times)."""

    @lru_cache(maxsize=4096)
    def convert(value: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-scale)  # exact: a shift of the exponent

    return convert


class UTCDateTime(TypeDecorator[Any]):
    """A timezone-aware UTC timestamp, stored naive-UTC so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Store an aware datetime as naive UTC; naive ones are refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """The stored naive UTC value back as an aware datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
