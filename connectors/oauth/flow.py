"""One desktop sign-in, start to finish: authorisation code with PKCE and ``state``, the
system browser, a loopback listener, or the address the user pastes.

::

    attempt = oauth.begin()              # listener bound, PKCE and state made
    open_in_browser(attempt.url)          # the GUI's job
    answer = attempt.wait(cancel=flag)    # or attempt.read_pasted(text)
    oauth.finish(attempt, answer)         # code exchanged; tokens in the keyring

Connectors whose package signs in this way derive from :class:`OAuthConnector`, which the
app's sign-in service (``app.services.setup.signin``) drives.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from connectors.contract import Company, Connector
from connectors.oauth.errors import SignInError
from connectors.oauth.pkce import Pkce, make_pkce, new_state
from connectors.oauth.provider import ClientCredentials, OAuthProvider
from connectors.oauth.redirect import AuthorizationResponse, LoopbackReceiver, read_redirect
from connectors.oauth.tokens import TokenManager


class SignInAttempt:
    """PKCE pair, ``state``, the sign-in page's address and the listener waiting for it."""

    def __init__(
        self, provider: OAuthProvider, credentials: ClientCredentials, *, listen: bool = True
    ) -> None:
        self.provider = provider
        self.state = new_state()
        self.pkce: Pkce = make_pkce()
        self.receiver: LoopbackReceiver | None = None
        if listen:
            self.receiver = LoopbackReceiver(
                self.state,
                provider.name,
                uri_host=provider.redirect_host,
                path=provider.redirect_path,
                ports=provider.redirect_ports,
            )
            self.redirect_uri = self.receiver.redirect_uri
        elif provider.paste_redirect_uri:
            self.redirect_uri = provider.paste_redirect_uri
        else:
            # Nothing listens: the browser fails to load the page and the user pastes
            # the address it shows.
            port = next((p for p in provider.redirect_ports if p), 0)
            if not port:
                raise SignInError(
                    f"{provider.name} has no fixed address to come back to without "
                    "Ledgerlink listening; start the sign-in with listening on."
                )
            self.redirect_uri = f"http://{provider.redirect_host}:{port}{provider.redirect_path}"
        self.url = provider.authorization_url(
            credentials.client_id, self.redirect_uri, self.state, self.pkce
        )

    def wait(
        self, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> AuthorizationResponse:
        """The browser's answer through the loopback listener."""
        if self.receiver is None:
            raise RuntimeError("this sign-in is not listening; use read_pasted")
        return self.receiver.wait(timeout=timeout, cancel=cancel)

    def read_pasted(self, text: str) -> AuthorizationResponse:
        """The answer in the address the user copied from the browser."""
        return read_redirect(text, self.state, self.provider.name)

    def close(self) -> None:
        """Stop listening for the browser, if this attempt was listening."""
        if self.receiver is not None:
            self.receiver.close()

    def __enter__(self) -> SignInAttempt:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class OAuthSession:
    """A connector's sign-in helper: starts attempts and turns answers into saved tokens."""

    def __init__(
        self,
        provider: OAuthProvider,
        credentials: Callable[[], ClientCredentials],
        tokens: TokenManager,
    ) -> None:
        self.provider = provider
        self.credentials = credentials
        self.tokens = tokens

    def begin(self, *, listen: bool = True) -> SignInAttempt:
        """Start a sign-in: fresh PKCE and state, and (with ``listen``) a loopback listener."""
        return SignInAttempt(self.provider, self.credentials(), listen=listen)

    def finish(self, attempt: SignInAttempt, answer: AuthorizationResponse) -> None:
        """Trade the code in ``answer`` for tokens and save them."""
        self.tokens.exchange_code(answer.code, attempt.pkce.verifier, attempt.redirect_uri)

    def sign_out(self) -> None:
        """Forget the tokens on this computer."""
        self.tokens.forget()


class OAuthConnector(Connector, ABC):
    """A connector whose package signs in with OAuth: what it offers the Connect page."""

    @property
    @abstractmethod
    def oauth(self) -> OAuthSession:
        """The connector's sign-in helper."""

    @property
    def signed_in(self) -> bool:
        """Whether tokens are stored (they may still turn out to be revoked)."""
        return self.oauth.tokens.signed_in

    def accept_answer(self, answer: AuthorizationResponse) -> None:
        """Read package-specific parameters from the answer (QuickBooks: ``realmId``)."""

    @abstractmethod
    def list_organisations(self) -> list[Company]:
        """The companies this sign-in reaches (more than one: the user picks)."""

    @abstractmethod
    def sign_out(self) -> None:
        """Forget the tokens here and, where the package allows, disconnect there."""
