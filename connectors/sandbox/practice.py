"""Demo pre-fill: put contacts into the Sandbox so that linking has real work to do.

A business that already keeps its books in a package has many of its customers there
already, some typed slightly differently, some businesses with the same name that are not
the same, and some missing. :func:`prefill_for_demo` recreates that, deterministically,
from Ledgerlink's own customer and supplier lists:

* **exact**: copied with the same name, address, email and phone;
* **near miss**: the same record but the name typed differently: capitals, an extra or
  missing space, "Ltd" for "Limited" (or back), or punctuation ("&" for "and", a full
  stop or apostrophe left out), spreading the kinds as evenly as the names allow;
* **namesake**: a different business with exactly the same name, at another address;
* **missing**: not in the Sandbox at all (sending creates it).

Which category each of ours falls in follows a fixed pattern over the list's order
(customers: 5 in 10 exact, 2 near misses, 1 namesake, 2 missing; suppliers: 7 in 10
exact, 1 of each other kind). A record that cannot be placed as planned (its name would
clash with another pre-filled record, or the Sandbox would refuse it, e.g. a malformed
email) falls back to *missing*, and the summary says so. Pre-filled contacts carry no
account reference of ours, so nothing is "already sent". Nothing else is created; the
lock date is set to 30/11/2025, the day before the demo data's first invoice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from connectors.contract import ContactDraft, ContactRole
from connectors.sandbox.connector import SandboxConnector
from connectors.sandbox.models import name_key
from connectors.sandbox.rules import EMAIL_PATTERN, MAX_NAME_LENGTH
from connectors.sandbox.store import DEFAULT_COMPANY_NAME, SandboxStore

DEMO_LOCK_DATE = date(2025, 11, 30)


class PrefillCategory(StrEnum):
    EXACT = "exact"
    NEAR_MISS = "near_miss"
    NAMESAKE = "namesake"
    MISSING = "missing"


_E, _N, _S, _M = (
    PrefillCategory.EXACT,
    PrefillCategory.NEAR_MISS,
    PrefillCategory.NAMESAKE,
    PrefillCategory.MISSING,
)
#: The plan repeats every ten records, in list order.
CUSTOMER_PATTERN: tuple[PrefillCategory, ...] = (_E, _E, _N, _E, _M, _E, _S, _E, _N, _M)
SUPPLIER_PATTERN: tuple[PrefillCategory, ...] = (_E, _E, _E, _N, _E, _E, _M, _E, _S, _E)

#: Addresses given to namesakes (the first whose town differs from ours is used).
NAMESAKE_ADDRESSES: tuple[tuple[str, str, str, str], ...] = (
    ("Unit 4, Riverside Trading Estate", "Derby", "Derbyshire", "DE1 3QX"),
    ("12 Station Road", "Carlisle", "Cumbria", "CA1 1QW"),
    ("3 Market Place", "Truro", "Cornwall", "TR1 2RT"),
    ("88 High Street", "Lincoln", "Lincolnshire", "LN1 1HN"),
    ("27 Quayside", "Whitby", "North Yorkshire", "YO21 3EP"),
)


@dataclass(frozen=True)
class PrefilledContact:
    """Where one of our contacts ended up.

    ``sandbox_ref``/``sandbox_name`` are empty for *missing*. ``variation`` says how a
    near miss differs (``case``, ``spaces``, ``ltd``, ``punctuation``), ``address`` for a
    namesake, and for a record that fell back to *missing* why (``name_clash``,
    ``refused``).
    """

    our_ref: str
    name: str
    category: PrefillCategory
    sandbox_ref: str = ""
    sandbox_name: str = ""
    variation: str = ""


@dataclass(frozen=True)
class RolePrefill:
    """The outcome for our customers (or suppliers), in the order they were given."""

    role: ContactRole
    contacts: tuple[PrefilledContact, ...]

    def refs(self, category: PrefillCategory) -> tuple[str, ...]:
        """Our account references that fell in ``category``."""
        return tuple(c.our_ref for c in self.contacts if c.category is category)

    @property
    def exact(self) -> tuple[str, ...]:
        """Our references whose contact went in exactly as ours."""
        return self.refs(PrefillCategory.EXACT)

    @property
    def near_miss(self) -> tuple[str, ...]:
        """Our references whose contact went in with the name typed slightly differently."""
        return self.refs(PrefillCategory.NEAR_MISS)

    @property
    def namesake(self) -> tuple[str, ...]:
        """Our references whose name went in on a different business, at another address."""
        return self.refs(PrefillCategory.NAMESAKE)

    @property
    def missing(self) -> tuple[str, ...]:
        """Our references left out of the Sandbox (including those that could not be placed)."""
        return self.refs(PrefillCategory.MISSING)

    def get(self, our_ref: str) -> PrefilledContact:
        """The outcome for one of ours; ``KeyError`` if it was not in the list."""
        for contact in self.contacts:
            if contact.our_ref == our_ref:
                return contact
        raise KeyError(our_ref)

    def category_of(self, our_ref: str) -> PrefillCategory:
        """How the contact with our reference ``our_ref`` was prefilled; ``KeyError`` if unknown."""
        return self.get(our_ref).category


@dataclass(frozen=True)
class PrefillSummary:
    company_name: str
    lock_date: date
    customers: RolePrefill
    suppliers: RolePrefill

    def for_role(self, role: ContactRole) -> RolePrefill:
        """The customers' or the suppliers' outcome, by ``role``."""
        return self.customers if role is ContactRole.CUSTOMER else self.suppliers


# ----------------------------------------------------------------------------- variations


def _case(name: str) -> str | None:
    upper = name.upper()
    if upper != name:
        return upper
    lower = name.lower()
    return lower if lower != name else None


def _spaces(name: str) -> str | None:
    if " & " in name:
        return name.replace(" & ", "&", 1)  # missing spaces
    if " " in name:
        return name.replace(" ", "  ", 1)  # an extra space
    return None


_LTD = re.compile(r"\bLtd\.?$", re.IGNORECASE)
_LIMITED = re.compile(r"\bLimited$", re.IGNORECASE)


def _ltd(name: str) -> str | None:
    if _LTD.search(name):
        return _LTD.sub("Limited", name)
    if _LIMITED.search(name):
        return _LIMITED.sub("Ltd", name)
    return None


def _punctuation(name: str) -> str | None:
    if " & " in name:
        return name.replace(" & ", " and ", 1)
    if " and " in name:
        return name.replace(" and ", " & ", 1)
    stripped = re.sub(r"[.,']", "", name)
    if stripped != name and stripped.strip():
        return stripped
    return None


VARIATIONS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("case", _case),
    ("spaces", _spaces),
    ("ltd", _ltd),
    ("punctuation", _punctuation),
)


# ----------------------------------------------------------------------------- planning


@dataclass
class _Planner:
    """Chooses what to put in the Sandbox, keeping every pre-filled name unique and never
    accidentally equal (capitals/spaces ignored) to another of *our* contacts."""

    our_keys: dict[str, int]
    used_keys: set[str] = field(default_factory=set)
    near_misses: int = 0
    namesakes: int = 0
    variations_used: dict[str, int] = field(default_factory=dict)

    def free(self, key: str, own_key: str) -> bool:
        """May a pre-filled record take ``key``? Not if one already has it, nor if it
        would collide with one of ours other than the one it stands for."""
        if key in self.used_keys:
            return False
        others = self.our_keys.get(key, 0) - (1 if key == own_key else 0)
        return others == 0

    def plan(
        self, ours: ContactDraft, category: PrefillCategory
    ) -> tuple[PrefilledContact, ContactDraft | None]:
        own_key = name_key(ours.name)
        base = PrefilledContact(our_ref=ours.our_ref, name=ours.name, category=category)
        missing = replace(base, category=PrefillCategory.MISSING)
        if category is PrefillCategory.MISSING:
            return base, None
        name = ours.name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            return replace(missing, variation="refused"), None
        email_ok = not ours.email.strip() or EMAIL_PATTERN.fullmatch(ours.email.strip())
        copy = replace(ours, our_ref="")
        if category is PrefillCategory.EXACT:
            if not email_ok:
                return replace(missing, variation="refused"), None
            if not self.free(own_key, own_key):
                return replace(missing, variation="name_clash"), None
            return self._take(base, copy, own_key, "")
        if category is PrefillCategory.NEAR_MISS:
            if not email_ok:
                return replace(missing, variation="refused"), None
            start = self.near_misses
            self.near_misses += 1
            # Of the variations that apply, the one used least so far; ties go round in
            # turn. So "Ltd"/"Limited" and punctuation appear whenever a name allows them.
            choices: list[tuple[int, int, str, str]] = []
            for offset in range(len(VARIATIONS)):
                label, vary = VARIATIONS[(start + offset) % len(VARIATIONS)]
                varied = vary(ours.name)
                if varied is None or varied == ours.name or len(varied.strip()) > MAX_NAME_LENGTH:
                    continue
                if self.free(name_key(varied), own_key):
                    choices.append((self.variations_used.get(label, 0), offset, label, varied))
            if not choices:
                return replace(missing, variation="name_clash"), None
            _, _, label, varied = min(choices)
            self.variations_used[label] = self.variations_used.get(label, 0) + 1
            return self._take(base, replace(copy, name=varied), name_key(varied), label)
        # A namesake: the same name, another business at another address.
        if not self.free(own_key, own_key):
            return replace(missing, variation="name_clash"), None
        address = self._namesake_address(ours.town)
        namesake = ContactDraft(
            role=ours.role,
            our_ref="",
            name=ours.name,
            address_1=address[0],
            town=address[1],
            county=address[2],
            postcode=address[3],
        )
        return self._take(base, namesake, own_key, "address")

    def _namesake_address(self, our_town: str) -> tuple[str, str, str, str]:
        count = len(NAMESAKE_ADDRESSES)
        start = self.namesakes
        self.namesakes += 1
        for offset in range(count):
            candidate = NAMESAKE_ADDRESSES[(start + offset) % count]
            if candidate[1].casefold() != our_town.strip().casefold():
                return candidate
        return NAMESAKE_ADDRESSES[0]  # pragma: no cover - the towns all differ

    def _take(
        self, base: PrefilledContact, draft: ContactDraft, key: str, variation: str
    ) -> tuple[PrefilledContact, ContactDraft]:
        self.used_keys.add(key)
        return replace(base, sandbox_name=draft.name.strip(), variation=variation), draft


def prefill_for_demo(
    target: SandboxStore | SandboxConnector,
    customers: Sequence[ContactDraft],
    suppliers: Sequence[ContactDraft],
    *,
    reset: bool = True,
    company_name: str = DEFAULT_COMPANY_NAME,
) -> PrefillSummary:
    """Fill the Sandbox for the demo from our customers and suppliers; see the module.

    With ``reset`` (the default) the Sandbox is emptied first, so the outcome depends only
    on the two lists. Without it, names already in the Sandbox count as taken.
    """
    store = target.store if isinstance(target, SandboxConnector) else target
    if reset:
        store.reset(company_name=company_name)
    our_keys: dict[str, int] = {}
    for contact in (*customers, *suppliers):
        key = name_key(contact.name)
        our_keys[key] = our_keys.get(key, 0) + 1
    planner = _Planner(our_keys=our_keys)
    if not reset:
        planner.used_keys.update(name_key(c.name) for c in store.list_contacts())

    outcomes: dict[ContactRole, list[PrefilledContact]] = {
        ContactRole.CUSTOMER: [],
        ContactRole.SUPPLIER: [],
    }
    to_add: list[tuple[ContactRole, int, ContactDraft]] = []
    for role, drafts, pattern in (
        (ContactRole.CUSTOMER, customers, CUSTOMER_PATTERN),
        (ContactRole.SUPPLIER, suppliers, SUPPLIER_PATTERN),
    ):
        for index, ours in enumerate(drafts):
            if ours.role is not role:
                raise ValueError(
                    f"{ours.our_ref!r} is a {ours.role.value} but was given as a {role.value}"
                )
            outcome, planned = planner.plan(ours, pattern[index % len(pattern)])
            outcomes[role].append(outcome)
            if planned is not None:
                to_add.append((role, len(outcomes[role]) - 1, planned))

    added = store.add_contacts([draft for _, _, draft in to_add])
    for (role, position, _), remote in zip(to_add, added, strict=True):
        outcomes[role][position] = replace(outcomes[role][position], sandbox_ref=remote.ref)

    store.set_lock_date(DEMO_LOCK_DATE)
    return PrefillSummary(
        company_name=store.company().name,
        lock_date=DEMO_LOCK_DATE,
        customers=RolePrefill(ContactRole.CUSTOMER, tuple(outcomes[ContactRole.CUSTOMER])),
        suppliers=RolePrefill(ContactRole.SUPPLIER, tuple(outcomes[ContactRole.SUPPLIER])),
    )
