"""Changing a linked FreeAgent contact's details (never its name):
``PUT /v2/contacts/:id`` with ``{"contact": {…}}``, the fields sent changing
(dev.freeagent.com/docs/contacts, "Update a contact").

Sent: first and last name (the person to write to), email, phone number, the three
address lines, town, region and postcode, blanks included so a detail cleared on our
side is cleared in FreeAgent too (UNVERIFIED that FreeAgent clears a field sent blank
rather than ignoring it); never ``organisation_name``. A hidden contact (FreeAgent's
archive, ``status: "Hidden"``) is refused here, before anything is sent. FreeAgent
publishes no concurrency token for contacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connectors.contract import ContactUpdate, RemoteContact
from connectors.errors import ConnectorError, Rejected
from connectors.freeagent import wire
from connectors.http import describe_status
from connectors.update_refusals import field_named, no_such_contact, update_refused

if TYPE_CHECKING:
    from connectors.freeagent.connector import FreeAgentConnector

Json = dict[str, Any]


def update_payload(update: ContactUpdate) -> Json:
    """The ``PUT /v2/contacts/:id`` body."""
    person = update.contact_name.strip().split(None, 1)
    return {
        "contact": {
            "first_name": person[0] if person else "",
            "last_name": person[1] if len(person) > 1 else "",
            "email": update.email.strip(),
            "phone_number": update.phone.strip(),
            "address1": update.address_1.strip(),
            "address2": update.address_2.strip(),
            "address3": update.address_3.strip(),
            "town": update.town.strip(),
            "region": update.county.strip(),
            "postcode": update.postcode.strip(),
        }
    }


def label(record: Mapping[str, Any], number: str) -> str:
    """How a refusal names the contact."""
    name = wire.contact_name(record)
    return f"FreeAgent contact “{name}”" if name else f"FreeAgent contact {number}"


def unknown_contact(number: str) -> Rejected:
    """FreeAgent has no contact with that number."""
    return no_such_contact("FreeAgent", f"contact {number}")


def hidden_contact(record: Mapping[str, Any], number: str) -> Rejected:
    """A hidden contact is FreeAgent's archive: Ledgerlink leaves it as it is."""
    return Rejected(
        code="archived_contact",
        field="reference",
        reason=f"{label(record, number)} is hidden in FreeAgent, so its details were not changed.",
        fix=(
            "Show the contact again in FreeAgent (Contacts → Hidden) and sync again, or link "
            "our contact to the active FreeAgent contact on the Link page."
        ),
    )


def refused(record: Mapping[str, Any], number: str, messages: list[str]) -> Rejected:
    """FreeAgent's 4xx for an update, quoted, with the field at fault in our words."""
    said = "; ".join(messages)
    clues = (
        ("email", "email"),
        ("phone", "phone"),
        ("postcode", "postcode"),
        ("address", "address_1"),
    )
    return update_refused("FreeAgent", label(record, number), said, field_named(said, clues))


def update_contact(connector: FreeAgentConnector, ref: str, update: ContactUpdate) -> RemoteContact:
    """Read the contact (refusing a hidden one), ``PUT`` the new details, and answer the
    contact as FreeAgent now holds it."""
    number = ref.strip()
    record = connector._contact_record(number)
    if record is None:
        raise unknown_contact(number)
    if wire.text(record, "status") == "Hidden":
        raise hidden_contact(record, number)
    response, data = connector._call("PUT", f"contacts/{number}", body=update_payload(update))
    saved = wire.one_of(data, "contact") if response.status_code == 200 else None
    if saved is not None:
        return connector._as_remote(saved, number)
    if response.status_code == 404:
        raise unknown_contact(number)
    if response.status_code in (400, 422):
        raise refused(record, number, wire.errors_of(data))
    raise ConnectorError(
        f"FreeAgent did not confirm the new details of {label(record, number)} "
        f"({describe_status(response)}); look at the contact in FreeAgent and sync again."
    )
