"""Secrets (tokens, passwords) live in the OS keyring, never in the database or logs.

:class:`KeyringSecretStore` implements :class:`connectors.contract.SecretStore`. Every
value it hands out is registered with :func:`app.logging_setup.redact` so that a token
that slips into a log message is masked.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backends import fail

from app.logging_setup import register_secret

SERVICE = "Ledgerlink"


class NoKeyringError(RuntimeError):
    """No usable keyring backend: tokens cannot be kept safely on this machine."""


NO_KEYRING_ADVICE = (
    "Ledgerlink keeps sign-in tokens and passwords in your system's keyring, and none is "
    "available. On Windows and macOS the keyring is built in. On Linux, install and "
    "unlock a Secret Service keyring (GNOME Keyring: `sudo apt install gnome-keyring`, "
    "or KWallet on KDE), then start Ledgerlink again."
)


class KeyringSecretStore:
    """Secrets under one keyring service, one entry per name (e.g. ``xero.refresh_token``)."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _backend(self) -> keyring.backend.KeyringBackend:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            raise NoKeyringError(NO_KEYRING_ADVICE)
        return backend

    def get(self, name: str) -> str | None:
        """The secret kept under ``name``, or None; registered for masking in logs. Raises
        :class:`NoKeyringError` when no keyring can be used."""
        try:
            value: str | None = self._backend().get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"{NO_KEYRING_ADVICE} ({exc})") from exc
        if value:
            register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        """Keep ``value`` under ``name`` (masked in logs from now on). Raises
        :class:`NoKeyringError` when no keyring can be used."""
        register_secret(value)
        try:
            self._backend().set_password(self.service, name, value)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"{NO_KEYRING_ADVICE} ({exc})") from exc

    def delete(self, name: str) -> None:
        """Forget the secret under ``name``; nothing happens when there is none. Raises
        :class:`NoKeyringError` when no keyring can be used."""
        try:
            self._backend().delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"{NO_KEYRING_ADVICE} ({exc})") from exc
