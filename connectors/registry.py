"""Which packages Ledgerlink can talk to, loaded lazily so one broken connector never
stops the others (it is skipped with a logged reason)."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.catalogue import BY_KEY, PACKAGES
from connectors.catalogue import package_info as package_info  # declared with the catalogue
from connectors.declarations import PackageInfo

if TYPE_CHECKING:
    # Only named in annotations: the contract's classes are built when a connector is.
    from connectors.contract import Connector, ConnectorContext

log = logging.getLogger(__name__)

#: package key → "module:ClassName", built from the catalogue (each package's
#: ``PackageInfo.connector``). Order is the order the wizard lists them in.
CONNECTORS: dict[str, str] = {info.key: info.connector for info in PACKAGES if info.connector}

DEFAULT_PACKAGE = "sandbox"


@dataclass(frozen=True)
class Unavailable:
    """A package whose connector could not be loaded, and why."""

    key: str
    reason: str


def _load(key: str) -> type[Connector]:
    module_name, _, class_name = CONNECTORS[key].partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module_name), class_name)
    return cls


def available() -> tuple[list[PackageInfo], list[Unavailable]]:
    """The packages whose connector loads, and the ones skipped with why."""
    infos: list[PackageInfo] = []
    skipped: list[Unavailable] = []
    for key in CONNECTORS:
        try:
            infos.append(_load(key).info)
        except Exception as exc:
            log.warning("connector %s skipped: %s", key, exc)
            skipped.append(Unavailable(key, f"{type(exc).__name__}: {exc}"))
    return infos, skipped


def has_connector(key: str) -> bool:
    """Whether Ledgerlink can connect to this package in this version."""
    return key in CONNECTORS


def open_connector(key: str, context: ConnectorContext) -> Connector:
    """Construct the connector for ``key``; it connects lazily on first use."""
    if key not in CONNECTORS:
        name = BY_KEY[key].name if key in BY_KEY else repr(key)
        raise KeyError(
            f"Ledgerlink cannot connect to {name} in this version; "
            f"available: {', '.join(BY_KEY[k].name for k in CONNECTORS)}"
        )
    cls = _load(key)
    return cls(context)
