"""Everything the dashboard shows, read in one go off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.sending.failures import FailureItem, list_failures
from app.services.status import StatusReport, collect_status
from app.services.store import Store
from connectors.registry import package_info


@dataclass(frozen=True)
class DashboardData:
    status: StatusReport
    package_name: str
    failures: list[FailureItem]


def load_dashboard(store: Store) -> DashboardData:
    with store.session_factory() as session:
        status = collect_status(session, store.paths)
        failures = list_failures(session, status.package) if status.package else []
    name = package_info(status.package).name if status.package else "No package chosen"
    return DashboardData(status, name, failures)
