"""The sender: insert-only, in dependency order, never a duplicate, never a loss.

Every row's state is committed *before* its request (processing) and *after* it
(successful, failed or uncertain), each with an audit entry. A row still in processing
when a run starts is one whose run died mid-request: it becomes uncertain, and an
uncertain row is resolved by asking the package (by our document number or contact
reference) before anything is sent again. Resends carry the row's stable idempotency key.

Qt-free: the window runs :meth:`Sender.run` in a worker thread; ``ledgerlink send`` runs
it directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, ParamSpec, Protocol, TypeVar

from sqlalchemy import Update, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.crash_report import write_crash_report
from app.db.lookups import batches, chunked, one_of
from app.db.models import (
    Contact,
    Document,
    Link,
    LinkMethod,
    OutboxEntry,
    Payment,
    RecordType,
    SendState,
    utcnow,
)
from app.services.audit import event_values, record_event, record_events
from app.services.errors import user_error_from
from app.services.linking.matching import TheirContact
from app.services.sending.drafts import (
    BuiltDraft,
    DraftBuilder,
    Problem,
    remote_record_type,
)
from app.services.sending.first_send_links import (
    HELD_BACK,
    PackageContacts,
    apply_plan,
    plan_first_send,
)
from app.services.sending.lock import DatabaseSendLock, SendInProgress, SendLock, SendLockLost
from app.services.sending.outbox import SEND_ORDER, clear_error, sync_outbox
from app.services.sending.pacing import Backoff, RateLimiter, Sleep, interruptible_sleep
from app.services.setup.state import LAST_SEND_AT, load_setup, set_setting
from connectors.contract import (
    BatchItem,
    Connector,
    ContactRole,
    CreateResult,
    HandedOver,
    RemoteTaxRate,
)
from connectors.errors import (
    BatchInterrupted,
    Cancelled,
    ConnectorError,
    NeedsReconnecting,
    NotSetUp,
    OutcomeUncertain,
    RateLimited,
    Rejected,
    TemporarilyUnavailable,
)

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

#: Problems found on our side before any request; re-checked on every run, so fixing the
#: mapping or the parent record re-queues the row without the user pressing retry.
LOCAL_PROBLEM_CODES = frozenset(
    {"blocked", "unmapped_account", "missing_tax_rate", "before_cutoff", "unknown_invoice"}
)


@dataclass(frozen=True)
class SendProgress:
    done: int
    total: int
    current: str


@dataclass
class SendReport:
    """What one run did. ``to_json`` keys are documented in docs/cli.md."""

    package: str
    started_at: datetime
    finished_at: datetime | None = None
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    uncertain: Counter[str] = field(default_factory=Counter)
    #: Records a desktop bridge took, to be confirmed once the package has them.
    handed_over: Counter[str] = field(default_factory=Counter)
    #: Never-linked contacts found already in the package and linked, not created.
    linked: Counter[str] = field(default_factory=Counter)
    #: Contacts waiting for a transaction that needs them (the per-business option).
    held_back: Counter[str] = field(default_factory=Counter)
    resolved_found: int = 0
    resolved_not_found: int = 0
    requests: int = 0
    #: Times the package (or our limiter, for a spent allowance) said "not now".
    rate_limited: int = 0
    cancelled: bool = False
    stopped_reason: str = ""
    #: What became of the failure email, if one was due.
    notice: str = ""
    #: Another send was running, so this one did nothing at all.
    skipped: bool = False
    #: Set-up was unfinished (see app.services.setup.readiness): nothing was tried.
    setup_incomplete: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed or is uncertain and the run was not stopped."""
        return not self.failed and not self.uncertain and not self.stopped_reason

    def to_json(self) -> dict[str, object]:
        """The report as ``send --json`` prints it (keys in docs/cli.md)."""
        return {
            "package": self.package,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "sent": dict(self.sent),
            "failed": dict(self.failed),
            "uncertain": dict(self.uncertain),
            "handed_over": dict(self.handed_over),
            "linked_on_send": dict(self.linked),
            "held_back": dict(self.held_back),
            "resolved_found": self.resolved_found,
            "resolved_not_found": self.resolved_not_found,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "cancelled": self.cancelled,
            "stopped_reason": self.stopped_reason,
            "notice": self.notice,
            "setup_incomplete": self.setup_incomplete,
            "ok": self.ok,
        }


class _StopRun(Exception):
    """The package cannot take more now (down, signed out, or the user cancelled).

    ``nothing_written`` is true when the request in hand was certainly not taken, so
    its row can simply wait for the next run.
    """

    def __init__(self, message: str, *, nothing_written: bool) -> None:
        super().__init__(message)
        self.nothing_written = nothing_written


def _not_answering(down: TemporarilyUnavailable) -> str:
    """Why a run stopped on a package that stayed unavailable: a connector's own kind
    (the Sandbox file busy with another send) says it in its words."""
    if type(down) is not TemporarilyUnavailable and str(down):
        return f"{str(down).rstrip('.')}. What is left waits for the next send."
    return f"The package is not answering ({down}); what is left waits for the next send."


ProgressCallback = Callable[[SendProgress], None]
#: What a desktop bridge keeps beside the outbox for each record it took (Sage 50: its
#: export ledger), written in the same transaction as the *handed over* state.
HandoverRecorder = Callable[[Session, OutboxEntry, HandedOver], None]


@dataclass(frozen=True)
class _Ready:
    """A row marked processing, with what will be sent for it."""

    entry_id: int
    record_type: RecordType
    built: BuiltDraft
    key: str
    record_id: int


class Sender:
    """Sends everything waiting for one package through one connector."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        connector: Connector,
        *,
        actor: str = "user",
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 5,
        lock_path: Path | None = None,
        lock: AbstractContextManager[object] | None = None,
        max_wait: float = 900.0,
        on_handed_over: HandoverRecorder | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.connector = connector
        self.package = connector.info.key
        self.actor = actor
        self.cancel = cancel or threading.Event()
        self.progress = progress
        self.sleep: Sleep = sleep or interruptible_sleep(self.cancel)
        # One limiter per connection: a connector that paces its own requests (every
        # request, reads included, is what the package counts) brings its own, and the
        # sender only lets a cancel end its waits; otherwise the sender paces its calls.
        own = connector.rate_limiter
        self.paces_calls = own is None
        if own is None:
            own = RateLimiter.for_package(
                connector.info.rate_limit,
                package_name=connector.info.name,
                sleep=self.sleep,
                clock=clock or time.monotonic,
            )
        own.watch(self.cancel)
        self.limiter = own
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        #: Longest Retry-After worth waiting for within a send (seconds).
        self.max_wait = max_wait
        self.report = SendReport(package=self.package, started_at=utcnow())
        self._tax_rates: list[RemoteTaxRate] | None = None
        self.lock_path = lock_path
        self.on_handed_over = on_handed_over
        self.lock = lock
        self._held_lock: object = None
        #: Rows sent again this run after a lookup found them absent: a second lost
        #: answer for one of them stops the run instead of sending it a third time.
        self._resent_after_lookup: set[int] = set()
        #: Rows this run found or left uncertain; those still uncertain at its end are
        #: what the report counts as not yet confirmed, however the run ended.
        self._uncertain_rows: set[int] = set()

    # ------------------------------------------------------------------ the run

    def run(self) -> SendReport:
        """Recover, resolve uncertain rows, then send every waiting row in order.

        With ``lock`` (see :func:`~app.services.sending.lock.send_lock`) or ``lock_path``
        (a data folder's file lock), only one send runs at a time on the store; a second
        one stops at once with ``stopped_reason`` saying so and touches nothing.
        """
        lock = self.lock
        if lock is None and self.lock_path is not None:
            lock = SendLock(self.lock_path)
        if lock is None:
            return self._run()
        try:
            with lock as held:
                self._held_lock = held
                return self._run()
        except SendInProgress as busy:
            self.report.stopped_reason = str(busy)
            self.report.skipped = True
            self.report.finished_at = utcnow()
            return self.report

    def _run(self) -> SendReport:
        try:
            self.recover_interrupted()
            with self.session_factory.begin() as session:
                sync_outbox(session, self.package)
            self.resolve_uncertain()
            self.link_or_hold_contacts()
            pending = self._pending()
            total = len(pending)
            done = 0
            for batch in self._batches(pending):
                if self.cancel.is_set():
                    self.report.cancelled = True
                    break
                self._check_lock()
                self._send_batch(batch, done, total)
                done += len(batch)
            if self.progress and not self.report.cancelled:
                self.progress(SendProgress(total, total, ""))
        except _StopRun as stop:
            self.report.stopped_reason = str(stop)
        finally:
            try:
                self._count_uncertain()
            except Exception:  # the store went: the run's own error is the one to tell
                log.warning("could not count the rows left uncertain", exc_info=True)
            self.report.finished_at = utcnow()
            with self.session_factory.begin() as session:
                set_setting(session, LAST_SEND_AT, self.report.finished_at.isoformat())
                record_event(
                    session,
                    actor=self.actor,
                    action="send_run",
                    package=self.package,
                    summary=self.report.to_json(),
                )
        return self.report

    def _count_uncertain(self) -> None:
        """Count, by record type, the rows this run touched that are still uncertain:
        those a lookup could not settle, and those a stopped run never got to ask about."""
        counts: Counter[str] = Counter()
        with self.session_factory() as session:
            for chunk in batches(session, sorted(self._uncertain_rows)):
                counts.update(
                    record_type.value
                    for record_type in session.scalars(
                        select(OutboxEntry.record_type).where(
                            one_of(session, OutboxEntry.id, chunk),
                            OutboxEntry.state == SendState.UNCERTAIN,
                        )
                    )
                )
        self.report.uncertain = counts

    def _check_lock(self) -> None:
        """A shared store's lock lives on a connection: if that connection went, stop
        before the next batch (nothing of it is written yet)."""
        if isinstance(self._held_lock, DatabaseSendLock):
            try:
                self._held_lock.verify()
            except SendLockLost as lost:
                raise _StopRun(str(lost), nothing_written=True) from lost

    def recover_interrupted(self) -> int:
        """Rows left in processing by a run that died become uncertain."""
        with self.session_factory.begin() as session:
            rows = session.scalars(
                select(OutboxEntry).where(
                    OutboxEntry.package == self.package,
                    OutboxEntry.state == SendState.PROCESSING,
                )
            ).all()
            for entry in rows:
                self._make_uncertain(
                    session,
                    entry,
                    "interrupted",
                    "Ledgerlink stopped while sending this record, so it may or may not "
                    "have reached the package.",
                )
            return len(rows)

    def resolve_uncertain(self) -> None:
        """Ask the package about every uncertain row: found → successful; absent → waiting."""
        with self.session_factory() as session:
            ids = list(
                session.scalars(
                    select(OutboxEntry.id).where(
                        OutboxEntry.package == self.package,
                        OutboxEntry.state == SendState.UNCERTAIN,
                    )
                )
            )
        self._uncertain_rows.update(ids)
        for entry_id in ids:
            if self.cancel.is_set():
                return
            self._resolve(entry_id)

    def link_or_hold_contacts(self) -> None:
        """Before any contact is created: hold back those no transaction needs yet (when
        the option is on), link those the package already holds, and fail those that
        need the user to choose (see :mod:`app.services.sending.first_send_links`)."""
        with self.session_factory() as session:
            setup = load_setup(session)
            plan = plan_first_send(
                session,
                self.connector.info,
                PackageContacts(self._read_contacts),
                hold_back=setup.contacts_with_transactions,
                cutoff=setup.cutoff_date,
                pending_codes=LOCAL_PROBLEM_CODES,
            )
        with self.session_factory.begin() as session:
            applied = apply_plan(session, self.package, plan, actor=self.actor)
        self.report.linked.update(applied.linked)
        self.report.failed.update(applied.failed)
        self.report.held_back.update(applied.held)

    def _read_contacts(self, role: ContactRole) -> list[TheirContact]:
        """The package's contacts of ``role``, within its rate limit. Nothing is created
        without looking first: a package that cannot be read stops the run."""
        try:
            return self._call(
                lambda: [TheirContact.of(c) for c in self.connector.iter_contacts(role)]
            )
        except ConnectorError as exc:
            name = self.connector.info.name
            problem = user_error_from(exc, name)
            why = problem.one_line() if problem else f"{name} gave no usable answer"
            raise _StopRun(
                f"Could not read {name}'s {role.value}s to look for ones already there, so "
                f"nothing was created: {why}",
                nothing_written=True,
            ) from exc

    # ------------------------------------------------------------------ batches

    def _pending(self) -> list[tuple[int, RecordType]]:
        order = {record_type: n for n, record_type in enumerate(SEND_ORDER)}
        with self.session_factory() as session:
            rows = list(
                session.execute(
                    select(OutboxEntry.id, OutboxEntry.record_type, OutboxEntry.record_id).where(
                        OutboxEntry.package == self.package,
                        or_(
                            (OutboxEntry.state == SendState.WAITING)
                            & (OutboxEntry.error_code != HELD_BACK),
                            (OutboxEntry.state == SendState.FAILED)
                            & OutboxEntry.error_code.in_(LOCAL_PROBLEM_CODES),
                        ),
                    )
                ).all()
            )
        rows.sort(key=lambda row: (order[row.record_type], row.record_id))
        return [(row.id, row.record_type) for row in rows]

    def _tax(self) -> list[RemoteTaxRate]:
        """The package's VAT rates, read once per run."""
        if self._tax_rates is None:
            self._tax_rates = self._call(self.connector.list_tax_rates)
        return self._tax_rates

    def _batch_size(self) -> int:
        # Without the package's idempotency a half-written batch cannot be retried
        # safely, so such packages get one record per request.
        # A desktop bridge's hand-over writes nothing to the package, so its batches are
        # safe without idempotency.
        info = self.connector.info
        safe = info.idempotency or bool(info.handed_over_label)
        return max(1, info.batch_size) if safe else 1

    def _batches(self, pending: list[tuple[int, RecordType]]) -> list[list[int]]:
        """Consecutive rows of one record type, at most a batch each."""
        size = self._batch_size()
        batches: list[list[int]] = []
        current: list[int] = []
        current_type: RecordType | None = None
        for entry_id, record_type in pending:
            if current and (record_type is not current_type or len(current) >= size):
                batches.append(current)
                current = []
            current.append(entry_id)
            current_type = record_type
        if current:
            batches.append(current)
        return batches

    def _prepare(self, entry_ids: list[int]) -> list[_Ready]:
        """Build each row's draft; rows that cannot go are marked failed, the rest
        processing. Committed before any request, so a crash from here on leaves
        processing rows, which the next run treats as uncertain."""
        tax_rates = self._tax()
        ready: list[_Ready] = []
        with self.session_factory.begin() as session:
            builder = DraftBuilder(
                session,
                self.package,
                self.connector.info.name,
                tax_rates,
                cutoff=load_setup(session).cutoff_date,
            )
            rows = {
                row.id: row
                for chunk in chunked(entry_ids)
                for row in map(
                    _Row._make,
                    session.execute(
                        select(*(getattr(OutboxEntry, name) for name in _Row._fields)).where(
                            OutboxEntry.id.in_(chunk)
                        )
                    ),
                )
            }
            builder.prefetch(list(rows.values()))
            # The batch's rows change in one statement and its audit entries go in as one,
            # in order: row by row through the ORM was most of a batch's own cost.
            events: list[dict[str, object]] = []
            processing: list[int] = []
            for entry_id in entry_ids:
                row = rows.get(entry_id)
                if row is None or row.state not in (SendState.WAITING, SendState.FAILED):
                    continue
                built = builder.build(row)
                if isinstance(built, Problem):
                    entry = session.get(OutboxEntry, entry_id)
                    assert entry is not None
                    self._mark_failed(
                        session,
                        entry,
                        built.code,
                        built.field,
                        built.reason,
                        built.fix,
                        events=events,
                    )
                    entry.blocked_by_id = built.blocked_by
                    entry.error_subject = built.subject
                    self.report.failed[entry.record_type.value] += 1
                    continue
                attempts = row.attempts + 1
                processing.append(entry_id)
                self._audit(session, row, "sending", events=events, attempt=attempts)
                ready.append(
                    _Ready(entry_id, row.record_type, built, row.idempotency_key, row.record_id)
                )
            # One statement per chunk: every row read above gets attempts + 1, as counted
            # for its audit entry (same transaction, so the same number).
            now = utcnow()
            for chunk in chunked(processing):
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(chunk))
                    .values(
                        state=SendState.PROCESSING,
                        attempts=OutboxEntry.attempts + 1,
                        last_attempt_at=now,
                        blocked_by_id=None,
                    )
                    .execution_options(synchronize_session=False)
                )
            record_events(session, events)
        return ready

    def _send_batch(self, entry_ids: list[int], done: int = 0, total: int = 0) -> None:
        ready = self._prepare(entry_ids)
        if not ready:
            return
        if self.progress:
            # Reported as the request goes out, after the rows are committed as processing.
            more = f" and {len(ready) - 1} more" if len(ready) > 1 else ""
            self.progress(SendProgress(done, total, ready[0].built.label + more))
        remaining = ready
        while remaining:
            remaining = self._create(remaining)

    def _create(self, ready: list[_Ready]) -> list[_Ready]:
        """Send ``ready`` rows in one batch call; the rows still to send when the batch
        stopped part-way on a rate limit (finished rows are recorded, never resent)."""
        ids = [r.entry_id for r in ready]
        try:
            results = self._call(
                self.connector.create_batch, [BatchItem(r.built.draft, r.key) for r in ready]
            )
        except BatchInterrupted as cut:
            return self._after_interruption(ready, cut)
        except _StopRun as stop:
            for entry_id in ids:
                if stop.nothing_written:
                    self._back_to_waiting(entry_id, str(stop))
                else:
                    self._mark_uncertain(entry_id, str(stop))
            raise
        except OutcomeUncertain as unsure:
            self._uncertain_then_resolve(ids, str(unsure))
            return []
        except Exception as exc:
            # Anything else once the request has left (a bug, an untranslated error): we
            # do not know whether the package took it, so it is uncertain, never failed.
            # The person sees the apology and where the report is, never the bug's text.
            crash = write_crash_report(exc, f"sending outbox rows {ids}")
            for entry_id in ids:
                self._mark_uncertain(
                    entry_id, "a fault in Ledgerlink after the request left (see the crash report)"
                )
            raise _StopRun(
                f"Stopped after a fault in Ledgerlink. {crash.apology()}", nothing_written=False
            ) from exc
        if len(results) != len(ready):
            for entry_id in ids:
                self._mark_uncertain(entry_id, "the package's answer did not match the request")
            raise _StopRun(
                f"{self.connector.info.name} answered {len(results)} results for "
                f"{len(ready)} records; stopped to be safe.",
                nothing_written=False,
            )
        self._record_results(ready, results)
        return []

    def _after_interruption(self, ready: list[_Ready], cut: BatchInterrupted) -> list[_Ready]:
        """Keep what a batch finished before it stopped; deal with the rest by the cause."""
        finished: list[tuple[_Ready, CreateResult]] = [
            (r, res)
            for r, res in zip(ready, cut.results, strict=False)
            if isinstance(res, str | Rejected | HandedOver)
        ]
        self._record_results([r for r, _ in finished], [res for _, res in finished])
        rest = [r for r, res in zip(ready, cut.results, strict=False) if res is None]
        rest += ready[len(cut.results) :]
        ids = [r.entry_id for r in rest]
        cause = cut.cause
        if isinstance(cause, OutcomeUncertain):
            self._uncertain_then_resolve(ids, str(cause))
            return []
        try:
            self._handle_stop(cause)
        except _StopRun as stop:
            # The step log keeps any finished step of a multi-step record, so the
            # records not finished simply wait (nothing of theirs is redone later).
            for entry_id in ids:
                self._back_to_waiting(entry_id, str(stop))
            raise
        return rest

    def _uncertain_then_resolve(self, ids: list[int], why: str) -> None:
        for entry_id in ids:
            self._mark_uncertain(entry_id, why)
        for entry_id in ids:
            self._resolve(entry_id)

    def _record_results(self, ready: list[_Ready], results: Sequence[CreateResult]) -> None:
        """Record a batch's answers in one transaction: the rows read in one query, the
        new links and audit entries written together."""
        with self.session_factory.begin() as session:
            events: list[dict[str, object]] = []
            successful: list[dict[str, object]] = []
            created: list[tuple[RecordType, int, str]] = []
            now = utcnow()
            for item, result in zip(ready, results, strict=True):
                if isinstance(result, Rejected):
                    entry = session.get(OutboxEntry, item.entry_id)
                    assert entry is not None
                    self._mark_failed(
                        session,
                        entry,
                        result.code,
                        result.field,
                        result.reason,
                        result.fix,
                        events=events,
                    )
                    self.report.failed[item.record_type.value] += 1
                    continue
                if isinstance(result, HandedOver):
                    # Not successful yet: the bridge confirms it on evidence
                    # (app.services.sending.handover).
                    entry = session.get(OutboxEntry, item.entry_id)
                    assert entry is not None
                    entry.sent_at = now
                    entry.sent_fingerprint = item.built.fingerprint
                    clear_error(entry)
                    self._handed_over(
                        session, entry, result, snapshot=item.built.snapshot, events=events
                    )
                    continue
                successful.append(
                    {
                        "b_id": item.entry_id,
                        "b_remote_id": result,
                        "b_fingerprint": item.built.fingerprint,
                    }
                )
                created.append((item.record_type, item.record_id, result))
                self._audit(
                    session,
                    item,
                    "sent",
                    events=events,
                    remote_id=result,
                    snapshot=item.built.snapshot,
                )
                self.report.sent[item.record_type.value] += 1
            if successful:
                session.execute(
                    _by_id().values(
                        state=SendState.SUCCESSFUL,
                        remote_id=bindparam("b_remote_id"),
                        sent_fingerprint=bindparam("b_fingerprint"),
                        sent_at=now,
                        **_NO_ERROR,
                    ),
                    successful,
                )
            link_created_contacts(session, self.package, created)
            record_events(session, events)

    def _handed_over(
        self,
        session: Session,
        entry: OutboxEntry,
        result: HandedOver,
        *,
        snapshot: object = None,
        found_after: str = "",
        events: list[dict[str, object]] | None = None,
    ) -> None:
        entry.state = SendState.HANDED_OVER
        entry.remote_id = result.reference
        if found_after:
            self._audit(
                session,
                entry,
                "handed_over",
                events=events,
                reference=result.reference,
                where=result.note,
                found_after=found_after,
            )
        else:
            self._audit(
                session,
                entry,
                "handed_over",
                events=events,
                reference=result.reference,
                where=result.note,
                snapshot=snapshot,
            )
        if self.on_handed_over is not None:
            self.on_handed_over(session, entry, result)
        self.report.handed_over[entry.record_type.value] += 1

    def _call(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the package within its rate limit, retrying what is safe to retry."""
        attempt = 0
        while True:
            if self.paces_calls:
                try:
                    self.limiter.acquire()
                except (RateLimited, Cancelled) as stopped:
                    self._handle_stop(stopped)
            self.report.requests += 1
            try:
                return func(*args, **kwargs)
            except (RateLimited, Cancelled, NeedsReconnecting) as stopped:
                self._handle_stop(stopped)
            except TemporarilyUnavailable as down:
                if attempt + 1 >= self.max_attempts:
                    raise _StopRun(_not_answering(down), nothing_written=True) from down
                self.sleep(self.backoff.delay(attempt))
            attempt += 1
            if self.cancel.is_set():
                raise _StopRun("Cancelled while waiting for the package.", nothing_written=True)

    def _handle_stop(self, stopped: ConnectorError) -> None:
        """Wait out a rate limit (returns: try again), or stop the run."""
        if isinstance(stopped, RateLimited):
            if stopped.retry_after > self.max_wait:
                # A daily limit: waiting hours inside a send helps nobody.
                hours = stopped.retry_after / 3600
                raise _StopRun(
                    f"{self.connector.info.name} has reached its limit for now ({stopped}); "
                    f"it accepts more in about {hours:.1f} hours. What is left waits "
                    "for the next send.",
                    nothing_written=True,
                ) from stopped
            log.info("rate limited; waiting %.1fs", stopped.retry_after)
            self.report.rate_limited += 1
            # The next turn waits for it (a connection's own limiter was already told).
            self.limiter.hold(stopped.retry_after)
            return
        if isinstance(stopped, Cancelled):
            raise _StopRun("Cancelled while waiting for the package.", nothing_written=True)
        if isinstance(stopped, NotSetUp):
            raise _StopRun(str(stopped), nothing_written=True) from stopped
        if isinstance(stopped, NeedsReconnecting):
            raise _StopRun(
                f"The connection to the package needs signing in again ({stopped}). "
                "Open Connect in the set-up wizard.",
                nothing_written=True,
            ) from stopped
        if isinstance(stopped, TemporarilyUnavailable):
            raise _StopRun(_not_answering(stopped), nothing_written=True) from stopped
        raise _StopRun(f"Stopped: {stopped}", nothing_written=True) from stopped

    # ------------------------------------------------------------------ outcomes

    def _resolve(self, entry_id: int) -> None:
        with self.session_factory() as session:
            entry = session.get(OutboxEntry, entry_id)
            if entry is None or entry.state is not SendState.UNCERTAIN:
                return
            record_type, record_id = entry.record_type, entry.record_id
            our_key = _our_key(session, record_type, record_id)
        if our_key is None:
            return
        try:
            # A desktop bridge may have taken it before the run died: back to handed
            # over, never handed over twice and never successful on a guess.
            # Not through _call: a bridge looks in its own files or queue, not the package.
            handed = self.connector.find_handed_over(remote_record_type(record_type), our_key)
        except (ConnectorError, OSError) as exc:
            log.warning("could not look for uncertain row %s in the bridge: %s", entry_id, exc)
            return
        if handed is not None:
            with self.session_factory.begin() as session:
                entry = session.get(OutboxEntry, entry_id)
                assert entry is not None
                entry.sent_at = utcnow()
                clear_error(entry)
                self._handed_over(session, entry, handed, found_after="interrupted send")
            return
        try:
            found = self._call(
                self.connector.find_existing, remote_record_type(record_type), our_key
            )
        except (ConnectorError, _StopRun) as exc:
            log.warning("could not resolve uncertain row %s: %s", entry_id, exc)
            return
        with self.session_factory.begin() as session:
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None
            if found:
                entry.state = SendState.SUCCESSFUL
                entry.remote_id = found
                entry.sent_at = utcnow()
                clear_error(entry)
                link_created_contact(session, self.package, entry, found)
                self.report.resolved_found += 1
                self.report.sent[record_type.value] += 1
                action = "resolved_found"
            else:
                entry.state = SendState.WAITING
                clear_error(entry)
                self.report.resolved_not_found += 1
                action = "resolved_not_found"
            self._audit(session, entry, action, actor="system", remote_id=found or "")
        if not found:
            if entry_id in self._resent_after_lookup:
                # Its answer lost again, and again not taken: a connection that keeps
                # dropping. Sending it over and over would never end; the next run tries.
                raise _StopRun(
                    f"{self.connector.info.name} lost its answer twice for "
                    f"{record_type.value.replace('_', ' ')} {our_key}, and had not taken it "
                    "either time; stopped rather than keep trying. It waits for the next "
                    "send, which first asks about any record left unconfirmed.",
                    nothing_written=True,
                )
            self._resent_after_lookup.add(entry_id)
            # Not in the package: safe to send now, with the same idempotency key.
            self._send_batch([entry_id])

    def _mark_failed(
        self,
        session: Session,
        entry: OutboxEntry,
        code: str,
        field: str,
        reason: str,
        fix: str,
        *,
        events: list[dict[str, object]] | None = None,
    ) -> None:
        entry.state = SendState.FAILED
        entry.error_code, entry.error_field = code, field
        entry.error_reason, entry.error_fix = reason, fix
        entry.error_subject = ""
        self._audit(
            session,
            entry,
            "failed",
            events=events,
            code=code,
            field=field,
            reason=reason,
        )

    def _mark_uncertain(self, entry_id: int, why: str) -> None:
        with self.session_factory.begin() as session:
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None
            self._make_uncertain(
                session,
                entry,
                "uncertain",
                f"The package may or may not have received this record ({why}).",
            )

    def _back_to_waiting(self, entry_id: int, why: str) -> None:
        with self.session_factory.begin() as session:
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None
            entry.state = SendState.WAITING
            self._audit(
                session,
                entry,
                "requeued",
                actor="system",
                reason=why,
            )

    def _audit(
        self,
        session: Session,
        entry: _Audited,
        action: str,
        *,
        actor: str = "",
        events: list[dict[str, object]] | None = None,
        **detail: object,
    ) -> None:
        """Audit a change to ``entry``: added to ``session`` at once, or to ``events``
        for the caller to write with the rest of its batch."""
        if events is not None:
            events.append(
                event_values(
                    actor=actor or self.actor,
                    action=action,
                    package=self.package,
                    record_type=entry.record_type.value,
                    record_id=entry.record_id,
                    **detail,
                )
            )
            return
        record_event(
            session,
            actor=actor or self.actor,
            action=action,
            package=self.package,
            record_type=entry.record_type.value,
            record_id=entry.record_id,
            **detail,
        )

    def _make_uncertain(self, session: Session, entry: OutboxEntry, code: str, reason: str) -> None:
        self._uncertain_rows.add(entry.id)
        entry.state = SendState.UNCERTAIN
        entry.error_code = code
        entry.error_reason = reason
        entry.error_fix = "Nothing to do: Ledgerlink checks the package before resending."
        self._audit(session, entry, "marked_uncertain", actor="system", reason=reason)


def link_created_contact(
    session: Session, package: str, entry: OutboxEntry, remote_id: str
) -> None:
    """Link a customer or supplier the package has just created to our record, unless
    it is linked already; other record types need no link."""
    if entry.record_type not in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        return
    link = session.scalars(
        select(Link).where(Link.package == package, Link.contact_id == entry.record_id)
    ).one_or_none()
    if link is None:
        contact = session.get(Contact, entry.record_id)
        session.add(
            Link(
                package=package,
                contact_id=entry.record_id,
                remote_ref=remote_id,
                remote_name=contact.name if contact else "",
                method=LinkMethod.CREATED_BY_SEND,
            )
        )


def link_created_contacts(
    session: Session, package: str, created: Sequence[tuple[RecordType, int, str]]
) -> None:
    """:func:`link_created_contact` for a batch of (record type, record id, package id),
    in a few queries."""
    wanted = {
        record_id: remote_id
        for record_type, record_id, remote_id in created
        if record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER)
    }
    linked: set[int] = set()
    names: dict[int, str] = {}
    for chunk in chunked(sorted(wanted)):
        linked.update(
            session.scalars(
                select(Link.contact_id).where(Link.package == package, Link.contact_id.in_(chunk))
            )
        )
        for contact_id, name in session.execute(
            select(Contact.id, Contact.name).where(Contact.id.in_(chunk))
        ):
            names[contact_id] = name
    # One statement, not the unit of work: a versioned row goes in one INSERT at a time
    # there (to read its id back), and nothing here reads the new links back.
    rows = [
        {
            "package": package,
            "contact_id": contact_id,
            "remote_ref": remote_id,
            "remote_name": names.get(contact_id, ""),
            "method": LinkMethod.CREATED_BY_SEND,
        }
        for contact_id, remote_id in wanted.items()
        if contact_id not in linked
    ]
    if rows:
        session.execute(insert(Link.metadata.tables[Link.__tablename__]), rows)


class _Row(NamedTuple):
    """What preparing a batch reads of its outbox rows."""

    id: int
    record_type: RecordType
    record_id: int
    state: SendState
    attempts: int
    idempotency_key: str


class _Audited(Protocol):
    @property
    def record_type(self) -> RecordType: ...

    @property
    def record_id(self) -> int: ...


#: An outbox row's error columns, cleared.
_NO_ERROR: dict[str, object] = {
    "error_code": "",
    "error_field": "",
    "error_reason": "",
    "error_fix": "",
    "error_subject": "",
    "blocked_by_id": None,
}


def _by_id() -> Update:
    """An update of outbox rows by id, for many rows at once (parameter ``b_id``)."""
    table = OutboxEntry.metadata.tables[OutboxEntry.__tablename__]
    return update(table).where(table.c.id == bindparam("b_id"))


def _our_key(session: Session, record_type: RecordType, record_id: int) -> str | None:
    """Our own key for a record: what the package is searched by."""
    if record_type in (RecordType.CUSTOMER, RecordType.SUPPLIER):
        contact = session.get(Contact, record_id)
        return contact.account_ref if contact else None
    if record_type in (RecordType.INVOICE, RecordType.CREDIT_NOTE):
        document = session.get(Document, record_id)
        return document.number if document else None
    payment = session.get(Payment, record_id)
    return payment.reference if payment else None
