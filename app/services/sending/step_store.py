"""Finished steps of multi-step records, kept in the app's store for the connectors.

A cloud connector writes down what the first request of a two-request record made (a
FreeAgent invoice created as Draft, not yet marked as sent) before it makes the second,
so a retry finishes the record instead of creating it again. Kept in the store, every
PC on a shared store resumes a record another PC started, and a backup holds it.
Earlier versions kept a ``<package>-steps.sqlite3`` file in the data folder:
:func:`adopt_step_file` moves what such a file still holds into the store, once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import ConnectorStep
from connectors.steps import StepLog

log = logging.getLogger(__name__)


class StoreSteps:
    """One package's finished steps in the store; each call is its own transaction, so
    a step is durable once :meth:`put` returns. Safe to use from any thread."""

    def __init__(self, session_factory: sessionmaker[Session], package: str) -> None:
        self._factory = session_factory
        self.package = package

    def get(self, key: str) -> dict[str, Any] | None:
        """What was written under ``key``, or ``None``."""
        with self._factory() as session:
            row = session.get(ConnectorStep, (self.package, key))
            raw = row.value if row else None
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Write (or replace) ``key``; durable once this returns."""
        raw = json.dumps(dict(value), sort_keys=True)
        with self._factory.begin() as session:
            row = session.get(ConnectorStep, (self.package, key))
            if row is None:
                session.add(ConnectorStep(package=self.package, key=key, value=raw))
            else:
                row.value = raw

    def forget(self, key: str) -> None:
        """The record is finished: nothing left to resume."""
        with self._factory.begin() as session:
            row = session.get(ConnectorStep, (self.package, key))
            if row is not None:
                session.delete(row)

    def unfinished_keys(self) -> list[str]:
        """Every key with unfinished work, in order."""
        with self._factory() as session:
            return list(
                session.scalars(
                    select(ConnectorStep.key)
                    .where(ConnectorStep.package == self.package)
                    .order_by(ConnectorStep.key)
                )
            )


def adopt_step_file(steps: StoreSteps, data_dir: Path) -> int:
    """Move the unfinished steps an earlier version kept in ``<package>-steps.sqlite3``
    into the store (an entry already in the store wins), then rename the file so it is
    never read again. How many entries moved; 0 when there is no file."""
    path = data_dir / f"{steps.package}-steps.sqlite3"
    if not path.exists():
        return 0
    old = StepLog(path)
    moved = 0
    for key in old.unfinished_keys():
        value = old.get(key)
        if value is not None and steps.get(key) is None:
            steps.put(key, value)
            moved += 1
    path.rename(path.with_name(path.name + ".moved-to-store"))
    log.info("Moved unfinished steps of %s into the store: %d", steps.package, moved)
    return moved
