"""Second display names for a business that is both our customer and our supplier, where
the package keeps them as separate records that may not share a name (QuickBooks
Online). The user chooses the name; Ledgerlink never invents one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Contact, ContactKind
from app.services.audit import record_event
from app.services.errors import SetupError
from app.services.setup.state import get_setting, package_settings_key, set_setting
from connectors.contract import ContactRole, PackageInfo
from connectors.display_names import with_display_name
from connectors.errors import ConnectorError


def choose_display_name(
    session: Session,
    info: PackageInfo,
    role: ContactRole,
    account_ref: str,
    name: str,
    *,
    actor: str,
) -> None:
    """Send ``account_ref``'s record to the package under ``name`` (empty: its own name)."""
    if not info.roles_are_separate_records:
        raise SetupError(
            f"{info.name} keeps one record per business, so it needs no second display name; "
            "link the existing contact instead."
        )
    contact = session.scalars(
        select(Contact).where(
            Contact.kind == ContactKind(role.value), Contact.account_ref == account_ref
        )
    ).one_or_none()
    if contact is None:
        raise SetupError(f"We have no {role.value} with account reference “{account_ref}”.")
    key = package_settings_key(info.key)
    settings = dict(get_setting(session, key, {}))
    try:
        updated = with_display_name(settings, role, account_ref, name, info)
    except ConnectorError as exc:
        raise SetupError(str(exc)) from exc
    set_setting(session, key, updated)
    record_event(
        session,
        actor=actor,
        action="display_name_chosen",
        package=info.key,
        record_type=role.value,
        record_id=contact.id,
        name=name,
    )
