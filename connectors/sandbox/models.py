"""The Sandbox package's own tables, in its own SQLite file.

This is deliberately separate from :mod:`app.db.models`: the Sandbox plays the part of an
accounting package, so it must not share anything with Ledgerlink's store. Money is kept
exact as whole pence (quantities and unit prices as ten-thousandths), never floats.

Record ids follow one pattern per kind: ``SBX-C000042`` (contact), ``SBX-D000007``
(invoice or credit note) and ``SBX-P000003`` (payment). The number is the row's primary
key; the tables use SQLite ``AUTOINCREMENT`` so an id is never handed out twice in one
file, not even after :meth:`SandboxStore.reset <connectors.sandbox.store.SandboxStore.reset>`.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from connectors.contract import AccountType, ContactRole, DocumentType
from connectors.sql_types import ScaledDecimal, UTCDateTime

#: Bump with every change to these tables; a file with a higher number is refused.
SCHEMA_VERSION = 1

CONTACT_PREFIX = "SBX-C"
DOCUMENT_PREFIX = "SBX-D"
PAYMENT_PREFIX = "SBX-P"
COMPANY_PREFIX = "SBX-ORG-"

PENNY = Decimal("0.01")


def format_ref(prefix: str, pk: int) -> str:
    """``format_ref("SBX-C", 42)`` → ``"SBX-C000042"``."""
    return f"{prefix}{pk:06d}"


@cache
def _ref_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"(\d{6,})", re.IGNORECASE)


#: SQLite's largest row id (a signed 64-bit integer).
_LARGEST_ROW_ID = 2**63 - 1


def parse_ref(prefix: str, ref: str) -> int | None:
    """The row number inside a reference of this kind, or ``None`` if it is not one.

    Capitals and surrounding spaces are ignored (``" sbx-c000042 "`` reads as 42).
    """
    match = _ref_pattern(prefix).fullmatch(ref.strip())
    if match is None:
        return None
    number = int(match.group(1))
    # Past SQLite's largest row id no row can have it; looking it up would overflow.
    return number if number <= _LARGEST_ROW_ID else None


def name_key(name: str) -> str:
    """What contact names are compared by: capitals and surrounding spaces ignored."""
    return name.strip().casefold()


def utcnow() -> datetime:
    """The time now, timezone-aware in UTC (what :class:`UTCDateTime` stores)."""
    return datetime.now(UTC)


def _money() -> ScaledDecimal:
    return ScaledDecimal(2)


def _quantity() -> ScaledDecimal:
    return ScaledDecimal(4)


def _enum(enum_cls: type[StrEnum]) -> Enum:
    return Enum(
        enum_cls,
        native_enum=False,
        length=20,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class SandboxBase(DeclarativeBase):
    """Declarative base of the Sandbox file (never mixed with the app's metadata)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class SchemaRow(SandboxBase):
    """The single row saying which layout this file has."""

    __tablename__ = "sbx_schema"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CompanyRow(SandboxBase):
    """The one company this Sandbox file holds."""

    __tablename__ = "sbx_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    lock_date: Mapped[date | None]


class AccountRow(SandboxBase):
    __tablename__ = "sbx_accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[AccountType] = mapped_column(_enum(AccountType))


class TaxRateRow(SandboxBase):
    __tablename__ = "sbx_tax_rates"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))


class ContactRow(SandboxBase):
    __tablename__ = "sbx_contacts"
    __table_args__ = (
        Index("ix_sbx_contacts_role_name", "role", "name"),
        UniqueConstraint("role", "our_ref"),
        {"sqlite_autoincrement": True},
    )

    pk: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[ContactRole] = mapped_column(_enum(ContactRole))
    name: Mapped[str] = mapped_column(String(200))
    #: ``name_key(name)``: unique, so two contacts can never differ only by case/spaces.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    address_1: Mapped[str] = mapped_column(String(200), default="")
    address_2: Mapped[str] = mapped_column(String(200), default="")
    address_3: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    #: Ledgerlink's account reference for the contact (``None`` when typed in by hand).
    our_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def ref(self) -> str:
        """The contact's reference, as connectors hand it out."""
        return format_ref(CONTACT_PREFIX, self.pk)


class DocumentRow(SandboxBase):
    __tablename__ = "sbx_documents"
    __table_args__ = (UniqueConstraint("type", "number"), {"sqlite_autoincrement": True})

    pk: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[DocumentType] = mapped_column(_enum(DocumentType))
    number: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date]
    due_date: Mapped[dt.date | None]
    contact_pk: Mapped[int] = mapped_column(ForeignKey("sbx_contacts.pk"), index=True)
    reference: Mapped[str] = mapped_column(String(200), default="")
    net_total: Mapped[Decimal] = mapped_column(_money())
    vat_total: Mapped[Decimal] = mapped_column(_money())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[ContactRow] = relationship()
    lines: Mapped[list[LineRow]] = relationship(
        back_populates="document", order_by="LineRow.line_no", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        """The document's reference, as connectors hand it out."""
        return format_ref(DOCUMENT_PREFIX, self.pk)

    @property
    def gross_total(self) -> Decimal:
        """Net plus VAT."""
        return self.net_total + self.vat_total


class LineRow(SandboxBase):
    __tablename__ = "sbx_document_lines"
    __table_args__ = (UniqueConstraint("document_pk", "line_no"),)

    pk: Mapped[int] = mapped_column(primary_key=True)
    document_pk: Mapped[int] = mapped_column(ForeignKey("sbx_documents.pk", ondelete="CASCADE"))
    line_no: Mapped[int]
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(_quantity())
    unit_price: Mapped[Decimal] = mapped_column(_quantity())
    net_amount: Mapped[Decimal] = mapped_column(_money())
    account_id: Mapped[str] = mapped_column(ForeignKey("sbx_accounts.id"))
    tax_rate_id: Mapped[str] = mapped_column(ForeignKey("sbx_tax_rates.id"))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    vat_amount: Mapped[Decimal] = mapped_column(_money())

    document: Mapped[DocumentRow] = relationship(back_populates="lines")


class PaymentRow(SandboxBase):
    __tablename__ = "sbx_payments"
    __table_args__ = ({"sqlite_autoincrement": True},)

    pk: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date]
    contact_pk: Mapped[int] = mapped_column(ForeignKey("sbx_contacts.pk"), index=True)
    amount: Mapped[Decimal] = mapped_column(_money())
    bank_account_id: Mapped[str] = mapped_column(ForeignKey("sbx_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[ContactRow] = relationship()
    allocations: Mapped[list[AllocationRow]] = relationship(
        back_populates="payment", order_by="AllocationRow.pk", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        """The payment's reference, as connectors hand it out."""
        return format_ref(PAYMENT_PREFIX, self.pk)


class AllocationRow(SandboxBase):
    """Part of a payment set against one invoice."""

    __tablename__ = "sbx_allocations"

    pk: Mapped[int] = mapped_column(primary_key=True)
    payment_pk: Mapped[int] = mapped_column(ForeignKey("sbx_payments.pk", ondelete="CASCADE"))
    document_pk: Mapped[int] = mapped_column(ForeignKey("sbx_documents.pk"), index=True)
    amount: Mapped[Decimal] = mapped_column(_money())

    payment: Mapped[PaymentRow] = relationship(back_populates="allocations")
    document: Mapped[DocumentRow] = relationship()


class CreditAllocationRow(SandboxBase):
    """Part of a credit note set against one invoice of the same customer."""

    __tablename__ = "sbx_credit_allocations"

    pk: Mapped[int] = mapped_column(primary_key=True)
    credit_note_pk: Mapped[int] = mapped_column(ForeignKey("sbx_documents.pk"), index=True)
    invoice_pk: Mapped[int] = mapped_column(ForeignKey("sbx_documents.pk"), index=True)
    amount: Mapped[Decimal] = mapped_column(_money())


class IdempotencyRow(SandboxBase):
    """A create's idempotency key and what it created, so a replay creates nothing."""

    __tablename__ = "sbx_idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(20))
    record_ref: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
