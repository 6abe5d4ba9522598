"""How long writing Sage 50 import files takes, and looking records up in them after an
interrupted send.

    python bench/sage50_export.py [--invoices 20000]

``write_s``: one send's Audit Trail Transactions file for that many two-line invoices
(every value checked, written whole). ``lookup_s``: finding every one of them again in
the files written, as the next send does after a crash left them all uncertain.

Prints one JSON object on its last line:
``{"invoices", "rows", "write_s", "lookup_s", "file_kb"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.contract import (
    BatchItem,
    ConnectorContext,
    DocumentDraft,
    DocumentType,
    HandedOver,
    LineDraft,
    RemoteRecordType,
)
from connectors.sage_50 import Sage50Connector, files


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=20_000)
    args = parser.parse_args()
    line = LineDraft(
        "Boiler service",
        Decimal(1),
        Decimal("80.00"),
        Decimal("80.00"),
        "4000",
        "T1",
        Decimal(20),
        Decimal("16.00"),
    )
    items = [
        BatchItem(
            DocumentDraft(DocumentType.INVOICE, f"INV-{n}", date(2026, 1, 5), "C1", (line, line)),
            f"k{n}",
        )
        for n in range(args.invoices)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = {
            "import_folder": tmp,
            "nominal_codes": json.dumps([["4000", "Sales", "sales"]]),
            "customers": json.dumps([["C1", "Ada Boilers Ltd"]]),
        }
        context = ConnectorContext(folder, settings, _NoSecrets())
        started = time.perf_counter()
        with Sage50Connector(context) as connector:
            results = connector.create_batch(items)
        write_s = time.perf_counter() - started
        assert all(isinstance(r, HandedOver) for r in results)
        started = time.perf_counter()
        with Sage50Connector(context) as connector:
            for n in range(args.invoices):
                assert connector.find_handed_over(RemoteRecordType.INVOICE, f"INV-{n}")
        lookup_s = time.perf_counter() - started
        [written] = files.our_files(folder)
        size_kb = written.path.stat().st_size / 1024
    print(
        json.dumps(
            {
                "invoices": args.invoices,
                "rows": 2 * args.invoices,
                "write_s": round(write_s, 3),
                "lookup_s": round(lookup_s, 3),
                "file_kb": round(size_kb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
