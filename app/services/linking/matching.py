"""Matching our contacts to the package's: the rules behind the link workbench.

Everything here is plain Python over plain data (no database, no Qt), sized for 100,000
contacts on each side: every lookup goes through a dict index, never a pairwise scan.

* :func:`read_reference` reads what a user typed or pasted into a reference cell.
* :func:`name_key` and :func:`name_differences` say whether two names are the same apart
  from capitals, spaces, punctuation or "Ltd"/"Limited", and which of those differ.
* :class:`PackageIndex` indexes the package's contacts by reference, exact name, loose
  name, email and postcode + house number.
* :func:`exact_matches` finds the rows "Link exact matches" may link: the name equals
  exactly one package record's name (capitals and spaces count) and nothing contradicts
  it. Namesakes (one name, several records on either side) are never linked.
* :func:`suggest` offers near misses with their evidence and strength.
* :func:`duplicate_groups` finds likely duplicates within one list.
* :func:`compare_exact` is the exact-match rule (Sage Business Cloud): our fields beside
  the package's, with the differing characters marked for highlighting.
"""

from __future__ import annotations

import difflib
import gc
import re
import string
from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate, compress, islice, repeat
from operator import attrgetter, is_not, lt, ne, rshift, sub
from typing import Any, NamedTuple, Protocol, TypeVar

from connectors.contract import PackageInfo, RemoteContact


@contextmanager
def paused_gc() -> Iterator[None]:
    """Build large acyclic structures without the cyclic garbage collector rescanning
    them every few thousand allocations (it more than doubles the time for 100,000 rows)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ----------------------------------------------------------------------------- contacts


class ContactDetails(Protocol):
    """The fields of a contact that matching reads (ours and the package's alike)."""

    @property
    def name(self) -> str:
        """The contact's (company) name."""

    @property
    def address_1(self) -> str:
        """First address line."""

    @property
    def address_2(self) -> str:
        """Second address line."""

    @property
    def address_3(self) -> str:
        """Third address line."""

    @property
    def town(self) -> str:
        """Town or city."""

    @property
    def county(self) -> str:
        """County."""

    @property
    def postcode(self) -> str:
        """Postcode, as entered."""

    @property
    def email(self) -> str:
        """Email address, as entered."""


class OurContact(NamedTuple):
    """One of our customers or suppliers, as plain data (never an ORM object).

    A named tuple rather than a frozen dataclass: made 100,000 at a time from the
    store's rows, where a frozen dataclass's per-field ``__setattr__`` took a quarter
    of a second."""

    id: int
    account_ref: str
    name: str
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    town: str = ""
    county: str = ""
    postcode: str = ""
    email: str = ""


class TheirContact(NamedTuple):
    """One of the package's contacts as the workbench keeps it: the fields matching
    reads, in a named tuple (100,000 take a third of the memory of
    :class:`RemoteContact`, and are made from the store's rows without per-field work)."""

    ref: str
    name: str
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    town: str = ""
    county: str = ""
    postcode: str = ""
    email: str = ""

    @classmethod
    def of(cls, remote: RemoteContact) -> TheirContact:
        """The fields matching needs from a contact the connector listed."""
        return cls(
            remote.ref,
            remote.name,
            remote.address_1,
            remote.address_2,
            remote.address_3,
            remote.town,
            remote.county,
            remote.postcode,
            remote.email,
        )


#: The contact fields that make up "the address" in the exact-match rule.
ADDRESS_FIELDS: tuple[str, ...] = ("address_1", "address_2", "address_3", "town", "county")

#: An exact-match field name (as in ``PackageInfo.exact_match_fields``) → our columns.
EXACT_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "address": (*ADDRESS_FIELDS, "postcode"),
    "email": ("email",),
}

FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "address_1": "Address line 1",
    "address_2": "Address line 2",
    "address_3": "Address line 3",
    "town": "Town",
    "county": "County",
    "postcode": "Postcode",
    "email": "Email",
}


def exact_columns(info: PackageInfo) -> tuple[str, ...]:
    """Our columns the package requires to equal its own, in display order."""
    return tuple(
        column for field in info.exact_match_fields for column in EXACT_FIELD_COLUMNS[field]
    )


def address_text(contact: ContactDetails) -> str:
    """The address lines and town on one line, for a table cell."""
    parts = (getattr(contact, column) for column in ADDRESS_FIELDS)
    return ", ".join(part for part in parts if part)


# ----------------------------------------------------------------------------- references


class Reading(StrEnum):
    """What a reference cell holds."""

    EMPTY = "empty"
    OK = "ok"
    #: A web address carrying the package's *other* number (Sage's legacy id), which
    #: must be looked up in the package to find the contact's reference.
    NEEDS_LOOKUP = "needs_lookup"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ReferenceReading:
    kind: Reading
    #: The reference (or, for ``NEEDS_LOOKUP``, the number to look up); for ``INVALID``
    #: the text as entered.
    value: str
    from_url: bool = False
    message: str = ""


def read_reference(info: PackageInfo, text: str) -> ReferenceReading:
    """Read a raw reference or a pasted web address in ``info``'s format."""
    raw = text.strip()
    if not raw:
        return ReferenceReading(Reading.EMPTY, "")
    fmt = info.reference
    parsed = fmt.parse(raw)
    if parsed is None:
        return ReferenceReading(Reading.INVALID, raw, message=invalid_message(info, raw))
    flags = 0 if fmt.case_sensitive else re.IGNORECASE
    if re.fullmatch(fmt.pattern, parsed.reference, flags):
        return ReferenceReading(Reading.OK, parsed.reference, parsed.from_url)
    return ReferenceReading(
        Reading.NEEDS_LOOKUP,
        parsed.reference,
        from_url=True,
        message=(
            f"This {info.name} web address carries the number {parsed.reference}, not the "
            f"{fmt.label}; Ledgerlink looks it up in {info.name} to find the contact."
        ),
    )


def invalid_message(info: PackageInfo, raw: str) -> str:
    """Why ``raw`` is not a reference, and what is expected instead."""
    looks_like_url = raw.lower().startswith(("http://", "https://", "www."))
    if looks_like_url and not info.reference.url_patterns:
        return (
            f"{info.name}'s web addresses do not carry the {info.reference.label}. "
            f"{info.reference.describe_expected()}"
        )
    shown = raw if len(raw) <= 60 else raw[:57] + "…"
    message = f"“{shown}” is not a {info.reference.label}. {info.reference.describe_expected()}"
    if info.reference.url_example:
        message += " The contact's web address in the package works too."
    return message


# ----------------------------------------------------------------------------- names


class Difference(StrEnum):
    """How two names (or two values of one field) differ."""

    CASE = "capital letters"
    SPACING = "spaces"
    PUNCTUATION = "punctuation"
    LTD = "Ltd / Limited"
    OTHER = "other characters"


_LTD = re.compile(r"\b(?:ltd|limited)\b", re.IGNORECASE)
_PUNCTUATION = set(string.punctuation) | set("‘’“”–—…·")
_WHITESPACE = set(string.whitespace) | {"\xa0", "\u2009", "\u202f"}
_DROP_PUNCTUATION = str.maketrans("", "", "".join(_PUNCTUATION))
_DROP_WHITESPACE = str.maketrans("", "", "".join(_WHITESPACE))
_DROP_BOTH = str.maketrans("", "", "".join(_PUNCTUATION | _WHITESPACE))


def name_key(name: str) -> str:
    """A name with capitals, spaces, punctuation and Ltd/Limited ignored ("&" = "and").

    ``name_key("Smith & Sons Ltd.") == name_key("SMITH AND SONS LIMITED")``.
    """
    key = name.casefold()
    if "ltd" in key or "limited" in key:
        key = _LTD.sub("ltd", key)
    return key.replace("&", "and").translate(_DROP_BOTH)


def _normalise(text: str, *, case: bool, spacing: bool, punctuation: bool, ltd: bool) -> str:
    if ltd:
        text = _LTD.sub("ltd", text)
    if punctuation:
        text = text.replace("&", "and").translate(_DROP_PUNCTUATION)
    if case:
        text = text.casefold()
    if spacing:
        text = text.translate(_DROP_WHITESPACE)
    return text


_STEPS: tuple[tuple[Difference, str], ...] = (
    (Difference.CASE, "case"),
    (Difference.SPACING, "spacing"),
    (Difference.PUNCTUATION, "punctuation"),
    (Difference.LTD, "ltd"),
)


def name_differences(ours: str, theirs: str) -> tuple[Difference, ...]:
    """Which kinds of difference separate two values; ``()`` when they are equal.

    A kind is reported when ignoring every *other* kind still leaves the values apart,
    so "A&B Ltd" against "a & b limited" reports capitals, spaces and Ltd/Limited.
    ``OTHER`` means they differ even with all four ignored.
    """
    if ours == theirs:
        return ()
    everything = dict.fromkeys(("case", "spacing", "punctuation", "ltd"), True)
    if _normalise(ours, **everything) != _normalise(theirs, **everything):
        return (Difference.OTHER,)
    found = []
    for difference, step in _STEPS:
        flags = {**everything, step: False}
        if _normalise(ours, **flags) != _normalise(theirs, **flags):
            found.append(difference)
    return tuple(found) or (Difference.SPACING,)


def describe_differences(differences: Iterable[Difference]) -> str:
    """In words, e.g. "capital letters and spaces differ" or "punctuation differs"."""
    kinds = list(differences)
    if not kinds:
        return "nothing differs"
    words = [kind.value for kind in kinds]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    singular = len(kinds) == 1 and kinds[0] in (Difference.PUNCTUATION, Difference.LTD)
    return f"{joined} {'differs' if singular else 'differ'}"


# ----------------------------------------------------------------------------- other keys


def email_key(email: str) -> str:
    """An email address compared without capitals or surrounding spaces."""
    return email.strip().casefold()


def postcode_key(postcode: str) -> str:
    """A UK postcode compared without spaces or capitals ("le18 7xx" = "LE18 7XX")."""
    return postcode.translate(_DROP_WHITESPACE).upper()


_HOUSE = re.compile(r"\b(\d+[a-zA-Z]?)\b")


def house_key(contact: ContactDetails) -> str:
    """Postcode + the first house or unit number in the address ("LE187XX|14"); ``""``
    when either is missing."""
    postcode = postcode_key(contact.postcode)
    if not postcode:
        return ""
    for line in (contact.address_1, contact.address_2, contact.address_3):
        match = _HOUSE.search(line)
        if match:
            return f"{postcode}|{match.group(1).upper()}"
    return ""


def postcodes_conflict(a: ContactDetails, b: ContactDetails) -> bool:
    """Both have a postcode and they are different places."""
    if a.postcode == b.postcode:
        return False
    pa, pb = postcode_key(a.postcode), postcode_key(b.postcode)
    return bool(pa and pb and pa != pb)


# ----------------------------------------------------------------------------- the index


#: Positions under one key: an ``int`` for the usual single one, a list for several
#: (100,000 one-item lists would cost 6 MB for nothing).
Bucket = int | list[int]


K = TypeVar("K", bound=Hashable)


def file_under(index: dict[K, Bucket], key: K, position: int) -> None:
    """Add ``position`` to the bucket of ``key``."""
    found = index.get(key)
    if found is None:
        index[key] = position
    elif isinstance(found, int):
        index[key] = [found, position]
    else:
        found.append(position)


def filed(index: Mapping[K, Bucket], key: K) -> Sequence[int]:
    """The positions in the bucket of ``key`` (empty when none)."""
    found = index.get(key)
    if found is None:
        return ()
    return (found,) if isinstance(found, int) else found


class HashedKeys:
    """Positions in one list by the hash of a key (an empty key files nothing), kept in
    two arrays grouped by the hash's leading bits (``starts`` says where each group
    begins, so a group holds about one hash): a look-up reads one group.

    100,000 positions take about 1.7 MB here, against about 9 MB as a dict of hash →
    position (a dict entry, a hash object and a position object each)."""

    __slots__ = ("_offset", "_shift", "hashes", "positions", "starts")

    def __init__(self, keys: Iterable[str]) -> None:
        hashes, where = array("q"), array("i")  # positions as C ints (4 bytes each)
        add_hash, add_position = hashes.append, where.append
        for position, key in enumerate(keys):
            if key:
                add_hash(hash(key))
                add_position(position)
        # A hash is a signed 64-bit number; its leading ``bits`` pick its group.
        bits = max(len(hashes).bit_length(), 1)
        shift, offset = 64 - bits, 1 << (bits - 1)
        self._shift, self._offset = shift, offset
        counts = [0] * ((1 << bits) + 1)
        for top in map(rshift, hashes, repeat(shift)):
            counts[top + offset + 1] += 1
        self.starts = array("i", accumulate(counts))
        del counts  # before the arrays below: a list of 130,000 at 100,000 keys
        # Each hash into its group, in list order (a counting sort).
        self.hashes = array("q", bytes(len(hashes) * hashes.itemsize))
        self.positions = array("i", bytes(len(where) * where.itemsize))
        grouped_hashes, grouped_positions = self.hashes, self.positions
        free = array("i", self.starts)
        for value, position in zip(hashes, where, strict=True):
            group = (value >> shift) + offset
            at = free[group]
            free[group] = at + 1
            grouped_hashes[at] = value
            grouped_positions[at] = position

    def find(self, key: str) -> Sequence[int]:
        """The positions filed under the hash of ``key``, in list order."""
        if not key:
            return ()
        wanted = hash(key)
        group = (wanted >> self._shift) + self._offset
        start, end = self.starts[group], self.starts[group + 1]
        if start == end:
            return ()
        hashes = self.hashes
        if end - start == 1:
            return (self.positions[start],) if hashes[start] == wanted else ()
        return [self.positions[at] for at in range(start, end) if hashes[at] == wanted]

    def shared(self) -> Iterator[list[int]]:
        """Every set of more than one position under one hash (in no particular order)."""
        starts, hashes, positions = self.starts, self.hashes, self.positions
        sizes = map(sub, islice(starts, 1, None), starts)
        for group in compress(range(len(starts) - 1), map(lt, repeat(1), sizes)):
            by_hash: dict[int, list[int]] = {}
            for at in range(starts[group], starts[group + 1]):
                by_hash.setdefault(hashes[at], []).append(positions[at])
            for found in by_hash.values():
                if len(found) > 1:
                    yield found


class KeyIndex:
    """Positions in one list by loose name (:func:`name_key`), email and postcode +
    house number: what suggestions and duplicate checks look up.

    Keys are kept as their hashes, not as 300,000 new strings: a hash collision only
    adds a candidate, and every candidate's evidence is worked out again from the
    contacts themselves.
    """

    __slots__ = ("by_email", "by_house", "by_key")

    def __init__(self, by_key: HashedKeys, by_email: HashedKeys, by_house: HashedKeys) -> None:
        self.by_key = by_key
        self.by_email = by_email
        self.by_house = by_house

    @classmethod
    def build(cls, contacts: Sequence[ContactDetails], *, houses: bool = True) -> KeyIndex:
        """Index ``contacts`` by loose name, email and (unless ``houses`` is false, which saves
        time where no address check is wanted) postcode + house number."""
        by_key = HashedKeys(map(name_key, map(attrgetter("name"), contacts)))
        by_email = HashedKeys(map(email_key, map(attrgetter("email"), contacts)))
        by_house = HashedKeys(map(house_key, contacts) if houses else ())
        return cls(by_key, by_email, by_house)

    def same_name(self, name: str) -> Sequence[int]:
        """Positions whose name may equal ``name`` apart from capitals, spaces…"""
        return self.by_key.find(name_key(name))

    def same_email(self, email: str) -> Sequence[int]:
        """Positions whose email may equal ``email`` apart from capitals and spaces."""
        return self.by_email.find(email_key(email))

    def same_house(self, contact: ContactDetails) -> Sequence[int]:
        """Positions that may share ``contact``'s postcode and house number (see
        :func:`house_key`)."""
        return self.by_house.find(house_key(contact))


class PackageIndex:
    """The package's contacts by reference and exact name (what every edit asks).

    ``links_by_name`` packages (QuickBooks Desktop) use the contact's exact name as the
    reference, so :meth:`position_of` looks names up instead of ids. ``keys`` (loose
    names, emails, addresses) is built separately, by the analysis, as only suggestions
    and hints need it.
    """

    def __init__(self, contacts: Sequence[TheirContact], info: PackageInfo) -> None:
        self.contacts = contacts
        self.info = info
        self.case_sensitive = info.reference.case_sensitive
        self.keys: KeyIndex | None = None
        count = len(contacts)
        refs = list(map(attrgetter("name" if info.links_by_name else "ref"), contacts))
        # One dict(zip(...)) rather than a call per contact; a reference listed twice
        # keeps the place where it first appears.
        #: One int object per position, shared by both indexes and by the suggestions
        #: (100,000 more each otherwise).
        self.numbers = numbers = list(range(count))
        self.by_ref: dict[str, int] = dict(zip(refs, numbers, strict=True))
        if len(self.by_ref) < count:
            for position in reversed(numbers):
                self.by_ref[refs[position]] = position
        self._by_name: dict[str, Bucket] | None = None

    @property
    def by_name(self) -> dict[str, Bucket]:
        """Positions by exact name. Made on first use, as only matching by name needs
        it (usually in the suggestions worker, off the GUI thread; should two threads
        both make it, each gets an equal dict and one is kept)."""
        by_name = self._by_name
        if by_name is None:
            by_name = {}
            found_under = by_name.get
            names = map(attrgetter("name"), self.contacts)
            for position, name in zip(self.numbers, names, strict=True):  # file_under, inlined
                found = found_under(name)
                if found is None:
                    by_name[name] = position
                elif isinstance(found, int):
                    by_name[name] = [found, position]
                else:
                    found.append(position)
            self._by_name = by_name
        return by_name

    def reference_of(self, contact: TheirContact) -> str:
        """The reference a link stores for ``contact`` (its name for link-by-name)."""
        return contact.name if self.info.links_by_name else contact.ref

    def position_of(self, reference: str) -> int | None:
        """Where the contact with ``reference`` is, or ``None`` if the package lacks it.

        Where the package ignores capitals in references, the package's own spelling is
        tried in capitals and in small letters (Sandbox ids are in capitals, Xero's in
        small letters), so no second, case-folded index is needed.
        """
        position = self.by_ref.get(reference)
        if position is None and not self.case_sensitive:
            position = self.by_ref.get(reference.upper())
            if position is None:
                position = self.by_ref.get(reference.lower())
        return position

    def nearest_names(self, name: str, limit: int = 3) -> list[str]:
        """Package names equal to ``name`` apart from capitals, spaces, punctuation or
        Ltd/Limited (for "did you mean" in a tooltip); empty until ``keys`` is built."""
        if self.keys is None:
            return []
        found = self.keys.same_name(name)
        return [
            self.contacts[p].name
            for p in found
            if name_key(self.contacts[p].name) == name_key(name)
        ][:limit]


# ----------------------------------------------------------------------------- auto-link


@dataclass(frozen=True, slots=True)
class ExactMatchOutcome:
    """What "Link exact matches" found, by position in our list and theirs."""

    links: tuple[tuple[int, int], ...]
    #: Ours whose name is shared: several package records, or several of ours.
    namesakes: tuple[int, ...]
    #: Ours whose single same-name record is somewhere else (another postcode), or
    #: whose other details the package requires to match and do not.
    contradicted: tuple[int, ...]


def shared_names(contacts: Iterable[ContactDetails]) -> Counter[str]:
    """The names more than one of ``contacts`` carry, with how many (a name carried once
    is left out: at 100,000 contacts the whole count takes 3.8 MB, this about 0.1 MB)."""
    counts = Counter(map(attrgetter("name"), contacts))
    return Counter({name: n for name, n in counts.items() if n > 1})


@dataclass(frozen=True, slots=True)
class NameMatches:
    """What "Link exact matches" finds for each of our rows from the two lists alone
    (made by :func:`name_matches`; the rows already linked are decided when it runs).

    ``positions[row]`` is where the package's only record with that exact name is,
    ``NO_RECORD`` when the package has none and ``NAMESAKE`` when the name is shared
    (several package records, or several of ours); ``contradicted[row]`` is 1 when
    that one record is somewhere else (another postcode) or differs in details the
    package requires to match. Arrays: 5 bytes a row, not objects."""

    positions: array[int]
    contradicted: bytearray


NO_RECORD = -1
NAMESAKE = -2


def name_matches(
    ours: Sequence[ContactDetails],
    index: PackageIndex,
    *,
    exact_fields: tuple[str, ...] = (),
    our_names: Mapping[str, int] | None = None,
    rows: Iterable[int] | None = None,
) -> NameMatches:
    """:class:`NameMatches` for ``rows`` of ``ours`` (all of them by default; the others
    are left ``NO_RECORD``). ``our_names``: see :func:`exact_matches`."""
    if our_names is None:
        our_names = shared_names(ours)
    count = len(ours)
    positions = array("i", [NO_RECORD]) * count
    contradicted = bytearray(count)
    by_name, contacts = index.by_name, index.contacts
    count_of = our_names.get  # get: a Counter's [] calls __missing__ for a name carried once
    # Most rows' names are not the package's: those are left without a Python step.
    wanted = range(count) if rows is None else rows
    wanted = wanted if isinstance(wanted, array | list | range) else list(wanted)
    found = list(map(by_name.get, map(attrgetter("name"), map(ours.__getitem__, wanted))))
    named = list(map(is_not, found, repeat(None)))
    for row, contact, position in zip(
        compress(wanted, named),
        map(ours.__getitem__, compress(wanted, named)),
        compress(found, named),
        strict=True,
    ):
        if not isinstance(position, int) or count_of(contact.name, 0) > 1:
            positions[row] = NAMESAKE
            continue
        positions[row] = position
        theirs = contacts[position]
        if (contact.postcode != theirs.postcode and postcodes_conflict(contact, theirs)) or (
            exact_fields and not details_match(exact_fields, contact, theirs)
        ):
            contradicted[row] = 1
    return NameMatches(positions, contradicted)


def exact_matches(
    ours: Sequence[ContactDetails],
    candidates: Iterable[int],
    index: PackageIndex,
    taken: Callable[[int], bool],
    *,
    exact_fields: tuple[str, ...] = (),
    our_names: Mapping[str, int] | None = None,
    matches: NameMatches | None = None,
) -> ExactMatchOutcome:
    """The rows of ``candidates`` (positions in ``ours``) that can be linked automatically.

    A row is linked when its name equals exactly one package record's name, no other of
    ours has that name, the record is not ``taken`` (already linked to another of ours),
    the postcodes (when both have one) agree, and every ``exact_fields`` column equals
    the package's character for character. ``our_names`` (how many of ours carry each
    name; a name carried once may be left out, see :func:`shared_names`) may be passed
    when the caller keeps it, and ``matches`` (:func:`name_matches` for these ``ours``,
    ``index`` and ``exact_fields``) when it was worked out ahead.
    """
    rows = candidates if isinstance(candidates, array | list) else list(candidates)
    if matches is None:
        matches = name_matches(
            ours, index, exact_fields=exact_fields, our_names=our_names, rows=rows
        )
    links: list[tuple[int, int]] = []
    namesakes: list[int] = []
    contradicted: list[int] = []
    used: set[int] = set()
    add_used, conflicts, numbers = used.add, matches.contradicted, index.numbers
    # The rows whose name the package lacks are dropped without a Python step per row.
    found = list(map(matches.positions.__getitem__, rows))
    named = list(map(ne, found, repeat(NO_RECORD)))
    for row, position in zip(compress(rows, named), compress(found, named), strict=True):
        if position == NAMESAKE or position in used or taken(position):
            namesakes.append(row)
        elif conflicts[row]:
            contradicted.append(row)
        else:
            add_used(position)
            links.append((row, numbers[position]))  # the index's int, not a new one
    return ExactMatchOutcome(tuple(links), tuple(namesakes), tuple(contradicted))


# ----------------------------------------------------------------------------- suggestions


class Evidence(StrEnum):
    SAME_NAME = "same name"
    NAME_NEAR = "name nearly the same"
    SAME_EMAIL = "same email"
    SAME_HOUSE = "same postcode and house number"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One of ours (``row``) probably is the package's record at ``position``."""

    row: int
    position: int
    evidence: tuple[Evidence, ...]
    name_differences: tuple[Difference, ...]
    strong: bool
    #: Why to look twice (e.g. the postcodes differ, or the record fits several of ours).
    caution: str = ""

    def describe(self) -> str:
        """The evidence in words, e.g. "name: capital letters differ; same email"."""
        parts: list[str] = []
        for item in self.evidence:
            if item is Evidence.NAME_NEAR:
                parts.append(f"name: {describe_differences(self.name_differences)}")
            else:
                parts.append(item.value)
        if self.caution:
            parts.append(self.caution)
        return "; ".join(parts)


#: A bucket this large (say, a shared "accounts@" address) proves nothing about one row.
MAX_BUCKET = 3
#: Suggestions kept per row of ours, best first.
MAX_PER_ROW = 3


def suggest(
    ours: Sequence[ContactDetails],
    candidates: Iterable[int],
    index: PackageIndex,
    keys: KeyIndex,
    taken: Callable[[int], bool],
    *,
    exact_fields: tuple[str, ...] = (),
) -> list[Suggestion]:
    """Near misses for the rows in ``candidates``, best first within each row.

    Evidence: the name equal apart from capitals, spaces, punctuation or Ltd/Limited; the
    same email; the same postcode and house number. A suggestion is *strong* when the name
    is (nearly) the same and the email or the postcode and house number agree too, the
    postcodes do not contradict it, and neither side has another strong candidate. Up to
    ``MAX_PER_ROW`` are kept per row. Same-name records "Link exact matches" left alone
    (a namesake, another postcode, details the package requires to match) come with a
    caution saying why.
    """
    found: list[Suggestion] = []
    # How many rows claim each package record strongly, counted up to 2 ("more than
    # one" is all that matters): a byte each, not a dict entry each.
    claims = bytearray(len(index.contacts))
    for row in candidates:
        contact = ours[row]
        found_at: dict[int, None] = {}
        for bucket in (
            keys.same_name(contact.name),
            keys.same_email(contact.email),
            keys.same_house(contact),
        ):
            if len(bucket) <= MAX_BUCKET:
                found_at.update(dict.fromkeys(bucket))
        row_found: list[Suggestion] = []
        for position in found_at:
            if taken(position):
                continue
            theirs = index.contacts[position]
            suggestion = _weigh(row, contact, index.numbers[position], theirs, exact_fields)
            if suggestion is not None:
                row_found.append(suggestion)
        strong = [s for s in row_found if s.strong]
        if len(strong) > 1:
            row_found = [_weaken(s, "more than one record fits") for s in row_found]
        for suggestion in row_found:
            if suggestion.strong and claims[suggestion.position] < 2:
                claims[suggestion.position] += 1
        row_found.sort(key=lambda s: (not s.strong, -len(s.evidence)))
        found.extend(row_found[:MAX_PER_ROW])
    return [
        _weaken(s, "it also fits another of yours") if s.strong and claims[s.position] > 1 else s
        for s in found
    ]


def _weaken(suggestion: Suggestion, caution: str) -> Suggestion:
    if not suggestion.strong:
        return suggestion
    return Suggestion(
        suggestion.row,
        suggestion.position,
        suggestion.evidence,
        suggestion.name_differences,
        strong=False,
        caution=caution,
    )


def _weigh(
    row: int,
    ours: ContactDetails,
    position: int,
    theirs: TheirContact,
    exact_fields: tuple[str, ...],
) -> Suggestion | None:
    differences = name_differences(ours.name, theirs.name)
    name_like = Difference.OTHER not in differences
    same_email = bool(email_key(ours.email)) and email_key(ours.email) == email_key(theirs.email)
    same_house = bool(house_key(ours)) and house_key(ours) == house_key(theirs)
    if not name_like and not (same_email and same_house):
        return None
    evidence: list[Evidence] = []
    if name_like:
        evidence.append(Evidence.NAME_NEAR if differences else Evidence.SAME_NAME)
    if same_email:
        evidence.append(Evidence.SAME_EMAIL)
    if same_house:
        evidence.append(Evidence.SAME_HOUSE)
    conflict = postcodes_conflict(ours, theirs)
    if conflict:
        caution = "the postcodes differ: it may be another business with the same name"
    elif not details_match(exact_fields, ours, theirs):
        caution = "the details must be made to match before the link can be saved"
    elif len(evidence) == 1:
        caution = "only the name matches" if name_like else ""
    else:
        caution = ""
    strong = name_like and (same_email or same_house) and not conflict
    # One shared tuple per combination: 100,000 suggestions need only a handful.
    shared = _SHARED.setdefault(tuple(evidence), tuple(evidence))
    return Suggestion(
        row, position, shared, _SHARED.setdefault(differences, differences), strong, caution
    )


_SHARED: dict[tuple[Any, ...], Any] = {}


# ----------------------------------------------------------------------------- duplicates


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Positions in one list that are probably the same business, and why."""

    members: tuple[int, ...]
    reason: str


def duplicate_groups(
    contacts: Sequence[ContactDetails], keys: KeyIndex | None = None
) -> list[DuplicateGroup]:
    """Likely duplicates within one list: names equal apart from capitals, spaces,
    punctuation or Ltd/Limited, or (between different names) the same email address."""
    keys = keys or KeyIndex.build(contacts, houses=False)
    groups: list[DuplicateGroup] = []
    for bucket in keys.by_key.shared():
        by_real_key: dict[str, list[int]] = {}
        for position in bucket:  # a hash collision must not group different names
            by_real_key.setdefault(name_key(contacts[position].name), []).append(position)
        for members in by_real_key.values():
            if len(members) > 1:
                groups.append(DuplicateGroup(tuple(members), _name_reason(contacts, members)))
    for bucket in keys.by_email.shared():
        if len(bucket) > MAX_BUCKET:
            continue
        emails = {email_key(contacts[p].email) for p in bucket}
        names = {name_key(contacts[p].name) for p in bucket}
        if len(emails) == 1 and len(names) > 1:  # same names are grouped above
            groups.append(DuplicateGroup(tuple(bucket), "the same email address"))
    groups.sort(key=lambda g: g.members[0])
    return groups


def _name_reason(contacts: Sequence[ContactDetails], members: Sequence[int]) -> str:
    first = contacts[members[0]].name
    kinds: dict[Difference, None] = {}
    for position in members[1:]:
        kinds.update(dict.fromkeys(name_differences(first, contacts[position].name)))
    return f"names where only {describe_differences(kinds)}" if kinds else "the same name"


# ----------------------------------------------------------------------------- exact match


def details_match(
    exact_fields: tuple[str, ...], ours: ContactDetails, theirs: ContactDetails
) -> bool:
    """Every column of the exact-match rule equal, character for character."""
    for field in exact_fields:
        for column in EXACT_FIELD_COLUMNS[field]:
            if getattr(ours, column) != getattr(theirs, column):
                return False
    return True


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of one side's value; ``differs`` when the other side has something else
    there (an empty run that differs marks where the other side has extra characters)."""

    text: str
    differs: bool


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """One column of the exact-match rule: both values, split into runs for highlighting."""

    column: str
    label: str
    ours: str
    theirs: str
    our_segments: tuple[Segment, ...]
    their_segments: tuple[Segment, ...]
    differences: tuple[Difference, ...]

    @property
    def equal(self) -> bool:
        """True when our value and the package's are exactly the same."""
        return self.ours == self.theirs


def diff_segments(ours: str, theirs: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Both values cut into runs that are the same on both sides or differ."""
    left: list[Segment] = []
    right: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            left.append(Segment(ours[i1:i2], False))
            right.append(Segment(theirs[j1:j2], False))
            continue
        # An empty differing run marks where the other side has something this lacks.
        left.append(Segment(ours[i1:i2], True))
        right.append(Segment(theirs[j1:j2], True))
    return tuple(left), tuple(right)


def compare_exact(
    columns: Sequence[str], ours: ContactDetails, theirs: ContactDetails
) -> tuple[FieldComparison, ...]:
    """Our value beside the package's for each of ``columns``, with differing runs."""
    result = []
    for column in columns:
        a, b = getattr(ours, column), getattr(theirs, column)
        left, right = diff_segments(a, b)
        result.append(
            FieldComparison(
                column=column,
                label=FIELD_LABELS.get(column, column),
                ours=a,
                theirs=b,
                our_segments=left,
                their_segments=right,
                differences=name_differences(a, b),
            )
        )
    return tuple(result)
