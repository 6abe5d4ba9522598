"""qbXML: the requests Ledgerlink puts to QuickBooks Desktop and the answers it reads.

Element names, their order and the maximum lengths follow Intuit's qbXML reference
(the "ops" sample files and the XSDs; see docs/packages/quickbooks-desktop.md). Only
elements that exist in qbXML 10.0 are written, so the same requests work for every
QuickBooks from 2011 on. Non-ASCII characters go as numeric character references,
which QuickBooks reads where raw UTF-8 has been reported to fail.

Qt-free and database-free: builders take the contract's drafts, parsers return plain
dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from connectors.contract import ContactDraft, ContactRole, DocumentDraft, DocumentType, PaymentDraft
from connectors.errors import Rejected

#: The oldest qbXML version Ledgerlink writes (QuickBooks 2011); every element used below
#: exists in it.
MIN_VERSION = (10, 0)
#: The newest version Ledgerlink asks for, even when QuickBooks could take a newer one.
MAX_VERSION = (13, 0)

#: Maximum lengths QuickBooks Desktop allows (qbxmlops100.xml annotations).
NAME_MAX = 41
ADDR_MAX = 41
CITY_MAX = 31
STATE_MAX = 21
POSTCODE_MAX = 13
PHONE_MAX = 21
EMAIL_MAX = 1023
CONTACT_MAX = 41
ACCOUNT_NUMBER_MAX = 99
INVOICE_REF_MAX = 11
PAYMENT_REF_MAX = 20
DESC_MAX = 4095
MEMO_MAX = 4095
FULL_NAME_MAX = 209

CENT = Decimal("0.01")


class QbxmlError(ValueError):
    """A qbXML answer Ledgerlink cannot read (not XML, or not a qbXML response)."""


def choose_version(major: int, minor: int) -> tuple[int, int] | None:
    """The qbXML version to write for a QuickBooks that supports up to ``major.minor``;
    ``None`` when it is older than :data:`MIN_VERSION`."""
    offered = (major, minor)
    if offered < MIN_VERSION:
        return None
    return min(offered, MAX_VERSION)


# ------------------------------------------------------------------------ building


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _opt(parent: etree._Element, tag: str, text: str) -> None:
    if text:
        _sub(parent, tag, text)


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _decimal(value: Decimal) -> str:
    """A quantity or price with at most five decimals (QUANTYPE / PRICETYPE)."""
    text = format(value.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP).normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _date(value: date) -> str:
    return value.isoformat()


def _ref(parent: etree._Element, tag: str, *, list_id: str = "", full_name: str = "") -> None:
    ref = _sub(parent, tag)
    if list_id:
        _sub(ref, "ListID", list_id)
    else:
        _sub(ref, "FullName", full_name)


def _check(value: str, limit: int, field: str, what: str, fix: str) -> None:
    if len(value) > limit:
        raise Rejected(
            code="too_long",
            field=field,
            reason=f"{what} is {len(value)} characters long; QuickBooks Desktop takes at "
            f"most {limit}: “{value}”.",
            fix=fix,
        )


def check_contact(draft: ContactDraft) -> None:
    """Refuse, before anything is queued, a contact QuickBooks would refuse for length or
    for a colon (QuickBooks' separator between a customer and its jobs)."""
    kind = "customer" if draft.role is ContactRole.CUSTOMER else "supplier"
    label = f"The {kind} name"
    fix = f"Shorten it in the job system (the {kind}'s record {draft.our_ref}), then send again."
    name = draft.name.strip()
    if not name:
        raise Rejected(
            code="missing_name",
            field="name",
            reason=f"The {kind} {draft.our_ref} has no name; QuickBooks needs one.",
            fix=f"Give {draft.our_ref} a name in the job system, then send again.",
        )
    if ":" in name:
        raise Rejected(
            code="colon_in_name",
            field="name",
            reason=f"The {kind} name “{name}” contains a colon, which QuickBooks Desktop "
            "uses to separate a customer from its jobs.",
            fix=f"Remove the colon from {draft.our_ref}'s name in the job system.",
        )
    _check(name, NAME_MAX, "name", label, fix)
    for attr, limit, what in (
        ("address_1", ADDR_MAX, "Address line 1"),
        ("address_2", ADDR_MAX, "Address line 2"),
        ("address_3", ADDR_MAX, "Address line 3"),
        ("town", CITY_MAX, "The town"),
        ("county", STATE_MAX, "The county"),
        ("postcode", POSTCODE_MAX, "The postcode"),
        ("phone", PHONE_MAX, "The phone number"),
        ("email", EMAIL_MAX, "The email address"),
        ("contact_name", CONTACT_MAX, "The contact name"),
        ("our_ref", ACCOUNT_NUMBER_MAX, "The account reference"),
    ):
        _check(getattr(draft, attr), limit, attr, what, fix)


def check_document(draft: DocumentDraft) -> None:
    """Refuse a document number longer than QuickBooks' RefNumber."""
    kind = "invoice" if draft.type is DocumentType.INVOICE else "credit note"
    _check(
        draft.number,
        INVOICE_REF_MAX,
        "number",
        f"The {kind} number",
        f"QuickBooks cannot hold this {kind} number; enter the {kind} by hand in QuickBooks "
        "and choose “Entered manually” for it.",
    )


def check_payment(draft: PaymentDraft) -> None:
    """Refuse a payment reference longer than QuickBooks' RefNumber."""
    _check(
        draft.reference,
        PAYMENT_REF_MAX,
        "reference",
        "The payment reference",
        "Enter the payment by hand in QuickBooks and choose “Entered manually” for it.",
    )


def _address(parent: etree._Element, tag: str, draft: ContactDraft) -> None:
    lines = [line for line in (draft.address_1, draft.address_2, draft.address_3) if line]
    if not (lines or draft.town or draft.county or draft.postcode):
        return
    address = _sub(parent, tag)
    for number, line in enumerate(lines, start=1):
        _sub(address, f"Addr{number}", line)
    _opt(address, "City", draft.town)
    _opt(address, "State", draft.county)
    _opt(address, "PostalCode", draft.postcode)


def contact_add(request_id: str, draft: ContactDraft) -> etree._Element:
    """``CustomerAddRq`` or ``VendorAddRq`` for a contact (elements in the schema's order)."""
    check_contact(draft)
    customer = draft.role is ContactRole.CUSTOMER
    kind = "Customer" if customer else "Vendor"
    request = etree.Element(f"{kind}AddRq", requestID=request_id)
    body = _sub(request, f"{kind}Add")
    name = draft.name.strip()
    _sub(body, "Name", name)
    _sub(body, "CompanyName", name)
    _address(body, "BillAddress" if customer else "VendorAddress", draft)
    _opt(body, "Phone", draft.phone)
    _opt(body, "Email", draft.email)
    _opt(body, "Contact", draft.contact_name)
    _opt(body, "AccountNumber", draft.our_ref)
    return request


def _lines(body: etree._Element, tag: str, draft: DocumentDraft) -> None:
    for line in draft.lines:
        element = _sub(body, tag)
        _ref(element, "ItemRef", list_id=item_list_id(line.account_id))
        _opt(element, "Desc", line.description[:DESC_MAX])
        _sub(element, "Quantity", _decimal(line.quantity))
        _sub(element, "Rate", _decimal(line.unit_price))
        if line.tax_rate_id:
            _ref(element, "SalesTaxCodeRef", list_id=line.tax_rate_id)


def document_add(request_id: str, draft: DocumentDraft) -> etree._Element:
    """``InvoiceAddRq`` or ``CreditMemoAddRq``; the customer by its full name, each line
    through the item our sales account is mapped to."""
    check_document(draft)
    kind = "Invoice" if draft.type is DocumentType.INVOICE else "CreditMemo"
    request = etree.Element(f"{kind}AddRq", requestID=request_id)
    body = _sub(request, f"{kind}Add")
    _ref(body, "CustomerRef", full_name=draft.contact_ref)
    _sub(body, "TxnDate", _date(draft.date))
    _sub(body, "RefNumber", draft.number)
    if draft.type is DocumentType.INVOICE and draft.due_date is not None:
        _sub(body, "DueDate", _date(draft.due_date))
    memo = draft.reference
    if draft.credits_document_ref:
        memo = (memo + " " if memo else "") + "(credits an earlier invoice)"
    _opt(body, "Memo", memo[:MEMO_MAX])
    _lines(body, f"{kind}LineAdd", draft)
    return request


def payment_add(request_id: str, draft: PaymentDraft) -> etree._Element:
    """``ReceivePaymentAddRq``, applied to the invoices' TxnIDs (or left unapplied)."""
    check_payment(draft)
    request = etree.Element("ReceivePaymentAddRq", requestID=request_id)
    body = _sub(request, "ReceivePaymentAdd")
    _ref(body, "CustomerRef", full_name=draft.contact_ref)
    _sub(body, "TxnDate", _date(draft.date))
    _sub(body, "RefNumber", draft.reference)
    _sub(body, "TotalAmount", _amount(draft.amount))
    _ref(body, "DepositToAccountRef", list_id=draft.bank_account_id)
    if not draft.allocations:
        # The schema needs exactly one of IsAutoApply or AppliedToTxnAdd.
        _sub(body, "IsAutoApply", "false")
    for allocation in draft.allocations:
        applied = _sub(body, "AppliedToTxnAdd")
        _sub(applied, "TxnID", allocation.document_ref)
        _sub(applied, "PaymentAmount", _amount(allocation.amount))
    return request


def item_list_id(account_id: str) -> str:
    """The item's ListID from a sales mapping's remote id (``item:<ListID>``)."""
    return account_id.removeprefix("item:")


#: The query that finds each kind of added record again, and the element it searches by.
CHECK_QUERIES = {
    "customer": ("CustomerQueryRq", "FullName"),
    "supplier": ("VendorQueryRq", "FullName"),
    "invoice": ("InvoiceQueryRq", "RefNumber"),
    "credit_note": ("CreditMemoQueryRq", "RefNumber"),
    "payment": ("ReceivePaymentQueryRq", "RefNumber"),
}


def check_query(request_id: str, record_type: str, key: str) -> etree._Element:
    """The query that finds a record we may already have added: a customer or supplier by
    its full name, a document or payment by its reference number."""
    tag, by = CHECK_QUERIES[record_type]
    request = etree.Element(tag, requestID=request_id)
    _sub(request, by, key)
    return request


#: What the one-time import and the nominal mapping read, one query each.
LIST_QUERIES = {
    "customers": "CustomerQueryRq",
    "suppliers": "VendorQueryRq",
    "accounts": "AccountQueryRq",
    "items": "ItemQueryRq",
    "tax_codes": "SalesTaxCodeQueryRq",
}


def list_query(request_id: str, what: str) -> etree._Element:
    """A query for a whole list, active and inactive (so a name in use is known)."""
    request = etree.Element(LIST_QUERIES[what], requestID=request_id)
    if what in ("customers", "suppliers", "accounts", "items"):
        _sub(request, "ActiveStatus", "All")
    return request


def message_set(requests: Sequence[etree._Element], version: tuple[int, int]) -> str:
    """A qbXML request document: each request is answered on its own
    (``continueOnError``), so one refusal does not hold the others back."""
    root = etree.Element("QBXML")
    messages = _sub(root, "QBXMLMsgsRq")
    messages.set("onError", "continueOnError")
    for request in requests:
        messages.append(request)
    body = etree.tostring(root, encoding="us-ascii", xml_declaration=False).decode("ascii")
    major, minor = version
    return f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{major}.{minor}"?>\n{body}'


# ------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Answer:
    """One ``…Rs`` of a qbXML response."""

    request_id: str
    kind: str
    status_code: int
    severity: str
    message: str
    rets: tuple[etree._Element, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Info and warnings are successes; errors are not."""
        return self.severity.lower() != "error"

    @property
    def first(self) -> etree._Element | None:
        """The first record returned, or ``None`` when there is none."""
        return self.rets[0] if self.rets else None


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_response(text: str) -> list[Answer]:
    """Every ``…Rs`` in a qbXML response, in order; :class:`QbxmlError` if it is not one."""
    try:
        root = etree.fromstring(text.strip().encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise QbxmlError(f"QuickBooks' answer is not XML: {exc}") from exc
    messages = root.find("QBXMLMsgsRs") if root.tag == "QBXML" else None
    if messages is None:
        raise QbxmlError("QuickBooks' answer has no QBXML/QBXMLMsgsRs element.")
    answers: list[Answer] = []
    for element in messages:
        if not isinstance(element.tag, str) or not element.tag.endswith("Rs"):
            continue
        try:
            code = int(element.get("statusCode", ""))
        except ValueError as exc:
            raise QbxmlError(f"{element.tag} has no numeric statusCode.") from exc
        answers.append(
            Answer(
                request_id=element.get("requestID", ""),
                kind=element.tag[: -len("Rs")],
                status_code=code,
                severity=element.get("statusSeverity", ""),
                message=element.get("statusMessage", ""),
                rets=tuple(c for c in element if isinstance(c.tag, str)),
            )
        )
    return answers


def text(element: etree._Element | None, path: str) -> str:
    """The text at ``path`` below ``element`` ("" when absent)."""
    if element is None:
        return ""
    found = element.findtext(path)
    return found or ""


def parse_document(text_: str) -> etree._Element:
    """Parse any XML QuickBooks sent (the host/company answer of the first call)."""
    try:
        return etree.fromstring(text_.strip().encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise QbxmlError(f"not XML: {exc}") from exc


def file_ids(company: etree._Element) -> list[str]:
    """The values of every ``FileID`` data extension on the company record (the Web
    Connector stores the .qwc file's FileID this way), braces and case ignored."""
    return [
        text(ext, "DataExtValue").strip().strip("{}").lower()
        for ext in company.iter("DataExtRet")
        if text(ext, "DataExtName") == "FileID"
    ]


def rets_named(answers: Iterable[Answer], *tags: str) -> list[etree._Element]:
    """Every returned element with one of ``tags``, across answers."""
    return [ret for answer in answers for ret in answer.rets if ret.tag in tags]
