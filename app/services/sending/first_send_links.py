"""Before a send creates a contact: link it if the package has it, or hold it back.

Two things happen to a never-linked customer or supplier before the sender would create
it, in one pass per send run (and, identically, in the pre-flight check, inside the
session it rolls back, so the dry run predicts exactly what the send does):

* **Hold back** (the per-business option "send customers and suppliers only with a
  transaction", off by default): a contact no invoice, credit note or payment ready to
  send refers to stays *waiting*, marked with :data:`HELD_BACK` and the reason; it is not
  a failure. The run in which such a transaction is ready releases it, and it goes
  first, with its transaction after it.
* **Link on first send**: the package's contacts of that role are read once per run and
  matched by the link grid's own rules (:mod:`app.services.linking.matching`): an exact
  match by the package's rule (the exact name; Sage Business Cloud: name, address and
  email, character for character) is *linked* instead of created, recorded as a link
  and in the audit. Two or more matches, a match already linked to another of ours, a
  same-name record somewhere else, or a near miss (the link grid's suggestions) is never
  guessed: the record fails with :data:`CHOOSE`, "choose which one", fixed on the Link
  page at that contact, or by saying it is new (:func:`confirm_new_contacts`).

Desktop bridges cannot be asked live: their ``iter_contacts`` reads the lists last read
from the package (QuickBooks Desktop: the Web Connector's last list poll; Sage 50: the
record exports last imported), so a contact added in the package since then is not
seen, and is created (where QuickBooks then refuses a duplicate name, that refusal comes
back as a failure with its fix). See docs/sending.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.lookups import batches, one_of
from app.db.models import (
    Contact,
    ContactKind,
    Document,
    Link,
    LinkMethod,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
)
from app.services.audit import event_values, record_event, record_events
from app.services.linking.matching import (
    EXACT_FIELD_COLUMNS,
    FIELD_LABELS,
    ExactMatchOutcome,
    KeyIndex,
    OurContact,
    PackageIndex,
    TheirContact,
    exact_matches,
    filed,
    postcodes_conflict,
    suggest,
)
from app.services.sending.causes import CHOOSE_CODE, NOUNS
from app.services.sending.causes import HELD_BACK as HELD_BACK
from app.services.sending.drafts import Problem, contact_label, record_label
from app.services.sending.outbox import clear_error, entries_by_id
from app.services.setup.state import get_setting, set_setting
from connectors.contract import ContactRole, PackageInfo
from connectors.registry import package_info
from connectors.wording import count

#: ``error_code`` of a contact that failed because the package may already hold it.
CHOOSE = CHOOSE_CODE

CONTACT_TYPES = (RecordType.CUSTOMER, RecordType.SUPPLIER)

#: Reads the package's contacts of one role (the sender's goes through its rate limit).
ReadContacts = Callable[[ContactRole], Sequence[TheirContact]]


def _new_key(package: str) -> str:
    return f"first_send.create_new.{package}"


def _role(record_type: RecordType) -> ContactRole:
    return ContactRole.CUSTOMER if record_type is RecordType.CUSTOMER else ContactRole.SUPPLIER


@dataclass(frozen=True)
class LinkFound:
    """A contact the package already holds: it is linked, not created."""

    entry_id: int
    record_type: RecordType
    contact_id: int
    label: str
    remote_ref: str
    remote_name: str


@dataclass(frozen=True)
class MustChoose:
    """A contact the package may already hold once or more: the user chooses."""

    entry_id: int
    record_type: RecordType
    contact_id: int
    label: str
    problem: Problem


@dataclass(frozen=True)
class HeldBack:
    """A contact that waits for a transaction that needs it."""

    entry_id: int
    record_type: RecordType
    contact_id: int
    label: str
    reason: str


@dataclass
class FirstSendPlan:
    """What happens to the never-linked contacts before anything is created."""

    links: list[LinkFound] = field(default_factory=list)
    choose: list[MustChoose] = field(default_factory=list)
    held: list[HeldBack] = field(default_factory=list)
    #: Waiting rows marked held back that a transaction now needs (or the option is off).
    released: list[int] = field(default_factory=list)


class PackageContacts:
    """The package's contacts of each role, read at most once (one send or dry run)."""

    def __init__(self, read: ReadContacts) -> None:
        self._read = read
        self._by_role: dict[ContactRole, Sequence[TheirContact]] = {}

    def of(self, role: ContactRole) -> Sequence[TheirContact]:
        """Every contact of ``role`` the package holds (read on first use)."""
        if role not in self._by_role:
            self._by_role[role] = self._read(role)
        return self._by_role[role]


# ----------------------------------------------------------------------------- planning


def plan_first_send(
    session: Session,
    info: PackageInfo,
    contacts: PackageContacts,
    *,
    hold_back: bool,
    cutoff: date | None,
    pending_codes: Collection[str],
) -> FirstSendPlan:
    """Decide, without writing anything, what becomes of each never-linked contact
    about to be created: held back, linked, "choose which one", or (absent from the
    plan) created. ``pending_codes`` are the failure codes the sender re-checks every
    run (a transaction failed with one of them is still on its way)."""
    plan = FirstSendPlan()
    rows = _candidate_rows(session, info.key)
    if not rows:
        return plan
    ready = (
        _contacts_with_ready_transactions(session, info.key, cutoff, pending_codes)
        if hold_back
        else set()
    )
    labels: dict[int, str] = {}
    for chunk in batches(session, sorted({row.record_id for row in rows})):
        labels.update(
            (contact.id, contact_label(contact))
            for contact in session.execute(
                select(Contact.id, Contact.kind, Contact.name, Contact.account_ref).where(
                    one_of(session, Contact.id, chunk)
                )
            )
        )
    to_match: list[_Candidate] = []
    for row in rows:
        if hold_back and row.record_id not in ready:
            plan.held.append(
                HeldBack(
                    row.id,
                    row.record_type,
                    row.record_id,
                    labels.get(row.record_id, ""),
                    _held_reason(row.record_type),
                )
            )
            continue
        if row.state is SendState.WAITING and row.error_code == HELD_BACK:
            plan.released.append(row.id)
        to_match.append(row)
    if not info.can_list_contacts:
        return plan
    confirmed_new = set(get_setting(session, _new_key(info.key), []))
    to_match = [row for row in to_match if row.record_id not in confirmed_new]
    for record_type in CONTACT_TYPES:
        mine = [row for row in to_match if row.record_type is record_type]
        if mine:
            _match_role(session, info, contacts, record_type, mine, labels, plan)
    return plan


class _Candidate(NamedTuple):
    """The outbox row of a contact the first pass looks at (a plain row)."""

    id: int
    record_type: RecordType
    record_id: int
    state: SendState
    error_code: str


def _candidate_rows(session: Session, package: str) -> list[_Candidate]:
    """Never-linked contacts that wait to be created (or failed for "choose which one",
    which is looked at again every run), and held-back ones."""
    linked = select(Link.contact_id).where(Link.package == package)
    make = partial(tuple.__new__, _Candidate)  # _Candidate._make without its Python call
    columns = (getattr(OutboxEntry, name) for name in _Candidate._fields)
    return [
        make(row)
        for row in session.execute(
            select(*columns)
            .where(
                OutboxEntry.package == package,
                OutboxEntry.record_type.in_(CONTACT_TYPES),
                (OutboxEntry.state == SendState.WAITING)
                | ((OutboxEntry.state == SendState.FAILED) & (OutboxEntry.error_code == CHOOSE)),
                OutboxEntry.record_id.not_in(linked),
            )
            .order_by(OutboxEntry.record_type, OutboxEntry.record_id)
        ).all()
    ]


def _contacts_with_ready_transactions(
    session: Session, package: str, cutoff: date | None, pending_codes: Collection[str]
) -> set[int]:
    """Contacts referred to by an invoice, credit note or payment that is ready to send:
    queued for this package and not yet sent (waiting, or failed on our side and
    re-checked every run), dated on or after the cut-off date."""
    pending = (OutboxEntry.state == SendState.WAITING) | (
        (OutboxEntry.state == SendState.FAILED) & OutboxEntry.error_code.in_(pending_codes)
    )
    ready: set[int] = set()
    for owner, types in (
        (Document, [RecordType.INVOICE, RecordType.CREDIT_NOTE]),
        (Payment, [RecordType.PAYMENT]),
    ):
        query = (
            select(owner.contact_id)
            .join(
                OutboxEntry,
                (OutboxEntry.record_id == owner.id) & OutboxEntry.record_type.in_(types),
            )
            .where(OutboxEntry.package == package, pending)
            .distinct()
        )
        if cutoff is not None:
            query = query.where(owner.date >= cutoff)
        ready.update(session.scalars(query))
    return ready


def _held_reason(record_type: RecordType) -> str:
    noun = record_type.value
    return (
        f"Waiting for a transaction: this {noun} is sent with the first invoice, credit "
        "note or payment that is ready to send for it (the option “send customers and "
        "suppliers only with a transaction” is on)."
    )


def _our_contacts(session: Session, kind: ContactKind) -> list[OurContact]:
    rows = session.execute(
        select(
            Contact.id,
            Contact.account_ref,
            Contact.name,
            Contact.address_1,
            Contact.address_2,
            Contact.address_3,
            Contact.town,
            Contact.county,
            Contact.postcode,
            Contact.email,
        ).where(Contact.kind == kind)
    )
    return [OurContact(**row._asdict()) for row in rows]


def _match_role(
    session: Session,
    info: PackageInfo,
    contacts: PackageContacts,
    record_type: RecordType,
    rows: list[_Candidate],
    labels: dict[int, str],
    plan: FirstSendPlan,
) -> None:
    """Match ``rows`` (one role) against the package's contacts of that role."""
    role = _role(record_type)
    theirs = contacts.of(role)
    if not theirs:
        return
    ours = _our_contacts(session, ContactKind(record_type.value))
    position_of = {contact.id: p for p, contact in enumerate(ours)}
    index = PackageIndex(theirs, info)
    taken: set[int] = set()
    for (ref,) in session.execute(
        select(Link.remote_ref)
        .join(Contact, Contact.id == Link.contact_id)
        .where(Link.package == info.key, Contact.kind == ContactKind(record_type.value))
    ):
        found = index.position_of(ref)
        if found is not None:
            taken.add(found)
    entry_of = {position_of[row.record_id]: row for row in rows if row.record_id in position_of}
    candidates = sorted(entry_of)
    outcome = exact_matches(
        ours, candidates, index, taken.__contains__, exact_fields=info.exact_match_fields
    )
    for row, position in outcome.links:
        entry, theirs_one = entry_of[row], index.contacts[position]
        plan.links.append(
            LinkFound(
                entry.id,
                record_type,
                entry.record_id,
                labels.get(entry.record_id, ""),
                index.reference_of(theirs_one),
                theirs_one.name,
            )
        )
        taken.add(position)
    decided = {row for row, _ in outcome.links}
    why = _why_not_linked(info, role, ours, index, taken, outcome)
    for row, problem in why.items():
        decided.add(row)
        entry = entry_of[row]
        plan.choose.append(
            MustChoose(
                entry.id, record_type, entry.record_id, labels.get(entry.record_id, ""), problem
            )
        )
    rest = [row for row in candidates if row not in decided]
    if not rest:
        return
    keys = KeyIndex.build(index.contacts)
    near: dict[int, list[str]] = {}
    for suggestion in suggest(
        ours, rest, index, keys, taken.__contains__, exact_fields=info.exact_match_fields
    ):
        their = index.contacts[suggestion.position]
        near.setdefault(suggestion.row, []).append(
            f"“{their.name}” ({index.reference_of(their)}: {suggestion.describe()})"
        )
    for row in rest:
        if row not in near:
            continue
        entry = entry_of[row]
        shown = near[row]
        plan.choose.append(
            MustChoose(
                entry.id,
                record_type,
                entry.record_id,
                labels.get(entry.record_id, ""),
                _choose(
                    info,
                    role,
                    ours[row],
                    f"{info.name} has {count(len(shown), role.value)} that nearly "
                    f"{'matches' if len(shown) == 1 else 'match'}: {'; '.join(shown)}",
                ),
            )
        )


def _why_not_linked(
    info: PackageInfo,
    role: ContactRole,
    ours: Sequence[OurContact],
    index: PackageIndex,
    taken: set[int],
    outcome: ExactMatchOutcome,
) -> dict[int, Problem]:
    """The reason each same-name row ``exact_matches`` left alone must be chosen."""
    names = Counter(contact.name for contact in ours)
    found: dict[int, Problem] = {}
    for row in (*outcome.namesakes, *outcome.contradicted):
        contact = ours[row]
        positions = list(filed(index.by_name, contact.name))
        refs = ", ".join(index.reference_of(index.contacts[p]) for p in positions[:3])
        if len(positions) > 1:
            why = (
                f"{info.name} already has {count(len(positions), role.value)} named "
                f"“{contact.name}” ({refs})"
            )
        elif names[contact.name] > 1:
            why = (
                f"{count(names[contact.name], role.value)} of yours are named "
                f"“{contact.name}”, and {info.name} has one ({refs})"
            )
        elif positions and positions[0] in taken:
            why = (
                f"{info.name}'s {role.value} “{contact.name}” ({refs}) is already linked "
                f"to another of your {role.value}s"
            )
        else:
            theirs = index.contacts[positions[0]]
            why = (
                f"{info.name} has a {role.value} named “{contact.name}” ({refs}), but "
                + _contradiction(info, contact, theirs)
            )
        found[row] = _choose(info, role, contact, why)
    return found


def _contradiction(info: PackageInfo, ours: OurContact, theirs: TheirContact) -> str:
    if postcodes_conflict(ours, theirs):
        return f"its postcode is {theirs.postcode} and yours is {ours.postcode}"
    differing = [
        FIELD_LABELS.get(column, column).lower()
        for name in info.exact_match_fields
        for column in EXACT_FIELD_COLUMNS[name]
        if getattr(ours, column) != getattr(theirs, column)
    ]
    listed = ", ".join(differing) or "its details"
    return (
        f"its {listed} {'differs' if len(differing) == 1 else 'differ'} from yours, and "
        f"{info.name} links only when they are the same, character for character"
    )


def _choose(info: PackageInfo, role: ContactRole, contact: OurContact, why: str) -> Problem:
    page = "Link suppliers" if role is ContactRole.SUPPLIER else "Link customers"
    return Problem(
        code=CHOOSE,
        field="name",
        reason=f"{why}. Ledgerlink never guesses, so it has neither linked nor created "
        f"this {role.value}.",
        fix=f"Choose which one: open {page} at this {role.value} and link it to the right "
        f"{info.name} {role.value}; if it is none of them, choose “Create new”.",
        subject=contact.account_ref,
    )


# ----------------------------------------------------------------------------- applying

#: Writes an audit entry for one outbox row: (session, entry, action, detail).
Audit = Callable[..., None]


@dataclass
class Applied:
    """What applying a plan changed, by record type."""

    linked: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)


def apply_plan(session: Session, package: str, plan: FirstSendPlan, *, actor: str) -> Applied:
    """Write ``plan``: links made (the row successful, as for a contact linked on the
    Link page), "choose which one" failures, held-back and released marks, each with an
    audit entry. A row someone changed since the plan was made (linked it meanwhile,
    say) is left as it now is."""
    applied = Applied()
    wanted = [
        *(item.entry_id for item in plan.links),
        *(item.entry_id for item in plan.choose),
        *(item.entry_id for item in plan.held),
        *plan.released,
    ]
    entries = {entry.id: entry for entry in entries_by_id(session, wanted)}
    linked_ids = {
        contact_id
        for chunk in batches(session, sorted({entry.record_id for entry in entries.values()}))
        for contact_id in session.scalars(
            select(Link.contact_id).where(
                Link.package == package, one_of(session, Link.contact_id, chunk)
            )
        )
    }

    def still_open(entry_id: int) -> OutboxEntry | None:
        entry = entries.get(entry_id)
        if entry is None or entry.record_id in linked_ids:
            return None
        if entry.state is SendState.WAITING or (
            entry.state is SendState.FAILED and entry.error_code == CHOOSE
        ):
            return entry
        return None

    events: list[dict[str, Any]] = []

    def audit(entry: OutboxEntry, action: str, **detail: object) -> None:
        events.append(
            event_values(
                actor=actor,
                action=action,
                package=package,
                record_type=entry.record_type.value,
                record_id=entry.record_id,
                **detail,
            )
        )

    for found in plan.links:
        entry = still_open(found.entry_id)
        if entry is None:
            continue
        session.add(
            Link(
                package=package,
                contact_id=entry.record_id,
                remote_ref=found.remote_ref,
                remote_name=found.remote_name,
                method=LinkMethod.LINKED_ON_SEND,
            )
        )
        entry.state = SendState.SUCCESSFUL
        entry.remote_id = found.remote_ref
        clear_error(entry)
        audit(entry, "linked_on_send", remote_ref=found.remote_ref, remote_name=found.remote_name)
        applied.linked[entry.record_type.value] += 1
    for choice in plan.choose:
        entry = still_open(choice.entry_id)
        if entry is None:
            continue
        problem = choice.problem
        changed = entry.error_code != problem.code or entry.error_reason != problem.reason
        entry.state = SendState.FAILED
        entry.error_code, entry.error_field = problem.code, problem.field
        entry.error_reason, entry.error_fix = problem.reason, problem.fix
        entry.error_subject = problem.subject
        entry.blocked_by_id = None
        if changed:
            audit(entry, "failed", code=problem.code, field=problem.field, reason=problem.reason)
        applied.failed[entry.record_type.value] += 1
    for held in plan.held:
        entry = still_open(held.entry_id)
        if entry is None:
            continue
        if entry.error_code != HELD_BACK:
            audit(entry, "held_back", reason=held.reason)
        entry.state = SendState.WAITING
        clear_error(entry)
        entry.error_code, entry.error_reason = HELD_BACK, held.reason
        entry.error_fix = "Nothing to do: it goes with its first transaction."
        applied.held[entry.record_type.value] += 1
    for entry_id in plan.released:
        entry = still_open(entry_id)
        if entry is None or entry.error_code != HELD_BACK:
            continue
        clear_error(entry)
        audit(entry, "released", reason="a transaction that needs it is ready to send")
    record_events(session, events)
    return applied


def release_all(session: Session, package: str, *, actor: str) -> int:
    """Clear every held-back mark (the option was turned off); returns how many."""
    rows = session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.package == package,
            OutboxEntry.state == SendState.WAITING,
            OutboxEntry.error_code == HELD_BACK,
        )
    ).all()
    for entry in rows:
        clear_error(entry)
        record_event(
            session,
            actor=actor,
            action="released",
            package=package,
            record_type=entry.record_type.value,
            record_id=entry.record_id,
            reason="the option to send contacts only with a transaction was turned off",
        )
    return len(rows)


# ----------------------------------------------------------------------------- user actions


def confirm_new_contacts(
    session: Session, package: str, entry_ids: Iterable[int], *, actor: str
) -> int:
    """The user says these "choose which one" contacts are none of the package's: they
    are created by the next send, and never matched again. Returns how many."""
    wanted = set(entry_ids)
    rows = entries_by_id(session, wanted)
    missing = wanted - {entry.id for entry in rows}
    if missing:
        raise ValueError(f"there is no outbox row #{min(missing)}")
    key = _new_key(package)
    confirmed = set(get_setting(session, key, []))
    done = 0
    for entry in rows:
        # The label is read only for a refusal: one look-up per row would be a query per
        # contact confirmed.
        if entry.package != package or entry.record_type not in CONTACT_TYPES:
            who = record_label(session, entry.record_type, entry.record_id)
            raise ValueError(
                f"#{entry.id} ({who}) is not a customer or supplier waiting to go to "
                f"{package_info(package).name}"
            )
        if not (entry.state is SendState.FAILED and entry.error_code == CHOOSE):
            who = record_label(session, entry.record_type, entry.record_id)
            raise ValueError(
                f"{who} is not waiting for you to choose which one, so there is nothing to confirm"
            )
        confirmed.add(entry.record_id)
        entry.state = SendState.WAITING
        clear_error(entry)
        record_event(
            session,
            actor=actor,
            action="confirmed_new",
            package=package,
            record_type=entry.record_type.value,
            record_id=entry.record_id,
        )
        done += 1
    set_setting(session, key, sorted(confirmed))
    return done


def held_back_counts(session: Session, package: str) -> Counter[str]:
    """Waiting contacts held back until a transaction needs them, by record type."""
    found: Counter[str] = Counter()
    for record_type, n in session.execute(
        select(OutboxEntry.record_type, func.count())
        .where(
            OutboxEntry.package == package,
            OutboxEntry.state == SendState.WAITING,
            OutboxEntry.error_code == HELD_BACK,
        )
        .group_by(OutboxEntry.record_type)
    ):
        found[record_type.value] = n
    return found


def linked_sentence(linked: Counter[str], package_name: str) -> str:
    """``"linked 3 customers and 1 supplier to ones already in Xero"``, or ``""``."""
    parts = [count(n, NOUNS[kind]) for kind, n in sorted(linked.items()) if n]
    if not parts:
        return ""
    return f"linked {' and '.join(parts)} to ones already in {package_name}"
