"""Choosing a shared PostgreSQL store for a data folder, and moving a SQLite store
into one.

``ledgerlink store use postgresql://user@host/db`` keeps the address (without password)
in the data folder's ``store.json`` and the password in the keyring. ``ledgerlink store
copy --to URL`` copies every row of this folder's store into an empty PostgreSQL
database, then reads both back and compares them row for row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, func, inspect, select, text
from sqlalchemy.engine import URL

from app.config import DataPaths, restrict_to_owner
from app.db.engine import make_engine
from app.db.location import (
    describe_store,
    is_postgres,
    parse_store_url,
    password_name,
    public_url,
)
from app.db.migrate import upgrade
from app.db.models import Base
from app.db.problems import explain, is_connection_problem
from app.services.errors import SetupError
from connectors.contract import SecretStore
from connectors.wording import count as counted

#: Rows per INSERT statement and per comparison read while copying.
COPY_BATCH = 5_000


def _checked_address(url: str) -> URL:
    try:
        parsed = parse_store_url(url)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    if not is_postgres(parsed):
        raise SetupError("A shared store is a PostgreSQL database: postgresql://user@host/db.")
    if parsed.password:
        raise SetupError(
            "Leave the password out of the address (addresses end up in logs and shell "
            "history); give it on standard input instead: "
            f"`echo … | ledgerlink store use {public_url(parsed)}`."
        )
    if not parsed.database:
        raise SetupError("The address needs the database name: postgresql://user@host/db.")
    return parsed


def save_password(url: str, password: str | None, secrets: SecretStore) -> URL:
    """Check ``url`` and keep ``password`` (if given) in the keyring for it."""
    parsed = _checked_address(url)
    if password:
        secrets.set(password_name(parsed), password)
    return parsed


def _open(url: URL, secrets: SecretStore) -> Engine:
    engine = make_engine(url, secrets)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        if is_connection_problem(exc):
            raise SetupError(str(explain(exc, url))) from exc
        raise
    return engine


def use_store(paths: DataPaths, url: str, password: str | None, secrets: SecretStore) -> str:
    """Make this data folder use the PostgreSQL store at ``url``: the password goes to
    the keyring, the store is checked and brought to the newest layout, then the address
    is saved. Returns the words describing the store."""
    parsed = save_password(url, password, secrets)
    engine = _open(parsed, secrets)
    try:
        upgrade(engine, paths.ensure().backups)
    finally:
        engine.dispose()
    paths.store_file.write_text(
        json.dumps({"url": public_url(parsed)}, indent=2) + "\n", encoding="utf-8"
    )
    restrict_to_owner(paths.store_file)
    return describe_store(parsed)


def stop_using_store(paths: DataPaths) -> None:
    """Go back to this folder's own SQLite file."""
    paths.store_file.unlink(missing_ok=True)


@dataclass
class CopyReport:
    """What ``copy_store`` moved, table by table, and what the check found."""

    target: str
    rows: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the check found the copy equal to the source."""
        return not self.differences


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)  # parents before the rows that refer to them


def _rows(engine: Engine, table: Table) -> Iterator[tuple[Any, ...]]:
    """Every row of ``table`` in primary-key order, as stored (no type conversion)."""
    order = list(table.primary_key.columns)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=COPY_BATCH).execute(
            select(*[column for column in table.columns]).order_by(*order)
        )
        for row in result:
            yield tuple(row)


def copy_store(source: Engine, url: str, secrets: SecretStore) -> CopyReport:
    """Copy every row of ``source`` into the empty PostgreSQL database at ``url``, then
    compare the two row for row. Refuses a target that already holds Ledgerlink tables
    or data, so nothing there is ever overwritten."""
    parsed = _checked_address(url)
    target = _open(parsed, secrets)
    try:
        return copy_rows(source, target)
    except SetupError:
        raise
    except Exception as exc:
        if is_connection_problem(exc):
            raise SetupError(str(explain(exc, parsed))) from exc
        raise
    finally:
        target.dispose()


def copy_rows(source: Engine, target: Engine) -> CopyReport:
    """Copy every row of ``source`` into ``target``, an empty database (given the newest
    layout first), in one transaction; then compare them row for row."""
    report = CopyReport(target=describe_store(target.url))
    existing = set(inspect(target).get_table_names())
    if existing:
        raise SetupError(
            f"{report.target} is not empty (it has {counted(len(existing), 'table')}, e.g. "
            f"{sorted(existing)[0]}); copy only into a new, empty database."
        )
    upgrade(target)
    tables = _tables()
    with target.begin() as connection:
        for table in tables:
            names = [column.name for column in table.columns]
            count = 0
            batch: list[dict[str, Any]] = []
            for row in _rows(source, table):
                batch.append(dict(zip(names, row, strict=True)))
                if len(batch) >= COPY_BATCH:
                    connection.execute(table.insert(), batch)
                    count += len(batch)
                    batch = []
            if batch:
                connection.execute(table.insert(), batch)
                count += len(batch)
            report.rows[table.name] = count
            if target.dialect.name == "postgresql":
                _move_sequence_past_rows(connection, table)
    for table in tables:
        _compare(source, target, table, report)
    return report


def _move_sequence_past_rows(connection: Any, table: Table) -> None:
    """Rows copied with their ids leave the id sequence at 1; the next insert would
    collide. Set it past the largest id copied."""
    id_column = table.columns.get("id")
    if id_column is None or not id_column.autoincrement or table.name == "settings":
        return
    largest = connection.execute(select(func.max(id_column))).scalar()
    if largest is None:
        return
    sequence = connection.execute(
        text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
    ).scalar()
    if sequence:
        connection.execute(text("SELECT setval(:seq, :value)"), {"seq": sequence, "value": largest})


def _compare(source: Engine, target: Engine, table: Table, report: CopyReport) -> None:
    """Read both copies of ``table`` in key order and note the first rows that differ."""
    missing = object()
    theirs = _rows(target, table)
    for number, ours in enumerate(_rows(source, table), start=1):
        copied = next(theirs, missing)
        if copied != ours:
            report.differences.append(f"{table.name}: row {number} differs after copying")
            return
    if next(theirs, missing) is not missing:
        report.differences.append(f"{table.name}: the copy has more rows than the original")


def describe_current(paths: DataPaths) -> str:
    """Where this data folder's data is, in words."""
    return describe_store(paths.database_url)
