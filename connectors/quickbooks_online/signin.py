"""Signing in to QuickBooks Online by pasting the address back.

Intuit's production keys accept only https redirect addresses, so no listener on this
computer can receive the answer. The browser goes to the https relay page registered
for Ledgerlink's app (it only shows the address it was opened with); the user copies
that address into Ledgerlink, which checks ``state`` and reads ``code`` and ``realmId``
from it. Everything else (exchanging the code, keeping the tokens) is the shared
:mod:`connectors.oauth` flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from connectors.oauth import (
    AuthorizationResponse,
    ClientCredentials,
    OAuthProvider,
    OAuthSession,
    SignInAttempt,
    SignInError,
    TokenManager,
    make_pkce,
    new_state,
)


class PastedAddressAttempt(SignInAttempt):
    """A sign-in whose answer only comes back pasted: there is no listener to wait on.

    It carries the same fields as :class:`~connectors.oauth.SignInAttempt`, so the sign-in
    service finishes it the same way; :attr:`listening` is ``False`` so the Connect page
    shows the paste box straight away.
    """

    def __init__(
        self, provider: OAuthProvider, credentials: ClientCredentials, redirect_uri: str
    ) -> None:
        # The base class binds a loopback listener; this attempt deliberately has none.
        self.provider = provider
        self.state = new_state()
        self.pkce = make_pkce()
        self.receiver = None
        self.redirect_uri = redirect_uri
        self.url = provider.authorization_url(
            credentials.client_id, redirect_uri, self.state, self.pkce
        )

    @property
    def listening(self) -> bool:
        """Always false: nothing on this computer waits for the browser."""
        return False

    def wait(
        self, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> AuthorizationResponse:
        """Always raises ``SignInError``: the answer has to be pasted in."""
        raise SignInError(
            "QuickBooks sends your browser to Ledgerlink's web page, not back to this "
            "computer. Copy the address that page shows and use 'Paste the address'."
        )


class PastedAddressSession(OAuthSession):
    """The connector's sign-in helper: every attempt is a pasted-address one.

    ``redirect_uri`` is asked for when an attempt begins, so a missing relay address is
    reported when the user presses *Sign in*, not when the connector opens.
    """

    def __init__(
        self,
        provider: OAuthProvider,
        credentials: Callable[[], ClientCredentials],
        tokens: TokenManager,
        redirect_uri: Callable[[], str],
    ) -> None:
        super().__init__(provider, credentials, tokens)
        self._redirect_uri = redirect_uri

    def begin(self, *, listen: bool = True) -> SignInAttempt:
        """A pasted-address attempt, whatever ``listen`` says (QuickBooks cannot answer
        a listener; see the module docstring)."""
        return PastedAddressAttempt(self.provider, self.credentials(), self._redirect_uri())
