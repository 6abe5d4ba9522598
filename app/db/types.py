"""The app store's column types: exact money, quantities and rates, aware timestamps.

The types themselves are in :mod:`connectors.sql_types`, shared with the Sandbox's file;
this module names the scales the app's bookkeeping uses.
"""

from __future__ import annotations

from connectors.sql_types import InexactValueError, ScaledDecimal, UTCDateTime

__all__ = ["InexactValueError", "Money", "Quantity", "Rate", "ScaledDecimal", "UTCDateTime"]


def Money() -> ScaledDecimal:
    """Pounds and pence: two decimal places."""
    return ScaledDecimal(2)


def Quantity() -> ScaledDecimal:
    """Quantities and unit prices: four decimal places (e.g. 1.5 hours at £42.1250)."""
    return ScaledDecimal(4)


def Rate() -> ScaledDecimal:
    """A VAT percentage such as 20.00 or 5.00."""
    return ScaledDecimal(2)
