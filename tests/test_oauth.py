"""connectors.oauth: PKCE, state, the loopback listener (real sockets on 127.0.0.1), the
paste-the-address fallback, and tokens: exchanged, kept in the secret store only,
refreshed before expiry, rotated refresh tokens saved before the new access token is
used, and a dead refresh token turned into "sign in again"."""

from __future__ import annotations

import logging
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.errors import NeedsReconnecting, TemporarilyUnavailable
from connectors.http import ApiClient, make_client
from connectors.oauth import (
    BearerAuth,
    ClientCredentials,
    OAuthProvider,
    SignInAttempt,
    SignInCancelled,
    SignInError,
    TokenManager,
    TokenStore,
    challenge_for,
    client_credentials,
    make_pkce,
    new_state,
    read_redirect,
)
from tests.connector_harness import MemorySecrets
from tests.standins.clock import VirtualClock
from tests.standins.loopback import LoopbackServer
from tests.standins.oauth_server import AuthorizationServer

CLIENT = ClientCredentials("ledgerlink-test-client")
API = "https://api.example.test/things"


def provider_at(base: str, **overrides: object) -> OAuthProvider:
    fields: dict[str, object] = {
        "name": "Example Books",
        "key": "example",
        "authorize_url": f"{base}/authorize",
        "token_url": f"{base}/token",
        "scopes": ("openid", "offline_access", "accounting"),
    }
    fields.update(overrides)
    return OAuthProvider(**fields)  # type: ignore[arg-type]


@pytest.fixture
def auth_server() -> Iterator[tuple[AuthorizationServer, LoopbackServer]]:
    server = AuthorizationServer(client_id=CLIENT.client_id)
    with LoopbackServer(server) as loopback:
        yield server, loopback


@dataclass
class Page:
    status_code: int
    text: str


def open_in_browser(url: str) -> Page:
    """The user's browser (another program: it logs nothing of ours) opens the sign-in
    page and follows its redirect back to Ledgerlink's listener."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return Page(response.status, response.read().decode("utf-8"))
    except urllib.error.HTTPError as refused:
        return Page(refused.code, refused.read().decode("utf-8"))


# ----------------------------------------------------------------------------- PKCE, state


def test_pkce_matches_rfc_7636_and_is_random() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    first, second = make_pkce(), make_pkce()
    assert first.verifier != second.verifier and first.method == "S256"
    assert 43 <= len(first.verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", first.verifier)
    assert first.challenge == challenge_for(first.verifier)
    assert first.verifier not in repr(first)
    assert new_state() != new_state() and len(new_state()) >= 32


def test_authorization_url_carries_pkce_state_and_scopes() -> None:
    provider = provider_at("https://login.example.test")
    pkce = make_pkce()
    url = provider.authorization_url("abc", "http://127.0.0.1:5000/callback", "s-1", pkce)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params == {
        "response_type": "code",
        "client_id": "abc",
        "redirect_uri": "http://127.0.0.1:5000/callback",
        "scope": "openid offline_access accounting",
        "state": "s-1",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    assert pkce.verifier not in url


def test_client_id_comes_from_settings_or_the_environment() -> None:
    provider = provider_at("https://x.test")
    secrets = MemorySecrets()
    assert client_credentials(provider, {"client_id": "from-settings"}, secrets, environ={}) == (
        ClientCredentials("from-settings")
    )
    env = {"LEDGERLINK_EXAMPLE_CLIENT_ID": "from-env", "LEDGERLINK_EXAMPLE_CLIENT_SECRET": "s3"}
    found = client_credentials(provider, {}, secrets, environ=env)
    assert found == ClientCredentials("from-env", "s3") and "s3" not in repr(found)
    secrets.set("example.client_secret", "kept-in-keyring")
    assert client_credentials(provider, {"client_id": "a"}, secrets, environ={}).client_secret == (
        "kept-in-keyring"
    )
    with pytest.raises(SignInError, match="LEDGERLINK_EXAMPLE_CLIENT_ID"):
        client_credentials(provider, {}, secrets, environ={})


# ----------------------------------------------------------------------------- pasted address


def test_pasted_address_gives_the_code_after_checking_state() -> None:
    pasted = "http://localhost:47651/callback?code=abc123&state=s-1&realmId=99"
    answer = read_redirect(f"  {pasted}\n", "s-1", "Xero")
    assert answer.code == "abc123" and answer.params["realmId"] == "99"
    assert read_redirect("code=abc123&state=s-1", "s-1", "Xero").code == "abc123"


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("http://localhost:1/callback?code=abc&state=someone-else", "different sign-in"),
        ("http://localhost:1/callback?code=abc", "different sign-in"),
        ("http://localhost:1/callback?error=access_denied&state=s-1", "chose not to allow"),
        ("http://localhost:1/callback?state=s-1", "no code"),
        ("https://go.xero.com/app/contacts", "does not carry"),
        ("   ", "Nothing was pasted"),
    ],
)
def test_pasted_address_refusals(pasted: str, message: str) -> None:
    with pytest.raises(SignInError, match=message):
        read_redirect(pasted, "s-1", "Xero")


# ----------------------------------------------------------------------------- loopback


def test_loopback_sign_in_against_a_local_authorisation_server(
    auth_server: tuple[AuthorizationServer, LoopbackServer], caplog: pytest.LogCaptureFixture
) -> None:
    server, loopback = auth_server
    caplog.set_level(logging.DEBUG)
    provider = provider_at(loopback.url)
    secrets = MemorySecrets()
    tokens = TokenManager(provider, lambda: CLIENT, TokenStore(secrets, "example"))
    with SignInAttempt(provider, CLIENT) as attempt:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", attempt.redirect_uri)
        page = open_in_browser(attempt.url)
        assert page.status_code == 200 and "close this tab" in page.text
        answer = attempt.wait(timeout=10)
        tokens.exchange_code(answer.code, attempt.pkce.verifier, attempt.redirect_uri)

    issued_access, issued_refresh = server.issued[-2:]
    assert secrets.values == {
        "example.refresh_token": issued_refresh,
        "example.access_token": issued_access,
        "example.token_expires_at": secrets.values["example.token_expires_at"],
    }
    assert tokens.access_token() == issued_access
    for secret in server.issued:  # the code and both tokens
        assert secret not in caplog.text
        assert secret not in page.text


def test_listener_ignores_an_answer_for_another_sign_in_and_keeps_waiting(
    auth_server: tuple[AuthorizationServer, LoopbackServer],
) -> None:
    _, loopback = auth_server
    provider = provider_at(loopback.url)
    with SignInAttempt(provider, CLIENT) as attempt:
        assert attempt.receiver is not None
        forged = open_in_browser(f"{attempt.redirect_uri}?code=stolen&state=not-ours")
        assert forged.status_code == 400 and "different sign-in" in forged.text
        assert not attempt.receiver.answered
        favicon = open_in_browser(f"{attempt.redirect_uri.rsplit('/', 1)[0]}/favicon.ico")
        assert favicon.status_code == 404 and not attempt.receiver.answered
        assert open_in_browser(attempt.url).status_code == 200
        assert attempt.wait(timeout=10).code != "stolen"


def test_refusing_consent_ends_the_sign_in_with_a_plain_message(
    auth_server: tuple[AuthorizationServer, LoopbackServer],
) -> None:
    server, loopback = auth_server
    server.consent = "deny"
    with SignInAttempt(provider_at(loopback.url), CLIENT) as attempt:
        page = open_in_browser(attempt.url)
        assert page.status_code == 400 and "chose not to allow" in page.text
        with pytest.raises(SignInError, match="chose not to allow"):
            attempt.wait(timeout=10)


def test_waiting_can_be_cancelled_or_time_out(
    auth_server: tuple[AuthorizationServer, LoopbackServer],
) -> None:
    _, loopback = auth_server
    with SignInAttempt(provider_at(loopback.url), CLIENT) as attempt:
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(SignInCancelled):
            attempt.wait(cancel=cancel)
        with pytest.raises(SignInError, match="Paste the address"):
            attempt.wait(timeout=0.3)


def test_busy_port_is_reported_with_the_paste_alternative() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        provider = provider_at("http://127.0.0.1:1", redirect_ports=(port,))
        with pytest.raises(SignInError, match=f"port {port}.*Paste the address"):
            SignInAttempt(provider, CLIENT)


def test_fixed_ports_are_tried_in_order_and_named_in_the_redirect() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        provider = provider_at(
            "http://127.0.0.1:1", redirect_ports=(busy, free), redirect_host="localhost"
        )
        with SignInAttempt(provider, CLIENT) as attempt:
            assert attempt.redirect_uri == f"http://localhost:{free}/callback"


def test_paste_fallback_finishes_the_same_sign_in(
    auth_server: tuple[AuthorizationServer, LoopbackServer],
) -> None:
    server, loopback = auth_server
    provider = provider_at(loopback.url)
    secrets = MemorySecrets()
    tokens = TokenManager(provider, lambda: CLIENT, TokenStore(secrets, "example"))
    with SignInAttempt(provider, CLIENT) as attempt, httpx.Client() as user:
        # The browser could not come back (say, the page was opened on another computer):
        # the user copies the address it was sent to.
        sent_to = user.get(attempt.url).headers["Location"]
        answer = attempt.read_pasted(sent_to)
        tokens.exchange_code(answer.code, attempt.pkce.verifier, attempt.redirect_uri)
    assert secrets.get("example.refresh_token") == server.issued[-1]
    # The code is single-use: replaying the pasted address does not sign in twice.
    with pytest.raises(NeedsReconnecting, match="did not accept the sign-in"):
        tokens.exchange_code(answer.code, attempt.pkce.verifier, attempt.redirect_uri)


def test_a_wrong_verifier_is_refused_by_the_server(
    auth_server: tuple[AuthorizationServer, LoopbackServer],
) -> None:
    _, loopback = auth_server
    provider = provider_at(loopback.url)
    tokens = TokenManager(provider, lambda: CLIENT, TokenStore(MemorySecrets(), "example"))
    with SignInAttempt(provider, CLIENT) as attempt, httpx.Client() as user:
        answer = attempt.read_pasted(user.get(attempt.url).headers["Location"])
        with pytest.raises(NeedsReconnecting):
            tokens.exchange_code(answer.code, make_pkce().verifier, attempt.redirect_uri)


# ----------------------------------------------------------------------------- tokens


class Events:
    """One ordered log of what was saved and what was sent."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []


class SpySecrets(MemorySecrets):
    def __init__(self, events: Events) -> None:
        super().__init__()
        self.events = events

    def set(self, name: str, value: str) -> None:
        self.events.log.append((f"saved {name}", value))
        super().set(name, value)


def signed_in_api(
    server: AuthorizationServer, clock: VirtualClock, events: Events
) -> tuple[TokenManager, ApiClient, SpySecrets]:
    provider = provider_at("https://login.example.test")

    def handler(request: httpx.Request) -> httpx.Response:
        identity = server.handle(request)
        if identity is not None:
            return identity
        token = request.headers.get("Authorization", "")[7:]
        events.log.append(("api request", token))
        if server.grant_for(request.headers.get("Authorization", "")) is None:
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})

    transport = httpx.MockTransport(handler)
    secrets = SpySecrets(events)
    issued = server.issue()
    store = TokenStore(secrets, "example")
    tokens = TokenManager(provider, lambda: CLIENT, store, transport=transport, clock=clock.now)
    secrets.values.update(
        {
            "example.refresh_token": str(issued["refresh_token"]),
            "example.access_token": str(issued["access_token"]),
            "example.token_expires_at": repr(clock.now() + 1800),
        }
    )
    api = ApiClient(make_client(transport=transport, auth=BearerAuth(tokens)), package_name="Ex")
    return tokens, api, secrets


def test_refresh_before_expiry_saves_the_rotated_refresh_token_before_using_it() -> None:
    clock = VirtualClock()
    server = AuthorizationServer(client_id=CLIENT.client_id, clock=clock.now)
    events = Events()
    _, api, secrets = signed_in_api(server, clock, events)
    first_access = secrets.get("example.access_token")
    assert api.request("GET", API).status_code == 200
    clock.advance(1800 - 60)  # inside the two-minute leeway: refresh before it expires
    assert api.request("GET", API).status_code == 200

    new_refresh = secrets.get("example.refresh_token")
    new_access = secrets.get("example.access_token")
    assert new_access != first_access and server.token_requests == ["refresh_token"]
    order = [what for what, value in events.log if value in (new_refresh, new_access)]
    assert order == [
        "saved example.refresh_token",
        "saved example.access_token",
        "api request",
    ]


def test_a_401_refreshes_once_and_retries() -> None:
    clock = VirtualClock()
    server = AuthorizationServer(client_id=CLIENT.client_id, clock=clock.now)
    _, api, _ = signed_in_api(server, clock, Events())
    server.expire_access_tokens()  # revoked early, though not yet due to expire
    assert api.request("GET", API).status_code == 200
    assert server.token_requests == ["refresh_token"]


def test_a_401_after_refreshing_means_signing_in_again() -> None:
    clock = VirtualClock()
    server = AuthorizationServer(client_id=CLIENT.client_id, clock=clock.now)
    _, _, secrets = signed_in_api(server, clock, Events())
    always_401 = httpx.MockTransport(lambda request: server.handle(request) or httpx.Response(401))
    provider = provider_at("https://login.example.test")
    store = TokenStore(secrets, "example")
    tokens = TokenManager(provider, lambda: CLIENT, store, transport=always_401, clock=clock.now)
    api = ApiClient(make_client(transport=always_401, auth=BearerAuth(tokens)), package_name="Ex")
    with pytest.raises(NeedsReconnecting, match="Sign in again"):
        api.request("GET", API)
    assert server.token_requests == ["refresh_token"]


def test_expired_or_revoked_refresh_token_needs_reconnecting() -> None:
    clock = VirtualClock()
    server = AuthorizationServer(client_id=CLIENT.client_id, clock=clock.now)
    _, api, _ = signed_in_api(server, clock, Events())
    clock.advance(61 * 86400)  # over Xero's 60 days unused
    with pytest.raises(NeedsReconnecting, match="Sign in again on the Connect page") as caught:
        api.request("GET", API)
    assert "invalid_grant" in str(caught.value)
    for secret in server.issued:
        assert secret not in str(caught.value)


def test_old_refresh_token_still_works_within_the_grace_period() -> None:
    """A refresh whose answer was lost is safe to repeat with the old token (for the
    stand-in's 30 minutes, as Xero documents), and not after."""
    clock = VirtualClock()
    server = AuthorizationServer(client_id=CLIENT.client_id, clock=clock.now)
    first, _, secrets = signed_in_api(server, clock, Events())
    old = secrets.values["example.refresh_token"]
    first.refresh_after_rejection(secrets.values["example.access_token"])
    assert secrets.values["example.refresh_token"] != old

    def after_losing_the_answer() -> TokenManager:
        secrets.values["example.refresh_token"] = old
        provider = provider_at("https://login.example.test")
        transport = httpx.MockTransport(lambda r: server.handle(r) or httpx.Response(404))
        store = TokenStore(secrets, "example")
        return TokenManager(provider, lambda: CLIENT, store, transport=transport, clock=clock.now)

    clock.advance(600)
    retried = after_losing_the_answer()
    assert retried.refresh_after_rejection(secrets.values["example.access_token"])
    clock.advance(3600)
    with pytest.raises(NeedsReconnecting):
        after_losing_the_answer().refresh_after_rejection(secrets.values["example.access_token"])


def test_token_service_down_is_temporary_and_a_bad_client_id_says_so() -> None:
    provider = provider_at("https://login.example.test")
    secrets = MemorySecrets()
    secrets.set("example.refresh_token", "rt-something-long")
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    tokens = TokenManager(provider, lambda: CLIENT, TokenStore(secrets, "example"), transport=down)
    with pytest.raises(TemporarilyUnavailable):
        tokens.access_token()
    bad = httpx.MockTransport(lambda request: httpx.Response(401, json={"error": "invalid_client"}))
    tokens = TokenManager(provider, lambda: CLIENT, TokenStore(secrets, "example"), transport=bad)
    with pytest.raises(NeedsReconnecting, match="client id"):
        tokens.access_token()


def test_not_signed_in_and_signing_out() -> None:
    provider = provider_at("https://login.example.test")
    secrets = MemorySecrets()
    store = TokenStore(secrets, "example")
    tokens = TokenManager(provider, lambda: CLIENT, store)
    assert not tokens.signed_in
    with pytest.raises(NeedsReconnecting, match="not signed in to Example Books"):
        tokens.access_token()
    secrets.values.update(dict.fromkeys(store.names, "x"))
    assert TokenManager(provider, lambda: CLIENT, store).signed_in
    tokens.forget()
    assert secrets.values == {} and not tokens.signed_in


def test_without_listening_the_browser_goes_to_a_page_whose_address_is_pasted() -> None:
    https_only = provider_at(
        "https://login.example.test", paste_redirect_uri="https://ll.example/done"
    )
    attempt = SignInAttempt(https_only, CLIENT, listen=False)
    assert attempt.redirect_uri == "https://ll.example/done" and attempt.receiver is None
    assert "redirect_uri=https%3A%2F%2Fll.example%2Fdone" in attempt.url
    answer = attempt.read_pasted(f"https://ll.example/done?code=c-1&state={attempt.state}")
    assert answer.code == "c-1"
    fixed = provider_at("https://login.example.test", redirect_ports=(47651,))
    assert SignInAttempt(fixed, CLIENT, listen=False).redirect_uri == (
        "http://127.0.0.1:47651/callback"
    )
    with pytest.raises(SignInError, match="no fixed address"):
        SignInAttempt(provider_at("https://login.example.test"), CLIENT, listen=False)
