"""The Sage 50 bridge's settings: the export folder, Sage's nominal list and accounts (from
its own exports), the financial year and lock date, and the account references Ledgerlink
proposes for new accounts.

Each function works in the caller's session; the values live in the package's settings,
where :mod:`connectors.sage_50.settings` reads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Contact, ContactKind, Link, OutboxEntry, RecordType, SendState
from app.services.audit import record_event
from app.services.errors import SetupError
from app.services.sage50.ledger import PACKAGE
from app.services.sage50.reports import SageAccount, SageNominal
from app.services.setup.state import get_setting, package_settings_key, set_setting
from connectors.contract import ContactRole
from connectors.sage_50 import references
from connectors.sage_50 import settings as keys
from connectors.sage_50.layout import RECORD_COLUMN_OF_FIELD
from connectors.sage_50.settings import read_settings


class Sage50SetupError(SetupError):
    """A Sage 50 setting was refused; the message says why and what to do."""


def package_settings(session: Session) -> dict[str, str]:
    """The Sage 50 bridge's saved settings (folder, dates, references…); empty before set-up."""
    return dict(get_setting(session, package_settings_key(PACKAGE), {}))


def _update(session: Session, **values: str | None) -> dict[str, str]:
    current = package_settings(session)
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    set_setting(session, package_settings_key(PACKAGE), current)
    return current


def set_folder(session: Session, folder: Path, *, actor: str) -> Path:
    """Choose the export folder: it must exist and Ledgerlink must be able to write in it."""
    chosen = folder.expanduser().resolve()
    if not chosen.is_dir():
        raise Sage50SetupError(f"{chosen} is not a folder; create it first or choose another.")
    if not os.access(chosen, os.W_OK):
        raise Sage50SetupError(f"Ledgerlink may not write in {chosen}; choose another folder.")
    _update(session, **{keys.FOLDER: str(chosen)})
    record_event(
        session, actor=actor, action="sage50_folder_set", package=PACKAGE, folder=str(chosen)
    )
    return chosen


def save_nominal_list(session: Session, nominals: Sequence[SageNominal], *, actor: str) -> int:
    """Replace the nominal list Ledgerlink has from Sage; returns how many codes."""
    seen: dict[str, SageNominal] = {}
    for nominal in nominals:
        if nominal.code in seen:
            raise Sage50SetupError(
                f"Nominal code {nominal.code} appears twice (lines {seen[nominal.code].line} "
                f"and {nominal.line}); keep one."
            )
        seen[nominal.code] = nominal
    rows = [[n.code, n.name, n.type.value] for n in seen.values()]
    _update(session, **{keys.NOMINAL_CODES: json.dumps(rows)})
    record_event(
        session, actor=actor, action="sage50_nominal_list", package=PACKAGE, codes=len(rows)
    )
    return len(rows)


def save_accounts(
    session: Session, role: ContactRole, accounts: Iterable[SageAccount], *, actor: str
) -> int:
    """Replace Sage's customer (or supplier) list with the one from its Record CSV."""
    items: list[dict[str, Any]] = []
    for account in accounts:
        item = {"ref": account.ref, "name": account.name}
        item.update(
            {
                ours: account.values.get(theirs, "")
                for ours, theirs in RECORD_COLUMN_OF_FIELD.items()
            }
        )
        items.append(item)
    _update(session, **{keys.ROLE_LISTS[role]: json.dumps(items)})
    record_event(
        session,
        actor=actor,
        action="sage50_accounts",
        package=PACKAGE,
        role=role.value,
        accounts=len(items),
    )
    return len(items)


def set_dates(
    session: Session, *, financial_year_start: date | None, lock_date: date | None, actor: str
) -> None:
    """The first day of Sage's current financial year, and the lock date the user set."""
    if (
        financial_year_start
        and lock_date
        and lock_date >= financial_year_start.replace(year=financial_year_start.year + 1)
    ):
        raise Sage50SetupError("The lock date is after the end of the financial year.")
    _update(
        session,
        **{
            keys.FINANCIAL_YEAR_START: financial_year_start.isoformat()
            if financial_year_start
            else None,
            keys.LOCK_DATE: lock_date.isoformat() if lock_date else None,
        },
    )
    record_event(
        session,
        actor=actor,
        action="sage50_dates",
        package=PACKAGE,
        financial_year_start=str(financial_year_start or ""),
        lock_date=str(lock_date or ""),
    )


# ---------------------------------------------------------------- account references


@dataclass(frozen=True)
class Proposal:
    """The Sage 50 reference a new account of ours will get."""

    role: ContactRole
    our_ref: str
    name: str
    reference: str
    #: Why it differs from our own reference ("" when it is the same).
    why: str

    def to_json(self) -> dict[str, str]:
        """The proposal as the CLI's JSON output gives it."""
        return {
            "role": self.role.value,
            "our_ref": self.our_ref,
            "name": self.name,
            "reference": self.reference,
            "why": self.why,
        }


def propose_references(session: Session) -> list[Proposal]:
    """A reference for every contact still to be exported, none taken in Sage's list, by
    a linked or exported account, or by another proposal; references chosen before are
    kept."""
    bridge = read_settings(package_settings(session))
    proposals: list[Proposal] = []
    for role, kind, record_type in (
        (ContactRole.CUSTOMER, ContactKind.CUSTOMER, RecordType.CUSTOMER),
        (ContactRole.SUPPLIER, ContactKind.SUPPLIER, RecordType.SUPPLIER),
    ):
        linked: dict[int, str] = dict(
            session.execute(
                select(Link.contact_id, Link.remote_ref)
                .join(Contact, Contact.id == Link.contact_id)
                .where(Link.package == PACKAGE, Contact.kind == kind)
            ).all()
        )
        exported: dict[int, str] = dict(
            session.execute(
                select(OutboxEntry.record_id, OutboxEntry.remote_id).where(
                    OutboxEntry.package == PACKAGE,
                    OutboxEntry.record_type == record_type,
                    OutboxEntry.state.in_(
                        (SendState.HANDED_OVER, SendState.SUCCESSFUL, SendState.UNCERTAIN)
                    ),
                )
            ).all()
        )
        taken = set(bridge.sage_refs[role]) | set(linked.values()) | set(exported.values())
        pending = session.scalars(
            select(Contact).where(Contact.kind == kind).order_by(Contact.account_ref)
        ).all()
        todo = [c for c in pending if c.id not in linked and c.id not in exported]
        chosen = {c.id: bridge.chosen_refs.get((role, c.account_ref.strip())) for c in todo}
        taken |= {ref for ref in chosen.values() if ref}
        for contact in todo:
            ref = chosen[contact.id]
            if ref:
                proposals.append(
                    Proposal(role, contact.account_ref, contact.name, ref, "chosen before")
                )
                continue
            ref = references.propose(contact.account_ref, contact.name, taken)
            taken.add(ref)
            if ref == contact.account_ref:
                why = ""
            elif ref == references.normalise(contact.account_ref):
                why = "as Sage 50 keeps it (capitals, no spaces, 8 characters at most)"
            else:
                why = f"“{references.normalise(contact.account_ref)}” is taken"
            proposals.append(Proposal(role, contact.account_ref, contact.name, ref, why))
    return proposals


def save_references(session: Session, proposals: Sequence[Proposal], *, actor: str) -> int:
    """Keep the proposals, so every send uses the same reference for the same account."""
    current = package_settings(session)
    chosen = json.loads(current.get(keys.ACCOUNT_REFS) or "{}")
    for proposal in proposals:
        if not references.is_valid(proposal.reference):
            raise Sage50SetupError(
                f"{proposal.name} ({proposal.our_ref}): “{proposal.reference}” is not a Sage "
                "50 account reference (up to 8 capitals, digits or - _ & . / # ! % $ ( ) ')."
            )
        chosen[f"{proposal.role.value}:{proposal.our_ref.strip()}"] = proposal.reference
    _update(session, **{keys.ACCOUNT_REFS: json.dumps(chosen, sort_keys=True)})
    record_event(
        session, actor=actor, action="sage50_references", package=PACKAGE, saved=len(proposals)
    )
    return len(proposals)
