"""The same import and dry-run send on SQLite and on a PostgreSQL server.

    source tools/throwaway_postgres.sh    # or set LEDGERLINK_BENCH_POSTGRES_URL
    python bench/store.py [--records 100000]

Builds ``--records`` records in the demo's proportions as job-system CSV files (the
files of ``bench/preflight.py``), then for each store: imports them through the same
CSV import ``ledgerlink import`` uses (wall clock, all five files), maps the accounts,
and runs the pre-flight ``ledgerlink send --dry-run`` runs (wall clock). PostgreSQL runs
in a new empty database on the server in ``LEDGERLINK_BENCH_POSTGRES_URL`` or else
``LEDGERLINK_TEST_POSTGRES_URL`` (a superuser's address; the database is dropped after).
The goal is PostgreSQL within twice SQLite's times.

Prints one JSON object on its last line: ``{"records", "sqlite_import_s",
"postgres_import_s", "sqlite_dryrun_s", "postgres_dryrun_s"}`` and, as figures the load
of a shared machine does not move, each phase's SQL statements (``…_statements``; a
PostgreSQL ``COPY`` is not counted) and this process's CPU seconds (``…_cpu_s``; the
PostgreSQL server's own work is not in them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from preflight import MAPPING, NoSecrets, counts, write_files
from sqlalchemy import Engine, event

from app.config import DATABASE_URL_ENV, DataPaths
from app.db.models import Situation
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.sending.preflight import Preflight
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import open_store
from connectors.contract import ConnectorContext
from connectors.sandbox import SandboxConnector
from tests.postgres_server import throwaway_database

ORDER = [
    ImportKind.CUSTOMERS,
    ImportKind.SUPPLIERS,
    ImportKind.INVOICES,
    ImportKind.CREDIT_NOTES,
    ImportKind.PAYMENTS,
]


class Phase:
    """Wall seconds, CPU seconds of this process and SQL statements of one timed phase."""

    def __init__(self, engine: Engine) -> None:
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: object) -> None:
        self.statements += 1

    def __enter__(self) -> Phase:
        self.statements = 0
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_once(root: Path, files: dict[ImportKind, Path], records: int) -> dict[str, float]:
    """Import every file, then the dry run: their wall-clock and CPU seconds and
    statements."""
    store = open_store(DataPaths(root))
    figures: dict[str, float] = {}
    try:
        with Phase(store.engine) as phase:
            for kind in ORDER:
                report = import_csv(store.session_factory, kind, files[kind])
                assert report.ok, report.describe()
        figures.update(import_s=phase.wall, import_cpu_s=phase.cpu)
        figures["import_statements"] = phase.statements
        context = ConnectorContext(data_dir=root, settings={}, secrets=NoSecrets())
        with SandboxConnector(context) as connector:
            accounts = connector.list_accounts()
            with store.session_factory.begin() as session:
                choose_package(session, "sandbox", Situation.NEW_TO_PACKAGE)
                for ours, theirs in MAPPING.items():
                    set_mapping(session, connector.info, accounts, ours, theirs, actor="bench")
            with Phase(store.engine) as phase:
                pre = Preflight(store.session_factory, connector).run()
            figures.update(dryrun_s=phase.wall, dryrun_cpu_s=phase.cpu)
            figures["dryrun_statements"] = phase.statements
        assert not pre.failures, pre.failures[:3]
        assert sum(pre.to_send.values()) == records, pre.to_send
    finally:
        store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    from sqlalchemy.engine import make_url

    server = os.environ.get("LEDGERLINK_BENCH_POSTGRES_URL") or os.environ.get(
        "LEDGERLINK_TEST_POSTGRES_URL"
    )
    if not server:
        sys.exit("Set LEDGERLINK_BENCH_POSTGRES_URL (or `source tools/throwaway_postgres.sh`).")
    os.environ.pop(DATABASE_URL_ENV, None)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        files = write_files(base, counts(args.records))
        sqlite = run_once(base / "sqlite", files, args.records)
        admin = make_url(server).set(drivername="postgresql+psycopg")
        with throwaway_database(admin) as url:
            os.environ[DATABASE_URL_ENV] = url.render_as_string(hide_password=False)
            try:
                postgres = run_once(base / "postgres", files, args.records)
            finally:
                os.environ.pop(DATABASE_URL_ENV, None)
    result: dict[str, float] = {"records": args.records}
    for key in ("import_s", "dryrun_s"):
        result[f"sqlite_{key}"] = round(sqlite[key], 2)
        result[f"postgres_{key}"] = round(postgres[key], 2)
    for key in ("import_cpu_s", "dryrun_cpu_s", "import_statements", "dryrun_statements"):
        for name, figures in (("sqlite", sqlite), ("postgres", postgres)):
            result[f"{name}_{key}"] = round(figures[key], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
