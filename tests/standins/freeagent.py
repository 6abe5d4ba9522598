"""A local FreeAgent (API v2, UK): the calls Ledgerlink makes, in FreeAgent's JSON shapes.

Use it through ``httpx.MockTransport(standin)`` (routing is by path, so FreeAgent's real
addresses work unchanged), or serve it on a loopback port for a developer::

    python -m tests.standins.freeagent --port 8768

What it enforces, as FreeAgent does (sources in docs/packages/freeagent.md; where
FreeAgent's exact wording is unknown the message is this stand-in's own):

- sign-in: ``/v2/approve_app`` and ``/v2/token_endpoint`` through
  :class:`~tests.standins.oauth_server.AuthorizationServer` with a client secret (HTTP
  Basic); access tokens last an hour, refresh tokens rotate; a ``User-Agent`` on every
  request (400 without one);
- 120 requests a minute and 3,600 an hour per user, 429 "You must not exceed 120
  requests per 60 seconds" (no ``Retry-After``: FreeAgent's is UNVERIFIED);
- resources named by URL; lists wrapped in their plural key, ``page``/``per_page`` (at
  most 100) with ``Link`` headers (``rel="next"`` …);
- bodies wrapped in their singular key; refusals as ``{"errors": [{"message": …}]}``:
  422 for validation, 403 "Invoice is locked." for marking a locked invoice as sent,
  422 "dated_on is in a locked period", 400 "Invalid nominal code";
- ``PUT /v2/contacts/:id`` changes the fields sent (422 for a malformed email, in this
  stand-in's words);
- invoices and credit notes created as Draft, ``transitions/mark_as_sent`` opens them;
  invoice and credit note ``reference`` unique; receipts as bank transaction
  explanations with ``paid_invoice`` (an invoice must be open; more than is due is
  allowed and leaves it Overpaid, as FreeAgent does);
- the contacts list's views (``view=all|active|clients|suppliers|open_clients|…``): a
  client has invoices or credit notes, a supplier has bills (``add_bill`` keys one in);
- contact notes (``/v2/notes?contact=…``) and account locks (``/v2/account_locks``).

Faults are armed explicitly and fire in order on the next matching request.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.contract import RateScale, SecretStore
from connectors.http import dumps_json, loads_json
from tests.standins.base import RateWindows, StandIn, window
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer, Tenant

Json = dict[str, Any]
API = "/v2/"
PENNY = Decimal("0.01")
MINUTE_LIMIT = 120
HOUR_LIMIT = 3600
PAGE_MAX = 100
CLIENT_ID = "ledgerlink-freeagent-test"
CLIENT_SECRET = "freeagent-test-secret"

#: (group, nominal code, description) — a few of FreeAgent's UK categories.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("income_categories", "001", "Sales"),
    ("income_categories", "002", "Services"),
    ("income_categories", "049", "Other Income"),
    ("cost_of_sales_categories", "096", "Materials"),
    ("admin_expenses_categories", "250", "Accountancy Fees"),
    ("admin_expenses_categories", "285", "Travel"),
    ("general_categories", "900", "Suspense"),
)


class Invalid(Exception):
    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(messages)
        self.status = status
        self.messages = messages


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, (bool, float)):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@dataclass
class Company:
    """One FreeAgent company and everything in it (numbers, not URLs: URLs are made
    per request from the host asked for)."""

    tenant: Tenant
    subdomain: str = "demoheating"
    contacts: dict[int, Json] = field(default_factory=dict)
    notes: dict[int, Json] = field(default_factory=dict)
    invoices: dict[int, Json] = field(default_factory=dict)
    credit_notes: dict[int, Json] = field(default_factory=dict)
    #: Supplier bills, keyed in by hand in FreeAgent (Ledgerlink never sends bills):
    #: they are what makes a contact one of the ``suppliers`` view's.
    bills: dict[int, Json] = field(default_factory=dict)
    explanations: dict[int, Json] = field(default_factory=dict)
    bank_accounts: dict[int, Json] = field(default_factory=dict)
    #: Account locks: the user lock and year-end locks, as ``locked_to_date``.
    user_lock: date | None = None
    year_end_lock: date | None = None
    #: 120 a minute and 3,600 an hour per user (set per company by the stand-in).
    windows: RateWindows = field(default_factory=lambda: RateWindows([]))

    @property
    def name(self) -> str:
        return self.tenant.name

    @property
    def lock(self) -> date | None:
        dates = [d for d in (self.user_lock, self.year_end_lock) if d is not None]
        return max(dates) if dates else None

    def outstanding(self, invoice_number: str) -> Decimal:
        invoice = self.invoices[int(invoice_number)]
        due: Decimal = invoice["due_value"]
        return due


class FreeAgentStandIn(StandIn):
    """See the module docstring."""

    API = API
    NAME = "FreeAgent"

    def __init__(
        self, *, clock: Callable[[], float] = time.time, rate_scale: RateScale | None = None
    ) -> None:
        super().__init__(
            clock=clock,
            auth=AuthorizationServer(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                clock=clock,
                access_lifetime=3600.0,
                refresh_idle=90 * 86400.0,
            ),
            rate_scale=rate_scale,
        )
        self.companies: dict[str, Company] = {}
        self.user_agents: Counter[str] = Counter()
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ set-up

    def add_company(self, name: str = "Demo Heating Ltd") -> Company:
        scale = self.rate_scale
        company = Company(
            tenant=Tenant(tenant_id=f"fa-{len(self.companies) + 1}", name=name),
            windows=RateWindows(
                [
                    window("minute", MINUTE_LIMIT, 60.0, scale),
                    window("hour", HOUR_LIMIT, 3600.0, scale),
                ]
            ),
        )
        number = next(self._ids)
        company.bank_accounts[number] = {
            "name": "Business Current Account",
            "nominal_code": "750-1",
            "type": "StandardBankAccount",
        }
        self.companies[company.tenant.tenant_id] = company
        self.auth.tenants.append(company.tenant)
        return company

    def only_company(self) -> Company:
        (company,) = self.companies.values()
        return company

    def add_contact(self, company: Company, organisation_name: str, **fields: Any) -> int:
        """A contact keyed in by hand in FreeAgent."""
        with self._lock:
            return self._new_contact(company, {"organisation_name": organisation_name, **fields})

    def add_invoice(self, company: Company, contact: int, total: str = "120.00") -> int:
        """An open invoice keyed in by hand in FreeAgent, for ``contact``."""
        with self._lock:
            if contact not in company.contacts:
                raise KeyError(contact)
            number = next(self._ids)
            value = Decimal(total)
            company.invoices[number] = {
                "contact": contact,
                "reference": f"FA-{number}",
                "dated_on": date(2026, 4, 1),
                "payment_terms_in_days": 30,
                "status": "Open",
                "net_value": value,
                "sales_tax_value": Decimal("0.00"),
                "total_value": value,
                "paid_value": Decimal("0.00"),
                "due_value": value,
                "items": [],
                "created_at": self._stamp(),
            }
            return number

    def add_bill(
        self, company: Company, contact: int, total: str = "100.00", *, paid: bool = False
    ) -> int:
        """A supplier's bill keyed in by hand in FreeAgent, for ``contact``."""
        with self._lock:
            if contact not in company.contacts:
                raise KeyError(contact)
            number = next(self._ids)
            value = Decimal(total)
            company.bills[number] = {
                "contact": contact,
                "reference": f"BILL-{number}",
                "dated_on": date(2026, 4, 1),
                "total_value": value,
                "due_value": Decimal("0.00") if paid else value,
                "status": "Paid" if paid else "Open",
            }
            return number

    def store_tokens(self, secrets: SecretStore) -> None:
        """Tokens (and the client secret) where the connector looks, as if the user had
        just signed in."""
        issued = self.auth.issue()
        secrets.set("freeagent.client_secret", CLIENT_SECRET)
        secrets.set("freeagent.refresh_token", str(issued["refresh_token"]))
        secrets.set("freeagent.access_token", str(issued["access_token"]))
        expires_at = self.clock() + float(str(issued["expires_in"]))
        secrets.set("freeagent.token_expires_at", repr(expires_at))

    # ------------------------------------------------------------------ entry point

    def before_api(self, request: httpx.Request) -> httpx.Response | None:
        """FreeAgent's own sign-in addresses."""
        path = request.url.path
        if request.method == "GET" and path == "/v2/approve_app":
            return self.auth.authorize(request)
        if request.method == "POST" and path == "/v2/token_endpoint":
            return self.auth.token(request)
        return None

    def server_error(self) -> httpx.Response:
        return _errors(502, "Bad Gateway")

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        """An armed 429 says when to come back; FreeAgent's own (over a limit) does not,
        as far as its published material shows."""
        response = _too_many(None)
        response.headers["Retry-After"] = str(max(1, retry_after))
        return response

    # ------------------------------------------------------------------ routing

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith(API):
            return _errors(404, "Resource not found")
        agent = request.headers.get("User-Agent", "").strip()
        if not agent:
            return _errors(400, "A User-Agent header is required")
        grant = self.auth.grant_for(request.headers.get("Authorization", ""))
        if grant is None or not grant.tenant_ids:
            return _errors(401, "Access token not recognised")
        company = self.companies[grant.tenant_ids[0]]
        base = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}/v2"
        parts = [p for p in path[len(API) :].split("/") if p]
        with self._lock:
            self.user_agents[agent] += 1
            now = self.clock()
            if company.windows.admit(now) is not None:
                return _too_many(None)  # FreeAgent's own 429 names no wait (UNVERIFIED)
            self.counted.append((now, {name: 1 for name in company.windows.windows}))
            try:
                if request.method == "GET":
                    return self._get(company, request, parts, base)
                if request.method == "POST" and len(parts) == 1:
                    return self._post(company, request, parts[0], base)
                if request.method == "PUT" and parts[-2:] == ["transitions", "mark_as_sent"]:
                    return self._mark_as_sent(company, parts)
                if request.method == "PUT" and len(parts) == 2 and parts[0] == "contacts":
                    return self._update_contact(company, request, parts[1], base)
            except Invalid as invalid:
                return _errors(invalid.status, *invalid.messages)
        return _errors(404, "Resource not found")

    # ------------------------------------------------------------------ reading

    def _get(
        self, company: Company, request: httpx.Request, parts: list[str], base: str
    ) -> httpx.Response:
        params = request.url.params
        name = parts[0] if parts else ""
        if parts == ["company"]:
            return _json(200, {"company": self._company_json(company, base)})
        if parts == ["account_locks"]:
            locks = []
            if company.user_lock:
                locks.append({"locked_to_date": company.user_lock.isoformat(), "user_lock": True})
            if company.year_end_lock:
                locks.append(
                    {
                        "locked_to_date": company.year_end_lock.isoformat(),
                        "locked_by_description": "Accounting Year End",
                    }
                )
            return _json(200, {"account_locks": locks})
        if parts == ["categories"]:
            groups: dict[str, list[Json]] = {}
            for group, code, description in CATEGORIES:
                groups.setdefault(group, []).append(
                    {
                        "url": f"{base}/categories/{code}",
                        "description": description,
                        "nominal_code": code,
                    }
                )
            return _json(200, groups)
        if parts == ["notes"]:
            contact = _number(params.get("contact", ""))
            if contact is None or contact not in company.contacts:
                raise Invalid(422, "Contact not found")
            notes = [
                self._render_note(n, record, base)
                for n, record in company.notes.items()
                if record["contact"] == contact
            ]
            return _json(200, {"notes": notes})
        table = self._table(company, name)
        if table is None:
            return _errors(404, "Resource not found")
        if len(parts) == 2:
            number = _number(parts[1])
            if number is None or number not in table:
                return _errors(404, "Resource not found")
            return _json(200, {_singular(name): self._render(name, number, table[number], base)})
        # Filter and sort the stored records, then render only the page asked for.
        chosen = self._filter(company, name, list(table.items()), params)
        return self._page(request, name, chosen, lambda n, r: self._render(name, n, r, base))

    @staticmethod
    def _filter(
        company: Company, name: str, records: list[tuple[int, Json]], params: httpx.QueryParams
    ) -> list[tuple[int, Json]]:
        if name == "bank_transaction_explanations":
            bank = _number(params.get("bank_account", ""))
            if bank is None:
                raise Invalid(422, "bank_account is required")
            records = [(n, r) for n, r in records if r["bank_account"] == bank]
        if name == "contacts":
            view = params.get("view", "active")
            if view not in CONTACT_VIEWS:
                raise Invalid(400, f"Unknown view: {view}")
            records = [(n, r) for n, r in records if _in_view(company, view, n, r)]
        sort = params.get("sort", "")
        if sort:
            key = sort.lstrip("-")
            field_name = {"name": "organisation_name"}.get(key, key)
            records.sort(
                key=lambda item: (str(item[1].get(field_name) or ""), item[0]),
                reverse=sort.startswith("-"),
            )
        return records

    def _page(
        self,
        request: httpx.Request,
        name: str,
        records: list[tuple[int, Json]],
        render: Callable[[int, Json], Json],
    ) -> httpx.Response:
        params = dict(request.url.params)
        try:
            page = max(1, int(params.get("page", "1")))
            per_page = min(PAGE_MAX, max(1, int(params.get("per_page", "25"))))
        except ValueError:
            return _errors(400, "page and per_page must be numbers")
        last = max(1, math.ceil(len(records) / per_page))
        chunk = [render(n, r) for n, r in records[(page - 1) * per_page : page * per_page]]
        response = _json(200, {name: chunk})
        url = str(request.url.copy_with(query=None))
        links = []
        for rel, target in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
            if (rel == "prev" and page <= 1) or (rel == "next" and page >= last):
                continue
            query = urlencode({**params, "page": target, "per_page": per_page})
            links.append(f'<{url}?{query}>; rel="{rel}"')
        if links:
            response.headers["Link"] = ", ".join(links)
        return response

    @staticmethod
    def _table(company: Company, name: str) -> dict[int, Json] | None:
        return {
            "contacts": company.contacts,
            "invoices": company.invoices,
            "credit_notes": company.credit_notes,
            "bills": company.bills,
            "bank_accounts": company.bank_accounts,
            "bank_transaction_explanations": company.explanations,
        }.get(name)

    def _render(self, name: str, number: int, record: Json, base: str) -> Json:
        out: Json = {"url": f"{base}/{name}/{number}"}
        for key, value in record.items():
            if key in ("contact", "paid_invoice", "bank_account") and isinstance(value, int):
                target = {"contact": "contacts", "paid_invoice": "invoices"}.get(
                    key, "bank_accounts"
                )
                out[key] = f"{base}/{target}/{value}"
            elif key == "items":
                out["invoice_items" if name == "invoices" else "credit_note_items"] = [
                    {**item, "category": f"{base}/categories/{item['category']}"} for item in value
                ]
            elif isinstance(value, date):
                out[key] = value.isoformat()
            elif isinstance(value, Decimal):
                out[key] = format(value, "f")
            else:
                out[key] = value
        return out

    @staticmethod
    def _render_note(number: int, record: Json, base: str) -> Json:
        return {
            "url": f"{base}/notes/{number}",
            "note": record["note"],
            "parent_url": f"{base}/contacts/{record['contact']}",
            "author": "Ledgerlink",
            "created_at": record["created_at"],
            "updated_at": record["created_at"],
        }

    def _company_json(self, company: Company, base: str) -> Json:
        return {
            "url": f"{base}/company",
            "id": company.tenant.tenant_id,
            "name": company.name,
            "subdomain": company.subdomain,
            "type": "UkLimitedCompany",
            "currency": "GBP",
            "sales_tax_registration_status": "Registered",
        }

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="seconds")

    # ------------------------------------------------------------------ writing

    def _post(
        self, company: Company, request: httpx.Request, name: str, base: str
    ) -> httpx.Response:
        try:
            body = loads_json(request.content or b"{}")
        except ValueError:
            return _errors(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _errors(400, "Request body is not valid JSON")
        if name == "notes":
            contact = _number(request.url.params.get("contact", ""))
            if contact is None or contact not in company.contacts:
                raise Invalid(422, "Contact not found")
            note = body.get("note")
            text = note.get("note") if isinstance(note, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise Invalid(422, "Note can't be blank")
            number = next(self._ids)
            company.notes[number] = {"contact": contact, "note": text, "created_at": self._stamp()}
            return _json(201, {"note": self._render_note(number, company.notes[number], base)})
        singular = _singular(name)
        fields = body.get(singular)
        if not isinstance(fields, dict):
            return _errors(400, f"Expected a {singular} object")
        if name == "contacts":
            number = self._new_contact(company, fields)
        elif name in ("invoices", "credit_notes"):
            number = self._new_document(company, name, fields, base)
        elif name == "bank_transaction_explanations":
            number = self._new_explanation(company, fields, base)
        else:
            return _errors(404, "Resource not found")
        table = self._table(company, name)
        assert table is not None
        rendered = self._render(name, number, table[number], base)
        response = _json(201, {singular: rendered})
        response.headers["Location"] = rendered["url"]
        return response

    def _new_contact(self, company: Company, fields: Json) -> int:
        organisation = str(fields.get("organisation_name") or "").strip()
        first = str(fields.get("first_name") or "").strip()
        last = str(fields.get("last_name") or "").strip()
        if not organisation and not (first and last):
            raise Invalid(422, "Organisation name or first and last name must be present")
        number = next(self._ids)
        stamp = self._stamp()
        record = {
            key: str(fields[key]).strip()
            for key in (
                "organisation_name",
                "first_name",
                "last_name",
                "email",
                "phone_number",
                "address1",
                "address2",
                "address3",
                "town",
                "region",
                "postcode",
                "country",
            )
            if fields.get(key)
        }
        company.contacts[number] = {
            **record,
            "status": "Active",
            "created_at": stamp,
            "updated_at": stamp,
        }
        return number

    def _update_contact(
        self, company: Company, request: httpx.Request, number_text: str, base: str
    ) -> httpx.Response:
        """``PUT /v2/contacts/:id``: the fields sent change; a contact left with neither
        an organisation nor a whole person's name, or a malformed email, is refused."""
        number = _number(number_text)
        record = company.contacts.get(number) if number is not None else None
        if number is None or record is None:
            return _errors(404, "Resource not found")
        try:
            body = loads_json(request.content or b"{}")
        except ValueError:
            return _errors(400, "Request body is not valid JSON")
        fields = body.get("contact") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _errors(400, "Expected a contact object")
        changed = {**record, **{k: str(v or "").strip() for k, v in fields.items()}}
        if not changed.get("organisation_name") and not (
            changed.get("first_name") and changed.get("last_name")
        ):
            raise Invalid(422, "Organisation name or first and last name must be present")
        email = changed.get("email", "")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            # Stand-in wording: FreeAgent's text for a malformed email is not published.
            raise Invalid(422, "Email is invalid")
        record.update(changed, updated_at=self._stamp())
        return _json(200, {"contact": self._render("contacts", number, record, base)})

    def _locked(self, company: Company, on: date) -> bool:
        lock = company.lock
        return lock is not None and on <= lock

    def _new_document(self, company: Company, name: str, fields: Json, base: str) -> int:
        credit = name == "credit_notes"
        contact = _number(str(fields.get("contact") or ""))
        if contact is None or contact not in company.contacts:
            raise Invalid(422, "Contact not found")
        on = _date(fields.get("dated_on"))
        if on is None:
            raise Invalid(422, "dated_on is not a valid date")
        terms = fields.get("payment_terms_in_days")
        if not isinstance(terms, int) or isinstance(terms, bool) or terms < 0:
            raise Invalid(422, "payment_terms_in_days must be a whole number of days")
        if self._locked(company, on):
            raise Invalid(422, "dated_on is in a locked period")
        table = company.credit_notes if credit else company.invoices
        reference = str(fields.get("reference") or "").strip()
        if not reference:
            reference = str(len(table) + 1).zfill(3)
        if any(r["reference"] == reference for r in table.values()):
            raise Invalid(422, "Reference has already been taken")
        items_key = "credit_note_items" if credit else "invoice_items"
        raw_items = fields.get(items_key)
        if not isinstance(raw_items, list) or not raw_items:
            raise Invalid(422, f"{items_key} can't be blank")
        items: list[Json] = []
        net = vat = Decimal("0")
        codes = {code for _, code, _ in CATEGORIES}
        for item in raw_items:
            if not isinstance(item, dict):
                raise Invalid(422, f"{items_key} contain errors")
            quantity = _decimal(item.get("quantity"))
            price = _decimal(item.get("price"))
            rate = _decimal(item.get("sales_tax_rate", "0"))
            if quantity is None or price is None or rate is None:
                raise Invalid(422, f"{items_key} contain errors")
            if credit and price > 0:
                raise Invalid(422, "credit_note_items price must be negative")
            category = str(item.get("category") or f"{base}/categories/001")
            code = category.rstrip("/").rsplit("/", 1)[-1]
            if code not in codes:
                raise Invalid(400, "Invalid nominal code")
            line_net = (quantity * price).quantize(PENNY, rounding=ROUND_HALF_UP)
            line_vat = (line_net * rate / 100).quantize(PENNY, rounding=ROUND_HALF_UP)
            net, vat = net + line_net, vat + line_vat
            items.append(
                {
                    "item_type": str(item.get("item_type") or "-no unit-"),
                    "description": str(item.get("description") or ""),
                    "quantity": quantity,
                    "price": price,
                    "sales_tax_rate": rate,
                    "category": code,
                }
            )
        number = next(self._ids)
        total = net + vat
        table[number] = {
            "contact": contact,
            "reference": reference,
            "dated_on": on,
            "payment_terms_in_days": terms,
            "status": "Draft",
            "net_value": net,
            "sales_tax_value": vat,
            "total_value": total,
            "paid_value": Decimal("0.00"),
            "due_value": total,
            "items": items,
            "created_at": self._stamp(),
        }
        return number

    def _mark_as_sent(self, company: Company, parts: list[str]) -> httpx.Response:
        table = self._table(company, parts[0])
        number = _number(parts[1]) if len(parts) == 4 else None
        if table is None or parts[0] not in ("invoices", "credit_notes") or number not in table:
            return _errors(404, "Resource not found")
        assert number is not None
        record = table[number]
        if self._locked(company, record["dated_on"]):
            kind = "Invoice" if parts[0] == "invoices" else "Credit note"
            raise Invalid(403, f"{kind} is locked.")
        if record["status"] == "Draft":
            record["status"] = "Open"
        return httpx.Response(200)

    def _new_explanation(self, company: Company, fields: Json, base: str) -> int:
        bank = _number(str(fields.get("bank_account") or ""))
        if bank is None or bank not in company.bank_accounts:
            raise Invalid(422, "bank_account is not a bank account of this company")
        on = _date(fields.get("dated_on"))
        gross = _decimal(fields.get("gross_value"))
        if on is None:
            raise Invalid(422, "dated_on is not a valid date")
        if gross is None:
            raise Invalid(422, "gross_value is not a number")
        if self._locked(company, on):
            raise Invalid(422, "dated_on is in a locked period")
        paid = fields.get("paid_invoice")
        invoice_number = _number(str(paid or "")) if paid else None
        if paid and (invoice_number is None or invoice_number not in company.invoices):
            raise Invalid(422, "paid_invoice not found")
        if invoice_number is not None:
            invoice = company.invoices[invoice_number]
            if invoice["status"] == "Draft":
                raise Invalid(422, "paid_invoice must be sent before it can be paid")
            invoice["paid_value"] += gross
            invoice["due_value"] = invoice["total_value"] - invoice["paid_value"]
            due = invoice["due_value"]
            invoice["status"] = "Open" if due > 0 else ("Paid" if due == 0 else "Overpaid")
        number = next(self._ids)
        company.explanations[number] = {
            "bank_account": bank,
            "dated_on": on,
            "gross_value": gross,
            "description": str(fields.get("description") or ""),
            "type": "Invoice Receipt" if invoice_number is not None else "Payment",
            **({"paid_invoice": invoice_number} if invoice_number is not None else {}),
        }
        return number


#: The contacts list's views [dev.freeagent.com/docs/contacts; third-party clients agree,
#: see docs/packages/freeagent.md].
CONTACT_VIEWS = (
    "all",
    "active",
    "clients",
    "suppliers",
    "active_projects",
    "completed_projects",
    "open_clients",
    "open_suppliers",
    "hidden",
)
_OPEN = ("Open", "Overdue", "Scheduled To Email")


def _in_view(company: Company, view: str, number: int, record: Json) -> bool:
    """Whether contact ``number`` is in one of FreeAgent's contact views. "clients" are
    all contacts with an invoice or credit note (hidden ones too: "all clients");
    "suppliers" are active contacts with a bill ("active suppliers only"); the stand-in
    has no projects, so the project views are empty."""
    active = record.get("status") == "Active"
    invoices = [r for r in company.invoices.values() if r["contact"] == number]
    credits = [r for r in company.credit_notes.values() if r["contact"] == number]
    bills = [r for r in company.bills.values() if r["contact"] == number]
    return {
        "all": True,
        "active": active,
        "hidden": record.get("status") == "Hidden",
        "clients": bool(invoices or credits),
        "suppliers": active and bool(bills),
        "open_clients": any(r["status"] in _OPEN for r in invoices),
        "open_suppliers": any(r["status"] in _OPEN for r in bills),
    }.get(view, False)


def _number(text: str) -> int | None:
    tail = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _singular(name: str) -> str:
    return {
        "contacts": "contact",
        "invoices": "invoice",
        "credit_notes": "credit_note",
        "bills": "bill",
        "bank_accounts": "bank_account",
        "bank_transaction_explanations": "bank_transaction_explanation",
        "notes": "note",
    }.get(name, name)


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=dumps_json(body), headers={"Content-Type": "application/json"}
    )


def _errors(status: int, *messages: str) -> httpx.Response:
    return _json(status, {"errors": [{"message": m} for m in messages]})


def _too_many(retry_after: int | None) -> httpx.Response:
    response = _errors(429, "You must not exceed 120 requests per 60 seconds")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in FreeAgent on this computer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8768)
    args = parser.parse_args(argv)
    standin = FreeAgentStandIn()
    standin.add_company()
    server = LoopbackServer(standin, port=args.port)
    print(f"Stand-in FreeAgent on {server.url} (Ctrl+C stops it).")
    print(
        f"  endpoint={server.url}  client_id={CLIENT_ID}  redirect_ports=0; "
        f"LEDGERLINK_FREEAGENT_CLIENT_SECRET={CLIENT_SECRET}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
