"""Receiving the browser's answer: a loopback listener (RFC 8252 §7.3), or the address
the user pastes when the listener cannot be reached.

Both check ``state`` before anything else, so an answer to someone else's sign-in (or a
stale tab) is refused. The listener binds 127.0.0.1 only, serves one small page saying
the tab can be closed, and never logs the query string (it carries the code).
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from connectors.oauth.errors import SignInCancelled, SignInError
from connectors.oauth.pkce import same_state

log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
#: How often a waiting worker looks at its cancel flag.
POLL_SECONDS = 0.2

_REFUSALS = {
    "access_denied": "You chose not to allow Ledgerlink access, so nothing was connected.",
    "invalid_scope": "{name} refused the access Ledgerlink asked for (invalid_scope).",
    "unauthorized_client": "{name} does not allow Ledgerlink's app to sign in this way "
    "(unauthorized_client).",
}


@dataclass(frozen=True)
class AuthorizationResponse:
    """The provider's answer: the code to exchange, and every other parameter it sent
    (QuickBooks adds ``realmId``)."""

    code: str = field(repr=False)
    params: Mapping[str, str] = field(default_factory=dict, repr=False)


def read_redirect(text: str, expected_state: str, provider_name: str) -> AuthorizationResponse:
    """The answer in a redirect address (or just its query string) the user pasted."""
    candidate = text.strip()
    if not candidate:
        raise SignInError(
            "Nothing was pasted. Copy the whole address from the browser's address bar "
            "after signing in, then paste it here."
        )
    query = urlsplit(candidate).query if "?" in candidate or "://" in candidate else candidate
    params = {k: v[0] for k, v in parse_qs(query.lstrip("?"), keep_blank_values=True).items()}
    return _check(params, expected_state, provider_name)


def _check(
    params: Mapping[str, str], expected_state: str, provider_name: str
) -> AuthorizationResponse:
    state = params.get("state", "")
    if not state and "code" not in params and "error" not in params:
        raise SignInError(
            f"That address does not carry {provider_name}'s answer. After signing in, copy "
            "the whole address from the browser's address bar (it contains code= and "
            "state=), then paste it here."
        )
    if not same_state(expected_state, state):
        raise SignInError(
            "That answer belongs to a different sign-in (its state does not match), so "
            "Ledgerlink ignored it. Start the sign-in again and use the newest browser tab."
        )
    error = params.get("error", "")
    if error:
        reason = _REFUSALS.get(error, f"{provider_name} refused the sign-in ({error}).")
        raise SignInError(reason.format(name=provider_name) + " Start the sign-in again to retry.")
    code = params.get("code", "")
    if not code:
        raise SignInError(f"{provider_name}'s answer has no code. Start the sign-in again.")
    return AuthorizationResponse(code=code, params=dict(params))


_DONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ledgerlink</title></head><body style="font-family:sans-serif;margin:3em">
<h1>{title}</h1><p>{body}</p></body></html>"""


class LoopbackReceiver:
    """Listens on ``http://127.0.0.1:<port><path>`` for one sign-in's answer.

    ``ports`` are tried in order (0 = any free port). ``uri_host`` is what the redirect
    address says (``localhost`` where a provider registers that name).
    """

    def __init__(
        self,
        expected_state: str,
        provider_name: str,
        *,
        uri_host: str = LISTEN_HOST,
        path: str = "/callback",
        ports: tuple[int, ...] = (0,),
    ) -> None:
        self.expected_state = expected_state
        self.provider_name = provider_name
        self.path = path
        self._done = threading.Event()
        self._result: AuthorizationResponse | SignInError | None = None
        self._server = self._bind(ports)
        self.port = int(self._server.server_address[1])
        self.redirect_uri = f"http://{uri_host}:{self.port}{path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"{provider_name} sign-in listener",
            daemon=True,
        )
        self._thread.start()

    def _bind(self, ports: tuple[int, ...]) -> HTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                # The default writes the request line, code included, to stderr.
                return

        errors: list[str] = []
        for port in ports or (0,):
            try:
                return HTTPServer((LISTEN_HOST, port), Handler)
            except OSError as exc:
                errors.append(f"port {port}: {exc.strerror or exc}")
        raise SignInError(
            f"Ledgerlink could not listen for {self.provider_name}'s answer on this computer "
            f"({'; '.join(errors)}). Close the program using that port, or use "
            "'Paste the address' instead."
        )

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path != self.path:
            self._reply(request, 404, "Not found", "This is not a page Ledgerlink serves.")
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            answer = _check(params, self.expected_state, self.provider_name)
        except SignInError as problem:
            if not same_state(self.expected_state, params.get("state", "")):
                # Not our sign-in: refuse it and keep waiting for the real answer.
                self._reply(request, 400, "Not this sign-in", str(problem))
                return
            self._finish(problem)
            self._reply(request, 400, "Sign-in not completed", str(problem))
            return
        self._finish(answer)
        self._reply(
            request,
            200,
            f"Signed in to {self.provider_name}",
            "You can close this tab and return to Ledgerlink.",
        )

    def _finish(self, result: AuthorizationResponse | SignInError) -> None:
        if not self._done.is_set():
            self._result = result
            self._done.set()

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, title: str, body: str) -> None:
        page = _DONE_PAGE.format(title=html.escape(title), body=html.escape(body)).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(page)))
        request.send_header("Cache-Control", "no-store")
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(page)

    @property
    def answered(self) -> bool:
        """True once the browser has come back with an answer."""
        return self._done.is_set()

    def wait(
        self, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> AuthorizationResponse:
        """Block until the browser comes back (call from a worker thread)."""
        waited = 0.0
        while not self._done.wait(POLL_SECONDS):
            waited += POLL_SECONDS
            if cancel is not None and cancel.is_set():
                raise SignInCancelled("Signing in was cancelled.")
            if timeout is not None and waited >= timeout:
                raise SignInError(
                    f"{self.provider_name} did not send the browser back to Ledgerlink in "
                    "time. If the browser shows an address starting "
                    f"{self.redirect_uri.split('?')[0]}, copy it and use 'Paste the address'; "
                    "otherwise start the sign-in again."
                )
        result = self._result
        assert result is not None
        if isinstance(result, SignInError):
            raise result
        return result

    def close(self) -> None:
        """Stop listening (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
