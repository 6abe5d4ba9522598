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
    #: A desktop bridge's in-between state ("queued for QuickBooks"), as the dashboard
    #: names it, and what its last poll did; empty for other packages.
    handed_over_label: str = ""
    bridge_note: str = ""


def load_dashboard(store: Store) -> DashboardData:
    with store.session_factory() as session:
        status = collect_status(session, store.paths)
        failures = list_failures(session, status.package) if status.package else []
        note = ""
        if status.package == "quickbooks_desktop":
            from app.services.qbwc.status import web_connector_status

            note = "Web Connector: " + web_connector_status(session, store.paths.root).sentence()
    info = package_info(status.package) if status.package else None
    name = info.name if info else "No package chosen"
    label = info.handed_over_label if info else ""
    return DashboardData(status, name, failures, label, note)
