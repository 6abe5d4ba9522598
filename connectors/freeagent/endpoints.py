"""Where FreeAgent (API v2) lives, and how Ledgerlink signs in.

Sources (docs/packages/freeagent.md): FreeAgent's quick start and OAuth pages for the
addresses (``/v2/approve_app``, ``/v2/token_endpoint``) and the sandbox host; the token
request authenticates with HTTP Basic (client id and secret), which
:mod:`connectors.oauth` sends whenever a secret is set. Whether FreeAgent accepts a
``http://localhost`` redirect is UNVERIFIED; the ports are fixed so they can be
registered with the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.errors import ConnectorError
from connectors.oauth import OAuthProvider, env_name

KEY = "freeagent"
PRODUCTION = "https://api.freeagent.com"
SANDBOX = "https://api.sandbox.freeagent.com"
DEFAULT_REDIRECT_PORTS: tuple[int, ...] = (47681, 47682, 47683)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class FreeAgentEndpoints:
    """FreeAgent's addresses: production, its sandbox (a setting for support staff), or a
    stand-in on this computer."""

    host: str = PRODUCTION

    @property
    def api_url(self) -> str:
        """The API's base address."""
        return f"{self.host}/v2"

    @property
    def authorize_url(self) -> str:
        """Where the user approves Ledgerlink (OAuth authorisation)."""
        return f"{self.host}/v2/approve_app"

    @property
    def token_url(self) -> str:
        """Where codes and refresh tokens are exchanged for access tokens."""
        return f"{self.host}/v2/token_endpoint"

    @property
    def is_sandbox(self) -> bool:
        """Whether these are FreeAgent's sandbox addresses."""
        return self.host == SANDBOX

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> FreeAgentEndpoints:
        """``sandbox`` = ``yes`` uses FreeAgent's sandbox; ``endpoint`` (or
        ``LEDGERLINK_FREEAGENT_ENDPOINT``) a stand-in on this computer
        (``python -m tests.standins.freeagent``)."""
        env = os.environ if environ is None else environ
        base = (settings.get("endpoint") or env.get(env_name(KEY, "endpoint")) or "").strip()
        base = base.rstrip("/")
        if base:
            host = urlsplit(base).hostname or ""
            if host not in _LOOPBACK_HOSTS:
                raise ConnectorError(
                    f"The FreeAgent endpoint setting ({base}) must point at this computer "
                    "(127.0.0.1 or localhost); it exists only for testing against a "
                    "stand-in. Clear it to use FreeAgent itself."
                )
            return cls(host=base)
        sandbox = (settings.get("sandbox") or "").strip().casefold()
        if sandbox in ("yes", "true", "1", "on"):
            return cls(host=SANDBOX)
        return cls()


def _ports(settings: Mapping[str, str]) -> tuple[int, ...]:
    raw = (settings.get("redirect_ports") or "").strip()
    if not raw:
        return DEFAULT_REDIRECT_PORTS
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConnectorError(
            f"The FreeAgent redirect_ports setting ({raw}) must be port numbers separated by "
            "commas, for example 47681,47682."
        ) from exc


def freeagent_provider(endpoints: FreeAgentEndpoints, settings: Mapping[str, str]) -> OAuthProvider:
    """FreeAgent's sign-in as Ledgerlink uses it: loopback on ``localhost`` like Xero
    (or the pasted address when the browser cannot reach it). FreeAgent does not enforce
    scopes, so none are asked for."""
    return OAuthProvider(
        name="FreeAgent",
        key=KEY,
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        scopes=(),
        redirect_host="localhost",
        redirect_path="/callback",
        redirect_ports=_ports(settings),
        # Access tokens last an hour: refresh two minutes early.
        refresh_leeway=120.0,
    )
