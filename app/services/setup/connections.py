"""Opening a connector for the package the user chose."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.secrets import KeyringSecretStore
from app.services.errors import SetupError
from app.services.setup.state import load_setup
from connectors import registry
from connectors.contract import Connector, ConnectorContext, SecretStore


def connector_for(
    paths: DataPaths,
    package: str,
    settings: dict[str, str] | None = None,
    secrets: SecretStore | None = None,
) -> Connector:
    """A connector for ``package`` using this data folder and the OS keyring."""
    context = ConnectorContext(
        data_dir=paths.root,
        settings=settings or {},
        secrets=secrets or KeyringSecretStore(),
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
    return connector_for(paths, setup.package, setup.package_settings)
