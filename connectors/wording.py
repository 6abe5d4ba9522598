"""How every connector writes dates and amounts in the reasons and fixes it gives a
bookkeeper: UK dates and pounds, the same everywhere."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def uk_date(value: date) -> str:
    """``date(2025, 11, 30)`` → ``"30/11/2025"``."""
    return value.strftime("%d/%m/%Y")


def money(value: Decimal) -> str:
    """``Decimal("-1234.5")`` → ``"-£1,234.50"``."""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"
