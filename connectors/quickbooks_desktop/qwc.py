"""The Web Connector's ``.qwc`` file: what a user adds in the Web Connector to pair it.

Elements as Intuit's QBWC Programmer's Guide (chapter 4, table 4-1) lists them. The
file carries no password: the user types it into the Web Connector, which keeps it.
Plain ``http`` is accepted only for ``localhost`` (never an IP address), and AppURL and
AppSupport must share that host.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

#: Ledgerlink's OwnerID: one GUID for the application, the same on every install.
OWNER_ID = "{3F6A2C1E-8B4D-4E7A-9C5B-2D1F0E8A7B64}"
APP_NAME = "Ledgerlink"
DEFAULT_PORT = 8438
SOAP_PATH = "/qbwc"
SUPPORT_PATH = "/support"


def new_file_id() -> str:
    """A FileID for one install, in the braced GUID form the Web Connector uses."""
    return "{" + str(uuid.uuid4()).upper() + "}"


@dataclass(frozen=True)
class QwcSettings:
    username: str
    file_id: str
    port: int = DEFAULT_PORT
    minutes: int = 15

    @property
    def app_url(self) -> str:
        """The SOAP service's address on this computer, for the ``.qwc`` file's ``AppURL``."""
        return f"http://localhost:{self.port}{SOAP_PATH}"

    @property
    def support_url(self) -> str:
        """The support page's address on this computer, for ``AppSupport``."""
        return f"http://localhost:{self.port}{SUPPORT_PATH}"


def qwc_xml(settings: QwcSettings) -> bytes:
    """The ``.qwc`` file's bytes."""
    if not settings.username.strip():
        raise ValueError("the Web Connector user name is empty")
    if not 1 <= settings.minutes <= 60 * 24:
        raise ValueError("the schedule must be between 1 minute and a day")
    root = etree.Element("QBWCXML")
    for tag, value in (
        ("AppName", APP_NAME),
        ("AppID", ""),
        ("AppURL", settings.app_url),
        ("AppDescription", "Sends customers, suppliers, invoices and payments from your jobs"),
        ("AppSupport", settings.support_url),
        ("UserName", settings.username),
        ("OwnerID", OWNER_ID),
        ("FileID", settings.file_id),
        ("QBType", "QBFS"),
        ("IsReadOnly", "false"),
    ):
        etree.SubElement(root, tag).text = value
    scheduler = etree.SubElement(root, "Scheduler")
    etree.SubElement(scheduler, "RunEveryNMinutes").text = str(settings.minutes)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def write_qwc(path: Path, settings: QwcSettings) -> Path:
    """Write the ``.qwc`` file (whole or not at all) and return its path."""
    data = qwc_xml(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path
