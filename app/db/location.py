"""Where the app database lives: a SQLite file in the data folder, or a shared
PostgreSQL server.

A server's address is kept and shown without its password: the password lives in the
keyring under :func:`password_name`, and is only put into the address handed to the
driver (never into a string that could reach a log, a settings file or the screen).
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from connectors.contract import SecretStore

#: The one PostgreSQL driver Ledgerlink uses (psycopg 3, the ``[postgres]`` extra).
POSTGRES_DRIVER = "postgresql+psycopg"


class StoreAddressError(ValueError):
    """An address that cannot name a store Ledgerlink supports."""


def parse_store_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy URL, PostgreSQL ones always on psycopg 3.

    ``postgresql://user@host/db`` (what people type) and ``postgres://`` are accepted;
    other PostgreSQL drivers and other databases are refused with the reason.
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception as exc:  # sqlalchemy raises ArgumentError for text it cannot parse
        raise StoreAddressError(
            "This is not a database address; write it as postgresql://user@host/database."
        ) from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.get_driver_name() not in ("psycopg", "psycopg2", "") and "+" in (
            parsed.drivername
        ):
            raise StoreAddressError(
                f"Ledgerlink talks to PostgreSQL through psycopg 3; write the address as "
                f"postgresql://… (not {parsed.drivername}://…)."
            )
        return parsed.set(drivername=POSTGRES_DRIVER)
    if backend == "sqlite":
        return parsed
    raise StoreAddressError(
        f"Ledgerlink keeps its data in SQLite or PostgreSQL, not {backend}; write the "
        "address as postgresql://user@host/database."
    )


def is_postgres(url: str | URL) -> bool:
    """Whether ``url`` names a PostgreSQL server."""
    return parse_store_url(url).get_backend_name() == "postgresql"


def public_url(url: str | URL) -> str:
    """The address as it may be written down: without any password, on the plain
    ``postgresql://`` scheme people type."""
    parsed = parse_store_url(url)._replace(password=None)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql")
    return parsed.render_as_string(hide_password=True)


def describe_store(url: str | URL) -> str:
    """Human words for where the data is: ``the PostgreSQL server db.example:5432
    (database ledgerlink, user office)`` or ``the SQLite file /path/ledgerlink.db``."""
    parsed = parse_store_url(url)
    if parsed.get_backend_name() == "postgresql":
        host = parsed.host or "localhost"
        port = parsed.port or 5432
        user = f", user {parsed.username}" if parsed.username else ""
        return f"the PostgreSQL server {host}:{port} (database {parsed.database or '?'}{user})"
    return f"the SQLite file {parsed.database or '(in memory)'}"


def password_name(url: str | URL) -> str:
    """The keyring entry holding the password for a PostgreSQL address."""
    parsed = parse_store_url(url)
    return (
        f"store.postgresql:{parsed.username or ''}@{parsed.host or 'localhost'}:"
        f"{parsed.port or 5432}/{parsed.database or ''}"
    )


def with_saved_password(url: str | URL, secrets: SecretStore) -> URL:
    """A PostgreSQL address with the keyring's password filled in, if it has none.

    SQLite addresses, and addresses that already carry a password (a test server's, or
    ``LEDGERLINK_DATABASE_URL`` set by an administrator), come back unchanged.
    """
    parsed = parse_store_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.password:
        return parsed
    password = secrets.get(password_name(parsed))
    return parsed.set(password=password) if password else parsed
