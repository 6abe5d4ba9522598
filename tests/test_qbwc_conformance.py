"""The conformance suite's checks that apply to QuickBooks Desktop, on a connector whose
lists came through a real Web Connector poll.

Not applicable (see docs/packages/quickbooks-desktop.md): QuickBooks Desktop has no web
addresses to paste; creates are handed over, not answered at once, so the create,
duplicate, idempotent-replay, payment, lock-date and fault checks run instead as
Web Connector polls in tests/test_qbwc_service.py; ``find_existing`` is asked of
QuickBooks on the next poll, never at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import registry
from connectors.contract import (
    BatchItem,
    Connector,
    ContactRole,
    HandedOver,
    PackageKind,
    RemoteRecordType,
)
from connectors.errors import Rejected
from connectors.quickbooks_desktop import CheckedOnNextPoll, ListsNotRead
from tests.connector_harness import customer
from tests.qbwc_fixtures import qbwc_rig
from tests.test_connector_conformance import (
    test_accounts_include_sales_and_bank,
    test_connect_returns_the_same_company_every_time,
    test_tax_rates_include_twenty_percent,
)

__all__ = [
    "test_accounts_include_sales_and_bank",
    "test_connect_returns_the_same_company_every_time",
    "test_tax_rates_include_twenty_percent",
]


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[Connector]:
    with qbwc_rig(tmp_path / "data") as rig:
        rig.poll()
        with rig.connector() as opened:
            yield opened


def test_package_info_without_web_addresses(connector: Connector) -> None:
    info = type(connector).info
    assert registry.package_info(info.key) is info
    assert info.kind is PackageKind.DESKTOP and info.links_by_name
    assert info.handed_over_label == "Queued for QuickBooks"
    parsed = info.reference.parse(info.reference.example)
    assert parsed is not None and parsed.reference == info.reference.example
    assert info.reference.parse("Acme: job 4") is None
    assert info.reference.parse("x" * 42) is None


def test_unknown_contact_reads_as_none_and_existing_is_asked_on_the_next_poll(
    connector: Connector,
) -> None:
    assert connector.get_contact("Nobody Ltd") is None
    with pytest.raises(CheckedOnNextPoll):
        connector.find_existing(RemoteRecordType.CUSTOMER, "NOBODY")


def test_create_hands_over_or_refuses_what_quickbooks_would(connector: Connector) -> None:
    good = customer("AB01", "Abbey Boilers Ltd")
    too_long = customer("AB02", "A" * 42)
    colon = customer("AB03", "Abbey: Leeds")
    results = connector.create_batch(
        [BatchItem(good, "k1"), BatchItem(too_long, "k2"), BatchItem(colon, "k3")]
    )
    assert results[0] == HandedOver("Abbey Boilers Ltd", results[0].note)  # type: ignore[union-attr]
    assert isinstance(results[1], Rejected) and results[1].code == "too_long"
    assert results[1].field == "name" and "41" in results[1].reason
    assert isinstance(results[2], Rejected) and results[2].code == "colon_in_name"
    assert list(connector.iter_contacts(ContactRole.CUSTOMER)) == []


def test_before_the_first_poll_the_connector_says_what_to_do(tmp_path: Path) -> None:
    with qbwc_rig(tmp_path / "data") as rig, rig.connector() as fresh:
        with pytest.raises(ListsNotRead, match="Web Connector"):
            fresh.connect()
        with pytest.raises(ListsNotRead):
            fresh.list_tax_rates()
