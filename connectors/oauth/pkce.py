"""PKCE (RFC 7636) and the ``state`` value that ties a browser's answer to our request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

#: RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
VERIFIER_BYTES = 48  # → 64 characters of [A-Za-z0-9_-]


@dataclass(frozen=True)
class Pkce:
    """A code verifier (kept by us) and its S256 challenge (sent with the sign-in page)."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def challenge_for(verifier: str) -> str:
    """The S256 challenge: base64url of SHA-256 of the verifier, without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_pkce() -> Pkce:
    """A fresh, random verifier and its challenge."""
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    return Pkce(verifier=verifier, challenge=challenge_for(verifier))


def new_state() -> str:
    """An unguessable ``state`` for one sign-in."""
    return secrets.token_urlsafe(24)


def same_state(expected: str, received: str) -> bool:
    """Compare states without leaking timing."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))
