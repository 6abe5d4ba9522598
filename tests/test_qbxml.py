"""qbXML requests as QuickBooks Desktop expects them: element order, lengths, encoding."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from connectors.contract import (
    AllocationDraft,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    LineDraft,
    PaymentDraft,
)
from connectors.errors import Rejected
from connectors.quickbooks_desktop import qbxml, soap


def _children(element: etree._Element) -> list[str]:
    return [str(child.tag) for child in element]


def test_customer_add_follows_the_schema_order_and_escapes_non_ascii() -> None:
    draft = ContactDraft(
        ContactRole.CUSTOMER, "C1", "Décor Ltd", contact_name="Jo", address_1="1 Mill Lane",
        town="Leeds", postcode="LS1 1AA", email="jo@example.com", phone="0113",
    )  # fmt: skip
    request = qbxml.contact_add("7", draft)
    body = request.find("CustomerAdd")
    assert body is not None
    assert _children(body) == [
        "Name", "CompanyName", "BillAddress", "Phone", "Email", "Contact", "AccountNumber",
    ]  # fmt: skip
    text = qbxml.message_set([request], (13, 0))
    assert text.splitlines()[1] == '<?qbxml version="13.0"?>'
    assert "D&#233;cor Ltd" in text and 'onError="continueOnError"' in text
    assert 'requestID="7"' in text


def test_vendor_uses_vendor_address() -> None:
    draft = ContactDraft(ContactRole.SUPPLIER, "S1", "Merchants", address_1="2 Road")
    body = qbxml.contact_add("1", draft).find("VendorAdd")
    assert body is not None and body.find("VendorAddress/Addr1") is not None


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("name", "N" * 42, 41), ("postcode", "P" * 14, 13), ("town", "T" * 32, 31)],
)
def test_lengths_are_refused_naming_the_field(field: str, value: str, limit: int) -> None:
    kwargs = {"name": "Ok Ltd", field: value}
    draft = ContactDraft(ContactRole.CUSTOMER, "C9", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Rejected) as caught:
        qbxml.contact_add("1", draft)
    assert caught.value.field == field and str(limit) in caught.value.reason
    assert "C9" in caught.value.fix


def test_invoice_lines_go_through_items_and_vat_codes() -> None:
    line = LineDraft(
        "Boiler service", Decimal("1.5"), Decimal("80"), Decimal("120.00"),
        "item:90000001-1", "A0000001-1", Decimal(20), Decimal("24.00"),
    )  # fmt: skip
    draft = DocumentDraft(
        DocumentType.INVOICE, "INV-1", date(2026, 1, 5), "Ada Boilers Ltd", (line,),
        due_date=date(2026, 2, 4), reference="Job 88",
    )  # fmt: skip
    body = qbxml.document_add("12", draft).find("InvoiceAdd")
    assert body is not None
    assert _children(body) == [
        "CustomerRef", "TxnDate", "RefNumber", "DueDate", "Memo", "InvoiceLineAdd",
    ]  # fmt: skip
    line_el = body.find("InvoiceLineAdd")
    assert line_el is not None
    assert _children(line_el) == ["ItemRef", "Desc", "Quantity", "Rate", "SalesTaxCodeRef"]
    assert line_el.findtext("ItemRef/ListID") == "90000001-1"
    assert line_el.findtext("Quantity") == "1.5" and line_el.findtext("Rate") == "80"
    too_long = DocumentDraft(DocumentType.INVOICE, "INV-2026-000001", date(2026, 1, 5), "A", ())
    with pytest.raises(Rejected, match="11"):
        qbxml.document_add("1", too_long)


def test_payment_applies_to_txn_ids_or_says_not_to_auto_apply() -> None:
    applied = PaymentDraft(
        "PAY-1", date(2026, 1, 25), "Ada", Decimal("126"), "80000004-1",
        (AllocationDraft("1EB-1", Decimal("126")),),
    )  # fmt: skip
    body = qbxml.payment_add("3", applied).find("ReceivePaymentAdd")
    assert body is not None
    assert body.findtext("TotalAmount") == "126.00"
    assert body.findtext("AppliedToTxnAdd/TxnID") == "1EB-1"
    assert body.find("IsAutoApply") is None
    loose = PaymentDraft("PAY-2", date(2026, 1, 25), "Ada", Decimal("5"), "80000004-1")
    body = qbxml.payment_add("4", loose).find("ReceivePaymentAdd")
    assert body is not None and body.findtext("IsAutoApply") == "false"


def test_version_choice_and_unreadable_answers() -> None:
    assert qbxml.choose_version(16, 0) == (13, 0)
    assert qbxml.choose_version(10, 0) == (10, 0)
    assert qbxml.choose_version(8, 0) is None
    with pytest.raises(qbxml.QbxmlError):
        qbxml.parse_response("<<<")
    with pytest.raises(qbxml.QbxmlError):
        qbxml.parse_response("<QBXML><Nothing/></QBXML>")


def test_soap_round_trip_and_faults() -> None:
    call = soap.parse_call(soap.request("authenticate", strUserName="u", strPassword="p"))
    assert call.operation == "authenticate" and call.params == {
        "strUserName": "u",
        "strPassword": "p",
    }
    answer = soap.read_answer(soap.answer("authenticate", ["t", "none"]), "authenticate")
    assert answer.strings == ("t", "none")
    with pytest.raises(soap.SoapFault):
        soap.parse_call(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    fault = soap.read_answer(soap.fault(soap.SoapFault("bad")), "authenticate")
    assert fault.fault == "bad"


XSD = os.environ.get("LEDGERLINK_QBXML_XSD", "")


@pytest.mark.skipif(not XSD, reason="set LEDGERLINK_QBXML_XSD to Intuit's qbxmlops130.xsd")
def test_every_request_of_a_poll_is_valid_against_intuits_schema(tmp_path: Path) -> None:
    """Intuit's XSD cannot be shipped with Ledgerlink (qbXML developer agreement); point
    LEDGERLINK_QBXML_XSD at a copy (e.g. jsgoupil/quickbooks-sync's
    src/QbXml/Schemas/qbxmlops130.xsd with the files it includes) to run this."""
    from tests.qbwc_fixtures import qbwc_rig

    schema = etree.XMLSchema(etree.parse(XSD))
    with qbwc_rig(tmp_path / "data") as rig:
        runs = [rig.poll()]
        rig.map_accounts()
        rig.send()
        runs.append(rig.poll(lose_answer=1))
        runs.append(rig.poll())
    requests = [request for run in runs for request in run.requests]
    kinds = {
        tag
        for request in requests
        for tag in ("InvoiceAdd", "ReceivePaymentAdd", "Query")
        if tag in request
    }
    assert kinds == {"InvoiceAdd", "ReceivePaymentAdd", "Query"}
    for request in requests:
        document = etree.fromstring(request.split("?>", 2)[2].encode())
        assert schema.validate(document), schema.error_log.last_error
