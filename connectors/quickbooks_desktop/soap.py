"""The Web Connector's SOAP 1.1 messages: reading a call, writing its answer or a fault.

The Web Connector speaks document/literal SOAP 1.1 in the namespace
``http://developer.intuit.com/``; each call is an element named after the operation
whose children are the parameters (``strUserName``, ``ticket`` …), and each answer is
``<operation>Response`` holding ``<operation>Result`` (the QBWC WSDL). Parameter names
are significant, so they are read exactly as published.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
INTUIT = "http://developer.intuit.com/"

#: Each operation and its parameters, as the WSDL names them.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": (
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class SoapFault(Exception):
    """A call Ledgerlink cannot take; answered as a SOAP fault (``Client`` when the caller
    sent something wrong, ``Server`` when Ledgerlink failed)."""

    def __init__(self, message: str, *, code: str = "Client") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Call:
    operation: str
    params: dict[str, str]

    def integer(self, name: str) -> int:
        """Parameter ``name`` as a whole number; a ``Client`` ``SoapFault`` when it is not one."""
        value = self.params.get(name, "").strip()
        try:
            return int(value)
        except ValueError as exc:
            raise SoapFault(f"{self.operation}: {name} must be a whole number") from exc


def parse_call(body: bytes) -> Call:
    """The operation and parameters of one SOAP request; :class:`SoapFault` if it is not a
    well-formed Web Connector call."""
    try:
        envelope = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(f"The request is not well-formed XML: {exc}") from exc
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("The request is not a SOAP 1.1 envelope.")
    soap_body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise SoapFault("The SOAP envelope has no Body.")
    calls = [child for child in soap_body if isinstance(child.tag, str)]
    if len(calls) != 1:
        raise SoapFault("The SOAP Body must hold exactly one operation.")
    qname = etree.QName(calls[0])
    if qname.namespace != INTUIT or qname.localname not in OPERATIONS:
        raise SoapFault(f"Unknown operation {{{qname.namespace}}}{qname.localname}.")
    params: dict[str, str] = {}
    for child in calls[0]:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace == INTUIT and name.localname in OPERATIONS[qname.localname]:
            params[name.localname] = child.text or ""
    return Call(qname.localname, params)


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    return envelope, body


def _bytes(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def answer(operation: str, result: str | int | list[str]) -> bytes:
    """The SOAP answer to ``operation``: a string, an int, or (``authenticate``) an
    ArrayOfString."""
    envelope, body = _envelope()
    response = etree.SubElement(body, f"{{{INTUIT}}}{operation}Response", nsmap={None: INTUIT})
    holder = etree.SubElement(response, f"{{{INTUIT}}}{operation}Result")
    if isinstance(result, list):
        for item in result:
            etree.SubElement(holder, f"{{{INTUIT}}}string").text = item
    else:
        holder.text = str(result)
    return _bytes(envelope)


def fault(error: SoapFault) -> bytes:
    """A SOAP 1.1 fault for a call Ledgerlink could not take."""
    envelope, body = _envelope()
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soap:{error.code}"
    etree.SubElement(element, "faultstring").text = error.message
    return _bytes(envelope)


def request(operation: str, **params: str | int) -> bytes:
    """A SOAP call as the Web Connector sends it (for tests and diagnostics)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation}")
    envelope, body = _envelope()
    call = etree.SubElement(body, f"{{{INTUIT}}}{operation}", nsmap={None: INTUIT})
    for name in OPERATIONS[operation]:
        if name in params:
            etree.SubElement(call, f"{{{INTUIT}}}{name}").text = str(params[name])
    return _bytes(envelope)


@dataclass(frozen=True)
class Result:
    """An answer as a client reads it: the result's text, its strings, or a fault."""

    text: str
    strings: tuple[str, ...]
    fault: str = ""


def read_answer(body: bytes, operation: str) -> Result:
    """Read the service's answer to ``operation`` (the client side, for tests)."""
    envelope = etree.fromstring(body, _PARSER)
    fault_element = envelope.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    if fault_element is not None:
        return Result("", (), fault_element.findtext("faultstring") or "fault")
    holder = envelope.find(
        f"{{{SOAP_ENV}}}Body/{{{INTUIT}}}{operation}Response/{{{INTUIT}}}{operation}Result"
    )
    if holder is None:
        raise ValueError(f"no {operation}Result in the answer")
    strings = tuple(s.text or "" for s in holder.findall(f"{{{INTUIT}}}string"))
    return Result(holder.text or "", strings)
