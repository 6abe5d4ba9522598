"""The small error hierarchy every connector translates its vendor's errors into.

The send engine decides what to do from the class alone: reconnect, wait, retry later,
show the user a fix, or look the record up before any resend.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of everything a connector raises on purpose."""

    #: True when the same request may succeed later without the user doing anything.
    retriable: bool = False


class NeedsReconnecting(ConnectorError):
    """The sign-in expired or was revoked; the user must connect again."""


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
