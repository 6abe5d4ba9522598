"""Demo stores for the send tests: prepared once per module, copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import DataPaths
from app.db.models import Situation
from app.services.setup.demo import prepare_demo
from app.services.setup.state import choose_package
from app.services.store import Store, open_store


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
