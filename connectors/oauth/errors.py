"""What can go wrong while signing in, in words a bookkeeper can act on."""

from __future__ import annotations

from connectors.errors import ConnectorError


class SignInError(ConnectorError):
    """Signing in did not complete; the message says why and what to do next.

    Messages never contain a code, token or secret.
    """


class SignInCancelled(SignInError):
    """The user (or the window closing) stopped the sign-in before it finished."""
