"""The small error hierarchy every connector translates its vendor's errors into.

The send engine decides what to do from the class alone: reconnect, wait, retry later,
show the user a fix, or look the record up before any resend.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of everything a connector raises on purpose."""

    #: True when the same request may succeed later without the user doing anything.
    retriable: bool = False


class SignInError(ConnectorError):
    """Signing in did not complete (refused, cancelled, misconfigured); the message says
    why and what to do next, in words a bookkeeper can act on.

    Messages never contain a code, token or secret.
    """


class NeedsReconnecting(ConnectorError):
    """The sign-in expired or was revoked; the user must connect again."""


class NotSetUp(NeedsReconnecting):
    """A setting or place the connector needs is missing or unusable (a desktop bridge's
    folder not chosen or not connected, a full disk, a file another program holds open,
    one of its files changed by hand): the message says which and how to fix it, and that
    is where the fix is (the Connect page only when the setting itself is wrong). Like an
    expired sign-in, nothing more is written until it is fixed."""


class RateLimited(ConnectorError):
    """The package asked us to slow down."""

    retriable = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporarilyUnavailable(ConnectorError):
    """The package could not be reached or answered with a server error *before* any
    create was attempted; safe to retry."""

    retriable = True


class Rejected(ConnectorError):
    """The package refused the record. Nothing was written; the user must fix something.

    ``field`` names the record's field at fault (ours, e.g. ``name``), ``code`` is a
    stable machine code (e.g. ``duplicate_name``), ``reason`` says in plain words what is
    wrong and ``fix`` what the user should do.
    """

    def __init__(self, *, code: str, reason: str, fix: str, field: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.fix = fix
        self.field = field


class OutcomeUncertain(ConnectorError):
    """A create may or may not have reached the package (timeout, dropped connection or a
    server error after sending). Never resend blindly: look the record up first."""


class Cancelled(ConnectorError):
    """The user cancelled while the connector was waiting for its turn; the request in
    hand was not sent."""


class BatchInterrupted(ConnectorError):
    """A batch stopped part-way: ``results`` holds, by position, what each record that
    was finished came to (the package's id, a :class:`Rejected`, or a desktop bridge's
    hand-over) and ``None`` for each record not finished; ``cause`` is why it stopped
    (:class:`RateLimited`, :class:`Cancelled`, :class:`OutcomeUncertain`…) and applies to
    the unfinished records only. The send engine keeps the finished ones and carries on
    with the rest, so a refusal mid-batch never repeats finished work."""

    def __init__(self, results: list[object], cause: ConnectorError) -> None:
        super().__init__(str(cause))
        self.results = results
        self.cause = cause
