"""The HTTP server the Web Connector polls: SOAP on ``/qbwc``, a short support page on
``/support`` (the Web Connector checks that AppSupport answers 200).

A plain ``http.server`` on loopback only: the Web Connector accepts plain http for
``localhost`` alone. Calls are answered one at a time (connections each get a thread), until
:meth:`WebConnectorServer.stop`.
"""

from __future__ import annotations

import html
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.services.qbwc.service import WebConnectorService
from connectors.quickbooks_desktop import soap
from connectors.quickbooks_desktop.qwc import SOAP_PATH, SUPPORT_PATH

log = logging.getLogger(__name__)

#: Larger SOAP bodies are refused (a whole company's lists fit easily within it).
MAX_BODY = 64 * 1024 * 1024
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

SUPPORT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ledgerlink</title></head>
<body><h1>Ledgerlink for QuickBooks Desktop</h1>
<p>This is Ledgerlink's service for the QuickBooks Web Connector ({version}). It sends
your customers, suppliers, invoices, credit notes and payments into QuickBooks each time
the Web Connector runs.</p>
<p>Help: open Ledgerlink and see its dashboard for what the last run did, or run
<code>ledgerlink qbwc status</code>.</p></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    #: An idle kept-alive connection is dropped after this many seconds.
    timeout = 60
    # Headers and body go out in two writes; with Nagle's algorithm the second waits
    # for the client's delayed ACK (about 40 ms a call).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        log.debug("qbwc http: " + format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in (SUPPORT_PATH, SOAP_PATH, "/"):
            page = SUPPORT_PAGE.format(version=html.escape(self.server.service.server_version()))
            self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")
            return
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != SOAP_PATH:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            body = soap.fault(soap.SoapFault("A SOAP request needs a Content-Length."))
            self.close_connection = True
            self._send(HTTPStatus.BAD_REQUEST, body, "text/xml; charset=utf-8")
            return
        status, answer = self.server.service.handle(self.rfile.read(length))
        self._send(status, answer, "text/xml; charset=utf-8")


class _Server(ThreadingHTTPServer):
    # One thread per connection, so a kept-alive connection never holds up another (the
    # Web Connector's support-page check, a second client); the service itself takes
    # one call at a time. Closing never waits for an idle kept-alive connection.
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], service: WebConnectorService) -> None:
        self.service = service
        super().__init__(address, _Handler)


class WebConnectorServer:
    """The service on ``host:port`` in a background thread."""

    def __init__(self, service: WebConnectorService, host: str = "127.0.0.1", port: int = 8438):
        if host not in LOOPBACK:
            raise ValueError(
                f"{host} is not this computer: the Web Connector takes plain http only "
                "from localhost"
            )
        self._server = _Server((host, port), service)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the service listens on (the one the OS picked when started on port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The SOAP address the ``.qwc`` file points the Web Connector at."""
        return f"http://localhost:{self.port}{SOAP_PATH}"

    def start(self) -> WebConnectorServer:
        """Start serving in a daemon thread; returns the server itself, for chaining."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="qbwc-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` (the ``serve`` command)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
