"""The typed ORM: the job system's records and the integration's own state.

Job-system records (contacts, documents, payments) are what we send. Integration state
(settings, mappings, links, the outbox and the audit history) is what Ledgerlink knows
about sending them. Every schema change here needs an Alembic migration in
``app/migrations/versions``; ``tests/test_migrations.py`` fails when they drift apart.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.db.enums import (
    DELIVERED_STATES as DELIVERED_STATES,
)
from app.db.enums import (
    SENT_STATES as SENT_STATES,
)
from app.db.enums import (
    AccountKind as AccountKind,
)
from app.db.enums import (  # the models' enums, as they were always imported from here
    ContactKind as ContactKind,
)
from app.db.enums import (
    DocumentKind as DocumentKind,
)
from app.db.enums import (
    LinkMethod as LinkMethod,
)
from app.db.enums import (
    PaymentMethod as PaymentMethod,
)
from app.db.enums import (
    RecordType as RecordType,
)
from app.db.enums import (
    SendState as SendState,
)
from app.db.enums import (
    Situation as Situation,
)
from app.db.types import Money, Quantity, Rate, UTCDateTime

PENNY = Decimal("0.01")


def round_pennies(amount: Decimal) -> Decimal:
    """Half-up to the penny, HMRC's usual rounding."""
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's net amount: quantity × unit price, rounded half-up to the penny. The one
    rule for it: the import, the stored line and the drafts sent all use it."""
    return round_pennies(quantity * unit_price)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can alter them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _enum(enum_cls: type[StrEnum], length: int = 20) -> Enum:
    """Store an enum as its lowercase value in a plain string column (portable)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


# --------------------------------------------------------------------------- job records


class Contact(Base):
    """A customer or supplier of the job system."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("kind", "account_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind))
    account_ref: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    address_1: Mapped[str] = mapped_column(String(200), default="")
    address_2: Mapped[str] = mapped_column(String(200), default="")
    address_3: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def record_type(self) -> RecordType:
        """The outbox's record type for this contact (customer or supplier)."""
        return RecordType(self.kind.value)


class NominalAccount(Base):
    """One of our own Sales, Bank or Expense accounts (more than one of each is allowed)."""

    __tablename__ = "nominal_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(default=False)


class Document(Base):
    """An invoice or credit note with its lines."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    number: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date]
    due_date: Mapped[dt.date | None]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100), default="")
    original_invoice_number: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()
    lines: Mapped[list[DocumentLine]] = relationship(
        back_populates="document",
        order_by="DocumentLine.line_no",
        cascade="all, delete-orphan",
    )

    @property
    def record_type(self) -> RecordType:
        """The outbox's record type for this document (invoice or credit note)."""
        return RecordType(self.kind.value)

    @property
    def net_total(self) -> Decimal:
        """The sum of the lines' net amounts."""
        return sum((line.net_amount for line in self.lines), Decimal("0.00"))

    @property
    def vat_total(self) -> Decimal:
        """The sum of the lines' VAT amounts."""
        return sum((line.vat_amount for line in self.lines), Decimal("0.00"))

    @property
    def gross_total(self) -> Decimal:
        """Net plus VAT: what the customer owes (or is credited)."""
        return self.net_total + self.vat_total


class DocumentLine(Base):
    __tablename__ = "document_lines"
    __table_args__ = (UniqueConstraint("document_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Quantity())
    nominal_account_id: Mapped[int] = mapped_column(ForeignKey("nominal_accounts.id"))
    vat_rate: Mapped[Decimal] = mapped_column(Rate())
    vat_amount: Mapped[Decimal] = mapped_column(Money())

    document: Mapped[Document] = relationship(back_populates="lines")
    nominal_account: Mapped[NominalAccount] = relationship()

    @property
    def net_amount(self) -> Decimal:
        """Quantity × unit price, rounded half-up to the penny (:func:`line_net`)."""
        return line_net(self.quantity, self.unit_price)


class Payment(Base):
    """Money received from a customer, allocated to one or more invoices."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    date: Mapped[dt.date]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod))
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("nominal_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()
    bank_account: Mapped[NominalAccount] = relationship()
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", order_by="PaymentAllocation.id"
    )


class PaymentAllocation(Base):
    __tablename__ = "payment_allocations"
    __table_args__ = (UniqueConstraint("payment_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    document: Mapped[Document] = relationship()


# ------------------------------------------------------------------ integration state


class Setting(Base):
    """A small JSON value by key: chosen package, situation, wizard progress, schedule."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountMapping(Base):
    """Our nominal account → the package's account (code, id or QuickBooks Online item)."""

    __tablename__ = "account_mappings"
    __table_args__ = (UniqueConstraint("package", "nominal_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    nominal_account_id: Mapped[int] = mapped_column(ForeignKey("nominal_accounts.id"))
    remote_id: Mapped[str] = mapped_column(String(128))
    remote_code: Mapped[str] = mapped_column(String(64), default="")
    remote_name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    nominal_account: Mapped[NominalAccount] = relationship()


class Link(Base):
    """Our contact ↔ the package's contact, by the package's third-party reference."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("package", "contact_id"),
        Index("ix_links_package_remote_ref", "package", "remote_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    remote_ref: Mapped[str] = mapped_column(String(128))
    remote_name: Mapped[str] = mapped_column(String(200), default="")
    method: Mapped[LinkMethod] = mapped_column(_enum(LinkMethod))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Raised by every change; an update that finds another number was beaten by someone
    #: else's save (optimistic locking: two people may link from two machines at once).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    contact: Mapped[Contact] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own hook


class PackageContact(Base):
    """One of the package's customers or suppliers as it was last listed: the link
    page's local copy of the package's list, so the page opens without reading it
    again (refreshed when the user asks, and by the one-time import). Free text, as
    the package allows longer values than our own contacts take."""

    __tablename__ = "package_contacts"
    __table_args__ = (Index("ix_package_contacts_package_role", "package", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    role: Mapped[ContactKind] = mapped_column(_enum(ContactKind))
    ref: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, default="")
    address_1: Mapped[str] = mapped_column(Text, default="")
    address_2: Mapped[str] = mapped_column(Text, default="")
    address_3: Mapped[str] = mapped_column(Text, default="")
    town: Mapped[str] = mapped_column(Text, default="")
    county: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text, default="")


class ContactSync(Base):
    """A linked contact's details as they last agreed with the package's (contact sync).

    Each side is compared with these values to tell which side changed since: one side
    changed is offered in that direction, both sides changed is a conflict for the user.
    """

    __tablename__ = "contact_sync"
    __table_args__ = (UniqueConstraint("package", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    #: The package's contact these values were agreed with (a relink starts afresh).
    remote_ref: Mapped[str] = mapped_column(String(128))
    #: The agreed values, as JSON ({field: value}).
    agreed: Mapped[str] = mapped_column(Text)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PendingContactUpdate(Base):
    """A contact sync write a desktop bridge has taken but its package has not confirmed
    (QuickBooks Desktop's ``CustomerMod`` in the Web Connector's queue, a row of a Sage 50
    records file): confirmed or failed later, on the package's answer or evidence."""

    __tablename__ = "contact_updates"
    __table_args__ = (Index("ix_contact_updates_package_state", "package", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    #: The package's contact being changed (QuickBooks' full name, a Sage 50 account ref).
    remote_ref: Mapped[str] = mapped_column(String(128))
    #: ``customer`` or ``supplier``.
    role: Mapped[str] = mapped_column(String(16))
    #: The values handed over, as JSON ({field: value}).
    sent: Mapped[str] = mapped_column(Text)
    #: ``handed_over``, ``confirmed`` or ``failed``.
    state: Mapped[str] = mapped_column(String(16), default="handed_over")
    #: Where the bridge put it, in words ("in customer-records-….csv, line 2").
    note: Mapped[str] = mapped_column(Text, default="")
    #: The bridge's own place for it (a Sage 50 file name), for confirmation.
    location: Mapped[str] = mapped_column(String(255), default="")
    #: Why the package refused it, with what to do (failed only).
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxEntry(Base):
    """One record to send to one package: its state, attempts and outcome.

    ``idempotency_key`` is stable for the life of the row, so a resend after an
    uncertain outcome carries the same key the package may already have seen.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("package", "record_type", "record_id"),
        Index("ix_outbox_package_state", "package", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType))
    record_id: Mapped[int]
    state: Mapped[SendState] = mapped_column(_enum(SendState), default=SendState.WAITING)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    remote_id: Mapped[str] = mapped_column(String(128), default="")
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_field: Mapped[str] = mapped_column(String(64), default="")
    error_reason: Mapped[str] = mapped_column(Text, default="")
    error_fix: Mapped[str] = mapped_column(Text, default="")
    #: What a failure is about when many records share it (an account code).
    error_subject: Mapped[str] = mapped_column(String(64), default="", server_default="")
    blocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    sent_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """An append-only history of what changed, who changed it and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(32), default="")
    record_type: Mapped[str] = mapped_column(String(20), default="")
    record_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text, default="{}")


class PendingChange(Base):
    """A change the job system made to a record already sent.

    Sending is insert-only, so the package keeps the old details until the user changes
    them by hand and confirms. Our record also stays as sent until then; the next import
    after the confirmation applies the new values.
    """

    __tablename__ = "pending_changes"
    __table_args__ = (Index("ix_pending_changes_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType))
    record_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(250))
    #: JSON list of {"field", "before", "after"}.
    changes: Mapped[str] = mapped_column(Text)
    values_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(250), default="")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[str] = mapped_column(String(32), default="")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QbwcRequest(Base):
    """A qbXML request the QuickBooks Web Connector has taken and not yet answered.

    Written before ``sendRequestXML`` returns, deleted when its answer is recorded: a row
    still here when a new poll starts is a lost answer, so its record becomes uncertain
    and QuickBooks is asked about it before anything is sent again.
    """

    __tablename__ = "qbwc_requests"
    __table_args__ = (UniqueConstraint("ticket", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(64), index=True)
    #: The qbXML ``requestID``: the outbox row's id for an add.
    request_id: Mapped[str] = mapped_column(String(50))
    #: ``add`` (a record), ``check`` (is a record already there?) or ``read`` (a list).
    kind: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    #: For a read: which list (customers, suppliers, accounts, items, tax_codes).
    list_name: Mapped[str] = mapped_column(String(16), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Sage50Export(Base):
    """The Sage 50 export ledger: which import file and lines hold each record written.

    One row per outbox row (a record is in exactly one file), written in the same
    transaction as its *handed over* state. ``confirmed_at`` is set when a reconciliation
    against Sage's own export finds it; ``sage_value`` is what Sage shows when that
    differs from what was written (a reference Sage changed).
    """

    __tablename__ = "sage50_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), unique=True)
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType))
    record_id: Mapped[int]
    file_name: Mapped[str] = mapped_column(String(128), index=True)
    first_line: Mapped[int]
    line_count: Mapped[int] = mapped_column(default=1)
    #: The account reference, document number or payment reference written.
    reference: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sage_value: Mapped[str] = mapped_column(String(64), default="")


class ConnectorStep(Base):
    """A finished step of a multi-step record (a credit note created but not yet set
    against its invoice), kept until the record is finished so no attempt redoes it.

    In the store rather than beside it, so every PC on a shared store resumes the same
    record the same way, and a backup holds it.
    """

    __tablename__ = "connector_steps"

    package: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: What the step made and what is left, as a JSON object.
    value: Mapped[str] = mapped_column(Text)
