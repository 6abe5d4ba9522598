"""OAuth 2.0 for desktop sign-in, shared by every cloud connector.

- :mod:`~connectors.oauth.pkce`: the PKCE pair and ``state``;
- :mod:`~connectors.oauth.provider`: a provider's addresses and scopes, and Ledgerlink's
  client id from settings or the environment;
- :mod:`~connectors.oauth.redirect`: the loopback listener and the paste-the-address
  fallback, both checking ``state``;
- :mod:`~connectors.oauth.tokens`: exchange, keyring storage and refresh (rotated refresh
  tokens saved before use), and an ``httpx.Auth`` that refreshes once on a 401;
- :mod:`~connectors.oauth.flow`: one sign-in from start to finish, and the
  :class:`OAuthConnector` interface a connector offers the Connect page.
"""

from connectors.oauth.errors import SignInCancelled, SignInError
from connectors.oauth.flow import OAuthConnector, OAuthSession, SignInAttempt
from connectors.oauth.pkce import Pkce, challenge_for, make_pkce, new_state
from connectors.oauth.provider import (
    ClientCredentials,
    OAuthProvider,
    SecretPlacement,
    client_credentials,
    env_name,
)
from connectors.oauth.redirect import AuthorizationResponse, LoopbackReceiver, read_redirect
from connectors.oauth.tokens import BearerAuth, TokenManager, TokenSet, TokenStore

__all__ = [
    "AuthorizationResponse",
    "BearerAuth",
    "ClientCredentials",
    "LoopbackReceiver",
    "OAuthConnector",
    "OAuthProvider",
    "OAuthSession",
    "Pkce",
    "SecretPlacement",
    "SignInAttempt",
    "SignInCancelled",
    "SignInError",
    "TokenManager",
    "TokenSet",
    "TokenStore",
    "challenge_for",
    "client_credentials",
    "env_name",
    "make_pkce",
    "new_state",
    "read_redirect",
]
