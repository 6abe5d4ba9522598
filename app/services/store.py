"""Opening a data folder: create it, migrate the database, seed the default chart."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.engine import make_engine, make_session_factory, secure_database_files
from app.db.migrate import upgrade
from app.services.setup.chart import ensure_default_chart

#: What services take to open their own sessions (pages and windows pass it on as is).
SessionFactory = sessionmaker[Session]


@dataclass
class Store:
    """An open data folder: its paths, engine and session factory."""

    paths: DataPaths
    engine: Engine
    session_factory: SessionFactory

    def close(self) -> None:
        self.engine.dispose()


def open_store(paths: DataPaths) -> Store:
    """Open (creating and migrating as needed) the store in ``paths``."""
    paths.ensure()
    engine = make_engine(paths.database_url)
    upgrade(engine, paths.backups)
    secure_database_files(paths)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        ensure_default_chart(session)
    return Store(paths, engine, factory)
