"""``ledgerlink --demo``: a fresh demo store on the Sandbox, in a folder of its own."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from app.config import DataPaths
from app.db.models import Contact, ContactKind, Situation
from app.private_files import write_private_text
from app.services.errors import SetupError
from app.services.importing.demo_data import import_demo_data
from app.services.setup.connections import connector_for
from app.services.setup.state import COMPANY_NAME, choose_package, set_setting
from app.services.store import Store, open_store
from connectors.contract import ContactDraft, ContactRole
from connectors.sandbox import SandboxConnector
from connectors.sandbox.practice import PrefillSummary, prefill_for_demo

MARKER = ".ledgerlink-demo"


def _draft(contact: Contact) -> ContactDraft:
    return ContactDraft(
        role=ContactRole(contact.kind.value),
        our_ref=contact.account_ref,
        name=contact.name,
        contact_name=contact.contact_name,
        address_1=contact.address_1,
        address_2=contact.address_2,
        address_3=contact.address_3,
        town=contact.town,
        county=contact.county,
        postcode=contact.postcode,
        email=contact.email,
        phone=contact.phone,
    )


def reset_demo_folder(paths: DataPaths) -> None:
    """Empty the demo folder, refusing any folder that Ledgerlink did not make for a demo."""
    if paths.root.exists():
        if not (paths.root / MARKER).exists():
            raise SetupError(
                f"{paths.root} exists but is not a Ledgerlink demo folder, so it was left "
                "alone. Move it aside or choose another --data-dir."
            )
        shutil.rmtree(paths.root)
    paths.ensure()
    write_private_text(
        paths.root / MARKER,
        "Ledgerlink demo data: `ledgerlink --demo` deletes and refills this folder.\n",
    )


def prepare_demo(paths: DataPaths) -> Store:
    """Fresh demo data on the Sandbox, situation 2 (side by side), ready for the wizard.

    The Sandbox is pre-filled from our demo contacts so that linking has real work:
    exact matches, near misses, namesakes and customers it lacks.
    """
    reset_demo_folder(paths)
    store = open_store(paths)
    reports = import_demo_data(store.session_factory)
    bad = [r for r in reports if not r.ok]
    if bad:
        store.close()
        raise SetupError(f"The demo data did not import: {bad[0].describe()}")
    summary = prefill_sandbox(store)
    with store.session_factory.begin() as session:
        choose_package(session, "sandbox", Situation.SIDE_BY_SIDE)
        set_setting(session, COMPANY_NAME, summary.company_name)
    return store


def prefill_sandbox(store: Store) -> PrefillSummary:
    """Fill the store's Sandbox from our own contacts (see :func:`prefill_for_demo`)."""
    with store.session_factory() as session:
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        customers = [_draft(c) for c in contacts if c.kind is ContactKind.CUSTOMER]
        suppliers = [_draft(c) for c in contacts if c.kind is ContactKind.SUPPLIER]
    connector = connector_for(store.paths, "sandbox")
    assert isinstance(connector, SandboxConnector)
    with connector:
        return prefill_for_demo(connector, customers, suppliers)
