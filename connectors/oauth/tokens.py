"""Tokens: exchanged for a code, kept in the keyring only, refreshed before they expire.

Providers that rotate refresh tokens (Xero, Sage, FreeAgent) invalidate the old one when
they hand out a new one, so the new refresh token is written to the
:class:`~connectors.contract.SecretStore` *before* the new access token is used: a crash
in between then costs nothing, whereas the other order could lose the only valid
refresh token and force the user to sign in again.

Nothing here logs a token or puts one in an exception's message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.contract import SecretStore
from connectors.errors import NeedsReconnecting, TemporarilyUnavailable
from connectors.http import describe_status, loads_json, make_client
from connectors.oauth.provider import ClientCredentials, OAuthProvider, SecretPlacement

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint gave us; ``expires_at`` is seconds since the epoch."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    scope: str = ""

    @classmethod
    def from_response(
        cls, data: dict[str, Any], now: float, previous_refresh: str = ""
    ) -> TokenSet:
        """Tokens from a token endpoint's JSON answer, expiring relative to ``now``.

        A refresh answer may leave out the refresh token; ``previous_refresh`` is kept then.
        """
        access = str(data.get("access_token") or "")
        if not access:
            raise ValueError("the token response has no access_token")
        lifetime = float(data.get("expires_in") or 1800)
        return cls(
            access_token=access,
            # A provider that does not rotate sends no new refresh token: keep the old one.
            refresh_token=str(data.get("refresh_token") or previous_refresh),
            expires_at=now + lifetime,
            scope=str(data.get("scope") or ""),
        )


class TokenStore:
    """One package's tokens in the secret store: ``<key>.refresh_token``,
    ``<key>.access_token`` and ``<key>.token_expires_at``."""

    def __init__(self, secrets: SecretStore, key: str) -> None:
        self.secrets = secrets
        self.key = key

    def _name(self, what: str) -> str:
        return f"{self.key}.{what}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every keyring entry this store may write."""
        return tuple(self._name(w) for w in ("refresh_token", "access_token", "token_expires_at"))

    def load(self) -> TokenSet | None:
        """The saved tokens, or ``None`` if there is no refresh token to sign in with."""
        refresh = self.secrets.get(self._name("refresh_token"))
        if not refresh:
            return None
        access = self.secrets.get(self._name("access_token")) or ""
        try:
            expires_at = float(self.secrets.get(self._name("token_expires_at")) or 0)
        except ValueError:
            expires_at = 0.0
        return TokenSet(access_token=access, refresh_token=refresh, expires_at=expires_at)

    def save(self, tokens: TokenSet) -> None:
        """Save ``tokens``, refresh token first so a crash never strands a newer one."""
        # The refresh token first: see the module docstring.
        self.secrets.set(self._name("refresh_token"), tokens.refresh_token)
        self.secrets.set(self._name("access_token"), tokens.access_token)
        self.secrets.set(self._name("token_expires_at"), repr(tokens.expires_at))

    def clear(self) -> None:
        """Delete every saved token for this package."""
        for name in self.names:
            self.secrets.delete(name)


class TokenManager:
    """Hands out a valid access token, refreshing it a little before it expires.

    Thread-safe: concurrent callers share one refresh.
    """

    def __init__(
        self,
        provider: OAuthProvider,
        credentials: Callable[[], ClientCredentials],
        store: TokenStore,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.provider = provider
        self._credentials = credentials
        self.store = store
        self.clock = clock
        self._transport = transport
        self._lock = threading.Lock()
        self._current: TokenSet | None = None
        self._loaded = False

    # ------------------------------------------------------------------ public

    @property
    def signed_in(self) -> bool:
        """True if there are saved tokens to call the package with."""
        with self._lock:
            return self._tokens() is not None

    def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        """Trade an authorisation code for tokens and save them."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        with self._lock:
            tokens = self._token_request(form, previous_refresh="", signing_in=True)
            self.store.save(tokens)
            self._current, self._loaded = tokens, True
        return tokens

    def access_token(self) -> str:
        """A current access token, refreshed first if it expires within the leeway."""
        with self._lock:
            tokens = self._tokens()
            if tokens is None:
                raise NeedsReconnecting(self._not_signed_in())
            if (
                not tokens.access_token
                or tokens.expires_at - self.provider.refresh_leeway <= self.clock()
            ):
                tokens = self._refresh(tokens)
            return tokens.access_token

    def refresh_after_rejection(self, rejected_access_token: str) -> str:
        """The package refused ``rejected_access_token`` (401): refresh once, unless another
        caller already did, and return the token to retry with."""
        with self._lock:
            tokens = self._tokens()
            if tokens is None:
                raise NeedsReconnecting(self._not_signed_in())
            if tokens.access_token != rejected_access_token:
                return tokens.access_token
            return self._refresh(tokens).access_token

    def forget(self) -> None:
        """Delete the tokens from the keyring (signing out)."""
        with self._lock:
            self.store.clear()
            self._current, self._loaded = None, True

    # ------------------------------------------------------------------ internals

    def _tokens(self) -> TokenSet | None:
        if not self._loaded:
            self._current, self._loaded = self.store.load(), True
        return self._current

    def _not_signed_in(self) -> str:
        name = self.provider.name
        return f"Ledgerlink is not signed in to {name}. Sign in on the Connect page."

    def _refresh(self, tokens: TokenSet) -> TokenSet:
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        fresh = self._token_request(form, previous_refresh=tokens.refresh_token, signing_in=False)
        self.store.save(fresh)
        self._current = fresh
        log.info("%s sign-in refreshed", self.provider.name)
        return fresh

    def _token_request(
        self, form: dict[str, str], *, previous_refresh: str, signing_in: bool
    ) -> TokenSet:
        credentials = self._credentials()
        auth: tuple[str, str] | None = None
        if not credentials.client_secret:
            form = {**form, "client_id": credentials.client_id}
        elif self.provider.secret_placement is SecretPlacement.FORM_BODY:
            form = {
                **form,
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }
        else:
            auth = (credentials.client_id, credentials.client_secret)
        name = self.provider.name
        with make_client(transport=self._transport) as client:
            try:
                response = client.post(
                    self.provider.token_url, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT
                )
            except httpx.HTTPError as exc:
                # A lost refresh answer is safe to retry: rotating providers accept the old
                # refresh token for a grace period.
                raise TemporarilyUnavailable(
                    f"{name}'s sign-in service could not be reached ({type(exc).__name__}). "
                    "Check the internet connection and try again."
                ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporarilyUnavailable(
                f"{name}'s sign-in service is not answering properly "
                f"({describe_status(response)}); try again in a few minutes."
            )
        try:
            data = loads_json(response.content)
        except ValueError:
            data = {}
        if response.status_code != 200 or not isinstance(data, dict):
            raise NeedsReconnecting(self._refusal(response, data, signing_in))
        try:
            return TokenSet.from_response(data, self.clock(), previous_refresh)
        except ValueError as exc:
            raise NeedsReconnecting(
                f"{name}'s sign-in service answered without a token. Sign in again on the "
                "Connect page."
            ) from exc

    def _refusal(self, response: httpx.Response, data: Any, signing_in: bool) -> str:
        name = self.provider.name
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if error == "invalid_client":
            return (
                f"{name} did not recognise Ledgerlink's client id (invalid_client). Check the "
                f"client id of Ledgerlink's app in the {name} developer portal."
            )
        if signing_in:
            return (
                f"{name} did not accept the sign-in ({error or describe_status(response)}). "
                "It may have taken too long; start the sign-in again."
            )
        return (
            f"{name} no longer accepts Ledgerlink's sign-in "
            f"({error or describe_status(response)}): "
            "it expires after a long time unused, or when access is removed in "
            f"{name}. Sign in again on the Connect page."
        )


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer …``; on a 401 refreshes once and retries the request.

    A second 401 is returned to the caller (:class:`~connectors.http.ApiClient` turns it
    into :class:`~connectors.errors.NeedsReconnecting`).
    """

    requires_request_body = True

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send the access token; on a 401, refresh it once and send the request again."""
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = self.tokens.refresh_after_rejection(token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request
