"""What every wizard page shares: the open store, the workers and the user's choices.

The choices live here (a plain :class:`~app.services.setup.state.SetupState` as the
set-up services return it) rather than in widgets, and every change goes through a
service (:mod:`app.services.setup.choices`) on a single-threaded writer, in order, so
closing the window midway and opening it again resumes where the user was. Pages never
touch the database, the keyring or the package on the GUI thread: they call
:meth:`WizardContext.run` and get plain results back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from app.config import DataPaths
from app.services.setup.connections import connector_for
from app.services.setup.state import SetupState
from app.services.store import Store
from app.ui.kit.workers import Task, TaskRunner
from connectors.contract import Connector, PackageInfo
from connectors.registry import package_info

Progress = Callable[[object], None]


class WizardContext(QObject):
    """The store, the workers and the user's choices, for one open wizard."""

    #: The package, situation or company changed (the side panel follows it).
    choices_changed = Signal()
    #: A background write failed; the text says what could not be saved.
    save_failed = Signal(str)

    def __init__(self, store: Store, choices: SetupState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.choices = replace(choices, package_settings=dict(choices.package_settings))
        self.tasks = TaskRunner(self, max_threads=2)
        #: One thread, so settings are written in the order the user made them.
        self.writes = TaskRunner(self, max_threads=1)
        #: Set by :meth:`shutdown`; results arriving later are dropped.
        self.closed = False

    @property
    def paths(self) -> DataPaths:
        return self.store.paths

    @property
    def info(self) -> PackageInfo | None:
        """The chosen package's declaration, if one is chosen."""
        return package_info(self.choices.package) if self.choices.package else None

    @property
    def package_name(self) -> str:
        info = self.info
        return info.name if info else "your accounting package"

    def connector_factory(self) -> Callable[[], Connector]:
        """A function a worker calls to open its own connector for the chosen package.

        The choices are copied now, on the GUI thread; the connector is made in the
        worker (connectors are one per thread).
        """
        paths = self.paths
        factory = self.store.session_factory
        package = self.choices.package
        settings = dict(self.choices.package_settings)
        if not package:
            raise RuntimeError("no package is chosen yet")

        def make() -> Connector:
            return connector_for(paths, package, settings, None, factory)

        return make

    def run(
        self,
        function: Callable[[threading.Event, Progress], Any],
        *,
        name: str,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        writes: bool = False,
    ) -> Task:
        """Run ``function`` on a worker thread; results come back on the GUI thread.

        With ``writes`` it runs on the single writer thread, after every write asked for
        before it (two quick changes to one setting can never race).
        """
        runner = self.writes if writes else self.tasks
        return runner.start(
            function,
            name=name,
            on_success=self._while_open(on_success),
            on_failure=self._while_open(on_failure),
            on_progress=self._while_open(on_progress),
        )

    def _while_open(self, callback: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
        """``callback``, dropped once the wizard is shut down: a result that arrives
        after the window closed must not touch widgets that are gone."""
        if callback is None:
            return None

        def call(value: Any) -> None:
            if not self.closed and shiboken6.isValid(self):
                callback(value)

        return call

    def change(
        self,
        name: str,
        action: Callable[[Store], SetupState],
        *,
        on_success: Callable[[SetupState], None] | None = None,
    ) -> Task:
        """Run the set-up service ``action`` on the writer thread (in the order of the
        calls); the choices then become what the service says they are."""
        store = self.store

        def work(_cancel: threading.Event, _progress: Progress) -> SetupState:
            return action(store)

        def adopt(state: SetupState) -> None:
            self.adopt(state)
            if on_success is not None:
                on_success(state)

        return self.writes.start(
            work,
            name=name,
            on_success=self._while_open(adopt),
            on_failure=self._while_open(self.save_failed.emit),
        )

    def adopt(self, state: SetupState) -> None:
        """The choices are now ``state``, as a set-up service returned them."""
        if state != self.choices:
            self.choices = state
            self.choices_changed.emit()

    def busy(self) -> bool:
        return bool(self.tasks.active or self.writes.active)

    def shutdown(self, msecs: int = 30_000) -> None:
        """Cancel what is running and wait for it, so nothing outlives the wizard."""
        self.closed = True
        self.tasks.cancel_all()
        self.tasks.wait(msecs)
        self.writes.wait(msecs)
