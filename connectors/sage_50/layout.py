"""Sage 50 Accounts (UK) import file layouts: column order, field sizes and formats.

From Sage's knowledge base ("Customer record data fields you can import", "Supplier record
data fields you can import", "Audit trail transaction data fields you can import"; sources
and the points not verified are in docs/packages/sage-50.md). Every value is checked
against its field before a file is written, so Sage never has to truncate or refuse one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from connectors.errors import Rejected

#: Largest amount Sage takes: 8 digits before the point and 2 after.
AMOUNT_MAX = Decimal("99999999.99")
TAX_CODE = re.compile(r"T(?:[0-9]|[1-9][0-9])")
#: The types this bridge writes. Sage's import refuses SR (allocated receipts), so
#: receipts go in on account (SA) and are allocated in Sage.
SALES_INVOICE, SALES_CREDIT, SALES_RECEIPT_ON_ACCOUNT = "SI", "SC", "SA"
#: The tax code for postings outside the scope of VAT (receipts).
NO_VAT = "T9"


@dataclass(frozen=True)
class Column:
    letter: str
    name: str
    size: int


#: Customer Records and Supplier Records share one layout (columns A–AB).
CONTACT_COLUMNS: tuple[Column, ...] = (
    Column("A", "A/C", 8),
    Column("B", "Name", 60),
    Column("C", "Address Line 1", 60),
    Column("D", "Address Line 2", 60),
    Column("E", "Address Line 3", 60),
    Column("F", "Address Line 4", 60),
    Column("G", "Address Line 5", 60),
    Column("H", "Contact Name", 30),
    Column("I", "Telephone", 30),
    Column("J", "Fax", 30),
    Column("K", "Analysis 1", 30),
    Column("L", "Analysis 2", 30),
    Column("M", "Analysis 3", 30),
    Column("N", "Department", 3),
    Column("O", "VAT Number", 30),
    Column("P", "M.T.D.", 11),
    Column("Q", "Y.T.D.", 11),
    Column("R", "Prior Y.T.D.", 11),
    Column("S", "Credit Limit", 11),
    Column("T", "Trading Terms Text", 30),
    Column("U", "Settlement Due Days", 3),
    Column("V", "Sett. Discount (%)", 11),
    Column("W", "Default Nominal Code", 8),
    Column("X", "Default Tax Code", 3),
    Column("Y", "Trade Contact", 30),
    Column("Z", "Telephone 2", 30),
    Column("AA", "E-mail", 255),
    Column("AB", "WWW", 255),
)

#: Audit Trail Transactions, the standard (not extended) columns A–J.
TRANSACTION_COLUMNS: tuple[Column, ...] = (
    Column("A", "Type", 2),
    Column("B", "Account Reference", 8),
    Column("C", "Nominal A/C Ref", 8),
    Column("D", "Department Code", 3),
    Column("E", "Date", 10),
    Column("F", "Reference", 30),
    Column("G", "Details", 60),
    Column("H", "Net Amount", 11),
    Column("I", "Tax Code", 3),
    Column("J", "Tax Amount", 11),
)


def sage_date(value: date) -> str:
    """``DD/MM/YYYY``, as Sage's import requires."""
    return value.strftime("%d/%m/%Y")


def sage_amount(value: Decimal, *, record: str, field: str) -> str:
    """Two decimal places, no thousands separator; refused past 8+2 digits or below 0."""
    rounded = value.quantize(Decimal("0.01"))
    if rounded != value:
        raise Rejected(
            code="amount_precision",
            field=field,
            reason=f"{record}: {field} {value} has more than 2 decimal places.",
            fix="Round the amount to pence in your job system.",
        )
    if rounded < 0:
        raise Rejected(
            code="negative_amount",
            field=field,
            reason=f"{record}: {field} is {rounded}; Sage 50's import takes only positive "
            "amounts (the transaction type says which side they go).",
            fix="Put the discount or refund on a credit note instead of a negative line.",
        )
    if rounded > AMOUNT_MAX:
        raise Rejected(
            code="amount_too_large",
            field=field,
            reason=f"{record}: {field} {rounded} is over Sage 50's largest amount "
            f"({AMOUNT_MAX}, 8 digits and 2 decimals).",
            fix="Split the document in your job system.",
        )
    return f"{rounded:.2f}"


def check_text(value: str, column: Column, *, record: str, no_commas: bool = False) -> str:
    """``value`` trimmed, or :class:`Rejected` naming the record and the field."""
    text = " ".join(value.split())
    if len(text) > column.size:
        raise Rejected(
            code="too_long",
            field=column.name,
            reason=f"{record}: {column.name} “{text}” is {len(text)} characters; Sage 50 "
            f"keeps only {column.size} and would cut the rest.",
            fix=f"Shorten it to {column.size} characters in your job system.",
        )
    if '"' in text:
        raise Rejected(
            code="quote_in_text",
            field=column.name,
            reason=f"{record}: {column.name} “{text}” contains a double quote, which Sage "
            "50's CSV import reads as the end of the field.",
            fix="Remove the double quote (use a single quote) in your job system.",
        )
    if no_commas and "," in text:
        raise Rejected(
            code="comma_in_text",
            field=column.name,
            reason=f"{record}: {column.name} “{text}” contains a comma; Sage 50's own CSV "
            "reports do not quote it, so the record could not be checked afterwards.",
            fix="Remove the comma from the name in your job system.",
        )
    try:
        text.encode("cp1252")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise Rejected(
            code="character_not_in_sage",
            field=column.name,
            reason=f"{record}: {column.name} “{text}” contains “{bad}”, which Sage 50's "
            "Windows character set cannot hold.",
            fix="Replace that character in your job system.",
        ) from exc
    return text


#: Our contact fields and the Record CSV columns that hold them, both ways (a Record
#: export read into the package's list, an update written back; our third address
#: line shares the second, as on create).
RECORD_COLUMN_OF_FIELD = {
    "address_1": "Address Line 1",
    "address_2": "Address Line 2",
    "town": "Address Line 3",
    "county": "Address Line 4",
    "postcode": "Address Line 5",
    "contact_name": "Contact Name",
    "phone": "Telephone",
    "email": "E-mail",
}


def contact_column(name: str) -> Column:
    """The Customer/Supplier Records column called ``name``."""
    return next(c for c in CONTACT_COLUMNS if c.name == name)


def transaction_column(name: str) -> Column:
    """The Audit Trail Transactions column called ``name``."""
    return next(c for c in TRANSACTION_COLUMNS if c.name == name)
