"""The QuickBooks Web Connector's side of a poll, one SOAP operation at a time.

A poll (QBWC Programmer's Guide, chapter 2): ``authenticate`` → ``sendRequestXML`` ⇄
``receiveResponseXML`` until we answer 100 → ``closeConnection``. On each
``sendRequestXML`` Ledgerlink sends, in this order:

1. a query for every *uncertain* record (an answer was lost): ``CustomerQuery`` by
   name, ``InvoiceQuery`` by ``RefNumber`` … — found → successful, absent → handed over
   again, so nothing is ever added twice;
2. the list queries (customers, suppliers, accounts, items, VAT codes) when they have
   never been read or the user asked to read them again;
3. up to :data:`BATCH` handed-over records whose parents QuickBooks has confirmed, in
   dependency order (customers, suppliers, invoices, credit notes, payments), each with
   ``requestID`` = its outbox row;
4. up to :data:`BATCH` contact sync writes (``CustomerMod``/``VendorMod`` with the
   ``ListID`` and ``EditSequence`` last read, ``requestID`` = ``mod-<id>``): confirmed on
   QuickBooks' answer, failed with the reason on a refusal (3200: changed in QuickBooks
   since the lists were read, which are then read again).

Every request is written to ``qbwc_requests`` before ``sendRequestXML`` returns and
deleted when its answer is recorded through :mod:`app.services.sending.handover`, so a
request still there when the next poll starts is a lost answer: its record becomes
uncertain. A company file other than the paired one is refused before anything is sent.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Contact,
    Document,
    OutboxEntry,
    Payment,
    PaymentAllocation,
    PendingContactUpdate,
    QbwcRequest,
    RecordType,
    SendState,
    utcnow,
)
from app.services.linking import sync_handover
from app.services.qbwc import pairing as pairing_
from app.services.sending import handover
from app.services.sending.drafts import BuiltDraft, DraftBuilder, Problem, record_label
from app.services.sending.outbox import SEND_ORDER
from app.services.setup.state import get_setting, set_setting
from connectors.contract import (
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    DocumentDraft,
    PaymentDraft,
    RemoteTaxRate,
    SecretStore,
)
from connectors.errors import Rejected
from connectors.quickbooks_desktop import QuickBooksDesktopConnector, lists, qbxml, soap
from connectors.quickbooks_desktop import updates as contact_mods
from connectors.quickbooks_desktop.statuses import NO_MATCH, RETRY_LATER, RecordWords, rejection
from connectors.wording import count

log = logging.getLogger(__name__)

PACKAGE = "quickbooks_desktop"
ACTOR = "web_connector"
#: Records added per sendRequestXML: enough to move quickly, few enough that one answer
#: stays small and a lost one leaves little to check.
BATCH = 20
#: Uncertain records checked per sendRequestXML.
CHECK_BATCH = 50

LAST_POLL = "qbwc.last_poll"
LAST_CONTACT = "qbwc.last_contact_at"
READ_REQUESTED = "qbwc.read_requested"

CONFIRMED_STATES = frozenset({SendState.SUCCESSFUL, SendState.ENTERED_MANUALLY})
#: Parent states that will not change without the user: a dependant cannot go.
STUCK_STATES = frozenset({SendState.FAILED, SendState.DO_NOT_SEND})

PARSE_ERROR_HRESULT = "0x80040400"


@dataclass
class Poll:
    """One Web Connector session, from ``authenticate`` to ``closeConnection``."""

    ticket: str
    started_at: datetime
    version: tuple[int, int] | None = None
    company_name: str = ""
    company_file: str = ""
    closing_date: str = ""
    refused: str = ""
    last_error: str = ""
    confirmed: int = 0
    failed: int = 0
    lost: int = 0
    found: int = 0
    retry: set[int] = field(default_factory=set)
    checked: set[int] = field(default_factory=set)
    reads_sent: bool = False
    lists_read: bool = False
    read: dict[str, list[etree._Element]] = field(default_factory=dict)
    added_contacts: list[tuple[RecordType, lists.ListContact]] = field(default_factory=list)
    answered: int = 0
    #: Contact sync writes sent in this poll (never twice in one poll).
    mods_sent: set[int] = field(default_factory=set)
    #: Contacts QuickBooks changed on our Mod, as it now holds them.
    modded_contacts: list[tuple[ContactRole, lists.ListContact]] = field(default_factory=list)
    updated: int = 0

    def summary(self) -> str:
        """One line on what this poll did (added, found, refused, to try again, lost, lists
        read), or why it was refused; saved as the last poll's result and told to the Web
        Connector."""
        if self.refused:
            return self.refused
        parts = []
        if self.confirmed:
            parts.append(f"{count(self.confirmed, 'record')} added to QuickBooks")
        if self.updated:
            parts.append(f"{count(self.updated, 'contact')} updated in QuickBooks")
        if self.found:
            parts.append(f"{count(self.found, 'record')} found already in QuickBooks")
        if self.failed:
            parts.append(f"{count(self.failed, 'record')} refused")
        if self.retry:
            parts.append(f"{count(len(self.retry), 'record')} to try again (QuickBooks busy)")
        if self.lost:
            parts.append(f"{count(self.lost, 'answer')} lost (checked on the next poll)")
        if self.lists_read:
            parts.append("lists read")
        if self.last_error and not parts:
            return self.last_error
        return "; ".join(parts) or "nothing to do"


@dataclass(frozen=True)
class Planned:
    kind: str  # add, check or read
    request_id: str
    element: etree._Element
    outbox_id: int | None = None
    list_name: str = ""


class WebConnectorService:
    """The eight operations of the Web Connector's SOAP interface, over the app database.

    Calls are taken one at a time (the Web Connector makes them in sequence); each
    commits before it answers.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        data_dir: Path,
        secrets: SecretStore,
        *,
        version: str = "",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.data_dir = data_dir
        self.secrets = secrets
        self.version = version or _app_version()
        self.clock = clock
        self.polls: dict[str, Poll] = {}
        self._lock = threading.Lock()
        self.connector = QuickBooksDesktopConnector(
            ConnectorContext(data_dir=data_dir, settings={}, secrets=secrets)
        )

    # ------------------------------------------------------------------ dispatch

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """Answer one SOAP request: (HTTP status, SOAP envelope). Never raises."""
        try:
            call = soap.parse_call(body)
        except soap.SoapFault as bad:
            return 500, soap.fault(bad)
        try:
            with self._lock:
                result = self._dispatch(call)
        except soap.SoapFault as bad:
            return 500, soap.fault(bad)
        except Exception:
            log.exception("the Web Connector's %s call failed", call.operation)
            return 500, soap.fault(
                soap.SoapFault(
                    f"Ledgerlink could not complete {call.operation}; see its log.", code="Server"
                )
            )
        return 200, soap.answer(call.operation, result)

    def _dispatch(self, call: soap.Call) -> str | int | list[str]:
        p = call.params
        op = call.operation
        if op == "serverVersion":
            return self.server_version()
        if op == "clientVersion":
            return self.client_version(p.get("strVersion", ""))
        if op == "authenticate":
            return self.authenticate(p.get("strUserName", ""), p.get("strPassword", ""))
        if op == "sendRequestXML":
            return self.send_request_xml(
                p.get("ticket", ""),
                p.get("strHCPResponse", ""),
                p.get("strCompanyFileName", ""),
                p.get("qbXMLCountry", ""),
                call.integer("qbXMLMajorVers"),
                call.integer("qbXMLMinorVers"),
            )
        if op == "receiveResponseXML":
            return self.receive_response_xml(
                p.get("ticket", ""),
                p.get("response", ""),
                p.get("hresult", ""),
                p.get("message", ""),
            )
        if op == "connectionError":
            return self.connection_error(
                p.get("ticket", ""), p.get("hresult", ""), p.get("message", "")
            )
        if op == "getLastError":
            return self.get_last_error(p.get("ticket", ""))
        return self.close_connection(p.get("ticket", ""))

    # ------------------------------------------------------------------ operations

    def server_version(self) -> str:
        """``serverVersion``: our name and version, which the Web Connector shows in its log."""
        return f"Ledgerlink {self.version}"

    def client_version(self, version: str) -> str:
        """Any Web Connector that speaks this interface may go on (``""``)."""
        return ""

    def authenticate(self, username: str, password: str) -> list[str]:
        """``[ticket, ""]`` (or the paired company file) when there is work, ``[ticket,
        "none"]`` when nothing waits, ``[ticket, "nvu"]`` for a wrong user or password."""
        ticket = str(uuid.uuid4())
        with self.session_factory.begin() as session:
            set_setting(session, LAST_CONTACT, self.clock().isoformat())
            paired = pairing_.load_pairing(session)
            if not pairing_.credentials_match(paired, self.secrets, username, password):
                log.warning("Web Connector sign-in refused for user %r", username)
                self._save_poll(session, "refused: wrong Web Connector user name or password")
                return [ticket, "nvu"]
            assert paired is not None
            lost = self._answers_lost(session, None)
            if not self._has_work(session):
                note = "nothing to do"
                if lost:
                    note = f"{count(lost, 'answer')} from the last poll lost"
                self._save_poll(session, note)
                return [ticket, "none"]
        # The Web Connector runs one session at a time: one that never closed is dead.
        self.polls.clear()
        self.polls[ticket] = Poll(ticket, self.clock(), lost=lost)
        return [ticket, paired.company_file]

    def send_request_xml(
        self,
        ticket: str,
        hcp_response: str,
        company_file: str,
        country: str,
        major: int,
        minor: int,
    ) -> str:
        """The next qbXML request of this poll, or ``""`` (then the Web Connector asks
        :meth:`get_last_error` why)."""
        poll = self.polls.get(ticket)
        if poll is None:
            return ""
        if poll.refused:
            return ""
        with self.session_factory.begin() as session:
            set_setting(session, LAST_CONTACT, self.clock().isoformat())
            poll.lost += self._answers_lost(session, ticket)
            if poll.version is None:
                refusal = self._first_call(session, poll, hcp_response, company_file, major, minor)
                if refusal:
                    poll.refused = poll.last_error = refusal
                    self._save_poll(session, refusal)
                    return ""
            assert poll.version is not None
            planned = self._plan(session, poll)
            if not planned:
                poll.last_error = "Ledgerlink has nothing more to send now."
                return ""
            for item in planned:
                session.add(
                    QbwcRequest(
                        ticket=ticket,
                        request_id=item.request_id,
                        kind=item.kind,
                        outbox_id=item.outbox_id,
                        list_name=item.list_name,
                        sent_at=self.clock(),
                    )
                )
            if any(item.kind == "read" for item in planned):
                poll.reads_sent = True
        return qbxml.message_set([item.element for item in planned], poll.version)

    def receive_response_xml(self, ticket: str, response: str, hresult: str, message: str) -> int:
        """Record QuickBooks' answer per record; the percentage done, 100 when nothing
        is left, negative when the request failed as a whole."""
        poll = self.polls.get(ticket)
        if poll is None:
            return -1
        with self.session_factory.begin() as session:
            set_setting(session, LAST_CONTACT, self.clock().isoformat())
            outstanding = {
                r.request_id: r
                for r in session.scalars(select(QbwcRequest).where(QbwcRequest.ticket == ticket))
            }
            if hresult or not response.strip():
                return self._request_failed(session, poll, outstanding, hresult, message)
            try:
                answers = qbxml.parse_response(response)
            except qbxml.QbxmlError as exc:
                log.warning("unreadable qbXML answer: %s", exc)
                poll.lost += self._lose(session, outstanding.values())
                poll.last_error = (
                    f"Ledgerlink could not read QuickBooks' answer ({exc}); the records in "
                    "it are checked in QuickBooks on the next poll."
                )
                return -1
            for answer in answers:
                request = outstanding.pop(answer.request_id, None)
                if request is None:
                    log.warning("answer for unknown request %r", answer.request_id)
                    continue
                self._record(session, poll, request, answer)
                session.delete(request)
                poll.answered += 1
            # Requests QuickBooks did not answer (it stopped on an error): uncertain.
            poll.lost += self._lose(session, outstanding.values())
            self._finish_reads(session, poll)
            left = self._remaining(session, poll)
        if left == 0:
            return 100
        return max(1, min(99, round(100 * poll.answered / (poll.answered + left))))

    def connection_error(self, ticket: str, hresult: str, message: str) -> str:
        """QuickBooks could not be opened: stop this poll (``"done"``)."""
        text = (
            f"The Web Connector could not open QuickBooks ({message or hresult}). Open the "
            "paired company file in QuickBooks and let the Web Connector run again."
        )
        poll = self.polls.get(ticket)
        if poll is not None:
            poll.last_error = text
        with self.session_factory.begin() as session:
            self._save_poll(session, text)
        return "done"

    def get_last_error(self, ticket: str) -> str:
        """``getLastError``: the poll's last error in words the Web Connector shows, or "No
        error."; an unknown ticket gets a message asking for another run."""
        poll = self.polls.get(ticket)
        if poll is None:
            return "Ledgerlink does not know this Web Connector session; run it again."
        return poll.last_error or "No error."

    def close_connection(self, ticket: str) -> str:
        """End the poll and say what it did (the Web Connector shows it)."""
        poll = self.polls.pop(ticket, None)
        if poll is None:
            return "Ledgerlink: done."
        summary = poll.summary()
        with self.session_factory.begin() as session:
            self._save_poll(session, summary, poll)
        return f"Ledgerlink: {summary}."

    # ------------------------------------------------------------------ first call

    def _first_call(
        self,
        session: Session,
        poll: Poll,
        hcp_response: str,
        company_file: str,
        major: int,
        minor: int,
    ) -> str:
        """Check the company file is the paired one and pick the qbXML version; the
        refusal in words, or ``""``."""
        paired = pairing_.load_pairing(session)
        assert paired is not None
        version = qbxml.choose_version(major, minor)
        if version is None:
            return (
                f"This QuickBooks only speaks qbXML {major}.{minor}; Ledgerlink needs "
                "QuickBooks Desktop 2011 or newer."
            )
        wanted = paired.file_id.strip().strip("{}").lower()
        try:
            document = qbxml.parse_document(hcp_response)
        except qbxml.QbxmlError:
            return "The Web Connector did not say which company file is open; nothing was sent."
        company = document.find(".//CompanyRet")
        if company is None or wanted not in qbxml.file_ids(company):
            return (
                f"The company file open in QuickBooks ({company_file or 'unknown'}) is not "
                "the one paired with Ledgerlink, so nothing was sent. Open the paired "
                "company file, or add a new .qwc file from Ledgerlink to this one."
            )
        if paired.company_file and paired.company_file.lower() != company_file.lower():
            return (
                f"The company file open in QuickBooks ({company_file}) is a copy of, or "
                f"has moved from, the paired file ({paired.company_file}), so nothing was "
                "sent. If it moved, write a new .qwc file in Ledgerlink and add it."
            )
        if not paired.company_file:
            pairing_.save_pairing(
                session,
                pairing_.Pairing(
                    paired.username, paired.file_id, paired.port, paired.minutes, company_file
                ),
            )
        poll.version = version
        poll.company_file = company_file
        poll.company_name = qbxml.text(company, "CompanyName")
        poll.closing_date = qbxml.text(document.find(".//AccountingPreferences"), "ClosingDate")
        return ""

    # ------------------------------------------------------------------ planning

    def _has_work(self, session: Session) -> bool:
        if self._lists_wanted(session):
            return True
        if sync_handover.waiting(session, PACKAGE):
            return True
        states = (SendState.HANDED_OVER, SendState.UNCERTAIN)
        return (
            session.scalar(
                select(OutboxEntry.id)
                .where(OutboxEntry.package == PACKAGE, OutboxEntry.state.in_(states))
                .limit(1)
            )
            is not None
        )

    def _lists_wanted(self, session: Session) -> bool:
        return (
            bool(get_setting(session, READ_REQUESTED, False))
            or not lists.load(self.data_dir).read_at
        )

    def _plan(self, session: Session, poll: Poll) -> list[Planned]:
        checks = self._plan_checks(session, poll)
        if checks:
            return checks
        if not poll.reads_sent and self._lists_wanted(session):
            return [
                Planned("read", f"read-{name}", qbxml.list_query(f"read-{name}", name), None, name)
                for name in qbxml.LIST_QUERIES
            ]
        if not lists.load(self.data_dir).read_at:
            return []
        return self._plan_adds(session, poll) + self._plan_mods(session, poll)

    def _plan_mods(self, session: Session, poll: Poll) -> list[Planned]:
        """``CustomerMod``/``VendorMod`` for the contact sync writes waiting, each with the
        ``ListID`` and ``EditSequence`` of the lists last read."""
        named = contact_mods.by_name(lists.load(self.data_dir))
        planned: list[Planned] = []
        for update in sync_handover.waiting(session, PACKAGE):
            if update.id in poll.mods_sent:
                continue
            found = named.get(update.remote_ref)
            if found is None:
                sync_handover.fail(
                    session,
                    update,
                    f"QuickBooks no longer has “{update.remote_ref}” in the lists last read; "
                    "link our contact to the record it now is on the Link page, then sync "
                    "again.",
                    actor=ACTOR,
                )
                poll.failed += 1
                continue
            contact, role = found
            if not contact.edit_sequence:
                # Lists read before Ledgerlink kept EditSequence: read them again first.
                set_setting(session, READ_REQUESTED, True)
                continue
            request_id = f"mod-{update.id}"
            values = ContactUpdate(**sync_handover.sent_values(update))
            element = contact_mods.contact_mod(request_id, role, contact, values)
            poll.mods_sent.add(update.id)
            planned.append(Planned("mod", request_id, element))
            if len(planned) >= BATCH:
                break
        return planned

    def _plan_checks(self, session: Session, poll: Poll) -> list[Planned]:
        planned: list[Planned] = []
        for record in handover.uncertain(session, PACKAGE):
            if record.entry_id in poll.checked:
                continue
            key = _check_key(session, record.record_type, record.record_id)
            if key is None:
                continue
            request_id = f"check-{record.entry_id}"
            element = qbxml.check_query(request_id, record.record_type.value, key)
            planned.append(Planned("check", request_id, element, record.entry_id))
            poll.checked.add(record.entry_id)
            if len(planned) >= CHECK_BATCH:
                break
        return planned

    def _plan_adds(self, session: Session, poll: Poll) -> list[Planned]:
        order = {record_type: n for n, record_type in enumerate(SEND_ORDER)}
        waiting = sorted(
            handover.handed_over(session, PACKAGE),
            key=lambda r: (order[r.record_type], r.entry_id),
        )
        parents = Parents.load(session)
        candidates: list[OutboxEntry] = []
        for record in waiting:
            if record.entry_id in poll.retry:
                continue
            ready = parents.ready(session, record.record_type, record.record_id)
            if ready is False:
                continue
            if isinstance(ready, Problem):
                self._refuse(session, poll, record.entry_id, ready)
                continue
            entry = session.get(OutboxEntry, record.entry_id)
            assert entry is not None
            candidates.append(entry)
            if len(candidates) >= BATCH:
                break
        if not candidates:
            return []
        builder = DraftBuilder(session, PACKAGE, "QuickBooks Desktop", self._tax_rates())
        builder.prefetch(candidates)
        planned: list[Planned] = []
        for entry in candidates:
            built = builder.build(entry)
            if isinstance(built, Problem):
                self._refuse(session, poll, entry.id, built)
                continue
            request_id = str(entry.id)
            try:
                element = _add_request(request_id, built)
            except Rejected as rejected:
                self._refuse(
                    session,
                    poll,
                    entry.id,
                    Problem(rejected.code, rejected.field, rejected.reason, rejected.fix),
                )
                continue
            planned.append(Planned("add", request_id, element, entry.id))
        return planned

    def _tax_rates(self) -> list[RemoteTaxRate]:
        return self.connector.list_tax_rates()

    def _remaining(self, session: Session, poll: Poll) -> int:
        """Requests still to make in this poll (0 ends it)."""
        uncertain = [
            r for r in handover.uncertain(session, PACKAGE) if r.entry_id not in poll.checked
        ]
        if uncertain:
            return len(uncertain)
        if not poll.reads_sent and self._lists_wanted(session):
            return len(qbxml.LIST_QUERIES)
        if not lists.load(self.data_dir).read_at:
            return 0
        parents = Parents.load(session)
        mods = sum(1 for u in sync_handover.waiting(session, PACKAGE) if u.id not in poll.mods_sent)
        return mods + sum(
            1
            for record in handover.handed_over(session, PACKAGE)
            if record.entry_id not in poll.retry
            and parents.ready(session, record.record_type, record.record_id) is not False
        )

    # ------------------------------------------------------------------ answers

    def _record(
        self, session: Session, poll: Poll, request: QbwcRequest, answer: qbxml.Answer
    ) -> None:
        if request.kind == "read":
            if answer.ok:
                poll.read[request.list_name] = list(answer.rets)
            else:
                log.warning("reading %s failed: %s", request.list_name, answer.message)
                poll.last_error = f"QuickBooks could not list {request.list_name}: {answer.message}"
            return
        if request.kind == "mod":
            self._record_mod(session, poll, request, answer)
            return
        if request.outbox_id is None:
            return
        entry = session.get(OutboxEntry, request.outbox_id)
        if entry is None:
            return
        if request.kind == "check":
            self._record_check(session, poll, entry, answer)
        else:
            self._record_add(session, poll, entry, answer)

    def _record_add(
        self, session: Session, poll: Poll, entry: OutboxEntry, answer: qbxml.Answer
    ) -> None:
        if entry.state is not SendState.HANDED_OVER:
            return
        if answer.ok and answer.first is not None:
            ret = answer.first
            if entry.record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
                remote_id = qbxml.text(ret, "FullName") or qbxml.text(ret, "Name")
                poll.added_contacts.append((entry.record_type, lists.contact_from(ret)))
            else:
                remote_id = qbxml.text(ret, "TxnID")
            if remote_id:
                handover.confirm(session, PACKAGE, entry.id, remote_id, actor=ACTOR)
                poll.confirmed += 1
                return
        if answer.status_code in RETRY_LATER:
            poll.retry.add(entry.id)
            poll.last_error = (
                f"QuickBooks could not save {_words(session, entry).label} this time "
                f"({answer.message}); it is sent again on the next poll."
            )
            return
        if answer.ok:
            # Success without the record's id: we cannot tell what QuickBooks holds.
            handover.answer_lost(
                session,
                PACKAGE,
                entry.id,
                reason="QuickBooks answered without the record's id",
                actor=ACTOR,
            )
            poll.lost += 1
            return
        refused = rejection(answer.status_code, answer.message, _words(session, entry))
        handover.refuse(
            session,
            PACKAGE,
            entry.id,
            code=refused.code,
            field=refused.field,
            reason=refused.reason,
            fix=refused.fix,
            actor=ACTOR,
        )
        poll.failed += 1
        poll.last_error = refused.reason

    def _record_mod(
        self, session: Session, poll: Poll, request: QbwcRequest, answer: qbxml.Answer
    ) -> None:
        """QuickBooks' answer to a contact sync write: confirmed with the values it now
        holds, tried again when it was busy, failed with the reason otherwise."""
        update = session.get(PendingContactUpdate, int(request.request_id.removeprefix("mod-")))
        if update is None or update.state != sync_handover.HANDED_OVER:
            return
        role = ContactRole(update.role)
        if answer.ok and answer.first is not None:
            contact = lists.contact_from(answer.first)
            sync_handover.confirm(
                session, update, actor=ACTOR, now_values=contact_mods.values_of(contact)
            )
            poll.modded_contacts.append((role, contact))
            poll.updated += 1
            return
        if answer.status_code in RETRY_LATER:
            poll.last_error = (
                f"QuickBooks could not change “{update.remote_ref}” this time "
                f"({answer.message}); it is sent again on the next poll."
            )
            return
        if answer.status_code == contact_mods.STALE_EDIT_SEQUENCE:
            reason = contact_mods.stale_reason(role, update.remote_ref)
            set_setting(session, READ_REQUESTED, True)
        else:
            noun = "customer" if role is ContactRole.CUSTOMER else "supplier"
            words = RecordWords(noun, f"the {noun} “{update.remote_ref}”", update.remote_ref)
            refused = rejection(answer.status_code, answer.message, words)
            reason = f"{refused.reason} {refused.fix}"
        sync_handover.fail(session, update, reason, actor=ACTOR)
        poll.failed += 1
        poll.last_error = reason

    def _record_check(
        self, session: Session, poll: Poll, entry: OutboxEntry, answer: qbxml.Answer
    ) -> None:
        if entry.state is not SendState.UNCERTAIN:
            return
        if not answer.ok and answer.status_code != NO_MATCH:
            poll.last_error = (
                f"QuickBooks could not be asked about {_words(session, entry).label} "
                f"({answer.message}); it stays uncertain until the next poll."
            )
            return
        found = _matching(session, entry, answer.rets)
        if found:
            handover.resolve_found(session, PACKAGE, entry.id, found, actor=ACTOR)
            poll.found += 1
            return
        reference = _check_key(session, entry.record_type, entry.record_id) or entry.remote_id
        handover.resolve_absent(session, PACKAGE, entry.id, reference, actor=ACTOR)

    def _request_failed(
        self,
        session: Session,
        poll: Poll,
        outstanding: dict[str, QbwcRequest],
        hresult: str,
        message: str,
    ) -> int:
        """QuickBooks could not process the request at all (``hresult`` set)."""
        if hresult.lower() == PARSE_ERROR_HRESULT:
            # QuickBooks could not parse the request, so it processed none of it.
            for request in outstanding.values():
                if request.kind == "add" and request.outbox_id is not None:
                    entry = session.get(OutboxEntry, request.outbox_id)
                    if entry is not None and entry.state is SendState.HANDED_OVER:
                        handover.refuse(
                            session,
                            PACKAGE,
                            entry.id,
                            code="qbxml_parse_error",
                            reason=f"QuickBooks could not read the request Ledgerlink made "
                            f"for {_words(session, entry).label} ({message}).",
                            fix="Send Ledgerlink's log to support; once fixed, choose Retry "
                            "for this record.",
                            actor=ACTOR,
                        )
                        poll.failed += 1
                if request.kind == "mod":
                    self._mod_unreadable(session, poll, request, message)
                session.delete(request)
        else:
            poll.lost += self._lose(session, outstanding.values())
        poll.last_error = f"QuickBooks could not process Ledgerlink's request: {message or hresult}"
        return -1

    def _mod_unreadable(
        self, session: Session, poll: Poll, request: QbwcRequest, message: str
    ) -> None:
        update = session.get(PendingContactUpdate, int(request.request_id.removeprefix("mod-")))
        if update is None:
            return
        sync_handover.fail(
            session,
            update,
            f"QuickBooks could not read the change Ledgerlink made for “{update.remote_ref}” "
            f"({message}). Send Ledgerlink's log to support.",
            actor=ACTOR,
        )
        poll.failed += 1

    def _lose(self, session: Session, requests: Any) -> int:
        """Requests without an answer: their records become uncertain."""
        lost = 0
        for request in list(requests):
            if request.kind == "add" and request.outbox_id is not None:
                entry = session.get(OutboxEntry, request.outbox_id)
                if entry is not None and entry.state is SendState.HANDED_OVER:
                    handover.answer_lost(
                        session,
                        PACKAGE,
                        entry.id,
                        reason="the Web Connector took this record to QuickBooks but its "
                        "answer never came back",
                        actor=ACTOR,
                    )
                    lost += 1
            session.delete(request)
        return lost

    def _answers_lost(self, session: Session, ticket: str | None) -> int:
        """Requests left from earlier polls (``ticket`` None) or earlier in this poll."""
        query = select(QbwcRequest)
        if ticket is not None:
            query = query.where(QbwcRequest.ticket == ticket)
        requests = list(session.scalars(query))
        return self._lose(session, requests)

    def _finish_reads(self, session: Session, poll: Poll) -> None:
        known = lists.load(self.data_dir)
        changed = False
        if poll.read and set(poll.read) >= {"customers", "suppliers", "accounts", "items"}:
            read = poll.read
            known = lists.QuickBooksLists(
                read_at=lists.now_text(),
                company_name=poll.company_name,
                company_file=poll.company_file,
                closing_date=poll.closing_date,
                customers=[
                    lists.contact_from(r)
                    for r in read["customers"]
                    if r.tag == "CustomerRet" and qbxml.text(r, "Sublevel") in ("", "0")
                ],
                suppliers=[
                    lists.contact_from(r) for r in read["suppliers"] if r.tag == "VendorRet"
                ],
                accounts=[lists.account_from(r) for r in read["accounts"] if r.tag == "AccountRet"],
                items=[lists.item_from(r) for r in read["items"] if str(r.tag).startswith("Item")],
                tax_codes=[
                    lists.tax_code_from(r)
                    for r in read.get("tax_codes", [])
                    if r.tag == "SalesTaxCodeRet"
                ],
            )
            poll.read = {}
            poll.lists_read = changed = True
            set_setting(session, READ_REQUESTED, None)
        if poll.added_contacts and known.read_at:
            for record_type, contact in poll.added_contacts:
                target = known.customers if record_type is RecordType.CUSTOMER else known.suppliers
                if all(c.full_name != contact.full_name for c in target):
                    target.append(contact)
            poll.added_contacts = []
            changed = True
        if poll.modded_contacts and known.read_at:
            for role, contact in poll.modded_contacts:
                target = known.customers if role is ContactRole.CUSTOMER else known.suppliers
                target[:] = [c if c.list_id != contact.list_id else contact for c in target]
            poll.modded_contacts = []
            changed = True
        if changed:
            lists.save(self.data_dir, known)

    # ------------------------------------------------------------------ bookkeeping

    def _refuse(self, session: Session, poll: Poll, entry_id: int, problem: Problem) -> None:
        handover.refuse(
            session,
            PACKAGE,
            entry_id,
            code=problem.code,
            field=problem.field,
            reason=problem.reason,
            fix=problem.fix,
            actor=ACTOR,
        )
        entry = session.get(OutboxEntry, entry_id)
        if entry is not None:
            entry.blocked_by_id = problem.blocked_by
            entry.error_subject = problem.subject
        poll.failed += 1
        poll.last_error = problem.reason

    def _save_poll(self, session: Session, text: str, poll: Poll | None = None) -> None:
        set_setting(
            session,
            LAST_POLL,
            {
                "at": self.clock().isoformat(),
                "did": text,
                "added": poll.confirmed if poll else 0,
                "found": poll.found if poll else 0,
                "refused": poll.failed if poll else 0,
                "lost": poll.lost if poll else 0,
                "retry": len(poll.retry) if poll else 0,
            },
        )


@dataclass
class Parents:
    """Which records each record refers to, and where those stand, read in a few bulk
    queries (a poll plans thousands of records twenty at a time)."""

    states: dict[tuple[RecordType, int], tuple[int, SendState]]
    document_customer: dict[int, int]
    payment_parents: dict[int, list[tuple[RecordType, int]]]

    @classmethod
    def load(cls, session: Session) -> Parents:
        """Read every QuickBooks Desktop outbox row's state, each document's customer and each
        payment's customer and invoices, in four queries."""
        states = {
            (row.record_type, row.record_id): (row.id, row.state)
            for row in session.execute(
                select(
                    OutboxEntry.id,
                    OutboxEntry.record_type,
                    OutboxEntry.record_id,
                    OutboxEntry.state,
                ).where(OutboxEntry.package == PACKAGE)
            )
        }
        document_customer = {
            row.id: row.contact_id
            for row in session.execute(select(Document.id, Document.contact_id))
        }
        payment_parents: dict[int, list[tuple[RecordType, int]]] = defaultdict(list)
        for row in session.execute(select(Payment.id, Payment.contact_id)):
            payment_parents[row.id].append((RecordType.CUSTOMER, row.contact_id))
        for allocation in session.execute(
            select(PaymentAllocation.payment_id, PaymentAllocation.document_id)
        ):
            payment_parents[allocation.payment_id].append(
                (RecordType.INVOICE, allocation.document_id)
            )
        return cls(states, document_customer, payment_parents)

    def of(self, record_type: RecordType, record_id: int) -> list[tuple[RecordType, int]]:
        """The records that must reach QuickBooks before this one: a document's customer, a
        payment's customer and the invoices it pays; none for a contact."""
        if record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
            customer = self.document_customer.get(record_id)
            return [] if customer is None else [(RecordType.CUSTOMER, customer)]
        if record_type is RecordType.PAYMENT:
            return self.payment_parents.get(record_id, [])
        return []

    def ready(self, session: Session, record_type: RecordType, record_id: int) -> bool | Problem:
        """True when QuickBooks has confirmed every record this one refers to; False to
        wait for them; a :class:`Problem` when one of them cannot arrive."""
        for parent_type, parent_id in self.of(record_type, record_id):
            found = self.states.get((parent_type, parent_id))
            if found is not None and found[1] in CONFIRMED_STATES:
                continue
            if found is None or found[1] in STUCK_STATES:
                label = record_label(session, parent_type, parent_id)
                state = found[1].value.replace("_", " ") if found else "not queued"
                return Problem(
                    code="blocked",
                    field="customer_ref" if parent_type is RecordType.CUSTOMER else "invoice",
                    reason=f"{label} is not in QuickBooks ({state}), so this record cannot go yet.",
                    fix=f"Fix {label} first; this record is sent straight after it.",
                    blocked_by=found[0] if found else None,
                )
            return False
        return True


def request_lists(session: Session) -> None:
    """Ask the next poll to read QuickBooks' lists again."""
    set_setting(session, READ_REQUESTED, True)


def _add_request(request_id: str, built: BuiltDraft) -> etree._Element:
    draft = built.draft
    if isinstance(draft, ContactDraft):
        return qbxml.contact_add(request_id, draft)
    if isinstance(draft, DocumentDraft):
        return qbxml.document_add(request_id, draft)
    assert isinstance(draft, PaymentDraft)
    return qbxml.payment_add(request_id, draft)


def _words(session: Session, entry: OutboxEntry) -> RecordWords:
    label = record_label(session, entry.record_type, entry.record_id)
    name = _check_key(session, entry.record_type, entry.record_id) or ""
    return RecordWords(entry.record_type.value.replace("_", " "), label, name)


def _check_key(session: Session, record_type: RecordType, record_id: int) -> str | None:
    """What QuickBooks finds the record by: a contact's name, a document's or payment's
    reference number."""
    if record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        contact = session.get(Contact, record_id)
        return contact.name.strip() if contact else None
    if record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
        document = session.get(Document, record_id)
        return document.number if document else None
    payment = session.get(Payment, record_id)
    return payment.reference if payment else None


def _customer_name(session: Session, contact_id: int) -> str:
    row = session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.package == PACKAGE,
            OutboxEntry.record_type == RecordType.CUSTOMER,
            OutboxEntry.record_id == contact_id,
        )
    ).one_or_none()
    if row is not None and row.remote_id:
        return row.remote_id
    contact = session.get(Contact, contact_id)
    return contact.name.strip() if contact else ""


def _matching(session: Session, entry: OutboxEntry, rets: tuple[etree._Element, ...]) -> str:
    """The id of the returned record that is ours (same name; or same reference number
    for the same customer), or ``""``."""
    key = _check_key(session, entry.record_type, entry.record_id)
    if entry.record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        for ret in rets:
            name = qbxml.text(ret, "FullName") or qbxml.text(ret, "Name")
            if name == key:
                return name
        return ""
    if entry.record_type is RecordType.PAYMENT:
        payment = session.get(Payment, entry.record_id)
        customer = _customer_name(session, payment.contact_id) if payment else ""
    else:
        document = session.get(Document, entry.record_id)
        customer = _customer_name(session, document.contact_id) if document else ""
    for ret in rets:
        if (
            qbxml.text(ret, "RefNumber") == key
            and qbxml.text(ret, "CustomerRef/FullName") == customer
        ):
            return qbxml.text(ret, "TxnID")
    return ""


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ledgerlink")
    except PackageNotFoundError:
        return "dev"
