"""The Sage Business Cloud Accounting connector: Sage's API v3.1 (UK) over httpx,
insert-only.

- Sign-in: OAuth 2.0 with Ledgerlink's client secret through :mod:`connectors.oauth`
  (loopback on ``localhost``, or the pasted address). Access tokens last five minutes
  and are refreshed before each call that needs it; refresh tokens rotate and are saved
  before use.
- The business is the ``tenant_id`` setting, chosen from ``GET /businesses`` and sent as
  ``X-Business`` on every call (Sage would otherwise pick the "lead" business, which can
  change).
- Sage has no batch endpoint and no idempotency key: one record per request. Before any
  resend of a record whose answer was lost, the connector looks for it by our own key
  (contact reference, document number, payment reference) — and so does the send
  engine; within one connection a repeated key whose record was made is answered from
  memory without a request.
- Limits: Sage publishes none; the connection sends one request at a time, at most 60 a
  minute (:class:`~connectors.limits.RateLimiter`), and a 429 becomes
  :class:`~connectors.errors.RateLimited` with Sage's ``Retry-After``.
- Links: Sage trusts a link only when our name, address and email equal its own exactly,
  capitals included (``PackageInfo.exact_match_fields``; the link grid enforces it). A
  web address carries Sage's numeric legacy id, which :meth:`resolve_reference` turns
  into the contact's id.

Details and sources: docs/packages/sage-business-cloud.md.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from connectors.catalogue import SAGE_BUSINESS_CLOUD
from connectors.contract import (
    Company,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    DocumentType,
    Draft,
    LockDates,
    PackageInfo,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import (
    ConnectorError,
    NeedsReconnecting,
    OutcomeUncertain,
    Rejected,
    TemporarilyUnavailable,
)
from connectors.http import ApiClient, describe_status, make_client
from connectors.limits import RateLimiter
from connectors.oauth import (
    BearerAuth,
    ClientCredentials,
    OAuthConnector,
    OAuthSession,
    SignInError,
    TokenManager,
    TokenStore,
    client_credentials,
    env_name,
)
from connectors.sage_business_cloud import wire
from connectors.sage_business_cloud.endpoints import KEY, SageEndpoints, sage_provider
from connectors.sage_business_cloud.rejections import InvoiceSummary, Subject, rejection

log = logging.getLogger(__name__)

Json = dict[str, Any]
Params = dict[str, str | int | bool]


class BusinessNotChosen(NeedsReconnecting):
    """The sign-in reaches several Sage businesses and none is chosen yet."""


@dataclass(frozen=True)
class _Sent:
    """A create this connection made (or tried): its content's fingerprint, and the
    record's id once Sage confirmed it ("" while its answer is unknown)."""

    fingerprint: str
    remote_id: str = ""


class SageBusinessCloudConnector(OAuthConnector):
    """One Sage Business Cloud Accounting business. ``clock`` (seconds since the epoch)
    and ``sleep`` are for tests."""

    info: ClassVar[PackageInfo] = SAGE_BUSINESS_CLOUD
    PAGE_SIZE: ClassVar[int] = 200

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(context)
        settings = context.settings
        self.endpoints = SageEndpoints.from_settings(settings)
        self.provider = sage_provider(self.endpoints, settings)
        self.tokens = TokenManager(
            self.provider,
            self._credentials,
            TokenStore(context.secrets, KEY),
            transport=context.transport,
            clock=clock,
        )
        self._oauth = OAuthSession(self.provider, self._credentials, self.tokens)
        self.http = ApiClient(
            make_client(transport=context.transport, auth=BearerAuth(self.tokens)),
            package_name="Sage Accounting",
            max_concurrent=SAGE_BUSINESS_CLOUD.rate_limit.concurrent,
            # One send-engine call can be several requests (a credit note is checked,
            # made, then set against its invoice): the connection paces its own too.
            limiter=RateLimiter.for_package(
                SAGE_BUSINESS_CLOUD.rate_limit,
                package_name="Sage Accounting",
                scale=context.rate_window_scale,
                clock=time.monotonic if clock is time.time else clock,
                sleep=None if sleep is time.sleep else sleep,
            ),
        )
        self.rate_limiter = self.http.limiter
        self._business = (settings.get("tenant_id") or "").strip()
        self._lock = threading.Lock()
        self._sent: dict[str, _Sent] = {}
        #: Per role, each contact's name (capitals and spaces aside) → (id, name), read once
        #: per connection for the namesake check and kept up to date by our own creates.
        self._names: dict[ContactRole, dict[str, tuple[str, str]]] = {}

    # ------------------------------------------------------------------ sign-in

    def _credentials(self) -> ClientCredentials:
        credentials = client_credentials(self.provider, self.context.settings, self.context.secrets)
        if not credentials.client_secret:
            raise SignInError(
                "Sage needs Ledgerlink's client secret to sign in, and none is set. Set the "
                f"environment variable {env_name(KEY, 'client_secret')} (or store it in the "
                f"keyring as {KEY}.client_secret), then try again."
            )
        return credentials

    @property
    def oauth(self) -> OAuthSession:
        return self._oauth

    def list_organisations(self) -> list[Company]:
        """The Sage businesses this sign-in reaches (``GET /businesses``)."""
        response, data = self._call("GET", "businesses", business=False)
        if response.status_code != 200:
            raise TemporarilyUnavailable(
                f"Sage did not list the businesses ({describe_status(response)})."
            )
        return [
            Company(
                id=wire.text(b, "id"), name=wire.text(b, "name") or wire.text(b, "displayed_as")
            )
            for b in wire.items_of(data)
        ]

    def sign_out(self) -> None:
        """Forget the tokens on this computer (Sage's connected apps list removes the
        connection there)."""
        self._oauth.sign_out()

    @property
    def business_id(self) -> str:
        """The chosen business; with none chosen and exactly one reachable, that one."""
        with self._lock:
            if self._business:
                return self._business
        businesses = self.list_organisations()
        if len(businesses) == 1:
            with self._lock:
                self._business = businesses[0].id
                return self._business
        if not businesses:
            raise NeedsReconnecting(
                "This Sage sign-in reaches no business. Sign in again on the Connect page with "
                "a Sage user who can open the business's accounts."
            )
        names = ", ".join(b.name for b in businesses)
        raise BusinessNotChosen(
            f"This Sage sign-in reaches {len(businesses)} businesses ({names}). Choose the one "
            "Ledgerlink should send to on the Connect page."
        )

    # ------------------------------------------------------------------ HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        business: bool = True,
    ) -> tuple[httpx.Response, Any]:
        creates = method == "POST"
        headers = {"X-Business": self.business_id} if business else {}
        response = self.http.request(
            method,
            f"{self.endpoints.api_url}/{path}",
            params=params,
            body=body,
            headers=headers,
            creates=creates,
        )
        if response.status_code == 403:
            raise NeedsReconnecting(
                "Sage refused access to the business (403): the Sage user may have lost "
                "access to it, or its subscription has lapsed. Sign in again on the Connect "
                "page."
            )
        return response, self.http.read_json(response, creates=creates)

    def _get(self, path: str, params: Mapping[str, str | int | bool] | None = None) -> Any:
        """A read's JSON; ``None`` when Sage has no such record (404)."""
        response, data = self._call("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            said = "; ".join(e.text for e in wire.errors_of(data)) or describe_status(response)
            raise ConnectorError(f"Sage would not answer {path.split('/')[0]} ({said}).")
        return data

    def _pages(self, collection: str, params: Mapping[str, str | int | bool]) -> Iterator[Json]:
        page = 1
        while True:
            data = self._get(collection, {**params, "page": page, "items_per_page": self.PAGE_SIZE})
            items = wire.items_of(data)
            yield from items
            if not wire.has_next(data) or len(items) < self.PAGE_SIZE:
                return
            page += 1

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        business = self._get(f"businesses/{self.business_id}") or {}
        name = wire.text(business, "name") or wire.text(business, "displayed_as")
        return Company(id=self.business_id, name=name or "Sage business")

    def lock_dates(self) -> LockDates:
        """The year-end lockdown date; before the accounts start date counts as locked too."""
        settings = self._get("financial_settings") or {}
        start = wire.parse_date(settings.get("accounts_start_date"))
        return LockDates(
            period_lock=start - timedelta(days=1) if start else None,
            year_end_lock=wire.parse_date(settings.get("year_end_lockdown_date")),
        )

    def list_accounts(self) -> list[RemoteAccount]:
        """Ledger accounts (sales, expense, other), then the bank accounts."""
        ledgers = [
            wire.remote_account(a) for a in self._pages("ledger_accounts", {"attributes": "all"})
        ]
        banks = [wire.bank_account(b) for b in self._pages("bank_accounts", {"attributes": "all"})]
        return [a for a in ledgers if a is not None] + banks

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        rates = [wire.remote_tax_rate(r) for r in self._pages("tax_rates", {"attributes": "all"})]
        return [r for r in rates if r is not None]

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        params: Params = {"contact_type_id": wire.CONTACT_TYPE[role], "attributes": "all"}
        for record in self._pages("contacts", params):
            yield wire.remote_contact(record, role)

    def _contact(self, contact_id: str) -> Json | None:
        found = self._get(f"contacts/{contact_id}", {"attributes": "all"})
        return found if isinstance(found, dict) else None

    def get_contact(self, ref: str) -> RemoteContact | None:
        """A contact by id, by the number in its web address (Sage's legacy id), or by
        its Sage reference; ``None`` when Sage has none."""
        contact_id = self.resolve_reference(ref)
        record = self._contact(contact_id) if contact_id else None
        return wire.remote_contact(record) if record else None

    def resolve_reference(self, text: str) -> str | None:
        """The contact id for what a user typed or pasted: an id (also inside the API
        address), the number in a Sage web address (looked up as the legacy id), or the
        contact's Sage reference. ``None`` when it names no contact.

        The link grid calls this for a Sage reference whose ``ParsedReference.from_url``
        is true and that is not already an id (``Reading.NEEDS_LOOKUP``).
        """
        raw = text.strip()
        if not raw:
            return None
        parsed = self.info.reference.parse(raw)
        candidate = parsed.reference if parsed else raw
        if wire.is_id(candidate):
            return candidate
        if candidate.isdigit():
            legacy = self.contact_by_legacy_id(candidate)
            if legacy is not None:
                return wire.text(legacy, "id")
            if parsed is not None and parsed.from_url:
                return None
        found = self.contact_by_reference(candidate)
        return found.ref if found else None

    def contact_by_legacy_id(self, legacy_id: str) -> Json | None:
        """The contact (its id and name) whose web-address number is ``legacy_id``, read
        page by page: Sage cannot filter on it."""
        for record in self._pages("contacts", {"show_legacy_id": True, "attributes": "name"}):
            if str(record.get("legacy_id") or "") == legacy_id.strip():
                return record
        return None

    def contact_by_reference(self, reference: str) -> RemoteContact | None:
        wanted = reference.strip()
        if not wanted:
            return None
        for record in self._pages("contacts", {"search": wanted, "attributes": "all"}):
            if wire.text(record, "reference") == wanted:
                return wire.remote_contact(record)
        return None

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Contacts of ``role`` whose name is exactly ``name``."""
        wanted = name.strip()
        return [c for c in self._named(role, wanted) if c.name.strip() == wanted]

    def _named(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Contacts of ``role`` whose name equals ``name``, capitals and spaces aside."""
        if not name:
            return []
        params: Params = {
            "contact_type_id": wire.CONTACT_TYPE[role],
            "search": name,
            "attributes": "all",
        }
        return [
            wire.remote_contact(record, role)
            for record in self._pages("contacts", params)
            if _fold(str(record.get("name") or "")) == _fold(name)
        ]

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        if not wire.is_id(invoice_id):
            return None
        record = self._get(f"sales_invoices/{invoice_id}", {"attributes": "all"})
        if not isinstance(record, dict):
            return None
        return InvoiceSummary(
            id=invoice_id,
            number=wire.text(record, "invoice_number") or wire.text(record, "reference"),
            total=wire.money(record.get("total_amount")),
            outstanding=wire.money(record.get("outstanding_amount")),
        )

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        field = wire.NUMBER[doc_type]
        return {
            wire.text(record, field)
            for record in self._pages(wire.COLLECTION[doc_type], {"attributes": field})
            if wire.text(record, field)
        }

    def _documents_numbered(self, doc_type: DocumentType, number: str) -> list[Json]:
        """Live documents whose number (or reference) is ``number``; Sage's search looks
        at the reference, where Ledgerlink writes the number too."""
        field = wire.NUMBER[doc_type]
        return [
            record
            for record in self._pages(
                wire.COLLECTION[doc_type], {"search": number, "attributes": "all"}
            )
            if number in (wire.text(record, field), wire.text(record, "reference"))
            and wire.nested_id(record, "status") != "VOID"
            and not record.get("deleted_at")
        ]

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by reference (and type), invoices and credit notes by number,
        customer receipts by reference. A credit note whose setting-against an invoice
        was interrupted is finished here first."""
        key = our_key.strip()
        if not key:
            return None
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            role = ContactRole(record_type.value)
            params: Params = {
                "contact_type_id": wire.CONTACT_TYPE[role],
                "search": key,
                "attributes": "all",
            }
            for record in self._pages("contacts", params):
                if wire.text(record, "reference") == key and role in wire.contact_roles(record):
                    return wire.text(record, "id")
            return None
        if record_type in (RemoteRecordType.INVOICE, RemoteRecordType.CREDIT_NOTE):
            doc_type = DocumentType(record_type.value)
            found = self._documents_numbered(doc_type, key)
            if not found:
                return None
            if doc_type is DocumentType.CREDIT_NOTE:
                self._finish_allocation(found[0])
            return wire.text(found[0], "id")
        # Receipts cannot be searched by reference: they are read and compared here.
        params = {"transaction_type_id": wire.RECEIPT, "attributes": "reference,deleted_at"}
        for payment in self._pages("contact_payments", params):
            if wire.text(payment, "reference") == key and not payment.get("deleted_at"):
                return wire.text(payment, "id")
        return None

    # ------------------------------------------------------------------ creating

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        def send() -> str:
            self._refuse_namesake(draft)
            created = self._post(Subject(draft), "contacts", wire.contact_payload(draft))
            with self._lock:
                self._names[draft.role][_fold(draft.name)] = (created, draft.name.strip())
            return created

        return self._remembered(
            RemoteRecordType(draft.role.value), draft.our_ref, draft, idempotency_key, send
        )

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        def send() -> str:
            return self._send_document(draft)

        def same(found_id: str) -> bool:
            record = self._get(f"{wire.COLLECTION[draft.type]}/{found_id}", {"attributes": "all"})
            return isinstance(record, dict) and _same_document(record, draft)

        record_type = RemoteRecordType(draft.type.value)
        return self._remembered(record_type, draft.number, draft, idempotency_key, send, same)

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        def send() -> str:
            return self._post(Subject(draft), "contact_payments", wire.payment_payload(draft))

        def same(found_id: str) -> bool:
            record = self._get(f"contact_payments/{found_id}", {"attributes": "all"})
            return (
                isinstance(record, dict)
                and wire.nested_id(record, "contact") == draft.contact_ref
                and wire.money(record.get("total_amount")) == draft.amount
            )

        return self._remembered(
            RemoteRecordType.PAYMENT, draft.reference, draft, idempotency_key, send, same
        )

    def _remembered(
        self,
        record_type: RemoteRecordType,
        our_key: str,
        draft: Draft,
        key: str,
        send: Callable[[], str],
        same: Callable[[str], bool] = lambda found: True,
    ) -> str:
        """Create once per key. A key whose record was made is answered from memory; a
        key whose answer was lost is looked for (by our own key) before it is sent again."""
        fingerprint = hashlib.sha256(repr(draft).encode("utf-8")).hexdigest()
        with self._lock:
            before = self._sent.get(key)
        if before is not None and before.fingerprint == fingerprint:
            if before.remote_id:
                return before.remote_id
            found = self.find_existing(record_type, our_key)
            if found and same(found):
                with self._lock:
                    self._sent[key] = _Sent(fingerprint, found)
                return found
        with self._lock:
            self._sent[key] = _Sent(fingerprint)
        try:
            remote_id = send()
        except OutcomeUncertain:
            raise
        except ConnectorError:
            # Refused, or never reached Sage: nothing was written for this key.
            with self._lock:
                self._sent.pop(key, None)
            raise
        with self._lock:
            self._sent[key] = _Sent(fingerprint, remote_id)
        return remote_id

    def _refuse_namesake(self, draft: ContactDraft) -> None:
        """Sage allows two contacts of one name; Ledgerlink does not create a second,
        because the two could not be told apart when linking (see the module docstring)."""
        with self._lock:
            names = self._names.get(draft.role)
        if names is None:
            params: Params = {
                "contact_type_id": wire.CONTACT_TYPE[draft.role],
                "attributes": "name",
            }
            names = {}
            for record in self._pages("contacts", params):
                name = str(record.get("name") or "")
                names.setdefault(_fold(name), (wire.text(record, "id"), name))
            with self._lock:
                names = self._names.setdefault(draft.role, names)
        existing = names.get(_fold(draft.name))
        if existing is None:
            return
        subject = Subject(draft)
        existing_id, existing_name = existing
        raise Rejected(
            code="duplicate_name",
            field="name",
            reason=(
                f"Cannot add {subject.label}: Sage already has a {draft.role.value} named "
                f'"{existing_name}" ({existing_id}). Ledgerlink does not make a second '
                "contact of the same name, which could not be told apart from the first."
            ),
            fix=(
                f"If it is the same business, link our {subject.word} to Sage contact "
                f"{existing_id} instead of sending it. If it is a different business, make "
                "the names different in your job system (for example add the town) and send "
                "it again."
            ),
        )

    def _post(self, subject: Subject, collection: str, body: Json) -> str:
        """Create one record; its id, or :class:`Rejected` when Sage refuses it."""
        response, data = self._call("POST", collection, body=body)
        if response.status_code in (200, 201) and isinstance(data, dict):
            created = wire.text(data, "id")
            if created:
                return created
            raise OutcomeUncertain(
                f"Sage answered without the new record's id, so {subject.label} may or may "
                "not have been saved."
            )
        if response.status_code in (400, 404, 409, 422):
            errors = wire.errors_of(data) or [
                wire.SageError("", f"Sage answered {describe_status(response)}.")
            ]
            raise rejection(subject, errors, self)
        raise ConnectorError(
            f"Sage did not accept {subject.label} ({describe_status(response)}); nothing was saved."
        )

    # ------------------------------------------------------------------ documents

    def _send_document(self, draft: DocumentDraft) -> str:
        subject = Subject(draft)
        invoice: InvoiceSummary | None = None
        if draft.credits_document_ref:
            invoice = self.invoice_summary(draft.credits_document_ref)
            refused = _credit_does_not_fit(draft, invoice)
            if refused is not None:
                raise refused
        original = invoice.number if invoice else ""
        payload = wire.document_payload(draft, original_invoice_number=original)
        created = self._post(subject, wire.COLLECTION[draft.type], payload)
        if invoice is None:
            return created
        try:
            refused = self._allocate(
                draft.contact_ref, invoice.id, created, draft.gross_total, draft.date, subject
            )
        except ConnectorError as unfinished:
            # The credit note is in Sage: never let a retry send it again. Looking it up
            # (find_existing) finishes the setting-against from what Sage holds.
            raise OutcomeUncertain(
                f"Credit note {draft.number.strip()} is in Sage (id {created}), but setting it "
                f"against invoice {invoice.number} did not finish ({unfinished}); Ledgerlink "
                "finishes it when it next looks."
            ) from unfinished
        if refused is None:
            return created
        return _raise_not_allocated(draft, created, refused)

    def _allocate(
        self,
        contact_id: str,
        invoice_id: str,
        credit_note_id: str,
        amount: Decimal,
        on: date,
        subject: Subject,
    ) -> Rejected | None:
        body = wire.allocation_payload(contact_id, invoice_id, credit_note_id, amount, on)
        try:
            self._post(subject, "contact_allocations", body)
        except Rejected as refused:
            log.warning("credit note %s not set against invoice %s", credit_note_id, invoice_id)
            return refused
        return None

    def _finish_allocation(self, credit_note: Json) -> None:
        """Set a found credit note against the invoice it names, if that was interrupted."""
        number = wire.text(credit_note, "original_invoice_number")
        total = wire.money(credit_note.get("total_amount"))
        on = wire.parse_date(credit_note.get("date"))
        if not number or on is None or total <= 0:
            return
        if wire.money(credit_note.get("outstanding_amount")) < total:
            return
        invoices = self._documents_numbered(DocumentType.INVOICE, number)
        if not invoices:
            return
        contact_id = wire.nested_id(credit_note, "contact")
        draft = DocumentDraft(
            DocumentType.CREDIT_NOTE,
            wire.text(credit_note, "credit_note_number"),
            on,
            contact_id,
            (),
        )
        credit_id = wire.text(credit_note, "id")
        refused = self._allocate(
            contact_id, wire.text(invoices[0], "id"), credit_id, total, on, Subject(draft)
        )
        if refused is not None:
            _raise_not_allocated(draft, credit_id, refused)
        log.info(
            "credit note %s set against invoice %s after an interruption", draft.number, number
        )

    def close(self) -> None:
        self.http.close()


# ----------------------------------------------------------------------------- helpers


def _fold(name: str) -> str:
    """A name as Ledgerlink compares contacts' names: capitals and spacing aside."""
    return " ".join(name.split()).casefold()


def _same_document(record: Mapping[str, Any], draft: DocumentDraft) -> bool:
    return (
        wire.nested_id(record, "contact") == draft.contact_ref
        and wire.money(record.get("total_amount")) == draft.gross_total
    )


def _credit_does_not_fit(draft: DocumentDraft, invoice: InvoiceSummary | None) -> Rejected | None:
    subject = Subject(draft)
    if invoice is None:
        return Rejected(
            code="unknown_invoice",
            field="original_invoice_number",
            reason=(
                f"{subject.opening} credits Sage invoice {draft.credits_document_ref}, which "
                "Sage does not have."
            ),
            fix="Send the invoice first (or check it was not deleted in Sage), then send again.",
        )
    if draft.gross_total <= invoice.outstanding:
        return None
    return Rejected(
        code="over_allocation",
        field="original_invoice_number",
        reason=(
            f"{subject.opening} is for £{draft.gross_total:,.2f}, more than the "
            f"£{invoice.outstanding:,.2f} Sage shows still owed on invoice {invoice.number}, "
            "so it cannot be set against it. Nothing was sent."
        ),
        fix=(
            f"Check invoice {invoice.number}'s payments and credit notes in Sage. If it is "
            "already settled, clear the credit note's original invoice in your job system (it "
            "then goes as a credit on account) and send again."
        ),
    )


def _raise_not_allocated(draft: DocumentDraft, credit_note_id: str, refused: Rejected) -> str:
    number = draft.number.strip()
    raise Rejected(
        code="credit_not_allocated",
        field="original_invoice_number",
        reason=(
            f"Credit note {number} is now in Sage (id {credit_note_id}), but Sage would not set "
            f"it against the invoice it credits: {refused.reason}"
        ),
        fix=(
            f"In Sage, allocate credit note {number} to the invoice by hand, then mark the "
            f"credit note as entered manually with id {credit_note_id}."
        ),
    )
