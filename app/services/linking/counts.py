"""How many of our customers (or suppliers) are linked to the package's records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Contact, ContactKind, Link


@dataclass(frozen=True)
class LinkCounts:
    kind: ContactKind
    linked: int
    total: int

    @property
    def unlinked(self) -> int:
        return self.total - self.linked


def link_counts(session: Session, package: str, kind: ContactKind) -> LinkCounts:
    """Linked, unlinked and total contacts of ``kind`` for ``package``, in two queries."""
    total = session.scalar(select(func.count()).select_from(Contact).where(Contact.kind == kind))
    linked = session.scalar(
        select(func.count())
        .select_from(Link)
        .join(Contact, Contact.id == Link.contact_id)
        .where(Link.package == package, Contact.kind == kind)
    )
    return LinkCounts(kind, linked or 0, total or 0)
