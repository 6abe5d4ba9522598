"""Changing a linked Sage contact's details (never its name): ``PUT /contacts/{key}``.

Sage's v3.1 ``putContacts`` takes ``{"contact": {…}}`` with every field optional: the
ones sent change (``PutContactsContact`` in Sage's swagger, as generated into
``SynergiTech/sage-php``). Ledgerlink sends the ``main_address`` (Sage's address has two
lines, so our third joins the second, as on create) and the ``main_contact_person``
(name, telephone and email: v3.1 reads a contact's email from its main contact person).
Sage publishes no concurrency token for contacts (UNVERIFIED that none exists).

Refused here, before anything is sent: a deleted contact (``deleted_at``), one whose
personal data Sage has obfuscated for GDPR (``gdpr_obfuscated``: Sage keeps it only for
the record) and Sage's own system contacts (``system``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.contract import ContactUpdate
from connectors.errors import Rejected
from connectors.sage_business_cloud.wire import SageError
from connectors.update_refusals import field_named, no_such_contact, update_refused

Json = dict[str, Any]


def update_payload(update: ContactUpdate) -> Json:
    """The ``PUT /contacts/{key}`` body: address and main contact person, blanks included
    so that a detail cleared on our side is cleared in Sage too."""
    line_2 = ", ".join(p.strip() for p in (update.address_2, update.address_3) if p.strip())
    return {
        "contact": {
            "main_address": {
                "address_line_1": update.address_1.strip(),
                "address_line_2": line_2,
                "city": update.town.strip(),
                "region": update.county.strip(),
                "postal_code": update.postcode.strip(),
                "country_id": "GB",
            },
            "main_contact_person": {
                "name": update.contact_name.strip(),
                "telephone": update.phone.strip(),
                "email": update.email.strip(),
            },
        }
    }


def label(record: Mapping[str, Any], contact_id: str) -> str:
    """How a refusal names the contact."""
    name = str(record.get("name") or "").strip()
    return f"Sage contact “{name}”" if name else f"Sage contact {contact_id}"


def unknown_contact(ref: str) -> Rejected:
    """Sage has no contact with that id."""
    return no_such_contact("Sage", f"contact {ref}")


def not_changeable(record: Mapping[str, Any], contact_id: str) -> Rejected | None:
    """Why Sage's contact must be left as it is, or ``None`` when it may be changed."""
    who = label(record, contact_id)
    if record.get("deleted_at"):
        return unknown_contact(contact_id)
    if record.get("gdpr_obfuscated"):
        return Rejected(
            code="archived_contact",
            field="reference",
            reason=(
                f"{who}'s personal details were removed in Sage (GDPR), so Sage keeps it "
                "only for the record and its details were not changed."
            ),
            fix="Link our contact to the business's current Sage contact on the Link page.",
        )
    if record.get("system"):
        return Rejected(
            code="system_contact",
            field="reference",
            reason=f"{who} is one of Sage's own system contacts, which Ledgerlink never changes.",
            fix="Link our contact to the business's own Sage contact on the Link page.",
        )
    return None


def refused(record: Mapping[str, Any], contact_id: str, errors: list[SageError]) -> Rejected:
    """Sage's 4xx for an update, quoted, with the field at fault in our words."""
    said = "; ".join(error.text for error in errors)
    sources = " ".join(f"{error.source} {error.message}" for error in errors)
    clues = (
        ("email", "email"),
        ("telephone", "phone"),
        ("postal_code", "postcode"),
        ("address", "address_1"),
    )
    return update_refused("Sage", label(record, contact_id), said, field_named(sources, clues))
