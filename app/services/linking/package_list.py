"""The package's contact list, kept in the store so the link page opens without
reading it from the package each time.

Listing 100,000 contacts costs a package 100 to 1,000 calls (minutes at 60 a minute), so
the list is read from the package once, kept in ``package_contacts`` with the moment it
was read, and read again only when the user asks (or by the one-time import, which lists
it anyway). The link page always says how old the copy is. Reading the copy back is one
Core select into plain :class:`~app.services.linking.matching.TheirContact` rows (no ORM
objects). A new list replaces the old one in one transaction: never half of each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from app.db.models import ContactKind, PackageContact, utcnow
from app.services.linking.matching import TheirContact, paused_gc
from app.services.setup.state import get_setting, set_setting
from connectors.contract import Connector, ContactRole

#: Rows fetched at a time when reading the copy back.
PARTITION = 5_000
#: Rows per multi-row insert (SQLite takes at most 32,766 bound values per statement).
INSERT_CHUNK = 2_000
#: The table itself: Core statements, no ORM objects (100,000 rows load in a fraction of
#: the time).
TABLE = cast(Table, PackageContact.__table__)
#: The columns kept, in :class:`TheirContact`'s order (rows become one with ``_make``).
_FIELDS = TheirContact._fields


@dataclass(frozen=True)
class PackageList:
    """The package's contacts of one role as last read, and when they were read."""

    contacts: list[TheirContact]
    listed_at: datetime


def _listed_key(package: str, role: ContactRole) -> str:
    return f"package_contacts_listed_at:{package}:{role.value}"


def cached_list(
    session: Session, package: str, role: ContactRole, shared: dict[str, str] | None = None
) -> PackageList | None:
    """The kept copy of ``package``'s contacts of ``role``, in the order the package
    listed them; ``None`` if it was never read. Towns and counties repeat: each is
    kept once, through ``shared`` if given (pass the same dict to
    :func:`~app.services.linking.workbench.load_ours`: the package's records are
    mostly copies of ours)."""
    stamp = get_setting(session, _listed_key(package, role))
    if not stamp:
        return None
    table = TABLE
    result = session.connection().execute(
        select(*(table.c[name] for name in _FIELDS))
        .where(table.c.package == package, table.c.role == ContactKind(role.value))
        .order_by(table.c.id)
    )
    contacts: list[TheirContact] = []
    make = partial(tuple.__new__, TheirContact)  # TheirContact._make without its Python call
    one = (shared if shared is not None else {}).setdefault
    with paused_gc():  # 100,000 new tuples: the collector would rescan them repeatedly
        for rows in result.partitions(PARTITION):  # never all the rows and contacts at once
            contacts.extend(
                [
                    make((r, n, a, b, c, one(t, t), one(k, k), p, e))
                    for r, n, a, b, c, t, k, p, e in rows
                ]
            )
    return PackageList(contacts, datetime.fromisoformat(str(stamp)))


def keep_list(
    session: Session,
    package: str,
    role: ContactRole,
    contacts: Iterable[TheirContact],
    listed_at: datetime | None = None,
) -> PackageList:
    """Replace the kept copy of ``package``'s contacts of ``role`` (in the caller's
    transaction). A reference listed twice (a package's pages can shift while being
    read) is kept once, as first listed."""
    kind = ContactKind(role.value)
    table = TABLE
    session.execute(delete(table).where(table.c.package == package, table.c.role == kind))
    seen: set[str] = set()
    kept: list[TheirContact] = []
    for contact in contacts:
        if contact.ref in seen:
            continue
        seen.add(contact.ref)
        kept.append(contact)
    for start in range(0, len(kept), INSERT_CHUNK):
        chunk = kept[start : start + INSERT_CHUNK]
        session.execute(
            insert(table),
            [
                {"package": package, "role": kind, **{f: getattr(c, f) for f in _FIELDS}}
                for c in chunk
            ],
        )
    stamp = listed_at or utcnow()
    set_setting(session, _listed_key(package, role), stamp.isoformat())
    return PackageList(kept, stamp)


def read_from_package(
    connector: Connector,
    role: ContactRole,
    cancel: threading.Event,
    progress: Callable[[object], None],
) -> list[TheirContact] | None:
    """Every contact of ``role`` the package holds; ``None`` when cancelled (a part of
    the list is never kept)."""
    theirs: list[TheirContact] = []
    name = connector.info.name
    for contact in connector.iter_contacts(role):
        theirs.append(TheirContact.of(contact))
        if len(theirs) % 500 == 0:
            if cancel.is_set():
                return None
            progress(f"Read {len(theirs):,} {role.value}s from {name}…")
    return None if cancel.is_set() else theirs
