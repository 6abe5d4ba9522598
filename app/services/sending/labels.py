"""How a record is named to the user, without SQLAlchemy: what the sending services and
the window's first read of the store (app.services.dashboard_read) share."""

from __future__ import annotations

from typing import Any, Protocol

from app.db.enums import ContactKind, DocumentKind


class _Labelled(Protocol):
    @property
    def kind(self) -> Any: ...


class _ContactLike(_Labelled, Protocol):
    @property
    def name(self) -> str: ...

    @property
    def account_ref(self) -> str: ...


class _DocumentLike(_Labelled, Protocol):
    @property
    def number(self) -> str: ...


class _PaymentLike(Protocol):
    @property
    def reference(self) -> str: ...


def contact_label(contact: _ContactLike) -> str:
    """How a contact is named to the user: ``Customer “Name” (REF)``."""
    kind = "Customer" if contact.kind is ContactKind.CUSTOMER else "Supplier"
    return f"{kind} “{contact.name}” ({contact.account_ref})"


def document_label(document: _DocumentLike) -> str:
    """How a document is named to the user: ``Invoice 1001`` or ``Credit note 1002``."""
    kind = "Invoice" if document.kind is DocumentKind.INVOICE else "Credit note"
    return f"{kind} {document.number}"


def payment_label(payment: _PaymentLike) -> str:
    """How a payment is named to the user: ``Payment REF``."""
    return f"Payment {payment.reference}"
