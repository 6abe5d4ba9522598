"""Opening a data folder: create it, migrate the database, seed the default chart."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.engine import make_engine, make_session_factory, secure_database_files
from app.db.migrate import BackupNeeded, upgrade
from app.db.problems import StoreUnavailable, explain, is_connection_problem
from app.services.errors import SetupError
from app.services.setup.chart import ensure_default_chart

#: What services take to open their own sessions (pages and windows pass it on as is).
SessionFactory = sessionmaker[Session]


class StoreProblem(SetupError):
    """The app database cannot be opened (server down, wrong password, no backup for
    a due migration); the message says which store and what to do."""


@dataclass
class Store:
    """An open data folder: its paths, engine and session factory."""

    paths: DataPaths
    engine: Engine
    session_factory: SessionFactory

    def close(self) -> None:
        """Close the data folder's pooled database connections (the engine is disposed)."""
        self.engine.dispose()


def open_store(paths: DataPaths, *, backup_made: bool = False) -> Store:
    """Open (creating and migrating as needed) the store in ``paths``: its SQLite file,
    or the shared PostgreSQL store it names. Raises :class:`StoreProblem` when the
    store cannot be used, naming it."""
    paths.ensure()
    url = paths.database_url
    try:
        engine = make_engine(url)
    except ValueError as exc:  # StoreAddressError: a URL Ledgerlink cannot use
        raise StoreProblem(str(exc)) from exc
    try:
        upgrade(engine, paths.backups, backup_made=backup_made)
        secure_database_files(paths)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            ensure_default_chart(session)
    except BackupNeeded as exc:
        engine.dispose()
        raise StoreProblem(str(exc)) from exc
    except Exception as exc:
        engine.dispose()
        if is_connection_problem(exc):
            raise StoreProblem(str(explain(exc, engine.url))) from exc
        raise
    return Store(paths, engine, factory)


def store_problem(exc: BaseException, store: Store) -> StoreUnavailable | None:
    """``exc`` in words naming ``store``'s database if it is a connection problem (the
    server went away in the middle of a command), else ``None``."""
    return explain(exc, store.engine.url) if is_connection_problem(exc) else None
