"""Pre-flight: what a send would do, record by record, before anything is written.

It reads the package (contacts, accounts, VAT rates, lock dates) once, builds every
waiting record's draft with the same builder the sender uses, and predicts the package's
own refusals: duplicate contact names, the lock date, invalid emails, accounts that no
longer exist. Nothing is written: the outbox rows it needs are made in a session that is
rolled back.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import OutboxEntry, RecordType, SendState
from app.services.linking.matching import TheirContact, paused_gc
from app.services.sending.causes import Cause, FailedRecord, group_causes
from app.services.sending.drafts import BuiltDraft, DraftBuilder, Problem
from app.services.sending.first_send_links import (
    HELD_BACK,
    FirstSendPlan,
    PackageContacts,
    apply_plan,
    plan_first_send,
)
from app.services.sending.outbox import sync_outbox
from app.services.sending.sender import LOCAL_PROBLEM_CODES
from app.services.setup.state import load_setup
from connectors.contract import (
    Connector,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    PaymentDraft,
    RemoteContact,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Waiting(NamedTuple):
    """An outbox row pre-flight looks at (a plain row, not an ORM object)."""

    id: int
    record_type: RecordType
    record_id: int


@dataclass(frozen=True)
class PreflightItem:
    outbox_id: int
    record_type: str
    label: str
    outcome: str  # "send", "fail", "link" (found in the package) or "wait" (held back)
    problem: Problem | None = None
    #: For "link": the package's record it is linked to, as "Name (reference)".
    linked_to: str = ""

    def to_json(self) -> dict[str, Any]:
        """The item as the CLI's JSON output gives it, with the problem's code, field, reason and
        fix when it would fail."""
        data: dict[str, Any] = {
            "outbox_id": self.outbox_id,
            "record_type": self.record_type,
            "label": self.label,
            "outcome": self.outcome,
        }
        if self.linked_to:
            data["linked_to"] = self.linked_to
        if self.problem is not None:
            data.update(
                code=self.problem.code,
                field=self.problem.field,
                reason=self.problem.reason,
                fix=self.problem.fix,
            )
        return data


@dataclass
class PreflightReport:
    package: str
    items: list[PreflightItem] = field(default_factory=list)
    already_linked: int = 0

    @property
    def to_send(self) -> Counter[str]:
        """How many records of each type would be sent."""
        return Counter(i.record_type for i in self.items if i.outcome == "send")

    @property
    def failures(self) -> list[PreflightItem]:
        """The records that would fail, each with its problem."""
        return [i for i in self.items if i.outcome == "fail"]

    @property
    def linked(self) -> list[PreflightItem]:
        """Contacts the package already holds: linked, not created."""
        return [i for i in self.items if i.outcome == "link"]

    @property
    def held_back(self) -> list[PreflightItem]:
        """Contacts that wait for a transaction that needs them (not failures)."""
        return [i for i in self.items if i.outcome == "wait"]

    def root_causes(self) -> list[tuple[PreflightItem, list[PreflightItem]]]:
        """Each failure that is not merely held back, with the items it holds back."""
        by_id = {i.outbox_id: i for i in self.failures}
        groups: dict[int, list[PreflightItem]] = {}
        order: list[int] = []
        for item in self.failures:
            root = item
            seen = {item.outbox_id}
            while (
                root.problem is not None
                and root.problem.blocked_by in by_id
                and root.problem.blocked_by not in seen
            ):
                root = by_id[root.problem.blocked_by]
                seen.add(root.outbox_id)
            if root.outbox_id not in groups:
                groups[root.outbox_id] = []
                order.append(root.outbox_id)
            if root is not item:
                groups[root.outbox_id].append(item)
        return [(by_id[i], groups[i]) for i in order]

    def causes(self, package_name: str) -> list[Cause]:
        """The failures grouped by their true cause, largest first."""
        return group_causes(
            (
                FailedRecord(
                    outbox_id=i.outbox_id,
                    record_type=i.record_type,
                    label=i.label,
                    code=i.problem.code,
                    field=i.problem.field,
                    reason=i.problem.reason,
                    fix=i.problem.fix,
                    blocked_by=i.problem.blocked_by,
                    subject=i.problem.subject,
                )
                for i in self.failures
                if i.problem is not None
            ),
            package_name,
        )

    def to_json(self) -> dict[str, Any]:
        """The report as ``send --dry-run --json`` prints it."""
        return {
            "package": self.package,
            "to_send": dict(self.to_send),
            "contacts_already_linked": self.already_linked,
            "would_fail": [i.to_json() for i in self.failures],
            "would_link": [i.to_json() for i in self.linked],
            "held_back": [i.to_json() for i in self.held_back],
        }


def _norm(name: str) -> str:
    """Names as the packages compare them for uniqueness: case and surrounding spaces
    ignored. Closer look-alikes are the link page's suggestions, not refusals."""
    return name.strip().casefold()


class Preflight:
    """Predicts a send for one package without writing to it or to our database."""

    def __init__(self, session_factory: sessionmaker[Session], connector: Connector) -> None:
        self.session_factory = session_factory
        self.connector = connector
        self.info = connector.info
        self._document_numbers: dict[DocumentType, set[str] | None] = {}

    def run(self) -> PreflightReport:
        """Read the package once, build every waiting record's draft and check it against the
        package's rules; returns what would be sent and what would fail, writing nothing."""
        report = PreflightReport(package=self.info.key)
        lock = self.connector.lock_dates().effective
        tax_rates = self.connector.list_tax_rates()
        account_ids = {a.id for a in self.connector.list_accounts()}
        listed = PackageContacts(self._read_contacts)
        names = self._remote_names(listed) if self.info.can_list_contacts else {}
        # Leaving the session closes it, which rolls the transaction back without first
        # restoring every loaded object's state, as a rollback() would do for nothing here.
        # Hundreds of thousands of rows, drafts and items are made, none of them cyclic
        # garbage: with the collector running it would rescan them again and again.
        with self.session_factory() as session, paused_gc():
            setup = load_setup(session)
            cutoff = setup.cutoff_date
            sync_outbox(session, self.info.key)
            # The send's own first pass, written into this session (rolled back below),
            # so what follows sees the links and holds exactly as the send would.
            plan = plan_first_send(
                session,
                self.info,
                listed,
                hold_back=setup.contacts_with_transactions,
                cutoff=cutoff,
                pending_codes=LOCAL_PROBLEM_CODES,
            )
            applied = apply_plan(session, self.info.key, plan, actor="preflight")
            self._first_send_items(report, plan)
            planned: set[int] = set()
            builder = DraftBuilder(
                session,
                self.info.key,
                self.info.name,
                tax_rates,
                assume_delivered=planned,
                cutoff=cutoff,
            )
            candidates = self._candidates(session, report)
            # Linked by this plan: counted under "found in the package", not as linked before.
            report.already_linked -= sum(applied.linked.values())
            builder.prefetch(candidates)
            for entry in candidates:
                built = builder.build(entry)
                label = built.label if isinstance(built, BuiltDraft) else builder.label(entry)
                problem = (
                    built
                    if isinstance(built, Problem)
                    else self._package_rules(built, lock, account_ids, names)
                )
                if problem is None:
                    planned.add(entry.id)
                    if isinstance(built, BuiltDraft) and isinstance(built.draft, ContactDraft):
                        self._plan_name(names, built)
                    report.items.append(
                        PreflightItem(entry.id, entry.record_type.value, label, "send")
                    )
                else:
                    report.items.append(
                        PreflightItem(entry.id, entry.record_type.value, label, "fail", problem)
                    )
        return report

    def _numbers(self, doc_type: DocumentType) -> set[str] | None:
        if doc_type not in self._document_numbers:
            self._document_numbers[doc_type] = self.connector.document_numbers(doc_type)
        return self._document_numbers[doc_type]

    def _candidates(self, session: Session, report: PreflightReport) -> list[_Waiting]:
        """The rows a send would build, in its order (record type, then record id), and
        how many contacts were linked before (into ``report``)."""
        package = OutboxEntry.package == self.info.key
        # Through the session first, so the first pass's changes are flushed before the
        # plain reads below (which bypass the session).
        report.already_linked = (
            session.scalar(
                select(func.count()).where(
                    package,
                    OutboxEntry.record_type.in_((RecordType.CUSTOMER, RecordType.SUPPLIER)),
                    OutboxEntry.state == SendState.SUCCESSFUL,
                )
            )
            or 0
        )
        ready = (
            (OutboxEntry.state == SendState.WAITING) & (OutboxEntry.error_code != HELD_BACK)
        ) | (
            (OutboxEntry.state == SendState.FAILED)
            & OutboxEntry.error_code.in_(sorted(LOCAL_PROBLEM_CODES))
        )
        make = partial(tuple.__new__, _Waiting)  # _Waiting._make without its Python call
        connection = session.connection()
        waiting: list[_Waiting] = []
        for record_type in RecordType:
            query = (
                select(OutboxEntry.id, OutboxEntry.record_id)
                .where(package, OutboxEntry.record_type == record_type, ready)
                .order_by(OutboxEntry.record_id)
            )
            waiting.extend(
                [
                    make((i, record_type, record_id))
                    for i, record_id in connection.execute(query).all()
                ]
            )
        return waiting

    def _read_contacts(self, role: ContactRole) -> list[TheirContact]:
        return [TheirContact.of(c) for c in self.connector.iter_contacts(role)]

    def _remote_names(self, listed: PackageContacts) -> dict[str, list[RemoteContact]]:
        names: dict[str, list[RemoteContact]] = {}
        for role in ContactRole:
            for contact in listed.of(role):
                names.setdefault(_norm(contact.name), []).append(
                    RemoteContact(ref=contact.ref, role=role, name=contact.name)
                )
        return names

    def _first_send_items(self, report: PreflightReport, plan: FirstSendPlan) -> None:
        """The first pass's outcomes as report items, as the send will count them."""
        for found in plan.links:
            report.items.append(
                PreflightItem(
                    found.entry_id,
                    found.record_type.value,
                    found.label,
                    "link",
                    linked_to=f"{found.remote_name} ({found.remote_ref})",
                )
            )
        for choice in plan.choose:
            report.items.append(
                PreflightItem(
                    choice.entry_id, choice.record_type.value, choice.label, "fail", choice.problem
                )
            )
        for held in plan.held:
            problem = Problem(code=HELD_BACK, field="", reason=held.reason, fix="")
            report.items.append(
                PreflightItem(held.entry_id, held.record_type.value, held.label, "wait", problem)
            )

    def _plan_name(self, names: dict[str, list[RemoteContact]], built: BuiltDraft) -> None:
        """Remember a contact this send will create, so a namesake after it is caught."""
        draft = built.draft
        assert isinstance(draft, ContactDraft)
        name = self.connector.display_name(draft)
        planned = RemoteContact(
            ref=DraftBuilder.PLANNED, role=draft.role, name=name, our_ref=built.label
        )
        names.setdefault(_norm(name), []).append(planned)

    def _other_role(
        self, label: str, draft: ContactDraft, name: str, holders: list[RemoteContact]
    ) -> Problem:
        """A name the package already gives a record of the other role (QuickBooks Online:
        a business that is both our customer and our supplier)."""
        other = "supplier" if draft.role is ContactRole.CUSTOMER else "customer"
        planned = [c for c in holders if c.ref == DraftBuilder.PLANNED]
        who = (
            f"{planned[0].our_ref}, sent first"
            if planned
            else ", ".join(f"{other} {c.ref}" for c in holders[:3])
        )
        return Problem(
            code="name_used_by_other_role",
            field="name",
            reason=f"{label}: {self.info.name} already uses the name “{name}” for a "
            f"{other} ({who}), and there a customer and a supplier cannot share a name.",
            fix=f"Choose a second {self.info.name} display name for this {draft.role.value} "
            f"(for example “{name} ({draft.role.value})”) with `ledgerlink display-name "
            f"{draft.role.value} {draft.our_ref} NAME`; Ledgerlink never changes a name on "
            "its own.",
        )

    def _package_rules(
        self,
        built: BuiltDraft,
        lock: date | None,
        account_ids: set[str],
        names: dict[str, list[RemoteContact]],
    ) -> Problem | None:
        draft = built.draft
        refused = self.connector.check_draft(draft)
        if refused is not None:
            return Problem(
                code=refused.code, field=refused.field, reason=refused.reason, fix=refused.fix
            )
        if isinstance(draft, ContactDraft):
            return self._contact_rules(built.label, draft, names)
        assert isinstance(draft, DocumentDraft | PaymentDraft)
        if lock is not None and draft.date <= lock:
            return Problem(
                code="locked_period",
                field="date",
                reason=f"{built.label} is dated {draft.date:%d/%m/%Y}, on or before "
                f"{self.info.name}'s lock date {lock:%d/%m/%Y}.",
                fix=f"Ask your accountant to move the lock date in {self.info.name}, or "
                "choose “Entered manually” if it is already in the books.",
            )
        if isinstance(draft, DocumentDraft):
            numbers = self._numbers(draft.type)
            if numbers is not None and draft.number in numbers:
                kind = "an invoice" if draft.type is DocumentType.INVOICE else "a credit note"
                return Problem(
                    code="duplicate_number",
                    field="number",
                    reason=f"{self.info.name} already has {kind} numbered {draft.number}.",
                    fix="If it is this same document, entered by hand, choose “Entered "
                    "manually” and give its id; if not, renumber it in your job system.",
                )
        wanted = (
            [line.account_id for line in draft.lines]
            if isinstance(draft, DocumentDraft)
            else [draft.bank_account_id]
        )
        for account_id in wanted:
            if account_id not in account_ids:
                return Problem(
                    code="unknown_account",
                    field="nominal_code",
                    reason=f"{built.label} uses {self.info.name} account {account_id}, "
                    "which no longer exists there.",
                    fix="Open Nominal accounts and choose an account that exists.",
                )
        return None

    def _contact_rules(
        self, label: str, draft: ContactDraft, names: dict[str, list[RemoteContact]]
    ) -> Problem | None:
        if draft.email and not EMAIL.match(draft.email):
            return Problem(
                code="invalid_email",
                field="email",
                reason=f"{label} has the email address “{draft.email}”, which "
                f"{self.info.name} will refuse.",
                fix="Correct the email address in your job system and import the customers again.",
            )
        name = self.connector.display_name(draft)
        same = [
            c
            for c in names.get(_norm(name), [])
            if self.info.names_unique_across_roles or c.role == draft.role
        ]
        separate = self.info.roles_are_separate_records
        if same and separate and all(c.role != draft.role for c in same):
            return self._other_role(label, draft, name, same)
        ours = [c for c in same if c.ref == DraftBuilder.PLANNED]
        if ours:
            return Problem(
                code="same_name_as_ours",
                field="name",
                reason=f"{ours[0].our_ref} has the same name and is sent first; "
                f"{self.info.name} needs contact names to differ.",
                fix="If they are different people or businesses, make the names differ in "
                "your job system (for example add the town) and import again; if they are "
                "the same, merge them there.",
            )
        if same:
            refs = ", ".join(c.ref for c in same[:3])
            exact = any(c.name == draft.name for c in same)
            how = "exactly this name" if exact else "this name apart from case or spaces"
            return Problem(
                code="would_duplicate",
                field="name",
                reason=f"{self.info.name} already has a contact with {how} ({refs}); "
                "sending would create a duplicate or be refused.",
                fix="Link this record to the existing contact on the Link page "
                "instead of creating it.",
            )
        return None
