"""The connector conformance checks that apply to a file bridge, run on Sage 50.

Sage 50 takes records only through import files and confirms them only through a
reconciliation against its own exports, so the suite's checks of creating one record and
reading it back, duplicate names, allocation and over-payment refusals, idempotency keys
and injected network faults do not apply as written; docs/packages/sage-50.md lists each
and what covers it instead (never twice: tests/test_sage50_send.py).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import registry
from connectors.contract import (
    AccountType,
    BatchItem,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    HandedOver,
    PackageKind,
    RemoteRecordType,
)
from connectors.errors import ConnectorError, NeedsReconnecting, Rejected
from connectors.sage_50 import Sage50Connector
from connectors.sage_50 import settings as keys
from tests.sage50_fixtures import NOMINALS, _NoSecrets
from tests.test_sage50_files import INVOICE


def make(folder: Path, **extra: str) -> Sage50Connector:
    values = {
        keys.FOLDER: str(folder),
        keys.NOMINAL_CODES: json.dumps(NOMINALS),
        "customers": json.dumps([["FSC00042", "Acme Plumbing Ltd"]]),
        **extra,
    }
    connector = registry.open_connector("sage_50", ConnectorContext(folder, values, _NoSecrets()))
    assert isinstance(connector, Sage50Connector)
    return connector


def test_package_info_is_complete(tmp_path: Path) -> None:
    info = type(make(tmp_path)).info
    assert registry.package_info(info.key) is info and info.kind is PackageKind.DESKTOP
    ref = info.reference
    parsed = ref.parse(ref.example)
    assert parsed is not None and parsed.reference == ref.example
    assert ref.parse("certainly not a reference") is None
    assert ref.parse("acme") is None, "Sage would upper-case it"
    assert info.handed_over_label and info.batch_size >= 1 and info.rate_limit.per_minute > 0


def test_connect_returns_the_same_company_every_time(tmp_path: Path) -> None:
    connector = make(tmp_path)
    company = connector.connect()
    assert company.id == str(tmp_path) and connector.connect() == company


def test_connect_without_a_usable_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(NeedsReconnecting, match="does not exist"):
        make(tmp_path / "gone").connect()
    with pytest.raises(NeedsReconnecting, match="No folder is chosen"):
        make(tmp_path, import_folder="").connect()
    with pytest.raises(ConnectorError, match="nominal_codes"):
        make(tmp_path, nominal_codes="{not json")


def test_accounts_include_sales_and_bank(tmp_path: Path) -> None:
    accounts = make(tmp_path).list_accounts()
    assert {AccountType.SALES, AccountType.BANK} <= {a.type for a in accounts}
    assert len({a.id for a in accounts}) == len(accounts)


def test_tax_rates_include_twenty_percent(tmp_path: Path) -> None:
    rates = make(tmp_path).list_tax_rates()
    assert [r.id for r in rates if r.rate == Decimal(20)] == ["T1"]
    assert len({r.id for r in rates}) == len(rates)


def test_unknown_contact_reference_reads_as_none(tmp_path: Path) -> None:
    connector = make(tmp_path)
    assert connector.get_contact("NOBODY") is None
    found = connector.get_contact("FSC00042")
    assert found is not None and found.role is ContactRole.CUSTOMER


def test_lock_date_refuses_documents_on_or_before_it(tmp_path: Path) -> None:
    lock = date(2024, 3, 30)
    connector = make(tmp_path, lock_date=lock.isoformat())
    assert connector.lock_dates().effective == lock
    on_lock = INVOICE.__class__(**{**INVOICE.__dict__, "date": lock})
    [refused] = connector.create_batch([BatchItem(on_lock, "k1")])
    assert isinstance(refused, Rejected) and refused.code == "locked_period"
    assert "30/03/2024" in refused.reason
    after = INVOICE.__class__(**{**INVOICE.__dict__, "date": lock + timedelta(days=1)})
    [handed] = connector.create_batch([BatchItem(after, "k2")])
    assert isinstance(handed, HandedOver)


def test_nothing_is_ever_claimed_created(tmp_path: Path) -> None:
    connector = make(tmp_path)
    with pytest.raises(ConnectorError, match="import files"):
        connector.create_contact(ContactDraft(ContactRole.CUSTOMER, "C1", "Ada"), "k")
    [handed] = connector.create_batch([BatchItem(INVOICE, "k")])
    assert isinstance(handed, HandedOver)
    # Sage itself cannot be asked: only a reconciliation confirms.
    assert connector.find_existing(RemoteRecordType.INVOICE, "INV5001") is None
    found = connector.find_handed_over(RemoteRecordType.INVOICE, "INV5001")
    assert found is not None and found.lines == (1, 2)
    assert connector.find_handed_over(RemoteRecordType.INVOICE, "INV9999") is None
