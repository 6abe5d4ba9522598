"""Problems a person can fix, kept apart from bugs.

A :class:`UserError` carries what is wrong, what to do about it and, where there is one,
the record and the field at fault. The CLI prints it as one line with a documented exit
code (docs/cli.md) and the window shows it as a plain message. Anything else that escapes
is a bug: it is written to a crash report (:mod:`app.crash_report`) and the person sees a
short apology with where the report is, never the exception's own text.

Connectors keep their own hierarchy (``connectors/errors.py``); :func:`user_error_from`
maps the ones a person can act on at the service boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

#: Exit codes, documented in docs/cli.md.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
EXIT_SEND_RUNNING = 3
EXIT_BUG = 70  # EX_SOFTWARE from sysexits.h: an internal error
EXIT_INTERRUPTED = 130  # stopped with Ctrl+C, as shells report SIGINT


class UserError(Exception):
    """A problem the user can fix: ``message`` says what is wrong, ``fix`` what to do.

    ``record`` (e.g. ``Customer CUS0004``) and ``field`` (e.g. ``email``) name where the
    problem is, when it is about one record. ``exit_code`` is what the CLI exits with.
    """

    exit_code = EXIT_SETUP

    def __init__(self, message: str, fix: str = "", *, record: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.record = record
        self.field = field

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """Where, what and the fix, as one line for a person."""
        where = ", ".join(
            part for part in (self.record, f'field "{self.field}"' if self.field else "") if part
        )
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class SetupError(UserError):
    """Set-up is incomplete or inconsistent (no package chosen, bad data folder…)."""


class SignInNeeded(UserError):
    """The package needs (another) sign-in before Ledgerlink can ask it anything."""


def user_error_from(exc: BaseException, package_name: str = "the package") -> UserError | None:
    """The :class:`UserError` a person should see for ``exc``, or None when it is a bug.

    Connector errors and the keyring's absence are things a person can act on; every
    other exception is left for the crash report.
    """
    if isinstance(exc, UserError):
        return exc
    from app.secrets import NoKeyringError
    from connectors.errors import (
        ConnectorError,
        NeedsReconnecting,
        OutcomeUncertain,
        RateLimited,
        Rejected,
        SignInError,
        TemporarilyUnavailable,
    )

    if isinstance(exc, NoKeyringError):
        return SetupError(str(exc))
    if isinstance(exc, SignInError):
        # Written for a bookkeeper (why, and what to do next); a cancel is the user's own.
        return UserError(str(exc), "")
    if isinstance(exc, NeedsReconnecting) and type(exc) is not NeedsReconnecting and str(exc):
        # A connector's own kind of "sign in again" (a lapsed KashFlow session, a locked
        # KashFlow user, QuickBooks Desktop's lists not read yet) says exactly what to do.
        return SignInNeeded(str(exc))
    if isinstance(exc, NeedsReconnecting):
        return SignInNeeded(
            f"Ledgerlink is not signed in to {package_name}, or the sign-in has expired",
            f"Sign in first: open Ledgerlink and connect to {package_name} on the "
            "Get started page, then try again.",
        )
    if isinstance(exc, RateLimited):
        return UserError(
            f"{package_name} asked Ledgerlink to slow down",
            f"Try again in {max(1, round(exc.retry_after))} seconds.",
        )
    if (
        isinstance(exc, TemporarilyUnavailable)
        and type(exc) is not TemporarilyUnavailable
        and str(exc)
    ):
        # A connector's own kind (the Sandbox file busy with another send) says what.
        return UserError(str(exc), "")
    if isinstance(exc, TemporarilyUnavailable | OutcomeUncertain):
        return UserError(
            f"{package_name} could not be reached or did not answer",
            "Check the internet connection and try again in a few minutes.",
        )
    if isinstance(exc, Rejected):
        return UserError(exc.reason, exc.fix, field=exc.field)
    if type(exc) is ConnectorError and str(exc):
        # An answer the connector could not use ("Xero would not answer contacts (…)"):
        # its words name the package and what it said; the person cannot fix it alone,
        # and support reads the log, so the whole of it goes there.
        logging.getLogger(__name__).warning("%s", exc, exc_info=exc)
        return UserError(
            str(exc),
            "Try again later. If it keeps happening, send support the logs folder in "
            "Ledgerlink's data folder.",
        )
    return None


@contextmanager
def package_problems_as_user_errors(package_name: str) -> Iterator[None]:
    """Turn a connector error a person can act on into a :class:`UserError` naming the
    package; anything else (a bug) passes through untouched."""
    from connectors.errors import ConnectorError

    try:
        yield
    except ConnectorError as exc:
        problem = user_error_from(exc, package_name)
        if problem is None:  # the send engine's own control flow escaping: a bug
            raise
        raise problem from exc
