"""``ledgerlink qbwc …``: pair with the QuickBooks Web Connector and run its service."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from app.cli_output import emit
from app.services.errors import SetupError

EXIT_OK = 0


def add_parser(commands: Any) -> None:
    """Add ``ledgerlink qbwc`` and its commands (serve, file, password, status, read) to
    ``commands``."""
    qbwc = commands.add_parser("qbwc", help="QuickBooks Desktop's Web Connector: pair and serve")
    sub = qbwc.add_subparsers(dest="qbwc_command", required=True)
    serve = sub.add_parser("serve", help="run the Web Connector's SOAP service until stopped")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    qwc = sub.add_parser("file", help="write the .qwc file to add in the Web Connector")
    qwc.add_argument("out", type=Path, metavar="OUT.qwc")
    qwc.add_argument("--username", default="ledgerlink")
    qwc.add_argument("--port", type=int, default=None)
    qwc.add_argument("--minutes", type=int, default=15, help="how often it runs")
    password = sub.add_parser("password", help="set the Web Connector password (keyring)")
    password.add_argument("--password-stdin", action="store_true", required=True)
    status = sub.add_parser("status", help="what waits for QuickBooks and what the last poll did")
    status.add_argument("--json", action="store_true")
    sub.add_parser("read", help="read QuickBooks' lists again on the next poll")


def run(store: Any, args: argparse.Namespace) -> int:
    """Run a ``ledgerlink qbwc`` command: write the ``.qwc`` file, keep the password, report
    status, ask for a fresh read of QuickBooks' lists, or serve."""
    from app.secrets import KeyringSecretStore
    from app.services.qbwc import pairing

    command = args.qbwc_command
    if command == "file":
        with store.session_factory.begin() as session:
            made = pairing.write_qwc_file(
                session, args.out, username=args.username, port=args.port, minutes=args.minutes
            )
        print(
            f"Wrote {args.out} (user name {made.username}, http://localhost:{made.port}/qbwc).\n"
            "In QuickBooks, open the company file, then in the Web Connector choose "
            "Add an application and pick this file; allow access when QuickBooks asks, and "
            "type the password set with `ledgerlink qbwc password --password-stdin`."
        )
        return EXIT_OK
    if command == "password":
        pairing.set_password(KeyringSecretStore(), sys.stdin.readline().rstrip("\r\n"))
        print("Web Connector password kept in the keyring.")
        return EXIT_OK
    if command == "status":
        from app.services.qbwc.status import web_connector_status

        with store.session_factory() as session:
            state = web_connector_status(session, store.paths.root)
        emit(args, state.to_json(), state.sentence())
        return EXIT_OK
    if command == "read":
        from app.services.qbwc.service import request_lists

        with store.session_factory.begin() as session:
            request_lists(session)
        print("QuickBooks' lists are read on the Web Connector's next poll.")
        return EXIT_OK
    return serve(store, args)


def serve(store: Any, args: argparse.Namespace) -> int:
    """``ledgerlink qbwc serve``: answer the Web Connector's polls until Ctrl+C; a user error
    before pairing or when the port cannot be used."""
    from app.secrets import KeyringSecretStore
    from app.services.qbwc.pairing import load_pairing
    from app.services.qbwc.server import WebConnectorServer
    from app.services.qbwc.service import WebConnectorService
    from connectors.quickbooks_desktop.qwc import DEFAULT_PORT

    with store.session_factory() as session:
        paired = load_pairing(session)
    if paired is None:
        raise SetupError("Not paired yet: run `ledgerlink qbwc file OUT.qwc` first.")
    port = args.port or paired.port or DEFAULT_PORT
    service = WebConnectorService(store.session_factory, store.paths.root, KeyringSecretStore())
    try:
        server = WebConnectorServer(service, args.host, port)
    except (OSError, ValueError) as exc:
        raise SetupError(f"Cannot serve on {args.host}:{port}: {exc}") from exc
    print(f"Serving the QuickBooks Web Connector on {server.url} (Ctrl+C to stop).", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return EXIT_OK
