"""What can go wrong while signing in, in words a bookkeeper can act on."""

from __future__ import annotations

from connectors.errors import SignInError

__all__ = ["SignInCancelled", "SignInError"]


class SignInCancelled(SignInError):
    """The user (or the window closing) stopped the sign-in before it finished."""
