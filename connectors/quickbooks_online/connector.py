"""The QuickBooks Online connector: Intuit's Accounting API v3 over httpx, insert-only.

- Sign-in: OAuth 2.0 with Ledgerlink's client secret; the browser comes back to an https
  relay page and the user pastes its address (:mod:`connectors.quickbooks_online.signin`).
  The company is the ``realmId`` of that answer, kept as the ``tenant_id`` setting.
- Reading: the query endpoint, a page of 1,000 at a time, for accounts, items, VAT codes,
  customers and suppliers; ``minorversion=75`` on every call.
- Creating: one record per ``POST /<entity>``, or up to 30 per ``POST /batch`` where each
  operation gets its own result (a fault refuses that record only). Every create carries
  a ``requestid`` derived from the records' own keys and content: a resend of the same
  records replays QuickBooks' first answer, never a second write.
- Limits: ten requests in flight; 500 operations (each operation in a batch counts) and
  40 batch requests a minute, kept by the connection's
  :class:`~connectors.limits.RateLimiter` (Intuit developer blog, 2016 and 2023); a 429
  becomes :class:`~connectors.errors.RateLimited`.
- Sales lines post through items, so our sales accounts map to items (``item:<Id>``,
  see :mod:`~connectors.quickbooks_online.wire`).

Details and sources: docs/packages/quickbooks-online.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import httpx

from connectors.catalogue import QUICKBOOKS_ONLINE
from connectors.cloud import CloudConnector, Indexed
from connectors.contract import (
    AccountType,
    BatchItem,
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
    RateScale,
    RemoteAccount,
    RemoteContact,
    RemoteItem,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.display_names import read_display_names
from connectors.errors import (
    ConnectorError,
    NeedsReconnecting,
    OutcomeUncertain,
    Rejected,
)
from connectors.http import describe_status, dumps_json
from connectors.limits import MINUTE, RateLimiter, Window
from connectors.oauth import AuthorizationResponse, OAuthProvider, OAuthSession, SignInError
from connectors.quickbooks_online import query, updates, wire
from connectors.quickbooks_online.endpoints import (
    MINOR_VERSION,
    QboEndpoints,
    qbo_provider,
    relay_redirect_uri,
)
from connectors.quickbooks_online.rejections import (
    InvoiceSummary,
    NameHolder,
    Subject,
    local_refusal,
    rejection,
)
from connectors.quickbooks_online.signin import PastedAddressSession

log = logging.getLogger(__name__)

Json = dict[str, Any]
Result = str | Rejected
#: What QuickBooks answered for one operation: the record it made, or its faults.
Outcome = Json | list[wire.QboError]

#: Batch operations per request (Intuit's 2023 guidance; python-quickbooks uses 30 too).
BATCH_SIZE = 30
#: The limiter window counting batch requests (40 a minute), beside the 500 operations.
BATCHES = "batches"
BATCHES_PER_MINUTE = 40
_NAME_LISTS: tuple[tuple[str, str], ...] = (
    ("Customer", "customer"),
    ("Vendor", "supplier"),
    ("Employee", "employee"),
)


#: A product or service, with the income account its sales post to (the contract's
#: :class:`~connectors.contract.RemoteItem`; ``remote_id`` is ``item:<Id>``).
QboItem = RemoteItem


@dataclass(frozen=True)
class _Op:
    """One create operation: which of the caller's items it serves, and what it sends."""

    index: int
    entity: str
    payload: Json
    key: str
    subject: Subject


class QuickBooksOnlineConnector(CloudConnector):
    """One QuickBooks Online company. ``clock`` (seconds since the epoch) and ``sleep``
    are for tests on virtual time."""

    info: ClassVar[PackageInfo] = QUICKBOOKS_ONLINE
    TENANT_WORD: ClassVar[str] = "company"
    NEEDS_CLIENT_SECRET: ClassVar[bool] = True
    FORBIDDEN_MESSAGE: ClassVar[str] = (
        "QuickBooks refused access to the company (403): the app may have been "
        "disconnected, or your QuickBooks user lacks a permission Ledgerlink needs. "
        "Sign in again on the Connect page."
    )

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.endpoints = QboEndpoints.from_settings(context.settings)
        super().__init__(context, clock=clock, sleep=sleep, limiter=limiter)
        self.display_names = read_display_names(context.settings)
        self._tax_codes: dict[str, wire.TaxCode] | None = None

    def make_provider(self, settings: Mapping[str, str]) -> OAuthProvider:
        """Intuit's sign-in endpoints (the settings add nothing here)."""
        return qbo_provider(self.endpoints)

    def make_session(self) -> OAuthSession:
        """A sign-in whose answer is pasted back: Intuit only redirects to Ledgerlink's web page."""
        settings = self.context.settings
        return PastedAddressSession(
            self.provider, self._credentials, self.tokens, lambda: relay_redirect_uri(settings)
        )

    def api_url(self, tenant_id: str) -> str:
        """The company's own base address: QuickBooks puts the realm in the path."""
        return self.endpoints.company_url(tenant_id)

    def extra_windows(self, scale: RateScale) -> list[Window]:
        """QuickBooks also limits ``/batch`` calls per minute, on top of the usual windows."""
        return [Window(BATCHES, *scale.window(BATCHES_PER_MINUTE, 60.0))]

    @property
    def package_name(self) -> str:
        """What messages and the Connect page call the package."""
        return "QuickBooks Online"

    # ------------------------------------------------------------------ sign-in

    def accept_answer(self, answer: AuthorizationResponse) -> None:
        """The company the user chose on Intuit's page comes back as ``realmId``."""
        realm = str(answer.params.get("realmId") or "").strip()
        if not realm.isdigit():
            raise SignInError(
                "QuickBooks' answer does not say which company you chose (no realmId in the "
                "address). Start the sign-in again and pick the company on Intuit's page."
            )
        self.choose_tenant(realm)

    def list_organisations(self) -> list[Company]:
        """The one company this sign-in reaches (QuickBooks signs in per company)."""
        return [self.connect()]

    @property
    def tenant_id(self) -> str:
        """The company chosen on Intuit's page (QuickBooks signs in per company, so
        there is nothing to pick from here)."""
        with self._lock:
            realm = self._tenant
        if not realm:
            raise NeedsReconnecting(
                "Ledgerlink does not know which QuickBooks company to send to. Sign in again "
                "on the Connect page and choose the company."
            )
        return realm

    @property
    def realm_id(self) -> str:
        """The QuickBooks company id (Intuit's name for the tenant id)."""
        return self.tenant_id

    # ------------------------------------------------------------------ HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        request_id: str = "",
        operations: int = 1,
        batch: bool = False,
    ) -> tuple[httpx.Response, Any]:
        """One call, paced by operations and batches; the status and the JSON answer."""
        creates = method == "POST"
        query_params: dict[str, str | int | bool] = {"minorversion": MINOR_VERSION}
        query_params.update(params or {})
        if request_id:
            query_params["requestid"] = request_id
        response = self.request(
            method,
            path,
            params=query_params,
            body=body,
            creates=creates,
            costs={MINUTE: operations, BATCHES: 1 if batch else 0},
        )
        return response, self.http.read_json(response, creates=creates)

    def _read(self, path: str, params: Mapping[str, str | int | bool] | None = None) -> Json:
        response, data = self._request("GET", path, params=params)
        if response.status_code != 200 or not isinstance(data, dict):
            errors = wire.errors_of(data)
            said = "; ".join(e.text for e in errors) or describe_status(response)
            raise ConnectorError(f"QuickBooks would not answer {path.split('?')[0]} ({said}).")
        return data

    def _query(self, statement: str, entity: str) -> list[Json]:
        data = self._read("query", {"query": statement})
        found = (data.get("QueryResponse") or {}).get(entity) or []
        return [record for record in found if isinstance(record, dict)]

    def _pages(self, entity: str, *conditions: str) -> Iterator[Json]:
        def fetch(page: int) -> tuple[list[Json], bool]:
            start = 1 + (page - 1) * query.MAX_RESULTS
            found = self._query(query.select(entity, *conditions, start=start), entity)
            return found, len(found) >= query.MAX_RESULTS

        return self.paged(fetch)

    def _first(self, entity: str, *conditions: str) -> Json | None:
        found = self._query(query.select(entity, *conditions, max_results=1), entity)
        return found[0] if found else None

    # ------------------------------------------------------------------ reading

    def connect(self) -> Company:
        """The company's name from ``CompanyInfo``, falling back to its legal name."""
        info = self._read(f"companyinfo/{self.realm_id}").get("CompanyInfo") or {}
        name = str(info.get("CompanyName") or info.get("LegalName") or "").strip()
        return Company(id=self.realm_id, name=name or f"QuickBooks company {self.realm_id}")

    def book_close_date(self) -> date | None:
        """The company's closing date (Settings › Advanced › Accounting), if set."""
        preferences = self._read("preferences").get("Preferences") or {}
        accounting = preferences.get("AccountingInfoPrefs") or {}
        return wire.parse_date(accounting.get("BookCloseDate"))

    def lock_dates(self) -> LockDates:
        """The closing date, as the period lock (QuickBooks has no separate year-end lock)."""
        return LockDates(period_lock=self.book_close_date())

    def _accounts(self) -> list[Json]:
        return list(self._pages("Account", "Active = true"))

    def list_accounts(self) -> list[RemoteAccount]:
        """Items that post to an income account (as ``SALES``, ``item:<Id>``), then the
        accounts themselves (bank, expense, and the rest as ``OTHER``)."""
        accounts = self._accounts()
        by_id = {wire.text(a, "Id"): a for a in accounts if wire.is_income(a)}
        items = [wire.item_account(item, by_id) for item in self._pages("Item", "Active = true")]
        return [i for i in items if i is not None] + [wire.remote_account(a) for a in accounts]

    def list_items(self) -> list[RemoteItem]:
        """Active products and services that post sales to an income account."""
        accounts = {wire.text(a, "Id"): a for a in self._accounts() if wire.is_income(a)}
        found: list[RemoteItem] = []
        for item in self._pages("Item", "Active = true"):
            income = accounts.get(wire.ref_value(item, "IncomeAccountRef"))
            if income is None or wire.text(item, "Type") not in wire.ITEM_TYPES:
                continue
            found.append(_item(item, income))
        return found

    def list_income_accounts(self) -> list[RemoteAccount]:
        """Active income accounts: what an item's sales can post to."""
        return [
            RemoteAccount(
                id=wire.text(a, "Id"),
                code=wire.text(a, "AcctNum"),
                name=wire.text(a, "Name"),
                type=AccountType.SALES,
            )
            for a in self._accounts()
            if wire.is_income(a)
        ]

    def _tax_code_map(self) -> dict[str, wire.TaxCode]:
        with self._lock:
            known = self._tax_codes
        if known is None:
            rates = {wire.text(r, "Id"): r for r in self._pages("TaxRate")}
            codes = wire.sales_tax_codes(list(self._pages("TaxCode")), rates)
            known = {code.id: code for code in codes}
            with self._lock:
                self._tax_codes = known
        return known

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The sales VAT codes, read afresh (the cached map is dropped first)."""
        with self._lock:
            self._tax_codes = None
        return [wire.remote_tax_rate(code) for code in self._tax_code_map().values()]

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """Active customers or vendors, a page at a time."""
        for record in self._pages(wire.ENTITY[role], "Active = true"):
            yield wire.remote_contact(record, role)

    def get_contact(self, ref: str) -> RemoteContact | None:
        """A customer or supplier by Id (QuickBooks numbers both from one list)."""
        found = self._contact_record(ref)
        return wire.remote_contact(*found) if found else None

    def _contact_record(
        self, ref: str, *, inactive_too: bool = False
    ) -> tuple[Json, ContactRole] | None:
        """The active customer (looked at first) or supplier whose Id is ``ref``, and its
        role; an inactive one too when ``inactive_too``."""
        wanted = ref.strip()
        if not wanted.isdigit():
            return None
        also = ("Active in (true, false)",) if inactive_too else ()
        for role in ContactRole:
            record = self._first(wire.ENTITY[role], query.equals("Id", wanted), *also)
            if record is not None:
                return record, role
        return None

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a customer's or supplier's details, never its name: a sparse update
        with the record's current ``SyncToken`` (see :mod:`connectors.quickbooks_online.
        updates`); an inactive record, or one changed meanwhile (5010), is refused."""
        wanted = ref.strip()
        # An inactive record is found too, to be refused with that reason.
        found = self._contact_record(wanted, inactive_too=True)
        if found is None:
            raise updates.unknown_contact(wanted)
        record, role = found
        if record.get("Active") is False:
            raise updates.inactive_contact(record, role)
        entity = wire.ENTITY[role]
        body = updates.sparse_payload(record, update)
        response, data = self._request(
            "POST",
            entity.lower(),
            body=body,
            request_id=request_id([f"update.{wanted}"], body, 48),
        )
        if response.status_code == 200 and isinstance(data, dict):
            saved = data.get(entity)
            if isinstance(saved, dict):
                return wire.remote_contact(saved, role)
        if response.status_code == 400:
            raise updates.refused(record, role, wire.errors_of(data))
        raise ConnectorError(
            f"QuickBooks did not confirm the new details of {updates.label(record, role)} "
            f"({describe_status(response)}); look at it in QuickBooks and sync again."
        )

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Active contacts of ``role`` whose display name is exactly ``name``."""
        wanted = name.strip()
        if not wanted:
            return []
        entity = wire.ENTITY[role]
        return [
            wire.remote_contact(record, role)
            for record in self._pages(entity, query.equals("DisplayName", wanted))
            if wire.text(record, "DisplayName") == wanted
        ]

    def name_holders(self, name: str) -> list[NameHolder]:
        """Every customer, supplier and employee (active or not) using ``name`` as its
        display name, capitals aside, as QuickBooks compares them."""
        wanted = name.strip()
        holders: list[NameHolder] = []
        for entity, kind in _NAME_LISTS:
            for record in self._pages(
                entity, query.equals("DisplayName", wanted), "Active in (true, false)"
            ):
                if wire.text(record, "DisplayName").casefold() == wanted.casefold():
                    holders.append(
                        NameHolder(kind, wire.text(record, "Id"), wire.text(record, "DisplayName"))
                    )
        return holders

    def invoice_summary(self, invoice_id: str) -> InvoiceSummary | None:
        """What QuickBooks holds for the invoice, or ``None`` if it has none."""
        return self._invoice_summaries([invoice_id]).get(invoice_id)

    def _invoice_summaries(self, invoice_ids: Iterable[str]) -> dict[str, InvoiceSummary]:
        wanted = sorted({i for i in invoice_ids if i.isdigit()})
        if not wanted:
            return {}
        return {
            wire.text(record, "Id"): InvoiceSummary(
                id=wire.text(record, "Id"),
                number=wire.text(record, "DocNumber"),
                total=wire.money(record.get("TotalAmt")),
                balance=wire.money(record.get("Balance")),
            )
            for record in self._pages("Invoice", query.one_of("Id", wanted))
        }

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """Every ``DocNumber`` already used on invoices or credit memos."""
        return {
            wire.text(record, "DocNumber")
            for record in self._pages(wire.DOCUMENT_ENTITY[doc_type])
            if wire.text(record, "DocNumber")
        }

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by the account reference Ledgerlink wrote in their notes (inactive
        ones too), invoices and credit memos by number, payments by reference. A credit
        memo whose setting-against an invoice was interrupted is finished here first."""
        key = our_key.strip()
        if not key:
            return None
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            entity = wire.ENTITY[ContactRole(record_type.value)]
            for record in self._pages(entity, "Active in (true, false)"):
                if wire.our_ref_of(record) == key:
                    return wire.text(record, "Id")
            return None
        if record_type is RemoteRecordType.INVOICE:
            invoice = self._first("Invoice", query.equals("DocNumber", key))
            return wire.text(invoice, "Id") if invoice else None
        if record_type is RemoteRecordType.CREDIT_NOTE:
            memo = self._first("CreditMemo", query.equals("DocNumber", key))
            if memo is None:
                return None
            self._finish_application(memo)
            return wire.text(memo, "Id")
        # PaymentRefNum cannot be queried, so payments are read and compared here.
        for payment in self._pages("Payment"):
            if wire.text(payment, "PaymentRefNum") == key and not wire.is_application(payment):
                return wire.text(payment, "Id")
        return None

    # ------------------------------------------------------------------ items

    def create_item(self, name: str, income_account_id: str, idempotency_key: str) -> RemoteItem:
        """Add a service item whose sales post to ``income_account_id``. The caller must
        have the user's consent (:mod:`app.services.setup.qbo_items` asks for it)."""
        cleaned = " ".join(name.split())
        account = next(
            (a for a in self._accounts() if wire.text(a, "Id") == income_account_id.strip()),
            None,
        )
        if account is None or not wire.is_income(account):
            raise Rejected(
                code="unknown_account",
                field="income_account",
                reason=(
                    f'QuickBooks has no active income account with id "{income_account_id}" '
                    f'for the new product or service "{cleaned}".'
                ),
                fix="Choose one of the income accounts QuickBooks lists, then try again.",
            )
        if not cleaned or ":" in cleaned:
            raise Rejected(
                code="invalid_name",
                field="name",
                reason=(
                    f'"{cleaned}" cannot name a QuickBooks product or service: it must not be '
                    "empty or contain a colon (:)."
                ),
                fix="Type another name for it, then try again.",
            )
        body = {
            "Name": cleaned,
            "Type": "Service",
            "IncomeAccountRef": wire.ref(income_account_id.strip()),
        }
        response, data = self._request(
            "POST", "item", body=body, request_id=request_id([idempotency_key], body, 48)
        )
        item = data.get("Item") if isinstance(data, dict) else None
        if response.status_code == 200 and isinstance(item, dict):
            return _item(item, account)
        errors = wire.errors_of(data)
        if any("duplicate name" in e.text.lower() for e in errors):
            raise Rejected(
                code="duplicate_name",
                field="name",
                reason=f'QuickBooks already has a product or service named "{cleaned}".',
                fix="Choose that one from the list instead, or type another name.",
            )
        said = "; ".join(e.text for e in errors) or describe_status(response)
        raise Rejected(
            code="quickbooks_refused",
            field="name",
            reason=f'QuickBooks refused the new product or service "{cleaned}": {said}',
            fix="Correct what QuickBooks names, then try again.",
        )

    # ------------------------------------------------------------------ creating

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """One contact, sent on its own rather than through ``/batch``."""
        return _only(self._create([BatchItem(draft, idempotency_key)], batch=False))

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """One document, sent on its own rather than through ``/batch``."""
        return _only(self._create([BatchItem(draft, idempotency_key)], batch=False))

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        """One payment, sent on its own rather than through ``/batch``."""
        return _only(self._create([BatchItem(draft, idempotency_key)], batch=False))

    def create_chunk(self, kind: str, chunk: list[Indexed]) -> list[tuple[int, CreateResult]]:
        """Up to 30 records of one kind through ``/batch``, each with its own result."""
        return list(self._create_kind(kind, chunk, True))

    def _create(self, items: Sequence[BatchItem], *, batch: bool) -> list[Result]:
        results: list[Result | None] = [None] * len(items)
        by_kind: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            by_kind.setdefault(_kind(item.draft), []).append(index)
        for kind, indices in by_kind.items():
            for start in range(0, len(indices), BATCH_SIZE):
                chunk = [(i, items[i]) for i in indices[start : start + BATCH_SIZE]]
                for index, result in self._create_kind(kind, chunk, batch):
                    results[index] = result
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def _create_kind(
        self, kind: str, chunk: list[tuple[int, BatchItem]], batch: bool
    ) -> list[tuple[int, Result]]:
        if kind == "credit_note":
            return self._create_credit_notes(chunk, batch)
        build = {
            "contact": self._contact_op,
            "invoice": self._document_op,
            "payment": self._payment_op,
        }[kind]
        refused, ops = _build(chunk, build)
        return refused + self._results(ops, self._submit(ops, batch))

    def _results(self, ops: list[_Op], outcomes: list[Outcome]) -> list[tuple[int, Result]]:
        results: list[tuple[int, Result]] = []
        for op, outcome in zip(ops, outcomes, strict=True):
            if isinstance(outcome, dict):
                results.append((op.index, wire.text(outcome, "Id")))
            else:
                results.append((op.index, rejection(op.subject, outcome, self)))
        return results

    # Building: each returns the operation, or raises Rejected for a record that cannot
    # be sent as it stands (nothing is sent for it).

    def display_name(self, draft: ContactDraft) -> str:
        """The name QuickBooks will show for ``draft``: the second display name the user
        chose for it (:mod:`~connectors.display_names`), else its own name."""
        chosen = self.display_names.get((draft.role, draft.our_ref.strip()))
        return chosen or " ".join(draft.name.split())

    def _contact_op(self, index: int, item: BatchItem) -> _Op:
        draft = item.draft
        assert isinstance(draft, ContactDraft)
        display = self.display_name(draft)
        subject = Subject(draft, display)
        if not display:
            raise local_refusal(
                subject,
                "missing_name",
                "name",
                "has no name, and QuickBooks needs one for every customer and supplier.",
                f"Type the {subject.word}'s name in your job system, then send it again.",
            )
        if ":" in display:
            raise local_refusal(
                subject,
                "invalid_name",
                "name",
                f'is named "{display}", and QuickBooks does not allow a colon (:) in names.',
                f"Take the colon out of the {subject.word}'s name in your job system (or choose "
                "a QuickBooks display name without one), then send it again.",
            )
        payload = wire.contact_payload(draft, display)
        return _Op(index, wire.ENTITY[draft.role], payload, item.idempotency_key, subject)

    def _document_op(self, index: int, item: BatchItem, private_note: str = "") -> _Op:
        draft = item.draft
        assert isinstance(draft, DocumentDraft)
        subject = Subject(draft)
        number = draft.number.strip()
        if not number or len(number) > wire.DOC_NUMBER_MAX:
            raise local_refusal(
                subject,
                "invalid_number",
                "number",
                f"has a number {len(number)} characters long; QuickBooks takes 1 to "
                f"{wire.DOC_NUMBER_MAX}.",
                f"Give the {subject.word} a number of at most {wire.DOC_NUMBER_MAX} characters "
                "in your job system, then send it again.",
            )
        codes = self._tax_code_map()

        def item_for(line: int, account_id: str) -> str:
            found = wire.item_id_of(account_id)
            if found is None:
                raise local_refusal(
                    subject,
                    "unknown_account",
                    f"lines[{line}].nominal_account",
                    f"has line {line + 1} mapped to QuickBooks account {account_id}, but "
                    "QuickBooks posts sales through products and services, not accounts.",
                    "Open Nominal accounts in Ledgerlink and choose a QuickBooks product or "
                    "service for each sales account (Ledgerlink can add one for the income "
                    "account you want), then send again.",
                )
            return found

        def tax_for(line: int, tax_id: str) -> wire.TaxCode:
            code = codes.get(tax_id)
            if code is None:
                raise local_refusal(
                    subject,
                    "unknown_tax_rate",
                    f"lines[{line}].vat_rate",
                    f"has line {line + 1} at a VAT code (QuickBooks id {tax_id}) that "
                    "QuickBooks no longer offers for sales.",
                    "Check the VAT codes in QuickBooks (Taxes › VAT), then send again.",
                )
            return code

        payload = wire.document_payload(draft, item_for, tax_for, private_note=private_note)
        entity = wire.DOCUMENT_ENTITY[draft.type]
        return _Op(index, entity, payload, item.idempotency_key, subject)

    def _payment_op(self, index: int, item: BatchItem) -> _Op:
        draft = item.draft
        assert isinstance(draft, PaymentDraft)
        subject = Subject(draft)
        reference = draft.reference.strip()
        if len(reference) > wire.PAYMENT_REF_MAX:
            raise local_refusal(
                subject,
                "invalid_reference",
                "reference",
                f"has a reference {len(reference)} characters long; QuickBooks keeps at most "
                f"{wire.PAYMENT_REF_MAX}.",
                "Shorten the payment's reference in your job system, then send it again.",
            )
        payload = wire.payment_payload(draft)
        return _Op(index, "Payment", payload, item.idempotency_key, subject)

    # ------------------------------------------------------------------ sending

    def _submit(self, ops: list[_Op], batch: bool) -> list[Outcome]:
        """Send operations (one each, or together through ``/batch``); QuickBooks'
        answer for each, in order."""
        if not ops:
            return []
        if not batch:
            return [self._submit_one(op) for op in ops]
        requests = [
            {"bId": str(n), "operation": "create", op.entity: op.payload}
            for n, op in enumerate(ops)
        ]
        body = {"BatchItemRequest": requests}
        response, data = self._request(
            "POST",
            "batch",
            body=body,
            request_id=request_id([op.key for op in ops], body, 36),
            operations=len(ops),
            batch=True,
        )
        if response.status_code == 200 and isinstance(data, dict):
            answers = {
                str(answer.get("bId")): answer
                for answer in data.get("BatchItemResponse") or []
                if isinstance(answer, dict)
            }
            outcomes: list[Outcome] = []
            for n, op in enumerate(ops):
                answer = answers.get(str(n))
                if answer is None:
                    raise OutcomeUncertain(
                        f"QuickBooks' answer to a batch of {len(ops)} did not include every "
                        "record sent, so some may or may not have been saved."
                    )
                outcomes.append(_outcome(answer, op.entity))
            return outcomes
        return self._refused_whole(response, data, len(ops))

    def _submit_one(self, op: _Op) -> Outcome:
        response, data = self._request(
            "POST",
            op.entity.lower(),
            body=op.payload,
            request_id=request_id([op.key], op.payload, 48),
        )
        if response.status_code == 200 and isinstance(data, dict):
            created = data.get(op.entity)
            if isinstance(created, dict) and wire.text(created, "Id"):
                return created
            raise OutcomeUncertain(
                f"QuickBooks answered without the new {op.entity}, so it may or may not have "
                "been saved."
            )
        (outcome,) = self._refused_whole(response, data, 1)
        return outcome

    @staticmethod
    def _refused_whole(response: httpx.Response, data: Any, count: int) -> list[Outcome]:
        """A 400 refuses every operation of the request; anything else is not ours to read."""
        if response.status_code == 400:
            errors = wire.errors_of(data) or [
                wire.QboError("", f"QuickBooks answered {describe_status(response)}.")
            ]
            return [list(errors) for _ in range(count)]
        raise ConnectorError(
            f"QuickBooks did not accept the request ({describe_status(response)}); nothing "
            "was saved."
        )

    # ------------------------------------------------------------------ credit notes

    def _create_credit_notes(
        self, chunk: list[tuple[int, BatchItem]], batch: bool
    ) -> list[tuple[int, Result]]:
        """Credit memos, then the zero payments that set them against their invoices
        (a batch cannot use an id made earlier in the same batch)."""
        drafts = {index: _document(item) for index, item in chunk}
        credited = [d for d in drafts.values() if d.credits_document_ref]
        invoices = self._invoice_summaries(d.credits_document_ref for d in credited)
        already = self._numbers_in("CreditMemo", [d.number.strip() for d in credited])
        results: list[tuple[int, Result]] = []
        ops: list[_Op] = []
        for index, item in chunk:
            draft = drafts[index]
            note = ""
            if draft.credits_document_ref:
                invoice = invoices.get(draft.credits_document_ref)
                refused = _credit_does_not_fit(draft, invoice, draft.number.strip() in already)
                if refused is not None:
                    results.append((index, refused))
                    continue
                assert invoice is not None
                note = wire.credit_marker(invoice.number, invoice.id)
            try:
                ops.append(self._document_op(index, item, private_note=note))
            except Rejected as refused_here:
                results.append((index, refused_here))
        outcomes = self._submit(ops, batch)
        applications: list[tuple[_Op, str]] = []
        for op, outcome in zip(ops, outcomes, strict=True):
            if not isinstance(outcome, dict):
                results.append((op.index, rejection(op.subject, outcome, self)))
                continue
            memo_id = wire.text(outcome, "Id")
            draft = drafts[op.index]
            if draft.credits_document_ref:
                applications.append((self._application_op(op.index, outcome, draft), memo_id))
            else:
                results.append((op.index, memo_id))
        applied = self._submit([op for op, _ in applications], batch)
        for (op, memo_id), outcome in zip(applications, applied, strict=True):
            if isinstance(outcome, dict):
                results.append((op.index, memo_id))
            else:
                results.append((op.index, _not_applied(op.subject, memo_id, outcome, self)))
        return results

    def _numbers_in(self, entity: str, numbers: list[str]) -> set[str]:
        if not numbers:
            return set()
        return {
            wire.text(record, "DocNumber")
            for record in self._pages(entity, query.one_of("DocNumber", numbers))
        }

    @staticmethod
    def _application_op(index: int, memo: Json, draft: DocumentDraft) -> _Op:
        memo_id = wire.text(memo, "Id")
        payload = wire.application_payload(
            wire.ref_value(memo, "CustomerRef") or draft.contact_ref,
            wire.credited_invoice_id(memo) or draft.credits_document_ref,
            memo_id,
            wire.money(memo.get("TotalAmt")),
            wire.parse_date(memo.get("TxnDate")) or draft.date,
        )
        # Keyed by the memo, so finishing it later (find_existing) replays the same request.
        return _Op(index, "Payment", payload, f"ll-apply-{memo_id}", Subject(draft))

    def _finish_application(self, memo: Json) -> None:
        """Set a found credit memo against its invoice if that was interrupted."""
        invoice_id = wire.credited_invoice_id(memo)
        total = wire.money(memo.get("TotalAmt"))
        if not invoice_id or total <= 0 or wire.money(memo.get("Balance")) < total:
            return
        number = wire.text(memo, "DocNumber")
        on = wire.parse_date(memo.get("TxnDate"))
        if on is None:
            return
        draft = DocumentDraft(DocumentType.CREDIT_NOTE, number, on, "", ())
        op = self._application_op(0, memo, draft)
        outcome = self._submit_one(op)
        if not isinstance(outcome, dict):
            raise _not_applied(op.subject, wire.text(memo, "Id"), outcome, self)
        log.info("credit memo %s set against invoice %s after an interruption", number, invoice_id)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


# ----------------------------------------------------------------------------- helpers


def request_id(keys: Sequence[str], body: Any, limit: int) -> str:
    """The ``requestid`` of one create (QuickBooks keeps at most 50 characters, 36 on a
    batch): the records' own keys and a digest of the exact content, so a resend of the
    same records replays QuickBooks' first answer while a corrected record is new."""
    digest = hashlib.sha256()
    digest.update("\n".join(keys).encode("utf-8"))
    digest.update(b"\n")
    digest.update(dumps_json(body))
    return digest.hexdigest()[:limit]


def _outcome(answer: Mapping[str, Any], entity: str) -> Outcome:
    created = answer.get(entity)
    if isinstance(created, dict) and wire.text(created, "Id"):
        return created
    errors = wire.errors_of(answer)
    if errors:
        return errors
    raise OutcomeUncertain(
        f"QuickBooks answered a batch operation without the new {entity} or a reason, so it "
        "may or may not have been saved."
    )


def _build(
    chunk: list[tuple[int, BatchItem]], build: Callable[[int, BatchItem], _Op]
) -> tuple[list[tuple[int, Result]], list[_Op]]:
    refused: list[tuple[int, Result]] = []
    ops: list[_Op] = []
    for index, item in chunk:
        try:
            ops.append(build(index, item))
        except Rejected as problem:
            refused.append((index, problem))
    return refused, ops


def _credit_does_not_fit(
    draft: DocumentDraft, invoice: InvoiceSummary | None, already_sent: bool
) -> Rejected | None:
    subject = Subject(draft)
    if invoice is None:
        return Rejected(
            code="unknown_invoice",
            field="original_invoice_number",
            reason=(
                f"{subject.opening} credits QuickBooks invoice {draft.credits_document_ref}, "
                "which QuickBooks does not have."
            ),
            fix="Send the invoice first (or check it was not deleted in QuickBooks), then again.",
        )
    # A resend finds its own credit memo already sent; its setting-against is then replayed.
    if already_sent or draft.gross_total <= invoice.balance:
        return None
    return Rejected(
        code="over_allocation",
        field="original_invoice_number",
        reason=(
            f"{subject.opening} is for £{draft.gross_total:,.2f}, more than the "
            f"£{invoice.balance:,.2f} QuickBooks shows still owed on invoice {invoice.number}, "
            "so it cannot be set against it. Nothing was sent."
        ),
        fix=(
            f"Check invoice {invoice.number}'s payments and credit notes in QuickBooks. If it "
            "is already settled, clear the credit note's original invoice in your job system "
            "(it then goes as a credit on account) and send again."
        ),
    )


def _not_applied(
    subject: Subject, memo_id: str, errors: list[wire.QboError], lookups: QuickBooksOnlineConnector
) -> Rejected:
    why = rejection(subject, errors, lookups)
    number = getattr(subject.draft, "number", "")
    return Rejected(
        code="credit_not_allocated",
        field="original_invoice_number",
        reason=(
            f"Credit note {number} is now in QuickBooks (id {memo_id}), but QuickBooks would "
            f"not set it against the invoice it credits: {why.reason}"
        ),
        fix=(
            f"In QuickBooks, apply credit memo {number} to the invoice by hand (Receive "
            f"payment), then mark the credit note as entered manually with id {memo_id}."
        ),
    )


def _item(item: Mapping[str, Any], income: Mapping[str, Any]) -> RemoteItem:
    return RemoteItem(
        remote_id=wire.item_remote_id(wire.text(item, "Id")),
        id=wire.text(item, "Id"),
        name=wire.text(item, "Name"),
        type=wire.text(item, "Type"),
        income_account_id=wire.text(income, "Id"),
        income_account_name=wire.text(income, "Name"),
        income_account_code=wire.text(income, "AcctNum"),
    )


def _kind(draft: Draft) -> str:
    if isinstance(draft, ContactDraft):
        return "contact"
    if isinstance(draft, DocumentDraft):
        return "invoice" if draft.type is DocumentType.INVOICE else "credit_note"
    return "payment"


def _document(item: BatchItem) -> DocumentDraft:
    assert isinstance(item.draft, DocumentDraft)
    return item.draft


def _only(results: list[Result]) -> str:
    (result,) = results
    if isinstance(result, Rejected):
        raise result
    return result
