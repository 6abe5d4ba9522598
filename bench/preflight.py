"""How long a dry run (pre-flight) and a real Sandbox send take on a large outbox.

    python bench/preflight.py [--records 100000] [--no-send]

Builds a store with ``--records`` waiting records in the demo's proportions (customers,
suppliers, invoices, credit notes, payments), every account mapped, through the same CSV
import a job system's files go through. Then times what the user waits for:

- ``dry_run_s``: ``ledgerlink send --dry-run``'s work (pre-flight over every record),
  wall clock, with ``queries_per_record`` the SQL statements it ran per record and
  ``dry_run_cpu_s`` its CPU seconds (on a shared machine the wall clock mostly measures
  the other work);
- ``send_cpu_s``: a real send of the same records to the Sandbox, CPU seconds of this
  process (the Sandbox runs in-process; rate-limit waits are not CPU).

Prints one JSON object on its last line:
``{"records", "dry_run_s", "dry_run_cpu_s", "send_cpu_s", "queries_per_record",
"peak_mb"}``.
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

from sqlalchemy import event

from app.config import DataPaths
from app.db.models import Situation
from app.services.importing.csv_import import ImportKind, import_csv
from app.services.sending.preflight import Preflight
from app.services.sending.sender import Sender
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import open_store
from connectors.contract import ConnectorContext
from connectors.sandbox import SandboxConnector

#: The demo's proportions: 200 customers, 30 suppliers, 708 invoices, 25 credit notes,
#: 614 payments in 1,577 records.
SHARES = {"customers": 200, "suppliers": 30, "invoices": 708, "credit_notes": 25, "payments": 614}
MAPPING = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}
LINE = "description,quantity,unit_price,nominal_code,vat_rate"


class NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise AssertionError("the Sandbox keeps no secrets")

    def delete(self, name: str) -> None:
        return None


def counts(records: int) -> dict[str, int]:
    total = sum(SHARES.values())
    scaled = {kind: max(1, records * n // total) for kind, n in SHARES.items()}
    scaled["invoices"] += records - sum(scaled.values())
    return scaled


def write_files(folder: Path, n: dict[str, int]) -> dict[ImportKind, Path]:
    customers = n["customers"]
    last = n["invoices"] - 1  # credit notes credit the last invoices, which nobody paid
    files = {
        ImportKind.CUSTOMERS: "account_ref,name,address_1,town,postcode,email\n"
        + "".join(
            f"C{i:06d},Customer {i} Ltd,{i} Mill Lane,Leicester,LE1 1AA,c{i}@example.com\n"
            for i in range(customers)
        ),
        ImportKind.SUPPLIERS: "account_ref,name,town\n"
        + "".join(f"S{i:05d},Supplier {i} Ltd,Derby\n" for i in range(n["suppliers"])),
        ImportKind.INVOICES: f"number,date,due_date,customer_ref,{LINE}\n"
        + "".join(
            f"INV-{i:06d},2026-0{1 + i % 9}-1{i % 9},2026-10-28,C{i % customers:06d},"
            f"Labour,1.5,42,SALES-LAB,20\n"
            + (
                f"INV-{i:06d},2026-0{1 + i % 9}-1{i % 9},2026-10-28,C{i % customers:06d},"
                f"Valve,2,12.50,SALES-MAT,20\n"
                if i % 2
                else ""
            )
            for i in range(n["invoices"])
        ),
        ImportKind.CREDIT_NOTES: f"number,date,customer_ref,original_invoice,{LINE}\n"
        + "".join(
            f"CN-{i:06d},2026-09-20,C{(last - i) % customers:06d},INV-{last - i:06d},"
            f"Labour refund,1,10,SALES-LAB,20\n"
            for i in range(n["credit_notes"])
        ),
        ImportKind.PAYMENTS: "reference,date,customer_ref,amount,method,bank_code,"
        "invoice_number,allocated\n"
        + "".join(
            f"PAY-{i:06d},2026-09-25,C{i % customers:06d},20.00,card,BANK,INV-{i:06d},20.00\n"
            for i in range(n["payments"])
        ),
    }
    paths: dict[ImportKind, Path] = {}
    for kind, text in files.items():
        path = folder / f"{kind.value}.csv"
        path.write_text(text, encoding="utf-8")
        paths[kind] = path
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--no-send", action="store_true", help="time the dry run only")
    args = parser.parse_args()
    n = counts(args.records)
    assert n["payments"] + n["credit_notes"] <= n["invoices"], "one invoice per payment or credit"
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = open_store(DataPaths(root / "data"))
        for kind, path in write_files(root, n).items():
            report = import_csv(store.session_factory, kind, path)
            assert report.ok, report.describe()
        context = ConnectorContext(data_dir=store.paths.root, settings={}, secrets=NoSecrets())
        with SandboxConnector(context) as connector:
            accounts = connector.list_accounts()
            with store.session_factory.begin() as session:
                choose_package(session, "sandbox", Situation.NEW_TO_PACKAGE)
                for ours, theirs in MAPPING.items():
                    set_mapping(session, connector.info, accounts, ours, theirs, actor="bench")

            statements = 0

            def count(*_: object) -> None:
                nonlocal statements
                statements += 1

            engine = store.engine
            event.listen(engine, "before_cursor_execute", count)
            started, cpu_started = time.perf_counter(), time.process_time()
            pre = Preflight(store.session_factory, connector).run()
            dry_run_s = time.perf_counter() - started
            dry_run_cpu_s = time.process_time() - cpu_started
            event.remove(engine, "before_cursor_execute", count)
            assert not pre.failures, pre.failures[:3]
            assert sum(pre.to_send.values()) == args.records, pre.to_send

            send_cpu_s = None
            if not args.no_send:
                now = [0.0]

                def sleep(seconds: float) -> None:
                    now[0] += seconds

                cpu = time.process_time()
                report = Sender(
                    store.session_factory,
                    connector,
                    sleep=sleep,
                    clock=lambda: now[0],
                ).run()
                send_cpu_s = round(time.process_time() - cpu, 2)
                assert report.ok and sum(report.sent.values()) == args.records, report.to_json()
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        store.close()
    print(
        json.dumps(
            {
                "records": args.records,
                "dry_run_s": round(dry_run_s, 2),
                "dry_run_cpu_s": round(dry_run_cpu_s, 2),
                "send_cpu_s": send_cpu_s,
                "queries_per_record": round(statements / args.records, 4),
                "peak_mb": round(peak_kb / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
