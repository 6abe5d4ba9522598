"""Serve an ``httpx`` handler (``Callable[[httpx.Request], httpx.Response]``) on
127.0.0.1, so the same stand-in answers through ``httpx.MockTransport`` and real sockets.

A handler that raises an ``httpx.TransportError`` (a stand-in's injected fault) makes
the server drop the connection without an answer, as a real server that died would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


class LoopbackServer:
    """``with LoopbackServer(handler) as server: server.url`` → ``http://127.0.0.1:<port>``."""

    def __init__(self, handler: Handler, *, port: int = 0) -> None:
        outer = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    f"{outer.url}{self.path}",
                    headers=list(self.headers.items()),
                    content=body,
                )
                try:
                    response = handler(request)
                except httpx.TransportError:
                    self.close_connection = True
                    return
                content = response.read()
                self.send_response(response.status_code)
                for name, value in response.headers.multi_items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_PUT = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), RequestHandler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (for ``python -m``)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
