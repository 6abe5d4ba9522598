"""Where QuickBooks Online lives, and how Ledgerlink signs in to it.

Sources (see docs/packages/quickbooks-online.md): Intuit's OpenID discovery document for
the sign-in addresses; ``intuit/oauth-pythonclient`` for the scope and for the client
secret sent with HTTP Basic; Intuit's "set redirect URI" page for the rule that shapes
the sign-in: production keys take only ``https`` redirect addresses that are not IP
addresses (``http://localhost`` is for development keys). A desktop app therefore cannot
listen for the answer: the browser goes to Ledgerlink's https relay page, which shows
the address, and the user pastes it back (see :mod:`connectors.quickbooks_online.signin`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.errors import NotSetUp
from connectors.oauth import OAuthProvider, SignInError, env_name

KEY = "quickbooks_online"

#: Minor versions below 75 are no longer served (Intuit developer blog, January 2025).
MINOR_VERSION = 75

SCOPES: tuple[str, ...] = ("com.intuit.quickbooks.accounting",)

#: The setting (or ``LEDGERLINK_QUICKBOOKS_ONLINE_REDIRECT_URI``) naming the https page
#: registered as the app's redirect address.
REDIRECT_SETTING = "redirect_uri"

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class QboEndpoints:
    """Intuit's addresses; a developer may point them all at a local stand-in."""

    api_url: str = "https://quickbooks.api.intuit.com"
    authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> QboEndpoints:
        """Production, Intuit's sandbox companies (``environment=sandbox``), or with the
        ``endpoint`` setting (or ``LEDGERLINK_QUICKBOOKS_ONLINE_ENDPOINT``) a stand-in on
        this computer (``python -m tests.standins.qbo``) serving the same paths."""
        env = os.environ if environ is None else environ
        base = settings.get("endpoint") or env.get(env_name(KEY, "endpoint")) or ""
        base = base.strip().rstrip("/")
        if base:
            host = urlsplit(base).hostname or ""
            if host not in _LOOPBACK_HOSTS:
                raise NotSetUp(
                    f"The QuickBooks endpoint setting ({base}) must point at this computer "
                    "(127.0.0.1 or localhost); it exists only for testing against a "
                    "stand-in. Clear it to use QuickBooks Online itself."
                )
            return cls(
                api_url=base,
                authorize_url=f"{base}/connect/oauth2",
                token_url=f"{base}/oauth2/v1/tokens/bearer",
            )
        if (settings.get("environment") or "").strip().lower() == "sandbox":
            return cls(api_url="https://sandbox-quickbooks.api.intuit.com")
        return cls()

    def company_url(self, realm_id: str) -> str:
        """The base address for one company's API calls."""
        return f"{self.api_url}/v3/company/{realm_id}"


def qbo_provider(endpoints: QboEndpoints) -> OAuthProvider:
    """QuickBooks Online's sign-in as Ledgerlink uses it. Intuit ignores the PKCE
    parameters the shared flow adds; the client secret is what it checks."""
    return OAuthProvider(
        name="QuickBooks Online",
        key=KEY,
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        scopes=SCOPES,
        # Access tokens last an hour; refresh with five minutes to spare.
        refresh_leeway=300.0,
    )


def relay_redirect_uri(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> str:
    """The https page Intuit sends the browser back to, from the ``redirect_uri``
    setting or the environment; :class:`SignInError` (saying what to set) without one."""
    env = os.environ if environ is None else environ
    variable = env_name(KEY, REDIRECT_SETTING)
    uri = (settings.get(REDIRECT_SETTING) or env.get(variable) or "").strip()
    if not uri:
        raise SignInError(
            "Ledgerlink does not know the web page QuickBooks should send you back to after "
            f"signing in. Set the environment variable {variable} (or the QuickBooks "
            f"{REDIRECT_SETTING} setting) to the https address registered for Ledgerlink's "
            "app in the Intuit developer portal, then try again."
        )
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.scheme != "https" and host not in _LOOPBACK_HOSTS:
        raise SignInError(
            f"The QuickBooks redirect address {uri} must start with https:// (Intuit accepts "
            "http only for localhost, with development keys)."
        )
    return uri
