"""Alembic environment: runs on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.types import TypeDecorator

from app.db.models import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our TypeDecorators as the plain column type they store, so migrations
    never import app code that may change after they were written."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        return f"sa.{impl!r}"
    return False


def run_migrations() -> None:
    """Bring the database to the head revision, on the engine the app passes in or the URL given
    with ``-x url=``; on PostgreSQL one computer at a time."""
    engine = config.attributes.get("engine")
    if engine is None:  # the alembic command line: take the URL from -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///ledgerlink.db")
        engine = create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two computers starting a new version at once: the second waits here, then
            # finds the schema already at head and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledgerlink.migrate'))"))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite cannot ALTER most constraints in place
            compare_type=True,
            render_item=render_item,
        )
        context.run_migrations()


run_migrations()
