"""A small store set up for Sage 50 (folder, nominal list, mapping), and a Sender on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import Situation
from app.services.desktop_bridges import handover_recorder
from app.services.sage50.setup import package_settings, set_dates, set_folder
from app.services.sending.sender import Sender, SendReport
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.contract import ConnectorContext
from connectors.sage_50 import Sage50Connector
from connectors.sage_50 import settings as keys
from tests.send_fixtures import (
    MAPPING,
    import_send_data,
)

NOMINALS = [
    ["1200", "Bank Current Account", "bank"],
    ["4000", "Sales Type A", "sales"],
    ["4010", "Sales Type B", "sales"],
    ["4020", "Sales Type C", "sales"],
    ["5000", "Materials Purchased", "expense"],
]


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise AssertionError("Sage 50 keeps no secrets")

    def delete(self, name: str) -> None:
        raise AssertionError("Sage 50 keeps no secrets")


@dataclass
class SageRig:
    store: Store
    folder: Path

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.store.session_factory

    def settings(self) -> dict[str, str]:
        with self.session_factory() as session:
            return package_settings(session)

    def update(self, **values: str) -> None:
        from app.services.sage50.setup import _update

        with self.session_factory.begin() as session:
            _update(session, **values)

    def connector(self) -> Sage50Connector:
        context = ConnectorContext(
            data_dir=self.store.paths.root, settings=self.settings(), secrets=_NoSecrets()
        )
        return Sage50Connector(context)

    def sender(self, connector: Sage50Connector, **kwargs: object) -> Sender:
        return Sender(
            self.session_factory,
            connector,
            on_handed_over=handover_recorder("sage_50"),
            **kwargs,  # type: ignore[arg-type]
        )

    def send(self, **kwargs: object) -> SendReport:
        with self.connector() as connector:
            return self.sender(connector, **kwargs).run()

    def written(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir())


def build_sage_rig(root: Path) -> SageRig:
    """The send-engine data set, Sage 50 chosen, every account mapped to Sage's codes."""
    store = open_store(DataPaths(root / "data"))
    import_send_data(store)
    folder = root / "exports"
    folder.mkdir()
    rig = SageRig(store, folder)
    with store.session_factory.begin() as session:
        choose_package(session, "sage_50", Situation.NEW_TO_PACKAGE)
        set_folder(session, folder, actor="test")
        from app.services.sage50.setup import _update

        _update(session, **{keys.NOMINAL_CODES: json.dumps(NOMINALS)})
    with rig.connector() as connector:
        accounts = connector.list_accounts()
        with store.session_factory.begin() as session:
            for ours, theirs in MAPPING.items():
                set_mapping(session, connector.info, accounts, ours, theirs, actor="test")
    with store.session_factory.begin() as session:
        set_dates(session, financial_year_start=None, lock_date=None, actor="test")
    return rig
