"""Demo stores for the send tests: prepared once per module, copied for each test."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from sqlalchemy import select

from app.config import DataPaths
from app.db.models import Contact, Situation
from app.services.sending.pacing import Backoff
from app.services.sending.sender import Sender, SendReport
from app.services.setup.demo import prepare_demo
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.contract import Connector, PackageInfo
from tests.standins.clock import VirtualClock

S = TypeVar("S")
C = TypeVar("C", bound=Connector)


def make_demo_template(tmp_path_factory: pytest.TempPathFactory, package: str) -> Path:
    """The demo store with ``package`` chosen (situation 1: the package starts empty)."""
    root = tmp_path_factory.mktemp("demo-template") / "demo"
    store = prepare_demo(DataPaths(root))
    with store.session_factory.begin() as session:
        choose_package(session, package, Situation.NEW_TO_PACKAGE)
    store.close()
    return root


def store_copy(template: Path, tmp_path: Path) -> Iterator[Store]:
    """A fixture body: a private copy of ``template``, open for one test."""
    root = tmp_path / "demo"
    shutil.copytree(template, root)
    opened = open_store(DataPaths(root))
    yield opened
    opened.close()


@dataclass
class CloudRun(Generic[S, C]):
    """A demo store, a package's stand-in and a connector to it, on virtual time."""

    store: Store
    standin: S
    connector: C
    clock: VirtualClock

    def send(self) -> SendReport:
        """One whole send through the real engine, waits on the virtual clock."""
        sender = Sender(
            self.store.session_factory,
            self.connector,
            sleep=self.clock.sleep,
            clock=self.clock.now,
            backoff=Backoff(rng=random.Random(7)),
        )
        return sender.run()


def map_by_code(
    store: Store, connector: Connector, info: PackageInfo, mapping: dict[str, str]
) -> None:
    """Match each of our nominal accounts to the package account with the given code."""
    accounts = connector.list_accounts()
    with store.session_factory.begin() as session:
        for ours, theirs in mapping.items():
            remote = next(a for a in accounts if a.code == theirs)
            set_mapping(session, info, accounts, ours, remote.id, actor="test")


def same_name(contact: Contact) -> object:
    """Two contacts a package takes for one: the same name, case aside."""
    return contact.name.strip().casefold()


def namesakes(store: Store, key: Callable[[Contact], object] = same_name) -> set[int]:
    """Our contacts an earlier contact already stands for by ``key`` (the package
    refuses or Ledgerlink does not create a second one)."""
    seen: set[object] = set()
    later: set[int] = set()
    with store.session_factory() as session:
        for contact in session.scalars(select(Contact).order_by(Contact.id)):
            k = key(contact)
            if k in seen:
                later.add(contact.id)
            seen.add(k)
    return later
