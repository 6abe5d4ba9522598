"""Changing a linked QuickBooks Online customer's or supplier's details (never its name).

QuickBooks updates a name-list record with ``POST /v3/company/{realmId}/customer`` (or
``/vendor``) carrying the record's ``Id``, its current ``SyncToken`` and
``"sparse": true``: only the fields sent change [notes §2; Intuit's sparse-update rule].
The ``SyncToken`` is QuickBooks' optimistic lock: if someone changed the record since
Ledgerlink read it, QuickBooks answers fault 5010 "Stale Object Error" and saves nothing,
so the row fails and the next sync shows what changed instead of overwriting it.

Sent: ``GivenName``/``FamilyName`` (our contact name), the whole ``BillAddr`` (its ``Id``
kept, so the same address is changed), ``PrimaryEmailAddr`` and ``PrimaryPhone``; never
``DisplayName``, ``CompanyName`` or ``PrintOnCheckName``. An inactive record is refused
here: making it active again is the bookkeeper's decision, in QuickBooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.contract import ContactRole, ContactUpdate
from connectors.errors import Rejected
from connectors.quickbooks_online.wire import QboError
from connectors.update_refusals import field_named, no_such_contact, update_refused

Json = dict[str, Any]

#: Fault code of an update whose SyncToken is no longer the record's.
STALE_OBJECT = "5010"


def sparse_payload(record: Mapping[str, Any], update: ContactUpdate) -> Json:
    """The sparse update body for ``record`` (as QuickBooks last answered it)."""
    person = update.contact_name.split()
    address: Json = {
        "Line1": update.address_1.strip(),
        "Line2": update.address_2.strip(),
        "Line3": update.address_3.strip(),
        # remote_contact reads lines 3 to 5 as one: clear 4 and 5 so they read back alike.
        "Line4": "",
        "Line5": "",
        "City": update.town.strip(),
        "CountrySubDivisionCode": update.county.strip(),
        "PostalCode": update.postcode.strip(),
    }
    current = record.get("BillAddr")
    if isinstance(current, Mapping) and current.get("Id"):
        address = {"Id": str(current["Id"]), **address}
    return {
        "Id": str(record.get("Id") or ""),
        "SyncToken": str(record.get("SyncToken") or "0"),
        "sparse": True,
        "GivenName": " ".join(person[:-1]) or (person[0] if person else ""),
        "FamilyName": person[-1] if len(person) > 1 else "",
        "BillAddr": address,
        "PrimaryEmailAddr": {"Address": update.email.strip()},
        "PrimaryPhone": {"FreeFormNumber": update.phone.strip()},
    }


def label(record: Mapping[str, Any], role: ContactRole) -> str:
    """How a refusal names the record: its display name, else its Id."""
    name = str(record.get("DisplayName") or "").strip()
    shown = f"“{name}”" if name else str(record.get("Id") or "")
    return f"QuickBooks {role.value} {shown}"


def unknown_contact(ref: str) -> Rejected:
    """QuickBooks has no customer or vendor with that Id."""
    return no_such_contact("QuickBooks", f"customer or supplier with Id {ref}", record="record")


def inactive_contact(record: Mapping[str, Any], role: ContactRole) -> Rejected:
    """QuickBooks' "inactive" is its archive: Ledgerlink leaves such a record alone."""
    return Rejected(
        code="inactive_contact",
        field="reference",
        reason=f"{label(record, role)} is inactive in QuickBooks, so its details were not changed.",
        fix=(
            f"Make the {role.value} active again in QuickBooks and sync again, or link our "
            "contact to the active record on the Link page."
        ),
    )


def refused(record: Mapping[str, Any], role: ContactRole, errors: list[QboError]) -> Rejected:
    """QuickBooks' fault for an update, in plain words."""
    if any(error.code == STALE_OBJECT for error in errors):
        return Rejected(
            code="changed_meanwhile",
            field="reference",
            reason=(
                f"{label(record, role)} was changed in QuickBooks while Ledgerlink was "
                "writing to it (Stale Object Error), so nothing was saved."
            ),
            fix="Open the sync again: it shows the new values, then choose the direction.",
        )
    said = "; ".join(error.text for error in errors)
    elements = " ".join(error.element for error in errors)
    clues = (("email", "email"), ("phone", "phone"), ("addr", "address_1"))
    field = field_named(elements, clues) or field_named(said, clues)
    return update_refused("QuickBooks", label(record, role), said, field)
