"""The change-by-hand list's items, without SQLAlchemy: what the window's first read of
the store (app.services.dashboard_read) and app.services.sending.pending_changes share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    """One field of a record as it was sent (``before``) and as the job system has it now."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class PendingChangeItem:
    """A change to a record already sent, waiting to be made by hand in the package."""

    id: int
    record_type: str
    record_id: int
    label: str
    changes: list[FieldChange]
    source: str
    detected_at: datetime
    confirmed_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The pending change as ``changes --json`` prints it."""
        return {
            "id": self.id,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "label": self.label,
            "changes": [c.__dict__ for c in self.changes],
            "source": self.source,
            "detected_at": self.detected_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
        }


def pending_item(
    change_id: int,
    record_type: str,
    record_id: int,
    label: str,
    changes: str,
    source: str,
    detected_at: datetime,
    confirmed_at: datetime | None,
) -> PendingChangeItem:
    """A pending change as listed, from its stored columns (``changes`` is the JSON list
    of ``{"field", "before", "after"}``)."""
    return PendingChangeItem(
        id=change_id,
        record_type=record_type,
        record_id=record_id,
        label=label,
        changes=[FieldChange(**c) for c in json.loads(changes)],
        source=source,
        detected_at=detected_at,
        confirmed_at=confirmed_at,
    )
