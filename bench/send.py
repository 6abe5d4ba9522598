"""Send throughput against a rate-limited package, on a virtual clock.

    python bench/send.py [--invoices 10000] [--limit 60] [--batch 50]

An in-memory package emulator enforces the limit the way Xero does (at most ``limit``
calls in any 60 seconds, a 429 with Retry-After beyond that) and takes up to ``batch``
records per call. Sender and emulator share a virtual clock, so the run takes seconds of
real time however many virtual minutes it spans. Each call costs 0.25 s of virtual
latency.

Figures (last line, one JSON object):
- ``requests``, ``min_requests``, ``requests_over_min``: calls made, the fewest possible
  (one read of the VAT rates, then full batches of contacts and invoices), and the ratio;
- ``requests_per_record``;
- ``virtual_minutes`` and ``bound_minutes``: how long the send took, and how long the
  fewest calls take at exactly the limit;
- ``throughput_fraction``: bound / actual (1.0 = every call at the earliest moment the
  limit allows);
- ``rate_limited_responses``: 429s the package had to send (0 means we never overran);
- ``wall_s``: real seconds for the whole run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import DataPaths
from app.db.models import Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.sender import Sender
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import open_store
from connectors.catalogue import XERO
from connectors.contract import (
    AccountType,
    BatchItem,
    Company,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    LockDates,
    PackageInfo,
    PaymentDraft,
    RateLimit,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import RateLimited, Rejected

LATENCY_S = 0.25


@dataclass
class VirtualClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class EmulatedPackage(Connector):
    """A batching package with a server-side sliding-window limit on a virtual clock."""

    info: ClassVar[PackageInfo] = replace(XERO, key="emulator", name="Emulated package")

    def __init__(self, context: ConnectorContext, clock: VirtualClock) -> None:
        super().__init__(context)
        self.clock = clock
        self.calls: deque[float] = deque()
        self.requests = 0
        self.rate_limited = 0
        self.records: dict[str, str] = {}
        self.keys: dict[str, str] = {}

    def _call(self) -> None:
        now = self.clock()
        while self.calls and now - self.calls[0] >= 60.0 - 1e-6:
            self.calls.popleft()
        self.requests += 1
        limit = self.info.rate_limit.per_minute
        if len(self.calls) >= limit:
            self.rate_limited += 1
            raise RateLimited("minute limit", retry_after=60.0 - (now - self.calls[0]))
        self.calls.append(now)
        self.clock.sleep(LATENCY_S)

    def connect(self) -> Company:
        return Company("emu", "Emulated Ltd")

    def list_accounts(self) -> list[RemoteAccount]:
        return [
            RemoteAccount("A4000", "4000", "Sales", AccountType.SALES),
            RemoteAccount("A1200", "1200", "Bank", AccountType.BANK),
        ]

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        self._call()
        return [RemoteTaxRate("T20", "Standard", Decimal("20.00"))]

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        return iter(())

    def get_contact(self, ref: str) -> RemoteContact | None:
        return None

    def _store(self, key: str, our_key: str) -> str:
        if key in self.keys:
            return self.keys[key]
        remote = f"R{len(self.records) + 1}"
        self.records[our_key] = remote
        self.keys[key] = remote
        return remote

    def create_batch(self, items: Sequence[BatchItem]) -> list[str | Rejected]:
        self._call()
        results: list[str | Rejected] = []
        for item in items:
            draft = item.draft
            our_key = (
                draft.our_ref
                if isinstance(draft, ContactDraft)
                else draft.number
                if isinstance(draft, DocumentDraft)
                else draft.reference
            )
            results.append(self._store(item.idempotency_key, our_key))
        return results

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        return self._single(BatchItem(draft, idempotency_key))

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        return self._single(BatchItem(draft, idempotency_key))

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        return self._single(BatchItem(draft, idempotency_key))

    def _single(self, item: BatchItem) -> str:
        (result,) = self.create_batch([item])
        if isinstance(result, Rejected):
            raise result
        return result

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        self._call()
        return self.records.get(our_key)

    def lock_dates(self) -> LockDates:
        return LockDates()


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        return None

    def delete(self, name: str) -> None:
        return None


def bound_minutes(requests: int, limit: int) -> float:
    """The earliest the last of ``requests`` calls can finish at ``limit`` a minute."""
    return (math.floor((requests - 1) / limit) * 60.0 + LATENCY_S) / 60.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    EmulatedPackage.info = replace(
        EmulatedPackage.info,
        rate_limit=RateLimit(per_minute=args.limit, concurrent=1),
        batch_size=args.batch,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(DataPaths(Path(folder) / "data"))
        customers = "account_ref,name\n" + "".join(
            f"C{i:05d},Customer {i}\n" for i in range(args.customers)
        )
        invoices = (
            "number,date,customer_ref,description,quantity,unit_price,nominal_code,vat_rate\n"
            + "".join(
                f"INV-{i:06d},2026-05-01,C{i % args.customers:05d},Service,1,100,SALES,20\n"
                for i in range(args.invoices)
            )
        )
        for kind, text in ((ImportKind.CUSTOMERS, customers), (ImportKind.INVOICES, invoices)):
            report = import_csv_bytes(store.session_factory, kind, text.encode(), file="x.csv")
            assert report.ok, report.describe()
        clock = VirtualClock()
        package = EmulatedPackage(
            ConnectorContext(data_dir=Path(folder), settings={}, secrets=_NoSecrets()), clock
        )
        with store.session_factory.begin() as session:
            choose_package(session, package.info.key, Situation.NEW_TO_PACKAGE)
            accounts = package.list_accounts()
            set_mapping(session, package.info, accounts, "SALES", "4000", actor="bench")
            set_mapping(session, package.info, accounts, "BANK", "1200", actor="bench")
        report = Sender(
            store.session_factory, package, sleep=clock.sleep, clock=clock, actor="bench"
        ).run()
        store.close()
    assert report.ok, report.to_json()
    records = args.customers + args.invoices
    assert len(package.records) == records
    minimum = 1 + math.ceil(args.customers / args.batch) + math.ceil(args.invoices / args.batch)
    actual_minutes = clock.now / 60.0
    bound = bound_minutes(minimum, args.limit)
    print(
        json.dumps(
            {
                "records": records,
                "requests": package.requests,
                "min_requests": minimum,
                "requests_over_min": round(package.requests / minimum, 4),
                "requests_per_record": round(package.requests / records, 4),
                "virtual_minutes": round(actual_minutes, 3),
                "bound_minutes": round(bound, 3),
                "throughput_fraction": round(bound / actual_minutes, 4),
                "rate_limited_responses": package.rate_limited,
                "wall_s": round(time.perf_counter() - started, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
