"""Checking and converting one CSV value: text, dates, money, quantities, VAT rates.

Every problem is worded for a bookkeeper: what the value is, and what to write instead.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Final

from sqlalchemy import String, inspect

from app.db.models import PENNY, Base, PaymentMethod, round_pennies
from app.db.models import line_net as line_net  # the one rule; importers take it from here
from app.services.importing.csv_reader import CsvRow, CsvTable
from app.services.importing.report import ImportReport

UK_VAT_RATES: Final = (Decimal(20), Decimal(5), Decimal(0))
_MAX_WHOLE_DIGITS = 12  # £999,999,999,999.99 is more than any invoice we will see

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_UK_DATE_SHORT_YEAR = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$")
_NUMBER = re.compile(r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<fraction>\d*))?$")
_DECIMAL_COMMA = re.compile(r"^-?£?\s*\d+,\d{1,2}$")
#: What an email address must look like (one @, a dot after it, no spaces).
EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadValue(ValueError):
    """A value that cannot be used, with the reason in words."""


def column_length(model: type[Base], column: str) -> int:
    """The most characters a string column of ``model`` holds."""
    column_type = inspect(model).columns[column].type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


def money_text(amount: Decimal) -> str:
    """``Decimal("-1234.5")`` → ``"-£1,234.50"``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount).quantize(PENNY):,}"


def percent_text(rate: Decimal) -> str:
    """``Decimal("20.00")`` → ``"20%"``."""
    return f"{rate.normalize():f}%"


def line_vat(net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on a line's net amount at ``rate`` percent, rounded half-up to the penny."""
    return round_pennies(net * rate / 100)


@lru_cache(maxsize=4096)  # a file repeats the same few hundred dates
def parse_date(text: str) -> date:
    """``YYYY-MM-DD``, ``DD/MM/YYYY`` or ``D/M/YYYY``."""
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _UK_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    elif _UK_DATE_SHORT_YEAR.match(text):
        raise BadValue(f'"{text}" has a two-digit year; write the year in full, like 31/01/2026')
    else:
        raise BadValue(f'"{text}" is not a date; write it as YYYY-MM-DD or DD/MM/YYYY')
    try:
        value = date(year, month, day)
    except ValueError:
        raise BadValue(f'"{text}" is not a real date') from None
    if year < 1900:
        raise BadValue(f'"{text}" is not a plausible date; check the year')
    return value


@lru_cache(maxsize=4096)  # and the same prices and quantities
def parse_decimal(text: str, *, places: int, pound_sign: bool, noun: str, example: str) -> Decimal:
    """A number such as ``1,234.5`` (``£`` allowed when ``pound_sign``), negative allowed."""
    rest = text.strip()
    negative = False
    if rest.startswith("-"):
        negative, rest = True, rest[1:].lstrip()
    if pound_sign and rest.startswith("£"):
        rest = rest[1:].lstrip()
        if not negative and rest.startswith("-"):
            negative, rest = True, rest[1:].lstrip()
    match = _NUMBER.match(rest)
    if not match or not any(char.isdigit() for char in rest):
        if _DECIMAL_COMMA.match(text.strip()):
            raise BadValue(
                f'"{text}" is not {noun}; use a full stop before the decimals, like {example}'
            )
        raise BadValue(f'"{text}" is not {noun}; write it like {example}')
    whole = match.group("whole").replace(",", "") or "0"
    fraction = match.group("fraction") or ""
    if len(fraction) > places:
        raise BadValue(f'"{text}" has more than {places} decimal places')
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise BadValue(f'"{text}" is too large')
    value = Decimal(f"{whole}.{fraction or '0'}")
    return -value if negative else value


def parse_money(text: str) -> Decimal:
    """Pounds and pence: ``1234.50``, ``1,234.50`` or ``£1,234.50``; at most 2 decimals."""
    return parse_decimal(
        text, places=2, pound_sign=True, noun="an amount of money", example="1234.50"
    )


def parse_vat_rate(text: str) -> Decimal:
    """A UK VAT rate as a percentage: 20, 5 or 0 (``20%`` and ``20.00`` are fine)."""
    number = text.removesuffix("%").strip()
    try:
        rate = parse_decimal(number, places=2, pound_sign=False, noun="", example="")
    except BadValue:
        raise BadValue(f'"{text}" is not a percentage; use 20, 5 or 0') from None
    if rate not in UK_VAT_RATES:
        raise BadValue(f'"{text}" is not a UK VAT rate; use 20, 5 or 0')
    return rate


def parse_method(text: str) -> PaymentMethod:
    """A payment method; case, spaces and hyphens are ignored (``Bank transfer``)."""
    key = re.sub(r"[\s\-]+", "_", text.strip()).casefold()
    try:
        return PaymentMethod(key)
    except ValueError:
        choices = ", ".join(method.value for method in PaymentMethod)
        raise BadValue(f'"{text}" is not a payment method; use one of {choices}') from None


def check_email(text: str) -> None:
    """Raise :class:`BadValue` unless ``text`` looks like an email address
    (something@domain.tld)."""
    if not EMAIL.match(text):
        raise BadValue(f'"{text}" is not an email address')


class CellReader:
    """Reads one row's values, recording each problem against its line and column.

    Every reader method returns None when the value is bad (the problem is then in the
    report) and also when an optional value is blank; :attr:`failed` tells them apart.
    """

    def __init__(self, table: CsvTable, row: CsvRow, report: ImportReport) -> None:
        self.table = table
        self.row = row
        self.report = report
        self.failed: set[str] = set()

    @property
    def ok(self) -> bool:
        """Whether every value read so far was usable."""
        return not self.failed

    @property
    def line(self) -> int:
        """This row's line in the file (the header is line 1)."""
        return self.row.line

    def raw(self, column: str) -> str:
        """The value of ``column`` exactly as read, unchecked; '' when blank or absent."""
        return self.row.get(column)

    def fail(self, column: str, message: str) -> None:
        """Record a problem with ``column`` (canonical name) on this row."""
        self.failed.add(column)
        self.report.error(self.row.line, self.table.column(column), message)

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        """Trimmed text ('' when blank or the column is absent)."""
        value = self.row.get(column)
        if not value:
            if required:
                self.fail(column, "is blank; it is required")
            return ""
        if max_length is not None and len(value) > max_length:
            self.fail(column, f"is {len(value)} characters long; at most {max_length} are allowed")
        return value

    def date(self, column: str, *, required: bool = False) -> date | None:
        """The date in ``column`` (see :func:`parse_date`), or None when blank or bad."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return parse_date(value)
        except BadValue as exc:
            self.fail(column, str(exc))
            return None

    def money(
        self, column: str, *, required: bool = False, positive: bool = False
    ) -> Decimal | None:
        """The amount in ``column`` in pounds and pence, or None when blank or bad; with
        ``positive`` a zero or negative amount is a problem too."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            amount = parse_money(value)
        except BadValue as exc:
            self.fail(column, str(exc))
            return None
        if positive and amount <= 0:
            self.fail(column, f'"{value}" must be more than 0')
            return None
        return amount

    def quantity(self, column: str, *, required: bool = False) -> Decimal | None:
        """A quantity with up to 4 decimal places (1.5 hours)."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return parse_decimal(value, places=4, pound_sign=False, noun="a number", example="1.5")
        except BadValue as exc:
            self.fail(column, str(exc))
            return None

    def unit_price(self, column: str, *, required: bool = False) -> Decimal | None:
        """A price net of VAT with up to 4 decimal places; ``£`` allowed."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return parse_decimal(value, places=4, pound_sign=True, noun="a price", example="42.50")
        except BadValue as exc:
            self.fail(column, str(exc))
            return None

    def vat_rate(self, column: str, *, required: bool = False) -> Decimal | None:
        """The VAT rate percentage in ``column`` (20, 5 or 0), or None when blank or bad."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return parse_vat_rate(value)
        except BadValue as exc:
            self.fail(column, str(exc))
            return None

    def method(self, column: str, *, required: bool = False) -> PaymentMethod | None:
        """The payment method in ``column``, or None when blank or not one we know."""
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return parse_method(value)
        except BadValue as exc:
            self.fail(column, str(exc))
            return None
