"""Signing in to KashFlow: not OAuth, but the user's own name and password, then the
characters of their memorable word that KashFlow asks for by position.

::

    challenge = signin.start(username, password)     # POST /sessiontoken
    challenge.positions                               # e.g. (2, 3, 6): ask for exactly these
    signin.finish(challenge, {2: "i", 3: "n", 6: "p"}, remember_password=False)  # PUT

The session token (``Authorization: KfToken …``) is kept in the keyring only; it lapses
after about an hour unused, and a call that meets the lapse raises
:class:`SessionLapsed` (the send stops: "sign in again"). The password is kept in the
keyring only when the user ticks "remember"; the memorable word never is, and only the
characters asked for are ever typed. ``AccountLocked`` is shown as such and never
retried (:class:`AccountLocked`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from connectors.contract import SecretStore
from connectors.errors import ConnectorError, NeedsReconnecting, SignInError, TemporarilyUnavailable
from connectors.http import ApiClient, describe_status
from connectors.kashflow import wire

KEY = "kashflow"
SESSION_TOKEN = f"{KEY}.session_token"
PASSWORD = f"{KEY}.password"


class SignInRefused(SignInError):
    """KashFlow refused the user name, password or memorable-word characters."""


class AccountLocked(NeedsReconnecting):
    """Too many wrong sign-ins: KashFlow has locked the user. Never retried."""

    retriable = False


class SessionLapsed(NeedsReconnecting):
    """The session ended (about an hour unused, or signed out elsewhere)."""


@dataclass(frozen=True)
class Challenge:
    """What step 1 answered: the temporary token and the positions asked for."""

    username: str
    temporary_token: str = field(repr=False)
    positions: tuple[int, ...]

    def describe(self) -> str:
        """``"characters 2, 3 and 6"`` for the page."""
        numbers = [str(p) for p in self.positions]
        if len(numbers) == 1:
            return f"character {numbers[0]}"
        return f"characters {', '.join(numbers[:-1])} and {numbers[-1]}"


def locked_message(said: str) -> str:
    """What to tell the user when KashFlow has locked the user out, with KashFlow's words."""
    return (
        f"KashFlow has locked this user after too many wrong sign-ins ({said}). Ledgerlink "
        "will not try again: unlock it in KashFlow (or ask KashFlow support), then sign in "
        "on the Connect page."
    )


def refusal(response: httpx.Response, body: object, step: str) -> ConnectorError:
    """What a refused sign-in step means, in words."""
    error = wire.error_of(body)
    said = error.text or describe_status(response)
    if error.error == "AccountLocked":
        return AccountLocked(locked_message(said))
    if response.status_code >= 500:
        return TemporarilyUnavailable(f"KashFlow could not sign in just now ({said}); try again.")
    if step == "password":
        return SignInRefused(
            f"KashFlow did not accept the user name and password ({said}). Check them (the "
            "user name is the one you sign in to KashFlow with) and that API access is on in "
            "KashFlow (Settings › API settings)."
        )
    return SignInRefused(
        f"KashFlow did not accept the memorable word's characters ({said}). Start again: "
        "KashFlow will ask for a new set of characters."
    )


class KashFlowSignIn:
    """The two sign-in steps over ``http``; tokens and the password to the keyring."""

    def __init__(
        self, http: ApiClient, api_url: str, secrets: SecretStore, clock: Callable[[], float]
    ) -> None:
        self.http = http
        self.api_url = api_url
        self.secrets = secrets
        self.clock = clock

    @property
    def session_token(self) -> str:
        """The session token from the keyring, or ``""`` when not signed in."""
        return self.secrets.get(SESSION_TOKEN) or ""

    @property
    def remembers_password(self) -> bool:
        """Whether a password is kept in the keyring for the next sign-in."""
        return bool(self.secrets.get(PASSWORD))

    def start(self, username: str, password: str = "") -> Challenge:
        """Step 1: user name and password (the remembered one when ``password`` is
        empty) → the positions of the memorable word's characters to ask for."""
        name = username.strip()
        secret = password or self.secrets.get(PASSWORD) or ""
        if not name or not secret:
            raise SignInRefused("Type your KashFlow user name and password first.")
        response = self.http.request(
            "POST", f"{self.api_url}/{wire.SESSION_PATH}", body=wire.login_payload(name, secret)
        )
        body = self.http.read_json(response) if response.content else None
        if response.status_code not in (200, 201):
            raise refusal(response, body, "password")
        token, positions = wire.positions_of(body)
        if not token or not positions:
            raise SignInRefused(
                "KashFlow answered the sign-in without asking for memorable-word characters; "
                "Ledgerlink cannot go on. Try again later."
            )
        return Challenge(name, token, positions)

    def finish(
        self,
        challenge: Challenge,
        characters: Mapping[int, str],
        *,
        remember_password: str | None = None,
    ) -> str:
        """Step 2: exactly one character for each position asked → the session token,
        kept in the keyring. ``remember_password`` keeps the password there too; ``None``
        forgets any kept before."""
        missing = [p for p in challenge.positions if len(characters.get(p, "")) != 1]
        extra = sorted(set(characters) - set(challenge.positions))
        if missing or extra:
            wanted = challenge.describe()
            raise SignInRefused(
                f"Type exactly one character for each of {wanted} of your memorable word "
                "(and nothing else)."
            )
        answer = {p: characters[p] for p in challenge.positions}
        response = self.http.request(
            "PUT",
            f"{self.api_url}/{wire.SESSION_PATH}",
            body=wire.characters_payload(challenge.temporary_token, answer),
        )
        body = self.http.read_json(response) if response.content else None
        if response.status_code not in (200, 201):
            raise refusal(response, body, "characters")
        session = wire.session_of(body)
        if not session:
            raise SignInRefused("KashFlow answered without a session token; try again.")
        self.secrets.set(SESSION_TOKEN, session)
        if remember_password:
            self.secrets.set(PASSWORD, remember_password)
        else:
            self.secrets.delete(PASSWORD)
        return session

    def sign_out(self) -> None:
        """End the session at KashFlow (``DELETE /sessiontoken``) and forget it here; a
        kept password is forgotten too."""
        token = self.session_token
        self.secrets.delete(SESSION_TOKEN)
        self.secrets.delete(PASSWORD)
        if token:
            # Forgotten here either way; KashFlow ends it after an hour unused anyway.
            with contextlib.suppress(ConnectorError):
                self.http.request(
                    "DELETE",
                    f"{self.api_url}/{wire.SESSION_PATH}",
                    headers={"Authorization": wire.authorization(token)},
                )
