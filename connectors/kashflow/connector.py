"""The KashFlow connector: KashFlow's REST API v2 over httpx, insert-only.

- Sign-in: :mod:`connectors.kashflow.signin` (user name, password, memorable-word
  characters by position → a session token sent as ``Authorization: KfToken …``). A
  lapsed session stops the send with "sign in again"; ``AccountLocked`` is never
  retried.
- References: customers and suppliers by their ``Code``; Ledgerlink creates contacts
  with our account reference as the Code. Invoices by their whole-number ``Number``
  (our document number's trailing digits).
- No batch, no idempotency, no published rate limit: one record per request, paced
  conservatively (60 a minute), ``429``/``Retry-After`` honoured if KashFlow sends it;
  before any create the connector looks the record up by its number or Code (KashFlow
  would otherwise quietly give a clashing invoice the next free number).
- Lock date: the latest enabled bank-account transaction lock, applied to documents too.
- Everything KashFlow-shaped is in :mod:`connectors.kashflow.wire`.

Details, sources and what is UNVERIFIED: docs/packages/kashflow.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any, ClassVar

import httpx

from connectors.catalogue import KASHFLOW
from connectors.contract import (
    Company,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
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
from connectors.errors import ConnectorError, NeedsReconnecting, OutcomeUncertain, Rejected
from connectors.http import ApiClient, describe_status, make_client
from connectors.kashflow import updates, wire
from connectors.kashflow.endpoints import api_url
from connectors.kashflow.rejections import Subject, locked, rejection
from connectors.kashflow.signin import (
    AccountLocked,
    Challenge,
    KashFlowSignIn,
    SessionLapsed,
    locked_message,
)
from connectors.kept_lock import KeptLockDate
from connectors.limits import RateLimiter
from connectors.wording import money

Json = dict[str, Any]
Params = dict[str, str | int | bool]


class KashFlowApi(ApiClient):
    """:class:`~connectors.http.ApiClient` reading KashFlow's 401 bodies: a lapsed
    session and a locked account are different things to the user."""

    def _raise_for_common_status(
        self, method: str, url: str, response: httpx.Response, creates: bool
    ) -> None:
        if httpx.URL(url).path.endswith("/" + wire.SESSION_PATH) and response.status_code < 500:
            return  # the sign-in steps read their own refusals
        if response.status_code == 401:
            try:
                error = wire.error_of(response.json())
            except ValueError:
                error = wire.KashFlowError("", "")
            if error.error == "AccountLocked":
                raise AccountLocked(locked_message(error.text))
            raise SessionLapsed(
                "The KashFlow session has ended (KashFlow ends it after about an hour unused). "
                "Sign in again on the Connect page; nothing was lost, and the send carries on "
                "from where it stopped."
            )
        super()._raise_for_common_status(method, url, response, creates)


class KashFlowConnector(Connector):
    """One KashFlow account. ``clock`` and ``sleep`` are for tests."""

    info: ClassVar[PackageInfo] = KASHFLOW
    PAGE_SIZE: ClassVar[int] = 100

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(context)
        self.clock = clock
        self.api_url = api_url(context.settings)
        # KashFlow publishes no limit: the catalogue's conservative 60 a minute, on the
        # one limiter every cloud connection uses.
        self.rate_limiter = limiter or RateLimiter.for_package(
            KASHFLOW.rate_limit,
            package_name=KASHFLOW.name,
            scale=context.rate_scale,
            clock=time.monotonic if clock is time.time else clock,
            sleep=sleep,
        )
        self.http = KashFlowApi(
            make_client(transport=context.transport),
            package_name="KashFlow",
            max_concurrent=KASHFLOW.rate_limit.concurrent,
            limiter=self.rate_limiter,
        )
        self.signin = KashFlowSignIn(self.http, self.api_url, context.secrets, clock)
        self._lock = threading.Lock()
        self._once = CreateOnce()
        self._names: dict[ContactRole, dict[str, tuple[str, str]]] = {}
        self._kept_lock = KeptLockDate(self.clock)

    # ------------------------------------------------------------------ sign-in

    @property
    def username(self) -> str:
        """The KashFlow user name from the settings (blank when not set)."""
        return (self.context.settings.get("username") or "").strip()

    @property
    def signed_in(self) -> bool:
        """Whether a session token is in the keyring; it may still have expired."""
        return bool(self.signin.session_token)

    def start_sign_in(self, password: str = "", username: str = "") -> Challenge:
        """Step 1 for the Connect page (the remembered password when none is typed)."""
        return self.signin.start(username or self.username, password)

    def finish_sign_in(
        self, challenge: Challenge, characters: Mapping[int, str], remember_password: str | None
    ) -> Company:
        """Step 2, then the company reached."""
        self.signin.finish(challenge, characters, remember_password=remember_password)
        return self.connect()

    def sign_out(self) -> None:
        """Ends the KashFlow session and forgets it here, with any kept password."""
        self.signin.sign_out()

    # ------------------------------------------------------------------ HTTP

    def _call(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None
    ) -> tuple[httpx.Response, Any]:
        token = self.signin.session_token
        if not token:
            raise NeedsReconnecting(
                "Ledgerlink is not signed in to KashFlow. Sign in on the Connect page."
            )
        creates = method in ("POST", "PUT")
        url = path if path.startswith("http") else f"{self.api_url}/{path}"
        response = self.http.request(
            method,
            url,
            params=params,
            body=body,
            headers={"Authorization": wire.authorization(token)},
            creates=creates,
        )
        if not response.content:
            return response, None
        return response, self.http.read_json(response, creates=creates)

    def _get(self, path: str, params: Params | None = None) -> Any:
        response, data = self._call("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            said = wire.error_of(data).text or describe_status(response)
            raise ConnectorError(f"KashFlow would not answer {path} ({said}).")
        return data

    def _pages(self, path: str, params: Params | None = None) -> Iterator[Json]:
        page = 1
        while True:
            data = self._get(path, {**(params or {}), "page": page, "perpage": self.PAGE_SIZE})
            items = wire.data_of(data)
            yield from items
            # ``NextPageUrl`` alone says whether there is more (a page may be capped
            # below what was asked for).
            if not items or not wire.next_page(data):
                return
            page += 1

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        """KashFlow has one company per account; the session answers for it. (No company
        endpoint is documented: the user name stands for the account.)"""
        self._get(wire.NOMINALS, {"page": 1, "perpage": 1})
        name = self.context.settings.get("company_name") or f"KashFlow ({self.username})"
        return Company(id=self.username or "kashflow", name=name)

    def lock_dates(self) -> LockDates:
        """The latest transaction lock over KashFlow's bank accounts (the only lock KashFlow
        has), also kept briefly so sending does not re-read it for every record."""
        banks = list(self._pages(wire.BANK_ACCOUNTS))
        locks = [d for d in (wire.bank_lock(b) for b in banks) if d is not None]
        lock = max(locks) if locks else None
        self._kept_lock.keep(lock)
        return LockDates(period_lock=lock)

    def _lock_date(self) -> date | None:
        return self._kept_lock.current(self.lock_dates)

    def list_accounts(self) -> list[RemoteAccount]:
        """Nominal codes (archived ones left out) followed by the bank accounts, which
        payments need."""
        nominals = [wire.remote_account(n) for n in self._pages(wire.NOMINALS)]
        banks = [wire.bank_account(b) for b in self._pages(wire.BANK_ACCOUNTS)]
        return [n for n in nominals if n is not None] + banks

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The UK VAT levels: KashFlow has no tax-rate list to read, lines carry a rate."""
        return wire.tax_rates()

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Every customer (or supplier), page by page."""
        for record in self._pages(wire.CONTACTS[role]):
            yield wire.remote_contact(record, role)

    def get_contact(self, ref: str) -> RemoteContact | None:
        """The customer or supplier whose Code is ``ref`` (customers looked at first);
        ``None`` when neither has it or ``ref`` cannot be a Code."""
        found = self._contact_record(ref)
        return wire.remote_contact(*found) if found else None

    def _contact_record(self, ref: str) -> tuple[Json, ContactRole] | None:
        """The record whose Code is ``ref`` as typed (KashFlow's case rules are not
        published, so it is never changed), customers looked at first, and its role."""
        code = ref.strip()
        if not wire.is_code(code):
            return None
        for role in (ContactRole.CUSTOMER, ContactRole.SUPPLIER):
            record = self._get(f"{wire.CONTACTS[role]}/{code}")
            if isinstance(record, dict):
                return record, role
        return None

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a customer's or supplier's details, never its name or Code
        (``PUT /v2/customers/{code}``, see :mod:`connectors.kashflow.updates`); an
        archived record is refused."""
        return updates.update_contact(self, ref, update)

    def _invoice(self, number: str) -> wire.InvoiceState | None:
        if not number.isdigit():
            return None
        record = self._get(f"{wire.INVOICES}/{number}")
        return wire.invoice_state(record) if isinstance(record, dict) else None

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """Our document numbers already in KashFlow (KashFlow's own number where an invoice
        carries none of ours). Invoices and credit notes share one list, so ``doc_type`` is
        not used."""
        states = (wire.invoice_state(r) for r in self._pages(wire.INVOICES))
        return {s.our_number or s.number for s in states}

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by Code; invoices and credit notes by number (and our number written
        on them); payments by the note on their payment lines."""
        key = our_key.strip()
        if not key:
            return None
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            if not wire.is_code(key):
                return None
            role = ContactRole(record_type.value)
            record = self._get(f"{wire.CONTACTS[role]}/{key}")
            return wire.text(record, "Code") if isinstance(record, dict) else None
        if record_type in (RemoteRecordType.INVOICE, RemoteRecordType.CREDIT_NOTE):
            number = wire.invoice_number(key)
            state = self._invoice(str(number)) if number else None
            if state is not None and state.our_number == key:
                return state.number
            return None
        return self._find_payment(key)

    def _find_payment(self, key: str) -> str | None:
        parts: dict[int, str] = {}
        expected = 0
        for summary in self._pages(wire.INVOICES):
            if wire.money(summary.get("TotalPaidAmount")) <= 0:
                continue
            invoice = wire.text(summary, "Number")
            for line in wire.payment_lines(self._get(wire.payments_path(invoice))):
                ref, index, count = wire.parse_part(wire.text(line, "Note"))
                if ref == key:
                    parts[index] = wire.text(line, "Id")
                    expected = count
        if not parts:
            return None
        if len(parts) < expected:
            raise Rejected(
                code="payment_partly_recorded",
                field="allocations",
                reason=(
                    f"Payment {key} is only partly in KashFlow: {len(parts)} of its "
                    f"{expected} payment lines were recorded before the send was interrupted."
                ),
                fix=(
                    f"In KashFlow, record the missing lines of payment {key} by hand, then "
                    "mark the payment as entered manually."
                ),
            )
        return ",".join(parts[i] for i in sorted(parts))

    # ------------------------------------------------------------------ creating

    def _remembered(
        self,
        record_type: RemoteRecordType,
        our_key: str,
        draft: Draft,
        key: str,
        send: Callable[[], str],
    ) -> str:
        """Create once per key (see :mod:`connectors.create_once`)."""
        return self._once.create(key, draft, send, lambda: self.find_existing(record_type, our_key))

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """Adds a customer or supplier with our account reference as its Code, refusing first
        when that Code is taken or cannot be a Code; a repeat with the same key returns the
        first answer."""

        def send() -> str:
            subject = Subject(draft)
            code = draft.our_ref.strip()
            if not wire.is_code(code):
                raise Rejected(
                    code="bad_code",
                    field="account_ref",
                    reason=(
                        f"{subject.opening}: KashFlow would use our account reference "
                        f'"{code}" as its Code, but a Code is letters, digits, - and _ only '
                        "(at most 20)."
                    ),
                    fix="Give the contact an account reference of that form in your job "
                    "system, then send again.",
                )
            existing = self._get(f"{wire.CONTACTS[draft.role]}/{code}")
            if isinstance(existing, dict):
                raise Rejected(
                    code="duplicate_reference",
                    field="account_ref",
                    reason=(
                        f"Cannot add {subject.label}: KashFlow already has a {draft.role.value} "
                        f'with the Code {code} ("{wire.text(existing, "Name")}").'
                    ),
                    fix=(
                        f"If it is the same business, link our {draft.role.value} to KashFlow "
                        f"Code {code} instead of sending it; if not, change one of the codes."
                    ),
                )
            self._refuse_namesake(draft)
            response, data = self._call(
                "POST", wire.CONTACTS[draft.role], body=wire.contact_payload(draft)
            )
            if response.status_code not in (200, 201):
                raise self._refused(subject, response, data)
            made = wire.text(data, "Code") if isinstance(data, dict) else ""
            with self._lock:
                self._names.setdefault(draft.role, {})[_fold(draft.name)] = (
                    made or code,
                    draft.name.strip(),
                )
            return made or code

        return self._remembered(
            RemoteRecordType(draft.role.value), draft.our_ref, draft, idempotency_key, send
        )

    def _refuse_namesake(self, draft: ContactDraft) -> None:
        with self._lock:
            names = self._names.get(draft.role)
        if names is None:
            names = {}
            for record in self._pages(wire.CONTACTS[draft.role]):
                name = wire.text(record, "Name")
                names.setdefault(_fold(name), (wire.text(record, "Code"), name))
            with self._lock:
                names = self._names.setdefault(draft.role, names)
        existing = names.get(_fold(draft.name))
        if existing is None:
            return
        subject = Subject(draft)
        code, name = existing
        raise Rejected(
            code="duplicate_name",
            field="name",
            reason=(
                f'Cannot add {subject.label}: KashFlow already has a {draft.role.value} named "'
                f'{name}" (Code {code}). Ledgerlink does not make a second one of the same '
                "name, which could not be told apart from the first."
            ),
            fix=(
                f"If it is the same business, link our {draft.role.value} to KashFlow Code "
                f"{code} instead of sending it. If not, make the names different in your job "
                "system and send again."
            ),
        )

    def _refused(self, subject: Subject, response: httpx.Response, data: Any) -> ConnectorError:
        if response.status_code in (400, 404, 409, 422):
            lock = self._kept_lock.last()
            return rejection(subject, wire.error_of(data), lock)
        return ConnectorError(
            f"KashFlow did not accept {subject.label} ({describe_status(response)}); nothing "
            "was saved."
        )

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """Adds an invoice (a credit note as an invoice with negative quantities) numbered by
        our number's trailing digits; a repeat with the same key returns the first answer."""

        def send() -> str:
            return self._send_document(draft)

        record_type = RemoteRecordType(draft.type.value)
        return self._remembered(record_type, draft.number, draft, idempotency_key, send)

    def _send_document(self, draft: DocumentDraft) -> str:
        subject = Subject(draft)
        number = wire.invoice_number(draft.number)
        if number is None:
            raise Rejected(
                code="bad_number",
                field="number",
                reason=(
                    f"{subject.opening}: KashFlow numbers invoices with whole numbers, and "
                    f'"{draft.number.strip()}" ends in none.'
                ),
                fix="Number the document with digits at the end (for example INV-1001) in "
                "your job system, then send again.",
            )
        lock = self._lock_date()
        if lock is not None and draft.date <= lock:
            raise locked(subject, draft.date, lock)
        existing = self._invoice(str(number))
        if existing is not None:
            raise Rejected(
                code="duplicate_number",
                field="number",
                reason=(
                    f"KashFlow already has invoice number {number}"
                    + (f" (our {existing.our_number})" if existing.our_number else "")
                    + f", so {subject.label} was not sent: KashFlow keeps numbers unique."
                ),
                fix=(
                    f"If it is this {subject.word}, it is already in KashFlow: mark it as "
                    "entered manually. If not, give it a number whose digits are not used yet."
                ),
            )
        response, data = self._call(
            "POST", wire.INVOICES, body=wire.document_payload(draft, number)
        )
        if response.status_code not in (200, 201):
            raise self._refused(subject, response, data)
        made = wire.text(data, "Number") if isinstance(data, dict) else ""
        if not made:
            raise OutcomeUncertain(
                f"KashFlow answered without the new invoice's number, so {subject.label} may "
                "or may not have been saved."
            )
        return made

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """Records one payment line per invoice paid, after checking the lock and that each
        invoice owes enough; returns the line ids joined with commas."""

        def send() -> str:
            return self._send_payment(draft)

        return self._remembered(
            RemoteRecordType.PAYMENT, draft.reference, draft, idempotency_key, send
        )

    def _send_payment(self, draft: PaymentDraft) -> str:
        subject = Subject(draft)
        if not draft.allocations:
            raise Rejected(
                code="unallocated_payment",
                field="allocations",
                reason=f"{subject.opening} is not set against any invoice; KashFlow records a "
                "customer's payment on the invoice it pays.",
                fix="Set the payment against its invoice in your job system, then send again.",
            )
        lock = self._lock_date()
        if lock is not None and draft.date <= lock:
            raise locked(subject, draft.date, lock)
        for index, allocation in enumerate(draft.allocations):
            state = self._invoice(allocation.document_ref.strip())
            if state is None:
                raise Rejected(
                    code="unknown_invoice",
                    field=f"allocations[{index}].document_ref",
                    reason=f"{subject.opening} pays KashFlow invoice {allocation.document_ref}, "
                    "which KashFlow does not have.",
                    fix="Send the invoice first, then send again.",
                )
            if allocation.amount > state.outstanding:
                shown = state.our_number or state.number
                raise Rejected(
                    code="over_payment",
                    field=f"allocations[{index}].amount",
                    reason=(
                        f"{subject.opening} sets {money(allocation.amount)} against invoice "
                        f"{shown}, but KashFlow shows only {money(state.outstanding)} still "
                        "owed on it. Nothing was sent."
                    ),
                    fix=f"Check invoice {shown}'s payments, correct the amount, then send again.",
                )
        made: list[str] = []
        for index, allocation in enumerate(draft.allocations, start=1):
            path = wire.payments_path(allocation.document_ref.strip())
            try:
                response, data = self._call(
                    "POST", path, body=wire.payment_payload(draft, allocation, index)
                )
            except ConnectorError as exc:
                if not made:
                    raise
                raise OutcomeUncertain(
                    f"{subject.opening} is partly in KashFlow ({len(made)} of "
                    f"{len(draft.allocations)} lines) and the rest did not go ({exc})."
                ) from exc
            if response.status_code not in (200, 201):
                refused = self._refused(subject, response, data)
                if not made:
                    raise refused
                raise OutcomeUncertain(f"{subject.opening} is partly in KashFlow: {refused}")
            line_id = wire.text(data, "Id") if isinstance(data, dict) else ""
            if not line_id:
                raise OutcomeUncertain(
                    f"KashFlow answered without the payment line's id, so {subject.label} may "
                    "or may not have been saved."
                )
            made.append(line_id)
        return ",".join(made)

    def close(self) -> None:
        """Closes the HTTP client."""
        self.http.close()


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()
