"""A whole send as every caller wants it: one at a time, then the failure notice.

The dashboard's "Send data now", the review page, the two-hourly timer and
``ledgerlink send`` all go through :func:`send_everything`, so they behave alike.
"""

from __future__ import annotations

import threading

from app.db.models import utcnow
from app.secrets import KeyringSecretStore
from app.services.sending.failures import failure_causes
from app.services.sending.lock import send_lock
from app.services.sending.notify import load_settings, notify_failures
from app.services.sending.sender import ProgressCallback, Sender, SendReport
from app.services.setup.readiness import unfinished_setup
from app.services.store import Store, store_problem
from connectors.contract import Connector


def send_everything(
    store: Store,
    connector: Connector,
    *,
    actor: str,
    cancel: threading.Event | None = None,
    progress: ProgressCallback | None = None,
) -> SendReport:
    """Send all that waits (under the data folder's send lock), then email a notice if
    anything failed and email is set up. ``report.notice`` says what became of it.

    When set-up is unfinished (accounts in use not matched) nothing is sent: the report
    says so once, with ``setup_incomplete`` set, instead of failing every record.
    """
    with store.session_factory() as session:
        unfinished = unfinished_setup(session, connector.info.key, connector.info.name)
    if unfinished:
        report = SendReport(package=connector.info.key, started_at=utcnow())
        report.stopped_reason = unfinished
        report.setup_incomplete = True
        report.finished_at = utcnow()
        with store.session_factory() as session:
            settings = load_settings(session)
        report.notice = notify_failures(
            settings, KeyringSecretStore(), connector.info.name, report, []
        )
        return report
    try:
        report = Sender(
            store.session_factory,
            connector,
            actor=actor,
            cancel=cancel,
            progress=progress,
            lock=send_lock(store.engine, store.paths.send_lock),
        ).run()
    except Exception as exc:
        # The store itself went away mid-send (server down, network dropped): say so
        # in words, naming it. Every record is recoverable: states are committed before
        # and after each request.
        problem = store_problem(exc, store)
        if problem is None:
            raise
        raise problem from exc
    # Failed records, or a run that stopped (signed out, package down); a run that found
    # another send going did nothing, so it has nothing to report.
    if not report.ok and not report.skipped:
        with store.session_factory() as session:
            settings = load_settings(session)
            causes = failure_causes(session, report.package, connector.info.name)
        report.notice = notify_failures(
            settings, KeyringSecretStore(), connector.info.name, report, causes
        )
    return report
