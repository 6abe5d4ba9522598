"""A local QuickBooks Online: the Accounting API v3 calls Ledgerlink makes, in Intuit's
JSON shapes.

Use it through ``httpx.MockTransport(standin)`` (routing is by path, so Intuit's real
addresses work unchanged), or serve it on a loopback port for a developer::

    python -m tests.standins.qbo --port 8766

What it enforces, as QuickBooks Online does (sources in docs/packages/quickbooks-online.md;
where Intuit's exact wording is unknown the message is this stand-in's own, and says so
in its comment):

- sign-in: bearer tokens from :class:`~tests.standins.oauth_server.AuthorizationServer`
  with a client secret (401 ``AuthenticationFailed`` when missing or expired); the realm
  in the path must be one the sign-in reaches (403); Intuit's sign-in page answers with
  ``code``, ``state`` and ``realmId``;
- ``minorversion`` of at least 75 on every call;
- limits per company: 500 operations a minute (each batch operation counts), 40 batch
  requests a minute, 10 requests at once; over them, 429 ``ThrottleExceeded`` without a
  ``Retry-After`` header;
- the query language Ledgerlink writes (``select * from X where A = 'v' and B in (…)
  startposition n maxresults m``, at most 1,000 a page); name lists, items and accounts
  answer active records only unless the query names ``Active``;
- display names unique across customers, suppliers and employees, active or not, capitals
  aside (fault 6240); document numbers unique per transaction type (6140) and at most 21
  characters; nothing dated on or before the closing date (6210); a VAT code on every
  sales line (6000); unknown or inactive references (2500); payments no more than an
  invoice's open balance; credit memos set against invoices by a zero payment;
- updates of customers and vendors by ``POST`` with ``Id`` and the current ``SyncToken``
  (5010 "Stale Object Error" otherwise), sparse or full;
- ``/batch`` of at most 30 operations, run one after another, each with its own result
  or ``Fault``; ``requestid`` replays the first successful answer to the same request.

Faults are armed explicitly and fire in order on the next matching request (see
:class:`Fault`).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

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
    window,
)
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer, Tenant

Json = dict[str, Any]
API = "/v3/company/"
PENNY = Decimal("0.01")
MIN_MINOR_VERSION = 75
OPERATIONS_PER_MINUTE = 500
BATCHES_PER_MINUTE = 40
CONCURRENT_LIMIT = 10
BATCH_MAX = 30
PAGE_MAX = 1000
DOC_NUMBER_MAX = 21
CLIENT_ID = "ledgerlink-qbo-test"
CLIENT_SECRET = "qbo-test-secret"
#: The https page the tests register as the app's redirect address.
RELAY = "https://relay.ledgerlink.test/quickbooks"
EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")
NAME_LISTS = ("Customer", "Vendor", "Employee")
#: Lists that answer active records only unless a query names ``Active``.
ACTIVE_BY_DEFAULT = frozenset({*NAME_LISTS, "Item", "Account"})


class QboFault(Exception):
    """A validation fault: what QuickBooks answers instead of saving."""

    def __init__(self, code: str, message: str, detail: str = "", element: str = "") -> None:
        super().__init__(message)
        self.error = {"Message": message, "Detail": detail, "code": code, "element": element}


# ----------------------------------------------------------------------------- values


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


def _ref(record: Json, field_name: str) -> str:
    found = record.get(field_name)
    return str(found.get("value") or "") if isinstance(found, dict) else ""


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _fault_body(errors: list[Json], kind: str, stamp: str) -> Json:
    return {"Fault": {"Error": errors, "type": kind}, "time": stamp}


# ----------------------------------------------------------------------------- queries

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[A-Za-z_][\w.]*)|(?P<number>-?\d+(?:\.\d+)?))"
)


@dataclass
class Query:
    entity: str
    conditions: list[tuple[str, str, Any]]
    start: int = 1
    max_results: int = 100


class QueryError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(
                f"Encountered unexpected text at position {position}: {text[position:]!r}"
            )
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _value(kind: str, token: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    if kind == "number":
        return Decimal(token)
    if kind == "word" and token.lower() in ("true", "false"):
        return token.lower() == "true"
    raise QueryError(f"Expected a value, found {token!r}")


def parse_query(text: str) -> Query:
    """The subset of Intuit's query language described in the module docstring."""
    tokens = _tokens(text)
    position = 0

    def take(kind: str | None = None, word: str | None = None) -> str:
        nonlocal position
        if position >= len(tokens):
            raise QueryError("Unexpected end of query")
        got_kind, got = tokens[position]
        if (kind and got_kind != kind) or (word and got.lower() != word):
            raise QueryError(f"Encountered {got!r} where {word or kind} was expected")
        position += 1
        return got

    def peek_word() -> str:
        if position < len(tokens) and tokens[position][0] == "word":
            return tokens[position][1].lower()
        return ""

    take("word", "select")
    while not (tokens[position][0] == "word" and tokens[position][1].lower() == "from"):
        position += 1
        if position >= len(tokens):
            raise QueryError("Expected FROM")
    take("word", "from")
    query = Query(entity=take("word"), conditions=[])
    if peek_word() == "where":
        take("word")
        while True:
            name = take("word")
            if peek_word() == "in":
                take("word")
                take("punct")
                values = []
                while True:
                    kind, token = tokens[position]
                    position += 1
                    values.append(_value(kind, token))
                    closing = take("punct")
                    if closing == ")":
                        break
                query.conditions.append((name, "in", values))
            elif peek_word() == "like":
                take("word")
                kind, token = tokens[position]
                position += 1
                query.conditions.append((name, "like", _value(kind, token)))
            else:
                op = take("op")
                kind, token = tokens[position]
                position += 1
                query.conditions.append((name, op, _value(kind, token)))
            if peek_word() != "and":
                break
            take("word")
    if peek_word() == "orderby":
        take("word")
        take("word")
        if peek_word() in ("asc", "desc"):
            take("word")
    if peek_word() == "startposition":
        take("word")
        query.start = int(take("number"))
    if peek_word() == "maxresults":
        take("word")
        query.max_results = int(take("number"))
    if position != len(tokens):
        raise QueryError(f"Unexpected {tokens[position][1]!r} at the end of the query")
    if query.max_results > PAGE_MAX or query.max_results < 1 or query.start < 1:
        raise QueryError("STARTPOSITION must be at least 1 and MAXRESULTS 1 to 1000")
    return query


def _field(record: Json, name: str) -> Any:
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if op == "in":
        return any(_compare(actual, "=", w) for w in wanted)
    if op == "like":
        pattern = "^" + ".*".join(re.escape(p) for p in str(wanted).split("%")) + "$"
        return re.match(pattern, str(actual or ""), re.IGNORECASE) is not None
    if isinstance(wanted, bool):
        left: Any = actual if isinstance(actual, bool) else actual is None
        right: Any = wanted
    elif isinstance(wanted, Decimal):
        left, right = _decimal(actual), wanted
        if left is None:
            return False
    else:
        left, right = str(actual if actual is not None else "").casefold(), wanted.casefold()
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


# ----------------------------------------------------------------------------- the company

UK_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("Sales", "Income", "SalesOfProductIncome", "4000"),
    ("Services", "Income", "ServiceFeeIncome", "4010"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "4020"),
    ("Other Income", "Other Income", "OtherMiscellaneousIncome", "4900"),
    ("Current", "Bank", "Checking", "1200"),
    ("Savings", "Bank", "Savings", "1210"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "1220"),
    ("Debtors", "Accounts Receivable", "AccountsReceivable", "1100"),
    ("VAT Control", "Other Current Liability", "GlobalTaxPayable", "2200"),
    ("Cost of sales", "Cost of Goods Sold", "SuppliesMaterialsCogs", "5000"),
    ("Bank charges", "Expense", "BankCharges", "7900"),
)
#: (item name, income account name)
UK_ITEMS: tuple[tuple[str, str], ...] = (("Sales", "Sales"), ("Services", "Services"))
#: (code name, sales rate, purchase rate) as percentages; ``None``: no rate of that kind.
UK_TAX_CODES: tuple[tuple[str, str | None, str | None], ...] = (
    ("20.0% S", "20", "20"),
    ("5.0% R", "5", "5"),
    ("0.0% Z", "0", "0"),
    ("Exempt", "0", "0"),
    ("No VAT", "0", "0"),
    ("20.0% RC", None, "20"),
)


@dataclass
class Company:
    """One QuickBooks Online company's data, in Intuit's JSON shapes."""

    tenant: Tenant
    book_close_date: date | None = None
    accounts: dict[str, Json] = field(default_factory=dict)
    items: dict[str, Json] = field(default_factory=dict)
    tax_rates: dict[str, Json] = field(default_factory=dict)
    tax_codes: dict[str, Json] = field(default_factory=dict)
    customers: dict[str, Json] = field(default_factory=dict)
    vendors: dict[str, Json] = field(default_factory=dict)
    employees: dict[str, Json] = field(default_factory=dict)
    invoices: dict[str, Json] = field(default_factory=dict)
    credit_memos: dict[str, Json] = field(default_factory=dict)
    payments: dict[str, Json] = field(default_factory=dict)
    request_ids: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: 500 operations (each in a batch counts) and 40 batch requests a minute.
    windows: RateWindows = field(
        default_factory=lambda: RateWindows(
            [
                RateWindow("minute", OPERATIONS_PER_MINUTE, 60.0),
                RateWindow("batches", BATCHES_PER_MINUTE, 60.0),
            ]
        )
    )

    @property
    def in_flight(self) -> int:
        return self.windows.in_flight

    @in_flight.setter
    def in_flight(self, value: int) -> None:
        self.windows.in_flight = value

    # Customers, suppliers and employees are numbered from one list, as are transactions.
    name_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    txn_ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    item_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    list_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def realm_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def name(self) -> str:
        return self.tenant.name

    def table(self, entity: str) -> dict[str, Json]:
        return {
            "Account": self.accounts,
            "Item": self.items,
            "TaxRate": self.tax_rates,
            "TaxCode": self.tax_codes,
            "Customer": self.customers,
            "Vendor": self.vendors,
            "Employee": self.employees,
            "Invoice": self.invoices,
            "CreditMemo": self.credit_memos,
            "Payment": self.payments,
        }[entity]

    def account_named(self, name: str) -> Json:
        return next(a for a in self.accounts.values() if a["Name"] == name)

    def outstanding(self, invoice_id: str) -> Decimal:
        return Decimal(self.invoices[invoice_id]["Balance"])

    def noted(self, entity: str, our_ref: str) -> list[Json]:
        marker = f"Ledgerlink account ref: {our_ref}"
        return [r for r in self.table(entity).values() if r.get("Notes") == marker]

    def numbered(self, entity: str, number: str) -> list[Json]:
        return [r for r in self.table(entity).values() if r.get("DocNumber") == number]

    def payments_referenced(self, reference: str) -> list[Json]:
        return [p for p in self.payments.values() if p.get("PaymentRefNum") == reference]

    def names_in_use(self) -> dict[str, Json]:
        return {
            _fold(record["DisplayName"]): record
            for entity in NAME_LISTS
            for record in self.table(entity).values()
        }


# ----------------------------------------------------------------------------- the stand-in


class QboStandIn(StandIn):
    """See the module docstring."""

    API = API
    NAME = "QuickBooks"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        auth: AuthorizationServer | None = None,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        rate_scale: RateScale | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            auth=auth
            or AuthorizationServer(
                client_id=client_id,
                client_secret=client_secret,
                clock=clock,
                access_lifetime=3600.0,
                refresh_idle=100 * 86400.0,
                registered_redirects=(RELAY,),
            ),
            rate_scale=rate_scale,
        )
        self.companies: dict[str, Company] = {}
        #: The minor version of every API call, to check none is missing.
        self.minor_versions: Counter[str] = Counter()
        self._ids = itertools.count(9_130_000_000_000_001)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ set-up

    def add_company(self, name: str = "Demo Heating Ltd") -> Company:
        company = Company(tenant=Tenant(tenant_id=str(next(self._ids)), name=name))
        company.windows = RateWindows(
            [
                window("minute", OPERATIONS_PER_MINUTE, 60.0, self.rate_scale),
                window("batches", BATCHES_PER_MINUTE, 60.0, self.rate_scale),
            ]
        )
        stamp = self._stamp()
        for account_name, kind, sub_type, number in UK_ACCOUNTS:
            account_id = str(next(company.list_ids))
            company.accounts[account_id] = {
                "Id": account_id,
                "Name": account_name,
                "AcctNum": number,
                "AccountType": kind,
                "AccountSubType": sub_type,
                "Classification": "Revenue" if "Income" in kind else "Asset",
                "Active": True,
                "CurrentBalance": Decimal("0.00"),
                "SyncToken": "0",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
                "domain": "QBO",
                "sparse": False,
            }
        for item_name, income in UK_ITEMS:
            self.add_item(company, item_name, company.account_named(income)["Id"])
        rate_ids = itertools.count(1)
        for code_name, sales, purchase in UK_TAX_CODES:
            code_id = str(len(company.tax_codes) + 2)
            lists: Json = {}
            for kind, percent in (("Sales", sales), ("Purchase", purchase)):
                details = []
                if percent is not None:
                    rate_id = str(next(rate_ids))
                    company.tax_rates[rate_id] = {
                        "Id": rate_id,
                        "Name": f"{code_name} ({kind.lower()})",
                        "RateValue": Decimal(percent),
                        "Active": True,
                        "SpecialTaxType": "NONE",
                        "DisplayType": "ReadOnly",
                        "SyncToken": "0",
                        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
                    }
                    details.append(
                        {
                            "TaxRateRef": {"value": rate_id, "name": f"{code_name} ({kind})"},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    )
                lists[f"{kind}TaxRateList"] = {"TaxRateDetail": details}
            company.tax_codes[code_id] = {
                "Id": code_id,
                "Name": code_name,
                "Description": code_name,
                "Active": True,
                "Taxable": sales not in (None, "0"),
                "TaxGroup": False,
                **lists,
                "SyncToken": "0",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            }
        self.companies[company.realm_id] = company
        self.auth.tenants.append(company.tenant)
        return company

    def add_item(self, company: Company, name: str, income_account_id: str) -> Json:
        item_id = str(next(company.item_ids))
        stamp = self._stamp()
        item = {
            "Id": item_id,
            "Name": name,
            "FullyQualifiedName": name,
            "Type": "Service",
            "Active": True,
            "Taxable": True,
            "IncomeAccountRef": {
                "value": income_account_id,
                "name": company.accounts[income_account_id]["Name"],
            },
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            "domain": "QBO",
            "sparse": False,
        }
        company.items[item_id] = item
        return item

    def add_name(self, company: Company, entity: str, display_name: str, **fields: Any) -> Json:
        """A customer, supplier or employee keyed in by hand in QuickBooks."""
        name_id = str(next(company.name_ids))
        stamp = self._stamp()
        record = {
            "Id": name_id,
            "DisplayName": display_name,
            "Active": True,
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            "domain": "QBO",
            "sparse": False,
            **fields,
        }
        company.table(entity)[name_id] = record
        return record

    def fault_path(self, request: httpx.Request) -> str | None:
        """What follows ``/v3/company/<realm>/``."""
        path = request.url.path
        if not path.startswith(API):
            return None
        rest = path[len(API) :].split("/", 1)
        return rest[1] if len(rest) == 2 else None

    def store_tokens(self, secrets: SecretStore, realm_ids: list[str] | None = None) -> None:
        """Put freshly issued tokens (and the client secret) where the connector looks,
        as if the user had just signed in (for tests that are not about signing in)."""
        issued = self.auth.issue(realm_ids)
        secrets.set("quickbooks_online.client_secret", self.auth.client_secret)
        secrets.set("quickbooks_online.refresh_token", str(issued["refresh_token"]))
        secrets.set("quickbooks_online.access_token", str(issued["access_token"]))
        expires_at = self.clock() + float(str(issued["expires_in"]))
        secrets.set("quickbooks_online.token_expires_at", repr(expires_at))

    def only_company(self) -> Company:
        (company,) = self.companies.values()
        return company

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")

    # ------------------------------------------------------------------ entry point

    def before_api(self, request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if request.method == "GET" and path == "/connect/oauth2":
            return self._authorize(request)
        if request.method == "POST" and path == "/oauth2/v1/tokens/bearer":
            return self.auth.token(request)
        return None

    def answer(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    def server_error(self) -> httpx.Response:
        return self._system_fault()

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        # QuickBooks sends no Retry-After with its 429.
        return self._throttled()

    def _authorize(self, request: httpx.Request) -> httpx.Response:
        """Intuit's page, as the user leaves it: back to the redirect with ``realmId``."""
        answer = self.auth.authorize(request)
        location = answer.headers.get("Location", "")
        if answer.status_code == 302 and "code=" in location:
            realm = self.auth.consent_tenants or [t.tenant_id for t in self.auth.tenants]
            extra = urlencode({"realmId": realm[0]})
            answer.headers["Location"] = f"{location}&{extra}"
        return answer

    def _system_fault(self) -> httpx.Response:
        error = {
            "Message": "An application error has occurred while processing your request",
            "Detail": "System Failure Error: An unexpected error occurred while accessing or "
            "saving your data. Please wait a few minutes and try again.",
            "code": "10000",
        }
        return _json(500, _fault_body([error], "SystemFault", self._stamp()))

    def _throttled(self) -> httpx.Response:
        body = {
            "fault": {
                "error": [
                    {
                        "message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                        "detail": "The request limit was reached.",
                        "code": "3001",
                    }
                ],
                "type": "SERVICE",
            },
            "time": self._stamp(),
        }
        return _json(429, body)

    # ------------------------------------------------------------------ auth, limits

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith(API):
            return httpx.Response(404, text="Not found")
        grant = self.auth.grant_for(request.headers.get("Authorization", ""))
        if grant is None:
            return _json(
                401,
                {
                    "fault": {
                        "error": [
                            {
                                "message": "message=AuthenticationFailed; errorCode=003200; "
                                "statusCode=401",
                                "detail": "Token expired or invalid",
                                "code": "3200",
                            }
                        ],
                        "type": "AUTHENTICATION",
                    },
                    "time": self._stamp(),
                },
            )
        realm, _, rest = path[len(API) :].partition("/")
        company = self.companies.get(realm)
        if company is None or realm not in grant.tenant_ids:
            error = {
                "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; "
                "statusCode=403",
                "Detail": "The application is not authorised for this company.",
                "code": "3100",
            }
            return _json(403, _fault_body([error], "AUTHORIZATION", self._stamp()))
        minor = request.url.params.get("minorversion", "")
        self.minor_versions[minor] += 1
        if not minor.isdigit() or int(minor) < MIN_MINOR_VERSION:
            return self._validation(
                "Unsupported minor version",
                f"Minor version {minor or '(none)'} is not supported; use 75 or later.",
                code="4001",
            )
        operations, is_batch = self._cost(request, rest)
        with self._lock:
            limited = self._count_call(company, operations, is_batch)
            if limited is not None:
                return limited
            company.in_flight += 1
        try:
            with self._lock:
                return self._route(company, request, rest)
        finally:
            with self._lock:
                company.in_flight -= 1

    @staticmethod
    def _cost(request: httpx.Request, rest: str) -> tuple[int, bool]:
        if request.method == "POST" and rest.lower() == "batch":
            try:
                body = loads_json(request.content)
                items = body.get("BatchItemRequest") if isinstance(body, dict) else None
                return max(1, len(items) if isinstance(items, list) else 1), True
            except ValueError:
                return 1, True
        return 1, False

    def _count_call(self, company: Company, operations: int, batch: bool) -> httpx.Response | None:
        if company.in_flight >= CONCURRENT_LIMIT:
            return self._throttled()
        return self.admit(company.windows, {"minute": operations, "batches": 1 if batch else 0})

    # ------------------------------------------------------------------ routing

    def _route(self, company: Company, request: httpx.Request, rest: str) -> httpx.Response:
        parts = [p for p in rest.split("/") if p]
        name = parts[0].lower() if parts else ""
        if request.method == "GET":
            if name == "query":
                return self._query(company, request.url.params.get("query", ""))
            if name == "companyinfo" and len(parts) == 2 and parts[1] == company.realm_id:
                return self._ok({"CompanyInfo": self._company_info(company)})
            if name == "preferences":
                return self._ok({"Preferences": self._preferences(company)})
            return httpx.Response(404, text="Not found")
        if request.method != "POST":
            return httpx.Response(405, text="Method not allowed")
        request_id = request.url.params.get("requestid", "")
        fingerprint = hashlib.sha256(f"{request.url.path}\n".encode() + request.content).hexdigest()
        if request_id:
            if len(request_id) > (36 if name == "batch" else 50):
                return self._validation("Invalid requestid", "The requestid is too long.")
            cached = company.request_ids.get(request_id)
            if cached is not None:
                if cached[0] != fingerprint:
                    # Stand-in check: a requestid stands for exactly one request.
                    return self._validation(
                        "Duplicate requestid",
                        "This requestid was already used for a different request.",
                    )
                return httpx.Response(
                    200, content=cached[1], headers={"Content-Type": "application/json"}
                )
        try:
            body = loads_json(request.content)
        except ValueError:
            return self._validation("Request has invalid or unsupported property", "Bad JSON.")
        if not isinstance(body, dict):
            return self._validation("Request has invalid or unsupported property", "Not JSON.")
        if name == "batch":
            response = self._batch(company, body, bool(request_id))
        else:
            entity = _ENTITIES.get(name)
            if entity is None:
                return httpx.Response(404, text="Not found")
            try:
                if entity in ("Customer", "Vendor") and "Id" in body:
                    record = self._update_name(company, entity, body)
                else:
                    record = self._create(company, entity, body)
            except QboFault as fault:
                return _json(400, _fault_body([fault.error], "ValidationFault", self._stamp()))
            response = self._ok({entity: record})
        if request_id and response.status_code == 200:
            company.request_ids[request_id] = (fingerprint, response.content)
        return response

    def _ok(self, body: Json) -> httpx.Response:
        return _json(200, {**body, "time": self._stamp()})

    def _validation(self, message: str, detail: str, code: str = "2010") -> httpx.Response:
        error = {"Message": message, "Detail": detail, "code": code, "element": ""}
        return _json(400, _fault_body([error], "ValidationFault", self._stamp()))

    @staticmethod
    def _company_info(company: Company) -> Json:
        return {
            "Id": "1",
            "CompanyName": company.name,
            "LegalName": company.name,
            "Country": "GB",
            "CompanyAddr": {"Line1": "1 High Street", "City": "Leicester", "Country": "GB"},
            "SupportedLanguages": "en",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
        }

    @staticmethod
    def _preferences(company: Company) -> Json:
        accounting: Json = {"TrackDepartments": False, "ClassTrackingPerTxn": False}
        if company.book_close_date is not None:
            accounting["BookCloseDate"] = company.book_close_date.isoformat()
        return {
            "Id": "1",
            "AccountingInfoPrefs": accounting,
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
            "CurrencyPrefs": {"HomeCurrency": {"value": "GBP"}, "MultiCurrencyEnabled": False},
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
        }

    def _query(self, company: Company, text: str) -> httpx.Response:
        try:
            parsed = parse_query(text)
            if parsed.entity not in _QUERYABLE:
                raise QueryError(f"Unknown entity {parsed.entity!r}")
        except QueryError as problem:
            return self._validation(
                "Error parsing query", f"QueryParserError: {problem}", code="4000"
            )
        conditions = parsed.conditions
        if parsed.entity in ACTIVE_BY_DEFAULT and not any(
            name.lower() == "active" for name, _, _ in conditions
        ):
            conditions = [*conditions, ("Active", "=", True)]
        records = [
            r
            for r in company.table(parsed.entity).values()
            if all(_compare(_field(r, n), op, v) for n, op, v in conditions)
        ]
        records.sort(key=lambda r: int(r["Id"]))
        page = records[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
        answer: Json = {}
        if page:
            answer = {
                parsed.entity: copy.deepcopy(page),
                "startPosition": parsed.start,
                "maxResults": len(page),
            }
        return self._ok({"QueryResponse": answer})

    # ------------------------------------------------------------------ creating

    def _batch(self, company: Company, body: Json, with_request_id: bool) -> httpx.Response:
        requests = body.get("BatchItemRequest")
        if not isinstance(requests, list) or not requests:
            return self._validation("Invalid batch request", "BatchItemRequest is empty.")
        if len(requests) > BATCH_MAX:
            # Stand-in wording: Intuit's exact text for an oversized batch is not public.
            return self._validation(
                "Batch request too large", f"A batch holds at most {BATCH_MAX} operations."
            )
        answers: list[Json] = []
        for entry in requests:
            if not isinstance(entry, dict):
                return self._validation("Invalid batch request", "Each item must be an object.")
            b_id = str(entry.get("bId") or "")
            if not b_id or (with_request_id and len(b_id) > 10):
                return self._validation("Invalid batch request", "Each bId is 1 to 10 characters.")
            entities = [k for k in entry if k in _ENTITIES.values()]
            if entry.get("operation") != "create" or len(entities) != 1:
                return self._validation(
                    "Invalid batch request", "Ledgerlink's stand-in takes create operations only."
                )
            entity = entities[0]
            payload = entry[entity]
            try:
                if not isinstance(payload, dict):
                    raise QboFault("2010", "Request has invalid or unsupported property")
                record = self._create(company, entity, payload)
            except QboFault as fault:
                answers.append(
                    {"bId": b_id, "Fault": {"Error": [fault.error], "type": "ValidationFault"}}
                )
                continue
            answers.append({"bId": b_id, entity: record})
        return self._ok({"BatchItemResponse": answers})

    def _create(self, company: Company, entity: str, body: Json) -> Json:
        """Validate and save one record (or raise :class:`QboFault`, saving nothing)."""
        maker = {
            "Customer": self._name,
            "Vendor": self._name,
            "Item": self._item,
            "Invoice": self._document,
            "CreditMemo": self._document,
            "Payment": self._payment,
        }[entity]
        record = maker(company, entity, body)
        return copy.deepcopy(record)

    def _meta(self) -> Json:
        stamp = self._stamp()
        return {"CreateTime": stamp, "LastUpdatedTime": stamp}

    def _name(self, company: Company, entity: str, body: Json) -> Json:
        display = " ".join(str(body.get("DisplayName") or "").split())
        if not display:
            display = (
                " ".join(
                    str(body.get(k) or "").strip()
                    for k in ("GivenName", "FamilyName")
                    if str(body.get(k) or "").strip()
                )
                or str(body.get("CompanyName") or "").strip()
            )
        if not display:
            raise QboFault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName is missing in the request",
            )
        if ":" in display:
            # Stand-in wording for the XSD's rule that names must not contain a colon.
            raise QboFault(
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: A name cannot contain a colon (:).",
            )
        if _fold(display) in company.names_in_use():
            raise _name_taken()
        address = _checked_email(body)
        name_id = str(next(company.name_ids))
        record: Json = {
            "Id": name_id,
            "SyncToken": "0",
            "MetaData": self._meta(),
            "DisplayName": display,
            "FullyQualifiedName": display,
            "Active": True,
            "Balance": Decimal("0.00"),
            "domain": "QBO",
            "sparse": False,
        }
        for key in ("CompanyName", "GivenName", "FamilyName", "PrintOnCheckName", "Notes"):
            if str(body.get(key) or "").strip():
                record[key] = str(body[key]).strip()
        if isinstance(body.get("BillAddr"), dict):
            record["BillAddr"] = {"Id": str(next(company.list_ids) + 1000), **body["BillAddr"]}
        if address:
            record["PrimaryEmailAddr"] = {"Address": address}
        if isinstance(body.get("PrimaryPhone"), dict):
            record["PrimaryPhone"] = dict(body["PrimaryPhone"])
        if entity == "Customer":
            record.update(Taxable=True, Job=False, BillWithParent=False)
        company.table(entity)[name_id] = record
        return record

    def _update_name(self, company: Company, entity: str, body: Json) -> Json:
        """A POST with an ``Id`` updates: the ``SyncToken`` must be the record's current
        one (else 5010); ``"sparse": true`` changes only the fields sent, a full update
        clears the optional ones left out. The display name stays unique (6240)."""
        record = company.table(entity).get(str(body.get("Id") or ""))
        if record is None:
            raise QboFault(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive "
                f"or deleted. Check the fields with {entity.lower()}s.",
            )
        if str(body.get("SyncToken")) != record["SyncToken"]:
            raise QboFault(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and API API were working on this at the same "
                "time. API API finished before you did, so your work was not saved.",
            )
        display = " ".join(str(body.get("DisplayName") or record["DisplayName"]).split())
        if _fold(display) != _fold(record["DisplayName"]) and _fold(display) in (
            company.names_in_use()
        ):
            raise _name_taken()
        _checked_email(body)
        optional = (
            "GivenName",
            "FamilyName",
            "CompanyName",
            "PrintOnCheckName",
            "Notes",
            "BillAddr",
            "PrimaryEmailAddr",
            "PrimaryPhone",
        )
        if body.get("sparse") is not True:
            for key in optional:
                record.pop(key, None)
        for key in optional:
            if key not in body:
                continue
            value = body[key]
            if isinstance(value, dict):
                kept = record.get(key) if isinstance(record.get(key), dict) else {}
                record[key] = {**kept, **value}
            else:
                record[key] = str(value or "").strip()
        record["DisplayName"] = record["FullyQualifiedName"] = display
        if "Active" in body:
            record["Active"] = bool(body["Active"])
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = {**record["MetaData"], "LastUpdatedTime": self._stamp()}
        return copy.deepcopy(record)

    def _item(self, company: Company, entity: str, body: Json) -> Json:
        name = " ".join(str(body.get("Name") or "").split())
        if not name:
            raise QboFault("2020", "Required param missing", "Required parameter Name is missing")
        if any(_fold(i["Name"]) == _fold(name) for i in company.items.values()):
            raise QboFault(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another product or service is already "
                "using this name. Please use a different name.",
            )
        account = company.accounts.get(_ref(body, "IncomeAccountRef"))
        if account is None or account["AccountType"] not in ("Income", "Other Income"):
            raise QboFault(
                "2500",
                "Invalid Reference Id",
                "Invalid Reference Id : Accounts element id",
                "IncomeAccountRef",
            )
        return self.add_item(company, name, account["Id"])

    def _lock_check(self, company: Company, on: date) -> None:
        if company.book_close_date is not None and on <= company.book_close_date:
            raise QboFault(
                "6210",
                "Account Period Closed",
                "The account period has closed and the account books cannot be updated "
                "through the QBO Services API. Please use the QBO website to make these changes.",
            )

    def _customer(self, company: Company, body: Json) -> Json:
        customer = company.customers.get(_ref(body, "CustomerRef"))
        if customer is None or not customer.get("Active"):
            raise QboFault(
                "2500",
                "Invalid Reference Id",
                "Invalid Reference Id : Names element id does not exist",
                "CustomerRef",
            )
        return customer

    def _document(self, company: Company, entity: str, body: Json) -> Json:
        customer = self._customer(company, body)
        number = str(body.get("DocNumber") or "").strip()
        if len(number) > DOC_NUMBER_MAX:
            raise QboFault(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"DocNumber: maximum length is {DOC_NUMBER_MAX}",
                "DocNumber",
            )
        table = company.table(entity)
        if number and any(
            r.get("DocNumber", "").casefold() == number.casefold() for r in table.values()
        ):
            raise QboFault(
                "6140",
                "Duplicate Document Number Error",
                "Duplicate Document Number Error : You must specify a different number. This "
                f"number has already been used. DocNumber={number} is assigned to "
                f"TxnType={entity}",
            )
        on = _parse_date(body.get("TxnDate"))
        if on is None:
            raise QboFault("2020", "Required param missing", "TxnDate is required", "TxnDate")
        self._lock_check(company, on)
        lines, nets = self._lines(company, body)
        tax_lines, total_tax = self._taxes(company, body, nets)
        sub_total = sum((line["Amount"] for line in lines), Decimal("0.00"))
        total = sub_total + total_tax
        txn_id = str(next(company.txn_ids))
        record: Json = {
            "Id": txn_id,
            "SyncToken": "0",
            "MetaData": self._meta(),
            "DocNumber": number or txn_id,
            "TxnDate": on.isoformat(),
            "CurrencyRef": {"value": "GBP", "name": "British Pound Sterling"},
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "Line": [
                *lines,
                {"Amount": sub_total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
            ],
            "TxnTaxDetail": {"TotalTax": total_tax, "TaxLine": tax_lines},
            "GlobalTaxCalculation": body.get("GlobalTaxCalculation", "TaxExcluded"),
            "TotalAmt": total,
            "Balance": total,
            "domain": "QBO",
            "sparse": False,
        }
        if entity == "Invoice" and _parse_date(body.get("DueDate")):
            record["DueDate"] = body["DueDate"]
        if entity == "CreditMemo":
            record["RemainingCredit"] = total
        for key in ("CustomerMemo", "PrivateNote"):
            if body.get(key):
                record[key] = copy.deepcopy(body[key])
        company.table(entity)[txn_id] = record
        return record

    def _lines(self, company: Company, body: Json) -> tuple[list[Json], dict[str, Decimal]]:
        raw = body.get("Line")
        if not isinstance(raw, list) or not raw:
            raise QboFault(
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: You must set a transaction amount.",
            )
        lines: list[Json] = []
        nets: dict[str, Decimal] = {}
        for number, line in enumerate(raw, start=1):
            detail = line.get("SalesItemLineDetail") if isinstance(line, dict) else None
            if not isinstance(detail, dict) or line.get("DetailType") != "SalesItemLineDetail":
                raise QboFault("2010", "Request has invalid or unsupported property", "Line")
            item = company.items.get(_ref(detail, "ItemRef"))
            if item is None or not item.get("Active"):
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    "Invalid Reference Id : Something you're trying to use has been made "
                    "inactive. Check the fields with accounts, customers, items, vendors or "
                    "employees.",
                    "Line.SalesItemLineDetail.ItemRef",
                )
            code_id = _ref(detail, "TaxCodeRef")
            if not code_id:
                raise QboFault(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: Make sure all your transactions have a VAT rate "
                    "before you save.",
                )
            code = company.tax_codes.get(code_id)
            sales = (code or {}).get("SalesTaxRateList", {}).get("TaxRateDetail") or []
            if code is None or not code.get("Active") or not sales:
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    "Invalid Reference Id : TaxCode not valid for sales",
                    "Line.SalesItemLineDetail.TaxCodeRef",
                )
            qty = _decimal(detail.get("Qty", 1))
            price = _decimal(detail.get("UnitPrice"))
            amount = _decimal(line.get("Amount"))
            if qty is None or price is None or amount is None:
                raise QboFault("2010", "Request has invalid or unsupported property", "Amount")
            if (qty * price).quantize(PENNY, rounding=ROUND_HALF_UP) != amount:
                raise QboFault(
                    "6070",
                    "Amount calculation incorrect",
                    "Amount is not equal to UnitPrice * Qty. Supplied value:" + str(amount),
                )
            rate_id = sales[0]["TaxRateRef"]["value"]
            nets[rate_id] = nets.get(rate_id, Decimal("0.00")) + amount
            lines.append(
                {
                    "Id": str(number),
                    "LineNum": number,
                    "Description": str(line.get("Description") or ""),
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"], "name": item["Name"]},
                        "UnitPrice": price,
                        "Qty": qty,
                        "ItemAccountRef": dict(item["IncomeAccountRef"]),
                        "TaxCodeRef": {"value": code_id},
                    },
                }
            )
        return lines, nets

    def _taxes(
        self, company: Company, body: Json, nets: dict[str, Decimal]
    ) -> tuple[list[Json], Decimal]:
        """Tax lines as sent (each within a penny a line of the rate), or worked out."""
        given = (body.get("TxnTaxDetail") or {}).get("TaxLine")
        computed = {
            rate_id: (net * company.tax_rates[rate_id]["RateValue"] / 100).quantize(
                PENNY, rounding=ROUND_HALF_UP
            )
            for rate_id, net in nets.items()
        }
        amounts = dict(computed)
        if isinstance(given, list) and given:
            line_count = sum(1 for line in body.get("Line") or [])
            for tax_line in given:
                detail = tax_line.get("TaxLineDetail") if isinstance(tax_line, dict) else None
                rate_id = _ref(detail or {}, "TaxRateRef")
                amount = _decimal(tax_line.get("Amount")) if isinstance(tax_line, dict) else None
                if rate_id not in computed or amount is None:
                    raise QboFault(
                        "2500",
                        "Invalid Reference Id",
                        "Invalid Reference Id : TaxRate not used on any line",
                        "TxnTaxDetail.TaxLine.TaxLineDetail.TaxRateRef",
                    )
                if abs(amount - computed[rate_id]) > PENNY * line_count:
                    # Stand-in check: QuickBooks recalculates VAT it disagrees with.
                    raise QboFault(
                        "6000",
                        "A business validation error has occurred while processing your request",
                        "Business Validation Error: The VAT amount does not match the VAT rate.",
                    )
                amounts[rate_id] = amount
        lines = [
            {
                "Amount": amounts[rate_id],
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": rate_id},
                    "PercentBased": True,
                    "TaxPercent": company.tax_rates[rate_id]["RateValue"],
                    "NetAmountTaxable": net,
                },
            }
            for rate_id, net in nets.items()
        ]
        return lines, sum(amounts.values(), Decimal("0.00"))

    def _payment(self, company: Company, entity: str, body: Json) -> Json:
        customer = self._customer(company, body)
        total = _decimal(body.get("TotalAmt"))
        if total is None or total < 0 or total != total.quantize(PENNY):
            raise QboFault("2010", "Request has invalid or unsupported property", "TotalAmt")
        on = _parse_date(body.get("TxnDate"))
        if on is None:
            raise QboFault("2020", "Required param missing", "TxnDate is required", "TxnDate")
        self._lock_check(company, on)
        deposit_id = _ref(body, "DepositToAccountRef")
        if deposit_id:
            account = company.accounts.get(deposit_id)
            if account is None or account["AccountType"] not in ("Bank", "Other Current Asset"):
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    "Invalid Reference Id : Deposit to account must be a bank account",
                    "DepositToAccountRef",
                )
        applied = {"Invoice": Decimal("0.00"), "CreditMemo": Decimal("0.00")}
        uses: list[tuple[Json, Decimal]] = []
        lines = []
        for line in body.get("Line") or []:
            amount = _decimal(line.get("Amount")) if isinstance(line, dict) else None
            linked = (line.get("LinkedTxn") or [{}])[0] if isinstance(line, dict) else {}
            kind = str(linked.get("TxnType") or "")
            target = company.table(kind).get(str(linked.get("TxnId"))) if kind in applied else None
            if amount is None or amount <= 0 or target is None:
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    "Invalid Reference Id : The transaction to apply the payment to was not found",
                    "Line.LinkedTxn",
                )
            if target["CustomerRef"]["value"] != customer["Id"]:
                raise QboFault(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: The transaction belongs to another customer.",
                )
            already = sum((a for t, a in uses if t is target), Decimal("0.00"))
            if amount + already > target["Balance"]:
                # Stand-in wording: Intuit's text for this refusal is not public.
                what = "invoice" if kind == "Invoice" else "credit memo"
                raise QboFault(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: The amount applied to {what} "
                    f"{target['DocNumber']} is more than its open balance of "
                    f"{target['Balance']}.",
                )
            applied[kind] += amount
            uses.append((target, amount))
            lines.append(
                {"Amount": amount, "LinkedTxn": [{"TxnId": target["Id"], "TxnType": kind}]}
            )
        if applied["Invoice"] - applied["CreditMemo"] > total:
            raise QboFault(
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: The amount applied is more than the payment amount.",
            )
        txn_id = str(next(company.txn_ids))
        record: Json = {
            "Id": txn_id,
            "SyncToken": "0",
            "MetaData": self._meta(),
            "TxnDate": on.isoformat(),
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "TotalAmt": total,
            "UnappliedAmt": total - (applied["Invoice"] - applied["CreditMemo"]),
            "ProcessPayment": False,
            "Line": lines,
            "domain": "QBO",
            "sparse": False,
        }
        if deposit_id:
            record["DepositToAccountRef"] = {"value": deposit_id}
        for key in ("PaymentRefNum", "PrivateNote"):
            if str(body.get(key) or "").strip():
                record[key] = str(body[key]).strip()
        for target, amount in uses:
            target["Balance"] -= amount
            if "RemainingCredit" in target:
                target["RemainingCredit"] -= amount
        company.payments[txn_id] = record
        return record


_ENTITIES = {
    "customer": "Customer",
    "vendor": "Vendor",
    "item": "Item",
    "invoice": "Invoice",
    "creditmemo": "CreditMemo",
    "payment": "Payment",
}
_QUERYABLE = frozenset(
    {
        "Account",
        "Item",
        "TaxRate",
        "TaxCode",
        "Customer",
        "Vendor",
        "Employee",
        "Invoice",
        "CreditMemo",
        "Payment",
    }
)


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=dumps_json(body), headers={"Content-Type": "application/json"}
    )


# ----------------------------------------------------------------------------- by hand


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in QuickBooks Online on this computer for trying Ledgerlink by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    standin = QboStandIn()
    company = standin.add_company()
    server = LoopbackServer(standin, port=args.port)
    print(f"Stand-in QuickBooks Online on {server.url}, company {company.realm_id} (Ctrl+C stops).")
    print(
        f"  endpoint={server.url}  client_id={CLIENT_ID}  redirect_uri={RELAY}; "
        f"LEDGERLINK_QUICKBOOKS_ONLINE_CLIENT_SECRET={CLIENT_SECRET}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _name_taken() -> QboFault:
    """QuickBooks' answer to a display name another customer, vendor or employee uses."""
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is "
        "already using this name. Please use a different name.",
    )


def _checked_email(body: Json) -> str:
    """The body's email address; QuickBooks' fault for one it would refuse.

    Stand-in wording: Intuit rejects addresses without "@" and "." (XSD rule)."""
    email = body.get("PrimaryEmailAddr")
    address = str(email.get("Address") or "").strip() if isinstance(email, dict) else ""
    if address and not EMAIL.fullmatch(address):
        raise QboFault(
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: The email address is not valid.",
            "PrimaryEmailAddr",
        )
    return address
