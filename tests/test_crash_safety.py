"""`ledgerlink send` killed with SIGKILL at random points never duplicates or loses."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import DataPaths
from app.db.models import OutboxEntry, SendState, Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package, package_settings_key, set_setting
from app.services.store import open_store
from connectors.contract import ConnectorContext, DocumentType
from connectors.sandbox import SandboxConnector
from tests.send_fixtures import MAPPING

pytestmark = [
    pytest.mark.slow,
    pytest.mark.both_stores,
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX"),
]

CUSTOMERS, INVOICES, PAYMENTS = 100, 500, 400  # 1,000 records


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise AssertionError("no secrets")

    def delete(self, name: str) -> None:
        return None


def _sandbox(root: Path, sandbox_file: Path | None = None) -> SandboxConnector:
    settings = {"database": str(sandbox_file)} if sandbox_file else {}
    return SandboxConnector(
        ConnectorContext(data_dir=root, settings=settings, secrets=_NoSecrets())
    )


def _prepare(root: Path, sandbox_file: Path | None = None) -> None:
    """Import 1,000 records and map every account; with ``sandbox_file``, every data folder
    on the same (shared) store sends to that one Sandbox."""
    store = open_store(DataPaths(root))
    customers = "account_ref,name,town\n" + "".join(
        f"C{i:04d},Customer {i},Leicester\n" for i in range(CUSTOMERS)
    )
    invoices = (
        "number,date,customer_ref,description,quantity,unit_price,nominal_code,vat_rate\n"
        + "".join(
            f"INV-{i:05d},2026-03-{1 + i % 28:02d},C{i % CUSTOMERS:04d},Service,1,100,SALES,20\n"
            for i in range(INVOICES)
        )
    )
    payments = (
        "reference,date,customer_ref,amount,method,bank_code,invoice_number,allocated\n"
        + "".join(
            f"PAY-{i:05d},2026-04-01,C{i % CUSTOMERS:04d},120.00,card,BANK,INV-{i:05d},120.00\n"
            for i in range(PAYMENTS)
        )
    )
    for kind, text in (
        (ImportKind.CUSTOMERS, customers),
        (ImportKind.INVOICES, invoices),
        (ImportKind.PAYMENTS, payments),
    ):
        assert import_csv_bytes(store.session_factory, kind, text.encode(), file="x.csv").ok
    with _sandbox(root, sandbox_file) as connector, store.session_factory.begin() as session:
        choose_package(session, "sandbox", Situation.NEW_TO_PACKAGE)
        if sandbox_file is not None:
            set_setting(session, package_settings_key("sandbox"), {"database": str(sandbox_file)})
        accounts = connector.list_accounts()
        for ours, theirs in MAPPING.items():
            set_mapping(session, connector.info, accounts, ours, theirs, actor="test")
    store.close()


def _count(root: Path, state: SendState) -> int:
    store = open_store(DataPaths(root))
    try:
        with store.session_factory() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == state)
                )
                or 0
            )
    finally:
        store.close()


def _send_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(root), "send", "--json"]


def test_killed_sends_never_duplicate_or_lose(tmp_path: Path, store_url: str) -> None:
    root = tmp_path / "data"
    _prepare(root)
    rng = random.Random(20261121)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    kills = left_processing = 0
    for _ in range(6):
        with subprocess.Popen(
            [*_send_command(root), "--progress"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as process:
            assert process.stderr is not None
            # Kill after a random number of batches have gone out: a random point in the send.
            target = rng.randint(1, 12)
            output: list[str] = []
            for seen, line in enumerate(process.stderr, start=1):
                output.append(line)
                if seen >= target:
                    process.send_signal(signal.SIGKILL)
                    break
            process.wait(timeout=60)
            if process.returncode != -signal.SIGKILL:
                if process.returncode not in (0, 1):
                    pytest.fail(f"send exited {process.returncode}:\n{''.join(output)}")
                break  # it finished before this kill point
            kills += 1
            left_processing += _count(root, SendState.PROCESSING) > 0
    assert kills >= 2, "the send finished too quickly to be interrupted"
    assert left_processing, "no kill landed while a request was in flight"

    finish = subprocess.run(
        _send_command(root), capture_output=True, text=True, env=env, timeout=180, check=False
    )
    assert finish.returncode == 0, finish.stderr

    with _sandbox(root) as connector:
        store = connector.store
        assert store.count_contacts() == CUSTOMERS
        invoices = store.list_documents(DocumentType.INVOICE)
        payments = store.list_payments()
    invoice_numbers = Counter(d.number for d in invoices)
    payment_refs = Counter(p.reference for p in payments)
    assert len(invoice_numbers) == INVOICES and set(invoice_numbers.values()) == {1}
    assert len(payment_refs) == PAYMENTS and set(payment_refs.values()) == {1}

    check = open_store(DataPaths(root))
    with check.session_factory() as session:
        by_state = dict(
            (state, n)
            for state, n in session.execute(
                select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)
            ).all()
        )
    check.close()
    assert by_state == {SendState.SUCCESSFUL: CUSTOMERS + INVOICES + PAYMENTS}
