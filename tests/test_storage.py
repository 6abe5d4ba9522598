"""The storage layer keeps money exact and refuses what it cannot store exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from app.db.models import (
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    DocumentLine,
    NominalAccount,
)

pytestmark = pytest.mark.both_stores


def _customer(session: Session) -> Contact:
    customer = Contact(kind=ContactKind.CUSTOMER, account_ref="C1", name="Ada Boiler")
    session.add(customer)
    session.flush()
    return customer


def test_money_round_trips_exactly(session: Session) -> None:
    sales = session.scalars(select(NominalAccount).where(NominalAccount.code == "SALES")).one()
    invoice = Document(
        kind=DocumentKind.INVOICE, number="INV-1", date=date(2026, 1, 5), contact=_customer(session)
    )
    invoice.lines.append(
        DocumentLine(
            line_no=1,
            description="Labour",
            quantity=Decimal("1.5"),
            unit_price=Decimal("42.1250"),
            nominal_account=sales,
            vat_rate=Decimal("20"),
            vat_amount=Decimal("12.64"),
        )
    )
    session.add(invoice)
    session.commit()
    session.expunge_all()

    stored = session.scalars(select(Document)).one()
    line = stored.lines[0]
    assert line.unit_price == Decimal("42.1250")
    assert line.quantity == Decimal("1.5000")
    assert line.net_amount == Decimal("63.19")  # 63.1875 rounded half-up
    assert stored.gross_total == Decimal("75.83")


def test_money_with_too_many_decimals_is_refused(session: Session) -> None:
    sales = session.scalars(select(NominalAccount).where(NominalAccount.code == "SALES")).one()
    invoice = Document(
        kind=DocumentKind.INVOICE, number="INV-2", date=date(2026, 1, 5), contact=_customer(session)
    )
    invoice.lines.append(
        DocumentLine(
            line_no=1,
            description="Labour",
            quantity=Decimal(1),
            unit_price=Decimal(10),
            nominal_account=sales,
            vat_rate=Decimal(20),
            vat_amount=Decimal("2.001"),
        )
    )
    session.add(invoice)
    with pytest.raises(StatementError, match="more than 2 decimal places"):
        session.flush()


def test_float_money_is_refused(session: Session) -> None:
    sales = session.scalars(select(NominalAccount).where(NominalAccount.code == "SALES")).one()
    invoice = Document(
        kind=DocumentKind.INVOICE, number="INV-3", date=date(2026, 1, 5), contact=_customer(session)
    )
    invoice.lines.append(
        DocumentLine(
            line_no=1,
            description="x",
            quantity=Decimal(1),
            unit_price=Decimal(1),
            nominal_account=sales,
            vat_rate=Decimal(20),
            vat_amount=0.2,  # type: ignore[arg-type]
        )
    )
    session.add(invoice)
    with pytest.raises(StatementError, match="never float"):
        session.flush()
