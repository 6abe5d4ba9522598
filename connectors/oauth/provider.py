"""Who we sign in with: the provider's addresses and scopes, and Ledgerlink's client id.

A package's connector declares one :class:`OAuthProvider`. The client id (and the client
secret, for packages that insist on one) is not part of the declaration: it comes from
the connector's settings or the environment (``LEDGERLINK_<KEY>_CLIENT_ID``), and a
secret from the environment or the keyring, never from the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlencode

from connectors.contract import SecretStore
from connectors.oauth.errors import SignInError
from connectors.oauth.pkce import Pkce


class SecretPlacement(StrEnum):
    """Where the token request carries the client id and secret (RFC 6749 §2.3.1)."""

    #: ``Authorization: Basic`` (the RFC's preference; Xero, QuickBooks Online).
    BASIC = "basic"
    #: ``client_id`` and ``client_secret`` as form fields of the request body, as the
    #: provider's own samples do (Sage Accounting).
    FORM_BODY = "form_body"


@dataclass(frozen=True)
class OAuthProvider:
    """An OAuth 2.0 authorisation server as one package uses it."""

    #: The package's name as the user knows it ("Xero").
    name: str
    #: Prefix of the keyring entries and environment variables ("xero").
    key: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    #: Loopback redirect (RFC 8252 §7.3): the host written in the redirect address (the
    #: listener always binds 127.0.0.1), its path, and the ports to try in order; 0 means
    #: any free port, for providers that ignore the loopback port.
    redirect_host: str = "127.0.0.1"
    redirect_path: str = "/callback"
    redirect_ports: tuple[int, ...] = (0,)
    #: Where the browser is sent when Ledgerlink cannot listen for it (packages that
    #: allow only https redirects): the user pastes the address it lands on.
    paste_redirect_uri: str = ""
    #: Extra query parameters for the sign-in page (e.g. ``prompt``).
    extra_authorize_params: tuple[tuple[str, str], ...] = ()
    #: Refresh this many seconds before the access token's stated expiry.
    refresh_leeway: float = 120.0
    #: Where a client secret goes in the token request (an app without one always sends
    #: its ``client_id`` in the form).
    secret_placement: SecretPlacement = SecretPlacement.BASIC

    def authorization_url(self, client_id: str, redirect_uri: str, state: str, pkce: Pkce) -> str:
        """The sign-in page's address, with PKCE and ``state``."""
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
            **dict(self.extra_authorize_params),
        }
        separator = "&" if "?" in self.authorize_url else "?"
        return self.authorize_url + separator + urlencode(params)


@dataclass(frozen=True)
class ClientCredentials:
    """Ledgerlink's registration with the provider. A PKCE app has no secret."""

    client_id: str
    client_secret: str = field(default="", repr=False)


def env_name(key: str, what: str) -> str:
    """``env_name("xero", "client_id")`` → ``"LEDGERLINK_XERO_CLIENT_ID"``."""
    return f"LEDGERLINK_{key.upper()}_{what.upper()}"


def client_credentials(
    provider: OAuthProvider,
    settings: Mapping[str, str],
    secrets: SecretStore,
    *,
    environ: Mapping[str, str] | None = None,
) -> ClientCredentials:
    """The client id from settings (``client_id``) or ``LEDGERLINK_<KEY>_CLIENT_ID``; the
    secret, where one is needed, from ``LEDGERLINK_<KEY>_CLIENT_SECRET`` or the keyring
    entry ``<key>.client_secret``."""
    env = os.environ if environ is None else environ
    client_id = (
        settings.get("client_id") or env.get(env_name(provider.key, "client_id")) or ""
    ).strip()
    if not client_id:
        raise SignInError(
            f"Ledgerlink has no client id for {provider.name}, so it cannot open the "
            f"{provider.name} sign-in page. Set the environment variable "
            f"{env_name(provider.key, 'client_id')} (or the {provider.key} client_id setting) "
            f"to the client id of Ledgerlink's app in the {provider.name} developer portal, "
            "then try again."
        )
    secret = env.get(env_name(provider.key, "client_secret")) or secrets.get(
        f"{provider.key}.client_secret"
    )
    return ClientCredentials(client_id=client_id, client_secret=(secret or "").strip())
