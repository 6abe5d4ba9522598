"""The Web Connector service end to end: a scripted Web Connector posts real SOAP
envelopes over a real socket to the real service, and a stand-in QuickBooks answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import AuditEvent, Link, OutboxEntry, QbwcRequest, RecordType, SendState
from app.services.qbwc.status import web_connector_status
from connectors.quickbooks_desktop import lists, soap
from tests.qbwc_fixtures import QbwcRig, qbwc_rig
from tests.standins.quickbooks_desktop import PARSE_ERROR, Entity

DOCUMENT_ORDER = ["CustomerAddRq", "VendorAddRq", "InvoiceAddRq", "CreditMemoAddRq"]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[QbwcRig]:
    with qbwc_rig(tmp_path / "data") as made:
        yield made


def ready(rig: QbwcRig) -> None:
    """First poll reads QuickBooks' lists; then the accounts are mapped and a send hands
    every record over."""
    first = rig.poll()
    assert first.progress[-1] == 100
    rig.map_accounts()
    report = rig.send()
    assert sum(report.handed_over.values()) == 13, report.to_json()


def outbox_states(rig: QbwcRig) -> set[SendState]:
    return set(rig.states().values())


# ------------------------------------------------------------------------ sign-in


@pytest.mark.parametrize(("user", "password"), [("ledgerlink", "wrong one!"), ("someone", None)])
def test_wrong_user_or_password_is_nvu(rig: QbwcRig, user: str, password: str | None) -> None:
    from tests.qbwc_fixtures import PASSWORD

    run = rig.client(password=password or PASSWORD, user=user).run(rig.qb)
    assert run.auth[1] == "nvu"
    assert run.calls == ["serverVersion", "clientVersion", "authenticate", "closeConnection"]
    assert rig.qb.processed == []


def test_nothing_waiting_answers_none(rig: QbwcRig) -> None:
    rig.poll()  # reads the lists; nothing is handed over yet
    run = rig.poll()
    assert run.auth[1] == "none" and not run.requests


# ------------------------------------------------------------------------ reading


def test_first_poll_reads_the_lists_and_the_connector_uses_them(rig: QbwcRig) -> None:
    with rig.store.session_factory() as session:
        before = web_connector_status(session, rig.store.paths.root)
    assert before.waiting_for_lists and before.last_poll_at is None

    run = rig.poll()

    assert run.auth[1] == "" and len(run.requests) == 1
    tags = [tag for tag, _ in rig.qb.processed]
    assert tags == [
        "CustomerQueryRq",
        "VendorQueryRq",
        "AccountQueryRq",
        "ItemQueryRq",
        "SalesTaxCodeQueryRq",
    ]
    assert run.progress == [100]
    known = lists.load(rig.store.paths.root)
    assert known.read_at and known.company_name == "Heating Co Ltd"
    with rig.connector() as connector:
        assert connector.connect().name == "Heating Co Ltd"
        sales = {a.code: a for a in connector.list_accounts() if a.type.value == "sales"}
        assert set(sales) == {"Labour", "Materials", "Call-out"}
        assert sales["Labour"].id == "item:90000001-1"
        assert "posts to Sales - Labour" in sales["Labour"].name
        rates = {r.rate for r in connector.list_tax_rates()}
        assert {0, 5, 20} <= rates
    with rig.store.session_factory() as session:
        after = web_connector_status(session, rig.store.paths.root)
    assert not after.waiting_for_lists and after.last_poll_at is not None
    assert "lists read" in after.last_poll_did


# ------------------------------------------------------------------------ sending


def test_everything_arrives_in_dependency_order_with_request_ids(rig: QbwcRig) -> None:
    ready(rig)
    rig.qb.processed.clear()

    run = rig.poll()

    assert run.progress[-1] == 100 and run.progress == sorted(run.progress)
    assert outbox_states(rig) == {SendState.SUCCESSFUL}
    assert (rig.qb.count("customer"), rig.qb.count("vendor")) == (3, 1)
    assert (rig.qb.count("Invoice"), rig.qb.count("CreditMemo")) == (5, 1)
    assert rig.qb.count("ReceivePayment") == 3
    tags = [tag for tag, _ in rig.qb.processed]
    first_payment = tags.index("ReceivePaymentAddRq")
    assert tags.index("InvoiceAddRq") > tags.index("CustomerAddRq")
    assert all(tag != "CustomerAddRq" for tag in tags[first_payment:])
    with rig.store.session_factory() as session:
        ids = {str(e.id) for e in session.scalars(select(OutboxEntry))}
        assert {request_id for _, request_id in rig.qb.processed} <= ids
        customer = rig.entry(RecordType.CUSTOMER, "Ada Boilers Ltd")
        assert customer.remote_id == "Ada Boilers Ltd"
        link = session.scalars(select(Link).where(Link.contact_id == customer.record_id)).one()
        assert link.remote_ref == "Ada Boilers Ltd"
        invoice = rig.entry(RecordType.INVOICE, "INV-1")
        assert invoice.remote_id in {t.txn_id for t in rig.qb.txns}
        assert session.scalar(select(func.count()).select_from(QbwcRequest)) == 0
        confirmed = session.scalar(select(func.count()).where(AuditEvent.action == "confirmed"))
        assert confirmed == 13
    # The payment was applied to the invoice's TxnID.
    payment = next(t for t in rig.qb.txns if t.ref_number == "PAY-1")
    assert payment.applied == [(invoice.remote_id, "126.00")]
    assert "13 records added to QuickBooks" in run.closed
    # The new customers are known to the connector straight away.
    with rig.connector() as connector:
        found = connector.get_contact("Ada Boilers Ltd")
        assert found is not None and found.ref == "Ada Boilers Ltd"


def test_3100_name_in_use_fails_with_a_fix_and_holds_dependants(rig: QbwcRig) -> None:
    rig.qb.entities.append(Entity("vendor", "8000AA-1", "Ben Pipes"))
    ready(rig)

    run = rig.poll()

    ben = rig.entry(RecordType.CUSTOMER, "Ben Pipes")
    assert ben.state is SendState.FAILED and ben.error_code == "3100"
    assert "Ben Pipes" in ben.error_reason and "Link" in ben.error_fix
    inv2 = rig.entry(RecordType.INVOICE, "INV-2")
    assert inv2.state is SendState.FAILED and inv2.error_code == "blocked"
    assert inv2.blocked_by_id == ben.id
    assert rig.entry(RecordType.INVOICE, "INV-1").state is SendState.SUCCESSFUL
    assert run.progress[-1] == 100
    assert rig.qb.count("customer") == 2


def test_3140_invalid_reference_names_the_item(rig: QbwcRig) -> None:
    ready(rig)
    rig.qb.items = [i for i in rig.qb.items if i[1] != "Call-out"]  # deleted in QuickBooks

    rig.poll()

    inv2 = rig.entry(RecordType.INVOICE, "INV-2")
    assert inv2.state is SendState.FAILED and inv2.error_code == "3140"
    assert inv2.error_field == "lines" and "Nominal accounts" in inv2.error_fix
    assert rig.entry(RecordType.INVOICE, "INV-1").state is SendState.SUCCESSFUL


def test_3180_is_tried_again_on_the_next_poll(rig: QbwcRig) -> None:
    ready(rig)
    rig.qb.faults["InvoiceAddRq"] = [3180]

    first = rig.poll()

    waiting = [k for k, s in rig.states().items() if s is SendState.HANDED_OVER]
    # The invoice QuickBooks could not save, and the payment that waits for it.
    assert [k[0] for k in waiting] == [RecordType.INVOICE, RecordType.PAYMENT]
    assert "try again" in first.closed
    second = rig.poll()
    assert second.auth[1] not in ("none", "nvu") and second.progress[-1] == 100
    assert outbox_states(rig) == {SendState.SUCCESSFUL}
    assert rig.qb.count("Invoice") == 5


def test_parse_error_fails_the_records_and_get_last_error_says_why(rig: QbwcRig) -> None:
    ready(rig)

    run = rig.poll(hresult=PARSE_ERROR)

    assert run.progress == [-1]
    assert "parsing" in run.errors[0]
    failed = [k for k, s in rig.states().items() if s is SendState.FAILED]
    assert len(failed) == 4  # the customers and the supplier of the first request
    entry = rig.entry(RecordType.CUSTOMER, "Ada Boilers Ltd")
    assert entry.error_code == "qbxml_parse_error" and entry.error_fix
    assert rig.qb.count("customer") == 0


@pytest.mark.parametrize("reached_quickbooks", [True, False])
def test_lost_answer_is_checked_in_quickbooks_before_any_resend(
    rig: QbwcRig, reached_quickbooks: bool
) -> None:
    ready(rig)

    rig.poll(lose_answer=0, lose_before_processing=not reached_quickbooks)
    assert rig.qb.count("customer") == (3 if reached_quickbooks else 0)
    with rig.store.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(QbwcRequest)) == 4

    # A send in between hands nothing over twice.
    assert not rig.send().handed_over
    rig.qb.processed.clear()
    run = rig.poll()

    checks = [tag for tag, _ in rig.qb.processed[:4]]
    assert checks == ["CustomerQueryRq"] * 3 + ["VendorQueryRq"]
    assert rig.qb.count("customer") == 3, "a customer was added twice"
    assert outbox_states(rig) == {SendState.SUCCESSFUL}
    assert run.progress[-1] == 100
    with rig.store.session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    expected = "resolved_found" if reached_quickbooks else "resolved_not_found"
    assert actions.count(expected) == 4 and actions.count("marked_uncertain") == 4


def test_lost_invoice_answer_is_found_by_ref_number(rig: QbwcRig) -> None:
    ready(rig)
    # Customers and supplier go in the first request, invoices in the second.
    run = rig.poll(lose_answer=1)
    assert "INV-1" in run.requests[1]
    rig.qb.processed.clear()

    rig.poll()

    assert "InvoiceQueryRq" in [tag for tag, _ in rig.qb.processed]
    assert rig.qb.count("Invoice") == 5
    assert outbox_states(rig) == {SendState.SUCCESSFUL}


def test_another_company_file_is_refused(rig: QbwcRig) -> None:
    ready(rig)
    rig.qb.file_id = "{00000000-0000-0000-0000-000000000000}"
    rig.qb.processed.clear()

    run = rig.poll()

    assert run.requests == [] and "not the one paired" in run.errors[0]
    assert rig.qb.processed == []
    assert outbox_states(rig) == {SendState.HANDED_OVER}
    with rig.store.session_factory() as session:
        status = web_connector_status(session, rig.store.paths.root)
    assert "not the one paired" in status.last_poll_did


def test_a_copy_of_the_paired_file_elsewhere_is_refused(rig: QbwcRig) -> None:
    rig.poll()  # records the company file's path
    rig.qb.company_file = r"D:\Copies\Heating Co.QBW"
    rig.map_accounts()
    rig.send()

    run = rig.poll()

    assert "has moved from" in run.errors[0] and not run.requests


# ------------------------------------------------------------------------ the wire


def test_malformed_envelopes_get_soap_faults(rig: QbwcRig) -> None:
    for body in (
        b"not xml at all",
        b"<x/>",
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
        soap.request("sendRequestXML", ticket="t", qbXMLMajorVers="thirteen", qbXMLMinorVers=0),
    ):
        response = httpx.post(rig.url, content=body, headers={"Content-Type": "text/xml"})
        assert response.status_code == 500
        answer = soap.read_answer(response.content, "authenticate")
        assert answer.fault and "Traceback" not in response.text


def test_unknown_ticket_and_support_page(rig: QbwcRig) -> None:
    client = rig.client()
    try:
        lost = client.call("getLastError", ticket="nope").text
        assert lost.startswith("Ledgerlink does not know")
        assert client.call("serverVersion").text.startswith("Ledgerlink")
        assert client.call("clientVersion", strVersion="2.3.0.36").text == ""
    finally:
        client.http.close()
    support = httpx.get(f"http://127.0.0.1:{rig.server.port}/support")
    assert support.status_code == 200 and "Web Connector" in support.text


def test_one_time_import_takes_quickbooks_contacts_read_by_the_web_connector(
    rig: QbwcRig,
) -> None:
    from app.db.models import Contact
    from app.services.importing.from_package import import_package_contacts

    rig.qb.entities += [
        Entity("customer", "8000B1-1", "Zed Heating  Ltd", "Z1"),
        Entity("vendor", "8000B2-1", "Yew Supplies", ""),
    ]
    rig.poll()
    with rig.connector() as connector:
        report = import_package_contacts(rig.store.session_factory, connector)
    assert sum(report.added.values()) == 2, report
    with rig.store.session_factory() as session:
        zed = session.scalars(select(Contact).where(Contact.name == "Zed Heating  Ltd")).one()
        link = session.scalars(select(Link).where(Link.contact_id == zed.id)).one()
    assert link.remote_ref == "Zed Heating  Ltd"  # the exact name, both spaces


def test_a_kept_alive_connection_does_not_hold_up_another(rig: QbwcRig) -> None:
    with httpx.Client() as kept_alive:
        first = kept_alive.post(rig.url, content=soap.request("serverVersion"))
        assert first.status_code == 200 and first.http_version == "HTTP/1.1"
        support = httpx.get(f"http://127.0.0.1:{rig.server.port}/support", timeout=10)
        assert support.status_code == 200
        again = kept_alive.post(rig.url, content=soap.request("serverVersion"))
        assert soap.read_answer(again.content, "serverVersion").text.startswith("Ledgerlink")
