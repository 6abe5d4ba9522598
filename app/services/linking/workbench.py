"""The link workbench's Qt-free half: load both lists, keep every row's state, save.

:func:`prepare_workbench` runs in a worker: it reads our customers (or suppliers) and
their current links from the database and the package's contacts through the connector,
all into plain frozen data, and builds a :class:`LinkBook`. The book then belongs to
the GUI thread's model: it holds each row's reference cell as a :class:`RowState`, works
out its :class:`LinkStatus`, answers filters, plans "Link exact matches" and accepted
suggestions, and turns the edits into one :class:`SavePlan`. :func:`save_links` writes
a plan in one transaction, refusing every link the package's exact-match rule forbids.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from itertools import compress, islice, repeat
from operator import attrgetter, is_not, le, not_
from typing import NamedTuple, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    DELIVERED_STATES,
    Contact,
    ContactKind,
    Document,
    Link,
    OutboxEntry,
    Payment,
    RecordType,
)
from app.db.models import LinkMethod as LinkMethod
from app.services.audit import record_event
from app.services.linking.matching import (
    FIELD_LABELS,
    Bucket,
    DuplicateGroup,
    ExactMatchOutcome,
    KeyIndex,
    NameMatches,
    OurContact,
    PackageIndex,
    Reading,
    ReferenceReading,
    Suggestion,
    TheirContact,
    compare_exact,
    describe_differences,
    details_match,
    duplicate_groups,
    exact_columns,
    exact_matches,
    file_under,
    filed,
    name_differences,
    name_matches,
    paused_gc,
    read_reference,
    shared_names,
    suggest,
)
from app.services.linking.package_list import cached_list, keep_list, read_from_package
from app.services.linking.saving import ChangedElsewhere, LinkChange, LinkResult, apply_links
from connectors.contract import Connector, ContactRole, PackageInfo
from connectors.wording import count, plural

# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class CurrentLink:
    """A link already saved for one of ours."""

    ref: str
    name: str
    method: LinkMethod


@dataclass(frozen=True)
class WorkbenchData:
    """Everything the workbench shows, read in one go (plain data, safe across threads)."""

    role: ContactRole
    ours: Sequence[OurContact]
    #: By position in ``ours``.
    links: Mapping[int, CurrentLink]
    #: By position in ``ours``: how many of its invoices, credit notes and payments have
    #: reached the package (only counted for linked contacts).
    sent_records: Mapping[int, int]
    theirs: Sequence[TheirContact]
    #: False when the package cannot list its contacts (Sage 50, QuickBooks Desktop):
    #: references are then checked for their form only.
    theirs_listed: bool
    #: When ``theirs`` was read from the package (it is kept in the store between
    #: visits, so it may be older than this visit); ``None`` when not listed.
    listed_at: datetime | None = None


Progress = Callable[[object], None]

#: OurContact's fields after ``id``, ``account_ref`` and ``name``, in order.
OUR_FIELDS = ("address_1", "address_2", "address_3", "town", "county", "postcode", "email")


def _ignore(_: object) -> None:
    """A progress callback that shows nothing."""


def load_ours(
    session: Session, package: str, role: ContactRole, shared: dict[str, str] | None = None
) -> tuple[list[OurContact], dict[int, CurrentLink], dict[int, int]]:
    """Our contacts of ``role`` in name order, their links and sent-record counts.
    Towns and counties repeat: each is kept once, through ``shared`` if given (see
    :func:`~app.services.linking.package_list.cached_list`)."""
    kind = ContactKind(role.value)
    # Core (no ORM loading), columns in OurContact's field order, fetched in batches
    # and passed positionally: per-row dictionaries and fetches were most of the time
    # at 100,000 rows.
    table = cast(Table, Contact.__table__)
    columns = ("id", "account_ref", "name", *OUR_FIELDS)
    query = select(*(table.c[c] for c in columns)).where(table.c.kind == kind)
    ours: list[OurContact] = []
    make = partial(tuple.__new__, OurContact)  # OurContact._make without its Python call
    one = (shared if shared is not None else {}).setdefault
    with paused_gc():  # 100,000 new tuples: the collector would rescan them repeatedly
        for rows in session.connection().execute(query).partitions(5_000):
            ours.extend(
                [
                    make((i, r, n, a, b, c, one(t, t), one(k, k), p, e))
                    for i, r, n, a, b, c, t, k, p, e in rows
                ]
            )
        # Sorted by (name ignoring case, account) in two stable passes: string keys
        # compare far faster than a tuple per row.
        ours.sort(key=attrgetter("account_ref"))
        ours.sort(key=lambda c: c.name.casefold())
    position = dict(zip(map(attrgetter("id"), ours), range(len(ours)), strict=True))
    links: dict[int, CurrentLink] = {}
    for contact_id, ref, name, method in session.execute(
        select(Link.contact_id, Link.remote_ref, Link.remote_name, Link.method)
        .join(Contact, Contact.id == Link.contact_id)
        .where(Link.package == package, Contact.kind == kind)
    ):
        links[position[contact_id]] = CurrentLink(ref, name, method)
    delivered = DELIVERED_STATES
    sent: Counter[int] = Counter()
    for owner, types in (
        (Document, [RecordType.INVOICE, RecordType.CREDIT_NOTE]),
        (Payment, [RecordType.PAYMENT]),
    ):
        for contact_id, n in session.execute(
            select(owner.contact_id, func.count())
            .join(
                OutboxEntry,
                (OutboxEntry.record_id == owner.id) & OutboxEntry.record_type.in_(types),
            )
            .join(Link, (Link.contact_id == owner.contact_id) & (Link.package == package))
            .where(OutboxEntry.package == package, OutboxEntry.state.in_(delivered))
            .group_by(owner.contact_id)
        ):
            if contact_id in position:
                sent[position[contact_id]] += n
    return ours, links, dict(sent)


def load_kept_workbench(
    session_factory: sessionmaker[Session],
    info: PackageInfo,
    role: ContactRole,
    progress: Progress = _ignore,
) -> WorkbenchData | None:
    """Our contacts and the package's list as kept in the store, in one session and
    without the package; ``None`` if its list was never read (see :func:`load_workbench`)."""
    progress(f"Reading your {role.value}s…")
    shared: dict[str, str] = {}  # one copy of each town and county
    with session_factory() as session:
        kept = cached_list(session, info.key, role, shared) if info.can_list_contacts else None
        if info.can_list_contacts and kept is None:
            return None
        ours, links, sent = load_ours(session, info.key, role, shared)
    if kept is None:
        return WorkbenchData(role, ours, links, sent, [], theirs_listed=False)
    return WorkbenchData(role, ours, links, sent, kept.contacts, True, kept.listed_at)


def load_workbench(
    session_factory: sessionmaker[Session],
    connector: Connector,
    role: ContactRole,
    cancel: threading.Event | None = None,
    progress: Progress = _ignore,
    *,
    refresh: bool = False,
) -> WorkbenchData:
    """Read our contacts (one session) and the package's: the copy kept in the store,
    or, when there is none or ``refresh`` asks, through ``connector`` (and keep it)."""
    info = connector.info
    cancel = cancel or threading.Event()
    if not refresh:
        kept = load_kept_workbench(session_factory, info, role, progress)
        if kept is not None:
            return kept
    progress(f"Reading your {role.value}s…")
    with session_factory() as session:
        ours, links, sent = load_ours(session, info.key, role)
    if not info.can_list_contacts:
        return WorkbenchData(role, ours, links, sent, [], theirs_listed=False)
    progress(f"Reading {info.name}'s {role.value}s…")
    theirs = read_from_package(connector, role, cancel, progress)
    if theirs is None:  # cancelled: whoever cancelled drops this answer; nothing kept
        return WorkbenchData(role, ours, links, sent, [], theirs_listed=True)
    with session_factory.begin() as session:
        kept_list = keep_list(session, info.key, role, theirs)
    return WorkbenchData(role, ours, links, sent, kept_list.contacts, True, kept_list.listed_at)


def prepare_workbench(
    session_factory: sessionmaker[Session],
    connector_factory: Callable[[], Connector],
    role: ContactRole,
    cancel: threading.Event | None = None,
    progress: Progress = _ignore,
    *,
    info: PackageInfo | None = None,
    refresh: bool = False,
) -> LinkBook:
    """Load everything and build the book (for a worker); then run :meth:`LinkBook.analysis`
    in another worker for the suggestions and duplicates. Given the package's ``info``,
    a list kept in the store is used without connecting to the package at all;
    ``refresh`` reads the package's list again."""
    data = None
    if info is not None and not refresh:
        data = load_kept_workbench(session_factory, info, role, progress)
    if data is None:
        with connector_factory() as connector:
            info = connector.info
            data = load_workbench(
                session_factory, connector, role, cancel, progress, refresh=refresh
            )
    assert info is not None
    progress("Filling the grid…")
    return LinkBook(data, info)


def look_up_references(
    connector_factory: Callable[[], Connector], keys: Iterable[str]
) -> dict[str, TheirContact | None]:
    """Ask the package for each web-address number (Sage's legacy contact id); for a
    worker. ``None`` for a number the package does not know."""
    found: dict[str, TheirContact | None] = {}
    with connector_factory() as connector:
        for key in keys:
            contact = connector.get_contact(key)
            found[key] = TheirContact.of(contact) if contact is not None else None
    return found


# ----------------------------------------------------------------------------- row states


class LinkStatus(StrEnum):
    LINKED = "linked"
    WILL_BE_CREATED = "will be created"
    INVALID = "invalid reference"
    LOOKING_UP = "looking it up"
    NOT_FOUND = "not found in package"
    USED_TWICE = "reference used twice"
    DETAILS_DIFFER = "details differ"


PROBLEMS = frozenset(
    {
        LinkStatus.INVALID,
        LinkStatus.LOOKING_UP,
        LinkStatus.NOT_FOUND,
        LinkStatus.USED_TWICE,
        LinkStatus.DETAILS_DIFFER,
    }
)


class Tab(StrEnum):
    """The grid's filter tabs."""

    ALL = "all"
    UNLINKED = "unlinked"
    PROBLEMS = "problems"
    LINKED = "linked"


class RowState(NamedTuple):
    """One row's reference cell and pending edits.

    ``text`` is what the cell holds (a reference, the text of an invalid entry, or the
    number a web address carried); ``ref`` is the reference a save stores ("" for none
    or not yet known); ``details`` is our contact with the package's spelling copied in,
    waiting to be saved. A named tuple: "Link exact matches" makes tens of thousands at
    once.
    """

    text: str = ""
    ref: str = ""
    method: LinkMethod | None = None
    reading: Reading = Reading.EMPTY
    message: str = ""
    details: OurContact | None = None


EMPTY = RowState()


@dataclass(frozen=True, slots=True)
class SpellingFix:
    """Copy the package's values into one of our contacts."""

    contact_id: int
    label: str
    remote_ref: str
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class PlannedLink:
    change: LinkChange
    label: str
    #: The package's record as loaded, for the exact-match rule (None: not listed).
    remote: TheirContact | None


@dataclass(frozen=True)
class SavePlan:
    """What "Save accounting references" would write, and what it must not."""

    links: tuple[PlannedLink, ...]
    fixes: tuple[SpellingFix, ...]
    #: Rows left out, with why (an invalid reference, details that differ…).
    blocked: tuple[tuple[int, str], ...]
    #: One line per package record that would be linked to more than one of ours.
    shared: tuple[str, ...]
    #: One line per contact whose old link already carried sent records.
    unlink_warnings: tuple[str, ...]
    rows: tuple[int, ...]

    @property
    def empty(self) -> bool:
        """True when there is no link and no spelling fix to save."""
        return not self.links and not self.fixes


@dataclass(frozen=True)
class Analysis:
    """Suggestions for unlinked rows and likely duplicates in each list."""

    suggestions: list[Suggestion]
    our_duplicates: list[DuplicateGroup]
    their_duplicates: list[DuplicateGroup]
    #: The package's keys, kept for "did you mean" hints (link-by-name packages only).
    their_keys: KeyIndex | None
    #: The names more than one of ours carry, with how many, counted from the snapshot
    #: taken after ``saves`` saves ("Link exact matches" needs it; -1: not counted).
    our_names: Counter[str] | None = None
    #: What "Link exact matches" finds by name for each of ours in the same snapshot.
    name_matches: NameMatches | None = None
    saves: int = -1
    #: Our contacts' own search keys in the snapshot (see ``LinkBook.search_keys``).
    search_keys: list[str] | None = None


@dataclass(frozen=True)
class SaveOutcome:
    linked: int
    unlinked: int
    unchanged: int
    fixed: int
    warnings: tuple[str, ...]


class LinkRefused(ValueError):
    """A link the package's exact-match rule forbids; nothing was saved."""


def _words(items: Sequence[str]) -> str:
    """ "name, address and email"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: Our fields the search box looks in (with the reference cell's text).
_SEARCHED = attrgetter("name", "account_ref", "postcode", "email", "town")
_REF = attrgetter("ref")
_TEXT = attrgetter("text")
_DETAILS = attrgetter("details")
_ROW = attrgetter("row")
_POSITION = attrgetter("position")
#: Beyond this many rows edited since the open suggestions were last worked out, they
#: are worked out afresh (one pass) rather than row by row.
_FEW_EDITS = 2_000


def _our_keys(ours: Iterable[OurContact]) -> list[str]:
    """Each contact's search key with an empty reference cell, in one pass without a
    call per row (see ``LinkBook._search_key``)."""
    return list(map(str.casefold, map("\n".join, map(_SEARCHED, ours))))


def label_of(contact: OurContact | Contact) -> str:
    """ "Acme Heating Ltd (CUS0001)"."""
    return f"{contact.name} ({contact.account_ref})"


class LinkBook:
    """Every row of one workbench: state, status, filters and the edits to save.

    Not thread-safe: it is built in a worker, then used by one thread only.
    """

    def __init__(self, data: WorkbenchData, info: PackageInfo) -> None:
        with paused_gc():
            self._build(data, info)

    def _build(self, data: WorkbenchData, info: PackageInfo) -> None:
        self.data = data
        self.info = info
        self.role = data.role
        self.ours: list[OurContact] = list(data.ours)
        self.theirs = data.theirs
        self.listed = data.theirs_listed
        self.index = PackageIndex(data.theirs, info)
        self.exact_fields = info.exact_match_fields if self.listed else ()
        self.exact_columns = exact_columns(info)
        self.lookups: dict[str, TheirContact | None] = {}
        self.original: list[RowState] = [EMPTY] * len(self.ours)
        linked = sorted(data.links)
        for row in linked:
            link = data.links[row]
            self.original[row] = RowState(link.ref, link.ref, link.method, Reading.OK)
        self.states = list(self.original)
        self._rows_by_ref: dict[str, Bucket] = {}
        #: How many rows have a reference (each is filed in ``_rows_by_ref``).
        self._with_ref = 0
        for row in linked:
            if self.states[row].ref:
                file_under(self._rows_by_ref, self.states[row].ref, row)
                self._with_ref += 1
        self.changed: set[int] = set()
        #: Rows whose cell holds a web-address number (looked up or not yet).
        self._lookup_rows: set[int] = set()
        #: How many times :meth:`mark_saved` ran (a save may change our names).
        self.saves = 0
        # An empty cell is always "will be created"; only linked rows need working out.
        self.statuses = [LinkStatus.WILL_BE_CREATED] * len(self.ours)
        for row in linked:
            self.statuses[row] = self._status(row)
        self.counts: Counter[LinkStatus] = Counter(self.statuses)
        #: Per row, what the search box looks in (see _search_key): made when first
        #: needed, or taken from the analysis (made off the GUI thread) if that is first.
        self._keys: list[str] | None = None
        self.analysed = False
        self._name_counts: Counter[str] | None = None
        #: From the analysis, while ours are as they were then (see _name_counts).
        self._name_matches: NameMatches | None = None
        self.suggestions: list[Suggestion] = []
        #: Per suggestion, whether it is open (see :meth:`open_suggestions`); ``None``:
        #: to be worked out afresh. Kept up to date from the edits since then: the rows
        #: whose reference changed and the references entered or removed.
        self._open: bytearray | None = None
        self._edited_rows: set[int] = set()
        self._edited_refs: set[str] = set()
        self._in_row_order = True
        self.our_duplicates: list[DuplicateGroup] = []
        self.their_duplicates: list[DuplicateGroup] = []

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.ours)

    def contact(self, row: int) -> OurContact:
        """Our contact with any pending copied spelling."""
        return self.states[row].details or self.ours[row]

    def their_position(self, row: int) -> int | None:
        """Where the package contact ``row`` is linked to sits in the package's list; None when
        the row has no reference or the package has no such contact."""
        ref = self.states[row].ref
        return self.index.position_of(ref) if ref else None

    def their_contact(self, row: int) -> TheirContact | None:
        """The package contact ``row`` is linked to, or None (see :meth:`their_position`)."""
        position = self.their_position(row)
        return None if position is None else self.theirs[position]

    def is_changed(self, row: int) -> bool:
        """True when ``row`` has an edit not saved yet."""
        return row in self.changed

    @property
    def dirty(self) -> bool:
        """True when any row has an edit not saved yet."""
        return bool(self.changed)

    def rows_with_ref(self, ref: str) -> list[int]:
        """Our rows whose reference is ``ref`` (more than one means the reference is used twice)."""
        return list(filed(self._rows_by_ref, ref))

    def shared_refs(self) -> dict[str, list[int]]:
        """References entered on more than one of our rows, with those rows."""
        return {
            ref: list(rows) for ref, rows in self._rows_by_ref.items() if not isinstance(rows, int)
        }

    def tab_counts(self) -> dict[Tab, int]:
        """How many rows each filter tab shows."""
        problems = sum(self.counts[s] for s in PROBLEMS)
        unlinked = len(self.ours) - self._with_ref
        return {
            Tab.ALL: len(self.ours),
            Tab.UNLINKED: unlinked,
            Tab.PROBLEMS: problems,
            Tab.LINKED: self.counts[LinkStatus.LINKED],
        }

    @property
    def search_keys(self) -> list[str]:
        """Per row, the lowercased text the search box looks in (:meth:`_search_key`)."""
        if self._keys is None:
            self._keys = self._keys_from(_our_keys(self.ours))
        return self._keys

    def _keys_from(self, keys: list[str]) -> list[str]:
        """``keys`` (our contacts' own search keys, as :func:`_our_keys` makes them) with
        each row's reference text and copied spelling: every row's :meth:`_search_key`."""
        states = self.states
        rows = set(compress(range(len(states)), map(_TEXT, states)))
        rows.update(compress(range(len(states)), map(is_not, map(_DETAILS, states), repeat(None))))
        for row in rows:
            keys[row] = self._search_key(row)
        return keys

    def matching(self, rows: Iterable[int], tab: Tab, needle: str) -> list[int]:
        """The rows of ``rows`` in ``tab`` whose text contains ``needle`` (any case)."""
        keys = self.search_keys
        needle = needle.strip().casefold()
        if tab is Tab.ALL:
            if not needle:
                return list(rows)
            return [row for row in rows if needle in keys[row]]
        statuses, states = self.statuses, self.states
        if tab is Tab.UNLINKED:
            return [r for r in rows if not states[r].ref and needle in keys[r]]
        if tab is Tab.PROBLEMS:
            return [r for r in rows if statuses[r] in PROBLEMS and needle in keys[r]]
        linked = LinkStatus.LINKED
        return [r for r in rows if statuses[r] is linked and needle in keys[r]]

    def explain(self, row: int) -> str:
        """The status in a sentence, for a tooltip."""
        status, state, name = self.statuses[row], self.states[row], self.info.name
        if status is LinkStatus.WILL_BE_CREATED:
            return f"Not linked: the next send creates this {self.role.value} in {name}."
        if status is LinkStatus.INVALID:
            return state.message
        if status is LinkStatus.LOOKING_UP:
            return state.message
        if status is LinkStatus.NOT_FOUND:
            if state.reading is Reading.NEEDS_LOOKUP:
                return (
                    f"{name} found no contact with the web-address number {state.text}. "
                    "Pick the contact instead: type its name, postcode or email in this "
                    "cell and choose it from the list."
                )
            hint = ""
            if self.info.links_by_name:
                near = self.index.nearest_names(state.ref)
                if near:
                    differs = describe_differences(name_differences(state.ref, near[0]))
                    hint = f" Did you mean “{near[0]}”? Capitals and spaces count. Here {differs}."
            return f"{name} has no {self.role.value} {state.ref}.{hint}"
        if status is LinkStatus.USED_TWICE:
            others = [self.ours[r] for r in self.rows_with_ref(state.ref) if r != row]
            names = ", ".join(label_of(c) for c in others[:3])
            return f"{state.ref} is also linked to {names}. One {name} record, two of yours."
        if status is LinkStatus.DETAILS_DIFFER:
            theirs = self.their_contact(row)
            assert theirs is not None
            fields = [
                c.label.lower()
                for c in compare_exact(self.exact_columns, self.contact(row), theirs)
                if not c.equal
            ]
            return (
                f"{name} only accepts this link when our {_words(self.info.exact_match_fields)} "
                f"match its own exactly, capital letters included. Different: "
                f"{', '.join(fields)}."
            )
        if not self.listed and state.ref:
            return f"Linked. {name} cannot list its contacts, so the reference is not checked."
        return f"Linked to {name}'s {self.role.value} {state.ref}."

    # ------------------------------------------------------------------ states

    def reading_state(
        self, row: int, text: str, *, pasted: bool = False, picked: bool = False
    ) -> RowState:
        """The state the row would have with ``text`` in its reference cell."""
        reading = read_reference(self.info, text)
        details = self.states[row].details
        if reading.kind is Reading.EMPTY:
            return RowState(details=details) if details else EMPTY
        method = (
            LinkMethod.PICKED
            if picked
            else LinkMethod.PASTED_URL
            if reading.from_url
            else LinkMethod.PASTED_ID
            if pasted
            else LinkMethod.TYPED
        )
        return self._state(reading, method, details)

    def _state(
        self, reading: ReferenceReading, method: LinkMethod, details: OurContact | None
    ) -> RowState:
        value = reading.value
        if reading.kind is Reading.INVALID:
            return RowState(value, "", method, Reading.INVALID, reading.message, details)
        if reading.kind is Reading.NEEDS_LOOKUP:
            found = self.lookups.get(value)
            ref = self.index.reference_of(found) if found is not None else ""
            return RowState(value, ref, method, Reading.NEEDS_LOOKUP, reading.message, details)
        position = self.index.position_of(value)
        if position is not None:
            value = self.index.reference_of(self.theirs[position])  # the package's spelling
        return RowState(value, value, method, Reading.OK, "", details)

    def link_state(self, row: int, position: int, method: LinkMethod) -> RowState:
        """The state linking ``row`` to the package's contact at ``position``."""
        ref = self.index.reference_of(self.theirs[position])
        return RowState(ref, ref, method, Reading.OK, "", self.states[row].details)

    def apply(self, states: Mapping[int, RowState]) -> set[int]:
        """Set rows' states; returns every row whose display changed (including rows
        that now share, or no longer share, a reference with them)."""
        with paused_gc():
            return self._apply(states)

    def _apply(self, states: Mapping[int, RowState]) -> set[int]:
        # "Link exact matches" sends tens of thousands of rows through here at once: the
        # per-row helpers (matching.file_under and its reverse, _status) are inlined for
        # the common cases and everything used in the loops is local.
        touched: set[int] = set()
        #: References entered or removed (for _note_edits), and those whose rows
        #: other rows share or shared (their rows' statuses may change too).
        refs: list[str] = []
        shared: set[str] = set()
        # Without keys yet, none are kept up to date: they are made from the states later.
        keys, current, original = self._keys, self.states, self.original
        by_ref, changed = self._rows_by_ref, self.changed
        needs_lookup, lookup_rows = Reading.NEEDS_LOOKUP, self._lookup_rows
        ref_changed: list[int] = []
        with_ref = self._with_ref
        for row, given in states.items():
            state = (
                self._with_lookup(given)
                if given.reading is needs_lookup and not given.ref
                else given
            )
            old = current[row]
            if old is state:
                continue
            touched.add(row)
            if keys is not None:
                if old.details is not state.details or (old.text and old.text != state.text):
                    keys[row] = ""  # worked out afresh below
                elif state.text and not old.text:
                    # A reference entered where there was none ("Link exact matches"
                    # does tens of thousands): the search text gains it, nothing else.
                    keys[row] = f"{keys[row]}\n{state.text.casefold()}"
            if old.ref != state.ref:
                ref_changed.append(row)
                ref = old.ref
                if ref:  # out of its bucket: file_under's reverse
                    bucket = by_ref[ref]
                    if isinstance(bucket, int):
                        del by_ref[ref]
                    else:
                        bucket.remove(row)
                        if len(bucket) == 1:
                            by_ref[ref] = bucket[0]
                        shared.add(ref)  # the rows left with it
                    refs.append(ref)
                    with_ref -= 1
                ref = state.ref
                if ref:  # file_under, inlined
                    found = by_ref.get(ref)
                    if found is None:
                        by_ref[ref] = row
                    else:
                        if isinstance(found, int):
                            by_ref[ref] = [found, row]
                        else:
                            found.append(row)
                        shared.add(ref)
                    refs.append(ref)
                    with_ref += 1
            current[row] = state
            if state.reading is needs_lookup:
                lookup_rows.add(row)
            elif old.reading is needs_lookup:
                lookup_rows.discard(row)
            first = original[row]  # changed: it differs from what was read
            if state.ref != first.ref or state.text != first.text or state.details is not None:
                changed.add(row)
            else:
                changed.discard(row)
        self._with_ref = with_ref
        self._note_edits(ref_changed, refs)
        # Rows that now share, or no longer share, a reference with them. A reference
        # filed under an empty bucket and never shared holds only rows touched above.
        for ref in shared:
            rows = by_ref.get(ref)
            if isinstance(rows, int):
                touched.add(rows)
            elif rows is not None:
                touched.update(rows)
        self._restatus_all(touched)
        return touched

    def _restatus_all(self, rows: Iterable[int]) -> None:
        """:meth:`_restatus` and a fresh search key where one was cleared, for each of
        ``rows``; a linked row's status is worked out here (:meth:`_status`, inlined),
        any other by :meth:`_status`."""
        statuses, counts, status_of = self.statuses, self.counts, self._status
        keys, current, by_ref = self._keys, self.states, self._rows_by_ref
        ok, listed, exact_fields = Reading.OK, self.listed, self.exact_fields
        index_get, position_of = self.index.by_ref.get, self.index.position_of
        ours, theirs = self.ours, self.theirs
        linked, not_found = LinkStatus.LINKED, LinkStatus.NOT_FOUND
        used_twice, differ = LinkStatus.USED_TWICE, LinkStatus.DETAILS_DIFFER
        for row in rows:
            state = current[row]
            ref = state.ref
            if not ref or state.reading is not ok:
                status = status_of(row)
            else:
                position = index_get(ref)
                if position is None:
                    position = position_of(ref)  # the package's spelling, other capitals
                if listed and position is None:
                    status = not_found
                elif not isinstance(by_ref.get(ref, 0), int):
                    status = used_twice
                elif (
                    exact_fields
                    and position is not None
                    and not details_match(
                        exact_fields, state.details or ours[row], theirs[position]
                    )
                ):
                    status = differ
                else:
                    status = linked
            was = statuses[row]
            if status is not was:
                counts[was] -= 1
                counts[status] += 1
                statuses[row] = status
            if keys is not None and not keys[row]:
                keys[row] = self._search_key(row)

    def exact_match_states(self) -> tuple[dict[int, RowState], ExactMatchOutcome]:
        """The states "Link exact matches" would set, and what it left alone."""
        with paused_gc():
            return self._exact_match_states()

    def _exact_match_states(self) -> tuple[dict[int, RowState], ExactMatchOutcome]:
        unlinked = self.unlinked_rows()
        taken = self._taken()
        ours: Sequence[OurContact] = self.ours
        names = self._our_names()
        matches = self._name_matches
        spelt = [row for row in self.changed if self.states[row].details is not None]
        if spelt:  # rows with the package's spelling copied in carry their new name
            ours = [self.contact(r) for r in range(len(self.ours))]
            names = shared_names(ours)
            matches = None
        outcome = exact_matches(
            ours,
            unlinked,
            self.index,
            taken.__contains__,
            exact_fields=self.exact_fields,
            our_names=names,
            matches=matches,
        )
        reference_of, theirs, states = self.index.reference_of, self.theirs, self.states
        auto, ok = LinkMethod.AUTO_EXACT, Reading.OK
        make = partial(tuple.__new__, RowState)  # RowState(...) without its Python call
        links: dict[int, RowState] = {}
        for row, position in outcome.links:
            ref = reference_of(theirs[position])
            links[row] = make((ref, ref, auto, ok, "", states[row].details))
        return links, outcome

    def unlinked_rows(self) -> Sequence[int]:
        """The rows without a reference, in order (an array, not 100,000 int objects)."""
        return array("l", compress(range(len(self.states)), map(not_, map(_REF, self.states))))

    def _our_names(self) -> Counter[str]:
        """The names more than one of ours carry (kept until a save copies a package's
        spelling into ours, the only way our names change here)."""
        if self._name_counts is None:
            self._name_counts = shared_names(self.ours)
        return self._name_counts

    def _with_lookup(self, state: RowState) -> RowState:
        """A web-address number already looked up gets its reference (after an undo and
        redo, say, the command's state predates the answer)."""
        if state.reading is not Reading.NEEDS_LOOKUP or state.ref:
            return state
        found = self.lookups.get(state.text)
        return state if found is None else state._replace(ref=self.index.reference_of(found))

    def _taken(self) -> set[int]:
        """Positions of the package's records linked to one of ours (or more)."""
        # Most references are spelt as the package spells them: one look-up for all of
        # those, position_of (other capitals) only for the rest.
        refs = list(self._rows_by_ref)
        found = list(map(self.index.by_ref.get, refs))
        taken = set(found)
        taken.discard(None)
        for ref, position in zip(refs, found, strict=True):
            if position is None:
                position = self.index.position_of(ref)
                if position is not None:
                    taken.add(position)
        return cast(set[int], taken)

    def _note_edits(self, rows: Sequence[int], refs: Iterable[str]) -> None:
        """Remember what an edit changed for :meth:`open_suggestions`; after a bulk edit
        ("Link exact matches") the open suggestions are worked out afresh instead."""
        if self._open is None:
            return
        if not self._in_row_order or len(self._edited_rows) + len(rows) > _FEW_EDITS:
            self._open = None
            self._edited_rows.clear()
            self._edited_refs.clear()
            return
        self._edited_rows.update(rows)
        self._edited_refs.update(refs)

    def open_suggestions(self) -> list[Suggestion]:
        """Suggestions whose row is still unlinked and whose record is still free.

        Asked after every edit: only the suggestions an edit since the last call may
        have opened or closed are looked at again (those of the rows whose reference
        changed, and those of the records a changed reference points to)."""
        suggestions, states = self.suggestions, self.states
        flags = self._open
        if flags is None:
            taken = self._taken()
            flags = bytearray(
                not states[s.row].ref and s.position not in taken for s in suggestions
            )
            self._open = flags
            self._edited_rows.clear()
            self._edited_refs.clear()
        elif self._edited_rows or self._edited_refs:
            taken = self._taken()
            again: set[int] = set()
            for row in self._edited_rows:  # the suggestions are in row order
                start = bisect_left(suggestions, row, key=_ROW)
                again.update(range(start, bisect_right(suggestions, row, start, key=_ROW)))
            found = map(self.index.position_of, self._edited_refs)
            records = set(found)
            records.discard(None)
            if records:
                points_to = map(records.__contains__, map(_POSITION, suggestions))
                again.update(compress(range(len(suggestions)), points_to))
            for at in again:
                s = suggestions[at]
                flags[at] = not states[s.row].ref and s.position not in taken
            self._edited_rows.clear()
            self._edited_refs.clear()
        return list(compress(suggestions, flags))

    def suggestion_states(self, suggestions: Iterable[Suggestion]) -> dict[int, RowState]:
        """Accept ``suggestions``: one link per row and per package record."""
        states: dict[int, RowState] = {}
        used: set[int] = set()
        for suggestion in suggestions:
            if suggestion.row in states or suggestion.position in used:
                continue
            used.add(suggestion.position)
            states[suggestion.row] = self.link_state(
                suggestion.row, suggestion.position, LinkMethod.SUGGESTION
            )
        return states

    def spelling_state(self, row: int) -> RowState | None:
        """The row with the package's name, address and email copied into our record
        (``None`` when there is nothing to copy)."""
        theirs = self.their_contact(row)
        if theirs is None or not self.exact_columns:
            return None
        ours = self.contact(row)
        values = {column: getattr(theirs, column) for column in self.exact_columns}
        if all(getattr(ours, column) == value for column, value in values.items()):
            return None
        state = self.states[row]
        return state._replace(details=self.ours[row]._replace(**values))

    # ------------------------------------------------------------------ look-ups

    def pending_lookups(self) -> set[str]:
        """Web-address numbers entered but not yet looked up in the package."""
        states, changed = self.states, self.changed
        return {
            states[row].text
            for row in self._lookup_rows
            if row in changed and states[row].text not in self.lookups
        }

    def resolve(self, found: Mapping[str, TheirContact | None]) -> set[int]:
        """Record look-up answers and fill in the rows that were waiting for them."""
        self.lookups.update(found)
        waiting = [
            row
            for row in sorted(self._lookup_rows)
            if row in self.changed and self.states[row].text in found
        ]
        touched = self.apply({row: self.states[row] for row in waiting})  # fills in the refs
        for row in waiting:  # a number the package does not know is now "not found"
            touched.add(row)
            self._restatus(row)
        return touched

    # ------------------------------------------------------------------ status

    def _status(self, row: int) -> LinkStatus:
        state = self.states[row]
        if state.reading is Reading.INVALID:
            return LinkStatus.INVALID
        if state.reading is Reading.NEEDS_LOOKUP and not state.ref:
            if state.text in self.lookups:
                return LinkStatus.NOT_FOUND
            return LinkStatus.LOOKING_UP
        if not state.ref:
            return LinkStatus.WILL_BE_CREATED
        position = self.index.position_of(state.ref)
        if self.listed and position is None:
            return LinkStatus.NOT_FOUND
        if not isinstance(self._rows_by_ref.get(state.ref, 0), int):
            return LinkStatus.USED_TWICE
        if (
            self.exact_fields
            and position is not None
            and not details_match(self.exact_fields, self.contact(row), self.theirs[position])
        ):
            return LinkStatus.DETAILS_DIFFER
        return LinkStatus.LINKED

    def _restatus(self, row: int) -> None:
        status = self._status(row)
        if status is not self.statuses[row]:
            self.counts[self.statuses[row]] -= 1
            self.counts[status] += 1
            self.statuses[row] = status

    def _search_key(self, row: int) -> str:
        contact, text = self.contact(row), self.states[row].text
        parts = _SEARCHED(contact)
        return "\n".join((*parts, text) if text else parts).casefold()

    # ------------------------------------------------------------------ analysis

    def analysis(self) -> Callable[[], Analysis]:
        """A function that finds suggestions for the rows unlinked now and likely
        duplicates on both sides. It works on a snapshot, so a worker may run it while
        the grid is edited; hand its result to :meth:`set_analysis`."""
        ours = tuple(self.ours)
        unlinked = self.unlinked_rows()
        taken = frozenset(self._taken())
        index, exact_fields, saves = self.index, self.exact_fields, self.saves

        def run() -> Analysis:
            with paused_gc():
                keys = KeyIndex.build(index.contacts)
                suggestions = suggest(
                    ours, unlinked, index, keys, taken.__contains__, exact_fields=exact_fields
                )
                theirs = duplicate_groups(index.contacts, keys)
                # Only "did you mean" hints need the package's keys later; drop them
                # before our own list is indexed (100,000 rows each).
                kept = keys if index.info.links_by_name else None
                del keys
                our_duplicates = duplicate_groups(ours)
                # Worked out here, off the GUI thread, for "Link exact matches".
                names = shared_names(ours)
                matches = name_matches(ours, index, exact_fields=exact_fields, our_names=names)
                search = _our_keys(ours)  # the grid's, unless it made them first
                return Analysis(
                    suggestions, our_duplicates, theirs, kept, names, matches, saves, search
                )

        return run

    def set_analysis(self, analysis: Analysis) -> None:
        """Take the worker's suggestions, duplicates and package keys, once the analysis has
        finished."""
        self.index.keys = analysis.their_keys
        self.suggestions = analysis.suggestions
        self._open = None
        self._edited_rows.clear()
        self._edited_refs.clear()
        # suggest() gives them in row order, which open_suggestions() relies on.
        rows = map(_ROW, self.suggestions)
        self._in_row_order = all(map(le, rows, map(_ROW, islice(self.suggestions, 1, None))))
        self.our_duplicates = analysis.our_duplicates
        self.their_duplicates = analysis.their_duplicates
        if analysis.saves == self.saves:
            # Ours unchanged since the snapshot (only a save with a copied spelling
            # changes them).
            if self._name_counts is None:
                self._name_counts = analysis.our_names
            self._name_matches = analysis.name_matches
            if self._keys is None and analysis.search_keys is not None:
                self._keys = self._keys_from(analysis.search_keys)
        if analysis.search_keys is not None and analysis.search_keys is not self._keys:
            analysis.search_keys.clear()  # not needed: not kept by whoever keeps the result
        self.analysed = True

    # ------------------------------------------------------------------ saving

    def save_plan(self) -> SavePlan:
        """Turn every changed row into a link change or a spelling fix, leaving out (with
        why) the rows that must not be saved."""
        links: list[PlannedLink] = []
        fixes: list[SpellingFix] = []
        blocked: list[tuple[int, str]] = []
        shared: dict[str, list[int]] = {}
        warnings: list[str] = []
        saved_rows: list[int] = []
        name = self.info.name
        for row in sorted(self.changed):
            state, ours = self.states[row], self.ours[row]
            status = self.statuses[row]
            label = label_of(ours)
            if status in (
                LinkStatus.INVALID,
                LinkStatus.LOOKING_UP,
                LinkStatus.NOT_FOUND,
                LinkStatus.DETAILS_DIFFER,
            ):
                blocked.append((row, f"{label}: {status.value}. {self.explain(row)}"))
                continue
            theirs = self.their_contact(row)
            if state.details is not None:
                if theirs is None:
                    blocked.append(
                        (row, f"{label}: the copied spelling has no {name} record to match.")
                    )
                    continue
                fixes.append(
                    SpellingFix(
                        ours.id,
                        label,
                        state.ref,
                        tuple((c, getattr(state.details, c)) for c in self.exact_columns),
                    )
                )
            original = self.original[row]
            if state.ref != original.ref:
                method = state.method or LinkMethod.TYPED
                links.append(
                    PlannedLink(
                        LinkChange(
                            ours.id,
                            state.ref,
                            theirs.name if theirs else "",
                            method,
                            loaded_ref=original.ref,
                        ),
                        label,
                        theirs,
                    )
                )
                sent = self.data.sent_records.get(row, 0)
                if original.ref and sent:
                    warnings.append(
                        f"{label}: {count(sent, 'record')} {plural('was', sent)} already "
                        f"sent to {name} under {original.ref}; "
                        f"{plural('it', sent)} stay{'s' if sent == 1 else ''} there."
                    )
                if original.ref and not state.ref and original.method is LinkMethod.CREATED_BY_SEND:
                    warnings.append(
                        f"{label}: Ledgerlink created {original.ref} in {name}; once unlinked, "
                        f"the next send creates this {self.role.value} again."
                    )
            if state.ref and self.statuses[row] is LinkStatus.USED_TWICE:
                shared.setdefault(state.ref, [])
            saved_rows.append(row)
        shared_lines = [
            f"{ref} would be linked to "
            + " and ".join(label_of(self.contact(r)) for r in self.rows_with_ref(ref))
            for ref in shared
        ]
        return SavePlan(
            tuple(links),
            tuple(fixes),
            tuple(blocked),
            tuple(shared_lines),
            tuple(warnings),
            tuple(saved_rows),
        )

    def mark_saved(self, plan: SavePlan) -> set[int]:
        """After a successful save: the saved rows' states become the originals."""
        self.saves += 1
        for row in plan.rows:
            state = self.states[row]
            if state.details is not None:
                self.ours[row] = state.details
                # A copied spelling may change who shares a name, and which match.
                self._name_counts = None
                self._name_matches = None
                state = state._replace(details=None)
                self.states[row] = state
            self.original[row] = state
            self.changed.discard(row)
        touched = set(plan.rows)
        for row in plan.rows:
            touched.update(self.rows_with_ref(self.states[row].ref))
        for row in touched:
            self._restatus(row)
            if self._keys is not None:
                self._keys[row] = self._search_key(row)
        return touched


# ----------------------------------------------------------------------------- save


def save_links(
    session_factory: sessionmaker[Session],
    info: PackageInfo,
    plan: SavePlan,
    *,
    actor: str = "link workbench",
) -> SaveOutcome:
    """Write a plan in one transaction: copied spellings first (each with an audit entry),
    then the links. Raises :class:`LinkRefused` (and writes nothing) if a link breaks the
    package's exact-match rule against the database's current values."""
    columns = exact_columns(info)
    with session_factory.begin() as session:
        fixed = 0
        for fix in plan.fixes:
            contact = _contact(session, fix.contact_id, fix.label)
            before = {column: getattr(contact, column) for column, _ in fix.values}
            for column, value in fix.values:
                setattr(contact, column, value)
            changed = {c: [before[c], v] for c, v in fix.values if before[c] != v}
            if changed:
                fixed += 1
                record_event(
                    session,
                    actor=actor,
                    action="contact_spelling_copied",
                    package=info.key,
                    record_type=contact.kind.value,
                    record_id=contact.id,
                    remote_ref=fix.remote_ref,
                    fields=changed,
                )
        session.flush()
        if columns:
            for planned in plan.links:
                if planned.change.remote_ref and planned.remote is not None:
                    contact = _contact(session, planned.change.contact_id, planned.label)
                    _check_exact(info, columns, contact, planned.remote)
        try:
            result: LinkResult = apply_links(
                session, info.key, [p.change for p in plan.links], actor=actor
            )
        except ChangedElsewhere as exc:
            raise LinkRefused(str(exc)) from exc
    return SaveOutcome(
        linked=result.linked,
        unlinked=result.unlinked,
        unchanged=result.unchanged,
        fixed=fixed,
        warnings=tuple(result.warnings),
    )


def _contact(session: Session, contact_id: int, label: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise LinkRefused(f"{label} is no longer in Ledgerlink (deleted since the grid opened).")
    return contact


def _check_exact(
    info: PackageInfo, columns: Sequence[str], contact: Contact, remote: TheirContact
) -> None:
    for comparison in compare_exact(columns, _plain(contact), remote):
        if not comparison.equal:
            raise LinkRefused(
                f"{label_of(contact)}: {FIELD_LABELS[comparison.column].lower()} is "
                f"“{comparison.ours}” here but “{comparison.theirs}” in {info.name}. "
                f"{info.name} only accepts a link when they match exactly, capital letters "
                "included; use their spelling or correct it in one of the two."
            )


def _plain(contact: Contact) -> OurContact:
    return OurContact(
        contact.id,
        contact.account_ref,
        contact.name,
        contact.address_1,
        contact.address_2,
        contact.address_3,
        contact.town,
        contact.county,
        contact.postcode,
        contact.email,
    )
