"""The Sage Business Cloud Accounting connector: Sage's API v3.1 (UK) over httpx,
insert-only.

- Sign-in: OAuth 2.0 with Ledgerlink's client secret through :mod:`connectors.oauth`
  (loopback on ``localhost``, or the pasted address). Access tokens last five minutes
  and are refreshed before each call that needs it; refresh tokens rotate and are saved
  before use.
- The business is the ``tenant_id`` setting, chosen from ``GET /businesses`` and sent as
  ``X-Business`` on every call (Sage would otherwise pick the "lead" business, which can
  change).
- Sage has no batch endpoint: one record per request. Every create carries Sage's
  ``idempotency_id`` (32 hex characters, inside the resource), derived from our
  idempotency key, so a repeat of a request whose answer was lost is answered by Sage
  with the first record. As the backstop, before any resend the connector looks for the
  record by our own key (contact reference, document number, payment reference) — and
  so does the send engine; within one connection a repeated key whose record was made
  is answered from memory without a request.
- Limits: Sage publishes none; the connection sends one request at a time, at most 60 a
  minute (:class:`~connectors.limits.RateLimiter`), and a 429 becomes
  :class:`~connectors.errors.RateLimited` with Sage's ``Retry-After``.
- Links: Sage trusts a link only when our name, address and email equal its own exactly,
  capitals included (``PackageInfo.exact_match_fields``; the link grid enforces it). A
  pasted web address carries the contact's id or Sage's older numeric id;
  :meth:`resolve_reference` turns either into the contact's id, never by reading every
  contact (``legacy_id`` is gone from Sage's v3.1 swagger).

Details and sources: docs/packages/sage-business-cloud.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from connectors.catalogue import SAGE_BUSINESS_CLOUD
from connectors.cloud import CloudConnector, Indexed, TenantNotChosen
from connectors.contract import (
    Company,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    CreateResult,
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
from connectors.create_once import CreateOnce
from connectors.errors import (
    ConnectorError,
    OutcomeUncertain,
    Rejected,
    TemporarilyUnavailable,
)
from connectors.http import describe_status
from connectors.limits import RateLimiter
from connectors.oauth import OAuthProvider
from connectors.sage_business_cloud import updates, wire
from connectors.sage_business_cloud.endpoints import SageEndpoints, sage_provider
from connectors.sage_business_cloud.rejections import InvoiceSummary, Subject, rejection

log = logging.getLogger(__name__)

Json = dict[str, Any]
Params = dict[str, str | int | bool]


#: The sign-in reaches several Sage businesses and none is chosen yet.
BusinessNotChosen = TenantNotChosen


@dataclass(frozen=True)
class _Sent:
    """A create this connection made (or tried): its content's fingerprint, and the
    record's id once Sage confirmed it ("" while its answer is unknown)."""

    fingerprint: str
    remote_id: str = ""


class SageBusinessCloudConnector(CloudConnector):
    """One Sage Business Cloud Accounting business. ``clock`` (seconds since the epoch)
    and ``sleep`` are for tests."""

    info: ClassVar[PackageInfo] = SAGE_BUSINESS_CLOUD
    PAGE_SIZE: ClassVar[int] = 200
    TENANT_HEADER: ClassVar[str] = "X-Business"
    TENANT_WORD: ClassVar[str] = "business"
    TENANT_WORDS: ClassVar[str] = "businesses"
    NEEDS_CLIENT_SECRET: ClassVar[bool] = True
    FORBIDDEN_MESSAGE: ClassVar[str] = (
        "Sage refused access to the business (403): the Sage user may have lost access to "
        "it, or its subscription has lapsed. Sign in again on the Connect page."
    )

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.endpoints = SageEndpoints.from_settings(context.settings)
        super().__init__(
            context,
            clock=clock,
            sleep=None if sleep is time.sleep else sleep,
            limiter=limiter,
        )
        self._once = CreateOnce()
        #: Per role, each contact's name (capitals and spaces aside) → (id, name), read once
        #: per connection for the namesake check and kept up to date by our own creates.
        self._names: dict[ContactRole, dict[str, tuple[str, str]]] = {}

    def make_provider(self, settings: Mapping[str, str]) -> OAuthProvider:
        """Sage's sign-in as Ledgerlink uses it (full access, loopback on ``localhost``)."""
        return sage_provider(self.endpoints, settings)

    def api_url(self, tenant_id: str) -> str:
        """One base address for every business: the business travels as ``X-Business``."""
        return self.endpoints.api_url

    @property
    def package_name(self) -> str:
        """What messages and the Connect page call the package (Sage's own name for it)."""
        return "Sage Accounting"

    # ------------------------------------------------------------------ sign-in

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

    @property
    def business_id(self) -> str:
        """The chosen business; with none chosen and exactly one reachable, that one."""
        return self.tenant_id

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
        response = self.request(
            method, path, params=params, body=body, creates=creates, tenant=business
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
        def fetch(page: int) -> tuple[list[Json], bool]:
            data = self._get(collection, {**params, "page": page, "items_per_page": self.PAGE_SIZE})
            items = wire.items_of(data)
            # ``$next`` alone says whether there is more: Sage may cap a page below what
            # was asked for, and a short page is then not the last.
            return items, bool(items) and wire.has_next(data)

        return self.paged(fetch)

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        """The business's name, falling back to how Sage displays it."""
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
        """The visible tax rates that have a percentage."""
        rates = [wire.remote_tax_rate(r) for r in self._pages("tax_rates", {"attributes": "all"})]
        return [r for r in rates if r is not None]

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Customers or suppliers, a page at a time."""
        params: Params = {"contact_type_id": wire.CONTACT_TYPE[role], "attributes": "all"}
        for record in self._pages("contacts", params):
            yield wire.remote_contact(record, role)

    def _contact(self, contact_id: str) -> Json | None:
        found = self._get(f"contacts/{contact_id}", {"attributes": "all"})
        return found if isinstance(found, dict) else None

    def get_contact(self, ref: str) -> RemoteContact | None:
        """A contact by id, by the number in an older web address (Sage's legacy id), or
        by its Sage reference; ``None`` when Ledgerlink cannot find it (the link grid then
        says so and offers the pick by name)."""
        contact_id = self.resolve_reference(ref)
        record = self._contact(contact_id) if contact_id else None
        return wire.remote_contact(record) if record else None

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a contact's address and main contact person, never its name
        (``PUT /contacts/{key}``, see :mod:`connectors.sage_business_cloud.updates`); a
        deleted, GDPR-obfuscated or system contact is refused."""
        contact_id = ref.strip()
        record = self._contact(contact_id) if wire.is_id(contact_id) else None
        if record is None:
            raise updates.unknown_contact(contact_id)
        refusal = updates.not_changeable(record, contact_id)
        if refusal is not None:
            raise refusal
        response, data = self._call(
            "PUT", f"contacts/{contact_id}", body=updates.update_payload(update)
        )
        if response.status_code == 200 and isinstance(data, dict) and data.get("id"):
            return wire.remote_contact(data)
        if response.status_code == 404:
            raise updates.unknown_contact(contact_id)
        if response.status_code in (400, 409, 422):
            raise updates.refused(record, contact_id, wire.errors_of(data))
        raise ConnectorError(
            f"Sage did not confirm the new details of {updates.label(record, contact_id)} "
            f"({describe_status(response)}); look at the contact in Sage and sync again."
        )

    def resolve_reference(self, text: str) -> str | None:
        """The contact id for what a user typed or pasted: an id (also inside an API or
        web address), the number in an older Sage web address (Sage's legacy id), or the
        contact's Sage reference. ``None`` when it names no contact Ledgerlink can find.

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
            # One search for the number: it finds the contact by its web address's number
            # or by a reference that is that number.
            legacy = self.contact_by_legacy_id(candidate)
            return wire.text(legacy, "id") if legacy is not None else None
        found = self.contact_by_reference(candidate)
        return found.ref if found else None

    def contact_by_legacy_id(self, legacy_id: str) -> Json | None:
        """The contact whose older web address ends in ``legacy_id``, among those Sage's
        search finds for that number (its reference may be the number); matched on the
        web address Sage returns in ``links``, or on the reference.

        ``show_legacy_id`` and ``legacy_id`` are gone from Sage's v3.1 swagger and Sage
        cannot filter on the number, so there is no look-up by it; reading every contact
        to compare addresses would be slow and silent, so ``None`` here means "not
        found": the caller says so and offers the pick by name.
        """
        wanted = legacy_id.strip()
        if not wanted.isdigit():
            return None
        for record in self._pages("contacts", {"search": wanted, "attributes": "all"}):
            if wanted in wire.web_numbers(record) or wire.text(record, "reference") == wanted:
                return record
        return None

    def contact_by_reference(self, reference: str) -> RemoteContact | None:
        """The contact whose account reference is exactly ``reference``, if any."""
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
        """What Sage holds for the sales invoice, or ``None`` if it has none."""
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
            date=wire.parse_date(record.get("date")),
        )

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """Every number already used on sales invoices or sales credit notes."""
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
        """Create the contact unless an earlier send already did; a namesake is refused first."""

        def send() -> str:
            self._refuse_namesake(draft)
            body = wire.with_idempotency(wire.contact_payload(draft), idempotency_key)
            created = self._post(Subject(draft), "contacts", body)
            with self._lock:
                names = self._names.get(draft.role)
                if names is not None:
                    names[_fold(draft.name)] = (created, draft.name.strip())
            return created

        return self._remembered(
            RemoteRecordType(draft.role.value), draft.our_ref, draft, idempotency_key, send
        )

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """Create the document unless an earlier send already made the same one."""

        def send() -> str:
            return self._send_document(draft, idempotency_key)

        def same(found_id: str) -> bool:
            record = self._get(f"{wire.COLLECTION[draft.type]}/{found_id}", {"attributes": "all"})
            return isinstance(record, dict) and _same_document(record, draft)

        record_type = RemoteRecordType(draft.type.value)
        return self._remembered(record_type, draft.number, draft, idempotency_key, send, same)

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """Create the payment unless an earlier send already made the same one."""

        def send() -> str:
            body = wire.with_idempotency(wire.payment_payload(draft), idempotency_key)
            return self._post(Subject(draft), "contact_payments", body)

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
        """Create once per key (see :mod:`connectors.create_once`)."""
        return self._once.create(
            key, draft, send, lambda: self.find_existing(record_type, our_key), same
        )

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

    def _send_document(self, draft: DocumentDraft, key: str) -> str:
        subject = Subject(draft)
        invoice: InvoiceSummary | None = None
        if draft.credits_document_ref:
            invoice = self.invoice_summary(draft.credits_document_ref)
            refused = _credit_does_not_fit(draft, invoice)
            if refused is not None:
                raise refused
        payload = wire.document_payload(
            draft,
            credits=(invoice.number, invoice.id) if invoice else None,
            credited_on=invoice.date if invoice else None,
        )
        created = self._post(
            subject, wire.COLLECTION[draft.type], wire.with_idempotency(payload, key)
        )
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
        """Set a found credit note against the invoice its ``notes`` name, if that was
        interrupted (its outstanding amount is still its whole total)."""
        credited = wire.credited_invoice(credit_note)
        total = wire.money(credit_note.get("total_amount"))
        on = wire.parse_date(credit_note.get("date"))
        if credited is None or on is None or total <= 0:
            return
        if wire.money(credit_note.get("outstanding_amount")) < total:
            return
        number, invoice_id = credited
        invoice = self.invoice_summary(invoice_id)
        if invoice is None:
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
        refused = self._allocate(contact_id, invoice.id, credit_id, total, on, Subject(draft))
        if refused is not None:
            _raise_not_allocated(draft, credit_id, refused)
        log.info(
            "credit note %s set against invoice %s after an interruption", draft.number, number
        )

    def create_chunk(self, kind: str, chunk: list[Indexed]) -> list[tuple[int, CreateResult]]:
        """One record per request (Sage has no batch endpoint)."""
        results: list[tuple[int, CreateResult]] = []
        for index, item in chunk:
            try:
                results.append((index, self._create_one(item)))
            except Rejected as refused:
                results.append((index, refused))
        return results


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
