"""Our own nominal accounts (Sales, Bank, Expense) and what the Nominal accounts page
needs: add, rename and remove accounts, list them with their mapping, and match them to
the package's accounts.

Every check names the account and the field and says what to do, in a bookkeeper's words.
Qt-free: the wizard calls these from worker threads.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AccountKind as AccountKind
from app.db.models import AccountMapping, DocumentLine, NominalAccount, Payment
from app.services.audit import record_event
from app.services.errors import SetupError
from app.services.setup.mapping import COMPATIBLE, list_mappings, set_mapping, unmapped_in_use
from connectors.contract import Connector, PackageInfo, RemoteAccount
from resources import read_text

CODE_MAX = 32
NAME_MAX = 100
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")

KIND_WORDS: dict[AccountKind, str] = {
    AccountKind.SALES: "sales",
    AccountKind.BANK: "bank",
    AccountKind.EXPENSE: "expense",
}


class NominalAccountError(SetupError):
    """An account the user tried to add, rename or remove was refused; the message says why."""


@dataclass(frozen=True)
class NominalRow:
    """One of our accounts as the Nominal accounts page shows it."""

    code: str
    kind: AccountKind
    name: str
    remote_id: str = ""
    remote_code: str = ""
    remote_name: str = ""
    #: How many records still to send use this account while it is unmapped (0 if mapped).
    unmapped_uses: int = 0

    @property
    def mapped(self) -> bool:
        """True when this account is mapped to one of the package's accounts."""
        return bool(self.remote_id)


@dataclass(frozen=True)
class NominalPageData:
    """Everything the page shows: our accounts and the package's (``None`` when the
    package cannot list its accounts, so codes are typed)."""

    rows: list[NominalRow]
    remote_accounts: list[RemoteAccount] | None

    @property
    def blocking(self) -> list[NominalRow]:
        """Unmapped accounts that records waiting to be sent use."""
        return [row for row in self.rows if not row.mapped and row.unmapped_uses]


def _default_codes() -> set[str]:
    return {row["code"] for row in csv.DictReader(io.StringIO(read_text("default_chart.csv")))}


def normalise_code(code: str) -> str:
    """Codes are compared and stored in capitals without surrounding spaces."""
    return code.strip().upper()


def _check_code(session: Session, kind: AccountKind, code: str) -> str:
    cleaned = normalise_code(code)
    what = f"the new {KIND_WORDS[kind]} account"
    if not cleaned:
        raise NominalAccountError(
            f"Give {what} a code in the Code box, for example {kind.value.upper()}-2."
        )
    if len(cleaned) > CODE_MAX:
        raise NominalAccountError(
            f"The code “{cleaned}” for {what} is {len(cleaned)} characters long; "
            f"use at most {CODE_MAX}."
        )
    if not _CODE.fullmatch(cleaned):
        raise NominalAccountError(
            f"The code “{code.strip()}” for {what} can only use letters, digits, “-” and “_”, "
            "with no spaces (for example SALES-2)."
        )
    clash = session.scalars(
        select(NominalAccount).where(func.upper(NominalAccount.code) == cleaned)
    ).first()
    if clash is not None:
        raise NominalAccountError(
            f"The code {cleaned} is already used by “{clash.name}”, a "
            f"{KIND_WORDS[clash.kind]} account. Choose another code."
        )
    return cleaned


def _check_name(session: Session, kind: AccountKind, name: str, *, own_id: int | None) -> str:
    cleaned = " ".join(name.split())
    what = f"the {KIND_WORDS[kind]} account"
    if not cleaned:
        raise NominalAccountError(
            f"Give {what} a name in the Name box, for example “Sales – call-outs”."
        )
    if len(cleaned) > NAME_MAX:
        raise NominalAccountError(
            f"The name for {what} is {len(cleaned)} characters long; use at most {NAME_MAX}."
        )
    for other in session.scalars(select(NominalAccount).where(NominalAccount.kind == kind)):
        if other.id != own_id and other.name.casefold() == cleaned.casefold():
            raise NominalAccountError(
                f"There is already a {KIND_WORDS[kind]} account called “{other.name}” "
                f"({other.code}). Give this one a different name."
            )
    return cleaned


def add_account(
    session: Session, kind: AccountKind, code: str, name: str, *, actor: str
) -> NominalAccount:
    """Add one of our accounts of ``kind`` (e.g. a second Sales account for materials)."""
    checked_code = _check_code(session, kind, code)
    checked_name = _check_name(session, kind, name, own_id=None)
    account = NominalAccount(kind=kind, code=checked_code, name=checked_name, is_default=False)
    session.add(account)
    record_event(session, actor=actor, action="added_nominal_account", code=checked_code)
    session.flush()
    return account


def _get(session: Session, code: str) -> NominalAccount:
    cleaned = normalise_code(code)
    account = session.scalars(
        select(NominalAccount).where(func.upper(NominalAccount.code) == cleaned)
    ).first()
    if account is None:
        known = ", ".join(
            session.scalars(select(NominalAccount.code).order_by(NominalAccount.code))
        )
        raise NominalAccountError(
            f"We have no nominal account with code “{code}”; ours are {known}."
        )
    return account


def rename_account(session: Session, code: str, name: str, *, actor: str) -> NominalAccount:
    """Give one of our accounts a new name (its code stays: records refer to it)."""
    account = _get(session, code)
    account.name = _check_name(session, account.kind, name, own_id=account.id)
    record_event(session, actor=actor, action="renamed_nominal_account", code=account.code)
    session.flush()
    return account


def remove_account(session: Session, code: str, *, actor: str) -> None:
    """Remove an account the user added and no record uses, with its mappings."""
    account = _get(session, code)
    label = f"“{account.name}” ({account.code})"
    if account.code in _default_codes():
        raise NominalAccountError(
            f"{label} is one of Ledgerlink's standard accounts, so it stays; you can rename it."
        )
    lines = session.scalar(
        select(func.count())
        .select_from(DocumentLine)
        .where(DocumentLine.nominal_account_id == account.id)
    )
    payments = session.scalar(
        select(func.count()).select_from(Payment).where(Payment.bank_account_id == account.id)
    )
    if lines or payments:
        uses = f"{lines} invoice or credit note lines" if lines else f"{payments} payments"
        raise NominalAccountError(f"{label} is used by {uses}, so it cannot be removed.")
    for mapping in session.scalars(
        select(AccountMapping).where(AccountMapping.nominal_account_id == account.id)
    ):
        session.delete(mapping)
    session.delete(account)
    record_event(session, actor=actor, action="removed_nominal_account", code=account.code)
    session.flush()


def list_rows(session: Session, package: str) -> list[NominalRow]:
    """Our accounts, Sales then Bank then Expense, each with its mapping and, when
    unmapped, how many records still to send use it."""
    unmapped = unmapped_in_use(session, package)
    order = {kind: n for n, kind in enumerate(KIND_WORDS)}
    rows = [
        NominalRow(
            code=row["code"],
            kind=AccountKind(row["kind"]),
            name=row["name"],
            remote_id=row["remote_id"],
            remote_code=row["remote_code"],
            remote_name=row["remote_name"],
            unmapped_uses=0 if row["remote_id"] else unmapped.get(row["code"], 0),
        )
        for row in list_mappings(session, package)
    ]
    return sorted(rows, key=lambda r: (order[r.kind], r.code))


def compatible(kind: AccountKind, accounts: list[RemoteAccount]) -> list[RemoteAccount]:
    """The package's accounts one of our ``kind`` may be matched to, in code order."""
    wanted = COMPATIBLE[kind]
    return sorted((a for a in accounts if a.type is wanted), key=lambda a: (a.code, a.name))


def load_page(session_factory: sessionmaker[Session], connector: Connector) -> NominalPageData:
    """Read the package's chart (where it can list one) and our accounts."""
    info = connector.info
    remote = connector.list_accounts() if info.can_list_accounts else None
    with session_factory() as session:
        rows = list_rows(session, info.key)
    return NominalPageData(rows, remote)


def map_account(
    session_factory: sessionmaker[Session],
    info: PackageInfo,
    remote_accounts: list[RemoteAccount] | None,
    code: str,
    remote: str,
    *,
    actor: str,
) -> list[NominalRow]:
    """Match our ``code`` to the package account ``remote`` (its code or id) and return
    the refreshed rows. Where the package cannot list its accounts (``remote_accounts``
    is ``None``) the typed code is taken as an account of the right type.

    :class:`~app.services.setup.mapping.MappingError` when the package has no such account or
    it is of the wrong type (a Bank account maps only to a bank account).
    """
    typed = remote.strip()
    with session_factory.begin() as session:
        if remote_accounts is None:
            ours = _get(session, code)
            if not typed:
                raise NominalAccountError(
                    f"Type the {info.name} account code for “{ours.name}” ({ours.code})."
                )
            accounts = [RemoteAccount(id=typed, code=typed, name="", type=COMPATIBLE[ours.kind])]
        else:
            accounts = remote_accounts
        set_mapping(session, info, accounts, normalise_code(code), typed, actor=actor)
    with session_factory() as session:
        return list_rows(session, info.key)


def suggest_matches(
    rows: list[NominalRow], remote_accounts: list[RemoteAccount]
) -> dict[str, RemoteAccount]:
    """For each unmapped account, the package account of the right type with the same
    name (capitals and spacing aside), when exactly one has it."""
    suggestions: dict[str, RemoteAccount] = {}
    for row in rows:
        if row.mapped:
            continue
        key = " ".join(row.name.split()).casefold()
        same = [a for a in compatible(row.kind, remote_accounts) if a.name.casefold() == key]
        if len(same) == 1:
            suggestions[row.code] = same[0]
    return suggestions


def add_our_account(
    session_factory: sessionmaker[Session], kind: AccountKind, code: str, name: str
) -> str:
    """Add one of our accounts as the user asked (in a transaction of its own); returns
    its code. Raises an error naming what is wrong with the code or name."""
    with session_factory.begin() as session:
        return add_account(session, kind, code, name, actor="user").code
