"""How long one Web Connector poll takes to deliver many records over a real socket.

    python bench/qbwc_poll.py [--customers 1000]

Each customer has one invoice and one payment. A scripted Web Connector polls the real
service; a stand-in QuickBooks answers. Prints one JSON object on its last line, e.g.
{"records": 3013, "requests": 151, "poll_s": 21.0, "poll_cpu_s": 20.1, ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keyring

from app.services.importing.csv_import import ImportKind, import_csv_bytes
from tests.conftest import MemoryKeyring
from tests.qbwc_fixtures import qbwc_rig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args()
    n = args.customers
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory() as folder, qbwc_rig(Path(folder) / "data") as rig:
        factory = rig.store.session_factory
        rows = {
            ImportKind.CUSTOMERS: "account_ref,name,town\n"
            + "".join(f"B{i:06d},Bench Customer {i},Leicester\n" for i in range(n)),
            ImportKind.INVOICES: "number,date,due_date,customer_ref,description,quantity,"
            "unit_price,nominal_code,vat_rate\n"
            + "".join(
                f"B{i:06d},2026-01-05,2026-02-04,B{i:06d},Service,1,100,SALES-LAB,20\n"
                for i in range(n)
            ),
            ImportKind.PAYMENTS: "reference,date,customer_ref,amount,method,bank_code,"
            "invoice_number,allocated\n"
            + "".join(
                f"BP{i:06d},2026-01-25,B{i:06d},120.00,card,BANK,B{i:06d},120.00\n"
                for i in range(n)
            ),
        }
        for kind, text in rows.items():
            report = import_csv_bytes(factory, kind, text.encode(), file=f"{kind}.csv")
            assert report.ok, report.describe()
        rig.poll()  # reads the lists
        rig.map_accounts()
        handed = sum(rig.send().handed_over.values())
        started, cpu = time.perf_counter(), time.process_time()
        run = rig.poll(max_rounds=100_000)
        took = time.perf_counter() - started
        # Service, stand-in QuickBooks and client share this process: the CPU they used
        # is an upper bound for the service's, whatever else the machine is doing.
        cpu_took = time.process_time() - cpu
        assert run.progress[-1] == 100, run.errors
        added = len(rig.qb.entities) + len(rig.qb.txns)
    print(
        json.dumps(
            {
                "records": handed,
                "added": added,
                "requests": len(run.requests),
                "poll_s": round(took, 2),
                "poll_cpu_s": round(cpu_took, 2),
                "records_per_s": round(handed / took, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
