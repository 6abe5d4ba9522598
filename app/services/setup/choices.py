"""The set-up choices as the wizard, the dashboard and the CLI change them.

Each function is one user action in one transaction, and returns the choices as they
now stand (a plain :class:`~app.services.setup.state.SetupState`), so a window holds
what the service says rather than mirroring the change by hand.
"""

from __future__ import annotations

from datetime import date

from app.db.models import Situation
from app.services.sending.first_send_links import release_all
from app.services.setup.state import (
    AUTO_SEND,
    COMPANY_NAME,
    CONTACTS_WITH_TRANSACTIONS,
    CUTOFF_DATE,
    SETUP_COMPLETE,
    WIZARD_PAGE,
    SetupState,
    choose_package,
    load_setup,
    set_setting,
)
from app.services.store import Store

__all__ = [
    "Situation",
    "choose_package_and_situation",
    "finish_setup",
    "read_setup",
    "remember_wizard_page",
    "set_auto_send",
    "set_contacts_with_transactions",
    "set_cutoff_date",
]


def read_setup(store: Store) -> SetupState:
    """The choices stored in ``store``."""
    with store.session_factory() as session:
        return load_setup(session)


def choose_package_and_situation(store: Store, package: str, situation: Situation) -> SetupState:
    """Record the Get started page's choice; a different package than before clears the
    company and the finished set-up (see :meth:`SetupState.after_choosing`)."""
    with store.session_factory.begin() as session:
        before = load_setup(session)
        choose_package(session, package, situation)
        if before.package != package:
            set_setting(session, SETUP_COMPLETE, None)
            set_setting(session, COMPANY_NAME, None)
        return load_setup(session)


def remember_wizard_page(store: Store, page: str | None) -> SetupState:
    """Remember the wizard page the user is on, so the wizard reopens there."""
    with store.session_factory.begin() as session:
        set_setting(session, WIZARD_PAGE, page)
        return load_setup(session)


def finish_setup(store: Store) -> SetupState:
    """Set-up is complete: the dashboard opens from now on."""
    with store.session_factory.begin() as session:
        set_setting(session, SETUP_COMPLETE, True)
        set_setting(session, WIZARD_PAGE, None)
        return load_setup(session)


def set_cutoff_date(store: Store, cutoff: date | None) -> SetupState:
    """Send only records dated on or after ``cutoff`` (``None``: everything)."""
    with store.session_factory.begin() as session:
        set_setting(session, CUTOFF_DATE, cutoff.isoformat() if cutoff else None)
        return load_setup(session)


def set_auto_send(store: Store, on: bool) -> SetupState:
    """Turn the two-hourly automatic send on or off."""
    with store.session_factory.begin() as session:
        set_setting(session, AUTO_SEND, on or None)
        return load_setup(session)


def set_contacts_with_transactions(store: Store, on: bool, *, actor: str = "user") -> SetupState:
    """Send customers and suppliers only with an invoice, credit note or payment that
    needs them (``on``), or as soon as they are imported (off, the default). Turning it
    off releases every contact held back, at once."""
    with store.session_factory.begin() as session:
        set_setting(session, CONTACTS_WITH_TRANSACTIONS, on or None)
        state = load_setup(session)
        if not on and state.package:
            release_all(session, state.package, actor=actor)
        return state
