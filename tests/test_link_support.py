"""Shared helpers for the link workbench tests (this module holds no tests itself).

* a demo store, prepared once per test module and copied for each test;
* :class:`SageRuleSandbox`: the Sandbox under Sage Business Cloud's exact-match rule
  (name, address and email must equal the package's), so the same rule code runs as
  will for the real Sage connector;
* :class:`MemoryPackage`: a read-only package whose contact list is given in memory,
  for any package's reference format (a stand-in for a remote package, as an
  ``httpx.MockTransport`` would be for its API).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from app.config import DataPaths
from app.services.setup.demo import prepare_demo
from app.services.store import Store, open_store
from connectors.catalogue import SAGE_BUSINESS_CLOUD
from connectors.contract import (
    Company,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    DocumentDraft,
    LockDates,
    PackageInfo,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import Rejected
from connectors.sandbox import SANDBOX_INFO, SandboxConnector
from tests.connector_harness import MemorySecrets, make_context

#: The Sandbox's declaration with Sage Business Cloud's exact-match rule.
SAGE_RULE_INFO = replace(
    SANDBOX_INFO,
    name="Sage (practice)",
    exact_match_fields=SAGE_BUSINESS_CLOUD.exact_match_fields,
)


class SageRuleSandbox(SandboxConnector):
    """The Sandbox, declaring Sage Business Cloud's exact-match rule."""

    info: ClassVar[PackageInfo] = SAGE_RULE_INFO


def make_demo_template(root: Path) -> Path:
    """Prepare the demo (our data plus a pre-filled Sandbox) once; returns its folder."""
    paths = DataPaths(root / "demo")
    prepare_demo(paths).close()
    return paths.root


def open_demo_copy(template: Path, destination: Path) -> Store:
    """A private copy of the demo folder, opened."""
    shutil.copytree(template, destination)
    return open_store(DataPaths(destination))


def sandbox_factory(
    store: Store, cls: type[SandboxConnector] = SandboxConnector
) -> Callable[[], Connector]:
    """Opens a connector to the store's own Sandbox file (one per call, as workers do)."""
    root = store.paths.root

    def make() -> Connector:
        return cls(make_context(root))

    return make


def demo_store_fixture(
    template: Path, tmp_path: Path, store_url: str | None = None
) -> Iterator[Store]:
    """A private copy of the demo folder, opened; with a PostgreSQL ``store_url`` (the
    ``store_url`` fixture's), the demo's rows are first copied into that database."""
    if store_url is not None and not store_url.startswith("sqlite"):
        from app.db.engine import make_engine
        from app.services.shared_store import copy_rows

        source = make_engine(f"sqlite:///{DataPaths(template).database}")
        target = make_engine(store_url)
        try:
            assert copy_rows(source, target).ok
        finally:
            source.dispose()
            target.dispose()
    store = open_demo_copy(template, tmp_path / "demo-copy")
    yield store
    store.close()


class MemoryPackage(Connector):
    """A read-only package whose contacts are given in memory.

    ``legacy`` maps a web-address number to a contact's reference, as Sage Business
    Cloud's web addresses carry a number of their own (its ``legacy_id``), which its
    connector looks up with :meth:`get_contact`.
    """

    info: ClassVar[PackageInfo] = SANDBOX_INFO

    def __init__(
        self,
        contacts: Sequence[RemoteContact],
        legacy: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ConnectorContext(data_dir=Path(), settings={}, secrets=MemorySecrets()))
        self.contacts = list(contacts)
        self.legacy = dict(legacy or {})
        self.closed = False

    def connect(self) -> Company:
        return Company("memory", "Memory package")

    def list_accounts(self) -> list[RemoteAccount]:
        return []

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        return []

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        return iter([c for c in self.contacts if c.role is role])

    def get_contact(self, ref: str) -> RemoteContact | None:
        ref = self.legacy.get(ref, ref)
        return next((c for c in self.contacts if c.ref == ref), None)

    def _refuse(self) -> str:
        raise Rejected(code="read_only", reason="This test package is read-only.", fix="")

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        return self._refuse()

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        return self._refuse()

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        return self._refuse()

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        return None

    def lock_dates(self) -> LockDates:
        return LockDates()

    def close(self) -> None:
        self.closed = True


def memory_factory(
    info: PackageInfo,
    contacts: Sequence[RemoteContact],
    legacy: Mapping[str, str] | None = None,
) -> Callable[[], Connector]:
    """Opens a :class:`MemoryPackage` declaring ``info``."""
    cls = type(f"Memory_{info.key}", (MemoryPackage,), {"info": info})

    def make() -> Connector:
        return cls(contacts, legacy)

    return make


def remote(
    ref: str, name: str, role: ContactRole = ContactRole.CUSTOMER, **fields: str
) -> RemoteContact:
    return RemoteContact(ref=ref, role=role, name=name, **fields)
