"""A small, fully mapped store and an empty Sandbox, for send-engine tests.

Small on purpose: every fault test runs a whole send in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.sender import Sender
from app.services.setup.mapping import set_mapping
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.contract import (
    BatchItem,
    ConnectorContext,
    ContactDraft,
    CreateResult,
    DocumentDraft,
    PaymentDraft,
)
from connectors.sandbox import SandboxConnector
from connectors.sandbox.faults import FaultPlan
from tests.conftest import MemoryKeyring

CUSTOMERS = """account_ref,name,address_1,town,postcode,email
C1,Ada Boilers Ltd,1 Mill Lane,Leicester,LE1 1AA,ada@example.com
C2,Ben Pipes,2 Mill Lane,Leicester,LE1 1AB,ben@example.com
C3,Cara Heating,3 Mill Lane,Leicester,LE1 1AC,
"""
SUPPLIERS = """account_ref,name,town
S1,Midland Plumbers Merchants,Leicester
"""
LINE_COLUMNS = "description,quantity,unit_price,nominal_code,vat_rate"
INVOICES = f"""number,date,due_date,customer_ref,{LINE_COLUMNS}
INV-1,2026-01-05,2026-02-04,C1,Boiler service,1,80,SALES-LAB,20
INV-1,2026-01-05,2026-02-04,C1,Valve,2,12.50,SALES-MAT,20
INV-2,2026-01-06,2026-02-05,C2,Call-out,1,60,SALES,20
INV-3,2026-01-07,2026-02-06,C3,Heat pump install,1,5000,SALES-MAT,0
INV-4,2026-01-08,2026-02-07,C1,Radiator,1,150,SALES-MAT,20
INV-5,2026-01-09,2026-02-08,C2,Labour,1.5,42,SALES-LAB,5
"""
CREDIT_NOTES = f"""number,date,customer_ref,original_invoice,{LINE_COLUMNS}
CN-1,2026-01-20,C1,INV-4,Radiator returned,1,150,SALES-MAT,20
"""
PAYMENTS = """reference,date,customer_ref,amount,method,bank_code,invoice_number,allocated
PAY-1,2026-01-25,C1,126.00,card,BANK,INV-1,126.00
PAY-2,2026-01-26,C2,72.00,bank_transfer,BANK,INV-2,72.00
PAY-3,2026-01-27,C3,2500.00,cheque,BANK,INV-3,2500.00
"""

#: What the package must hold after a complete send.
EXPECTED = {"contacts": 4, "invoices": 5, "credit_notes": 1, "payments": 3}

MAPPING = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}


@dataclass
class VirtualTime:
    """A clock and sleep that never really wait."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class SendRig:
    store: Store
    faults: FaultPlan
    time: VirtualTime
    keyring: MemoryKeyring

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.store.session_factory

    forgetful: bool = False

    def connector(self) -> SandboxConnector:
        context = ConnectorContext(
            data_dir=self.store.paths.root, settings={}, secrets=_NoSecrets()
        )
        cls = ForgetfulSandbox if self.forgetful else SandboxConnector
        return cls(context, faults=self.faults)

    def sender(self, connector: SandboxConnector, **kwargs: object) -> Sender:
        return Sender(
            self.session_factory,
            connector,
            sleep=self.time.sleep,
            clock=self.time.clock,
            **kwargs,  # type: ignore[arg-type]
        )

    def send(self, **kwargs: object) -> object:
        with self.connector() as connector:
            return self.sender(connector, **kwargs).run()

    def package_counts(self) -> dict[str, int]:
        from connectors.contract import DocumentType

        with self.connector() as connector:
            store = connector.store
            return {
                "contacts": store.count_contacts(),
                "invoices": store.count_documents(DocumentType.INVOICE),
                "credit_notes": store.count_documents(DocumentType.CREDIT_NOTE),
                "payments": store.count_payments(),
            }


class ForgetfulSandbox(SandboxConnector):
    """The Sandbox as a package without idempotency keys (like Sage, FreeAgent or
    KashFlow): a blind resend would create a second record."""

    info = replace(SandboxConnector.info, idempotency=False, batch_size=1)

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        return super().create_contact(draft, "")

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        return super().create_document(draft, "")

    def create_payment(self, draft: PaymentDraft, idempotency_key: str) -> str:
        return super().create_payment(draft, "")

    def create_batch(self, items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        return super().create_batch([BatchItem(item.draft, "") for item in items])


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise AssertionError("the Sandbox keeps no secrets")

    def delete(self, name: str) -> None:
        return None


def import_send_data(store: Store) -> None:
    """Import the small data set above (customers, suppliers, invoices, credit notes,
    payments) into ``store``, every file checked good."""
    for kind, text in (
        (ImportKind.CUSTOMERS, CUSTOMERS),
        (ImportKind.SUPPLIERS, SUPPLIERS),
        (ImportKind.INVOICES, INVOICES),
        (ImportKind.CREDIT_NOTES, CREDIT_NOTES),
        (ImportKind.PAYMENTS, PAYMENTS),
    ):
        report = import_csv_bytes(
            store.session_factory, kind, text.encode(), file=f"{kind.value}.csv"
        )
        assert report.ok, report.describe()


def build_rig(root: Path, keyring: MemoryKeyring, *, map_accounts: bool = True) -> SendRig:
    """A store with the small data set above, the Sandbox chosen and (optionally) mapped."""
    store = open_store(DataPaths(root))
    import_send_data(store)
    rig = SendRig(store, FaultPlan(), VirtualTime(), keyring)
    with rig.connector() as connector:
        accounts = connector.list_accounts()
        with store.session_factory.begin() as session:
            choose_package(session, "sandbox", Situation.NEW_TO_PACKAGE)
            if map_accounts:
                for ours, theirs in MAPPING.items():
                    set_mapping(session, connector.info, accounts, ours, theirs, actor="test")
    return rig
