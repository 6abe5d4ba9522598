"""Changing a linked Sage 50 account's details (never its name): a row of a Customer
Records (or Supplier Records) import file for the account's reference.

Sage 50's record import updates an account whose reference already exists, and a blank
field does not overwrite what Sage holds [desktop-bridges §2.1, S7 in
docs/packages/sage-50.md]. So Ledgerlink can set a detail but never clear one: a write
that would clear a field Sage holds is refused, naming the field, rather than written and
silently not done. Column B (Name) carries the name from Sage's own last export, so the
name stays as it is in Sage (UNVERIFIED whether a blank Name would also be accepted on an
update import; writing Sage's own value avoids the question).

Nothing is confirmed here: the write is answered ``HandedOver`` with its file and line,
and confirmed when a reconciliation finds the new details in Sage's Record CSV export.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.contract import SYNC_FIELDS, ContactUpdate, RemoteContact
from connectors.errors import Rejected
from connectors.sage_50 import layout
from connectors.sage_50.layout import contact_column as cc

_WORDS = {
    "address_1": "address line 1",
    "address_2": "address line 2",
    "town": "town",
    "county": "county",
    "postcode": "postcode",
    "contact_name": "contact name",
    "phone": "telephone",
    "email": "e-mail",
}


def as_sage_reads_it(update: ContactUpdate) -> dict[str, str]:
    """``update`` as Sage's Record CSV export will show it once imported."""
    line_2 = " ".join(p.strip() for p in (update.address_2, update.address_3) if p.strip())
    values = {f: getattr(update, f).strip() for f in SYNC_FIELDS}
    return {**values, "address_2": line_2, "address_3": ""}


def from_export(values: Mapping[str, str]) -> dict[str, str]:
    """The sync fields of an account in Sage's Record CSV (``values`` by column name)."""
    found = {
        f: values.get(column, "").strip() for f, column in layout.RECORD_COLUMN_OF_FIELD.items()
    }
    return {f: found.get(f, "") for f in SYNC_FIELDS}


def update_row(current: RemoteContact, update: ContactUpdate) -> list[str]:
    """The import row (columns A–AB) that gives ``current`` the details of ``update``;
    refused when it would need a field cleared, or a value Sage would cut."""
    record = f"{current.role.value.capitalize()} {current.ref} ({current.name})"
    wanted = as_sage_reads_it(update)
    held = {
        "address_1": current.address_1,
        "address_2": " ".join(p for p in (current.address_2, current.address_3) if p.strip()),
        "town": current.town,
        "county": current.county,
        "postcode": current.postcode,
        "contact_name": current.contact_name,
        "phone": current.phone,
        "email": current.email,
    }
    for field_name in layout.RECORD_COLUMN_OF_FIELD:
        if not wanted[field_name] and held[field_name].strip():
            raise Rejected(
                code="cannot_clear",
                field=field_name,
                reason=f"{record}: Sage 50's import cannot clear a field (a blank leaves "
                f"it as it is), so the {_WORDS[field_name]} “{held[field_name].strip()}” "
                "would stay.",
                fix=f"Clear the {_WORDS[field_name]} of account {current.ref} in Sage 50 by "
                "hand, or keep it on our contact, then sync again.",
            )
    values = {
        "A/C": current.ref,
        "Name": layout.check_text(current.name, cc("Name"), record=record, no_commas=True),
    }
    for field_name, column in layout.RECORD_COLUMN_OF_FIELD.items():
        no_commas = field_name == "contact_name"
        values[column] = layout.check_text(
            wanted[field_name], cc(column), record=record, no_commas=no_commas
        )
    return [values.get(column.name, "") for column in layout.CONTACT_COLUMNS]


def unknown_account(ref: str) -> Rejected:
    """The reference is not in the lists Ledgerlink has from Sage's exports."""
    return Rejected(
        code="unknown_contact",
        field="reference",
        reason=f"Sage 50 account {ref} is not in the customer or supplier list Ledgerlink "
        "has from Sage's exports.",
        fix="Export the Customer (or Supplier) Record CSV from Sage 50 and read it on the "
        "Reconcile page, then sync again.",
    )
