"""The record a package refused, named the same way in every cloud connector's reasons
and fixes; a package's own ``Subject`` extends it with what its refusals also need."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.contract import ContactDraft, DocumentDraft, DocumentType, Draft


@dataclass(frozen=True)
class Subject:
    """The record a package refused."""

    draft: Draft

    @property
    def word(self) -> str:
        """What the record is, in a bookkeeper's words: "customer", "invoice", "payment"…"""
        draft = self.draft
        if isinstance(draft, ContactDraft):
            return draft.role.value
        if isinstance(draft, DocumentDraft):
            return "invoice" if draft.type is DocumentType.INVOICE else "credit note"
        return "payment"

    @property
    def label(self) -> str:
        """The record as a message names it, e.g. ``customer "Acme" (account ACME)`` or
        ``invoice INV-001``."""
        draft = self.draft
        if isinstance(draft, ContactDraft):
            ref = f" (account {draft.our_ref.strip()})" if draft.our_ref.strip() else ""
            return f'{draft.role.value} "{draft.name.strip()}"{ref}'
        if isinstance(draft, DocumentDraft):
            return f"{self.word} {draft.number.strip()}"
        return f"payment {draft.reference.strip()}"

    @property
    def opening(self) -> str:
        """:attr:`label` with a capital, to start a sentence."""
        return self.label[:1].upper() + self.label[1:]
