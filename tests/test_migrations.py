"""Alembic builds the schema from empty and from every earlier revision, on SQLite and
PostgreSQL, and it matches the models exactly; a database holding data is backed up
first (a file copy for SQLite, pg_dump for PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from app.config import DataPaths
from app.db import migrate
from app.db.engine import make_engine
from app.db.models import Base, Link
from app.services.store import StoreProblem, open_store

REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory(str(migrate.MIGRATIONS_DIR)).walk_revisions()))
]


def _matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert (
        migrate.head_revision() == ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_current_head()
    )


def test_head_falls_back_to_alembic_on_a_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files on the same parent: the simple reading sees two heads and asks Alembic
    (which says so, rather than picking one)."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(
            f'revision = "{name}"\ndown_revision = None\n', encoding="utf-8"
        )
    monkeypatch.setattr(migrate, "VERSIONS_DIR", tmp_path)
    monkeypatch.setattr(migrate, "_alembic_head", lambda: "asked alembic")
    migrate.head_revision.cache_clear()
    try:
        assert migrate.head_revision() == "asked alembic"
    finally:
        migrate.head_revision.cache_clear()


def test_revision_read_without_alembic_is_alembics(data_paths: DataPaths) -> None:
    engine = make_engine(data_paths.database_url)
    command.upgrade(migrate.alembic_config(engine), REVISIONS[1])
    with engine.connect() as connection:
        expected = MigrationContext.configure(connection).get_current_revision()
    assert migrate.current_revision(engine) == expected == REVISIONS[1]
    engine.dispose()


@pytest.mark.both_stores
def test_schema_from_empty_matches_models(data_paths: DataPaths) -> None:
    engine = make_engine(data_paths.database_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine, data_paths.backups)
    assert migrate.current_revision(engine) == migrate.head_revision()
    _matches_models(engine)
    engine.dispose()


@pytest.mark.both_stores
@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_every_earlier_revision_upgrades_to_head_keeping_data(
    data_paths: DataPaths, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_paths.database_url)
    command.upgrade(migrate.alembic_config(engine), start)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO settings (key, value) VALUES ('marker', '1')"))
        connection.execute(
            text(
                "INSERT INTO contacts (kind, account_ref, name, contact_name, address_1, "
                "address_2, address_3, town, county, postcode, email, phone, created_at, "
                "updated_at) VALUES ('customer', 'C1', 'Ada', '', '', '', '', '', '', '', '', "
                "'', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        contact_id = connection.execute(text("SELECT id FROM contacts")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO links (package, contact_id, remote_ref, remote_name, method, "
                "linked_at) VALUES ('sandbox', :c, 'R1', '', 'typed', '2026-01-01 00:00:00')"
            ),
            {"c": contact_id},
        )
    if engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (the backup is tested where it is)")

    backup = migrate.upgrade(engine, data_paths.backups)

    assert migrate.current_revision(engine) == migrate.head_revision()
    _matches_models(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM settings")).scalar_one() == "1"
        assert connection.execute(select(Link.remote_ref, Link.version)).one() == ("R1", 1)
    assert backup is not None and backup.parent == data_paths.backups
    assert backup.stat().st_mode & 0o077 == 0
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
    monkeypatch.setattr(command, "upgrade", lambda _cfg, rev: applied.append(rev))

    backup = migrate.upgrade(engine, data_paths.backups)

    assert applied == ["head"]
    assert backup is not None and backup.parent == data_paths.backups
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT value FROM settings WHERE key='marker'").fetchone() == ("1",)
    finally:
        copy.close()
    assert backup.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_postgres_backup_is_a_pg_dump_that_restores(
    engine: Engine, data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO settings (key, value) VALUES ('marker', '42')"))
    monkeypatch.setattr(migrate, "head_revision", lambda: "9999_future")
    monkeypatch.setattr(command, "upgrade", lambda _cfg, _rev: None)

    backup = migrate.upgrade(engine, data_paths.backups)

    assert backup is not None and backup.suffix == ".dump"
    listing = subprocess.run(
        ["pg_restore", "--data-only", "--table=settings", "--file=-", str(backup)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "marker\t42" in listing
    assert str(engine.url.password) not in Path(backup).read_bytes().decode("latin-1")


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_without_pg_dump_a_due_migration_waits_for_a_confirmed_backup(
    engine: Engine, data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    command.downgrade(migrate.alembic_config(engine), REVISIONS[-2])
    monkeypatch.setattr(migrate.shutil, "which", lambda _name: None)

    with pytest.raises(StoreProblem, match="pg_dump, which is not installed") as refused:
        open_store(data_paths).close()
    assert "store migrate --backup-made" in str(refused.value)
    assert migrate.current_revision(engine) == REVISIONS[-2]  # nothing was changed

    open_store(data_paths, backup_made=True).close()
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_up_to_date_database_is_not_backed_up(engine: Engine, data_paths: DataPaths) -> None:
    assert migrate.upgrade(engine, data_paths.backups) is None
    assert list(Path(data_paths.backups).iterdir()) == []


def test_opening_an_up_to_date_store_does_not_import_alembic(data_paths: DataPaths) -> None:
    """Alembic (with Mako and Pygments) costs each start about 0.4 s: it is imported only
    when a migration is due."""
    open_store(data_paths).close()  # created and migrated: Alembic was needed here
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.config import DataPaths\n"
        "from app.services.store import open_store\n"
        "open_store(DataPaths(Path(sys.argv[1]))).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_paths.root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[]"
