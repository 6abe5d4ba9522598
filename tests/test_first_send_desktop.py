"""Link on first send through a desktop bridge, which cannot be asked live: QuickBooks
Desktop's contacts are those its Web Connector read at the last list poll. A customer
QuickBooks had then is linked, by its exact name; one added in QuickBooks since is not
seen, so it is handed over to be created, and QuickBooks' own refusal (3100, name in
use) comes back as a failure whose fix is to link it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Contact, Link, LinkMethod, RecordType, SendState
from app.services.sending.preflight import Preflight
from tests.qbwc_fixtures import QbwcRig, qbwc_rig
from tests.standins.quickbooks_desktop import Entity


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[QbwcRig]:
    with qbwc_rig(tmp_path / "data") as made:
        yield made


def test_quickbooks_desktop_links_by_the_lists_last_read(rig: QbwcRig) -> None:
    rig.qb.entities.append(Entity("customer", "8000AB-1", "Ben Pipes"))
    assert rig.poll().progress[-1] == 100  # the list poll: QuickBooks has Ben Pipes
    rig.qb.entities.append(Entity("customer", "8000AC-1", "Cara Heating"))  # added since
    rig.map_accounts()
    with rig.connector() as connector:
        predicted = Preflight(rig.store.session_factory, connector).run()
    assert [i.label for i in predicted.linked] == ["Customer “Ben Pipes” (C2)"]

    report = rig.send()
    assert report.linked == {"customer": 1}
    assert sum(report.handed_over.values()) == 12  # everything but Ben, Cara included
    with rig.store.session_factory() as session:
        link = session.scalars(select(Link).join(Contact).where(Contact.account_ref == "C2")).one()
    # QuickBooks Desktop links by the exact name.
    assert (link.remote_ref, link.method) == ("Ben Pipes", LinkMethod.LINKED_ON_SEND)

    rig.poll()
    cara = rig.entry(RecordType.CUSTOMER, "Cara Heating")
    assert cara.state is SendState.FAILED and cara.error_code == "3100"
    assert "Link" in cara.error_fix
    assert rig.qb.count("customer") == 3  # Ben and Cara as they were, and Ada


def test_sage_50_links_by_the_record_export_last_imported(tmp_path: Path) -> None:
    import json

    from tests.sage50_fixtures import build_sage_rig

    sage = build_sage_rig(tmp_path)
    try:
        # Sage's customer list as last imported from its own export (`sage50 refs`).
        sage.update(customers=json.dumps([{"ref": "BENPIPES", "name": "Ben Pipes"}]))
        with sage.connector() as connector:
            predicted = Preflight(sage.session_factory, connector).run()
        report = sage.send()
        assert [i.label for i in predicted.linked] == ["Customer “Ben Pipes” (C2)"]
        assert report.linked == {"customer": 1}
        assert sum(report.handed_over.values()) == 12
        with sage.session_factory() as session:
            link = session.scalars(
                select(Link).join(Contact).where(Contact.account_ref == "C2")
            ).one()
        assert link.remote_ref == "BENPIPES"
        customers = next(p for p in sage.written() if "CUSTOMER" in p.name.upper())
        assert "Ben Pipes" not in customers.read_text(encoding="utf-8")
    finally:
        sage.store.close()
