"""Signing in to a cloud package (Xero now; QuickBooks Online and Sage later), Qt-free.

The Connect page drives it from a worker thread; every function here may touch the
network, the keyring or the database, so none may run on the GUI thread::

    signin = start_sign_in(paths, factory, "xero")       # worker: listener up, URL made
    open_in_browser(signin.url)                           # GUI (or QDesktopServices)
    organisations = signin.wait_for_browser(cancel)       # worker: blocks until answered
    # …or, when the browser cannot reach Ledgerlink:
    organisations = signin.complete_with_pasted_address(text)
    choose_organisation(paths, factory, "xero", organisations[1])   # worker
    signin.close()

Tokens go to the keyring only (through the connector's secret store); the database
keeps only the non-secret choice of organisation (``tenant_id``) in the package's
settings. With no keyring on the machine, :func:`start_sign_in` fails before the
browser opens, with :class:`~app.secrets.NoKeyringError` saying what to install.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.secrets import KeyringSecretStore
from app.services.errors import SetupError
from app.services.setup.state import COMPANY_NAME, get_setting, package_settings_key, set_setting
from connectors import registry
from connectors.contract import Company, ConnectorContext, SecretStore
from connectors.oauth import OAuthConnector, SignInAttempt

log = logging.getLogger(__name__)

TENANT_ID = "tenant_id"
TENANT_NAME = "tenant_name"


@dataclass(frozen=True)
class Organisation:
    """A company the sign-in reaches (Xero: an organisation, or tenant)."""

    id: str
    name: str


@dataclass(frozen=True)
class SignInStatus:
    """What the Connect page shows before the user does anything."""

    signed_in: bool
    organisation_id: str
    organisation_name: str


def package_settings(session_factory: sessionmaker[Session], package: str) -> dict[str, str]:
    """The package's stored settings (non-secret: client id, chosen organisation…)."""
    with session_factory() as session:
        stored = get_setting(session, package_settings_key(package), {})
    return {str(k): str(v) for k, v in dict(stored).items()}


def _save_settings(
    session_factory: sessionmaker[Session], package: str, changes: dict[str, str | None]
) -> None:
    with session_factory.begin() as session:
        settings: dict[str, Any] = dict(get_setting(session, package_settings_key(package), {}))
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        set_setting(session, package_settings_key(package), settings)


def oauth_connector(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
    transport: Any = None,
    settings: dict[str, str] | None = None,
) -> OAuthConnector:
    """The package's connector, for signing in; :class:`SetupError` if it does not sign
    in with OAuth. ``transport`` replaces the network (tests, a local stand-in)."""
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
    if not isinstance(connector, OAuthConnector):
        connector.close()
        raise SetupError(f"{connector.info.name} does not use a sign-in page.")
    return connector


def _organisations(connector: OAuthConnector) -> list[Organisation]:
    return [Organisation(c.id, c.name) for c in connector.list_organisations()]


class SignIn:
    """One sign-in in progress. Its methods block: call them from a worker."""

    def __init__(
        self,
        package: str,
        connector: OAuthConnector,
        attempt: SignInAttempt,
        session_factory: sessionmaker[Session],
    ) -> None:
        self.package = package
        self._connector = connector
        self._attempt = attempt
        self._session_factory = session_factory
        self._lock = threading.Lock()
        self._finished = False

    @property
    def url(self) -> str:
        """The sign-in page to open in the system browser."""
        return self._attempt.url

    @property
    def redirect_uri(self) -> str:
        """Where the browser comes back to (what a pasted address starts with)."""
        return self._attempt.redirect_uri

    def wait_for_browser(
        self, cancel: threading.Event | None = None, timeout: float | None = None
    ) -> list[Organisation]:
        """Wait for the browser to come back to Ledgerlink, then finish signing in."""
        answer = self._attempt.wait(timeout=timeout, cancel=cancel)
        return self._finish(answer)

    def complete_with_pasted_address(self, text: str) -> list[Organisation]:
        """Finish with the address the browser was sent to, copied by the user."""
        return self._finish(self._attempt.read_pasted(text))

    def _finish(self, answer: Any) -> list[Organisation]:
        with self._lock:
            if self._finished:
                raise SetupError("This sign-in has already finished; start a new one.")
            self._connector.accept_answer(answer)
            self._connector.oauth.finish(self._attempt, answer)
            self._finished = True
        self._attempt.close()
        organisations = _organisations(self._connector)
        log.info("%s signed in; organisations reachable: %d", self.package, len(organisations))
        if len(organisations) == 1:
            _remember(self._session_factory, self.package, organisations[0])
        return organisations

    def close(self) -> None:
        """Stop listening and release the connection (safe to call twice)."""
        self._attempt.close()
        self._connector.close()


def start_sign_in(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
    transport: Any = None,
    listen: bool = True,
) -> SignIn:
    """Get ready to sign in: check the keyring works, bind the loopback listener and
    make the sign-in page's address. Nothing is opened; the caller opens :attr:`SignIn.url`."""
    store = secrets or KeyringSecretStore()
    connector = oauth_connector(paths, session_factory, package, secrets=store, transport=transport)
    try:
        # Fails now, with install advice, rather than after the user has signed in.
        store.get(f"{package}.refresh_token")
        attempt = connector.oauth.begin(listen=listen)
    except Exception:
        connector.close()
        raise
    return SignIn(package, connector, attempt, session_factory)


def open_in_browser(url: str) -> bool:
    """Open the sign-in page in the system browser; ``False`` if none could be started
    (show the address for the user to copy instead)."""
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False


def list_organisations(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
    transport: Any = None,
) -> list[Organisation]:
    """The companies the stored sign-in reaches."""
    connector = oauth_connector(
        paths, session_factory, package, secrets=secrets, transport=transport
    )
    try:
        return _organisations(connector)
    finally:
        connector.close()


def _remember(
    session_factory: sessionmaker[Session], package: str, organisation: Organisation
) -> None:
    _save_settings(
        session_factory, package, {TENANT_ID: organisation.id, TENANT_NAME: organisation.name}
    )
    with session_factory.begin() as session:
        set_setting(session, COMPANY_NAME, organisation.name)


def choose_organisation(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    organisation: Organisation,
    *,
    secrets: SecretStore | None = None,
    transport: Any = None,
) -> Company:
    """Send to ``organisation`` from now on: check it answers, then save the choice."""
    settings = {**package_settings(session_factory, package), TENANT_ID: organisation.id}
    connector = oauth_connector(
        paths, session_factory, package, secrets=secrets, transport=transport, settings=settings
    )
    try:
        company = connector.connect()
    finally:
        connector.close()
    _remember(session_factory, package, Organisation(organisation.id, company.name))
    return company


def sign_in_status(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
) -> SignInStatus:
    """Whether tokens are stored, and the organisation chosen (no network)."""
    settings = package_settings(session_factory, package)
    connector = oauth_connector(paths, session_factory, package, secrets=secrets, settings=settings)
    try:
        signed_in = connector.signed_in
    finally:
        connector.close()
    return SignInStatus(
        signed_in=signed_in,
        organisation_id=settings.get(TENANT_ID, ""),
        organisation_name=settings.get(TENANT_NAME, ""),
    )


def sign_out(
    paths: DataPaths,
    session_factory: sessionmaker[Session],
    package: str,
    *,
    secrets: SecretStore | None = None,
) -> None:
    """Delete the package's tokens from the keyring and forget the chosen organisation."""
    connector = oauth_connector(paths, session_factory, package, secrets=secrets)
    try:
        connector.sign_out()
    finally:
        connector.close()
    _save_settings(session_factory, package, {TENANT_ID: None, TENANT_NAME: None})
