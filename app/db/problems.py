"""Plain words for a database that cannot be used: server down, wrong password, a
connection dropped in the middle of the work.

The driver's own message is kept in the log (without passwords, which it never holds);
the person sees which server, what went wrong and what to do.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.db.location import describe_store, public_url
from app.services.errors import UserError

log = logging.getLogger(__name__)


class StoreUnavailable(UserError):
    """The app database cannot be reached or used right now; nothing was lost."""


def is_connection_problem(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or the link to it broke
    (as opposed to a bug, or a rule the data broke)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def explain(exc: BaseException, url: URL | str) -> StoreUnavailable:
    """A :class:`StoreUnavailable` naming the server and what to do about ``exc``."""
    where = describe_store(url)
    detail = str(getattr(exc, "orig", None) or exc).strip()
    log.warning("database problem on %s: %s", public_url(url), detail)
    lowered = detail.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        advice = (
            f"{where} refused the password. Save the right one with `ledgerlink store use "
            f"{public_url(url)}` (it reads the password from standard input and keeps it in "
            "the keyring)."
        )
    elif "does not exist" in lowered and "database" in lowered:
        advice = (
            f"{where} has no such database. Ask whoever runs the server to create it, or "
            "correct the address with `ledgerlink store use`."
        )
    elif any(
        phrase in lowered
        for phrase in (
            "server closed the connection",
            "terminating connection",
            "connection already closed",
            "consuming input failed",
            "lost synchronization",
            "connection has been closed",
            "ssl syscall error",
        )
    ) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        advice = (
            f"The connection to {where} was lost part-way through. Nothing is lost: work "
            "not yet saved was undone, and a record that was being sent is checked in the "
            "package before anything is sent again. Try again once the server is back."
        )
    else:
        advice = (
            f"Ledgerlink cannot reach {where}. Check that the server is running, that this "
            "computer can reach it on the network, and that the address is right."
        )
    first_line = detail.splitlines()[0] if detail else type(exc).__name__
    return StoreUnavailable(f"{advice} (The server said: {first_line})")
