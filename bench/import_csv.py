"""How long importing a large customer file takes, against a plain baseline, and its
peak memory.

    python bench/import_csv.py [--rows 100000]

``import_s`` is Ledgerlink's import (every check made, whole file or nothing);
``baseline_s`` is the least a program could do with the same file: Python's ``csv``
module and ``sqlite3``'s ``executemany`` into the same table of a fresh store, in the
same run. ``baseline_ratio`` is ours ÷ baseline in rows per second (goal: at least 0.5).
``peak_mb`` is the process's peak resident size (tracemalloc would slow the import
itself); the file is written line by line and the baseline runs first holding one row
at a time, so the peak is ours (the import, then importing the same file again).

Prints one JSON object on its last line:
``{"rows", "import_s", "baseline_s", "baseline_ratio", "peak_mb", "reimport_unchanged_s"}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import DataPaths
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.store import open_store


def baseline(folder: Path, csv_file: Path) -> float:
    """Seconds for plain ``csv`` + ``sqlite3`` to load the file into the same table."""
    store = open_store(DataPaths(folder))
    database = store.paths.database
    store.close()
    started = time.perf_counter()
    connection = sqlite3.connect(database)
    now = "2026-12-03 09:00:00.000000"
    with csv_file.open(newline="", encoding="utf-8") as handle, connection:
        reader = csv.DictReader(handle)
        connection.executemany(
            "INSERT INTO contacts (kind, account_ref, name, contact_name, address_1, "
            "address_2, address_3, town, county, postcode, email, phone, created_at, "
            "updated_at) VALUES ('customer', ?, ?, '', ?, '', '', ?, '', ?, ?, '', ?, ?)",
            (
                (
                    row["account_ref"],
                    row["name"],
                    row["address_1"],
                    row["town"],
                    row["postcode"],
                    row["email"],
                    now,
                    now,
                )
                for row in reader
            ),
        )
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = open_store(DataPaths(root / "data"))
        csv_file = root / "customers.csv"
        with csv_file.open("w", encoding="utf-8", newline="") as handle:
            # Line by line, so that writing the file adds nothing to the peak.
            handle.write("account_ref,name,address_1,town,postcode,email\n")
            for i in range(args.rows):
                handle.write(
                    f"C{i:06d},Customer {i},{i} High Street,Leicester,LE1 1AA,c{i}@example.com\n"
                )
        baseline_s = baseline(root / "baseline", csv_file)
        started = time.perf_counter()
        first = import_csv(store.session_factory, ImportKind.CUSTOMERS, csv_file)
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        again = import_csv(store.session_factory, ImportKind.CUSTOMERS, csv_file)
        reimport_s = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        store.close()
    assert first.added == args.rows and again.unchanged == args.rows
    print(
        json.dumps(
            {
                "rows": args.rows,
                "import_s": round(import_s, 2),
                "baseline_s": round(baseline_s, 2),
                "baseline_ratio": round(baseline_s / import_s, 3),
                "peak_mb": round(peak_kb / 1024, 1),
                "reimport_unchanged_s": round(reimport_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
