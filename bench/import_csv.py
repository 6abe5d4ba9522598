"""How long importing a large customer file takes, and its peak memory.

    python bench/import_csv.py [--rows 100000]

Prints one JSON object on its last line, e.g. {"rows": 100000, "import_s": 3.1, ...}.
Memory is the process's peak resident size (tracemalloc would slow the import itself).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import DataPaths
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = open_store(DataPaths(root / "data"))
        csv_file = root / "customers.csv"
        csv_file.write_text(
            "account_ref,name,address_1,town,postcode,email\n"
            + "".join(
                f"C{i:06d},Customer {i},{i} High Street,Leicester,LE1 1AA,c{i}@example.com\n"
                for i in range(args.rows)
            ),
            encoding="utf-8",
        )
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
                "reimport_unchanged_s": round(reimport_s, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
