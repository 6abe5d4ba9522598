"""How many of our customers (or suppliers) are linked to the package's records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Contact, Link
from app.db.models import ContactKind as ContactKind


@dataclass(frozen=True)
class LinkCounts:
    kind: ContactKind
    linked: int
    total: int

    @property
    def unlinked(self) -> int:
        """How many contacts of this kind have no link to the package yet."""
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


def count_links(
    session_factory: sessionmaker[Session], package: str, kind: ContactKind
) -> LinkCounts:
    """:func:`link_counts` in a session of its own (for the Link pages' workers)."""
    with session_factory() as session:
        return link_counts(session, package, kind)


def export_links_file(session_factory: sessionmaker[Session], package: str, path: Path) -> int:
    """Write the links file (see :func:`~app.services.linking.links_csv.export_links`)
    in a session of its own; returns the rows written."""
    from app.services.linking.links_csv import export_links

    with session_factory() as session:
        return export_links(session, package, path)
