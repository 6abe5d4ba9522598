"""The store's enumerations, as stored (lowercase values), without SQLAlchemy: what the
window's first read of the store and the models share."""

from __future__ import annotations

from enum import StrEnum


class ContactKind(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class AccountKind(StrEnum):
    SALES = "sales"
    BANK = "bank"
    EXPENSE = "expense"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    CASH = "cash"
    CHEQUE = "cheque"
    DIRECT_DEBIT = "direct_debit"


class RecordType(StrEnum):
    """What an outbox row sends, in the order sends must happen."""

    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"


class SendState(StrEnum):
    WAITING = "waiting"
    PROCESSING = "processing"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    DO_NOT_SEND = "do_not_send"
    ENTERED_MANUALLY = "entered_manually"
    #: Handed to a desktop bridge (queued for the QuickBooks Web Connector, written to a
    #: Sage 50 import file) and waiting for evidence that the package has it.
    HANDED_OVER = "handed_over"


#: States in which a record is in the package, or on its way there through a desktop
#: bridge that delivers in order: records that depend on it may follow.
DELIVERED_STATES = frozenset(
    {SendState.SUCCESSFUL, SendState.ENTERED_MANUALLY, SendState.HANDED_OVER}
)

#: States in which a record has (or may have) reached the package: an import must never
#: change such a record, because sending is insert-only.
SENT_STATES = DELIVERED_STATES | {SendState.UNCERTAIN, SendState.PROCESSING}


class LinkMethod(StrEnum):
    """How a link between our contact and the package's was made."""

    TYPED = "typed"
    PASTED_ID = "pasted_id"
    PASTED_URL = "pasted_url"
    PICKED = "picked"
    AUTO_EXACT = "auto_exact"
    SUGGESTION = "suggestion"
    IMPORTED = "imported"
    CREATED_BY_SEND = "created_by_send"
    #: A send found the contact already in the package (exact match) and linked it
    #: instead of creating it.
    LINKED_ON_SEND = "linked_on_send"
    CSV = "csv"


class Situation(StrEnum):
    """The onboarding situation chosen in the wizard."""

    NEW_TO_PACKAGE = "new_to_package"
    SIDE_BY_SIDE = "side_by_side"
    PACKAGE_FIRST = "package_first"
