"""Changing a linked KashFlow customer's or supplier's details (never its name or Code).

KashFlow's REST API documents ``PUT /v2/customers/{code}`` [KashFlow's api-customers
page]; ``PUT /v2/suppliers/{code}`` is taken to mirror it (UNVERIFIED). Whether a PUT
replaces the whole record or only the fields sent is not published, so Ledgerlink reads
the record, changes only our fields in it (``ContactName``, ``Email``, ``Telephone`` and
the ``Address``: four lines, the third the town and the fourth the county, as on create)
and sends the whole record back; then it reads the record again, because the PUT's
answer body is not documented either.

An archived record is refused here, before anything is sent (KashFlow's archive flag on
customers is UNVERIFIED: ``Archived`` or ``IsArchived`` is looked for, as its nominal
codes carry ``Archived``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connectors.contract import ContactRole, ContactUpdate, RemoteContact
from connectors.errors import ConnectorError, Rejected
from connectors.http import describe_status
from connectors.kashflow import wire
from connectors.update_refusals import field_named, no_such_contact, update_refused

if TYPE_CHECKING:
    from connectors.kashflow.connector import KashFlowConnector

Json = dict[str, Any]


def updated_record(record: Mapping[str, Any], update: ContactUpdate) -> Json:
    """``record`` as KashFlow holds it, with our details in place of its own."""
    line_2 = ", ".join(p.strip() for p in (update.address_2, update.address_3) if p.strip())
    address = record.get("Address")
    kept = dict(address) if isinstance(address, Mapping) else {"CountryCode": "GB"}
    return {
        **record,
        "ContactName": update.contact_name.strip(),
        "Email": update.email.strip(),
        "Telephone": update.phone.strip(),
        "Address": {
            **kept,
            "Line1": update.address_1.strip(),
            "Line2": line_2,
            "Line3": update.town.strip(),
            "Line4": update.county.strip(),
            "PostCode": update.postcode.strip(),
        },
    }


def label(record: Mapping[str, Any], role: ContactRole, code: str) -> str:
    """How a refusal names the record."""
    name = wire.text(record, "Name")
    return f"KashFlow {role.value} “{name}” ({code})" if name else f"KashFlow {role.value} {code}"


def unknown_contact(code: str) -> Rejected:
    """KashFlow has no customer or supplier with that Code."""
    return no_such_contact("KashFlow", f"customer or supplier with Code {code}", record="record")


def archived_contact(record: Mapping[str, Any], role: ContactRole, code: str) -> Rejected:
    """KashFlow keeps an archived record as it was: Ledgerlink does not change it."""
    return Rejected(
        code="archived_contact",
        field="reference",
        reason=f"{label(record, role, code)} is archived in KashFlow, so it was not changed.",
        fix=(
            f"Restore the {role.value} in KashFlow and sync again, or link our contact to "
            "the active record on the Link page."
        ),
    )


def refused(record: Mapping[str, Any], role: ContactRole, code: str, said: str) -> Rejected:
    """KashFlow's 400 for an update, quoted, with the field at fault in our words."""
    clues = (
        ("email", "email"),
        ("telephone", "phone"),
        ("postcode", "postcode"),
        ("address", "address_1"),
    )
    return update_refused("KashFlow", label(record, role, code), said, field_named(said, clues))


def update_contact(connector: KashFlowConnector, ref: str, update: ContactUpdate) -> RemoteContact:
    """Find the record (customers first, as :meth:`get_contact` does), refuse an archived
    one, PUT it back with our details, and read it again."""
    code = ref.strip()
    found = connector._contact_record(code)
    if found is None:
        raise unknown_contact(code)
    record, role = found
    if record.get("Archived") is True or record.get("IsArchived") is True:
        raise archived_contact(record, role, code)
    path = f"{wire.CONTACTS[role]}/{code}"
    response, data = connector._call("PUT", path, body=updated_record(record, update))
    if response.status_code in (200, 201, 204):
        now = connector._get(path)
        if isinstance(now, dict):
            return wire.remote_contact(now, role)
    elif response.status_code == 404:
        raise unknown_contact(code)
    elif response.status_code == 400:
        said = wire.error_of(data).text
        raise refused(record, role, code, said)
    raise ConnectorError(
        f"KashFlow did not confirm the new details of {label(record, role, code)} "
        f"({describe_status(response)}); look at it in KashFlow and sync again."
    )
