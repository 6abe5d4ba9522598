"""The append-only audit history."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db.models import AuditEvent, utcnow


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


def event_values(
    *,
    actor: str,
    action: str,
    package: str = "",
    record_type: str = "",
    record_id: int | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """One audit entry's column values, exactly as :func:`record_event` writes them, for
    :func:`record_events`."""
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "package": package,
        "record_type": record_type,
        "record_id": record_id,
        "detail": json.dumps(detail, sort_keys=True, default=str),
    }


def record_events(session: Session, values: list[dict[str, Any]]) -> None:
    """Add many audit entries (from :func:`event_values`) to ``session`` in one
    statement, in order; committed with the changes they describe."""
    if values:
        session.execute(insert(AuditEvent.metadata.tables[AuditEvent.__tablename__]), values)
