"""Every cloud package's refusals name the record in the same words: one Subject that
each package's own extends (QuickBooks Online with the display name sent, Xero with the
part of a split payment and the lines' account codes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType

import pytest

from connectors import subject
from connectors.contract import (
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    Draft,
    PaymentDraft,
)
from connectors.freeagent import rejections as freeagent
from connectors.kashflow import rejections as kashflow
from connectors.quickbooks_online import rejections as quickbooks_online
from connectors.sage_business_cloud import rejections as sage_business_cloud
from connectors.xero import rejections as xero

PACKAGES = [freeagent, kashflow, quickbooks_online, sage_business_cloud, xero]
DAY = date(2025, 11, 30)

NAMED: list[tuple[Draft, str, str]] = [
    (
        ContactDraft(ContactRole.CUSTOMER, " ACME ", " Acme Plumbing "),
        "customer",
        'Customer "Acme Plumbing" (account ACME)',
    ),
    (ContactDraft(ContactRole.SUPPLIER, "", "Midland"), "supplier", 'Supplier "Midland"'),
    (
        DocumentDraft(DocumentType.INVOICE, " INV-7 ", DAY, "c1", ()),
        "invoice",
        "Invoice INV-7",
    ),
    (
        DocumentDraft(DocumentType.CREDIT_NOTE, "CN-2", DAY, "c1", ()),
        "credit note",
        "Credit note CN-2",
    ),
    (PaymentDraft(" PAY-1 ", DAY, "c1", Decimal("5.00"), "bank"), "payment", "Payment PAY-1"),
]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda m: m.__name__.split(".")[1])
@pytest.mark.parametrize(("draft", "word", "opening"), NAMED)
def test_each_package_names_a_refused_record_alike(
    package: ModuleType, draft: Draft, word: str, opening: str
) -> None:
    assert issubclass(package.Subject, subject.Subject)
    refused = package.Subject(draft)
    assert refused.word == word
    assert refused.opening == opening
    assert refused.label == opening[:1].lower() + opening[1:]


def test_the_packages_own_details_stay_theirs() -> None:
    contact = ContactDraft(ContactRole.CUSTOMER, "AB01", "Abbey")
    assert quickbooks_online.Subject(contact, "Abbey (AB01)").display_name == "Abbey (AB01)"
    split = xero.Subject(contact, part=2, line_codes=("200",))
    assert (split.part, split.line_codes, split.label) == (
        2,
        ("200",),
        'customer "Abbey" (account AB01)',
    )
