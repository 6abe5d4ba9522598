"""Shared fixtures: a migrated database in ``tmp_path``, an in-memory keyring, and a
guard that no test touches the user's real home or keyring."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.engine import make_engine, make_session_factory
from app.db.migrate import upgrade
from app.services.setup.chart import ensure_default_chart
from tests import postgres_server

STORES = ("sqlite", "postgresql")

if TYPE_CHECKING:
    from pytestqt.modeltest import ModelTester

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class MemoryKeyring(KeyringBackend):
    """A keyring that lives and dies with one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.entries:
            raise PasswordDeleteError(username)
        del self.entries[(service, username)]


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MemoryKeyring]:
    """Every test gets its own home folder, data folder and keyring."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("LEDGERLINK_HOME", str(home / "ledgerlink-data"))
    monkeypatch.delenv("LEDGERLINK_DATABASE_URL", raising=False)
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(_isolated_environment: MemoryKeyring) -> MemoryKeyring:
    return _isolated_environment


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_stores`` run once on SQLite and once on PostgreSQL."""
    if "store_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_stores"
    ):
        metafunc.parametrize("store_kind", STORES, indirect=True)


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_server.server_url() is None:
        return postgres_server.SKIP_REASON
    return "PostgreSQL half: on the server in LEDGERLINK_TEST_POSTGRES_URL"


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Fold every "no PostgreSQL server" skip into one line of the summary."""
    outcome = yield
    report = outcome.get_result()
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        if postgres_server.SKIP_REASON in reason:
            report.longrepr = (__file__, 0, reason)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the test runs on: ``sqlite`` unless marked ``both_stores``."""
    kind: str = getattr(request, "param", "sqlite")
    return kind


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The empty app database the test works on. For PostgreSQL, a database of its own
    on the test server, also set as ``LEDGERLINK_DATABASE_URL`` so every data folder
    (and every ``ledgerlink`` subprocess) the test opens uses it."""
    if store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'ledgerlink.db'}"
        return
    server = postgres_server.server_url()
    if server is None:
        pytest.skip(postgres_server.SKIP_REASON)
    with postgres_server.throwaway_database(server) as url:
        rendered = url.render_as_string(hide_password=False)
        monkeypatch.setenv("LEDGERLINK_DATABASE_URL", rendered)
        yield rendered


@pytest.fixture
def data_paths(tmp_path: Path, store_url: str) -> DataPaths:
    return DataPaths(tmp_path / "data").ensure()


@pytest.fixture
def engine(data_paths: DataPaths) -> Iterator[Engine]:
    engine = make_engine(data_paths.database_url)
    upgrade(engine, data_paths.backups)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        ensure_default_chart(session)
    return factory


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


#: How long a test's workers may take to notice their window closed and return.
WORKER_GRACE_S = 5.0


@pytest.fixture(autouse=True)
def _no_worker_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a worker running once it and its widgets are gone (set up
    first, so torn down last: after qtbot has closed the test's windows)."""
    yield
    if "PySide6" not in sys.modules:
        return
    from app.ui.kit.task_watch import running_tasks, wait_for_running_tasks

    if not running_tasks():
        return
    left = wait_for_running_tasks(WORKER_GRACE_S)
    if left:
        pytest.fail(
            f"{request.node.nodeid} left workers running after its teardown: {', '.join(left)}"
        )


@pytest.fixture
def qtmodeltester(
    qtmodeltester: ModelTester, request: pytest.FixtureRequest
) -> Iterator[ModelTester]:
    """pytest-qt's model tester, which also checks that a test listed in
    ``tests/models_checked.py`` for a model class really checks one of that class."""
    checked: set[type] = set()
    original = qtmodeltester.check

    def check(model: Any, *args: Any, **kwargs: Any) -> None:
        checked.add(type(model))
        original(model, *args, **kwargs)

    qtmodeltester.check = check  # type: ignore[method-assign]
    yield qtmodeltester
    from tests.models_checked import CHECKED_BY

    test_name = request.node.originalname
    for model_class, listed in CHECKED_BY.items():
        if listed.split("::")[-1] == test_name and request.node.path.name == listed.split("::")[0]:
            assert any(issubclass(c, model_class) for c in checked), (
                f"{test_name} is listed as checking {model_class.__name__} but did not"
            )


def _hypothesis_profiles() -> None:
    """``ci`` (the default): a short, repeatable run of the property-based tests.
    ``long``: a fresh random run of ``LEDGERLINK_FUZZ_EXAMPLES`` (10,000) cases per test,
    chosen with ``LEDGERLINK_HYPOTHESIS_PROFILE=long`` (see docs/testing.md)."""
    from hypothesis import HealthCheck, settings

    quiet = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    settings.register_profile(
        "ci",
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=quiet,
    )
    settings.register_profile(
        "long",
        max_examples=int(os.environ.get("LEDGERLINK_FUZZ_EXAMPLES", "10000")),
        database=None,
        deadline=None,
        suppress_health_check=[*quiet, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("LEDGERLINK_HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()
