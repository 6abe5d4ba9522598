"""Exact money and quantities: every value a column keeps comes back as the same Decimal,
with the column's places, and nothing a column cannot keep is rounded in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from connectors.sql_types import InexactValueError, ScaledDecimal

DIALECT = sqlite.dialect()


@given(units=st.integers(min_value=-(10**15), max_value=10**15), scale=st.sampled_from([2, 4]))
def test_every_kept_value_round_trips_with_its_places(units: int, scale: int) -> None:
    column = ScaledDecimal(scale)
    value = Decimal(units).scaleb(-scale)
    stored = column.process_bind_param(value, DIALECT)
    back = column.process_result_value(stored, DIALECT)
    assert stored == units
    assert back == value and back is not None
    assert back.as_tuple().exponent == -scale  # "12.50", never "12.5"
    # What SQLAlchemy calls for each value read (cached): the same value, the same places.
    processor = column.result_processor(DIALECT, None)
    for _ in range(2):
        read = processor(stored)
        assert read == value and read.as_tuple().exponent == -scale
    assert processor(None) is None


def test_a_value_with_too_many_places_is_refused_not_rounded() -> None:
    with pytest.raises(InexactValueError, match="more than 2 decimal places"):
        ScaledDecimal(2).process_bind_param(Decimal("1.005"), DIALECT)
    with pytest.raises(TypeError, match="never float"):
        ScaledDecimal(2).process_bind_param(1.5, DIALECT)
