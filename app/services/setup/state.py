"""The integration's set-up choices, stored as small JSON settings.

The wizard's state lives here (not in widgets), so closing the window midway and
opening it again resumes where the user was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from app.db.enums import Situation

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# SQLAlchemy and the models are imported by the functions that use a session, so
# SetupState can be built from the window's first read without them.

PACKAGE = "package"
SITUATION = "situation"
SETUP_COMPLETE = "setup_complete"
WIZARD_PAGE = "wizard_page"
AUTO_SEND = "auto_send"
LAST_SEND_AT = "last_send_at"
CUTOFF_DATE = "cutoff_date"
COMPANY_NAME = "company_name"
#: Per business, off by default: customers and suppliers wait until an invoice, credit
#: note or payment that refers to them is ready to send.
CONTACTS_WITH_TRANSACTIONS = "contacts_only_with_transactions"


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    """The JSON value stored under ``key``, or ``default``."""
    from app.db.models import Setting

    row = session.get(Setting, key)
    return default if row is None else json.loads(row.value)


def set_setting(session: Session, key: str, value: Any) -> None:
    """Store ``value`` (JSON-serialisable) under ``key``; ``None`` removes it."""
    from app.db.models import Setting

    row = session.get(Setting, key)
    if value is None:
        if row is not None:
            session.delete(row)
        return
    encoded = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(Setting(key=key, value=encoded))
    else:
        row.value = encoded


def package_settings_key(package: str) -> str:
    """The settings key under which a package's own settings are saved."""
    return f"package.{package}.settings"


@dataclass
class SetupState:
    """What the user has chosen so far."""

    package: str | None = None
    situation: Situation | None = None
    setup_complete: bool = False
    wizard_page: str | None = None
    auto_send: bool = False
    last_send_at: datetime | None = None
    cutoff_date: date | None = None
    company_name: str = ""
    package_settings: dict[str, str] = field(default_factory=dict)
    #: Send customers and suppliers only with a transaction that needs them.
    contacts_with_transactions: bool = False

    def after_choosing(self, package: str | None, situation: Situation | None) -> SetupState:
        """The choices once ``package`` and ``situation`` are chosen: a different package
        means connecting, mapping and linking again, so its company and completion go."""
        if package is None or package == self.package:
            return replace(self, situation=situation)
        return replace(
            self,
            package=package,
            situation=situation,
            setup_complete=False,
            company_name="",
            package_settings={},
        )


def load_setup(session: Session) -> SetupState:
    """Read the set-up state in one query."""
    from sqlalchemy import select

    from app.db.models import Setting

    return setup_from_settings((row.key, row.value) for row in session.scalars(select(Setting)))


def setup_from_settings(rows: Iterable[tuple[str, str]]) -> SetupState:
    """The set-up state from the settings table's ``(key, JSON value)`` rows."""
    values = {key: json.loads(value) for key, value in rows}
    package = values.get(PACKAGE)
    situation = values.get(SITUATION)
    last = values.get(LAST_SEND_AT)
    cutoff = values.get(CUTOFF_DATE)
    return SetupState(
        package=package,
        situation=Situation(situation) if situation else None,
        setup_complete=bool(values.get(SETUP_COMPLETE, False)),
        wizard_page=values.get(WIZARD_PAGE),
        auto_send=bool(values.get(AUTO_SEND, False)),
        last_send_at=datetime.fromisoformat(last) if last else None,
        cutoff_date=date.fromisoformat(cutoff) if cutoff else None,
        company_name=values.get(COMPANY_NAME, ""),
        package_settings=dict(values.get(package_settings_key(package), {})) if package else {},
        contacts_with_transactions=bool(values.get(CONTACTS_WITH_TRANSACTIONS, False)),
    )


def choose_package(session: Session, package: str, situation: Situation) -> None:
    """Record the package and situation chosen on the Get started page."""
    set_setting(session, PACKAGE, package)
    set_setting(session, SITUATION, situation.value)
