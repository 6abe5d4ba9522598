"""Where Sage Business Cloud Accounting (API v3.1, UK) lives, and how Ledgerlink signs in.

Sources (see docs/packages/sage-business-cloud.md): Sage's authentication guide for the
addresses, the ``filter=apiv3.1`` and ``country`` parameters and the ``full_access``
scope; its frequently-raised-errors page for the rules that the redirect address must
match character for character and the code lasts 60 seconds. Sage issues a client
secret, which goes with ``client_id`` in the token request's form body, as Sage's own
sample app does (``Sage/sbca_api_python_sample``, ``auth.py``), not as HTTP Basic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.errors import NotSetUp
from connectors.oauth import OAuthProvider, SecretPlacement, env_name

KEY = "sage_business_cloud"

#: Sage matches redirect addresses exactly, so Ledgerlink's app registers
#: ``http://localhost:<port>/callback`` for each of these and uses the first one free.
DEFAULT_REDIRECT_PORTS: tuple[int, ...] = (47671, 47672, 47673)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class SageEndpoints:
    """Sage's three addresses; a developer may point them all at a local stand-in."""

    api_url: str = "https://api.accounting.sage.com/v3.1"
    authorize_url: str = "https://www.sageone.com/oauth2/auth/central?filter=apiv3.1"
    token_url: str = "https://oauth.accounting.sage.com/token"  # noqa: S105 - an address

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> SageEndpoints:
        """Sage itself, or with the ``endpoint`` setting (or
        ``LEDGERLINK_SAGE_BUSINESS_CLOUD_ENDPOINT``) a stand-in on this computer
        (``python -m tests.standins.sage``) serving the same paths."""
        env = os.environ if environ is None else environ
        base = settings.get("endpoint") or env.get(env_name(KEY, "endpoint")) or ""
        base = base.strip().rstrip("/")
        if not base:
            return cls()
        host = urlsplit(base).hostname or ""
        if host not in _LOOPBACK_HOSTS:
            raise NotSetUp(
                f"The Sage endpoint setting ({base}) must point at this computer (127.0.0.1 "
                "or localhost); it exists only for testing against a stand-in. Clear it to "
                "use Sage itself."
            )
        return cls(
            api_url=f"{base}/v3.1",
            authorize_url=f"{base}/oauth2/auth/central?filter=apiv3.1",
            token_url=f"{base}/token",
        )


def _ports(settings: Mapping[str, str]) -> tuple[int, ...]:
    raw = (settings.get("redirect_ports") or "").strip()
    if not raw:
        return DEFAULT_REDIRECT_PORTS
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise NotSetUp(
            f"The Sage redirect_ports setting ({raw}) must be port numbers separated by "
            "commas, for example 47671,47672."
        ) from exc


def sage_provider(endpoints: SageEndpoints, settings: Mapping[str, str]) -> OAuthProvider:
    """Sage's sign-in as Ledgerlink uses it: UK, full access, loopback on ``localhost``
    (or the pasted address when the browser cannot reach it)."""
    return OAuthProvider(
        name="Sage Accounting",
        key=KEY,
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        scopes=("full_access",),
        redirect_host="localhost",
        redirect_path="/callback",
        redirect_ports=_ports(settings),
        extra_authorize_params=(("country", "gb"), ("locale", "en-GB")),
        # Access tokens last five minutes: refresh with one to spare.
        refresh_leeway=60.0,
        secret_placement=SecretPlacement.FORM_BODY,
    )
