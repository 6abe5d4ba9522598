"""A whole send as every caller wants it: one at a time, then the failure notice.

The dashboard's "Send data now", the review page, the two-hourly timer and
``ledgerlink send`` all go through :func:`send_now` (or :func:`send_everything` with a
connector already open), and all word the outcome with :func:`send_outcome`, so they
behave and read alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.db.models import utcnow
from app.secrets import KeyringSecretStore
from app.services.desktop_bridges import handover_recorder
from app.services.sending.causes import held_sentence
from app.services.sending.failures import failure_causes
from app.services.sending.first_send_links import linked_sentence
from app.services.sending.lock import send_lock
from app.services.sending.notify import load_settings, notify_failures
from app.services.sending.sender import ProgressCallback, Sender, SendReport
from app.services.setup.connections import active_connector
from app.services.setup.readiness import unfinished_setup
from app.services.store import Store, store_problem
from connectors.contract import Connector
from connectors.wording import count


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
            on_handed_over=handover_recorder(connector.info.key),
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


def send_now(
    store: Store,
    *,
    actor: str,
    connect: Callable[[], Connector] | None = None,
    cancel: threading.Event | None = None,
    progress: ProgressCallback | None = None,
) -> SendReport:
    """The one send action: open the package's connector (``connect``, or the chosen
    package's), sign in, and :func:`send_everything`."""
    connector = (
        connect() if connect is not None else active_connector(store.paths, store.session_factory)
    )
    with connector:
        connector.connect()
        return send_everything(store, connector, actor=actor, cancel=cancel, progress=progress)


@dataclass(frozen=True)
class SendOutcome:
    """What became of a send, in the words every caller shows."""

    #: One sentence: what was sent, what failed, what is not yet confirmed, why it stopped.
    summary: str
    #: Something needs the user's attention (failures, or the send stopped).
    needs_attention: bool


def send_outcome(report: SendReport, package_name: str) -> SendOutcome:
    """The outcome of ``report`` worded once, for the review page, the dashboard and
    ``ledgerlink send`` alike."""
    sent = sum(report.sent.values())
    failed = sum(report.failed.values())
    uncertain = sum(report.uncertain.values())
    text = f"Sent {count(sent, 'record')} to {package_name}"
    linked = linked_sentence(report.linked, package_name)
    if linked:
        text += f"; {linked}"
    if failed:
        text += f"; {failed:,} failed, each listed with its fix"
    if uncertain:
        # Nothing checks them between sends: the next one asks the package first.
        text += (
            f"; {uncertain:,} not yet confirmed (the next send asks {package_name} about "
            f"{'it' if uncertain == 1 else 'them'} first)"
        )
    handed_over = sum(report.handed_over.values())
    if handed_over:
        text += f"; {handed_over:,} handed over, to be confirmed by {package_name}"
    held = held_sentence(report.held_back)
    if held:
        text += f"; {held}"
    if report.cancelled:
        text += "; cancelled, what is left waits for the next send"
    if report.stopped_reason:
        text += f". Stopped: {report.stopped_reason}"
    return SendOutcome(
        summary=text.rstrip(".") + ".",
        needs_attention=bool(failed or report.stopped_reason),
    )
