"""The FreeAgent connector: FreeAgent's API v2 over httpx, insert-only.

- Sign-in: OAuth 2.0 authorisation code in the browser through :mod:`connectors.oauth`
  (loopback on ``localhost`` like Xero, or the pasted address), with Ledgerlink's client
  secret sent as HTTP Basic. Access tokens last about an hour; refresh tokens rotate and
  are saved before use. The token is bound to one company, so there is nothing to pick.
- Every resource is a URL; a contact's reference is the number at its end. FreeAgent
  contacts have no reference field, so our account reference goes in a note on the
  contact, which is how a contact is found again after a lost answer.
- Invoices and credit notes are created as Draft, then marked as sent
  (``transitions/mark_as_sent``). A pair interrupted between the two is finished the
  next time the document is looked for: never created twice.
- Receipts are bank transaction explanations against ``paid_invoice``, one per invoice.
- No batch endpoint and no idempotency key: one record per request, and before any
  resend of a record whose answer was lost the connector looks for it by our own key
  (invoice ``reference`` = our document number; receipt description = our payment
  reference).
- Limits: 120 requests a minute and 3,600 an hour per user; the connection paces itself
  to both and a 429 becomes :class:`~connectors.errors.RateLimited`.
- Lock dates: ``GET /v2/account_locks`` (needs full access; without it the lock date is
  unknown and FreeAgent's own refusal is translated instead).

Details and sources: docs/packages/freeagent.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.catalogue import FREEAGENT
from connectors.cloud import CloudConnector, Indexed
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
    PackageContact,
    PackageInfo,
    PaymentDraft,
    RateScale,
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
from connectors.freeagent import updates, wire
from connectors.freeagent.endpoints import FreeAgentEndpoints, freeagent_provider
from connectors.freeagent.rejections import Subject, locked, rejection
from connectors.http import describe_status
from connectors.kept_lock import KeptLockDate
from connectors.limits import RateLimiter, Window
from connectors.oauth import OAuthProvider
from connectors.wording import money, uk_date

log = logging.getLogger(__name__)

Json = dict[str, Any]
Params = dict[str, str | int | bool]

#: A contact whose answer was lost is looked for among contacts made this recently.
RECENT_CONTACTS = timedelta(days=60)
HOUR = "hour"


class FreeAgentConnector(CloudConnector):
    """One FreeAgent company. ``clock`` (seconds since the epoch) and ``sleep`` are for
    tests."""

    info: ClassVar[PackageInfo] = FREEAGENT
    PAGE_SIZE: ClassVar[int] = 100
    TENANT_WORD: ClassVar[str] = "company"
    NEEDS_CLIENT_SECRET: ClassVar[bool] = True
    FORBIDDEN_MESSAGE: ClassVar[str] = (
        "FreeAgent refused Ledgerlink access (403): the FreeAgent user it signed in as needs "
        "more access (invoices need 'Invoices, Estimates & Files', receipts 'Banking'), or "
        "API access is off for the company. Sign in again on the Connect page once that is "
        "sorted."
    )

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(context, clock=clock, sleep=sleep, limiter=limiter)
        self._once = CreateOnce()
        self._names: dict[str, tuple[str, str]] | None = None
        self._kept_lock = KeptLockDate(self.clock)

    # ------------------------------------------------------------------ what the base asks

    def make_provider(self, settings: Mapping[str, str]) -> OAuthProvider:
        """FreeAgent's OAuth provider for production, the sandbox or a stand-in, as the
        settings say; also keeps the addresses for ``api_url``."""
        self.endpoints = FreeAgentEndpoints.from_settings(settings)
        return freeagent_provider(self.endpoints, settings)

    def api_url(self, tenant_id: str) -> str:
        """The one API address: FreeAgent binds a token to a company, so ``tenant_id`` does
        not change it."""
        return self.endpoints.api_url

    def extra_windows(self, scale: RateScale) -> list[Window]:
        """FreeAgent's second limit: 3,600 requests an hour per user."""
        return [Window(HOUR, *scale.window(3600, 3600.0))]

    def error_text(self, data: Any) -> str:
        """FreeAgent's error messages in an answer, joined with ``; ``."""
        return "; ".join(wire.errors_of(data))

    def list_organisations(self) -> list[Company]:
        """The one company this sign-in reaches (FreeAgent binds a token to a company)."""
        return [self.connect()]

    # ------------------------------------------------------------------ HTTP

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.endpoints.api_url}/{path}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        forbidden_is_an_answer: bool = False,
    ) -> tuple[httpx.Response, Any]:
        """One paced request (no tenant: the token is the company's). A 403 means
        signing in again, except where FreeAgent uses it for a refusal (a locked
        invoice), when ``forbidden_is_an_answer``."""
        creates = method in ("POST", "PUT")
        if forbidden_is_an_answer:
            response = self.http.request(
                method, self._url(path), params=params, body=body, creates=creates
            )
        else:
            response = self.request(
                method, "", params=params, body=body, url=self._url(path), tenant=False
            )
        if not response.content:
            return response, None
        return response, self.http.read_json(response, creates=creates)

    def _get(self, path: str, params: Params | None = None) -> Any:
        """A read's JSON; ``None`` for 404 (no such record)."""
        response, data = self._call("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            said = "; ".join(wire.errors_of(data)) or describe_status(response)
            raise ConnectorError(f"FreeAgent would not answer {path.split('?')[0]} ({said}).")
        return data

    def _pages(self, path: str, key: str, params: Params | None = None) -> Iterator[Json]:
        """Every record of a list, following the ``Link: rel="next"`` header."""
        url: str | None = self._url(path)
        query: Params | None = {**(params or {}), "per_page": self.PAGE_SIZE}
        while url:
            response, data = self._call("GET", url, params=query)
            if response.status_code != 200:
                said = "; ".join(wire.errors_of(data)) or describe_status(response)
                raise ConnectorError(f"FreeAgent would not list {key} ({said}).")
            yield from wire.items_of(data, key)
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        """The company the token reaches, by its subdomain (``GET /v2/company``)."""
        data = self._get("company")
        company = wire.one_of(data, "company") or {}
        found = Company(
            id=wire.text(company, "subdomain") or wire.text(company, "id") or "freeagent",
            name=wire.text(company, "name") or "FreeAgent company",
        )
        return found

    def lock_dates(self) -> LockDates:
        """The latest account lock (user lock or year end), read from
        ``/v2/account_locks``; none when the user may not read them (full access only)."""
        # Reading locks needs full access; without it FreeAgent answers 403, which here
        # means "unknown", not "sign in again".
        response, data = self._call("GET", "account_locks", forbidden_is_an_answer=True)
        lock: date | None = None
        if response.status_code == 200:
            dates = [
                wire.parse_date(item.get("locked_to_date"))
                for item in wire.items_of(data, "account_locks")
            ]
            known = [d for d in dates if d is not None]
            lock = max(known) if known else None
        elif response.status_code not in (403, 404):
            said = "; ".join(wire.errors_of(data)) or describe_status(response)
            raise ConnectorError(f"FreeAgent would not say its lock dates ({said}).")
        self._kept_lock.keep(lock)
        return LockDates(period_lock=lock)

    def _lock_date(self) -> date | None:
        return self._kept_lock.current(self.lock_dates)

    def list_accounts(self) -> list[RemoteAccount]:
        """Categories (their nominal codes), then bank accounts."""
        categories = self._get("categories") or {}
        accounts = wire.remote_accounts(categories)
        banks = [wire.bank_account(b) for b in self._pages("bank_accounts", "bank_accounts")]
        return accounts + banks

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The UK VAT rates: FreeAgent lines carry a rate, not a tax code, so there is no
        list to read."""
        return wire.tax_rates()

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Every active contact: one FreeAgent contact serves as customer and supplier,
        and a contact counts as either only through its documents, so both link lists
        offer all of them (one made yesterday has none yet). The one-time import tells
        them apart with :meth:`iter_contacts_with_roles`."""
        for record in self._pages("contacts", "contacts", {"view": "active", "sort": "name"}):
            yield wire.remote_contact(record, role)

    def iter_contacts_with_roles(self) -> Iterator[PackageContact]:
        """Every active contact once, a customer when FreeAgent lists it among its
        ``clients`` and a supplier when among its ``suppliers`` (the contacts list's own
        views); in neither, it has no role here and the user chooses."""
        clients = self._numbers_in_view("clients")
        suppliers = self._numbers_in_view("suppliers")
        for record in self._pages("contacts", "contacts", {"view": "active", "sort": "name"}):
            number = wire.number_of(wire.text(record, "url"))
            roles = {ContactRole.CUSTOMER} if number in clients else set()
            if number in suppliers:
                roles.add(ContactRole.SUPPLIER)
            yield PackageContact(
                wire.remote_contact(record, ContactRole.CUSTOMER), frozenset(roles)
            )

    def _numbers_in_view(self, view: str) -> set[str]:
        """The numbers of the contacts in one of FreeAgent's list views."""
        return {
            wire.number_of(wire.text(record, "url"))
            for record in self._pages("contacts", "contacts", {"view": view})
        }

    def get_contact(self, ref: str) -> RemoteContact | None:
        """The contact numbered ``ref`` with our account reference from its notes; a supplier
        only when our notes name it as a supplier alone."""
        number = ref.strip()
        record = self._contact_record(number)
        return self._as_remote(record, number) if record is not None else None

    def _contact_record(self, number: str) -> Json | None:
        """The contact numbered ``number`` as FreeAgent holds it; ``None`` when there is
        none or ``number`` is not a number."""
        if not number.isdigit():
            return None
        return wire.one_of(self._get(f"contacts/{number}"), "contact")

    def _as_remote(self, record: Json, number: str) -> RemoteContact:
        """``record`` with our account reference from its notes; a supplier only when our
        notes name it as a supplier alone."""
        refs = self._our_refs(number)
        role = ContactRole.SUPPLIER if set(refs) == {ContactRole.SUPPLIER} else ContactRole.CUSTOMER
        return wire.remote_contact(record, role, refs.get(role, ""))

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a contact's details, never its name (``PUT /v2/contacts/:id``, see
        :mod:`connectors.freeagent.updates`); a hidden contact is refused."""
        return updates.update_contact(self, ref, update)

    def _our_refs(self, number: str) -> dict[ContactRole, str]:
        """Our account reference per role, from the notes Ledgerlink left on the contact."""
        notes = self._get("notes", {"contact": f"{self.endpoints.api_url}/contacts/{number}"})
        refs: dict[ContactRole, str] = {}
        for note in wire.items_of(notes, "notes"):
            found = wire.our_ref_of_note(note)
            if found:
                refs.setdefault(found[0], found[1])
        return refs

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Active contacts named exactly ``name`` (every contact serves either role)."""
        return [c for c in self.iter_contacts(role) if c.name == name]

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """The references (our document numbers) of every invoice, or every credit note."""
        return {
            wire.text(record, "reference")
            for record in self._pages(wire.COLLECTION[doc_type], wire.COLLECTION[doc_type])
            if wire.text(record, "reference")
        }

    def _document(self, doc_type: DocumentType, number: str) -> wire.DocumentState | None:
        record = wire.one_of(
            self._get(f"{wire.COLLECTION[doc_type]}/{number}"), wire.SINGULAR[doc_type]
        )
        return wire.document_state(record) if record else None

    def _documents_referenced(self, doc_type: DocumentType, reference: str) -> list[Json]:
        collection = wire.COLLECTION[doc_type]
        return [
            record
            for record in self._pages(collection, collection, {"sort": "-created_at"})
            if wire.text(record, "reference") == reference
        ]

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by the note carrying our account reference; invoices and credit notes
        by ``reference`` (a Draft left by an interrupted send is marked as sent here
        first); receipts by description."""
        key = our_key.strip()
        if not key:
            return None
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            return self._find_contact(ContactRole(record_type.value), key)
        if record_type in (RemoteRecordType.INVOICE, RemoteRecordType.CREDIT_NOTE):
            doc_type = DocumentType(record_type.value)
            found = self._documents_referenced(doc_type, key)
            if not found:
                return None
            state = wire.document_state(found[0])
            if state.is_draft:
                self._mark_as_sent(doc_type, state.id, key)
            self.steps.forget(f"{doc_type.value}:{key}")
            return state.id
        return self._find_receipt(key)

    def _find_contact(self, role: ContactRole, key: str) -> str | None:
        since = datetime.fromtimestamp(self.clock(), tz=UTC) - RECENT_CONTACTS
        params: Params = {"view": "all", "sort": "-created_at"}
        for record in self._pages("contacts", "contacts", params):
            created = wire.text(record, "created_at")
            if created and created[:10] < since.date().isoformat():
                break
            number = wire.number_of(wire.text(record, "url"))
            if number and self._our_refs(number).get(role) == key:
                return number
        return None

    def _explanations(self) -> Iterator[Json]:
        for bank in self._pages("bank_accounts", "bank_accounts"):
            params: Params = {"bank_account": wire.text(bank, "url")}
            yield from self._pages(
                "bank_transaction_explanations", "bank_transaction_explanations", params
            )

    def _find_receipt(self, key: str) -> str | None:
        parts: dict[int, str] = {}
        expected = 0
        for record in self._explanations():
            ref, index, count = wire.parse_part(wire.text(record, "description"))
            if ref == key:
                parts[index] = wire.number_of(wire.text(record, "url"))
                expected = count
        if not parts:
            return None
        if len(parts) < expected:
            missing = expected - len(parts)
            raise Rejected(
                code="payment_partly_recorded",
                field="allocations",
                reason=(
                    f"Payment {key} is only partly in FreeAgent: {len(parts)} of its "
                    f"{expected} receipts were recorded before the send was interrupted "
                    f"({missing} missing)."
                ),
                fix=(
                    f"In FreeAgent, find the receipts described {key} (1/{expected}) onwards "
                    "and record the missing ones by hand, then mark the payment as entered "
                    "manually."
                ),
            )
        return ",".join(parts[i] for i in sorted(parts))

    # ------------------------------------------------------------------ creating

    def create_chunk(self, kind: str, chunk: list[Indexed]) -> list[tuple[int, CreateResult]]:
        """One record per request (FreeAgent has no batch endpoint)."""
        done: list[tuple[int, CreateResult]] = []
        for index, item in chunk:
            draft = item.draft
            try:
                if isinstance(draft, ContactDraft):
                    result: CreateResult = self._create_contact(draft, item.idempotency_key)
                elif isinstance(draft, DocumentDraft):
                    result = self._create_document(draft, item.idempotency_key)
                else:
                    result = self._create_payment(draft, item.idempotency_key)
            except Rejected as refused:
                result = refused
            done.append((index, result))
        return done

    def _create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        def send() -> str:
            self._refuse_namesake(draft)
            number = self._post_created(Subject(draft), "contacts", wire.contact_payload(draft))
            with self._lock:
                if self._names is not None:
                    self._names[_fold(draft.name)] = (number, draft.name.strip())
            self._add_note(draft, number)
            return number

        return self._remembered(
            RemoteRecordType(draft.role.value), draft.our_ref, draft, idempotency_key, send
        )

    def _add_note(self, draft: ContactDraft, number: str) -> None:
        try:
            response, data = self._call(
                "POST",
                "notes",
                params={"contact": f"{self.endpoints.api_url}/contacts/{number}"},
                body=wire.note_payload(draft.role, draft.our_ref),
            )
        except ConnectorError as exc:
            raise OutcomeUncertain(
                f"{Subject(draft).opening} is in FreeAgent (contact {number}), but the note "
                f"carrying our account reference may not have been saved ({exc})."
            ) from exc
        if response.status_code not in (200, 201):
            said = "; ".join(wire.errors_of(data)) or describe_status(response)
            log.warning("note for contact %s refused: %s", number, said)

    def _create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        def send() -> str:
            return self._send_document(draft, idempotency_key)

        def same(found: str) -> bool:
            state = self._document(draft.type, found.split(",")[0])
            return state is not None and state.contact_ref == draft.contact_ref.strip()

        record_type = RemoteRecordType(draft.type.value)
        return self._remembered(record_type, draft.number, draft, idempotency_key, send, same)

    def _create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        def send() -> str:
            return self._send_receipts(draft)

        return self._remembered(
            RemoteRecordType.PAYMENT, draft.reference, draft, idempotency_key, send
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
        """FreeAgent allows two contacts of one name; Ledgerlink does not make a second,
        which could not be told apart from the first when linking."""
        with self._lock:
            names = self._names
        if names is None:
            names = {}
            for record in self._pages("contacts", "contacts", {"view": "all"}):
                name = wire.contact_name(record)
                names.setdefault(_fold(name), (wire.number_of(wire.text(record, "url")), name))
            with self._lock:
                self._names = names
        existing = names.get(_fold(draft.name))
        if existing is None:
            return
        subject = Subject(draft)
        number, name = existing
        raise Rejected(
            code="duplicate_name",
            field="name",
            reason=(
                f'Cannot add {subject.label}: FreeAgent already has a contact named "{name}" '
                f"(contact {number}). Ledgerlink does not make a second contact of the same "
                "name, which could not be told apart from the first."
            ),
            fix=(
                f"If it is the same business, link our {subject.word} to FreeAgent contact "
                f"{number} instead of sending it. If it is a different business, make the "
                "names different in your job system (for example add the town) and send again."
            ),
        )

    def _post_created(self, subject: Subject, collection: str, body: Json) -> str:
        """Create one record; the number at the end of its URL."""
        response, data = self._call("POST", collection, body=body)
        if response.status_code in (200, 201):
            url = response.headers.get("Location", "")
            if isinstance(data, Mapping):
                for value in data.values():
                    if isinstance(value, Mapping) and wire.text(value, "url"):
                        url = wire.text(value, "url")
            number = wire.number_of(url)
            if number:
                return number
            raise OutcomeUncertain(
                f"FreeAgent answered without the new record's address, so {subject.label} may "
                "or may not have been saved."
            )
        self._raise_refusal(subject, response, data)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_refusal(self, subject: Subject, response: httpx.Response, data: Any) -> None:
        status = response.status_code
        if status in (400, 403, 404, 422):
            lock = self._kept_lock.last()
            raise rejection(subject, status, wire.errors_of(data), lock)
        raise ConnectorError(
            f"FreeAgent did not accept {subject.label} ({describe_status(response)}); nothing "
            "was saved."
        )

    # ------------------------------------------------------------------ documents

    def _send_document(self, draft: DocumentDraft, key: str) -> str:
        """Create the Draft, write down its number, then mark it as sent. A Draft whose
        marking was interrupted (a 429, a cancel, a crash) is only marked next time:
        the step log says which, and ``find_existing`` finds it by reference too."""
        subject = Subject(draft)
        step_key = _draft_step(draft)
        step = self.steps.get(step_key)
        if step and step.get("key") == key and step.get("id"):
            number = str(step["id"])
            state = self._document(draft.type, number)
            if state is not None:
                if state.is_draft:  # a lost answer may have marked it already
                    self._mark_as_sent(draft.type, number, draft.number.strip())
                self.steps.forget(step_key)
                return number
            self.steps.forget(step_key)  # deleted in FreeAgent meanwhile: make it again
        lock = self._lock_date()
        if lock is not None and draft.date <= lock:
            raise locked(subject, draft.date, lock)
        payload = wire.document_payload(draft, self.endpoints.api_url)
        number = self._post_created(subject, wire.COLLECTION[draft.type], payload)
        self.steps.put(step_key, {"key": key, "id": number})
        self._mark_as_sent(draft.type, number, draft.number.strip())
        self.steps.forget(step_key)
        return number

    def _mark_as_sent(self, doc_type: DocumentType, number: str, reference: str) -> None:
        """Post a Draft to the accounts. If this is interrupted the Draft stays in
        FreeAgent and the next look (``find_existing``) finishes it."""
        word = "invoice" if doc_type is DocumentType.INVOICE else "credit note"
        path = f"{wire.COLLECTION[doc_type]}/{number}/transitions/mark_as_sent"
        try:
            response, data = self._call("PUT", path, forbidden_is_an_answer=True)
        except (OutcomeUncertain, TemporarilyUnavailable) as exc:
            raise OutcomeUncertain(
                f"The {word} {reference} is in FreeAgent as a Draft ({number}), but marking it "
                f"as sent did not finish ({exc}); Ledgerlink finishes it when it next looks."
            ) from exc
        if response.status_code in (200, 201, 204):
            return
        said = "; ".join(wire.errors_of(data)) or describe_status(response)
        if response.status_code in (403, 422) and "lock" in said.casefold():
            lock = self._kept_lock.last()
            raise Rejected(
                code="locked_period",
                field="date",
                reason=(
                    f"The {word} {reference} is in FreeAgent as a Draft ({number}), but "
                    f'FreeAgent will not mark it as sent: "{said}". Its date is in a locked '
                    "period" + (f" (locked up to {uk_date(lock)})." if lock else ".")
                ),
                fix=(
                    f"Delete Draft {word} {reference} in FreeAgent, date it after the lock in "
                    "your job system and send again; or ask whoever keeps the books to move "
                    "the lock back, then mark the Draft as sent in FreeAgent and mark the "
                    "record as entered manually."
                ),
            )
        raise OutcomeUncertain(
            f"The {word} {reference} is in FreeAgent as a Draft ({number}), but marking it as "
            f"sent was refused ({said}); Ledgerlink tries again when it next looks."
        )

    # ------------------------------------------------------------------ receipts

    def _send_receipts(self, draft: PaymentDraft) -> str:
        subject = Subject(draft)
        if not draft.allocations:
            raise Rejected(
                code="unallocated_payment",
                field="allocations",
                reason=(
                    f"{subject.opening} is not set against any invoice. FreeAgent records a "
                    "customer's payment as a receipt against the invoice it pays."
                ),
                fix="Set the payment against its invoice in your job system, then send again.",
            )
        lock = self._lock_date()
        if lock is not None and draft.date <= lock:
            raise locked(subject, draft.date, lock)
        for index, allocation in enumerate(draft.allocations):
            state = self._document(DocumentType.INVOICE, allocation.document_ref.strip())
            if state is None:
                raise Rejected(
                    code="unknown_invoice",
                    field=f"allocations[{index}].document_ref",
                    reason=(
                        f"{subject.opening} pays FreeAgent invoice "
                        f"{allocation.document_ref}, which FreeAgent does not have."
                    ),
                    fix="Send the invoice first (or check it was not deleted in FreeAgent), "
                    "then send again.",
                )
            if allocation.amount > state.due:
                raise Rejected(
                    code="over_payment",
                    field=f"allocations[{index}].amount",
                    reason=(
                        f"{subject.opening} sets {money(allocation.amount)} against invoice "
                        f"{state.reference}, but FreeAgent shows only {money(state.due)} still "
                        "owed on it. Nothing was sent."
                    ),
                    fix=(
                        f"Check invoice {state.reference}'s payments in FreeAgent and in your "
                        "job system, correct the payment's amount, then send again."
                    ),
                )
        made: list[str] = []
        for index, allocation in enumerate(draft.allocations, start=1):
            body = wire.explanation_payload(draft, allocation, index, self.endpoints.api_url)
            try:
                made.append(self._post_created(subject, "bank_transaction_explanations", body))
            except ConnectorError as exc:
                if not made:
                    raise
                raise OutcomeUncertain(
                    f"{subject.opening} is partly in FreeAgent ({len(made)} of "
                    f"{len(draft.allocations)} receipts) and the rest did not go ({exc})."
                ) from exc
        return ",".join(made)


def _draft_step(draft: DocumentDraft) -> str:
    return f"{draft.type.value}:{draft.number.strip()}"


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()
