"""Where Xero lives, and how Ledgerlink signs in to it.

Sources (see docs/packages/xero.md): Xero's OpenAPI description (``xero_accounting.yaml``
and ``xero-identity.yaml``, v16.1.0) for the addresses; developer.xero.com's PKCE guide
for the flow (an "Auth Code with PKCE" app has a client id and no secret; redirect
addresses must be registered exactly, and ``http`` is allowed only for ``localhost``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.errors import NotSetUp
from connectors.oauth import OAuthProvider

#: Apps created from March 2026 must use the granular scopes; ``offline_access`` is what
#: brings a refresh token. Overridable with the ``scopes`` setting for older apps.
DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.contacts",
    "accounting.settings.read",
    "accounting.invoices",
    "accounting.payments",
)

#: Xero matches redirect addresses exactly, port included, so Ledgerlink's app registers
#: ``http://localhost:<port>/callback`` for each of these and uses the first one free.
DEFAULT_REDIRECT_PORTS: tuple[int, ...] = (47651, 47652, 47653)

ENDPOINT_ENV = "LEDGERLINK_XERO_ENDPOINT"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class XeroEndpoints:
    """Xero's four addresses; a developer may point them all at a local stand-in."""

    api_url: str = "https://api.xero.com/api.xro/2.0"
    connections_url: str = "https://api.xero.com/connections"
    authorize_url: str = "https://login.xero.com/identity/connect/authorize"
    token_url: str = "https://identity.xero.com/connect/token"  # noqa: S105 - an address

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> XeroEndpoints:
        """Xero itself, or with the ``endpoint`` setting (or ``LEDGERLINK_XERO_ENDPOINT``)
        a stand-in on this computer (``python -m tests.standins.xero``) serving the same
        paths."""
        env = os.environ if environ is None else environ
        base = (settings.get("endpoint") or env.get(ENDPOINT_ENV) or "").strip().rstrip("/")
        if not base:
            return cls()
        host = urlsplit(base).hostname or ""
        if host not in _LOOPBACK_HOSTS:
            raise NotSetUp(
                f"The Xero endpoint setting ({base}) must point at this computer "
                "(127.0.0.1 or localhost); it exists only for testing against a stand-in. "
                "Clear it to use Xero itself."
            )
        return cls(
            api_url=f"{base}/api.xro/2.0",
            connections_url=f"{base}/connections",
            authorize_url=f"{base}/identity/connect/authorize",
            token_url=f"{base}/connect/token",
        )


def _ports(settings: Mapping[str, str]) -> tuple[int, ...]:
    raw = (settings.get("redirect_ports") or "").strip()
    if not raw:
        return DEFAULT_REDIRECT_PORTS
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise NotSetUp(
            f"The Xero redirect_ports setting ({raw}) must be port numbers separated by "
            "commas, for example 47651,47652."
        ) from exc


def xero_provider(endpoints: XeroEndpoints, settings: Mapping[str, str]) -> OAuthProvider:
    """Xero's sign-in as Ledgerlink uses it (PKCE, loopback on ``localhost``)."""
    scopes = tuple((settings.get("scopes") or "").split()) or DEFAULT_SCOPES
    return OAuthProvider(
        name="Xero",
        key="xero",
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        scopes=scopes,
        redirect_host="localhost",
        redirect_path="/callback",
        redirect_ports=_ports(settings),
        # Xero's access tokens last 30 minutes; refresh with two to spare.
        refresh_leeway=120.0,
    )
