"""A local KashFlow REST API (v2): the calls Ledgerlink makes, in KashFlow's JSON shapes.

Use it through ``httpx.MockTransport(standin)``, or serve it on a loopback port::

    python -m tests.standins.kashflow --port 8769

What it enforces, as KashFlow's REST pages say (sources and every UNVERIFIED point in
docs/packages/kashflow.md; where KashFlow's wording is unknown the message is this
stand-in's own):

- sign-in in two steps on ``/v2/sessiontoken``: POST user name and password → a
  temporary token and three memorable-word positions; PUT the token and exactly those
  characters (case-insensitive) → ``SessionToken``. The temporary token lasts five
  minutes. Three wrong sign-ins lock the user (401 ``AccountLocked``, from then on);
- every other call needs ``Authorization: KfToken <SessionToken>``; a session unused for
  60 minutes lapses (401 ``InvalidSessionToken``); DELETE ends it;
- customers and suppliers by ``Code`` (unique), changed by ``PUT`` of the whole record
  (archived ones and malformed emails refused, in this stand-in's words); invoices by
  whole-number ``Number``: a number already used is quietly replaced by the next free
  one, as the REST page says the given number is used only "if it is unique";
- lists as ``{"Data": [...], "MetaData": {"NextPageUrl", "TotalRecords"}}`` with
  ``page``/``perpage``; nominal codes; bank accounts with a transaction lock date, which
  refuses payments dated on or before it;
- payment lines per invoice at ``/v2/invoices/{number}/payments`` (the path is
  UNVERIFIED).

No rate limit is published; one can be armed (``429`` with ``Retry-After``). Faults
(:mod:`tests.standins.base`) are armed explicitly and fire in order on the next matching
request; ``EXPIRE_TOKEN`` makes the session lapse.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.contract import RateScale, SecretStore
from connectors.http import dumps_json, loads_json
from tests.standins.base import Fault, FaultKind, StandIn
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer

Json = dict[str, Any]
API = "/v2/"
PENNY = Decimal("0.01")
SESSION_IDLE = 3600.0
TEMPORARY_LIFETIME = 300.0
LOCK_AFTER = 3
USERNAME = "office@demoheating.example"
PASSWORD = "correct horse"
MEMORABLE_WORD = "pineapple"

NOMINALS: tuple[tuple[int, str, str], ...] = (
    (4000, "Sales", "Sales"),
    (4010, "Sales - Services", "Sales"),
    (4900, "Other Income", "Income"),
    (5000, "Materials Purchased", "Cost of Sales"),
    (7500, "Office Costs", "Expense"),
    (1200, "Bank Current Account", "Bank"),
)


class Invalid(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool | float):
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
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


@dataclass
class Account:
    """One KashFlow account (one company)."""

    username: str = USERNAME
    password: str = PASSWORD
    memorable_word: str = MEMORABLE_WORD
    customers: dict[str, Json] = field(default_factory=dict)
    suppliers: dict[str, Json] = field(default_factory=dict)
    invoices: dict[int, Json] = field(default_factory=dict)
    bank_accounts: dict[int, Json] = field(default_factory=dict)
    failed_sign_ins: int = 0
    locked: bool = False

    def outstanding(self, number: str) -> Decimal:
        invoice = self.invoices[int(number)]
        paid = sum((p["Amount"] for p in invoice["PaymentLines"]), Decimal("0"))
        gross: Decimal = invoice["GrossAmount"]
        return gross - paid

    def set_lock(self, lock: date | None) -> None:
        for bank in self.bank_accounts.values():
            bank["TransactionLockEnabled"] = lock is not None
            bank["TransactionLockDate"] = lock.isoformat() if lock else None


@dataclass
class _Temporary:
    positions: tuple[int, ...]
    expires_at: float


class KashFlowStandIn(StandIn):
    """See the module docstring. (KashFlow has no OAuth: the base's authorisation server
    is unused; sign-in is :meth:`before_api`'s ``/v2/sessiontoken``.)"""

    API = API
    NAME = "KashFlow"

    def __init__(
        self, *, clock: Callable[[], float] = time.time, rate_scale: RateScale | None = None
    ) -> None:
        super().__init__(clock=clock, auth=AuthorizationServer(clock=clock), rate_scale=rate_scale)
        self.account = Account()
        self.account.bank_accounts[1] = {
            "Id": 1,
            "Code": 1200,
            "AccountName": "Current Account",
            "IsDefaultAccount": True,
            "TransactionLockEnabled": False,
            "TransactionLockDate": None,
        }
        self.sessions: dict[str, float] = {}
        self.issued: list[str] = []
        self._temporary: dict[str, _Temporary] = {}
        self._ids = itertools.count(1)
        self._positions = itertools.cycle(((2, 3, 6), (1, 4, 9), (3, 5, 7)))

    # ------------------------------------------------------------------ set-up

    def open_session(self) -> str:
        """A session as if the user had just signed in (tests not about signing in)."""
        token = f"kf-{next(self._ids):08d}-session"
        with self._lock:
            self.sessions[token] = self.clock()
            self.issued.append(token)
        return token

    def store_tokens(self, secrets: SecretStore) -> None:
        """A session where the connector looks, as if the user had just signed in."""
        secrets.set("kashflow.session_token", self.open_session())

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def add_customer(self, code: str, name: str, **fields: Any) -> Json:
        with self._lock:
            return self._new_contact(self.account.customers, {"Code": code, "Name": name, **fields})

    # ------------------------------------------------------------------ entry point

    def fault_path(self, request: httpx.Request) -> str | None:
        """Faults never fire on the sign-in steps."""
        path = request.url.path
        if not path.startswith(API) or path.endswith("/sessiontoken"):
            return None
        return path[len(API) :]

    def before_api(self, request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v2/sessiontoken":
            with self._lock:
                return self._session_token(request)
        return None

    def _fire_early(self, fault: Fault, request: httpx.Request) -> httpx.Response | None:
        if fault.kind is FaultKind.EXPIRE_TOKEN:
            self.expire_sessions()  # the session lapses: the request meets a 401
            return None
        return super()._fire_early(fault, request)

    def server_error(self) -> httpx.Response:
        return _error(500, "InternalServerError", "An error has occurred.")

    def too_many(self, window: str, retry_after: int) -> httpx.Response:
        response = _error(429, "TooManyRequests", "Too many requests")
        response.headers["Retry-After"] = str(max(1, retry_after))
        return response

    # ------------------------------------------------------------------ sign-in

    def _locked_answer(self) -> httpx.Response:
        # KashFlow's own words [REST authentication page].
        return _error(401, "AccountLocked", "User account is locked, please contact administrator.")

    def _failed_sign_in(self, error: str, message: str) -> httpx.Response:
        account = self.account
        account.failed_sign_ins += 1
        if account.failed_sign_ins >= LOCK_AFTER:
            account.locked = True
            return self._locked_answer()
        return _error(401, error, message)

    def _session_token(self, request: httpx.Request) -> httpx.Response:
        account = self.account
        if request.method == "DELETE":
            token = request.headers.get("Authorization", "").removeprefix("KfToken ").strip()
            self.sessions.pop(token, None)
            return httpx.Response(204)
        try:
            body = loads_json(request.content or b"{}")
        except ValueError:
            return _error(400, "InvalidRequest", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "InvalidRequest", "The request body is not valid JSON.")
        if account.locked:
            return self._locked_answer()
        if request.method == "POST":
            if body.get("UserName") != account.username or body.get("Password") != account.password:
                return self._failed_sign_in(
                    "InvalidCredentials", "The user name or password is incorrect."
                )
            token = f"tmp-{next(self._ids):08d}"
            positions = next(self._positions)
            self._temporary[token] = _Temporary(positions, self.clock() + TEMPORARY_LIFETIME)
            return _json(
                200,
                {  # the sessiontoken page's example answer, field for field
                    "HasTemporaryPassword": False,
                    "IsAdmin": True,
                    "PackageName": "Business",
                    "PartnerBrandingOptOut": True,
                    "MemorableWordList": [{"Position": p, "Value": ""} for p in positions],
                    "PartnerId": 3,
                    "SubscriptionExpired": False,
                    "TemporaryToken": token,
                },
            )
        if request.method == "PUT":
            held = self._temporary.pop(str(body.get("TemporaryToken") or ""), None)
            if held is None or held.expires_at < self.clock():
                return _error(401, "InvalidTemporaryToken", "The temporary token has expired.")
            given: dict[int, str] = {}
            for item in body.get("MemorableWordList") or []:
                if isinstance(item, dict) and isinstance(item.get("Position"), int):
                    given[item["Position"]] = str(item.get("Value") or "")
            word = account.memorable_word.casefold()
            right = set(given) == set(held.positions) and all(
                len(given[p]) == 1 and p <= len(word) and given[p].casefold() == word[p - 1]
                for p in held.positions
            )
            if not right:
                return self._failed_sign_in(
                    "InvalidMemorableWord", "The memorable word characters are incorrect."
                )
            account.failed_sign_ins = 0
            session = self.open_session()
            return _json(
                200,
                {
                    "CompanyName": "Demo Heating Ltd",
                    "IsAdmin": True,
                    "SubscriptionExpired": False,
                    "SessionToken": session,
                },
            )
        return _error(405, "MethodNotAllowed", "Method not allowed.")

    # ------------------------------------------------------------------ routing

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith(API):
            return _error(404, "NotFound", "Resource not found.")
        if self.account.locked:
            return self._locked_answer()
        token = request.headers.get("Authorization", "")
        token = token[len("KfToken ") :].strip() if token.startswith("KfToken ") else ""
        with self._lock:
            last = self.sessions.get(token)
            now = self.clock()
            if last is None or now - last > SESSION_IDLE:
                self.sessions.pop(token, None)
                return _error(401, "InvalidSessionToken", "Session token provided is invalid.")
            self.sessions[token] = now
            # No published limit to enforce; every request is still counted (one unit,
            # as a per-request window would count it) for the real-clock bench.
            self.counted.append((now, {"minute": 1}))
            parts = [p for p in path[len(API) :].split("/") if p]
            try:
                if request.method == "GET":
                    return self._get(request, parts)
                if request.method == "POST":
                    return self._post(request, parts)
                if request.method == "PUT" and len(parts) == 2:
                    return self._put_contact(request, parts)
            except Invalid as invalid:
                return _error(invalid.status, invalid.error, invalid.message)
        return _error(404, "NotFound", "Resource not found.")

    def _get(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        account = self.account
        name = parts[0] if parts else ""
        if parts == ["nominals"]:
            records = [
                {
                    "Id": code,
                    "Code": code,
                    "Name": title,
                    "Type": kind,
                    "Classification": kind,
                    "VATRate": Decimal("20"),
                    "Archived": False,
                }
                for code, title, kind in NOMINALS
            ]
            return self._page(request, records)
        if parts == ["bankaccounts"]:
            return self._page(request, list(account.bank_accounts.values()))
        tables: dict[str, dict[str, Json]] = {
            "customers": account.customers,
            "suppliers": account.suppliers,
        }
        if name in tables:
            if len(parts) == 2:
                found = tables[name].get(parts[1].upper())
                return _json(200, found) if found else _error(404, "NotFound", "Not found.")
            return self._page(request, list(tables[name].values()))
        if name == "invoices":
            if len(parts) == 1:
                summaries = [
                    {**r, "LineItems": None, "PaymentLines": None}
                    for r in account.invoices.values()
                ]
                return self._page(request, summaries)
            number = int(parts[1]) if parts[1].isdigit() else -1
            invoice = account.invoices.get(number)
            if invoice is None:
                return _error(404, "NotFound", "Invoice not found.")
            if len(parts) == 2:
                return _json(200, invoice)
            if parts[2:] == ["payments"]:
                return _json(200, {"Data": invoice["PaymentLines"], "MetaData": None})
        return _error(404, "NotFound", "Resource not found.")

    def _page(self, request: httpx.Request, records: list[Json]) -> httpx.Response:
        params = dict(request.url.params)
        try:
            page = max(1, int(params.get("page", "1")))
            per_page = max(1, int(params.get("perpage", "100")))
        except ValueError:
            return _error(400, "InvalidRequest", "page and perpage must be numbers.")
        chunk = records[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(records) // per_page))
        url = str(request.url.copy_with(query=None))

        def page_url(number: int) -> str:
            return f"{url}?{urlencode({**params, 'page': number})}"

        # MetaData as a third-party client models it (tipstrade/KashFlowApiClient).
        meta = {
            "FirstPageUrl": page_url(1),
            "LastPageUrl": page_url(last),
            "NextPageUrl": page_url(page + 1) if page < last else None,
            "PreviousPageUrl": page_url(page - 1) if page > 1 else None,
            "TotalRecords": len(records),
        }
        return _json(200, {"Data": chunk, "MetaData": meta})

    # ------------------------------------------------------------------ writing

    def _body(self, request: httpx.Request) -> Json:
        try:
            body = loads_json(request.content or b"{}")
        except ValueError as exc:
            raise Invalid(400, "InvalidRequest", "The request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise Invalid(400, "InvalidRequest", "The request body is not valid JSON.")
        return body

    def _post(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        account = self.account
        body = self._body(request)
        if parts in (["customers"], ["suppliers"]):
            table = account.customers if parts == ["customers"] else account.suppliers
            record = self._new_contact(table, body)
            return _created(request, f"{parts[0]}/{record['Code']}", record)
        if parts == ["invoices"]:
            record = self._new_invoice(body)
            return _created(request, f"invoices/{record['Number']}", record)
        if len(parts) == 3 and parts[0] == "invoices" and parts[2] == "payments":
            number = int(parts[1]) if parts[1].isdigit() else -1
            if number not in account.invoices:
                raise Invalid(404, "NotFound", "Invoice not found.")
            return _json(201, self._new_payment(account.invoices[number], body))
        return _error(404, "NotFound", "Resource not found.")

    def _put_contact(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        """``PUT /v2/customers/{code}`` (and suppliers): the record sent replaces the one
        held, except its ``Id`` and ``Code``; an archived record is refused (this
        stand-in's wording: KashFlow's is not published)."""
        tables = {"customers": self.account.customers, "suppliers": self.account.suppliers}
        table = tables.get(parts[0])
        record = table.get(parts[1].upper()) if table is not None else None
        if record is None:
            return _error(404, "NotFound", "Not found.")
        body = self._body(request)
        if record.get("Archived"):
            raise Invalid(400, "ValidationError", "An archived record cannot be changed.")
        name = str(body.get("Name") or "").strip()
        if not name:
            raise Invalid(400, "ValidationError", "Name is required.")
        email = str(body.get("Email") or "").strip()
        if email and ("@" not in email or " " in email):
            raise Invalid(400, "ValidationError", "Email is not a valid email address.")
        kept = {"Id": record["Id"], "Code": record["Code"], "DisplayName": name}
        record.clear()
        record.update({**body, **kept})
        return _json(200, record)

    def _new_contact(self, table: dict[str, Json], body: Json) -> Json:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise Invalid(400, "ValidationError", "Name is required.")
        code = str(body.get("Code") or "").strip().upper()
        if not code:
            stem = "".join(ch for ch in name.upper() if ch.isalnum())[:3] or "CUS"
            code = next(
                f"{stem}{n:02d}" for n in itertools.count(1) if f"{stem}{n:02d}" not in table
            )
        if code in table:
            raise Invalid(400, "ValidationError", f"Code {code} already exists.")
        record = {
            "Id": next(self._ids),
            "Code": code,
            "Name": name,
            "DisplayName": name,
            **{k: body[k] for k in ("ContactName", "Email", "Telephone", "Address") if k in body},
        }
        table[code] = record
        return record

    def _new_invoice(self, body: Json) -> Json:
        account = self.account
        code = str(body.get("CustomerCode") or "").strip().upper()
        if code not in account.customers:
            raise Invalid(400, "ValidationError", "Customer not found.")
        issued = _date(body.get("IssuedDate"))
        due = _date(body.get("DueDate"))
        if issued is None or due is None:
            raise Invalid(400, "ValidationError", "IssuedDate and DueDate are required.")
        lines = body.get("LineItems")
        if not isinstance(lines, list) or not lines:
            raise Invalid(400, "ValidationError", "At least one line item is required.")
        nominals = {c for c, _, _ in NOMINALS}
        net = vat = Decimal("0")
        items: list[Json] = []
        for line in lines:
            if not isinstance(line, dict):
                raise Invalid(400, "ValidationError", "Line items are invalid.")
            quantity, rate = _decimal(line.get("Quantity")), _decimal(line.get("Rate"))
            level, amount = _decimal(line.get("VATLevel")), _decimal(line.get("VATAmount"))
            if None in (quantity, rate, level, amount):
                raise Invalid(400, "ValidationError", "Line items are invalid.")
            assert quantity is not None and rate is not None and level is not None
            assert amount is not None
            if line.get("NominalCode") not in nominals:
                raise Invalid(400, "ValidationError", "Invalid nominal code.")
            line_net = (quantity * rate).quantize(PENNY, rounding=ROUND_HALF_UP)
            expected = (line_net * level / 100).quantize(PENNY, rounding=ROUND_HALF_UP)
            if abs(expected - amount) > PENNY:
                raise Invalid(400, "ValidationError", "VATAmount does not match VATLevel.")
            net, vat = net + line_net, vat + amount
            items.append({**line, "Id": next(self._ids)})
        asked = body.get("Number")
        number = asked if isinstance(asked, int) and not isinstance(asked, bool) else 0
        if number <= 0 or number in account.invoices:
            number = max(account.invoices, default=0) + 1
        customer = account.customers[code]
        record = {
            "Id": next(self._ids),
            "Number": number,
            "CustomerId": customer["Id"],
            "CustomerCode": code,
            "CustomerName": customer["Name"],
            "IssuedDate": issued.isoformat(),
            "DueDate": due.isoformat(),
            "CustomerReference": str(body.get("CustomerReference") or ""),
            "NetAmount": net,
            "VATAmount": vat,
            "GrossAmount": net + vat,
            "TotalPaidAmount": Decimal("0.00"),
            "Currency": {"Code": "GBP", "Name": "Pound Sterling", "ExchangeRate": 1},
            "LineItems": items,
            "PaymentLines": [],
        }
        account.invoices[number] = record
        return record

    def _new_payment(self, invoice: Json, body: Json) -> Json:
        on = _date(body.get("Date"))
        amount = _decimal(body.get("Amount"))
        if on is None or amount is None or amount <= 0:
            raise Invalid(400, "ValidationError", "Date and a positive Amount are required.")
        bank = self.account.bank_accounts.get(body.get("AccountId") or 0)
        if bank is None:
            raise Invalid(400, "ValidationError", "Bank account not found.")
        lock = _date(bank.get("TransactionLockDate")) if bank["TransactionLockEnabled"] else None
        if lock is not None and on <= lock:
            raise Invalid(400, "TransactionLocked", "Transactions are locked up to this date.")
        line = {
            "Id": next(self._ids),
            "Date": on.isoformat(),
            "Amount": amount,
            "Method": body.get("Method"),
            "AccountId": bank["Id"],
            "Note": str(body.get("Note") or ""),
            "VATReturnId": 0,
        }
        invoice["PaymentLines"].append(line)
        invoice["TotalPaidAmount"] += amount
        return line


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=dumps_json(body), headers={"Content-Type": "application/json"}
    )


def _created(request: httpx.Request, path: str, record: Json) -> httpx.Response:
    """201 with the new resource's URL in ``Location`` [REST response-codes page: "usually
    included"]."""
    response = _json(201, record)
    response.headers["Location"] = (
        f"{request.url.scheme}://{request.url.netloc.decode()}{API}{path}"
    )
    return response


def _error(status: int, error: str, message: str) -> httpx.Response:
    return _json(status, {"Error": error, "Message": message})


def main(argv: list[str] | None = None) -> int:
    """Serve a stand-in KashFlow on this computer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8769)
    args = parser.parse_args(argv)
    server = LoopbackServer(KashFlowStandIn(), port=args.port)
    print(f"Stand-in KashFlow on {server.url} (Ctrl+C stops it).")
    print(f"  endpoint={server.url}  user {USERNAME}, password {PASSWORD!r}, word {MEMORABLE_WORD}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
