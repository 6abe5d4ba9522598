"""How long the pass before a first send takes: every never-linked customer looked for in
the package (link on first send, issue 15), on the Sandbox.

    python bench/first_send.py [--contacts 20000]

Our store gets ``--contacts`` customers; the Sandbox holds as many: half of them with
exactly our names (linked), a tenth with our names in capitals (near misses: "choose
which one"), the rest unrelated. ``first_pass_s`` is :meth:`Sender.link_or_hold_contacts`
from start to finish, the package's listing included (read once per run);
``listing_requests`` is how many calls it made to the package (one per role it needed).
A second pass with nothing left to create (``idle_pass_s``) must not read the package
at all (``idle_requests``).

Prints one JSON object on its last line: ``{"contacts", "package_contacts",
"first_pass_s", "linked", "must_choose", "listing_requests", "idle_pass_s",
"idle_requests"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update

from app.config import DataPaths
from app.db.models import OutboxEntry, SendState, Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.outbox import sync_outbox
from app.services.sending.sender import Sender
from app.services.setup.state import choose_package
from app.services.store import open_store
from connectors.contract import ConnectorContext, ContactDraft, ContactRole
from connectors.sandbox import SandboxConnector


class _NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise AssertionError(name)

    def delete(self, name: str) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    n = parser.parse_args().contacts
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(DataPaths(Path(folder)))
        rows = "".join(
            f"C{i:06d},Customer {i:06d} Heating,{i} Mill Lane,Leicester\n" for i in range(n)
        )
        report = import_csv_bytes(
            store.session_factory,
            ImportKind.CUSTOMERS,
            ("account_ref,name,address_1,town\n" + rows).encode(),
            file="customers.csv",
        )
        assert report.ok, report.describe()
        with store.session_factory.begin() as session:
            choose_package(session, "sandbox", Situation.SIDE_BY_SIDE)
            sync_outbox(session, "sandbox")
        context = ConnectorContext(data_dir=Path(folder), settings={}, secrets=_NoSecrets())
        with SandboxConnector(context) as connector:
            theirs = []
            for i in range(n):
                if i % 2 == 0:
                    name = f"Customer {i:06d} Heating"
                elif i % 10 == 1:
                    name = f"CUSTOMER {i:06d} HEATING"
                else:
                    name = f"Someone Else {i:06d}"
                theirs.append(ContactDraft(role=ContactRole.CUSTOMER, our_ref="", name=name))
            connector.store.add_contacts(theirs)
            sender = Sender(store.session_factory, connector)
            started = time.perf_counter()
            sender.link_or_hold_contacts()
            first = time.perf_counter() - started
            requests = sender.report.requests
            linked = sum(sender.report.linked.values())
            choose = sum(sender.report.failed.values())
            # Nothing left to create or to choose: the package must not be read again.
            with store.session_factory.begin() as session:
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.state.in_([SendState.WAITING, SendState.FAILED]))
                    .values(state=SendState.DO_NOT_SEND)
                )
            idle = Sender(store.session_factory, connector)
            started = time.perf_counter()
            idle.link_or_hold_contacts()
            idle_s = time.perf_counter() - started
        store.close()
    print(
        json.dumps(
            {
                "contacts": n,
                "package_contacts": n,
                "first_pass_s": round(first, 3),
                "linked": linked,
                "must_choose": choose,
                "listing_requests": requests,
                "idle_pass_s": round(idle_s, 3),
                "idle_requests": idle.report.requests,
            }
        )
    )


if __name__ == "__main__":
    main()
