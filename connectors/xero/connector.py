"""The Xero connector: Xero's Accounting API 2.0 over httpx, insert-only.

- Sign-in: OAuth 2.0 with PKCE through :mod:`connectors.oauth`; the organisation is the
  ``tenant_id`` setting, chosen from ``GET /connections`` and sent as ``xero-tenant-id``.
- Creates use ``PUT`` (create only; Xero's ``POST`` means update-or-create and is never
  used), up to 50 records per request with ``summarizeErrors=false`` so each record gets
  its own result, and an ``Idempotency-Key`` derived from the records' own keys and the
  request's content (a replay is recognised; a corrected record is a new request).
- Limits: five requests in flight; the send engine paces the 60 a minute; a 429 becomes
  :class:`~connectors.errors.RateLimited` with Xero's ``Retry-After``.

Details and sources: docs/packages/xero.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from connectors.catalogue import XERO
from connectors.cloud import CloudConnector, Indexed, TenantNotChosen
from connectors.contract import (
    BatchItem,
    Company,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    CreateResult,
    DocumentDraft,
    DocumentType,
    LockDates,
    PackageContact,
    PackageInfo,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import (
    ConnectorError,
    OutcomeUncertain,
    Rejected,
    TemporarilyUnavailable,
)
from connectors.http import (
    describe_status,
    dumps_json,
    loads_json,
)
from connectors.limits import DAY, MINUTE, RateLimiter
from connectors.oauth import OAuthProvider
from connectors.xero import changes, updates, wire
from connectors.xero.endpoints import XeroEndpoints, xero_provider
from connectors.xero.rejections import InvoiceSummary, Subject, rejection

log = logging.getLogger(__name__)

Result = str | Rejected
Json = dict[str, Any]


#: The sign-in reaches several Xero organisations and none is chosen yet.
OrganisationNotChosen = TenantNotChosen


@dataclass(frozen=True)
class XeroOrganisation:
    """What ``GET /Organisation`` tells us that Ledgerlink uses."""

    id: str
    name: str
    short_code: str
    lock_dates: LockDates


@dataclass(frozen=True)
class _Allocation:
    """A credit note's setting-against an invoice, remembered until it is done so a lost
    answer can be finished by :meth:`XeroConnector.find_existing`."""

    invoice_id: str
    on: date
    key: str


@dataclass(frozen=True)
class _Sent:
    """One element of a create request: its position in the caller's list and payload."""

    index: int
    subject: Subject
    payload: Json


class XeroConnector(CloudConnector):
    """One Xero organisation. ``clock`` (seconds since the epoch) and ``sleep`` are for
    tests on virtual time."""

    info: ClassVar[PackageInfo] = XERO
    #: The largest ``pageSize`` known to be accepted (docs/packages/xero.md: Paging).
    PAGE_SIZE: ClassVar[int] = 1000
    TENANT_HEADER: ClassVar[str] = "xero-tenant-id"
    TENANT_WORD: ClassVar[str] = "organisation"
    REMAINING_HEADERS: ClassVar[Mapping[str, str]] = {
        "X-MinLimit-Remaining": MINUTE,
        "X-DayLimit-Remaining": DAY,
    }
    RATE_LIMIT_DETAIL_HEADER: ClassVar[str] = "X-Rate-Limit-Problem"
    #: One credit note per request: each may need its invoice read and an allocation.
    CHUNK_SIZES: ClassVar[Mapping[str, int]] = {"credit_note": 1}
    FORBIDDEN_MESSAGE: ClassVar[str] = (
        "Xero refused access to the organisation (403): it may have been disconnected from "
        "Ledgerlink, or the sign-in lacks a permission Ledgerlink needs. Sign in again on "
        "the Connect page."
    )

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.endpoints = XeroEndpoints.from_settings(context.settings)
        super().__init__(context, clock=clock, sleep=sleep, limiter=limiter)
        self._accounts: dict[str, RemoteAccount] | None = None
        #: Mapped accounts Xero no longer lists, so a batch asks only once.
        self._missing_accounts: set[str] = set()

    def make_provider(self, settings: Mapping[str, str]) -> OAuthProvider:
        """Xero's sign-in with PKCE; ``settings`` may narrow or widen the scopes."""
        return xero_provider(self.endpoints, settings)

    def api_url(self, tenant_id: str) -> str:
        """One base address for every organisation: it travels as ``xero-tenant-id``."""
        return self.endpoints.api_url

    # ------------------------------------------------------------------ sign-in

    def list_organisations(self) -> list[Company]:
        """The Xero organisations this sign-in reaches (``GET /connections``)."""
        response = self.request(
            "GET", "", url=self.endpoints.connections_url, tenant=False, creates=False
        )
        data = self.http.read_json(response)
        if response.status_code != 200 or not isinstance(data, list):
            raise TemporarilyUnavailable(
                f"Xero did not list the organisations ({describe_status(response)})."
            )
        return [
            Company(id=str(c.get("tenantId") or ""), name=str(c.get("tenantName") or ""))
            for c in data
            if isinstance(c, Mapping) and c.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    # ------------------------------------------------------------------ HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        key: str = "",
        creates: bool = False,
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.request(
            method, path, params=params, body=body, headers=headers, creates=creates
        )

    def _get(self, path: str, params: Mapping[str, str | int | bool] | None = None) -> Json | None:
        """A read's JSON; ``None`` when Xero has no such record (404)."""
        response = self._call("GET", path, params=params)
        if response.status_code == 404:
            return None
        data = self.http.read_json(response)
        if response.status_code != 200 or not isinstance(data, dict):
            message = data.get("Message", "") if isinstance(data, dict) else ""
            raise ConnectorError(
                f"Xero refused to list {path.split('/')[0]} ({describe_status(response)}"
                f"{': ' + str(message) if message else ''})."
            )
        return data

    def _list(
        self, collection: str, params: Mapping[str, str | int | bool], key: str = ""
    ) -> list[Json]:
        data = self._get(collection, params) or {}
        return [item for item in data.get(key or collection) or [] if isinstance(item, dict)]

    def _pages(self, collection: str, params: Mapping[str, str | int | bool]) -> Iterator[Json]:
        def fetch(page: int) -> tuple[list[Json], bool]:
            data = self._get(collection, {**params, "page": page, "pageSize": self.PAGE_SIZE})
            items = [i for i in (data or {}).get(collection) or [] if isinstance(i, dict)]
            return items, wire.more_pages(data, items, page, self.PAGE_SIZE)

        return self.paged(fetch)

    # ------------------------------------------------------------------ reading

    def organisation(self) -> XeroOrganisation:
        """The organisation's name, short code (as in ``go.xero.com/app/!xxxxx/…``) and
        lock dates."""
        found = self._list("Organisation", {}, key="Organisations")
        if not found:
            raise TemporarilyUnavailable("Xero did not describe the organisation.")
        org = found[0]
        return XeroOrganisation(
            id=str(org.get("OrganisationID") or self.tenant_id),
            name=str(org.get("Name") or ""),
            short_code=str(org.get("ShortCode") or ""),
            lock_dates=LockDates(
                period_lock=wire.parse_xero_date(org.get("PeriodLockDate")),
                year_end_lock=wire.parse_xero_date(org.get("EndOfYearLockDate")),
            ),
        )

    def pasted_address_problem(self, text: str) -> str:
        """A warning when a pasted Xero address belongs to another organisation than the
        connected one (its ``!shortcode`` differs); ``""`` when it does not say or matches."""
        match = wire.SHORT_CODE.search(text)
        if match is None:
            return ""
        org = self.organisation()
        if not org.short_code or match.group(0) == org.short_code:
            return ""
        return (
            f"That address is from another Xero organisation ({match.group(0)}), not "
            f"{org.name} ({org.short_code}), which Ledgerlink is connected to. Open the contact "
            f"in {org.name} and copy its address from there."
        )

    def connect(self) -> Company:
        """The chosen organisation's id and name."""
        org = self.organisation()
        return Company(id=org.id, name=org.name)

    def lock_dates(self) -> LockDates:
        """The organisation's period and year-end lock dates."""
        return self.organisation().lock_dates

    def list_accounts(self) -> list[RemoteAccount]:
        """Active accounts; also cached, to turn a draft's AccountID into the code Xero wants."""
        raw = self._list("Accounts", {"where": wire.where_equals("Status", "ACTIVE")})
        accounts = [wire.remote_account(a) for a in raw]
        with self._lock:
            self._accounts = {a.id: a for a in accounts}
            self._missing_accounts.clear()
        return accounts

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """Active VAT rates usable on sales lines."""
        raw = self._list("TaxRates", {"where": wire.where_equals("Status", "ACTIVE")})
        return [rate for rate in map(wire.remote_tax_rate, raw) if rate is not None]

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Active contacts that can be ``role``: those Ledgerlink made as one, those Xero
        marks as one (they have sales or purchase documents), and those with neither mark
        yet, which could be either."""
        for contact in self._active_contacts():
            if role in wire.contact_roles(contact):
                yield wire.remote_contact(contact, role)

    def iter_contacts_with_roles(self) -> Iterator[PackageContact]:
        """Every active contact once, for the one-time import, with the roles it is known
        to have: the one Ledgerlink made it as, else a customer when Xero marks it
        ``IsCustomer`` and a supplier when ``IsSupplier``. With neither mark it has no role
        here, and the user chooses: it is never taken in as both on a guess."""
        for contact in self._active_contacts():
            yield PackageContact(wire.remote_contact(contact), wire.known_roles(contact))

    def _active_contacts(self) -> Iterator[Json]:
        where = wire.where_equals("ContactStatus", "ACTIVE")
        yield from self._pages("Contacts", {"where": where})

    def get_contact(self, ref: str) -> RemoteContact | None:
        """One contact by ContactID; a contact merged into another reads as the survivor."""
        if not wire.is_uuid(ref):
            return None
        contact = self._contact_by_id(ref.strip())
        if contact is None:
            return None
        merged_into = str(contact.get("MergedToContactID") or "")
        if merged_into and wire.is_uuid(merged_into) and merged_into != contact.get("ContactID"):
            contact = self._contact_by_id(merged_into) or contact
        return wire.remote_contact(contact)

    def _contact_by_id(self, contact_id: str) -> Json | None:
        found = self._get(f"Contacts/{contact_id}")
        contacts = (found or {}).get("Contacts") or []
        return contacts[0] if contacts and isinstance(contacts[0], dict) else None

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Active contacts named exactly ``name`` (Xero's search narrows, we compare)."""
        wanted = name.strip()
        if not wanted:
            return []
        found: list[RemoteContact] = []
        for contact in self._pages("Contacts", {"searchTerm": wanted}):
            if (
                str(contact.get("Name") or "").strip() == wanted
                and contact.get("ContactStatus", "ACTIVE") == "ACTIVE"
                and role in wire.contact_roles(contact)
            ):
                found.append(wire.remote_contact(contact, role))
        return found

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by the ``ContactNumber`` Ledgerlink gave them (archived ones too),
        invoices and credit notes by number, payments by reference. A credit note whose
        setting-against an invoice was interrupted is finished here first."""
        key = our_key.strip()
        if not key:
            return None
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            number = wire.contact_number(ContactRole(record_type.value), key)
            params: dict[str, str | int | bool] = {
                "where": wire.where_equals("ContactNumber", number),
                "includeArchived": True,
            }
            contacts = self._list("Contacts", params)
            return str(contacts[0]["ContactID"]) if contacts else None
        if record_type is RemoteRecordType.INVOICE:
            invoices = self._list(
                "Invoices",
                {"InvoiceNumbers": key, "where": wire.where_equals("Type", "ACCREC")},
            )
            live = [i for i in invoices if i.get("Status") != "DELETED"]
            return str(live[0]["InvoiceID"]) if live else None
        if record_type is RemoteRecordType.CREDIT_NOTE:
            where = " AND ".join(
                (
                    wire.where_equals("CreditNoteNumber", key),
                    wire.where_equals("Type", "ACCRECCREDIT"),
                )
            )
            notes = [
                n
                for n in self._list("CreditNotes", {"where": where})
                if n.get("Status") != "DELETED"
            ]
            if not notes:
                return None
            credit_id = str(notes[0]["CreditNoteID"])
            self._finish_pending_allocation(key, notes[0])
            return credit_id
        where = " AND ".join(
            (wire.where_equals("Reference", key), wire.where_equals("Status", "AUTHORISED"))
        )
        payments = self._list("Payments", {"where": where})
        return str(payments[0]["PaymentID"]) if payments else None

    def changed_contacts(self, since: datetime) -> Iterator[tuple[str, RemoteContact | None]]:
        """Contacts Xero changed after ``since`` (``If-Modified-Since``), archived ones as
        ``None`` (see :mod:`connectors.xero.changes`)."""
        return changes.changed_contacts(self, since)

    # ------------------------------------------------------------------ updating

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a contact's details, never its name (``POST /Contacts/{ContactID}``,
        see :mod:`connectors.xero.updates`); an archived contact is refused."""
        contact_id = ref.strip()
        current = self._contact_by_id(contact_id) if wire.is_uuid(contact_id) else None
        if current is None:
            raise updates.unknown_contact(contact_id)
        if str(current.get("ContactStatus") or "ACTIVE") == "ARCHIVED":
            raise updates.archived_contact(current, contact_id)
        body = updates.update_payload(contact_id, update)
        response = self.request(
            "POST",
            f"Contacts/{contact_id}",
            body=body,
            headers={"Idempotency-Key": updates.update_key(contact_id, body)},
            creates=False,
        )
        if response.status_code == 404:
            raise updates.unknown_contact(contact_id)
        data = self.http.read_json(response)
        if 400 <= response.status_code < 500:
            messages = wire.validation_messages(data)
            if not messages and isinstance(data, dict) and data.get("Message"):
                messages = [str(data["Message"])]
            raise updates.refused(current, contact_id, messages)
        answered = data.get("Contacts") if isinstance(data, dict) else None
        if response.status_code != 200 or not isinstance(answered, list) or not answered:
            raise ConnectorError(
                f"Xero did not confirm the new details of {updates.label(current, contact_id)} "
                f"({describe_status(response)}); look at the contact in Xero and sync again."
            )
        return wire.remote_contact(answered[0])

    # ------------------------------------------------------------------ lookups for rejections

    def contact_named(self, name: str) -> RemoteContact | None:
        """The active contact holding ``name`` (Xero compares names ignoring case)."""
        wanted = name.strip().casefold()
        for contact in self._pages("Contacts", {"searchTerm": name.strip()}):
            if (
                str(contact.get("Name") or "").strip().casefold() == wanted
                and contact.get("ContactStatus", "ACTIVE") == "ACTIVE"
            ):
                return wire.remote_contact(contact)
        return None

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        """What Xero holds for the invoice, or ``None`` if it has none."""
        if not wire.is_uuid(invoice_id):
            return None
        found = self._get(f"Invoices/{invoice_id}")
        invoices = (found or {}).get("Invoices") or []
        if not invoices:
            return None
        invoice = invoices[0]
        credited: dict[str, Decimal] = {}
        for note in invoice.get("CreditNotes") or []:
            if isinstance(note, dict) and note.get("CreditNoteNumber"):
                number = str(note["CreditNoteNumber"])
                credited[number] = credited.get(number, Decimal(0)) + wire.money(
                    note.get("AppliedAmount")
                )
        return InvoiceSummary(
            id=invoice_id,
            number=str(invoice.get("InvoiceNumber") or ""),
            total=wire.money(invoice.get("Total")),
            amount_due=wire.money(invoice.get("AmountDue")),
            credited=credited,
        )

    # ------------------------------------------------------------------ creating

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """An authorised invoice or credit note. A credit note naming the invoice it
        credits is then set against it (a second request): Xero is asked first whether
        the invoice still owes that much, so a refusal leaves nothing half-written."""
        return super().create_document(draft, idempotency_key)

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """A receipt against one or more invoices: one Xero Payment per invoice, made in
        one all-or-nothing request; the id returned is the first part's."""
        return super().create_payment(draft, idempotency_key)

    def create_chunk(self, kind: str, chunk: list[Indexed]) -> list[tuple[int, CreateResult]]:
        """Up to ``info.batch_size`` records per request, each with its own result."""
        return list(self._create_kind(kind, chunk))

    def _create_kind(
        self, kind: str, chunk: list[tuple[int, BatchItem]]
    ) -> list[tuple[int, Result]]:
        if kind == "contact":
            return self._put_elements("Contacts", "ContactID", chunk, self._contact_element)
        if kind == "invoice":
            return self._put_elements(
                "Invoices", "InvoiceID", chunk, self._document_element, params={"unitdp": 4}
            )
        if kind == "credit_note":
            return self._create_credit_notes(chunk)
        return self._create_payments(chunk)

    def _contact_element(self, item: BatchItem) -> tuple[Subject, Json]:
        draft = item.draft
        assert isinstance(draft, ContactDraft)
        return Subject(draft), wire.contact_payload(draft)

    def _document_element(self, item: BatchItem) -> tuple[Subject, Json]:
        draft = item.draft
        assert isinstance(draft, DocumentDraft)
        codes: list[str] = []

        def code_for(index: int, account_id: str) -> str:
            code = self._account_code(index, account_id, draft)
            codes.append(code)
            return code

        payload = wire.document_payload(draft, code_for)
        return Subject(draft, line_codes=tuple(codes)), payload

    def _account_code(self, index: int, account_id: str, draft: DocumentDraft) -> str:
        """The Xero code of a mapped account (the mapping keeps Xero's AccountID)."""
        with self._lock:
            known = self._accounts
        if known is None or (account_id not in known and account_id not in self._missing_accounts):
            known = {a.id: a for a in self.list_accounts()}
            if account_id not in known:
                with self._lock:
                    self._missing_accounts.add(account_id)
        account = known.get(account_id)
        if account is not None and account.code:
            return account.code
        subject = Subject(draft)
        problem = "is not an active Xero account" if account is None else "has no account code"
        raise Rejected(
            code="unknown_account",
            field=f"lines[{index}].nominal_account",
            reason=(
                f"Line {index + 1} of {subject.label} is mapped to Xero account "
                f'"{account.name if account else account_id}", which {problem}.'
            ),
            fix=(
                "Open Nominal accounts in Ledgerlink and match that account to an active Xero "
                "sales account with a code, then send again."
            ),
        )

    def _put_elements(
        self,
        collection: str,
        id_field: str,
        chunk: list[tuple[int, BatchItem]],
        build: Callable[[BatchItem], tuple[Subject, Json]],
        *,
        params: Mapping[str, str | int | bool] | None = None,
    ) -> list[tuple[int, Result]]:
        """PUT a chunk with ``summarizeErrors=false``; a record we could not even build
        (say, an unmapped account) is refused without being sent."""
        results: list[tuple[int, Result]] = []
        sent: list[_Sent] = []
        for index, item in chunk:
            try:
                subject, payload = build(item)
            except Rejected as refused:
                results.append((index, refused))
                continue
            sent.append(_Sent(index, subject, payload))
        if not sent:
            return results
        sent_indices = {entry.index for entry in sent}
        keys = [item.idempotency_key for index, item in chunk if index in sent_indices]
        elements = self._put(
            collection, [s.payload for s in sent], keys, params=params, summarize=False
        )
        for entry, element in zip(sent, elements, strict=True):
            messages = wire.validation_messages(element)
            if messages or element.get("StatusAttributeString") == "ERROR":
                results.append((entry.index, rejection(entry.subject, messages, self)))
            elif element.get(id_field):
                results.append((entry.index, str(element[id_field])))
            else:
                raise OutcomeUncertain(
                    f"Xero's answer for {entry.subject.label} carried no {id_field}, so it "
                    "may or may not have been saved."
                )
        return results

    def _put(
        self,
        collection: str,
        elements: list[Json],
        keys: Sequence[str],
        *,
        path: str = "",
        params: Mapping[str, str | int | bool] | None = None,
        summarize: bool,
    ) -> list[Json]:
        """One create request; the elements of Xero's answer, in the order sent.

        With ``summarize`` (all or nothing), a validation failure comes back as a 400
        whose ``Elements`` carry the messages; nothing was written.
        """
        body = {collection: elements}
        query: dict[str, str | int | bool] = {"summarizeErrors": summarize, **(params or {})}
        response = self._call(
            "PUT",
            path or collection,
            params=query,
            body=body,
            key=request_key(keys, body),
            creates=True,
        )
        if 400 <= response.status_code < 500:
            # Refused as a whole: nothing was saved, and each record says why.
            return self._refusals(response, len(elements))
        data = self.http.read_json(response, creates=True)
        answered = data.get(collection) if isinstance(data, dict) else None
        if (
            response.status_code != 200
            or not isinstance(answered, list)
            or (len(answered) != len(elements))
        ):
            raise OutcomeUncertain(
                f"Xero's answer ({describe_status(response)}) did not list each of the "
                f"{len(elements)} records sent, so some may or may not have been saved."
            )
        return [e if isinstance(e, dict) else {} for e in answered]

    def _refusals(self, response: httpx.Response, count: int) -> list[Json]:
        """Per-record messages from a 4xx: a ``ValidationException``'s ``Elements`` when
        they match the records sent, else Xero's one message for every record."""
        try:
            data = loads_json(response.content)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            errors = data.get("Elements")
            if isinstance(errors, list) and len(errors) == count:
                return [e if isinstance(e, dict) else {} for e in errors]
            messages = wire.validation_messages(errors) if isinstance(errors, list) else []
            if not messages and data.get("Message"):
                messages = [str(data["Message"])]
        else:
            messages = []
        messages = messages or [f"the request was refused ({describe_status(response)})"]
        return [{"ValidationErrors": [{"Message": m} for m in messages]} for _ in range(count)]

    # ------------------------------------------------------------------ credit notes

    def _create_credit_notes(self, chunk: list[tuple[int, BatchItem]]) -> list[tuple[int, Result]]:
        """One request per credit note (each may need two more: asking what the invoice
        still owes, and setting the credit against it)."""
        return [(index, self._create_credit_note(item)) for index, item in chunk]

    def _create_credit_note(self, item: BatchItem) -> Result:
        """Create, then allocate. Once the create has succeeded its id is in the step log
        before the allocation starts, so a 429, a cancel or a crash in between never
        creates it again: the next attempt (or the look-up after a crash) allocates only."""
        draft = item.draft
        assert isinstance(draft, DocumentDraft)
        number = draft.number.strip()
        step = self.steps.get(_credit_step(number))
        if step and step.get("key") == item.idempotency_key and step.get("credit_id"):
            return self._allocate_credit(str(step["credit_id"]), number, draft)
        if draft.credits_document_ref:
            refused = self._credit_does_not_fit(draft)
            if refused is not None:
                return refused
        ((_, result),) = self._put_elements(
            "CreditNotes",
            "CreditNoteID",
            [(0, item)],
            self._document_element,
            params={"unitdp": 4},
        )
        if isinstance(result, Rejected) or not draft.credits_document_ref:
            return result
        self.steps.put(
            _credit_step(number),
            {
                "key": item.idempotency_key,
                "credit_id": result,
                "invoice_id": draft.credits_document_ref,
                "on": draft.date.isoformat(),
            },
        )
        return self._allocate_credit(result, number, draft)

    def _credit_does_not_fit(self, draft: DocumentDraft) -> Rejected | None:
        invoice = self.invoice_summary(draft.credits_document_ref)
        subject = Subject(draft)
        if invoice is None:
            return rejection(subject, ["The document with the supplied id was not found"], self)
        # A retry finds its own credit note already set against the invoice: that counts.
        already = invoice.credited.get(draft.number.strip(), Decimal(0))
        if draft.gross_total > invoice.amount_due + already:
            return Rejected(
                code="over_allocation",
                field="original_invoice_number",
                reason=(
                    f"{subject.opening} is for £{draft.gross_total:,.2f}, more than the "
                    f"£{invoice.amount_due:,.2f} Xero shows still owed on invoice "
                    f"{invoice.number}, so it cannot be set against it. Nothing was sent."
                ),
                fix=(
                    f"Check invoice {invoice.number}'s payments and credit notes in Xero. If it "
                    "is already settled, clear the credit note's original invoice in your job "
                    "system (it then goes as a credit on account) and send again."
                ),
            )
        return None

    def _allocate_credit(self, credit_id: str, number: str, draft: DocumentDraft) -> Result:
        """Set a new credit note against its invoice. Errors other than a refusal are
        raised; the step log keeps the credit note, so the retry only allocates."""
        pending = _pending(self.steps.get(_credit_step(number)))
        if pending is None:
            return credit_id
        refused = self._allocate(credit_id, draft.gross_total, pending, Subject(draft))
        self.steps.forget(_credit_step(number))
        if refused is None:
            return credit_id
        return Rejected(
            code="credit_not_allocated",
            field="original_invoice_number",
            reason=(
                f"Credit note {number} is now in Xero (id {credit_id}), but Xero would not set "
                f"it against the invoice it credits: {refused.reason}"
            ),
            fix=(
                f"In Xero, open credit note {number} and allocate it to the invoice by hand, "
                f"then mark the credit note as entered manually with id {credit_id}."
            ),
        )

    def _allocate(
        self, credit_id: str, amount: Decimal, pending: _Allocation, subject: Subject
    ) -> Rejected | None:
        allocation = wire.allocation_payload(pending.invoice_id, amount, pending.on)
        elements = self._put(
            "Allocations",
            [allocation],
            [f"{pending.key}.allocation.{credit_id}"],
            path=f"CreditNotes/{credit_id}/Allocations",
            summarize=False,
        )
        messages = wire.validation_messages(elements[0])
        if not messages:
            return None
        log.warning("credit note %s not set against invoice %s", credit_id, pending.invoice_id)
        return rejection(subject, messages, self)

    def _finish_pending_allocation(self, number: str, note: Json) -> None:
        """A credit note found after its answer was lost (or after a crash between its
        two steps): allocate it if the step log says that is still to do."""
        pending = _pending(self.steps.get(_credit_step(number)))
        if pending is None:
            return
        allocated = any(
            isinstance(a, dict)
            and isinstance(a.get("Invoice"), dict)
            and a["Invoice"].get("InvoiceID") == pending.invoice_id
            for a in note.get("Allocations") or []
        )
        if not allocated:
            total = wire.money(note.get("Total"))
            subject = Subject(DocumentDraft(DocumentType.CREDIT_NOTE, number, pending.on, "", ()))
            refused = self._allocate(str(note["CreditNoteID"]), total, pending, subject)
            if refused is not None:
                self.steps.forget(_credit_step(number))
                raise refused
        self.steps.forget(_credit_step(number))

    # ------------------------------------------------------------------ payments

    def _create_payments(self, chunk: list[tuple[int, BatchItem]]) -> list[tuple[int, Result]]:
        """Payments against one invoice go together; one split across several invoices
        goes on its own, all its parts or none (``summarizeErrors=true``)."""
        single = [(i, item) for i, item in chunk if len(_payment(item).allocations) <= 1]
        results = self._put_elements("Payments", "PaymentID", single, self._payment_element)
        for index, item in chunk:
            draft = _payment(item)
            if len(draft.allocations) > 1:
                results.append((index, self._create_split_payment(draft, item.idempotency_key)))
        return results

    @staticmethod
    def _payment_element(item: BatchItem) -> tuple[Subject, Json]:
        draft = _payment(item)
        if not draft.allocations:
            raise Rejected(
                code="unallocated_payment",
                field="allocations",
                reason=(
                    f"Payment {draft.reference} is not set against any invoice; Ledgerlink "
                    "sends Xero payments against invoices only."
                ),
                fix="Set the payment against the invoices it pays in your job system.",
            )
        return Subject(draft), wire.payment_payloads(draft)[0]

    def _create_split_payment(self, draft: PaymentDraft, key: str) -> Result:
        elements = self._put("Payments", wire.payment_payloads(draft), [key], summarize=True)
        for part, element in enumerate(elements):
            messages = wire.validation_messages(element)
            if messages:
                return rejection(Subject(draft, part=part), messages, self)
        return str(elements[0]["PaymentID"])


def _credit_step(number: str) -> str:
    return f"credit_note:{number}"


def _pending(step: Mapping[str, Any] | None) -> _Allocation | None:
    """The allocation a step-log entry says is still to do."""
    if not step or not step.get("invoice_id"):
        return None
    return _Allocation(
        str(step["invoice_id"]), date.fromisoformat(str(step["on"])), str(step["key"])
    )


def request_key(item_keys: Sequence[str], body: Mapping[str, Any]) -> str:
    """The ``Idempotency-Key`` of one create request (≤ 128 characters).

    It is the records' own keys plus a digest of the exact content: a resend of the same
    records replays Xero's first answer, while a batch of other records, or a record
    corrected after Xero refused it, is a new request.
    """
    content = hashlib.sha256(dumps_json(body)).hexdigest()[:16]
    if len(item_keys) == 1:
        return f"{item_keys[0][:100]}.{content}"
    joined = hashlib.sha256("\n".join(item_keys).encode("utf-8")).hexdigest()[:32]
    return f"ll-batch-{joined}.{content}"


def _payment(item: BatchItem) -> PaymentDraft:
    assert isinstance(item.draft, PaymentDraft)
    return item.draft
