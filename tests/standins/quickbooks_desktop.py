"""A stand-in for QuickBooks Desktop and its Web Connector, for tests on any OS.

:class:`FakeQuickBooks` answers qbXML request sets the way QuickBooks does (per request
``statusCode``/``statusSeverity``/``statusMessage``, ``ListID``/``TxnID`` on success,
names unique across customers and suppliers → 3100, unknown references → 3140, a query
that matches nothing → 1, a ``CustomerMod``/``VendorMod`` with a stale ``EditSequence`` →
3200), and can be told to answer a request with another status
(3180…). :class:`WebConnectorClient` plays the Web Connector: it posts real SOAP
envelopes over a real socket in the order of Intuit's programmer's guide and can lose an
answer or report an ``hresult`` as the real one does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from lxml import etree

from connectors.quickbooks_desktop import soap
from connectors.quickbooks_desktop.qwc import OWNER_ID

NOT_FOUND = "A query request did not find a matching object in QuickBooks"
PARSE_ERROR = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


@dataclass
class Entity:
    kind: str  # customer or vendor
    list_id: str
    name: str
    account_number: str = ""
    is_active: bool = True
    #: QuickBooks' version stamp: a Mod must echo it (3200 otherwise); each save moves it.
    edit_sequence: str = "1764748800"
    #: Address (``Addr1``… ``PostalCode``), ``Phone``, ``Email`` and ``Contact``.
    details: dict[str, str] = field(default_factory=dict)


ADDRESS_TAGS = ("Addr1", "Addr2", "Addr3", "City", "State", "PostalCode")
DETAIL_TAGS = ("Phone", "Email", "Contact")


@dataclass
class Txn:
    kind: str  # Invoice, CreditMemo, ReceivePayment
    txn_id: str
    ref_number: str
    customer: str
    applied: list[tuple[str, str]] = field(default_factory=list)


def _details(body: etree._Element, *, keep_empty: bool = False) -> dict[str, str]:
    """The address and communication elements of an Add or Mod body."""
    found: dict[str, str] = {}
    address = body.find("BillAddress")
    if address is None:
        address = body.find("VendorAddress")
    for parent, tags in ((address, ADDRESS_TAGS), (body, DETAIL_TAGS)):
        if parent is None:
            continue
        for tag in tags:
            element = parent.find(tag)
            if element is not None and (element.text or keep_empty):
                found[tag] = element.text or ""
    return found


@dataclass
class FakeQuickBooks:
    """One company file open in QuickBooks Desktop UK."""

    file_id: str
    company_file: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Heating Co.QBW"
    company_name: str = "Heating Co Ltd"
    version: tuple[int, int] = (13, 0)
    entities: list[Entity] = field(default_factory=list)
    txns: list[Txn] = field(default_factory=list)
    accounts: list[tuple[str, str, str, str]] = field(
        default_factory=lambda: [
            ("80000001-1", "Sales - Labour", "Income", "4010"),
            ("80000002-1", "Sales - Materials", "Income", "4020"),
            ("80000003-1", "Sales", "Income", "4000"),
            ("80000004-1", "Current Account", "Bank", "1200"),
            ("80000005-1", "Materials Purchased", "CostOfGoodsSold", "5000"),
        ]
    )
    #: ListID, name, type, income account ListID (sales items) or tax rate (tax items).
    items: list[tuple[str, str, str, str]] = field(
        default_factory=lambda: [
            ("90000001-1", "Labour", "ItemServiceRet", "80000001-1"),
            ("90000002-1", "Materials", "ItemNonInventoryRet", "80000002-1"),
            ("90000003-1", "Call-out", "ItemOtherChargeRet", "80000003-1"),
            ("90000010-1", "VAT Standard", "ItemSalesTaxRet", "20.0"),
            ("90000011-1", "VAT Reduced", "ItemSalesTaxRet", "5.0"),
            ("90000012-1", "VAT Zero", "ItemSalesTaxRet", "0.0"),
        ]
    )
    tax_codes: list[tuple[str, str, str, bool]] = field(
        default_factory=lambda: [
            ("A0000001-1", "S", "90000010-1", True),
            ("A0000002-1", "R", "90000011-1", True),
            ("A0000003-1", "Z", "90000012-1", True),
            ("A0000004-1", "E", "", False),
        ]
    )
    #: request element name → status codes to answer instead of doing it, in turn.
    faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    processed: list[tuple[str, str]] = field(default_factory=list)
    _next: int = 0x100

    # ------------------------------------------------------------------ the host/company

    def hcp_response(self) -> str:
        root = etree.Element("QBXML")
        messages = _sub(root, "QBXMLMsgsRs")
        host = _sub(messages, "HostQueryRs", None)
        host.attrib.update(dict(requestID="0", statusCode="0", statusSeverity="Info"))
        ret = _sub(host, "HostRet")
        _sub(ret, "ProductName", "QuickBooks Pro 2021 UK")
        _sub(ret, "Country", "UK")
        for major in range(1, self.version[0] + 1):
            _sub(ret, "SupportedQBXMLVersion", f"{major}.0")
        company = _sub(messages, "CompanyQueryRs")
        company.attrib.update(dict(requestID="1", statusCode="0", statusSeverity="Info"))
        cret = _sub(company, "CompanyRet")
        _sub(cret, "CompanyName", self.company_name)
        ext = _sub(cret, "DataExtRet")
        _sub(ext, "OwnerID", OWNER_ID)
        _sub(ext, "DataExtName", "FileID")
        _sub(ext, "DataExtType", "STR255TYPE")
        _sub(ext, "DataExtValue", self.file_id)
        prefs = _sub(messages, "PreferencesQueryRs")
        prefs.attrib.update(dict(requestID="2", statusCode="0", statusSeverity="Info"))
        _sub(
            _sub(_sub(prefs, "PreferencesRet"), "AccountingPreferences"),
            "IsUsingAuditTrail",
            "true",
        )
        return '<?xml version="1.0" ?>' + etree.tostring(root, encoding="unicode")

    # ------------------------------------------------------------------ qbXML

    def answer(self, request: str) -> str:
        """QuickBooks' response to a qbXML request set."""
        assert '<?qbxml version="' in request, "no qbxml processing instruction"
        root = etree.fromstring(request.encode("utf-8"))
        messages = root.find("QBXMLMsgsRq")
        assert messages is not None and messages.get("onError") in (
            "stopOnError",
            "continueOnError",
            "rollbackOnError",
        )
        out = etree.Element("QBXML")
        rs_set = _sub(out, "QBXMLMsgsRs")
        for rq in messages:
            tag = str(rq.tag)
            self.processed.append((tag, rq.get("requestID", "")))
            rs = _sub(rs_set, tag[:-2] + "Rs")
            if rq.get("requestID") is not None:
                rs.set("requestID", rq.get("requestID", ""))
            pending = self.faults.get(tag)
            if pending:
                code = pending.pop(0)
                self._status(
                    rs,
                    code,
                    f"There was an error when saving a {tag[:-5]}. "
                    "QuickBooks error message: This list has been modified by another user.",
                )
                continue
            handler = getattr(self, "_" + tag[:-2], None)
            assert handler is not None, f"the stand-in does not know {tag}"
            handler(rq, rs)
        return '<?xml version="1.0" ?>' + etree.tostring(out, encoding="unicode")

    def _status(self, rs: etree._Element, code: int, message: str = "Status OK") -> None:
        severity = "Info" if code < 500 else "Warn" if code < 1000 else "Error"
        rs.attrib.update(dict(statusCode=str(code), statusSeverity=severity, statusMessage=message))

    def _id(self) -> str:
        self._next += 1
        return f"{self._next:X}-1764748800"

    def _entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.name.lower() == name.lower()), None)

    def _entity_ret(self, rs: etree._Element, entity: Entity) -> None:
        ret = _sub(rs, "CustomerRet" if entity.kind == "customer" else "VendorRet")
        _sub(ret, "ListID", entity.list_id)
        _sub(ret, "EditSequence", entity.edit_sequence)
        _sub(ret, "Name", entity.name)
        if entity.kind == "customer":
            _sub(ret, "FullName", entity.name)
        _sub(ret, "IsActive", "true" if entity.is_active else "false")
        if entity.kind == "customer":
            _sub(ret, "Sublevel", "0")
        if any(entity.details.get(tag) for tag in ADDRESS_TAGS):
            address = _sub(ret, "BillAddress" if entity.kind == "customer" else "VendorAddress")
            for tag in ADDRESS_TAGS:
                if entity.details.get(tag):
                    _sub(address, tag, entity.details[tag])
        for tag in DETAIL_TAGS:
            if entity.details.get(tag):
                _sub(ret, tag, entity.details[tag])
        if entity.account_number:
            _sub(ret, "AccountNumber", entity.account_number)

    def _add_entity(self, kind: str, rq: etree._Element, rs: etree._Element) -> None:
        body = rq[0]
        name = body.findtext("Name") or ""
        assert len(name) <= 41
        if self._entity(name):
            self._status(rs, 3100, f'The name "{name}" of the list element is already in use.')
            return
        entity = Entity(kind, self._id(), name, body.findtext("AccountNumber") or "")
        entity.details = _details(body)
        self.entities.append(entity)
        self._status(rs, 0)
        self._entity_ret(rs, entity)

    def _CustomerAdd(self, rq: etree._Element, rs: etree._Element) -> None:
        self._add_entity("customer", rq, rs)

    def _VendorAdd(self, rq: etree._Element, rs: etree._Element) -> None:
        self._add_entity("vendor", rq, rs)

    def _invalid(self, rs: etree._Element, what: str, value: str, where: str) -> None:
        self._status(
            rs,
            3140,
            f'There is an invalid reference to QuickBooks {what} "{value}" in the {where}. '
            "QuickBooks error message: Invalid argument.  The specified record does not "
            "exist in the list.",
        )

    def _add_txn(self, kind: str, rq: etree._Element, rs: etree._Element) -> None:
        body = rq[0]
        customer = body.findtext("CustomerRef/FullName") or ""
        found = self._entity(customer)
        if found is None or found.kind != "customer":
            self._invalid(rs, "Customer", customer, kind)
            return
        items = {i[0] for i in self.items}
        codes = {c[0] for c in self.tax_codes}
        for line in body.iter(f"{kind}LineAdd"):
            item = line.findtext("ItemRef/ListID") or ""
            if item not in items:
                self._invalid(rs, "Item", item, kind)
                return
            code = line.findtext("SalesTaxCodeRef/ListID")
            if code is not None and code not in codes:
                self._invalid(rs, "Sales Tax Code", code, kind)
                return
        applied: list[tuple[str, str]] = []
        if kind == "ReceivePayment":
            account = body.findtext("DepositToAccountRef/ListID") or ""
            if account not in {a[0] for a in self.accounts}:
                self._invalid(rs, "Account", account, kind)
                return
            for applied_to in body.iter("AppliedToTxnAdd"):
                txn_id = applied_to.findtext("TxnID") or ""
                if not any(t.txn_id == txn_id and t.kind == "Invoice" for t in self.txns):
                    self._status(
                        rs, 3120, f'Object "{txn_id}" specified in the request cannot be found.'
                    )
                    return
                applied.append((txn_id, applied_to.findtext("PaymentAmount") or ""))
        ref = body.findtext("RefNumber") or ""
        txn = Txn(kind, self._id(), ref, found.name, applied)
        self.txns.append(txn)
        self._status(rs, 0)
        self._txn_ret(rs, txn)

    def _txn_ret(self, rs: etree._Element, txn: Txn) -> None:
        ret = _sub(rs, f"{txn.kind}Ret")
        _sub(ret, "TxnID", txn.txn_id)
        _sub(_sub(ret, "CustomerRef"), "FullName", txn.customer)
        _sub(ret, "RefNumber", txn.ref_number)

    def _InvoiceAdd(self, rq: etree._Element, rs: etree._Element) -> None:
        self._add_txn("Invoice", rq, rs)

    def _CreditMemoAdd(self, rq: etree._Element, rs: etree._Element) -> None:
        self._add_txn("CreditMemo", rq, rs)

    def _ReceivePaymentAdd(self, rq: etree._Element, rs: etree._Element) -> None:
        self._add_txn("ReceivePayment", rq, rs)

    def _mod_entity(self, kind: str, rq: etree._Element, rs: etree._Element) -> None:
        """A Mod names the record by ListID and must echo its current EditSequence
        (3200 otherwise: nothing changes); the elements present replace the record's, an
        empty one clearing it."""
        body = rq[0]
        list_id = body.findtext("ListID") or ""
        entity = next((e for e in self.entities if e.list_id == list_id and e.kind == kind), None)
        if entity is None:
            self._status(
                rs,
                3120,
                f'Object "{list_id}" specified in the request cannot be found.',
            )
            return
        sequence = body.findtext("EditSequence") or ""
        if sequence != entity.edit_sequence:
            self._status(rs, 3200, f'The provided edit sequence "{sequence}" is out-of-date.')
            return
        changed = _details(body, keep_empty=True)
        for tag, value in changed.items():
            if value:
                entity.details[tag] = value
            else:
                entity.details.pop(tag, None)
        entity.edit_sequence = str(int(entity.edit_sequence) + 1)
        self._status(rs, 0)
        self._entity_ret(rs, entity)

    def _CustomerMod(self, rq: etree._Element, rs: etree._Element) -> None:
        self._mod_entity("customer", rq, rs)

    def _VendorMod(self, rq: etree._Element, rs: etree._Element) -> None:
        self._mod_entity("vendor", rq, rs)

    def change_in_quickbooks(self, name: str, **details: str) -> None:
        """As a bookkeeper would in QuickBooks' own screens: new values, new EditSequence."""
        entity = self._entity(name)
        assert entity is not None
        entity.details.update(details)
        entity.edit_sequence = str(int(entity.edit_sequence) + 1)

    def _query_entities(self, kind: str, rq: etree._Element, rs: etree._Element) -> None:
        names = [n.text or "" for n in rq.findall("FullName")]
        found = [
            e
            for e in self.entities
            if e.kind == kind and (not names or any(e.name.lower() == n.lower() for n in names))
        ]
        if not found:
            self._status(rs, 1, NOT_FOUND)
            return
        self._status(rs, 0)
        for entity in found:
            self._entity_ret(rs, entity)

    def _CustomerQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._query_entities("customer", rq, rs)

    def _VendorQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._query_entities("vendor", rq, rs)

    def _query_txns(self, kind: str, rq: etree._Element, rs: etree._Element) -> None:
        refs = {r.text for r in rq.findall("RefNumber")}
        found = [t for t in self.txns if t.kind == kind and t.ref_number in refs]
        if not found:
            self._status(rs, 1, NOT_FOUND)
            return
        self._status(rs, 0)
        for txn in found:
            self._txn_ret(rs, txn)

    def _InvoiceQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._query_txns("Invoice", rq, rs)

    def _CreditMemoQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._query_txns("CreditMemo", rq, rs)

    def _ReceivePaymentQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._query_txns("ReceivePayment", rq, rs)

    def _AccountQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._status(rs, 0)
        for list_id, name, kind, number in self.accounts:
            ret = _sub(rs, "AccountRet")
            _sub(ret, "ListID", list_id)
            _sub(ret, "Name", name)
            _sub(ret, "FullName", name)
            _sub(ret, "IsActive", "true")
            _sub(ret, "AccountType", kind)
            _sub(ret, "AccountNumber", number)

    def _ItemQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._status(rs, 0)
        accounts = {a[0]: a[1] for a in self.accounts}
        for list_id, name, tag, extra in self.items:
            ret = _sub(rs, tag)
            _sub(ret, "ListID", list_id)
            _sub(ret, "Name", name)
            _sub(ret, "FullName", name)
            _sub(ret, "IsActive", "true")
            if tag == "ItemSalesTaxRet":
                _sub(ret, "TaxRate", extra)
            else:
                ref = _sub(_sub(ret, "SalesOrPurchase"), "AccountRef")
                _sub(ref, "ListID", extra)
                _sub(ref, "FullName", accounts[extra])

    def _SalesTaxCodeQuery(self, rq: etree._Element, rs: etree._Element) -> None:
        self._status(rs, 0)
        for list_id, name, item, taxable in self.tax_codes:
            ret = _sub(rs, "SalesTaxCodeRet")
            _sub(ret, "ListID", list_id)
            _sub(ret, "Name", name)
            _sub(ret, "IsActive", "true")
            _sub(ret, "IsTaxable", "true" if taxable else "false")
            if item:
                _sub(_sub(ret, "ItemSalesTaxRef"), "ListID", item)

    # ------------------------------------------------------------------ what it holds

    def count(self, kind: str) -> int:
        if kind in ("customer", "vendor"):
            return sum(1 for e in self.entities if e.kind == kind)
        return sum(1 for t in self.txns if t.kind == kind)


@dataclass
class Run:
    """What one Web Connector run saw."""

    calls: list[str] = field(default_factory=list)
    auth: tuple[str, ...] = ()
    requests: list[str] = field(default_factory=list)
    progress: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    closed: str = ""


class WebConnectorClient:
    """The Web Connector, scripted: the call order of Intuit's programmer's guide."""

    def __init__(self, url: str, username: str, password: str, version: str = "2.3.0.36"):
        self.url = url
        self.username = username
        self.password = password
        self.version = version
        # One connection kept alive across calls, as the Web Connector's .NET client does.
        self.http = httpx.Client(timeout=30)

    def call(self, operation: str, **params: str | int) -> soap.Result:
        response = self.http.post(
            self.url,
            content=soap.request(operation, **params),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{soap.INTUIT}{operation}"',
            },
        )
        result = soap.read_answer(response.content, operation)
        assert not result.fault, result.fault
        assert response.status_code == 200
        return result

    def run(
        self,
        qb: FakeQuickBooks,
        *,
        lose_answer: int | None = None,
        lose_before_processing: bool = False,
        hresult: tuple[str, str] | None = None,
        max_rounds: int = 50,
    ) -> Run:
        """One scheduled update. ``lose_answer`` = the number (0-based) of the
        ``sendRequestXML`` whose answer never gets back (the run stops there, as when the
        Web Connector or the network dies); with ``lose_before_processing`` QuickBooks
        never saw that request either. ``hresult`` makes QuickBooks' request processor fail
        on the first request."""
        try:
            return self._run(qb, lose_answer, lose_before_processing, hresult, max_rounds)
        finally:
            self.close()

    def close(self) -> None:
        """Drop the connection (the end of an update, or the Web Connector dying)."""
        self.http.close()
        self.http = httpx.Client(timeout=30)

    def _run(
        self,
        qb: FakeQuickBooks,
        lose_answer: int | None,
        lose_before_processing: bool,
        hresult: tuple[str, str] | None,
        max_rounds: int,
    ) -> Run:
        run = Run()

        def note(operation: str, **params: str | int) -> soap.Result:
            run.calls.append(operation)
            return self.call(operation, **params)

        note("serverVersion")
        note("clientVersion", strVersion=self.version)
        auth = note("authenticate", strUserName=self.username, strPassword=self.password)
        run.auth = auth.strings
        ticket, status = auth.strings[0], auth.strings[1]
        if status in ("nvu", "none", "busy"):
            run.closed = note("closeConnection", ticket=ticket).text
            return run
        hcp = qb.hcp_response()
        for number in range(max_rounds):
            request = note(
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse=hcp if number == 0 else "",
                strCompanyFileName=qb.company_file,
                qbXMLCountry="UK",
                qbXMLMajorVers=qb.version[0],
                qbXMLMinorVers=qb.version[1],
            ).text
            if not request:
                run.errors.append(note("getLastError", ticket=ticket).text)
                break
            run.requests.append(request)
            if lose_answer == number:
                if not lose_before_processing:
                    qb.answer(request)
                return run  # the Web Connector died: no answer, no closeConnection
            if hresult is not None and number == 0:
                code, message = hresult
                done = int(
                    note(
                        "receiveResponseXML",
                        ticket=ticket,
                        response="",
                        hresult=code,
                        message=message,
                    ).text
                )
            else:
                done = int(
                    note(
                        "receiveResponseXML",
                        ticket=ticket,
                        response=qb.answer(request),
                        hresult="",
                        message="",
                    ).text
                )
            run.progress.append(done)
            if done < 0:
                run.errors.append(note("getLastError", ticket=ticket).text)
                break
            if done >= 100:
                break
        run.closed = note("closeConnection", ticket=ticket).text
        return run
