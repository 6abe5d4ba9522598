"""A local Sage Business Cloud Accounting (API v3.1, UK): the calls Ledgerlink makes, in
Sage's JSON shapes.

Use it through ``httpx.MockTransport(standin)`` (routing is by path, so Sage's real
addresses work unchanged), or serve it on a loopback port for a developer::

    python -m tests.standins.sage --port 8767

What it enforces, as Sage does (sources in docs/packages/sage-business-cloud.md; where
Sage's exact wording is unknown the message is this stand-in's own):

- sign-in: bearer tokens from :class:`~tests.standins.oauth_server.AuthorizationServer`
  with a client secret; access tokens last five minutes, refresh tokens rotate (401
  ``AuthorizationFailure`` when missing or expired); ``X-Business`` must name a business
  the sign-in reaches (403);
- 100 requests a minute per business (a third-party figure: Sage publishes none), 429
  with ``Retry-After``;
- list envelopes (``$items``, ``$total``, ``$page``, ``$next``…), ``page`` and
  ``items_per_page`` (at most 200), ``attributes`` (only ``id``, ``displayed_as`` and
  ``$path`` unless asked), ``search`` (contacts: name or reference; documents: reference
  or contact name), ``contact_type_id``, ``transaction_type_id``;
- bodies wrapped in their singular key, holding only the fields Sage's v3.1 swagger
  lists for that create (plus ``idempotency_id``): any other field is refused with a
  422 naming it, so the stand-in cannot echo an invented field;
- ``idempotency_id`` (32 hex characters) inside the resource: for seven days a repeat
  of the same request is answered with the first answer and creates nothing (Sage's
  idempotency guide); the same id with a different body is refused;
- 422 answers as lists of ``$severity``, ``$dataCode``, ``$message``, ``$source``;
- ``PUT /contacts/{key}`` changes the fields sent (the same fields as a create); a
  deleted contact is not found, a GDPR-obfuscated one refused;
- contact references unique; invoice and credit note numbers unique; nothing dated on
  or before the year-end lockdown date or before the accounts start date; a
  ``tax_amount`` on every line whose rate is not zero, exempt or no-VAT, within a penny
  of the rate; receipts and allocations no more than is outstanding;
- each contact has a numeric legacy id, shown only in its web address (``links``):
  ``legacy_id`` and ``show_legacy_id`` are not in the v3.1 swagger, so neither is
  served, and a contact is read by its id alone;
- decimal values are read from strings or numbers; any that came as JSON numbers are
  noted in :attr:`SageStandIn.numbers_sent` (Ledgerlink sends strings).

Faults are armed explicitly and fire in order on the next matching request.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from connectors.contract import RateScale, SecretStore
from connectors.http import dumps_json, loads_json
from tests.standins.base import AFTER_SAVE as AFTER_SAVE
from tests.standins.base import Fault as Fault
from tests.standins.base import FaultKind as FaultKind
from tests.standins.base import RateWindow, RateWindows, StandIn, page_of, window
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer, Tenant

Json = dict[str, Any]
API = "/v3.1/"
PENNY = Decimal("0.01")
MINUTE_LIMIT = 100
PAGE_MAX = 200
CLIENT_ID = "ledgerlink-sage-test"
CLIENT_SECRET = "sage-test-secret"
WEB = "https://accounts-extra.sageone.com"
EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")
NO_VAT_NEEDED = frozenset({"GB_ZERO", "GB_EXEMPT", "GB_NO_TAX"})
IDEMPOTENCY_ID = re.compile(r"[0-9a-f]{32}")
IDEMPOTENCY_DAYS = 7

_ADDRESS = frozenset(
    {
        "address_line_1",
        "address_line_2",
        "address_type_id",
        "city",
        "country_group_id",
        "country_id",
        "postal_code",
        "region",
    }
)
_LINE = frozenset(
    {
        "base_currency_discount_amount",
        "base_currency_net_amount",
        "base_currency_tax_amount",
        "base_currency_total_amount",
        "base_currency_unit_price",
        "description",
        "discount_amount",
        "discount_percentage",
        "eu_goods_services_type_id",
        "eu_sales_description_id",
        "ledger_account_id",
        "net_amount",
        "product_id",
        "quantity",
        "service_id",
        "tax_amount",
        "tax_rate_id",
        "total_amount",
        "trade_of_asset",
        "unit_price",
        "unit_price_includes_tax",
    }
)
_TAX_ANALYSIS = frozenset(
    {"goods_amount", "net_amount", "service_amount", "tax_amount", "tax_rate_id", "total_amount"}
)
_DOCUMENT = frozenset(
    {
        "base_currency_cis_applicable_amount",
        "base_currency_net_amount",
        "base_currency_shipping_net_amount",
        "base_currency_shipping_tax_amount",
        "base_currency_shipping_total_amount",
        "base_currency_tax_amount",
        "base_currency_total_after_cis_deduction",
        "base_currency_total_amount",
        "base_currency_total_discount_amount",
        "base_currency_withholding_tax_amount",
        "cis_applicable_amount",
        "contact_id",
        "contact_name",
        "contact_reference",
        "currency_id",
        "date",
        "delivery_address",
        "exchange_rate",
        "inverse_exchange_rate",
        "main_address",
        "net_amount",
        "notes",
        "reference",
        "sent",
        "shipping_net_amount",
        "shipping_tax_amount",
        "shipping_tax_rate_id",
        "shipping_total_amount",
        "status_id",
        "tax_address_region_id",
        "tax_amount",
        "tax_analysis",
        "terms_and_conditions",
        "total_after_cis_deduction",
        "total_amount",
        "total_discount_amount",
        "total_quantity",
        "withholding_tax_amount",
        "withholding_tax_rate",
        "idempotency_id",
    }
)
#: The fields each create accepts, by where they sit ("" is the resource itself, "x[]"
#: each entry of the list x): the ``post…`` schemas of Sage's v3.1 swagger (``Sage
#: Business Cloud Accounting - Accounts`` 3.1, as in ``nook-io/python-sage``'s
#: ``openapi.json``), plus ``idempotency_id`` from Sage's idempotency guide.
FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "contact": {
        "": frozenset(
            {"aux_reference", "auxiliary_account", "bank_account_details",
             "contact_type_ids", "credit_days", "credit_limit", "credit_terms_and_conditions",
             "currency_id", "default_purchase_ledger_account_id",
             "default_sales_ledger_account_id", "default_sales_tax_rate_id",
             "delivery_address", "locale", "main_address", "main_contact_person", "name",
             "notes", "product_sales_price_type_id", "reference", "registered_number",
             "source_guid", "tax_calculation", "tax_number", "tax_treatment",
             "idempotency_id"}
        ),
        "main_address": _ADDRESS
        | {"bank_account_id", "contact_id", "is_main_address", "name"},
        "delivery_address": _ADDRESS
        | {"bank_account_id", "contact_id", "is_main_address", "name"},
        "main_contact_person": frozenset(
            {"address_id", "contact_person_type_ids", "email", "fax", "is_main_contact",
             "is_preferred_contact", "job_title", "mobile", "name", "telephone"}
        ),
        "bank_account_details": frozenset(
            {"account_name", "account_number", "bic", "iban", "sort_code"}
        ),
        "tax_treatment": frozenset(
            {"eu_not_tax_registered", "eu_tax_registered", "home_tax", "is_importer",
             "rest_of_world_tax"}
        ),
    },
    "sales_invoice": {
        "": _DOCUMENT
        | {"delivery_performance_date", "due_date", "invoice_lines", "invoice_number",
           "invoice_number_prefix", "original_quote_estimate_id", "recurring_invoice"},
        "main_address": _ADDRESS,
        "delivery_address": _ADDRESS,
        "invoice_lines[]": _LINE,
        "tax_analysis[]": _TAX_ANALYSIS,
        "recurring_invoice": frozenset(
            {"frequency", "on_day_number", "on_week_day", "recurrence_status_identifier",
             "recurrence_type"}
        ),
    },
    "sales_credit_note": {
        # original_invoice_date is the only "original invoice" field Sage has here.
        "": _DOCUMENT
        | {"credit_note_lines", "credit_note_number", "credit_note_number_prefix",
           "original_invoice_date"},
        "main_address": _ADDRESS,
        "delivery_address": _ADDRESS,
        "credit_note_lines[]": _LINE,
        "tax_analysis[]": _TAX_ANALYSIS,
    },
    "contact_payment": {
        "": frozenset(
            {"allocated_artefacts", "bank_account_id", "base_currency_currency_charge",
             "base_currency_net_amount", "base_currency_tax_amount",
             "base_currency_total_amount", "contact_id", "currency_id", "date",
             "exchange_rate", "net_amount", "payment_method_id", "payment_on_account",
             "reference", "tax_amount", "tax_rate_id", "total_amount",
             "transaction_type_id", "idempotency_id"}
        ),
        "allocated_artefacts[]": frozenset({"amount", "artefact_id", "discount"}),
    },
    "contact_allocation": {
        "": frozenset(
            {"allocated_artefacts", "contact_id", "date", "transaction_type_id",
             "idempotency_id"}
        ),
        "allocated_artefacts[]": frozenset({"amount", "artefact_id"}),
    },
}  # fmt: skip
#: Fields that hold decimal values in what Ledgerlink sends.
DECIMAL_FIELDS = frozenset(
    {"quantity", "unit_price", "net_amount", "tax_amount", "total_amount", "amount"}
)


class Invalid(Exception):
    """A 422: Sage's list of what is wrong, nothing saved."""

    def __init__(self, *errors: tuple[str, str]) -> None:
        super().__init__(errors)
        self.errors = [
            {"$severity": "error", "$dataCode": "RecordInvalid", "$message": m, "$source": s}
            for s, m in errors
        ]


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
    return uuid.uuid4().hex


def _base(record_id: str, label: str) -> Json:
    return {"id": record_id, "displayed_as": label}


# ----------------------------------------------------------------------------- the business

UK_LEDGERS: tuple[tuple[str, str, str], ...] = (
    ("1100", "Trade Debtors", "CURRENT_ASSETS"),
    ("1200", "Current", "BANK"),
    ("1210", "Deposit", "BANK"),
    ("2200", "Sales Tax Control Account", "CURRENT_LIABILITY"),
    ("4000", "Sales Type A", "SALES"),
    ("4010", "Sales Type B", "SALES"),
    ("4020", "Sales Type C", "SALES"),
    ("4900", "Other Income", "OTHER_INCOME"),
    ("5000", "Cost of sales - goods", "DIRECT_EXPENSES"),
    ("7500", "Office costs", "OVERHEADS"),
)
UK_TAX_RATES: tuple[tuple[str, str, str], ...] = (
    ("GB_STANDARD", "Standard 20.00%", "20"),
    ("GB_LOWER", "Lower Rate 5.00%", "5"),
    ("GB_ZERO", "Zero Rated 0.00%", "0"),
    ("GB_EXEMPT", "Exempt 0.00%", "0"),
    ("GB_NO_TAX", "No VAT", "0"),
)


@dataclass
class Business:
    """One Sage business's data, in Sage's JSON shapes (amounts as Decimals)."""

    tenant: Tenant
    year_end_lockdown_date: date | None = None
    accounts_start_date: date | None = date(2020, 1, 1)
    ledger_accounts: dict[str, Json] = field(default_factory=dict)
    bank_accounts: dict[str, Json] = field(default_factory=dict)
    tax_rates: dict[str, Json] = field(default_factory=dict)
    contacts: dict[str, Json] = field(default_factory=dict)
    sales_invoices: dict[str, Json] = field(default_factory=dict)
    sales_credit_notes: dict[str, Json] = field(default_factory=dict)
    contact_payments: dict[str, Json] = field(default_factory=dict)
    contact_allocations: dict[str, Json] = field(default_factory=dict)
    #: ``(resource, idempotency_id)`` → (the body's fingerprint, when, the first answer).
    idempotent: dict[tuple[str, str], tuple[str, float, Json]] = field(default_factory=dict)
    legacy_ids: Iterator[int] = field(default_factory=lambda: itertools.count(130_175_300))
    windows: RateWindows = field(
        default_factory=lambda: RateWindows([RateWindow("minute", MINUTE_LIMIT, 60.0)])
    )

    @property
    def id(self) -> str:
        return self.tenant.tenant_id

    @property
    def name(self) -> str:
        return self.tenant.name

    def collection(self, name: str) -> dict[str, Json]:
        return {
            "ledger_accounts": self.ledger_accounts,
            "bank_accounts": self.bank_accounts,
            "tax_rates": self.tax_rates,
            "contacts": self.contacts,
            "sales_invoices": self.sales_invoices,
            "sales_credit_notes": self.sales_credit_notes,
            "contact_payments": self.contact_payments,
            "contact_allocations": self.contact_allocations,
        }[name]

    def ledger(self, nominal_code: str) -> Json:
        return next(a for a in self.ledger_accounts.values() if a["nominal_code"] == nominal_code)

    def outstanding(self, invoice_id: str) -> Decimal:
        return Decimal(self.sales_invoices[invoice_id]["outstanding_amount"])

    def contacts_referenced(self, reference: str) -> list[Json]:
        return [c for c in self.contacts.values() if c.get("reference") == reference]

    def invoices_numbered(self, number: str) -> list[Json]:
        return [i for i in self.sales_invoices.values() if i.get("invoice_number") == number]

    def credit_notes_numbered(self, number: str) -> list[Json]:
        return [
            c for c in self.sales_credit_notes.values() if c.get("credit_note_number") == number
        ]

    def payments_referenced(self, reference: str) -> list[Json]:
        return [p for p in self.contact_payments.values() if p.get("reference") == reference]

    def locked_on_or_before(self, on: date) -> str | None:
        if self.year_end_lockdown_date is not None and on <= self.year_end_lockdown_date:
            lock = self.year_end_lockdown_date.strftime("%d/%m/%Y")
            return f"cannot be on or before the year end lockdown date ({lock})"
        if self.accounts_start_date is not None and on < self.accounts_start_date:
            start = self.accounts_start_date.strftime("%d/%m/%Y")
            return f"cannot be before the accounts start date ({start})"
        return None


# ----------------------------------------------------------------------------- the stand-in


class SageStandIn(StandIn):
    """See the module docstring."""

    API = API
    NAME = "Sage"

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
                access_lifetime=300.0,
                refresh_idle=31 * 86400.0,
                # Sage's sample app sends client_id and client_secret in the form body.
                secret_in_form=True,
            ),
            rate_scale=rate_scale,
        )
        self.businesses: dict[str, Business] = {}
        #: Every request's full address, query included, and every POST's path and body.
        self.urls: list[str] = []
        self.posted: list[tuple[str, bytes]] = []
        #: Where a decimal value came as a JSON number (``sales_invoice.invoice_lines.0…``).
        self.numbers_sent: list[str] = []
        #: Creates answered from an earlier request with the same ``idempotency_id``.
        self.replays = 0
        #: ``X-Business`` of every API call, to check none went to the "lead" business.
        self.business_headers: Counter[str] = Counter()

    # ------------------------------------------------------------------ set-up

    def add_business(self, name: str = "Demo Heating Ltd") -> Business:
        business = Business(tenant=Tenant(tenant_id=_new_id(), name=name))
        business.windows = RateWindows([window("minute", MINUTE_LIMIT, 60.0, self.rate_scale)])
        stamp = self._stamp()
        for code, ledger_name, kind in UK_LEDGERS:
            ledger_id = _new_id()
            business.ledger_accounts[ledger_id] = {
                **_base(ledger_id, f"{ledger_name} ({code})"),
                "ledger_account_type": _base(kind, kind.replace("_", " ").title()),
                "included_in_chart": True,
                "name": ledger_name,
                "display_name": ledger_name,
                "visible_in_sales": kind in ("SALES", "OTHER_INCOME"),
                "nominal_code": code,
                "created_at": stamp,
                "updated_at": stamp,
            }
            if kind == "BANK":
                bank_id = _new_id()
                business.bank_accounts[bank_id] = {
                    **_base(bank_id, ledger_name),
                    "ledger_account": _base(ledger_id, ledger_name),
                    "bank_account_type": _base("CHECKING", "Current"),
                    "nominal_code": code,
                    "balance": Decimal("0.00"),
                    "created_at": stamp,
                    "updated_at": stamp,
                }
        for rate_id, rate_name, percent in UK_TAX_RATES:
            business.tax_rates[rate_id] = {
                **_base(rate_id, rate_name),
                "name": rate_name,
                "percentage": Decimal(percent).quantize(Decimal("0.01")),
                "is_visible": True,
                "is_combined_rate": False,
                "retailer": False,
            }
        self.businesses[business.id] = business
        self.auth.tenants.append(business.tenant)
        return business

    def add_contact(self, business: Business, role: str, name: str, **fields: Any) -> Json:
        """A contact keyed in by hand in Sage (``role``: CUSTOMER or VENDOR); an
        ``email`` is the main contact person's, as Sage keeps it."""
        email = fields.pop("email", None)
        if email is not None:
            person = dict(fields.get("main_contact_person") or {})
            fields["main_contact_person"] = {**person, "email": email}
        body = {"name": name, "contact_type_ids": [role], **fields}
        return self._new_contact(business, body)

    def store_tokens(self, secrets: SecretStore, business_ids: list[str] | None = None) -> None:
        """Put freshly issued tokens (and the client secret) where the connector looks,
        as if the user had just signed in (for tests that are not about signing in)."""
        issued = self.auth.issue(business_ids)
        secrets.set("sage_business_cloud.client_secret", self.auth.client_secret)
        secrets.set("sage_business_cloud.refresh_token", str(issued["refresh_token"]))
        secrets.set("sage_business_cloud.access_token", str(issued["access_token"]))
        expires_at = self.clock() + float(str(issued["expires_in"]))
        secrets.set("sage_business_cloud.token_expires_at", repr(expires_at))

    def only_business(self) -> Business:
        (business,) = self.businesses.values()
        return business

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")

    # ------------------------------------------------------------------ entry point

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.urls.append(str(request.url))
            if request.method == "POST" and request.url.path.startswith(API):
                self.posted.append((request.url.path, request.content))
        return super().__call__(request)

    def before_api(self, request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET" and request.url.path == "/oauth2/auth/central":
            return self.auth.authorize(request)
        return self.auth.handle(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    def server_error(self) -> httpx.Response:
        return _errors(500, ("", "Internal server error"), code="InternalServerError")

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        response = _errors(429, ("", "Too many requests"), code="TooManyRequests")
        response.headers["Retry-After"] = str(max(1, retry_after))
        return response

    # ------------------------------------------------------------------ auth, limits

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith(API):
            return _errors(404, ("", "Resource not found"), code="RecordNotFound")
        grant = self.auth.grant_for(request.headers.get("Authorization", ""))
        if grant is None:
            return _errors(
                401, ("", "The access token is invalid or has expired"), code="AuthorizationFailure"
            )
        parts = [p for p in path[len(API) :].split("/") if p]
        if parts and parts[0] == "businesses":
            return self._businesses(grant.tenant_ids, parts)
        business_id = request.headers.get("X-Business", "")
        self.business_headers[business_id] += 1
        business = self.businesses.get(business_id)
        if business is None or business_id not in grant.tenant_ids:
            return _errors(403, ("", "You do not have access to this business."), code="Forbidden")
        with self._lock:
            limited = self.admit(business.windows)
            if limited is not None:
                return limited
            try:
                if request.method == "GET":
                    return self._get(business, request, parts)
                if request.method == "POST" and len(parts) == 1:
                    return self._post(business, request, parts[0])
                if request.method == "PUT" and len(parts) == 2 and parts[0] == "contacts":
                    return self._put_contact(business, request, parts[1])
            except Invalid as invalid:
                return _json(422, invalid.errors)
        return _errors(404, ("", "Resource not found"), code="RecordNotFound")

    def _businesses(self, reachable: list[str], parts: list[str]) -> httpx.Response:
        found = [b for b in self.businesses.values() if b.id in reachable]
        if len(parts) == 1:
            return _json(200, [self._business_json(b) for b in found])
        business = next((b for b in found if b.id == parts[1]), None)
        if business is None:
            return _errors(404, ("", "Resource not found"), code="RecordNotFound")
        return _json(200, self._business_json(business))

    @staticmethod
    def _business_json(business: Business) -> Json:
        return {
            **_base(business.id, business.name),
            "$path": f"/businesses/{business.id}",
            "name": business.name,
            "country_of_registration": _base("GB-ENG", "England"),
            "is_demo": False,
        }

    # ------------------------------------------------------------------ reading

    def _get(self, business: Business, request: httpx.Request, parts: list[str]) -> httpx.Response:
        params = request.url.params
        name = parts[0] if parts else ""
        if name == "financial_settings" and len(parts) == 1:
            return _json(200, self._financial_settings(business))
        try:
            records = business.collection(name)
        except KeyError:
            return _errors(404, ("", "Resource not found"), code="RecordNotFound")
        attributes = params.get("attributes", "")
        if len(parts) == 2:
            record = records.get(parts[1])
            if record is None:
                return _errors(404, ("", "Resource not found"), code="RecordNotFound")
            return _json(200, self._render(name, record, "all"))
        selected = self._filter(name, list(records.values()), params)
        try:
            size = min(int(params.get("items_per_page") or 20), PAGE_MAX)
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            raise Invalid(("items_per_page", "must be a number")) from None
        chunk, more = page_of(selected, page, size)
        return _json(
            200,
            {
                "$total": len(selected),
                "$page": page,
                "$next": f"/{name}?page={page + 1}&items_per_page={size}" if more else None,
                "$back": f"/{name}?page={page - 1}&items_per_page={size}" if page > 1 else None,
                "$itemsPerPage": size,
                "$items": [self._render(name, r, attributes) for r in chunk],
            },
        )

    @staticmethod
    def _render(name: str, record: Json, attributes: str) -> Json:
        base = {
            "id": record["id"],
            "displayed_as": record.get("displayed_as", ""),
            "$path": f"/{name}/{record['id']}",
        }
        wanted = {a.strip() for a in attributes.split(",") if a.strip()}
        if "all" in wanted:
            shown = {k: v for k, v in record.items() if k != "legacy_id"}
        else:
            shown = {k: v for k, v in record.items() if k in wanted and k != "legacy_id"}
        return copy.deepcopy({**base, **shown})

    @staticmethod
    def _filter(name: str, records: list[Json], params: httpx.QueryParams) -> list[Json]:
        selected = [r for r in records if not r.get("deleted_at")]
        kind = params.get("contact_type_id", "")
        if kind:
            selected = [
                r for r in selected if any(t["id"] == kind for t in r.get("contact_types") or [])
            ]
        transaction = params.get("transaction_type_id", "")
        if transaction:
            selected = [r for r in selected if r["transaction_type"]["id"] == transaction]
        term = params.get("search", "").strip().casefold()
        if term:
            if name == "contacts":
                fields = ("name", "reference")
                selected = [
                    r
                    for r in selected
                    if any(term in str(r.get(f) or "").casefold() for f in fields)
                ]
            elif name in ("sales_invoices", "sales_credit_notes"):
                selected = [
                    r
                    for r in selected
                    if term in str(r.get("reference") or "").casefold()
                    or term in str(r["contact"]["displayed_as"]).casefold()
                ]
            else:
                selected = [r for r in selected if term in str(r.get("displayed_as")).casefold()]
        return selected

    @staticmethod
    def _financial_settings(business: Business) -> Json:
        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "$path": "/financial_settings",
            "year_end_date": "2026-03-31",
            "year_end_lockdown_date": iso(business.year_end_lockdown_date),
            "accounts_start_date": iso(business.accounts_start_date),
            "accounting_type": "accrual",
            "base_currency": _base("GBP", "Pound Sterling (GBP)"),
            "multi_currency_enabled": False,
            "mtd_connected": True,
            "tax_return_frequency": _base("QUARTERLY", "Quarterly"),
        }

    # ------------------------------------------------------------------ creating

    def _post(self, business: Business, request: httpx.Request, name: str) -> httpx.Response:
        singular = {
            "contacts": "contact",
            "sales_invoices": "sales_invoice",
            "sales_credit_notes": "sales_credit_note",
            "contact_payments": "contact_payment",
            "contact_allocations": "contact_allocation",
        }.get(name)
        if singular is None:
            return _errors(404, ("", "Resource not found"), code="RecordNotFound")
        try:
            body = loads_json(request.content)
        except ValueError:
            raise Invalid(("", "The request body is not valid JSON")) from None
        inner = body.get(singular) if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise Invalid((singular, f"The request body must hold a {singular} object"))
        unknown = _unknown_fields(FIELDS[singular], inner)
        if unknown:
            # Stand-in wording: Sage refuses a field its schema does not have.
            raise Invalid(*((f, "is not a known attribute") for f in unknown))
        self._note_numbers(singular, inner)
        replayed = self._replay(business, singular, inner)
        if replayed is not None:
            return replayed
        if name == "contacts":
            record = self._new_contact(business, inner)
        elif name == "sales_invoices":
            record = self._new_document(business, inner, credit=False)
        elif name == "sales_credit_notes":
            record = self._new_document(business, inner, credit=True)
        elif name == "contact_payments":
            record = self._new_payment(business, inner)
        else:
            record = self._new_allocation(business, inner)
        answer = self._render(name, record, "all")
        idempotency_id = str(inner.get("idempotency_id") or "")
        if idempotency_id:
            business.idempotent[(singular, idempotency_id)] = (
                _fingerprint(inner),
                self.clock(),
                answer,
            )
        return _json(201, answer)

    def _replay(self, business: Business, singular: str, inner: Json) -> httpx.Response | None:
        """The first answer to a request with this ``idempotency_id``, or ``None`` when
        the id is new (or older than seven days). Only creates that succeeded are kept
        (UNVERIFIED whether Sage also replays refusals)."""
        if "idempotency_id" not in inner:
            return None
        idempotency_id = inner["idempotency_id"]
        if not isinstance(idempotency_id, str) or not IDEMPOTENCY_ID.fullmatch(idempotency_id):
            raise Invalid(("idempotency_id", "must be 32 hexadecimal characters"))
        held = business.idempotent.get((singular, idempotency_id))
        if held is None or self.clock() - held[1] > IDEMPOTENCY_DAYS * 86400:
            return None
        fingerprint, _, answer = held
        if fingerprint != _fingerprint(inner):
            # Stand-in wording: what Sage says for a reused id is not published.
            raise Invalid(("idempotency_id", "has already been used for a different request"))
        with self._lock:
            self.replays += 1
        return _json(201, copy.deepcopy(answer))

    def _note_numbers(self, where: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                path = f"{where}.{key}"
                number = isinstance(inner, (int, Decimal, float)) and not isinstance(inner, bool)
                if key in DECIMAL_FIELDS and number:
                    self.numbers_sent.append(path)
                self._note_numbers(path, inner)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                self._note_numbers(f"{where}.{index}", inner)

    def _new_contact(self, business: Business, body: Json) -> Json:
        errors: list[tuple[str, str]] = []
        name = str(body.get("name") or "").strip()
        if not name:
            errors.append(("name", "can't be blank"))
        types = body.get("contact_type_ids")
        if (
            not isinstance(types, list)
            or not types
            or any(t not in ("CUSTOMER", "VENDOR") for t in types)
        ):
            errors.append(("contact_type_ids", "must be CUSTOMER and/or VENDOR"))
            types = []
        reference = str(body.get("reference") or "").strip()
        if reference and any(
            str(c.get("reference") or "").casefold() == reference.casefold()
            for c in business.contacts.values()
        ):
            # Stand-in wording: Sage's text for a duplicate reference is not published.
            errors.append(("reference", "has already been taken"))
        person_given = body.get("main_contact_person")
        email = str(
            (person_given.get("email") if isinstance(person_given, dict) else "") or ""
        ).strip()
        if email and not EMAIL.fullmatch(email):
            errors.append(("main_contact_person.email", "is invalid"))
        if errors:
            raise Invalid(*errors)
        contact_id = _new_id()
        legacy = next(business.legacy_ids)
        stamp = self._stamp()
        kind = "customers" if "CUSTOMER" in types else "vendors"
        address = body.get("main_address") if isinstance(body.get("main_address"), dict) else None
        person = (
            body.get("main_contact_person")
            if isinstance(body.get("main_contact_person"), dict)
            else None
        )
        record: Json = {
            **_base(contact_id, f"{name} ({reference})" if reference else name),
            "legacy_id": legacy,
            "links": [
                {"href": f"{WEB}/contacts/{kind}/{legacy}", "rel": "alternate", "type": "text/html"}
            ],
            "contact_types": [_base(t, t.title()) for t in types],
            "name": name,
            "reference": reference,
            "email": email or None,
            "notes": body.get("notes"),
            "balance": Decimal("0.00"),
            "main_address": None,
            "main_contact_person": None,
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
            "gdpr_obfuscated": False,
            "system": False,
        }
        if address:
            record["main_address"] = {
                **_base(
                    _new_id(), ", ".join(str(v) for k, v in address.items() if k != "country_id")
                ),
                "address_line_1": address.get("address_line_1", ""),
                "address_line_2": address.get("address_line_2", ""),
                "city": address.get("city", ""),
                "region": address.get("region", ""),
                "postal_code": address.get("postal_code", ""),
                "country": _base(str(address.get("country_id") or "GB"), "United Kingdom"),
            }
        if person:
            record["main_contact_person"] = {
                **_base(_new_id(), str(person.get("name") or "")),
                "name": person.get("name", ""),
                "telephone": person.get("telephone", ""),
                "email": person.get("email") or None,
            }
        business.contacts[contact_id] = record
        return record

    def _put_contact(
        self, business: Business, request: httpx.Request, contact_id: str
    ) -> httpx.Response:
        """``PUT /contacts/{key}``: the fields sent change (the ``putContacts`` schema,
        every field optional); the main address and main contact person are changed in
        place. A deleted contact is not found; an obfuscated (GDPR) one is refused."""
        record = business.contacts.get(contact_id)
        if record is None or record.get("deleted_at"):
            return _errors(404, ("", "Resource not found"), code="RecordNotFound")
        try:
            body = loads_json(request.content)
        except ValueError:
            raise Invalid(("", "The request body is not valid JSON")) from None
        inner = body.get("contact") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise Invalid(("contact", "The request body must hold a contact object"))
        allowed = {**FIELDS["contact"], "": FIELDS["contact"][""] - {"idempotency_id"}}
        unknown = _unknown_fields(allowed, inner)
        if unknown:
            raise Invalid(*((f, "is not a known attribute") for f in unknown))
        if record.get("gdpr_obfuscated"):
            # Stand-in wording: Sage's text for changing an obfuscated contact is unknown.
            raise Invalid(("contact", "has been obfuscated and can no longer be changed"))
        person = inner.get("main_contact_person")
        email = str((person.get("email") if isinstance(person, dict) else "") or "").strip()
        if email and not EMAIL.fullmatch(email):
            raise Invalid(("main_contact_person.email", "is invalid"))
        if "name" in inner and not str(inner["name"] or "").strip():
            raise Invalid(("name", "can't be blank"))
        for key in ("name", "notes", "reference"):
            if key in inner:
                record[key] = str(inner[key] or "").strip()
        address = inner.get("main_address")
        if isinstance(address, dict):
            current = record.get("main_address") or _base(_new_id(), "")
            current.update(
                {k: v for k, v in address.items() if k in _ADDRESS and k != "country_id"}
            )
            if "country_id" in address:
                current["country"] = _base(str(address["country_id"]), "United Kingdom")
            record["main_address"] = current
        if isinstance(person, dict):
            current = record.get("main_contact_person") or _base(_new_id(), "")
            current.update({k: v for k, v in person.items() if k in ("name", "telephone")})
            if "email" in person:
                current["email"] = email or None
            current["displayed_as"] = str(current.get("name") or "")
            record["main_contact_person"] = current
            record["email"] = current.get("email")
        record["updated_at"] = self._stamp()
        return _json(200, self._render("contacts", record, "all"))

    def _contact_for(self, business: Business, body: Json, kind: str) -> Json:
        contact = business.contacts.get(str(body.get("contact_id") or ""))
        if contact is None or not any(t["id"] == kind for t in contact["contact_types"]):
            raise Invalid(("contact_id", "is not a valid customer"))
        return contact

    def _new_document(self, business: Business, body: Json, *, credit: bool) -> Json:
        contact = self._contact_for(business, body, "CUSTOMER")
        errors: list[tuple[str, str]] = []
        number_field = "credit_note_number" if credit else "invoice_number"
        store = business.sales_credit_notes if credit else business.sales_invoices
        number = str(body.get(number_field) or "").strip()
        if number and any(
            str(d.get(number_field) or "").casefold() == number.casefold() for d in store.values()
        ):
            # Stand-in wording: Sage's text for a duplicate number is not published.
            errors.append((number_field, "has already been taken"))
        on = _parse_date(body.get("date"))
        if on is None:
            errors.append(("date", "can't be blank"))
        elif (locked := business.locked_on_or_before(on)) is not None:
            errors.append(("date", locked))
        lines_key = "credit_note_lines" if credit else "invoice_lines"
        lines, line_errors = self._lines(business, body.get(lines_key), lines_key)
        errors += line_errors
        if errors:
            raise Invalid(*errors)
        assert on is not None
        net = sum((line["net_amount"] for line in lines), Decimal("0.00"))
        tax = sum((line["tax_amount"] for line in lines), Decimal("0.00"))
        document_id = _new_id()
        stamp = self._stamp()
        if not number:
            number = f"{'SCN' if credit else 'SI'}-{len(store) + 1}"
        record: Json = {
            **_base(document_id, number),
            "legacy_id": next(business.legacy_ids),
            "contact": _base(contact["id"], contact["displayed_as"]),
            "contact_name": contact["name"],
            "contact_reference": contact["reference"],
            "date": on.isoformat(),
            number_field: number,
            "reference": str(body.get("reference") or ""),
            "notes": body.get("notes"),
            lines_key: lines,
            "net_amount": net,
            "tax_amount": tax,
            "total_amount": net + tax,
            "outstanding_amount": net + tax,
            "currency": _base("GBP", "Pound Sterling (GBP)"),
            "status": _base("UNPAID", "Unpaid"),
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
        }
        if credit:
            record["original_invoice_date"] = (
                original.isoformat()
                if (original := _parse_date(body.get("original_invoice_date")))
                else None
            )
        elif _parse_date(body.get("due_date")):
            record["due_date"] = body["due_date"]
        store[document_id] = record
        return record

    @staticmethod
    def _lines(
        business: Business, raw: object, key: str
    ) -> tuple[list[Json], list[tuple[str, str]]]:
        if not isinstance(raw, list) or not raw:
            return [], [(key, "must have at least one line")]
        lines: list[Json] = []
        errors: list[tuple[str, str]] = []
        for index, line in enumerate(raw):
            where = f"{key}.{index}"
            if not isinstance(line, dict):
                errors.append((where, "is invalid"))
                continue
            if not str(line.get("description") or "").strip():
                errors.append((f"{where}.description", "can't be blank"))
            ledger = business.ledger_accounts.get(str(line.get("ledger_account_id") or ""))
            if ledger is None or not ledger.get("visible_in_sales"):
                errors.append((f"{where}.ledger_account_id", "is not a valid sales ledger account"))
            rate_id = str(line.get("tax_rate_id") or "")
            rate = business.tax_rates.get(rate_id)
            if rate is None:
                errors.append((f"{where}.tax_rate_id", "is not a valid tax rate"))
            quantity = _decimal(line.get("quantity", 1))
            price = _decimal(line.get("unit_price"))
            if quantity is None or price is None:
                errors.append((f"{where}.unit_price", "can't be blank"))
                continue
            net = (quantity * price).quantize(PENNY, rounding=ROUND_HALF_UP)
            given = _decimal(line.get("tax_amount"))
            if rate is not None:
                expected = (net * rate["percentage"] / 100).quantize(PENNY, rounding=ROUND_HALF_UP)
                if given is None and rate_id not in NO_VAT_NEEDED:
                    errors.append((f"{where}.tax_amount", "can't be blank for this tax rate"))
                elif given is not None and abs(given - expected) > PENNY:
                    # Stand-in check: Sage refuses VAT that does not fit the rate.
                    errors.append(
                        (
                            f"{where}.tax_amount",
                            f"does not match the tax rate (expected {expected})",
                        )
                    )
            tax = given if given is not None else Decimal("0.00")
            lines.append(
                {
                    "id": _new_id(),
                    "displayed_as": str(line.get("description") or ""),
                    "description": str(line.get("description") or ""),
                    "ledger_account": _base(ledger["id"], ledger["name"]) if ledger else None,
                    "quantity": quantity,
                    "unit_price": price,
                    "net_amount": net,
                    "tax_rate": _base(rate_id, rate["name"]) if rate else None,
                    "tax_amount": tax,
                    "total_amount": net + tax,
                }
            )
        return lines, errors

    def _new_payment(self, business: Business, body: Json) -> Json:
        if body.get("transaction_type_id") != "CUSTOMER_RECEIPT":
            raise Invalid(("transaction_type_id", "must be CUSTOMER_RECEIPT here"))
        contact = self._contact_for(business, body, "CUSTOMER")
        errors: list[tuple[str, str]] = []
        bank = business.bank_accounts.get(str(body.get("bank_account_id") or ""))
        if bank is None:
            errors.append(("bank_account_id", "is not a valid bank account"))
        total = _decimal(body.get("total_amount"))
        if total is None or total <= 0 or total != total.quantize(PENNY):
            errors.append(("total_amount", "must be more than zero, to the penny"))
        on = _parse_date(body.get("date"))
        if on is None:
            errors.append(("date", "can't be blank"))
        elif (locked := business.locked_on_or_before(on)) is not None:
            errors.append(("date", locked))
        allocations: list[tuple[Json, Decimal]] = []
        for index, artefact in enumerate(body.get("allocated_artefacts") or []):
            where = f"allocated_artefacts.{index}"
            invoice = business.sales_invoices.get(str(artefact.get("artefact_id") or ""))
            amount = _decimal(artefact.get("amount"))
            if invoice is None or invoice["contact"]["id"] != contact["id"]:
                errors.append((f"{where}.artefact_id", "is not an invoice of this contact"))
                continue
            if amount is None or amount <= 0:
                errors.append((f"{where}.amount", "must be more than zero"))
                continue
            already = sum((a for i, a in allocations if i is invoice), Decimal("0.00"))
            if amount + already > invoice["outstanding_amount"]:
                # Stand-in wording: Sage's text for an over-allocation is not published.
                errors.append((f"{where}.amount", "exceeds the outstanding amount"))
                continue
            allocations.append((invoice, amount))
        if total is not None and sum((a for _, a in allocations), Decimal(0)) > total:
            errors.append(("total_amount", "is less than the amount allocated"))
        if errors:
            raise Invalid(*errors)
        assert bank is not None and total is not None and on is not None
        payment_id = _new_id()
        stamp = self._stamp()
        record: Json = {
            **_base(payment_id, str(body.get("reference") or "")),
            "transaction_type": _base("CUSTOMER_RECEIPT", "Customer Receipt"),
            "contact": _base(contact["id"], contact["displayed_as"]),
            "bank_account": _base(bank["id"], bank["displayed_as"]),
            "date": on.isoformat(),
            "total_amount": total,
            "reference": str(body.get("reference") or ""),
            "allocated_artefacts": [
                {"artefact": _base(i["id"], i["invoice_number"]), "amount": a}
                for i, a in allocations
            ],
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
        }
        for invoice, amount in allocations:
            invoice["outstanding_amount"] -= amount
            if invoice["outstanding_amount"] == 0:
                invoice["status"] = _base("PAID", "Paid")
        business.contact_payments[payment_id] = record
        return record

    def _new_allocation(self, business: Business, body: Json) -> Json:
        if body.get("transaction_type_id") != "CUSTOMER_ALLOCATION":
            raise Invalid(("transaction_type_id", "must be CUSTOMER_ALLOCATION here"))
        contact = self._contact_for(business, body, "CUSTOMER")
        on = _parse_date(body.get("date"))
        if on is not None and (locked := business.locked_on_or_before(on)) is not None:
            raise Invalid(("date", locked))
        parts: list[tuple[Json, Decimal]] = []
        for index, artefact in enumerate(body.get("allocated_artefacts") or []):
            where = f"allocated_artefacts.{index}"
            artefact_id = str(artefact.get("artefact_id") or "")
            target = business.sales_invoices.get(artefact_id) or business.sales_credit_notes.get(
                artefact_id
            )
            amount = _decimal(artefact.get("amount"))
            if target is None or target["contact"]["id"] != contact["id"] or amount is None:
                raise Invalid((f"{where}.artefact_id", "is not a document of this contact"))
            credit = artefact_id in business.sales_credit_notes
            if (amount < 0) != credit or abs(amount) > target["outstanding_amount"]:
                raise Invalid((f"{where}.amount", "exceeds the outstanding amount"))
            parts.append((target, abs(amount)))
        if (
            len(parts) < 2
            or sum(
                (_decimal(a.get("amount")) or Decimal(0))
                for a in body.get("allocated_artefacts") or []
            )
            != 0
        ):
            raise Invalid(("allocated_artefacts", "must balance to zero"))
        allocation_id = _new_id()
        record: Json = {
            **_base(allocation_id, "Customer Allocation"),
            "transaction_type": _base("CUSTOMER_ALLOCATION", "Customer Allocation"),
            "contact": _base(contact["id"], contact["displayed_as"]),
            "date": (on or date.today()).isoformat(),
            "allocated_artefacts": [
                {"artefact": _base(t["id"], t["displayed_as"]), "amount": a} for t, a in parts
            ],
            "created_at": self._stamp(),
        }
        for target, amount in parts:
            target["outstanding_amount"] -= amount
            if target["outstanding_amount"] == 0:
                target["status"] = _base("PAID", "Paid")
        business.contact_allocations[allocation_id] = record
        return record


def _unknown_fields(allowed: dict[str, frozenset[str]], body: Json, at: str = "") -> list[str]:
    """Paths (``invoice_lines.0.colour``) of the fields in ``body`` its schema lacks."""
    unknown: list[str] = []
    for key, value in body.items():
        path = f"{at}.{key}" if at else key
        if key not in allowed.get(_schema_key(at), frozenset()):
            unknown.append(path)
        elif isinstance(value, dict) and _schema_key(path) in allowed:
            unknown += _unknown_fields(allowed, value, path)
        elif isinstance(value, list) and f"{_schema_key(path)}[]" in allowed:
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    unknown += _unknown_fields(allowed, item, f"{path}.{index}")
    return unknown


def _schema_key(path: str) -> str:
    """``invoice_lines.0`` → ``invoice_lines[]``; ``main_address`` unchanged."""
    return re.sub(r"\.\d+$", "[]", path)


def _fingerprint(body: Json) -> str:
    return dumps_json(body).decode("utf-8")


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=dumps_json(body), headers={"Content-Type": "application/json"}
    )


def _errors(status: int, *errors: tuple[str, str], code: str) -> httpx.Response:
    return _json(
        status,
        [
            {"$severity": "error", "$dataCode": code, "$message": message, "$source": source}
            for source, message in errors
        ],
    )


# ----------------------------------------------------------------------------- by hand


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in Sage Business Cloud Accounting on this computer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args(argv)
    standin = SageStandIn()
    standin.add_business()
    server = LoopbackServer(standin, port=args.port)
    print(f"Stand-in Sage Accounting on {server.url} (Ctrl+C stops it).")
    print(
        f"  endpoint={server.url}  client_id={CLIENT_ID}  redirect_ports=0; "
        f"LEDGERLINK_SAGE_BUSINESS_CLOUD_CLIENT_SECRET={CLIENT_SECRET}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
