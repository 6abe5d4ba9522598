"""What the dashboard and the wizard say about the Web Connector: paired or not, what
waits for it, when it last called and what its last poll did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import OutboxEntry, SendState
from app.services.qbwc.pairing import load_pairing
from app.services.qbwc.service import LAST_CONTACT, LAST_POLL, PACKAGE, READ_REQUESTED
from app.services.setup.state import get_setting
from connectors.quickbooks_desktop import lists
from connectors.wording import when


@dataclass(frozen=True)
class WebConnectorStatus:
    paired: bool
    company_file: str
    queued: int
    uncertain: int
    last_contact_at: datetime | None
    last_poll_at: datetime | None
    last_poll_did: str
    lists_read_at: datetime | None
    lists_requested: bool

    @property
    def waiting_for_lists(self) -> bool:
        """True while QuickBooks' lists (customers, suppliers, accounts, items, VAT codes) have
        not been read yet, or a fresh read was asked for that the next poll will make."""
        return self.lists_read_at is None or self.lists_requested

    def sentence(self) -> str:
        """One line for the dashboard or the wizard."""
        if not self.paired:
            return "Not paired with the QuickBooks Web Connector yet."
        parts = [f"Last poll: {when(self.last_poll_at)}"]
        if self.last_poll_did:
            parts[0] += f" ({self.last_poll_did})"
        if self.queued:
            parts.append(f"{self.queued} queued for QuickBooks")
        if self.uncertain:
            parts.append(f"{self.uncertain} to check in QuickBooks")
        if self.waiting_for_lists:
            parts.append("waiting for the Web Connector to read QuickBooks' lists")
        return "; ".join(parts) + "."

    def to_json(self) -> dict[str, object]:
        """The status as the CLI's JSON output gives it (times in ISO format)."""
        return {
            "paired": self.paired,
            "company_file": self.company_file,
            "queued": self.queued,
            "uncertain": self.uncertain,
            "last_contact_at": _iso(self.last_contact_at),
            "last_poll_at": _iso(self.last_poll_at),
            "last_poll_did": self.last_poll_did,
            "lists_read_at": _iso(self.lists_read_at),
            "waiting_for_lists": self.waiting_for_lists,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def web_connector_status(session: Session, data_dir: Path) -> WebConnectorStatus:
    """Where the Web Connector stands: paired or not, records queued or uncertain, last contact
    and poll, and when QuickBooks' lists were read."""
    pairing = load_pairing(session)
    counts = dict(
        session.execute(
            select(OutboxEntry.state, func.count())
            .where(OutboxEntry.package == PACKAGE)
            .group_by(OutboxEntry.state)
        ).all()
    )
    last = get_setting(session, LAST_POLL, {}) or {}
    known = lists.load(data_dir)
    return WebConnectorStatus(
        paired=pairing is not None,
        company_file=pairing.company_file if pairing else "",
        queued=int(counts.get(SendState.HANDED_OVER, 0)),
        uncertain=int(counts.get(SendState.UNCERTAIN, 0)),
        last_contact_at=_parse(get_setting(session, LAST_CONTACT)),
        last_poll_at=_parse(last.get("at")),
        last_poll_did=str(last.get("did", "")),
        lists_read_at=_parse(known.read_at),
        lists_requested=bool(get_setting(session, READ_REQUESTED, False)),
    )
