"""Bring a database to the newest schema with Alembic, backing it up first.

A SQLite file is copied with SQLite's online backup; a PostgreSQL database is dumped
with ``pg_dump``. Without ``pg_dump`` the migration is refused until the user says they
have a backup of their own (``ledgerlink store migrate --backup-made``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from app.private_files import make_private_folder, open_private

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL

# SQLAlchemy is imported only where an engine is used: the window's first read checks
# the schema's revision (``head_revision``) before anything imports SQLAlchemy.

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"

#: ``revision = "…"`` and ``down_revision = "…"`` (or ``None``) as each migration file
#: states them, annotated or not.
_REVISION = re.compile(r'^revision(?::[^=]*)?=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?::[^=]*)?=\s*(None|"([^"]*)")\s*$', re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on ``engine``'s connection (no ini file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@cache
def head_revision() -> str:
    """The newest revision the code knows.

    Read from the migration files' own ``revision``/``down_revision`` lines rather than
    through Alembic, whose import (Mako, Pygments, every dialect) would cost each start
    about 0.4 s when no migration is due. Anything the simple reading cannot follow (a
    merge, a branch) is left to Alembic.
    """
    down: dict[str, str | None] = {}
    for path in VERSIONS_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, parent = _REVISION.search(source), _DOWN.search(source)
        if revision is None or parent is None:
            return _alembic_head()
        down[revision.group(1)] = parent.group(2)
    heads = set(down) - set(down.values())
    if len(heads) != 1 or list(down.values()).count(None) != 1:
        return _alembic_head()
    return heads.pop()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (its ``alembic_version`` row), or ``None`` for
    an empty database."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(versions) > 1:
        raise RuntimeError(
            "The database records more than one schema version "
            f"({', '.join(sorted(str(v[0]) for v in versions))}); Ledgerlink cannot tell "
            "which layout it has."
        )
    return str(versions[0][0]) if versions else None


def _describe(url: str | URL) -> str:
    from app.db.location import describe_store

    return describe_store(url)


class BackupNeeded(RuntimeError):
    """A migration is due and no backup could be made; nothing was changed."""


def upgrade(
    engine: Engine, backup_dir: Path | None = None, *, backup_made: bool = False
) -> Path | None:
    """Migrate ``engine``'s database to head. Returns the backup made, if any.

    A database that already holds data is backed up before any migration touches it: a
    SQLite file with SQLite's online backup (consistent under WAL), a PostgreSQL database
    with ``pg_dump``. When ``pg_dump`` is missing, :class:`BackupNeeded` is raised unless
    ``backup_made`` says the user has made one of their own.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    backup: Path | None = None
    database = engine.url.database
    if current is not None and backup_dir:
        if engine.dialect.name == "sqlite" and database:
            backup = backup_sqlite(Path(database), backup_dir, current)
        elif engine.dialect.name == "postgresql":
            pg_dump = shutil.which("pg_dump")
            if pg_dump:
                backup = backup_postgres(engine.url, backup_dir, current, pg_dump)
            elif not backup_made:
                raise BackupNeeded(
                    f"The data on {_describe(engine.url)} needs its layout updated "
                    f"(from {current} to {head}), and Ledgerlink backs it up first with "
                    "pg_dump, which is not installed here. Install the PostgreSQL client "
                    "tools (Debian/Ubuntu: `sudo apt install postgresql-client`), or back the "
                    "database up yourself and then run `ledgerlink store migrate "
                    "--backup-made`. Nothing was changed."
                )
    from alembic import command

    log.info("migrating database from %s to %s", current or "empty", head)
    command.upgrade(alembic_config(engine), "head")
    return backup


def backup_postgres(url: URL, backup_dir: Path, revision: str, pg_dump: str) -> Path:
    """Dump a PostgreSQL database with ``pg_dump`` (custom format, restorable with
    ``pg_restore``) to ``backup_dir``. The password goes to pg_dump in its environment,
    never on its command line, where other users of the computer could read it."""
    make_private_folder(backup_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"{url.database}-{revision}-{stamp}.dump"
    open_private(target, "wb").close()  # owner-only before pg_dump writes a byte
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    argv = [
        pg_dump,
        "--format=custom",
        "--no-password",
        f"--file={target}",
        f"--host={url.host or 'localhost'}",
        f"--port={url.port or 5432}",
        f"--dbname={url.database}",
    ]
    if url.username:
        argv.append(f"--username={url.username}")
    import subprocess  # only for pg_dump: keeps the dashboard's first read light

    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupNeeded(
            f"The backup of {_describe(url)} before updating its layout failed, so "
            f"nothing was changed. pg_dump said: {done.stderr.strip()}"
        )
    log.info("backed up %s to %s before migrating", _describe(url), target)
    return target


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
