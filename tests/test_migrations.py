"""Alembic builds the schema from empty, and it matches the models exactly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from app.config import DataPaths
from app.db import migrate
from app.db.engine import make_engine
from app.db.models import Base


def test_schema_from_empty_matches_models(data_paths: DataPaths) -> None:
    engine = make_engine(data_paths.database_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine, data_paths.backups)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_upgrade_backs_up_a_database_holding_data(
    engine: Engine, data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO settings (key, value) VALUES ('marker', '1')"))
    applied: list[str] = []
    monkeypatch.setattr(migrate, "head_revision", lambda: "9999_future")
    monkeypatch.setattr(migrate.command, "upgrade", lambda _cfg, rev: applied.append(rev))

    backup = migrate.upgrade(engine, data_paths.backups)

    assert applied == ["head"]
    assert backup is not None and backup.parent == data_paths.backups
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT value FROM settings WHERE key='marker'").fetchone() == ("1",)
    finally:
        copy.close()
    assert backup.stat().st_mode & 0o077 == 0


def test_up_to_date_database_is_not_backed_up(engine: Engine, data_paths: DataPaths) -> None:
    assert migrate.upgrade(engine, data_paths.backups) is None
    assert list(Path(data_paths.backups).iterdir()) == []
