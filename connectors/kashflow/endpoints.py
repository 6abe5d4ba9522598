"""Where KashFlow's REST API lives: ``https://api.kashflow.com/v2`` (KashFlow's REST
pages), or with the ``endpoint`` setting a stand-in on this computer
(``python -m tests.standins.kashflow``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from connectors.errors import NotSetUp

API_URL = "https://api.kashflow.com/v2"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def api_url(settings: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """The REST API's base URL: KashFlow's own, or a stand-in on this computer from the
    ``endpoint`` setting or ``LEDGERLINK_KASHFLOW_ENDPOINT``. Any other host is refused,
    so a setting cannot send credentials elsewhere."""
    env = os.environ if environ is None else environ
    base = (settings.get("endpoint") or env.get("LEDGERLINK_KASHFLOW_ENDPOINT") or "").strip()
    base = base.rstrip("/")
    if not base:
        return API_URL
    if (urlsplit(base).hostname or "") not in _LOOPBACK_HOSTS:
        raise NotSetUp(
            f"The KashFlow endpoint setting ({base}) must point at this computer (127.0.0.1 "
            "or localhost); it exists only for testing against a stand-in. Clear it to use "
            "KashFlow itself."
        )
    return f"{base}/v2"
