"""Throwaway PostgreSQL databases for the tests that run on both stores.

The server comes from ``LEDGERLINK_TEST_POSTGRES_URL`` (a superuser's address; ``.ci/run``
starts one with ``tools/throwaway_postgres.sh``). Each test gets a database of its own,
dropped afterwards, so tests never see each other's rows, also under pytest-xdist.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL, make_url

SERVER_ENV = "LEDGERLINK_TEST_POSTGRES_URL"
SKIP_REASON = (
    "PostgreSQL half skipped: no test server (set LEDGERLINK_TEST_POSTGRES_URL, e.g. "
    "`source tools/throwaway_postgres.sh`; .ci/run does)"
)
_counter = itertools.count()


def server_url() -> URL | None:
    """The test server's superuser address, or ``None`` when there is none."""
    raw = os.environ.get(SERVER_ENV)
    return make_url(raw).set(drivername="postgresql+psycopg") if raw else None


def _admin(server: URL):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        dbname=server.database or "postgres",
        autocommit=True,
    )


@contextmanager
def throwaway_database(server: URL) -> Iterator[URL]:
    """A new empty database on ``server`` for the ``with`` block, then dropped."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"ll_{worker}_{os.getpid()}_{next(_counter)}"
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name)
    finally:
        with _admin(server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_admin(server: URL, sql: str) -> None:
    """Run one statement as the test server's superuser (roles, passwords)."""
    with _admin(server) as admin:
        admin.execute(sql)  # type: ignore[arg-type]
