"""A store set up for QuickBooks Desktop, its Web Connector service on a real loopback
socket, a stand-in QuickBooks and a scripted Web Connector."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.config import DataPaths
from app.db.models import OutboxEntry, RecordType, SendState, Situation
from app.secrets import KeyringSecretStore
from app.services.qbwc.pairing import Pairing, set_password, write_qwc_file
from app.services.qbwc.server import WebConnectorServer
from app.services.qbwc.service import WebConnectorService
from app.services.sending.sender import Sender, SendReport
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.contract import ConnectorContext
from connectors.quickbooks_desktop import QuickBooksDesktopConnector
from tests.send_fixtures import (
    import_send_data,
)
from tests.standins.quickbooks_desktop import FakeQuickBooks, Run, WebConnectorClient

PASSWORD = "correct horse battery"
USER = "ledgerlink"
MAPPING = {"SALES": "Call-out", "SALES-LAB": "Labour", "SALES-MAT": "Materials", "BANK": "1200"}


@dataclass
class QbwcRig:
    store: Store
    pairing: Pairing
    service: WebConnectorService
    server: WebConnectorServer
    qb: FakeQuickBooks

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/qbwc"

    def client(self, password: str = PASSWORD, user: str = USER) -> WebConnectorClient:
        return WebConnectorClient(self.url, user, password)

    def poll(self, **kwargs: object) -> Run:
        return self.client().run(self.qb, **kwargs)  # type: ignore[arg-type]

    def connector(self) -> QuickBooksDesktopConnector:
        return QuickBooksDesktopConnector(
            ConnectorContext(self.store.paths.root, {}, KeyringSecretStore())
        )

    def map_accounts(self) -> None:
        with self.connector() as connector:
            accounts = connector.list_accounts()
            with self.store.session_factory.begin() as session:
                for ours, theirs in MAPPING.items():
                    set_mapping(session, connector.info, accounts, ours, theirs, actor="test")

    def send(self) -> SendReport:
        with self.connector() as connector:
            report = Sender(self.store.session_factory, connector).run()
        assert isinstance(report, SendReport)
        return report

    def states(self) -> dict[tuple[RecordType, str], SendState]:
        from app.services.sending.drafts import record_label

        with self.store.session_factory() as session:
            rows = session.scalars(
                select(OutboxEntry).where(OutboxEntry.package == "quickbooks_desktop")
            ).all()
            return {
                (r.record_type, record_label(session, r.record_type, r.record_id)): r.state
                for r in rows
            }

    def entry(self, record_type: RecordType, key: str) -> OutboxEntry:
        from app.services.sending.drafts import record_label

        with self.store.session_factory() as session:
            for row in session.scalars(
                select(OutboxEntry).where(OutboxEntry.record_type == record_type)
            ):
                if key in record_label(session, row.record_type, row.record_id):
                    session.expunge(row)
                    return row
        raise LookupError(key)


@contextmanager
def qbwc_rig(root: Path) -> Iterator[QbwcRig]:
    store = open_store(DataPaths(root))
    import_send_data(store)
    with store.session_factory.begin() as session:
        choose_package(session, "quickbooks_desktop", Situation.NEW_TO_PACKAGE)
        pairing = write_qwc_file(session, root / "ledgerlink.qwc", username=USER, port=8438)
    set_password(KeyringSecretStore(), PASSWORD)
    service = WebConnectorService(store.session_factory, store.paths.root, KeyringSecretStore())
    server = WebConnectorServer(service, "127.0.0.1", 0).start()
    try:
        yield QbwcRig(store, pairing, service, server, FakeQuickBooks(file_id=pairing.file_id))
    finally:
        server.stop()
        store.close()
