"""Everything the dashboard shows, read in one go off the GUI thread, and what its
buttons do (retry, do not send, entered by hand, changes made, export)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.services.dashboard_read import DashboardData as DashboardData
from app.services.dashboard_read import DashboardSnapshot as DashboardSnapshot
from app.services.dashboard_read import dashboard_data
from app.services.desktop_bridges import bridge_note
from app.services.errors import UserError
from app.services.sending.failure_actions import (
    do_not_send,
    entered_manually,
    export_failures,
    retry,
)
from app.services.sending.failures import failed_rows, failure_labels
from app.services.sending.first_send_links import (
    confirm_new_contacts,
    held_back_counts,
)
from app.services.sending.pending_changes import confirm, list_pending
from app.services.setup.state import load_setup
from app.services.status import collect_status
from app.services.store import Store
from connectors.wording import count


def load_dashboard(store: Store) -> DashboardData:
    """Everything the dashboard shows, read in one session: set-up status, the package's name,
    failed records grouped by cause, and the desktop bridge's note (the Web Connector, Sage 50
    files) when the chosen package has one."""
    with store.session_factory() as session:
        status = collect_status(session, store.paths)
        package = status.package
        failed = failed_rows(session, package) if package else []
        labels = failure_labels(session, failed)
        note = bridge_note(session, package, store.paths.root) if package else ""
        held = held_back_counts(session, package) if package else Counter[str]()
    return dashboard_data(status, failed, labels, held, note)


def load_snapshot(store: Store) -> DashboardSnapshot:
    """Everything the dashboard shows (for its worker)."""
    data = load_dashboard(store)
    with store.session_factory() as session:
        setup = load_setup(session)
        changes = tuple(list_pending(session))
    return DashboardSnapshot(data, setup, changes)


@dataclass(frozen=True)
class ActionDone:
    """What a dashboard action did: how many records, in the words shown for it."""

    count: int
    message: str


def retry_records(store: Store, outbox_ids: Sequence[int], *, actor: str = "user") -> ActionDone:
    """Queue failed (or do-not-send) records again for the next send."""
    with store.session_factory.begin() as session:
        n = retry(session, outbox_ids, actor=actor)
    return ActionDone(n, f"{count(n, 'record')} will be sent again with the next send.")


def keep_back(
    store: Store, outbox_ids: Sequence[int], *, include_dependants: bool, actor: str = "user"
) -> ActionDone:
    """Never send these records (with those they hold back, if asked)."""
    with store.session_factory.begin() as session:
        n = do_not_send(session, outbox_ids, actor=actor, include_dependants=include_dependants)
    return ActionDone(n, f"{count(n, 'record')} will not be sent.")


def mark_entered_by_hand(
    store: Store, outbox_id: int, remote_id: str, *, actor: str = "user"
) -> ActionDone:
    """The record is already in the package (typed there by hand), with this id."""
    with store.session_factory.begin() as session:
        entered_manually(session, outbox_id, remote_id, actor=actor)
    return ActionDone(1, "Marked as entered by hand in the package.")


def confirm_changes(store: Store, change_ids: Sequence[int], *, actor: str = "user") -> ActionDone:
    """The user made these changes in the package by hand."""
    with store.session_factory.begin() as session:
        for change_id in change_ids:
            confirm(session, change_id, actor=actor)
    n = len(change_ids)
    return ActionDone(n, f"{count(n, 'change')} confirmed; the next import takes the new details.")


def export_failure_list(store: Store, package: str, path: Path) -> ActionDone:
    """Write the failure list as CSV to ``path``."""
    with store.session_factory() as session:
        rows = export_failures(session, package, path)
    return ActionDone(rows, f"Wrote {rows:,} rows to {path}.")


def create_as_new(
    store: Store, package: str, outbox_ids: Sequence[int], *, actor: str = "user"
) -> ActionDone:
    """The user says these "choose which one" contacts are none of the package's: the
    next send creates them instead of matching them again."""
    with store.session_factory.begin() as session:
        try:
            n = confirm_new_contacts(session, package, outbox_ids, actor=actor)
        except ValueError as exc:
            raise UserError(
                f"Nothing changed: {exc}.",
                "Select only customers or suppliers that failed with “choose which one”.",
            ) from exc
    return ActionDone(n, f"{count(n, 'contact')} will be created by the next send.")
