"""What Ledgerlink keeps and says for each desktop bridge, in one place.

A desktop bridge (QuickBooks Desktop's Web Connector, Sage 50's import files) takes
records now and the package confirms them later. Its own services live in ``qbwc/`` and
``sage50/``; this table is the only place that says which package uses which, so the
dashboard and the send ask for a capability ("the bridge's note", "keep what was handed
over") instead of testing package names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.services.sending.sender import HandoverRecorder


def _web_connector_note(session: Session, data_dir: Path) -> str:
    from app.services.qbwc.status import web_connector_status

    return "Web Connector: " + web_connector_status(session, data_dir).sentence()


def _sage_50_note(session: Session, _data_dir: Path) -> str:
    from app.services.sage50.steps import files_sentence

    return files_sentence(session)


def _sage_50_steps(session: Session) -> list[str]:
    from app.services.sage50.steps import import_steps

    return import_steps(session)


def _sage_50_recorder() -> HandoverRecorder:
    from app.services.sage50.ledger import record_export

    return record_export


class DesktopBridge(NamedTuple):
    """One bridge's services: the dashboard's line about it, the steps a person takes
    in the package after a send, and (for a bridge whose files Ledgerlink keeps a ledger
    of) what records each record it took.

    A named tuple, not a dataclass: the dashboard's first read imports this module, and
    declaring a frozen dataclass costs the first page about 1 ms (its methods are
    compiled from source as it is declared)."""

    note: Callable[[Session, Path], str]
    steps: Callable[[Session], list[str]] | None = None
    recorder: Callable[[], HandoverRecorder] | None = None


_BRIDGES: dict[str, DesktopBridge] = {
    "quickbooks_desktop": DesktopBridge(note=_web_connector_note),
    "sage_50": DesktopBridge(note=_sage_50_note, steps=_sage_50_steps, recorder=_sage_50_recorder),
}


def has_bridge(package: str) -> bool:
    """Whether ``package`` is reached through a desktop bridge (whose note the dashboard
    reads with the bridge's own services)."""
    return package in _BRIDGES


def bridge_note(session: Session, package: str, data_dir: Path) -> str:
    """The dashboard's line about ``package``'s bridge ("Web Connector: last poll …");
    ``""`` for a package that answers at once."""
    bridge = _BRIDGES.get(package)
    return bridge.note(session, data_dir) if bridge else ""


def handover_recorder(package: str) -> HandoverRecorder | None:
    """What keeps a record of each record ``package``'s bridge took, if it keeps one."""
    bridge = _BRIDGES.get(package)
    return bridge.recorder() if bridge and bridge.recorder else None


def steps_after_send(session: Session, package: str) -> list[str]:
    """What the person does next in ``package`` for what the send handed over (Sage 50:
    import these files in this order); empty when there is nothing to do by hand."""
    bridge = _BRIDGES.get(package)
    return bridge.steps(session) if bridge and bridge.steps else []
