"""Signing in to KashFlow (user name, password, memorable-word characters), Qt-free.

The Connect page drives it from workers; every function here touches the network, the
keyring or the database, so none may run on the GUI thread::

    attempt = start_password_sign_in(paths, factory, "kashflow", "office", password)
    attempt.challenge.positions          # ask for exactly these characters
    company = attempt.finish({2: "i", 3: "n", 6: "p"}, remember=False)

The session token and (only if the user ticks "remember") the password go to the
keyring; the database keeps the user name and the company's name. The memorable word
is never stored, and only the characters asked for are ever typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.secrets import KeyringSecretStore
from app.services.errors import SetupError
from app.services.setup.signin import _save_settings, package_settings
from app.services.setup.state import COMPANY_NAME, set_setting
from connectors import registry
from connectors.contract import Company, ConnectorContext, SecretStore
from connectors.kashflow import Challenge, KashFlowConnector
from connectors.kashflow.signin import PASSWORD


@dataclass(frozen=True)
class PasswordSignInStatus:
    """What the Connect page shows before the user types anything."""

    username: str
    signed_in: bool
    remembers_password: bool


def password_connector(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
    transport: Any = None,
    settings: dict[str, str] | None = None,
) -> KashFlowConnector:
    """The package's connector for a password sign-in; :class:`SetupError` if the
    package does not sign in that way."""
    context = ConnectorContext(
        data_dir=paths.root,
        settings=settings if settings is not None else package_settings(session_factory, package),
        secrets=secrets or KeyringSecretStore(),
        transport=transport,
    )
    try:
        connector = registry.open_connector(package, context)
    except KeyError as exc:
        raise SetupError(str(exc.args[0])) from exc
    if not isinstance(connector, KashFlowConnector):
        connector.close()
        raise SetupError(f"{connector.info.name} does not sign in with a memorable word.")
    return connector


def password_sign_in_status(
    paths: DataPaths, session_factory: sessionmaker[Session], package: str, **kwargs: Any
) -> PasswordSignInStatus:
    """Who is signed in to the package with a password (KashFlow), whether the session is live
    and whether the password is remembered."""
    with password_connector(paths, session_factory, package, **kwargs) as connector:
        assert isinstance(connector, KashFlowConnector)
        return PasswordSignInStatus(
            username=connector.username,
            signed_in=connector.signed_in,
            remembers_password=connector.signin.remembers_password,
        )


@dataclass
class PasswordSignIn:
    """A sign-in between its two steps. Its methods block: call them from a worker."""

    package: str
    connector: KashFlowConnector
    challenge: Challenge
    session_factory: sessionmaker[Session]
    password: str = field(default="", repr=False)

    def finish(self, characters: Mapping[int, str], *, remember: bool) -> Company:
        """Send the characters; on success save the user name and company name, and keep
        the password in the keyring only if ``remember``."""
        try:
            company = self.connector.finish_sign_in(
                self.challenge,
                characters,
                remember_password=(self.password or None) if remember else None,
            )
        finally:
            self.password = ""
        _save_settings(self.session_factory, self.package, {"username": self.challenge.username})
        with self.session_factory.begin() as session:
            set_setting(session, COMPANY_NAME, company.name)
        return company

    def close(self) -> None:
        """Close the connector's HTTP client once this sign-in is done with."""
        self.connector.close()


def start_password_sign_in(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    username: str,
    password: str,
    **kwargs: Any,
) -> PasswordSignIn:
    """Step 1: the password (empty: the one remembered in the keyring) → which
    characters of the memorable word to ask for."""
    connector = password_connector(paths, session_factory, package, **kwargs)
    try:
        challenge = connector.start_sign_in(password, username)
    except BaseException:
        connector.close()
        raise
    kept = password or connector.context.secrets.get(PASSWORD) or ""
    return PasswordSignIn(package, connector, challenge, session_factory, kept)


def sign_out(
    paths: DataPaths, session_factory: sessionmaker[Session], package: str, **kwargs: Any
) -> None:
    """End the KashFlow session and forget its token and any kept password."""
    with password_connector(paths, session_factory, package, **kwargs) as connector:
        assert isinstance(connector, KashFlowConnector)
        connector.sign_out()
