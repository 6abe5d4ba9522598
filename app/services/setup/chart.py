"""Our own chart of nominal accounts (Sales, Bank, Expense)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AccountKind, NominalAccount
from resources import read_text


def ensure_default_chart(session: Session) -> list[NominalAccount]:
    """Add the default accounts from ``resources/default_chart.csv`` that are missing.

    Existing accounts (matched by code) are left exactly as the user has them.
    """
    existing = {a.code for a in session.scalars(select(NominalAccount))}
    added: list[NominalAccount] = []
    for row in csv.DictReader(io.StringIO(read_text("default_chart.csv"))):
        if row["code"] in existing:
            continue
        account = NominalAccount(
            code=row["code"],
            kind=AccountKind(row["kind"]),
            name=row["name"],
            is_default=row["default"].strip().lower() == "yes",
        )
        session.add(account)
        added.append(account)
    session.flush()
    return added


def default_account(session: Session, kind: AccountKind) -> NominalAccount | None:
    """The default account of a kind (the first one if none is marked default)."""
    accounts = session.scalars(
        select(NominalAccount)
        .where(NominalAccount.kind == kind)
        .order_by(NominalAccount.is_default.desc(), NominalAccount.id)
    ).all()
    return accounts[0] if accounts else None
