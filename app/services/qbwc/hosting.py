"""Keeping the Web Connector's service running while the window is open.

One server per data folder, started from a worker (binding a socket is never done on
the GUI thread) and stopped when the window closes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.services.errors import SetupError
from app.services.qbwc.pairing import load_pairing
from app.services.qbwc.server import WebConnectorServer
from app.services.qbwc.service import WebConnectorService
from app.services.store import Store
from connectors.contract import SecretStore

_lock = threading.Lock()
_servers: dict[Path, WebConnectorServer] = {}


def ensure_running(
    session_factory: sessionmaker[Session], data_dir: Path, secrets: SecretStore
) -> str | None:
    """Start the service for ``data_dir`` unless it runs already; its address, or
    ``None`` when Ledgerlink is not paired with the Web Connector yet."""
    with session_factory() as session:
        pairing = load_pairing(session)
    if pairing is None:
        return None
    with _lock:
        running = _servers.get(data_dir)
        if running is not None:
            if running.port == pairing.port:
                return running.url
            running.stop()
            del _servers[data_dir]
        service = WebConnectorService(session_factory, data_dir, secrets)
        try:
            server = WebConnectorServer(service, "127.0.0.1", pairing.port)
        except OSError as exc:
            raise SetupError(
                f"Port {pairing.port} is in use, so the Web Connector cannot reach "
                f"Ledgerlink ({exc}). Close the other program (or `ledgerlink qbwc serve`), "
                "or write a new .qwc file with another port."
            ) from exc
        _servers[data_dir] = server.start()
        return server.url


def stop(data_dir: Path) -> None:
    """Stop the service for ``data_dir`` if it runs."""
    with _lock:
        server = _servers.pop(data_dir, None)
    if server is not None:
        server.stop()


def running(data_dir: Path) -> bool:
    """True when the Web Connector service for ``data_dir`` is running in this process."""
    with _lock:
        return data_dir in _servers


def start_for_window(store: Store) -> str | None:
    """The window's call: start the service for ``store``'s data folder with the
    password from the OS keyring; its address, or ``None`` before pairing."""
    from app.secrets import KeyringSecretStore

    return ensure_running(store.session_factory, store.paths.root, KeyringSecretStore())


def pair_and_serve(store: Store, path: Path, *, username: str, port: int, password: str) -> str:
    """The Connect page's *Save the Web Connector file*: keep the password in the OS
    keyring, write the ``.qwc`` file to ``path``, then start the service; its address."""
    from app.secrets import KeyringSecretStore
    from app.services.qbwc import pairing

    secrets = KeyringSecretStore()
    pairing.set_password(secrets, password)
    with store.session_factory.begin() as session:
        pairing.write_qwc_file(session, path, username=username, port=port)
    return ensure_running(store.session_factory, store.paths.root, secrets) or ""
