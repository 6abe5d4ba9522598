"""Changing a linked QuickBooks Desktop customer's or supplier's details (never its name):
``CustomerModRq`` / ``VendorModRq`` through the Web Connector's queue.

A Mod names the record by ``ListID`` and must echo its current ``EditSequence``
(QuickBooks' version stamp); a stale one is refused with status 3200 and nothing is
changed [xsd ``ListCoreMod``; notes: consolibyte's status table]. Both come from the
lists the Web Connector last read. Elements follow the schema's order (``CustomerMod``:
``ListID``, ``EditSequence``, …, ``BillAddress``, ``Phone``, ``Email``, ``Contact``;
``VendorMod`` has ``VendorAddress``) [xsd qbxml130.xsd]. Every field we keep in step is
written, an empty element clearing it (UNVERIFIED that QuickBooks clears rather than
ignores an empty element; Intuit's reference says a Mod changes only the elements
present).

The connector only checks and queues: it answers :class:`HandedOver`, and the Web
Connector service (``app.services.qbwc``) sends the Mod on the next poll and confirms or
fails the write on QuickBooks' answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from connectors.contract import ContactRole, ContactUpdate, HandedOver
from connectors.errors import Rejected
from connectors.quickbooks_desktop import qbxml
from connectors.quickbooks_desktop.lists import ListContact, QuickBooksLists

#: QuickBooks' answer to a Mod whose EditSequence is no longer the record's.
STALE_EDIT_SEQUENCE = 3200

_KIND = {ContactRole.CUSTOMER: "Customer", ContactRole.SUPPLIER: "Vendor"}

_LIMITS = (
    ("address_1", qbxml.ADDR_MAX, "Address line 1"),
    ("address_2", qbxml.ADDR_MAX, "Address line 2"),
    ("address_3", qbxml.ADDR_MAX, "Address line 3"),
    ("town", qbxml.CITY_MAX, "The town"),
    ("county", qbxml.STATE_MAX, "The county"),
    ("postcode", qbxml.POSTCODE_MAX, "The postcode"),
    ("phone", qbxml.PHONE_MAX, "The phone number"),
    ("email", qbxml.EMAIL_MAX, "The email address"),
    ("contact_name", qbxml.CONTACT_MAX, "The contact name"),
)


def by_name(known: QuickBooksLists) -> dict[str, tuple[ListContact, ContactRole]]:
    """Every customer and supplier by its full name, exactly (a customer first where
    both have the name)."""
    found: dict[str, tuple[ListContact, ContactRole]] = {}
    for role, source in (
        (ContactRole.CUSTOMER, known.customers),
        (ContactRole.SUPPLIER, known.suppliers),
    ):
        for contact in source:
            found.setdefault(contact.full_name, (contact, role))
    return found


def check(update: ContactUpdate, name: str) -> None:
    """Refuse, before anything is queued, a value longer than QuickBooks takes."""
    for attr, limit, what in _LIMITS:
        value = getattr(update, attr).strip()
        if len(value) > limit:
            raise Rejected(
                code="too_long",
                field=attr,
                reason=f"{what} of “{name}” is {len(value)} characters long; QuickBooks "
                f"Desktop takes at most {limit}: “{value}”.",
                fix="Shorten it on our contact, then sync again.",
            )


def hand_over(
    named: Mapping[str, tuple[ListContact, ContactRole]], ref: str, update: ContactUpdate
) -> HandedOver:
    """Check a write and say it is queued; refused when the contact is unknown or
    inactive in the lists last read (``named`` from :func:`by_name`)."""
    found = named.get(ref)
    if found is None:
        raise Rejected(
            code="unknown_contact",
            field="reference",
            reason=f"QuickBooks has no customer or supplier named “{ref}” in the lists the "
            "Web Connector last read; it may have been renamed or deleted.",
            fix="Read QuickBooks' lists again (Connect page), then link our contact to the "
            "record it now is on the Link page.",
        )
    contact, role = found
    if not contact.is_active:
        raise Rejected(
            code="inactive_contact",
            field="reference",
            reason=f"The QuickBooks {role.value} “{ref}” is inactive, so its details were "
            "not changed.",
            fix=f"Make the {role.value} active in QuickBooks, read its lists again and sync "
            "again, or link our contact to the active record.",
        )
    check(update, ref)
    return HandedOver(ref, "queued for the QuickBooks Web Connector's next poll")


def contact_mod(
    request_id: str, role: ContactRole, contact: ListContact, update: ContactUpdate
) -> etree._Element:
    """``CustomerModRq`` or ``VendorModRq`` for ``contact`` as last read (its ``ListID``
    and ``EditSequence``), carrying ``update``."""
    kind = _KIND[role]
    request = etree.Element(f"{kind}ModRq", requestID=request_id)
    body = etree.SubElement(request, f"{kind}Mod")
    etree.SubElement(body, "ListID").text = contact.list_id
    etree.SubElement(body, "EditSequence").text = contact.edit_sequence
    address = etree.SubElement(
        body, "BillAddress" if role is ContactRole.CUSTOMER else "VendorAddress"
    )
    for tag, value in (
        ("Addr1", update.address_1),
        ("Addr2", update.address_2),
        ("Addr3", update.address_3),
        ("City", update.town),
        ("State", update.county),
        ("PostalCode", update.postcode),
    ):
        etree.SubElement(address, tag).text = value.strip()
    for tag, value in (
        ("Phone", update.phone),
        ("Email", update.email),
        ("Contact", update.contact_name),
    ):
        etree.SubElement(body, tag).text = value.strip()
    return request


def stale_reason(role: ContactRole, name: str) -> str:
    """Why a Mod with a stale EditSequence failed, and what happens next."""
    return (
        f"The QuickBooks {role.value} “{name}” was changed in QuickBooks after the Web "
        "Connector last read it (status 3200: its EditSequence is out of date), so our "
        "details were not written. Ledgerlink reads QuickBooks' lists again on the next "
        "poll; then open the sync again, look at both sides and choose the direction."
    )


def values_of(contact: ListContact) -> dict[str, str]:
    """A contact as QuickBooks holds it, in the contact sync's fields."""
    return {
        "contact_name": contact.contact,
        "address_1": contact.addr1,
        "address_2": contact.addr2,
        "address_3": contact.addr3,
        "town": contact.city,
        "county": contact.state,
        "postcode": contact.postcode,
        "email": contact.email,
        "phone": contact.phone,
    }
