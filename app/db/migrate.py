"""Bring a database to the newest schema with Alembic, backing the file up first."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.private_files import make_private_folder, open_private

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on ``engine``'s connection (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, backup_dir: Path | None = None) -> Path | None:
    """Migrate ``engine``'s database to head. Returns the backup made, if any.

    A SQLite file that already holds data is copied (with SQLite's online backup, which
    is consistent under WAL) before any migration touches it.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    backup: Path | None = None
    database = engine.url.database
    if current is not None and backup_dir and engine.dialect.name == "sqlite" and database:
        backup = backup_sqlite(Path(database), backup_dir, current)
    log.info("migrating database from %s to %s", current or "empty", head)
    command.upgrade(alembic_config(engine), "head")
    return backup


def backup_sqlite(database: Path, backup_dir: Path, revision: str) -> Path:
    """Copy a live SQLite database consistently to ``backup_dir``."""
    make_private_folder(backup_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"{database.stem}-{revision}-{stamp}.db"
    open_private(target, "wb").close()  # owner-only before a single page is copied
    source = sqlite3.connect(database)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    log.info("backed up %s to %s before migrating", database, target)
    return target
