"""Every error a connector raises on purpose reaches a person as words they can act on
(a :class:`UserError`), unless it is the send engine's own control flow, which the
engine catches and never shows as it is.

A new kind deriving straight from ``ConnectorError`` would otherwise reach the crash
report and its apology, as a refused KashFlow password and a busy Sandbox file once did.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import connectors
from app.services.errors import UserError, user_error_from
from connectors.errors import BatchInterrupted, Cancelled, ConnectorError, RateLimited, Rejected
from connectors.quickbooks_desktop import CheckedOnNextPoll

#: Caught inside the send engine: a batch's partial results, a cancel while waiting for
#: a turn, QuickBooks Desktop's "asked on the Web Connector's next poll".
ENGINE_ONLY: frozenset[type[ConnectorError]] = frozenset(
    {BatchInterrupted, Cancelled, CheckedOnNextPoll}
)


def _every_kind() -> list[type[ConnectorError]]:
    for module in pkgutil.walk_packages(connectors.__path__, "connectors."):
        importlib.import_module(module.name)
    found: list[type[ConnectorError]] = []
    waiting = [ConnectorError]
    while waiting:
        for kind in waiting.pop().__subclasses__():
            found.append(kind)
            waiting.append(kind)
    return sorted(set(found), key=lambda k: f"{k.__module__}.{k.__qualname__}")


def _example(kind: type[ConnectorError]) -> ConnectorError:
    if issubclass(kind, Rejected):
        return kind(code="refused", reason="The package refused it.", fix="Fix the name.")
    if issubclass(kind, RateLimited):
        return kind("Slow down.", 30.0)
    return kind("What went wrong, and what to do about it.")


KINDS = _every_kind()


def test_the_walk_finds_the_connectors_own_kinds() -> None:
    names = {kind.__name__ for kind in KINDS}
    assert {"SandboxBusy", "SandboxFileError", "SignInRefused", "TenantNotChosen"} <= names
    assert set(KINDS) >= ENGINE_ONLY


@pytest.mark.parametrize(
    "kind",
    # ConnectorError itself too: connectors raise it for an answer they cannot use.
    [ConnectorError, *(k for k in KINDS if k not in ENGINE_ONLY)],
    ids=lambda k: f"{k.__module__}.{k.__qualname__}",
)
def test_each_kind_is_a_persons_problem_in_words(kind: type[ConnectorError]) -> None:
    problem = user_error_from(_example(kind), "Xero")
    assert isinstance(problem, UserError), f"{kind.__qualname__} would crash"
    assert problem.one_line().strip()


def test_an_answer_a_connector_could_not_use_is_logged_whole_for_support(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise ConnectorError("Xero would not answer contacts (400 Bad Request)")
    except ConnectorError as exc:
        problem = user_error_from(exc, "Xero")
    assert problem is not None and "Xero would not answer contacts" in problem.one_line()
    assert "If it keeps happening" in problem.one_line()
    [record] = [r for r in caplog.records if "would not answer" in r.getMessage()]
    assert record.exc_info is not None  # the traceback, for the log support reads
