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
"postgres_import_s", "sqlite_dryrun_s", "postgres_dryrun_s"}``.
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


def run_once(root: Path, files: dict[ImportKind, Path], records: int) -> tuple[float, float]:
    """Import every file, then the dry run: their wall-clock seconds."""
    store = open_store(DataPaths(root))
    try:
        started = time.perf_counter()
        for kind in ORDER:
            report = import_csv(store.session_factory, kind, files[kind])
            assert report.ok, report.describe()
        import_s = time.perf_counter() - started
        context = ConnectorContext(data_dir=root, settings={}, secrets=NoSecrets())
        with SandboxConnector(context) as connector:
            accounts = connector.list_accounts()
            with store.session_factory.begin() as session:
                choose_package(session, "sandbox", Situation.NEW_TO_PACKAGE)
                for ours, theirs in MAPPING.items():
                    set_mapping(session, connector.info, accounts, ours, theirs, actor="bench")
            started = time.perf_counter()
            pre = Preflight(store.session_factory, connector).run()
            dryrun_s = time.perf_counter() - started
        assert not pre.failures, pre.failures[:3]
        assert sum(pre.to_send.values()) == records, pre.to_send
    finally:
        store.close()
    return import_s, dryrun_s


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
        sqlite_import, sqlite_dryrun = run_once(base / "sqlite", files, args.records)
        admin = make_url(server).set(drivername="postgresql+psycopg")
        with throwaway_database(admin) as url:
            os.environ[DATABASE_URL_ENV] = url.render_as_string(hide_password=False)
            try:
                pg_import, pg_dryrun = run_once(base / "postgres", files, args.records)
            finally:
                os.environ.pop(DATABASE_URL_ENV, None)
    print(
        json.dumps(
            {
                "records": args.records,
                "sqlite_import_s": round(sqlite_import, 2),
                "postgres_import_s": round(pg_import, 2),
                "sqlite_dryrun_s": round(sqlite_dryrun, 2),
                "postgres_dryrun_s": round(pg_dryrun, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
