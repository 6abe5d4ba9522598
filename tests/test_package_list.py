"""The package's contact list kept in the store: the link page reads it back without
the package, says how old it is, and reads the package again only when asked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.services.linking.matching import TheirContact
from app.services.linking.package_list import cached_list, keep_list
from app.services.linking.workbench import load_workbench, prepare_workbench
from app.services.store import Store
from connectors.catalogue import SANDBOX
from connectors.contract import Connector, ContactDraft, ContactRole, RemoteContact
from connectors.sandbox import SandboxConnector
from tests.test_link_support import demo_store_fixture, make_demo_template, sandbox_factory


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def store(demo_template: Path, tmp_path: Path, store_url: str) -> Iterator[Store]:
    yield from demo_store_fixture(demo_template, tmp_path, store_url)


class CountingSandbox(SandboxConnector):
    """Counts how often the package's list is read."""

    listings = 0

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        CountingSandbox.listings += 1
        return super().iter_contacts(role)


def test_keeping_a_list_replaces_the_old_one_whole_and_keeps_each_ref_once(
    store: Store,
) -> None:
    first = [TheirContact("A1", "Ada Ltd", postcode="LE1 1AA"), TheirContact("B2", "Bo")]
    stamp = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    with store.session_factory.begin() as session:
        keep_list(session, "xero", ContactRole.CUSTOMER, first, stamp)
        keep_list(session, "xero", ContactRole.SUPPLIER, [TheirContact("S1", "Supplies")])
    with store.session_factory() as session:
        kept = cached_list(session, "xero", ContactRole.CUSTOMER)
        assert cached_list(session, "sage_business_cloud", ContactRole.CUSTOMER) is None
    assert kept is not None
    assert kept.contacts == first and kept.listed_at == stamp

    again = [TheirContact("C3", "Cy"), TheirContact("C3", "Cy (listed twice)")]
    with store.session_factory.begin() as session:
        keep_list(session, "xero", ContactRole.CUSTOMER, again)
    with store.session_factory() as session:
        kept = cached_list(session, "xero", ContactRole.CUSTOMER)
        suppliers = cached_list(session, "xero", ContactRole.SUPPLIER)
    assert kept is not None and kept.contacts == [TheirContact("C3", "Cy")]
    assert kept.listed_at > stamp
    assert suppliers is not None and [c.ref for c in suppliers.contacts] == ["S1"]


def test_a_failed_keep_leaves_the_old_list(store: Store) -> None:
    with store.session_factory.begin() as session:
        keep_list(session, "xero", ContactRole.CUSTOMER, [TheirContact("A1", "Ada")])
    with pytest.raises(RuntimeError), store.session_factory.begin() as session:
        keep_list(session, "xero", ContactRole.CUSTOMER, [TheirContact("B2", "Bo")])
        raise RuntimeError("the disk filled up")
    with store.session_factory() as session:
        kept = cached_list(session, "xero", ContactRole.CUSTOMER)
    assert kept is not None and [c.ref for c in kept.contacts] == ["A1"]


def test_the_workbench_reads_the_package_once_then_its_kept_copy(store: Store) -> None:
    factory = sandbox_factory(store, CountingSandbox)
    CountingSandbox.listings = 0
    first = prepare_workbench(store.session_factory, factory, ContactRole.CUSTOMER)
    assert CountingSandbox.listings == 1
    assert first.data.listed_at is not None

    with factory() as connector:
        assert isinstance(connector, SandboxConnector)
        connector.store.add_contact(
            ContactDraft(ContactRole.CUSTOMER, "", "Made In The Package Since Ltd")
        )

    def no_package() -> Connector:
        raise AssertionError("the kept list needs no package")

    kept = prepare_workbench(store.session_factory, no_package, ContactRole.CUSTOMER, info=SANDBOX)
    assert CountingSandbox.listings == 1
    assert [c.ref for c in kept.theirs] == [c.ref for c in first.theirs]
    assert kept.data.listed_at == first.data.listed_at  # said as it is: the old copy
    assert len(kept.ours) == len(first.ours)

    fresh = prepare_workbench(
        store.session_factory, factory, ContactRole.CUSTOMER, info=SANDBOX, refresh=True
    )
    assert CountingSandbox.listings == 2
    assert "Made In The Package Since Ltd" in {c.name for c in fresh.theirs}
    assert fresh.data.listed_at is not None and first.data.listed_at is not None
    assert fresh.data.listed_at >= first.data.listed_at
    with factory() as connector:
        again = load_workbench(store.session_factory, connector, ContactRole.CUSTOMER)
    assert CountingSandbox.listings == 2  # the refreshed copy was kept
    assert len(again.theirs) == len(fresh.theirs)
