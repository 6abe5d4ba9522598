"""Opening a connector for the package the user chose, and saving and testing the
Connect page's details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import Contact
from app.secrets import KeyringSecretStore
from app.services.errors import SetupError
from app.services.importing.from_package import read_package_contacts
from app.services.sending.step_store import StoreSteps, adopt_step_file
from app.services.setup.routing import suggest_situation
from app.services.setup.state import (
    COMPANY_NAME,
    SetupState,
    get_setting,
    load_setup,
    package_settings_key,
    set_setting,
)
from app.services.store import Store
from connectors import registry
from connectors.contract import Company, Connector, ConnectorContext, ContactRole, SecretStore


def connector_for(
    paths: DataPaths,
    package: str,
    settings: dict[str, str] | None = None,
    secrets: SecretStore | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> Connector:
    """A connector for ``package`` using this data folder and the OS keyring, keeping
    its finished steps in the store when ``session_factory`` is given (every caller that
    sends gives it)."""
    steps = None
    if session_factory is not None:
        steps = StoreSteps(session_factory, package)
        adopt_step_file(steps, paths.root)
    context = ConnectorContext(
        data_dir=paths.root,
        settings=settings or {},
        secrets=secrets or KeyringSecretStore(),
        steps=steps,
    )
    try:
        return registry.open_connector(package, context)
    except KeyError as exc:
        raise SetupError(str(exc.args[0])) from exc


def active_connector(paths: DataPaths, session_factory: sessionmaker[Session]) -> Connector:
    """The connector for the chosen package; :class:`SetupError` if none is chosen yet."""
    with session_factory() as session:
        setup = load_setup(session)
    if not setup.package:
        raise SetupError(
            "No accounting package is chosen yet. Run the set-up wizard (`ledgerlink`) or "
            "`ledgerlink setup --package sandbox --situation side_by_side`."
        )
    return connector_for(paths, setup.package, setup.package_settings, None, session_factory)


def count_package_contacts(connector: Connector) -> tuple[int, int, int]:
    """How many customers and suppliers the package holds, and how many of its contacts
    are neither yet, read as the one-time import reads them: a package with one record
    for both roles (FreeAgent) says which each is, so none is counted twice."""
    held = read_package_contacts(connector)
    customers = sum(1 for c in held.contacts if c.role is ContactRole.CUSTOMER)
    suppliers = sum(1 for c in held.contacts if c.role is ContactRole.SUPPLIER)
    return customers, suppliers, len(held.undecided)


def secret_name(package: str, key: str) -> str:
    """The keyring entry a connect field's secret is kept under: ``<package>.<key>``."""
    return f"{package}.{key}"


@dataclass(frozen=True)
class ConnectionTested:
    """A connection that worked: the company reached and the package's settings now."""

    company: Company
    settings: dict[str, str]
    #: The set-up choices as they now stand.
    state: SetupState
    #: How many customers and suppliers the package holds (None: it cannot list them).
    package_customers: int | None = None
    package_suppliers: int | None = None
    #: How many customers and suppliers Ledgerlink holds from the job system.
    our_contacts: int = 0
    #: The situation that fits what each side holds (a ``Situation`` value), or "".
    suggested: str = ""


def save_and_test_connection(
    store: Store,
    package: str,
    settings: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    secret_store: SecretStore | None = None,
) -> ConnectionTested:
    """Keep the Connect page's details (``secrets`` in the keyring, never the database;
    the rest merged over what signing in stored, such as the organisation), connect,
    and remember the company reached. Raises the connector's error if it cannot."""
    keyring = secret_store or KeyringSecretStore()
    for key, value in secrets.items():
        keyring.set(secret_name(package, key), value)
    with store.session_factory.begin() as session:
        key = package_settings_key(package)
        merged = {str(k): str(v) for k, v in dict(get_setting(session, key, {})).items()}
        merged.update(settings)
        set_setting(session, key, merged or None)
    customers: int | None = None
    suppliers: int | None = None
    neither = 0
    with connector_for(store.paths, package, merged, keyring) as connector:
        company = connector.connect()
        if connector.info.can_list_contacts:
            # What the package already holds decides the situation that fits.
            customers, suppliers, neither = count_package_contacts(connector)
    with store.session_factory.begin() as session:
        set_setting(session, COMPANY_NAME, company.name)
        state = load_setup(session)
        ours = session.scalar(select(func.count()).select_from(Contact)) or 0
    suggested = (
        suggest_situation(customers + suppliers + neither, ours)
        if customers is not None and suppliers is not None
        else ""
    )
    return ConnectionTested(company, merged, state, customers, suppliers, ours, suggested)
