"""Nominal mapping: each of our accounts matched to the package's own account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    DELIVERED_STATES,
    AccountKind,
    AccountMapping,
    DocumentLine,
    NominalAccount,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
)
from app.services.audit import record_event
from app.services.errors import SetupError
from connectors.contract import AccountType, PackageInfo, RemoteAccount

#: Which package account types each of our kinds may be matched to.
COMPATIBLE: dict[AccountKind, AccountType] = {
    AccountKind.SALES: AccountType.SALES,
    AccountKind.BANK: AccountType.BANK,
    AccountKind.EXPENSE: AccountType.EXPENSE,
}


class MappingError(SetupError):
    """A mapping the package would not accept (wrong type, unknown account)."""


def find_remote_account(accounts: list[RemoteAccount], wanted: str) -> RemoteAccount | None:
    """The package account whose id or code is ``wanted``."""
    for account in accounts:
        if wanted in (account.id, account.code):
            return account
    return None


def check_compatible(ours: NominalAccount, theirs: RemoteAccount) -> None:
    """Refuse matching, say, a Bank account to a sales account."""
    expected = COMPATIBLE[ours.kind]
    if theirs.type is not expected:
        raise MappingError(
            f"{ours.name} ({ours.code}) is a {ours.kind.value} account, so it can only be "
            f"matched to a {expected.value} account; {theirs.code} {theirs.name} is a "
            f"{theirs.type.value} account."
        )


def set_mapping(
    session: Session,
    info: PackageInfo,
    accounts: list[RemoteAccount],
    code: str,
    remote: str,
    *,
    actor: str,
) -> AccountMapping:
    """Match our account ``code`` to the package account ``remote`` (its code or id)."""
    ours = session.scalars(select(NominalAccount).where(NominalAccount.code == code)).one_or_none()
    if ours is None:
        known = ", ".join(session.scalars(select(NominalAccount.code)))
        raise MappingError(f"We have no nominal account {code!r}; ours are: {known}.")
    theirs = find_remote_account(accounts, remote)
    if theirs is None:
        raise MappingError(f"{info.name} has no account with code or id {remote!r}.")
    check_compatible(ours, theirs)
    mapping = session.scalars(
        select(AccountMapping).where(
            AccountMapping.package == info.key, AccountMapping.nominal_account_id == ours.id
        )
    ).one_or_none()
    if mapping is None:
        mapping = AccountMapping(package=info.key, nominal_account_id=ours.id, remote_id=theirs.id)
        session.add(mapping)
    mapping.remote_id = theirs.id
    mapping.remote_code = theirs.code
    mapping.remote_name = theirs.name
    record_event(
        session,
        actor=actor,
        action="mapped_account",
        package=info.key,
        code=ours.code,
        remote_id=theirs.id,
        remote_code=theirs.code,
    )
    session.flush()
    return mapping


def list_mappings(session: Session, package: str) -> list[dict[str, Any]]:
    """Every one of our accounts with its mapping (blank when unmapped)."""
    mappings = {
        m.nominal_account_id: m
        for m in session.scalars(select(AccountMapping).where(AccountMapping.package == package))
    }
    rows = []
    for account in session.scalars(
        select(NominalAccount).order_by(NominalAccount.kind, NominalAccount.code)
    ):
        mapping = mappings.get(account.id)
        rows.append(
            {
                "code": account.code,
                "kind": account.kind.value,
                "name": account.name,
                "remote_id": mapping.remote_id if mapping else "",
                "remote_code": mapping.remote_code if mapping else "",
                "remote_name": mapping.remote_name if mapping else "",
            }
        )
    return rows


def unmapped_in_use(session: Session, package: str) -> dict[str, int]:
    """Our unmapped account codes used by records still to send, with how many use each."""
    mapped = set(
        session.scalars(
            select(AccountMapping.nominal_account_id).where(AccountMapping.package == package)
        )
    )
    finished = DELIVERED_STATES | {SendState.DO_NOT_SEND}
    done_docs = select(OutboxEntry.record_id).where(
        OutboxEntry.package == package,
        OutboxEntry.record_type.in_([RecordType.INVOICE, RecordType.CREDIT_NOTE]),
        OutboxEntry.state.in_(finished),
    )
    done_payments = select(OutboxEntry.record_id).where(
        OutboxEntry.package == package,
        OutboxEntry.record_type == RecordType.PAYMENT,
        OutboxEntry.state.in_(finished),
    )
    usage: dict[int, int] = {}
    for account_id in session.scalars(
        select(DocumentLine.nominal_account_id).where(DocumentLine.document_id.not_in(done_docs))
    ):
        usage[account_id] = usage.get(account_id, 0) + 1
    for account_id in session.scalars(
        select(Payment.bank_account_id).where(Payment.id.not_in(done_payments))
    ):
        usage[account_id] = usage.get(account_id, 0) + 1
    codes = {
        row.id: row.code for row in session.execute(select(NominalAccount.id, NominalAccount.code))
    }
    return {codes[a]: n for a, n in usage.items() if a not in mapped}
