"""The append-only audit history."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import AuditEvent


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    package: str = "",
    record_type: str = "",
    record_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit entry to ``session`` (committed with the change it describes)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        package=package,
        record_type=record_type,
        record_id=record_id,
        detail=json.dumps(detail, sort_keys=True, default=str),
    )
    session.add(event)
    return event
