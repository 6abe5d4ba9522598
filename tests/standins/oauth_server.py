"""A local OAuth 2.0 authorisation server for the sign-in tests (and the Xero stand-in).

It behaves like Xero's identity service where Ledgerlink depends on it: authorisation
code with PKCE (S256 only) and ``state`` passed back; loopback redirect addresses on any
port (RFC 8252 §7.3), or only the registered ones; single-use codes; access tokens that
expire (30 minutes); refresh tokens that rotate, with the old one still accepted for a
grace period (30 minutes) and every one dying after 60 days unused; ``invalid_grant``
and ``invalid_client`` errors in RFC 6749's JSON shape.

Every code and token it hands out is kept in :attr:`AuthorizationServer.issued`, so a
test can look for them where they must never be (the database, the logs).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from connectors.oauth.pkce import challenge_for

Clock = Callable[[], float]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


@dataclass
class Tenant:
    """An organisation the user can connect (Xero: a tenant)."""

    tenant_id: str
    name: str
    connection_id: str = field(default_factory=lambda: _uuid())
    tenant_type: str = "ORGANISATION"


@dataclass
class Grant:
    """One consent: which client, which scopes, which tenants."""

    client_id: str
    scope: str
    tenant_ids: list[str]
    auth_event_id: str = field(default_factory=lambda: _uuid())


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    expires_at: float
    used: bool = False


@dataclass
class _Access:
    grant: Grant
    expires_at: float


@dataclass
class _Refresh:
    grant: Grant
    last_used: float
    replaced_at: float | None = None
    revoked: bool = False


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode("utf-8"),
        headers={
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


def _oauth_error(status: int, error: str, description: str = "") -> httpx.Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return _json(status, body)


class AuthorizationServer:
    """See the module docstring. ``clock`` is seconds since the epoch."""

    CODE_LIFETIME = 600.0

    def __init__(
        self,
        *,
        client_id: str = "ledgerlink-test-client",
        client_secret: str = "",
        clock: Clock = time.time,
        tenants: list[Tenant] | None = None,
        access_lifetime: float = 1800.0,
        refresh_grace: float = 1800.0,
        refresh_idle: float = 60 * 86400.0,
        registered_redirects: tuple[str, ...] = (),
        secret_in_form: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        #: Where the client secret must come: the form body (Sage's samples), or else
        #: ``Authorization: Basic``; the other place is refused with ``invalid_client``.
        self.secret_in_form = secret_in_form
        self.clock = clock
        self.tenants: list[Tenant] = list(tenants or [])
        self.access_lifetime = access_lifetime
        self.refresh_grace = refresh_grace
        self.refresh_idle = refresh_idle
        #: Empty: any loopback address on any port is accepted.
        self.registered_redirects = registered_redirects
        #: What the user does on the consent page: allow, or deny.
        self.consent = "allow"
        #: Which tenants the user ticks on the consent page (``None``: all of them).
        self.consent_tenants: list[str] | None = None
        self.issued: list[str] = []
        self.token_requests: list[str] = []
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ routing

    def handle(self, request: httpx.Request) -> httpx.Response | None:
        """Answer the authorisation and token endpoints; ``None`` for other paths."""
        path = request.url.path
        if request.method == "GET" and path in ("/identity/connect/authorize", "/authorize"):
            return self.authorize(request)
        if request.method == "POST" and path in ("/connect/token", "/token"):
            return self.token(request)
        return None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request) or httpx.Response(404, text="Not found")

    # ------------------------------------------------------------------ authorisation

    def _redirect_allowed(self, uri: str) -> bool:
        if self.registered_redirects:
            return uri in self.registered_redirects
        parts = urlsplit(uri)
        return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS

    def authorize(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id:
            return httpx.Response(400, text="unknown client_id")
        if not self._redirect_allowed(redirect_uri):
            # Never redirect to an address the app did not register.
            return httpx.Response(400, text="redirect_uri not allowed")
        state = params.get("state", "")

        def back(**answer: str) -> httpx.Response:
            query = urlencode({**answer, "state": state})
            return httpx.Response(302, headers={"Location": f"{redirect_uri}?{query}"})

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or len(challenge) < 43:
            return back(error="invalid_request", error_description="PKCE S256 required")
        if self.consent != "allow":
            return back(error="access_denied")
        tenant_ids = self.consent_tenants
        if tenant_ids is None:
            tenant_ids = [t.tenant_id for t in self.tenants]
        grant = Grant(self.client_id, params.get("scope", ""), list(tenant_ids))
        code = "code-" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                grant, redirect_uri, challenge, self.clock() + self.CODE_LIFETIME
            )
            self.issued.append(code)
        return back(code=code)

    # ------------------------------------------------------------------ tokens

    def _client_ok(self, request: httpx.Request, form: dict[str, str]) -> bool:
        if self.client_secret and self.secret_in_form:
            if request.headers.get("Authorization"):
                return False
            return (form.get("client_id"), form.get("client_secret")) == (
                self.client_id,
                self.client_secret,
            )
        if self.client_secret:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            decoded = base64.b64decode(header[6:]).decode("utf-8")
            return decoded == f"{self.client_id}:{self.client_secret}"
        return form.get("client_id") == self.client_id

    def token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode("utf-8")).items()}
        grant_type = form.get("grant_type", "")
        self.token_requests.append(grant_type)
        if not self._client_ok(request, form):
            return _oauth_error(401, "invalid_client")
        now = self.clock()
        with self._lock:
            if grant_type == "authorization_code":
                code = self._codes.get(form.get("code", ""))
                if code is None or code.used or code.expires_at < now:
                    return _oauth_error(400, "invalid_grant", "code unknown, used or expired")
                code.used = True
                if form.get("redirect_uri") != code.redirect_uri:
                    return _oauth_error(400, "invalid_grant", "redirect_uri differs")
                if challenge_for(form.get("code_verifier", "")) != code.challenge:
                    return _oauth_error(400, "invalid_grant", "PKCE verification failed")
                return _json(200, self._mint(code.grant, now))
            if grant_type == "refresh_token":
                token = form.get("refresh_token", "")
                held = self._refresh.get(token)
                if held is None or held.revoked or now - held.last_used > self.refresh_idle:
                    return _oauth_error(400, "invalid_grant")
                if held.replaced_at is not None and now - held.replaced_at > self.refresh_grace:
                    return _oauth_error(400, "invalid_grant")
                if held.replaced_at is None:
                    held.replaced_at = now
                return _json(200, self._mint(held.grant, now))
        return _oauth_error(400, "unsupported_grant_type")

    def _mint(self, grant: Grant, now: float) -> dict[str, object]:
        access = "at-" + secrets.token_urlsafe(32)
        refresh = "rt-" + secrets.token_urlsafe(32)
        self._access[access] = _Access(grant, now + self.access_lifetime)
        self._refresh[refresh] = _Refresh(grant, last_used=now)
        self.issued += [access, refresh]
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": int(self.access_lifetime),
            "token_type": "Bearer",
            "scope": grant.scope,
        }

    def issue(self, tenant_ids: list[str] | None = None, scope: str = "") -> dict[str, object]:
        """Tokens as if the user had just signed in (tests that are not about signing in)."""
        ids = [t.tenant_id for t in self.tenants] if tenant_ids is None else tenant_ids
        with self._lock:
            return self._mint(Grant(self.client_id, scope, ids), self.clock())

    # ------------------------------------------------------------------ checking

    def grant_for(self, authorization: str) -> Grant | None:
        """The grant behind ``Authorization: Bearer …``, or ``None`` (missing, unknown,
        expired)."""
        if not authorization.startswith("Bearer "):
            return None
        with self._lock:
            held = self._access.get(authorization[7:].strip())
        if held is None or held.expires_at <= self.clock():
            return None
        return held.grant

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far stops working (as if revoked)."""
        with self._lock:
            for held in self._access.values():
                held.expires_at = min(held.expires_at, self.clock())

    def revoke_refresh_tokens(self) -> None:
        """The user removed access in the package: refreshing fails from now on."""
        with self._lock:
            for held in self._refresh.values():
                held.revoked = True
