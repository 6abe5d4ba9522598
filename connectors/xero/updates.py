"""Changing a linked Xero contact's details (never its name): ``POST /Contacts/{ContactID}``.

Xero's ``POST`` updates the fields it is given and leaves the rest (spec operation
``updateContact``). Ledgerlink sends only what the contact sync keeps in step: the email
address, the postal (``POBOX``) address with its ``AttentionTo``, and the ``DEFAULT``
phone; the name, the street address and the other phones stay as they are. A blank
value is sent blank, so a detail cleared on our side is cleared in Xero too.

The contact is read first: an archived contact is refused here, in plain words, rather
than changed behind the bookkeeper's back (Xero's own answer to that is UNVERIFIED, see
docs/packages/xero.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from connectors.contract import ContactUpdate
from connectors.errors import Rejected
from connectors.http import dumps_json
from connectors.update_refusals import field_named, no_such_contact, update_refused

Json = dict[str, Any]


def update_payload(contact_id: str, update: ContactUpdate) -> Json:
    """The one-element ``Contacts`` body of ``POST /Contacts/{ContactID}``."""
    return {
        "Contacts": [
            {
                "ContactID": contact_id,
                "EmailAddress": update.email.strip(),
                "Addresses": [
                    {
                        "AddressType": "POBOX",
                        "AddressLine1": update.address_1.strip(),
                        "AddressLine2": update.address_2.strip(),
                        "AddressLine3": update.address_3.strip(),
                        # remote_contact joins lines 3 and 4: clear 4 so they read back alike.
                        "AddressLine4": "",
                        "City": update.town.strip(),
                        "Region": update.county.strip(),
                        "PostalCode": update.postcode.strip(),
                        "AttentionTo": update.contact_name.strip(),
                    }
                ],
                "Phones": [
                    {
                        "PhoneType": "DEFAULT",
                        "PhoneNumber": update.phone.strip(),
                        "PhoneAreaCode": "",
                        "PhoneCountryCode": "",
                    }
                ],
            }
        ]
    }


def update_key(contact_id: str, body: Mapping[str, Any]) -> str:
    """An ``Idempotency-Key`` for one update: a resend of the same values replays."""
    digest = hashlib.sha256(dumps_json(body)).hexdigest()[:24]
    return f"ll-update-{contact_id}.{digest}"


def label(contact: Mapping[str, Any], contact_id: str) -> str:
    """How a refusal names the contact: its Xero name, else its id."""
    name = str(contact.get("Name") or "").strip()
    return f"Xero contact “{name}”" if name else f"Xero contact {contact_id}"


def unknown_contact(contact_id: str) -> Rejected:
    """The linked contact is not in Xero any more (or the reference is not Xero's)."""
    return no_such_contact("Xero", f"contact {contact_id}", gone="merged away")


def archived_contact(contact: Mapping[str, Any], contact_id: str) -> Rejected:
    """Xero keeps the archived contact as it was: Ledgerlink does not change it."""
    return Rejected(
        code="archived_contact",
        field="reference",
        reason=(
            f"{label(contact, contact_id)} is archived in Xero, so its details were not changed."
        ),
        fix=(
            "Restore the contact in Xero (Contacts → Archived → Restore) and sync again, or "
            "link our contact to the active Xero contact on the Link page."
        ),
    )


def refused(contact: Mapping[str, Any], contact_id: str, messages: list[str]) -> Rejected:
    """Xero's validation messages for an update, quoted and tied to the field at fault."""
    said = " ".join(m if m.endswith(".") else m + "." for m in messages)
    clues = (
        ("email", "email"),
        ("phone", "phone"),
        ("address", "address_1"),
        ("postal", "postcode"),
    )
    return update_refused("Xero", label(contact, contact_id), said, field_named(said, clues))
