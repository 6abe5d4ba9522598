"""Finished steps of multi-step records, kept on disk so a ``429``, a cancel or a crash
never makes a connector redo them.

Some records take more than one request: a credit note is created, then set against its
invoice; a payment may be created, then allocated. When the first step has been done and
the second has not, the connector writes down what the first made (the credit note's id
and what remains to be done) *before* the second step starts, and forgets it once the
record is finished. A later attempt at the same record — a retry after a rate limit, the
next send after a cancel, or the look-up of an uncertain record after a crash — reads it
back and only does what is left.

The app hands a connector its own :class:`StepStore` in the app's store (so every PC on
a shared store sees the same unfinished steps, and backups include them). Without one,
:class:`StepLog` keeps one small SQLite file per package in the data folder. Either is
written with a transaction per step, so a crash mid-write leaves either the old entry or
the new one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""


class StepStore(Protocol):
    """Where a connector keeps finished steps: key → JSON object, durable on return."""

    def get(self, key: str) -> dict[str, Any] | None:
        """What was written under ``key``, or ``None``."""

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Write (or replace) ``key``; durable once this returns."""

    def forget(self, key: str) -> None:
        """The record is finished: nothing left to resume."""

    def unfinished_keys(self) -> list[str]:
        """Every key with unfinished work."""


class StepLog:
    """Key → JSON value, durable. ``path=None`` keeps it in memory (for a connector that
    has no data folder, and tests that are not about crashes)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute(_SCHEMA)

    @classmethod
    def in_folder(cls, folder: Path | None, package_key: str) -> StepLog:
        """The log for one package in a data folder (``<key>-steps.sqlite3``)."""
        if folder is None:
            return cls(None)
        return cls(Path(folder) / f"{package_key}-steps.sqlite3")

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        return sqlite3.connect(self.path, timeout=30.0)

    def get(self, key: str) -> dict[str, Any] | None:
        """What was written under ``key``, or ``None``."""
        with self._lock:
            if self.path is None:
                raw = self._memory.get(key)
            else:
                db = self._connect()
                try:
                    row = db.execute("SELECT value FROM steps WHERE key = ?", (key,)).fetchone()
                finally:
                    db.close()
                raw = row[0] if row else None
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Write (or replace) ``key``; durable once this returns."""
        raw = json.dumps(dict(value), sort_keys=True)
        with self._lock:
            if self.path is None:
                self._memory[key] = raw
                return
            db = self._connect()
            try:
                with db:
                    db.execute(
                        "INSERT INTO steps (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, raw),
                    )
            finally:
                db.close()

    def forget(self, key: str) -> None:
        """The record is finished: nothing left to resume."""
        with self._lock:
            if self.path is None:
                self._memory.pop(key, None)
                return
            db = self._connect()
            try:
                with db:
                    db.execute("DELETE FROM steps WHERE key = ?", (key,))
            finally:
                db.close()

    def unfinished_keys(self) -> list[str]:
        """Every key with unfinished work (for tests and diagnostics)."""
        with self._lock:
            if self.path is None:
                return sorted(self._memory)
            db = self._connect()
            try:
                return [row[0] for row in db.execute("SELECT key FROM steps ORDER BY key")]
            finally:
                db.close()
