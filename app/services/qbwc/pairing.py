"""Pairing Ledgerlink with one QuickBooks company file through the Web Connector.

The user name, the install's FileID, the port and the schedule are settings; the
password is kept in the keyring only. The first poll that carries the FileID records
the company file's path; a different file is refused from then on.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.services.errors import SetupError
from app.services.setup.state import get_setting, set_setting
from connectors.contract import SecretStore
from connectors.quickbooks_desktop import qwc

PAIRING = "qbwc.pairing"
PASSWORD_SECRET = "quickbooks_desktop.web_connector_password"  # noqa: S105 - a keyring entry name
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Pairing:
    username: str
    file_id: str
    port: int = qwc.DEFAULT_PORT
    minutes: int = 15
    #: The company file's path as the Web Connector gave it on the first accepted poll.
    company_file: str = ""

    def qwc_settings(self) -> qwc.QwcSettings:
        """What the ``.qwc`` file given to the Web Connector must say for this pairing."""
        return qwc.QwcSettings(self.username, self.file_id, self.port, self.minutes)


def load_pairing(session: Session) -> Pairing | None:
    """The saved pairing with QuickBooks Desktop's Web Connector, or None before pairing."""
    raw = get_setting(session, PAIRING)
    if not raw:
        return None
    return Pairing(
        username=str(raw["username"]),
        file_id=str(raw["file_id"]),
        port=int(raw.get("port", qwc.DEFAULT_PORT)),
        minutes=int(raw.get("minutes", 15)),
        company_file=str(raw.get("company_file", "")),
    )


def save_pairing(session: Session, pairing: Pairing) -> None:
    """Save ``pairing`` (replacing any earlier one) in the caller's transaction."""
    set_setting(
        session,
        PAIRING,
        {
            "username": pairing.username,
            "file_id": pairing.file_id,
            "port": pairing.port,
            "minutes": pairing.minutes,
            "company_file": pairing.company_file,
        },
    )


def write_qwc_file(
    session: Session,
    out: Path,
    *,
    username: str = "ledgerlink",
    port: int | None = None,
    minutes: int = 15,
) -> Pairing:
    """Write the .qwc file with a new FileID for this install and remember the pairing.

    A new file means a new pairing: the company file recorded before is forgotten, so
    the first poll with the new file records it again.
    """
    name = username.strip()
    if not name or len(name) > 64:
        raise SetupError("The Web Connector user name must be 1 to 64 characters.")
    if port is not None and not 1024 <= port <= 65535:
        raise SetupError(f"Port {port} is not usable; choose one from 1024 to 65535.")
    if out.suffix.lower() != ".qwc":
        raise SetupError(f"{out.name}: the Web Connector only opens files ending in .qwc.")
    known = load_pairing(session)
    pairing = Pairing(
        username=name,
        file_id=qwc.new_file_id(),
        port=port or (known.port if known else qwc.DEFAULT_PORT),
        minutes=minutes,
    )
    try:
        qwc.write_qwc(out, pairing.qwc_settings())
    except (OSError, ValueError) as exc:
        raise SetupError(f"Could not write {out}: {exc}") from exc
    save_pairing(session, pairing)
    return pairing


def set_password(secrets: SecretStore, password: str) -> None:
    """Keep the Web Connector password (the user types the same into the Web Connector)."""
    if len(password) < MIN_PASSWORD:
        raise SetupError(f"The Web Connector password must be at least {MIN_PASSWORD} characters.")
    if password != password.strip():
        raise SetupError("The Web Connector password must not start or end with a space.")
    secrets.set(PASSWORD_SECRET, password)


def credentials_match(
    pairing: Pairing | None, secrets: SecretStore, username: str, password: str
) -> bool:
    """Whether the Web Connector's user name and password are the paired ones."""
    if pairing is None:
        return False
    stored = secrets.get(PASSWORD_SECRET)
    if not stored:
        return False
    same_user = hmac.compare_digest(username.encode(), pairing.username.encode())
    same_password = hmac.compare_digest(password.encode(), stored.encode())
    return same_user and same_password
