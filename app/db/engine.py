"""Opening the app database: engine, pragmas, file permissions and sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths, restrict_to_owner
from app.db.location import parse_store_url, with_saved_password
from connectors.contract import SecretStore

#: Seconds to wait for a PostgreSQL server to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10


def make_engine(url: str | URL, secrets: SecretStore | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    WAL lets the window read while a send (in a worker or a ``ledgerlink send`` run by
    the OS scheduler) writes. A PostgreSQL address without a password gets the one kept
    in the keyring (``ledgerlink store use``); connections are checked before use, so a
    server restart between two actions is not an error, and TCP keepalives notice a
    dropped network instead of waiting forever.
    """
    parsed = parse_store_url(url)
    if parsed.get_backend_name() == "postgresql":
        if secrets is None:
            from app.secrets import KeyringSecretStore

            secrets = KeyringSecretStore()
        engine = create_engine(
            with_saved_password(parsed, secrets),
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": "ledgerlink",
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
                # Every statement is planned for its own values: psycopg would prepare a
                # statement it has run five times, and the server then settles on a
                # generic plan, in which a long `IN (…)` list or an `= ANY(array)` filter
                # is searched row by row instead of hashed (30 times slower on the
                # importers' look-ups). Not preparing keeps that to our own statements;
                # the session-wide `plan_cache_mode=force_custom_plan` used before also
                # re-planned the server's foreign-key check for every row inserted.
                "prepare_threshold": None,
            },
        )
        return engine
    engine = create_engine(parsed)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """One session per user action; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def secure_database_files(paths: DataPaths) -> None:
    """Keep the database and its WAL side files readable by their owner only."""
    if not paths.database_url.startswith("sqlite"):
        return
    for suffix in ("", "-wal", "-shm"):
        restrict_to_owner(paths.database.with_name(paths.database.name + suffix))
