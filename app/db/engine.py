"""Opening the app database: engine, pragmas, file permissions and sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths, restrict_to_owner


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    WAL lets the window read while a send (in a worker or a ``ledgerlink send`` run by
    the OS scheduler) writes.
    """
    engine = create_engine(url, future=True)
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
    for suffix in ("", "-wal", "-shm"):
        restrict_to_owner(paths.database.with_name(paths.database.name + suffix))
