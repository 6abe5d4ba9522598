"""A local Xero: the Accounting API calls Ledgerlink makes, with Xero's JSON shapes.

Use it through ``httpx.MockTransport(standin)`` (routing is by path, so the real Xero
addresses work unchanged), or serve it on a loopback port for a developer::

    python -m tests.standins.xero --port 8765

What it enforces, as Xero does (sources in docs/packages/xero.md):

- sign-in: bearer tokens from :class:`~tests.standins.oauth_server.AuthorizationServer`
  (401 when missing or expired); ``xero-tenant-id`` must be an organisation the sign-in
  reaches (403);
- limits per organisation: 60 calls in any 60 seconds, 5,000 in any 24 hours and 5 at
  once, answered with 429, ``Retry-After`` and ``X-Rate-Limit-Problem``; every answer
  carries ``X-MinLimit-Remaining`` and ``X-DayLimit-Remaining``;
- ``PUT`` creates only, ``POST /Contacts/{ContactID}`` updates a contact (the fields
  sent; an address or phone replaces the one of its type; archived contacts and bad
  email addresses refused); ``summarizeErrors=false`` gives each element its own result,
  otherwise one bad element fails the request with a 400 ``ValidationException`` and
  nothing is saved; ``Idempotency-Key`` replays the first successful answer to the same
  request (and refuses the key for a different request);
- contact names unique among active contacts (ignoring capitals and surrounding spaces);
  ACCREC invoice numbers unique; lock dates (on or before is refused); payments no more
  than is owed, into a bank account; credit notes set against invoices no more than is
  owed; unknown account codes and tax types refused;
- paging (``page``, ``pageSize``, a ``pagination`` block), ``where`` filters of the form
  ``Field=="value"`` joined by ``AND``, ``searchTerm``, ``includeArchived``,
  ``InvoiceNumbers``, ``IDs`` and the ``If-Modified-Since`` header (by
  ``UpdatedDateUTC``).

Faults are armed explicitly and fire in order on the next matching request (see
:class:`Fault`). Every request and response can be checked against Xero's OpenAPI
description (:mod:`tests.standins.openapi`); problems are collected in
:attr:`XeroStandIn.spec_problems`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from connectors.contract import RateScale, SecretStore
from connectors.http import dumps_json, loads_json
from tests.standins.base import AFTER_SAVE as AFTER_SAVE
from tests.standins.base import Fault as Fault
from tests.standins.base import FaultKind as FaultKind
from tests.standins.base import (
    RateWindow,
    RateWindows,
    StandIn,
    page_of,
    window,
)
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer, Tenant

Json = dict[str, Any]
API = "/api.xro/2.0/"
PENNY = Decimal("0.01")
MINUTE_LIMIT = 60
DAY_LIMIT = 5_000
#: The largest ``pageSize`` answered in full; a larger one gets pages of this size
#: (docs/packages/xero.md: Paging).
PAGE_MAX = 1000
CONCURRENT_LIMIT = 5
EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")


class SpecChecker(Protocol):
    def request_problems(self, request: httpx.Request) -> list[str]: ...

    def response_problems(self, request: httpx.Request, response: httpx.Response) -> list[str]: ...


# ----------------------------------------------------------------------------- helpers


def ms_date(value: date | float) -> str:
    """Xero's ``/Date(1767571200000+0000)/``."""
    if isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    else:
        stamp = value
    return f"/Date({int(stamp * 1000)}+0000)/"


def xero_text_date(value: date) -> str:
    """``31-Jul-2013``, as Xero writes dates in its lock-date messages."""
    return value.strftime("%d-%b-%Y")


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _new_id() -> str:
    return str(uuid.uuid4())


def _dig(record: Json, path: str) -> object:
    value: object = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


_CLAUSE = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9.]*)\s*(==|!=)\s*"
    r'(?:"((?:[^"\\]|\\.)*)"|(true|false)|guid\("([0-9a-fA-F-]{36})"\))\s*'
)


def parse_where(text: str) -> list[tuple[str, str, object]]:
    """``Type=="ACCREC" AND Status!="DELETED"`` → clauses; anything else is refused."""
    clauses: list[tuple[str, str, object]] = []
    for part in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise ValueError(f"unsupported where clause: {part!r}")
        name, op, quoted, boolean, guid = match.groups()
        value: object
        if quoted is not None:
            value = re.sub(r"\\(.)", r"\1", quoted)
        elif boolean is not None:
            value = boolean == "true"
        else:
            value = guid
        clauses.append((name, op, value))
    return clauses


def _matches(record: Json, clauses: list[tuple[str, str, object]]) -> bool:
    for name, op, value in clauses:
        actual = _dig(record, name)
        equal = actual == value or (
            isinstance(actual, str)
            and isinstance(value, str)
            and actual.lower() == value.lower()
            and len(value) == 36
            and name.endswith("ID")
        )
        if equal != (op == "=="):
            return False
    return True


# ----------------------------------------------------------------------------- the organisation


UK_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("090", "Business Bank Account", "BANK"),
    ("091", "Business Savings Account", "BANK"),
    ("200", "Sales", "REVENUE"),
    ("260", "Other Revenue", "REVENUE"),
    ("270", "Interest Income", "REVENUE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS"),
    ("400", "Advertising", "OVERHEADS"),
    ("429", "General Expenses", "OVERHEADS"),
    ("610", "Accounts Receivable", "CURRENT"),
    ("800", "Accounts Payable", "CURRLIAB"),
    ("820", "VAT", "CURRLIAB"),
)
UK_TAX_RATES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("20% (VAT on Income)", "OUTPUT2", "OUTPUT", "20", True),
    ("5% (VAT on Income)", "RROUTPUT", "OUTPUT", "5", True),
    ("Zero Rated Income", "ZERORATEDOUTPUT", "ZERORATEDOUTPUT", "0", True),
    ("Exempt Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "0", True),
    ("No VAT", "NONE", "NONE", "0", True),
    ("20% (VAT on Expenses)", "INPUT2", "INPUT", "20", False),
    ("5% (VAT on Expenses)", "RRINPUT", "INPUT", "5", False),
    ("Zero Rated Expenses", "ZERORATEDINPUT", "ZERORATEDINPUT", "0", False),
)
_CLASS = {
    "BANK": "ASSET",
    "REVENUE": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "CURRENT": "ASSET",
    "CURRLIAB": "LIABILITY",
}


@dataclass
class Organisation:
    """One Xero organisation's data, in Xero's JSON shapes (amounts as Decimals)."""

    tenant: Tenant
    short_code: str
    organisation_id: str = field(default_factory=_new_id)
    period_lock: date | None = None
    year_end_lock: date | None = None
    accounts: list[Json] = field(default_factory=list)
    tax_rates: list[Json] = field(default_factory=list)
    contacts: dict[str, Json] = field(default_factory=dict)
    invoices: dict[str, Json] = field(default_factory=dict)
    credit_notes: dict[str, Json] = field(default_factory=dict)
    payments: dict[str, Json] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    #: Xero's limits per organisation (scaled only by the real-clock benchmark).
    windows: RateWindows = field(
        default_factory=lambda: RateWindows(
            [RateWindow("minute", MINUTE_LIMIT, 60.0), RateWindow("day", DAY_LIMIT, 86_400.0)]
        )
    )

    @property
    def in_flight(self) -> int:
        return self.windows.in_flight

    @in_flight.setter
    def in_flight(self, value: int) -> None:
        self.windows.in_flight = value

    @property
    def day_calls(self) -> deque[tuple[float, int]]:
        return self.windows.windows["day"].spent

    @property
    def name(self) -> str:
        return self.tenant.name

    def account(self, *, code: str = "", account_id: str = "") -> Json | None:
        for account in self.accounts:
            if (code and account.get("Code") == code) or (
                account_id and account["AccountID"] == account_id
            ):
                return account
        return None

    def tax_rate(self, tax_type: str) -> Json | None:
        return next((r for r in self.tax_rates if r["TaxType"] == tax_type), None)

    def outstanding(self, invoice_id: str) -> Decimal:
        return Decimal(self.invoices[invoice_id]["AmountDue"])

    def contacts_numbered(self, number: str) -> list[Json]:
        return [c for c in self.contacts.values() if c.get("ContactNumber") == number]

    def invoices_numbered(self, number: str) -> list[Json]:
        return [i for i in self.invoices.values() if i.get("InvoiceNumber") == number]

    def credit_notes_numbered(self, number: str) -> list[Json]:
        return [c for c in self.credit_notes.values() if c.get("CreditNoteNumber") == number]

    def payments_referenced(self, reference: str) -> list[Json]:
        return [p for p in self.payments.values() if p.get("Reference") == reference]

    @property
    def effective_lock(self) -> tuple[date, str] | None:
        locks = [
            (d, kind)
            for d, kind in ((self.period_lock, "period"), (self.year_end_lock, "end of year"))
            if d is not None
        ]
        return max(locks) if locks else None


def _uk_chart() -> tuple[list[Json], list[Json]]:
    accounts = [
        {
            "AccountID": _new_id(),
            "Code": code,
            "Name": name,
            "Type": kind,
            "Status": "ACTIVE",
            "Class": _CLASS[kind],
            "TaxType": "NONE" if kind in ("BANK", "CURRENT", "CURRLIAB") else "OUTPUT2",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "BankAccountType": "BANK" if kind == "BANK" else "",
            "ReportingCode": "",
            "HasAttachments": False,
            "AddToWatchlist": False,
        }
        for code, name, kind in UK_ACCOUNTS
    ]
    rates = [
        {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "CanApplyToAssets": not revenue,
            "CanApplyToEquity": False,
            "CanApplyToExpenses": not revenue or tax_type == "NONE",
            "CanApplyToLiabilities": False,
            "CanApplyToRevenue": revenue,
            "DisplayTaxRate": Decimal(rate).quantize(Decimal("0.0001")),
            "EffectiveRate": Decimal(rate).quantize(Decimal("0.0001")),
            "Status": "ACTIVE",
            "TaxComponents": [
                {
                    "Name": "VAT",
                    "Rate": Decimal(rate).quantize(Decimal("0.0001")),
                    "IsCompound": False,
                    "IsNonRecoverable": False,
                }
            ],
        }
        for name, tax_type, report, rate, revenue in UK_TAX_RATES
    ]
    return accounts, rates


# ----------------------------------------------------------------------------- the stand-in


class _Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class XeroStandIn(StandIn):
    """See the module docstring."""

    API = API
    NAME = "Xero"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        auth: AuthorizationServer | None = None,
        checker: SpecChecker | None = None,
        strict: bool = False,
        client_id: str = "ledgerlink-test-client",
        rate_scale: RateScale | None = None,
    ) -> None:
        super().__init__(clock=clock, auth=auth, client_id=client_id, rate_scale=rate_scale)
        self.checker = checker
        #: Raise at once on a request or answer that breaks Xero's OpenAPI description.
        self.strict = strict
        self.organisations: dict[str, Organisation] = {}
        #: Problems found checking traffic against Xero's OpenAPI description.
        self.spec_problems: list[str] = []
        #: Every ``If-Modified-Since`` a contacts listing was asked with.
        self.modified_since: list[str] = []

    # ------------------------------------------------------------------ set-up

    def add_organisation(
        self, name: str = "Demo Heating Ltd", short_code: str = "!Ab3De"
    ) -> Organisation:
        accounts, rates = _uk_chart()
        tenant = Tenant(tenant_id=_new_id(), name=name)
        org = Organisation(tenant=tenant, short_code=short_code, accounts=accounts, tax_rates=rates)
        org.windows = RateWindows(
            [
                window("minute", MINUTE_LIMIT, 60.0, self.rate_scale),
                window("day", DAY_LIMIT, 86_400.0, self.rate_scale),
            ]
        )
        self.organisations[tenant.tenant_id] = org
        self.auth.tenants.append(tenant)
        return org

    def add_contact(self, org: Organisation, name: str, **fields: Any) -> Json:
        """An active contact keyed in by hand in Xero (no uniqueness check: set-up only)."""
        contact: Json = {
            "ContactID": _new_id(),
            "ContactStatus": "ACTIVE",
            "Name": name,
            "EmailAddress": "",
            "Addresses": [{"AddressType": "STREET"}],
            "Phones": [{"PhoneType": "DEFAULT"}],
            "UpdatedDateUTC": ms_date(self.clock()),
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
            **fields,
        }
        org.contacts[contact["ContactID"]] = contact
        return contact

    def arm(
        self,
        kind: FaultKind,
        *,
        method: str = "PUT",
        path: str = "",
        retry_after: int = 30,
        skip: int = 0,
    ) -> Fault:
        """Arm one fault (see :class:`FaultKind`); faults fire in the order armed."""
        return super().arm(kind, method=method, path=path, retry_after=retry_after, skip=skip)

    def store_tokens(self, secrets: SecretStore, tenant_ids: list[str] | None = None) -> None:
        """Put freshly issued tokens where the Xero connector looks for them, as if the
        user had just signed in (for tests that are not about signing in)."""
        issued = self.auth.issue(tenant_ids)
        secrets.set("xero.refresh_token", str(issued["refresh_token"]))
        secrets.set("xero.access_token", str(issued["access_token"]))
        expires_at = self.clock() + float(str(issued["expires_in"]))
        secrets.set("xero.token_expires_at", repr(expires_at))

    # ------------------------------------------------------------------ entry point

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.checker is not None:
            self._note(self.checker.request_problems(request), request)
        return super().__call__(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        response = self._answer(request)
        if self.checker is not None and request.url.path.startswith(API):
            self._note(self.checker.response_problems(request, response), request)
        return response

    def server_error(self) -> httpx.Response:
        return httpx.Response(500, text="An error occurred in Xero.")

    def _note(self, problems: Iterable[str], request: httpx.Request) -> None:
        found = [f"{request.method} {request.url.path}: {p}" for p in problems]
        with self._lock:
            self.spec_problems += found
        if found and self.strict:
            raise AssertionError(
                "not valid against Xero's OpenAPI description: " + "; ".join(found)
            )

    # ------------------------------------------------------------------ auth, limits

    def _answer(self, request: httpx.Request) -> httpx.Response:
        grant = self.auth.grant_for(request.headers.get("Authorization", ""))
        if grant is None:
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        path = request.url.path
        if path.rstrip("/").lower() == "/connections":
            return self._connections(grant.tenant_ids, grant.auth_event_id)
        if path.lower().startswith("/connections/") and request.method == "DELETE":
            return httpx.Response(204)
        if not path.startswith(API):
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        tenant_id = request.headers.get("xero-tenant-id", "")
        org = self.organisations.get(tenant_id)
        if org is None or tenant_id not in grant.tenant_ids:
            return _problem(403, "Forbidden", "AuthenticationUnsuccessful")
        with self._lock:
            limited = self._count_call(org)
            if limited is not None:
                return limited
            org.in_flight += 1
        try:
            response = self._route(org, request, path[len(API) :])
        except _Refused as refused:
            response = refused.response
        finally:
            with self._lock:
                org.in_flight -= 1
        now = self.clock()
        response.headers["X-MinLimit-Remaining"] = str(org.windows.remaining("minute", now))
        response.headers["X-DayLimit-Remaining"] = str(org.windows.remaining("day", now))
        response.headers["X-AppMinLimit-Remaining"] = "9999"
        return response

    def _count_call(self, org: Organisation) -> httpx.Response | None:
        if org.in_flight >= CONCURRENT_LIMIT:
            return self.too_many("concurrent", 1)
        return self.admit(org.windows)

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        return httpx.Response(
            429,
            text="Too Many Requests",
            headers={"Retry-After": str(max(1, retry_after)), "X-Rate-Limit-Problem": window},
        )

    def _connections(self, tenant_ids: list[str], auth_event_id: str) -> httpx.Response:
        connections = []
        for tenant_id in tenant_ids:
            org = self.organisations.get(tenant_id)
            if org is None:
                continue
            stamp = datetime.fromtimestamp(self.clock(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0")
            connections.append(
                {
                    "id": org.tenant.connection_id,
                    "authEventId": auth_event_id,
                    "tenantId": tenant_id,
                    "tenantType": org.tenant.tenant_type,
                    "tenantName": org.name,
                    "createdDateUtc": stamp,
                    "updatedDateUtc": stamp,
                }
            )
        return _json(200, connections)

    # ------------------------------------------------------------------ routing

    def _route(self, org: Organisation, request: httpx.Request, path: str) -> httpx.Response:
        parts = [p for p in path.split("/") if p]
        method = request.method
        if method == "POST":
            if len(parts) == 2 and parts[0].lower() == "contacts":
                with self._lock:
                    return self._update_contact(org, request, parts[1])
            return _validation_error(
                [],
                message="POST updates records; this stand-in (and "
                "Ledgerlink) only creates with PUT, and updates contacts only.",
                status=405,
            )
        with self._lock:
            if method == "GET":
                return self._get(org, request, parts)
            if method == "PUT":
                return self._put(org, request, parts)
        return httpx.Response(404, text="The resource you're looking for cannot be found")

    def _get(self, org: Organisation, request: httpx.Request, parts: list[str]) -> httpx.Response:
        params = request.url.params
        name = parts[0].lower()
        if name == "organisation" and len(parts) == 1:
            return self._ok("Organisations", [self._organisation_json(org)])
        collections: dict[str, dict[str, Json] | list[Json]] = {
            "accounts": org.accounts,
            "taxrates": org.tax_rates,
            "contacts": org.contacts,
            "invoices": org.invoices,
            "creditnotes": org.credit_notes,
            "payments": org.payments,
        }
        if name not in collections:
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        key = {
            "accounts": "Accounts",
            "taxrates": "TaxRates",
            "contacts": "Contacts",
            "invoices": "Invoices",
            "creditnotes": "CreditNotes",
            "payments": "Payments",
        }[name]
        source = collections[name]
        records = list(source.values()) if isinstance(source, dict) else list(source)
        if len(parts) == 2:
            return self._get_one(key, records, parts[1])
        try:
            selected = self._filter(name, records, params)
            since = request.headers.get("If-Modified-Since")
            if since:
                self.modified_since.append(since)
            selected = _modified_since(selected, since)
        except ValueError as problem:
            return _validation_error([], message=str(problem))
        page = params.get("page")
        if page is None:
            return self._ok(key, selected)
        size = min(int(params.get("pageSize") or 100), PAGE_MAX)
        number = max(1, int(page))
        chunk, _ = page_of(selected, number, size)
        pagination = {
            "page": number,
            "pageSize": size,
            "pageCount": max(1, math.ceil(len(selected) / size)),
            "itemCount": len(selected),
        }
        return self._ok(key, chunk, pagination=pagination)

    def _get_one(self, key: str, records: list[Json], wanted: str) -> httpx.Response:
        id_field = {
            "Contacts": "ContactID",
            "Invoices": "InvoiceID",
            "CreditNotes": "CreditNoteID",
            "Payments": "PaymentID",
            "Accounts": "AccountID",
        }.get(key, "")
        for record in records:
            if (
                str(record.get(id_field, "")).lower() == wanted.lower()
                or (key == "Contacts" and record.get("ContactNumber") == wanted)
                or (key == "Invoices" and record.get("InvoiceNumber") == wanted)
            ):
                return self._ok(key, [record])
        return httpx.Response(404, text="The resource you're looking for cannot be found")

    @staticmethod
    def _filter(name: str, records: list[Json], params: httpx.QueryParams) -> list[Json]:
        selected = records
        if name == "contacts" and params.get("includeArchived", "false").lower() != "true":
            selected = [c for c in selected if c.get("ContactStatus") == "ACTIVE"]
        if "IDs" in params:
            ids = {i.strip().lower() for i in params["IDs"].split(",")}
            id_field = {"contacts": "ContactID", "invoices": "InvoiceID"}[name]
            selected = [r for r in selected if str(r[id_field]).lower() in ids]
        if "InvoiceNumbers" in params:
            numbers = {n.strip() for n in params["InvoiceNumbers"].split(",")}
            selected = [r for r in selected if r.get("InvoiceNumber") in numbers]
        if "Statuses" in params:
            statuses = {s.strip() for s in params["Statuses"].split(",")}
            selected = [r for r in selected if r.get("Status") in statuses]
        term = params.get("searchTerm", "").strip().lower()
        if term:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
            selected = [
                r for r in selected if any(term in str(r.get(f) or "").lower() for f in fields)
            ]
        if "where" in params:
            clauses = parse_where(params["where"])
            selected = [r for r in selected if _matches(r, clauses)]
        return selected

    def _ok(self, key: str, records: list[Json], pagination: Json | None = None) -> httpx.Response:
        body: Json = {
            "Id": _new_id(),
            "Status": "OK",
            "ProviderName": "Ledgerlink stand-in",
            "DateTimeUTC": ms_date(self.clock()),
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = copy.deepcopy(records)
        return _json(200, body)

    @staticmethod
    def _organisation_json(org: Organisation) -> Json:
        data: Json = {
            "OrganisationID": org.organisation_id,
            "APIKey": "",
            "Name": org.name,
            "LegalName": org.name,
            "PaysTax": True,
            "Version": "UK",
            "OrganisationType": "COMPANY",
            "BaseCurrency": "GBP",
            "CountryCode": "GB",
            "IsDemoCompany": False,
            "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 3,
            "SalesTaxBasis": "ACCRUALS",
            "SalesTaxPeriod": "QUARTERLY",
            "DefaultSalesTax": "Tax Exclusive",
            "DefaultPurchasesTax": "Tax Exclusive",
            "ShortCode": org.short_code,
            "Edition": "BUSINESS",
            "Class": "STANDARD",
            "Addresses": [],
            "Phones": [],
            "ExternalLinks": [],
        }
        if org.period_lock is not None:
            data["PeriodLockDate"] = ms_date(org.period_lock)
        if org.year_end_lock is not None:
            data["EndOfYearLockDate"] = ms_date(org.year_end_lock)
        return data

    # ------------------------------------------------------------------ creating

    def _put(self, org: Organisation, request: httpx.Request, parts: list[str]) -> httpx.Response:
        key = request.headers.get("Idempotency-Key", "")
        fingerprint = hashlib.sha256(
            f"{request.method} {request.url.path}?{request.url.query.decode()}".encode()
            + request.content
        ).hexdigest()
        if key:
            if len(key) > 128:
                return _validation_error([], message="The Idempotency-Key is over 128 characters.")
            cached = org.idempotency.get(key)
            if cached is not None:
                if cached[0] != fingerprint:
                    return _validation_error(
                        [], message="This Idempotency-Key was already used for a different request."
                    )
                return httpx.Response(
                    cached[1], content=cached[2], headers={"Content-Type": "application/json"}
                )
        try:
            body = loads_json(request.content)
        except ValueError:
            return _problem_body(
                400, 14, "PostDataInvalidException", "Invalid JSON in the request."
            )
        params = request.url.params
        summarize = params.get("summarizeErrors", "true").lower() != "false"
        names = [p.lower() for p in parts]
        if names == ["contacts"]:
            handler, collection = self._new_contact, "Contacts"
        elif names == ["invoices"]:
            handler, collection = self._new_invoice, "Invoices"
        elif names == ["creditnotes"]:
            handler, collection = self._new_credit_note, "CreditNotes"
        elif names == ["payments"]:
            handler, collection = self._new_payment, "Payments"
        elif len(names) == 3 and names[0] == "creditnotes" and names[2] == "allocations":
            note = org.credit_notes.get(parts[1])
            if note is None:
                return _validation_error(
                    [],
                    message="An existing Credit Note with the specified CreditNoteID could not "
                    "be found",
                )
            handler, collection = self._allocator(note), "Allocations"
        else:
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        elements = body.get(collection) if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            return _problem_body(
                400,
                14,
                "PostDataInvalidException",
                f"The request must hold a list of {collection}.",
            )
        unitdp = params.get("unitdp") == "4"
        staged = _Staged()
        results: list[tuple[Json, Callable[[], None] | None]] = []
        for element in elements:
            if not isinstance(element, dict):
                results.append(({"ValidationErrors": [{"Message": "Invalid element."}]}, None))
                continue
            results.append(handler(org, element, staged, unitdp))
        failed = any(commit is None for _, commit in results)
        if failed and summarize:
            echoed = [_flag(echo, commit is None) for echo, commit in results]
            return _validation_error(echoed)
        for _, commit in results:
            if commit is not None:
                commit()
        answer = [_flag(echo, commit is None) for echo, commit in results]
        response = self._ok(collection, answer)
        if key:
            org.idempotency[key] = (fingerprint, 200, response.content)
        return response

    # Each element handler returns (what to echo, how to save it) — ``None`` to save
    # means the element failed validation; the echo then carries its ValidationErrors.

    def _new_contact(
        self, org: Organisation, element: Json, staged: _Staged, unitdp: bool
    ) -> tuple[Json, Callable[[], None] | None]:
        errors: list[str] = []
        name = str(element.get("Name") or "").strip()
        if not name:
            errors.append("A Name is required for a contact.")
        elif len(name) > 255:
            errors.append("The contact name must be 255 characters or fewer.")
        else:
            taken = {
                c["Name"].strip().casefold()
                for c in org.contacts.values()
                if c.get("ContactStatus") == "ACTIVE"
            } | staged.names
            if name.casefold() in taken:
                errors.append(
                    f"The contact name {name} is already assigned to another contact. The "
                    "contact name must be unique across all active contacts."
                )
        email = str(element.get("EmailAddress") or "").strip()
        if email and not EMAIL.fullmatch(email):
            errors.append("Email address must be valid.")
        if errors:
            return _with_errors(element, errors), None
        contact = {
            "ContactID": _new_id(),
            "ContactStatus": "ACTIVE",
            "Name": name,
            "ContactNumber": str(element.get("ContactNumber") or ""),
            "AccountNumber": str(element.get("AccountNumber") or ""),
            "EmailAddress": email,
            "FirstName": str(element.get("FirstName") or ""),
            "LastName": str(element.get("LastName") or ""),
            "BankAccountDetails": "",
            "Addresses": [
                *(a for a in element.get("Addresses") or [] if isinstance(a, dict)),
                {"AddressType": "STREET"},
            ],
            "Phones": [p for p in element.get("Phones") or [] if isinstance(p, dict)]
            or [{"PhoneType": "DEFAULT"}],
            "UpdatedDateUTC": ms_date(self.clock()),
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
        staged.names.add(name.casefold())

        def save() -> None:
            org.contacts[contact["ContactID"]] = contact

        return contact, save

    # ------------------------------------------------------------------ updating

    def _update_contact(
        self, org: Organisation, request: httpx.Request, contact_id: str
    ) -> httpx.Response:
        """``POST /Contacts/{ContactID}``: the fields sent change, the others stay; an
        address or phone replaces the one of its type. Archived contacts are refused."""
        contact = next(
            (c for c in org.contacts.values() if c["ContactID"].lower() == contact_id.lower()),
            None,
        )
        if contact is None:
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        try:
            body = loads_json(request.content)
        except ValueError:
            return _problem_body(
                400, 14, "PostDataInvalidException", "Invalid JSON in the request."
            )
        elements = body.get("Contacts") if isinstance(body, dict) else None
        if not isinstance(elements, list) or len(elements) != 1:
            return _problem_body(
                400, 14, "PostDataInvalidException", "The request must hold one Contact."
            )
        (element,) = elements
        errors: list[str] = []
        if contact.get("ContactStatus") == "ARCHIVED":
            errors.append("The contact is archived and cannot be updated.")
        email = str(element.get("EmailAddress") or "").strip()
        if "EmailAddress" in element and email and not EMAIL.fullmatch(email):
            errors.append("Email address must be valid.")
        name = str(element.get("Name") or "").strip()
        if "Name" in element and name.casefold() != contact["Name"].strip().casefold():
            taken = {
                c["Name"].strip().casefold()
                for c in org.contacts.values()
                if c.get("ContactStatus") == "ACTIVE" and c is not contact
            }
            if not name or name.casefold() in taken:
                errors.append(
                    f"The contact name {name} is already assigned to another contact. The "
                    "contact name must be unique across all active contacts."
                )
        if errors:
            return _validation_error([_flag(_with_errors({**contact, **element}, errors), True)])
        for key in ("EmailAddress", "Name", "FirstName", "LastName"):
            if key in element:
                contact[key] = str(element.get(key) or "").strip()
        for key, kind in (("Addresses", "AddressType"), ("Phones", "PhoneType")):
            for given in element.get(key) or []:
                if not isinstance(given, dict):
                    continue
                kept = [r for r in contact.get(key) or [] if r.get(kind) != given.get(kind)]
                same = next(
                    (r for r in contact.get(key) or [] if r.get(kind) == given.get(kind)), {}
                )
                contact[key] = [*kept, {**same, **given}]
        contact["UpdatedDateUTC"] = ms_date(self.clock())
        return self._ok("Contacts", [_flag(contact, False)])

    def _lock_message(self, org: Organisation, on: date, what: str = "document") -> str | None:
        lock = org.effective_lock
        if lock is None or on > lock[0]:
            return None
        return (
            f"The {what} date cannot be before the {lock[1]} lock date, currently set at "
            f"{xero_text_date(lock[0])}"
        )

    def _document(
        self, org: Organisation, element: Json, staged: _Staged, unitdp: bool, *, credit: bool
    ) -> tuple[Json, Callable[[], None] | None]:
        errors: list[str] = []
        kind = "ACCRECCREDIT" if credit else "ACCREC"
        number_field = "CreditNoteNumber" if credit else "InvoiceNumber"
        if element.get("Type") != kind:
            errors.append(f"This stand-in only creates {kind} documents here.")
        contact_id = str(_dig(element, "Contact.ContactID") or "")
        contact = org.contacts.get(contact_id)
        if contact is None:
            errors.append("The contact with the specified ContactID could not be found.")
        elif contact.get("ContactStatus") != "ACTIVE":
            errors.append("The contact is archived and cannot be used on new documents.")
        number = str(element.get(number_field) or "").strip()
        if not credit:
            if not number:
                number = f"INV-{len(org.invoices) + len(staged.numbers) + 1:04d}"
            taken = {
                i["InvoiceNumber"].casefold()
                for i in org.invoices.values()
                if i.get("Status") not in ("DELETED", "VOIDED")
            } | staged.numbers
            if number.casefold() in taken:
                errors.append("Invoice # must be unique.")
        on = _parse_date(element.get("Date"))
        if on is None:
            errors.append("The document date is required, as YYYY-MM-DD.")
        else:
            locked = self._lock_message(org, on)
            if locked:
                errors.append(locked)
        due = _parse_date(element.get("DueDate")) if element.get("DueDate") else None
        status = element.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append("Documents can only be created as DRAFT, SUBMITTED or AUTHORISED.")
        lines, line_errors, sub_total, total_tax = self._lines(org, element, unitdp)
        errors += line_errors
        if errors:
            return _with_errors(element, errors), None
        assert on is not None and contact is not None
        record: Json = {
            "Type": kind,
            "Contact": {"ContactID": contact_id, "Name": contact["Name"]},
            number_field: number,
            "Reference": str(element.get("Reference") or ""),
            "Date": ms_date(on),
            "DateString": f"{on.isoformat()}T00:00:00",
            "Status": status,
            "LineAmountTypes": element.get("LineAmountTypes", "Exclusive"),
            "LineItems": lines,
            "SubTotal": sub_total,
            "TotalTax": total_tax,
            "Total": sub_total + total_tax,
            "UpdatedDateUTC": ms_date(self.clock()),
            "CurrencyCode": "GBP",
            "HasAttachments": False,
            "HasErrors": False,
        }
        if credit:
            record.update(
                CreditNoteID=_new_id(),
                RemainingCredit=sub_total + total_tax,
                Allocations=[],
                Payments=[],
                AppliedAmount=Decimal("0.00"),
            )
        else:
            record.update(
                InvoiceID=_new_id(),
                AmountDue=sub_total + total_tax,
                AmountPaid=Decimal("0.00"),
                AmountCredited=Decimal("0.00"),
                Payments=[],
                CreditNotes=[],
                Prepayments=[],
                Overpayments=[],
                IsDiscounted=False,
            )
            if due is not None:
                record["DueDate"] = ms_date(due)
                record["DueDateString"] = f"{due.isoformat()}T00:00:00"
            staged.numbers.add(number.casefold())

        def save() -> None:
            store = org.credit_notes if credit else org.invoices
            store[record["CreditNoteID" if credit else "InvoiceID"]] = record
            contact["IsCustomer"] = True

        return record, save

    def _new_invoice(
        self, org: Organisation, element: Json, staged: _Staged, unitdp: bool
    ) -> tuple[Json, Callable[[], None] | None]:
        return self._document(org, element, staged, unitdp, credit=False)

    def _new_credit_note(
        self, org: Organisation, element: Json, staged: _Staged, unitdp: bool
    ) -> tuple[Json, Callable[[], None] | None]:
        return self._document(org, element, staged, unitdp, credit=True)

    @staticmethod
    def _lines(
        org: Organisation, element: Json, unitdp: bool
    ) -> tuple[list[Json], list[str], Decimal, Decimal]:
        raw = element.get("LineItems")
        errors: list[str] = []
        lines: list[Json] = []
        sub_total = total_tax = Decimal("0.00")
        if not isinstance(raw, list) or not raw:
            return [], ["A document needs at least one line item."], sub_total, total_tax
        for item in raw:
            if not isinstance(item, dict):
                errors.append("Invalid line item.")
                continue
            quantity = _decimal(item.get("Quantity", 1))
            unit = _decimal(item.get("UnitAmount"))
            if quantity is None or unit is None:
                errors.append("Line items need a Quantity and a UnitAmount.")
                continue
            if not unitdp and unit != unit.quantize(PENNY):
                errors.append(
                    "Unit amounts with more than 2 decimal places need unitdp=4 (stand-in check)."
                )
            code = str(item.get("AccountCode") or "")
            account = (
                org.account(code=code)
                if code
                else org.account(account_id=str(item.get("AccountID") or ""))
            )
            if account is None or account.get("Status") != "ACTIVE":
                errors.append(
                    f"Account code '{code}' has been removed as it does not match a "
                    "recognised account."
                )
                continue
            tax_type = str(item.get("TaxType") or account.get("TaxType") or "NONE")
            rate = org.tax_rate(tax_type)
            if rate is None or not rate.get("CanApplyToRevenue"):
                errors.append(
                    f"The TaxType code '{tax_type}' does not exist or cannot be used with "
                    "this type of transaction."
                )
                continue
            line_amount = (quantity * unit).quantize(PENNY, rounding=ROUND_HALF_UP)
            computed = (line_amount * rate["EffectiveRate"] / 100).quantize(
                PENNY, rounding=ROUND_HALF_UP
            )
            given = _decimal(item.get("TaxAmount"))
            tax = given.quantize(PENNY) if given is not None else computed
            sub_total += line_amount
            total_tax += tax
            lines.append(
                {
                    "LineItemID": _new_id(),
                    "Description": str(item.get("Description") or ""),
                    "Quantity": quantity,
                    "UnitAmount": unit,
                    "AccountCode": account["Code"],
                    "AccountID": account["AccountID"],
                    "TaxType": tax_type,
                    "TaxAmount": tax,
                    "LineAmount": line_amount,
                    "Tracking": [],
                }
            )
        return lines, errors, sub_total, total_tax

    def _allocator(
        self, note: Json
    ) -> Callable[[Organisation, Json, _Staged, bool], tuple[Json, Callable[[], None] | None]]:
        def allocate(
            org: Organisation, element: Json, staged: _Staged, unitdp: bool
        ) -> tuple[Json, Callable[[], None] | None]:
            errors: list[str] = []
            invoice = org.invoices.get(str(_dig(element, "Invoice.InvoiceID") or ""))
            amount = _decimal(element.get("Amount"))
            on = _parse_date(element.get("Date"))
            if invoice is None or invoice.get("Status") not in ("AUTHORISED", "PAID"):
                errors.append("The document with the supplied id was not found for this endpoint.")
            elif invoice["Contact"]["ContactID"] != note["Contact"]["ContactID"]:
                errors.append("The ContactID and the TargetTransaction ContactID do not match")
            if amount is None or amount <= 0:
                errors.append("The allocation amount must be above zero.")
            if on is None:
                errors.append("The allocation date is required, as YYYY-MM-DD.")
            elif (locked := self._lock_message(org, on, "allocation")) is not None:
                errors.append(locked)
            if not errors and invoice is not None and amount is not None:
                owed = invoice["AmountDue"] - staged.paid.get(invoice["InvoiceID"], Decimal(0))
                left = note["RemainingCredit"] - staged.paid.get(note["CreditNoteID"], Decimal(0))
                if invoice.get("Status") == "PAID":
                    errors.append(
                        "The invoice you are trying to allocate to has already been paid off"
                    )
                elif amount > owed or amount > left:
                    errors.append(
                        "Credit Note cannot be allocated as amount is greater than amount "
                        "outstanding"
                    )
            if errors:
                return _with_errors(element, errors), None
            assert invoice is not None and amount is not None and on is not None
            staged.paid[invoice["InvoiceID"]] = (
                staged.paid.get(invoice["InvoiceID"], Decimal(0)) + amount
            )
            staged.paid[note["CreditNoteID"]] = (
                staged.paid.get(note["CreditNoteID"], Decimal(0)) + amount
            )
            allocation = {
                "AllocationID": _new_id(),
                "Amount": amount,
                "Date": ms_date(on),
                "Invoice": {
                    "InvoiceID": invoice["InvoiceID"],
                    "InvoiceNumber": invoice["InvoiceNumber"],
                },
                "CreditNote": {"CreditNoteID": note["CreditNoteID"]},
                "IsDeleted": False,
            }

            def save() -> None:
                invoice["AmountCredited"] += amount
                invoice["AmountDue"] -= amount
                if invoice["AmountDue"] == 0:
                    invoice["Status"] = "PAID"
                note["RemainingCredit"] -= amount
                note["AppliedAmount"] += amount
                if note["RemainingCredit"] == 0:
                    note["Status"] = "PAID"
                note["Allocations"].append(allocation)
                invoice["CreditNotes"].append(
                    {
                        "CreditNoteID": note["CreditNoteID"],
                        "CreditNoteNumber": note["CreditNoteNumber"],
                        "AppliedAmount": amount,
                    }
                )

            return allocation, save

        return allocate

    def _new_payment(
        self, org: Organisation, element: Json, staged: _Staged, unitdp: bool
    ) -> tuple[Json, Callable[[], None] | None]:
        errors: list[str] = []
        invoice_id = str(_dig(element, "Invoice.InvoiceID") or "")
        invoice = org.invoices.get(invoice_id)
        if invoice is None or invoice.get("Status") not in ("AUTHORISED", "PAID"):
            errors.append("The document with the supplied id was not found for this endpoint.")
        account_ref = element.get("Account") or {}
        account = org.account(
            code=str(account_ref.get("Code") or ""),
            account_id=str(account_ref.get("AccountID") or ""),
        )
        if account is None or not (
            account["Type"] == "BANK" or account.get("EnablePaymentsToAccount")
        ):
            errors.append("Account type is invalid for making a payment to/from")
        amount = _decimal(element.get("Amount"))
        if amount is None or amount <= 0 or amount != amount.quantize(PENNY):
            errors.append("The payment amount must be above zero, to the penny.")
        on = _parse_date(element.get("Date"))
        if on is None:
            errors.append("The payment date is required, as YYYY-MM-DD.")
        elif (locked := self._lock_message(org, on, "payment")) is not None:
            errors.append(locked)
        if not errors and invoice is not None and amount is not None:
            owed = invoice["AmountDue"] - staged.paid.get(invoice_id, Decimal(0))
            if amount > owed:
                errors.append("Payment amount exceeds the amount outstanding on this document")
        if errors:
            return _with_errors(element, errors), None
        assert invoice is not None and account is not None and amount is not None and on is not None
        staged.paid[invoice_id] = staged.paid.get(invoice_id, Decimal(0)) + amount
        payment = {
            "PaymentID": _new_id(),
            "Date": ms_date(on),
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": Decimal("1.000000"),
            "Reference": str(element.get("Reference") or ""),
            "IsReconciled": False,
            "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT",
            "UpdatedDateUTC": ms_date(self.clock()),
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "Invoice": {
                "InvoiceID": invoice_id,
                "InvoiceNumber": invoice["InvoiceNumber"],
                "Type": "ACCREC",
                "Contact": dict(invoice["Contact"]),
            },
        }

        def save() -> None:
            org.payments[payment["PaymentID"]] = payment
            invoice["AmountPaid"] += amount
            invoice["AmountDue"] -= amount
            if invoice["AmountDue"] == 0:
                invoice["Status"] = "PAID"
            invoice["Payments"].append(
                {
                    "PaymentID": payment["PaymentID"],
                    "Date": payment["Date"],
                    "Amount": amount,
                    "Reference": payment["Reference"],
                }
            )

        return payment, save

    # ------------------------------------------------------------------ inspection

    def only_organisation(self) -> Organisation:
        (org,) = self.organisations.values()
        return org

    def requests_to(self, method: str, prefix: str) -> Iterator[str]:
        for m, path in self.requests:
            if m == method and path.startswith(prefix):
                yield path


@dataclass
class _Staged:
    """What earlier elements of the same request claim, before anything is saved."""

    names: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    paid: dict[str, Decimal] = field(default_factory=dict)


def _modified_since(records: list[Json], header: str | None) -> list[Json]:
    """Only records created or modified after the ``If-Modified-Since`` moment."""
    if not header:
        return records
    try:
        since = datetime.fromisoformat(header.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"If-Modified-Since is not a date-time: {header}") from exc
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    cutoff = since.timestamp() * 1000
    kept = []
    for record in records:
        found = re.fullmatch(r"/Date\((\d+)[+-]\d{4}\)/", str(record.get("UpdatedDateUTC", "")))
        if found is None or int(found.group(1)) > cutoff:
            kept.append(record)
    return kept


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=dumps_json(body),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _problem(status: int, title: str, detail: str) -> httpx.Response:
    return _json(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": _new_id(),
            "Extensions": {},
        },
    )


def _problem_body(status: int, number: int, kind: str, message: str) -> httpx.Response:
    return _json(status, {"ErrorNumber": number, "Type": kind, "Message": message})


def _validation_error(
    elements: list[Json], *, message: str = "A validation exception occurred", status: int = 400
) -> httpx.Response:
    if not elements and message != "A validation exception occurred":
        elements = [{"ValidationErrors": [{"Message": message}]}]
    return _json(
        status,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
    )


def _with_errors(element: Json, errors: list[str]) -> Json:
    echo = copy.deepcopy(element)
    echo["ValidationErrors"] = [{"Message": message} for message in errors]
    return echo


def _flag(echo: Json, failed: bool) -> Json:
    flagged = dict(echo)
    flagged.setdefault("ValidationErrors", [])
    flagged["StatusAttributeString"] = "ERROR" if failed else "OK"
    if "HasValidationErrors" in flagged or failed:
        flagged["HasValidationErrors"] = failed
    return flagged


# ----------------------------------------------------------------------------- by hand


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in Xero on this computer for trying Ledgerlink by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--client-id", default="ledgerlink-dev")
    parser.add_argument(
        "--organisation",
        action="append",
        default=[],
        help="an organisation to offer (repeat for several; default: one demo organisation)",
    )
    args = parser.parse_args(argv)
    standin = XeroStandIn(client_id=args.client_id)
    for name in args.organisation or ["Demo Heating Ltd"]:
        standin.add_organisation(name)
    server = LoopbackServer(standin, port=args.port)
    print(f"Stand-in Xero on {server.url} (Ctrl+C stops it). In Ledgerlink's Xero settings use:")
    print(f"  endpoint={server.url}  client_id={args.client_id}  redirect_ports=0")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
