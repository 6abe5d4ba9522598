"""The Sandbox: a practice accounting package in its own SQLite file.

It is the embedded default package, so Ledgerlink runs offline on a fresh machine, and
it behaves like the real packages (same contract, same refusals) so users can practise.

* :class:`SandboxConnector` – the connector (``connectors.sandbox:SandboxConnector``).
* :class:`SandboxStore` – the package's data, rules and admin API.
* :class:`FaultPlan` – make it fail on demand (send-engine tests).
* :func:`prefill_for_demo` – fill it so that linking has real work.
"""

from __future__ import annotations

from connectors.sandbox.chart import (
    BANK_ACCOUNT_ID,
    DEFAULT_ACCOUNTS,
    DEFAULT_TAX_RATES,
    SALES_ACCOUNT_ID,
    STANDARD_RATE_ID,
    account_id_for_code,
)
from connectors.sandbox.connector import SANDBOX_INFO, SandboxConnector
from connectors.sandbox.faults import (
    ArmedFault,
    FaultKind,
    FaultPlan,
    Operation,
    TriggeredFault,
)
from connectors.sandbox.practice import (
    DEMO_LOCK_DATE,
    PrefillCategory,
    PrefilledContact,
    PrefillSummary,
    RolePrefill,
    prefill_for_demo,
)
from connectors.sandbox.store import (
    DEFAULT_COMPANY_NAME,
    SandboxAllocation,
    SandboxBusy,
    SandboxDocument,
    SandboxFileError,
    SandboxLine,
    SandboxPayment,
    SandboxStore,
)

__all__ = [
    "BANK_ACCOUNT_ID",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_COMPANY_NAME",
    "DEFAULT_TAX_RATES",
    "DEMO_LOCK_DATE",
    "SALES_ACCOUNT_ID",
    "SANDBOX_INFO",
    "STANDARD_RATE_ID",
    "ArmedFault",
    "FaultKind",
    "FaultPlan",
    "Operation",
    "PrefillCategory",
    "PrefillSummary",
    "PrefilledContact",
    "RolePrefill",
    "SandboxAllocation",
    "SandboxBusy",
    "SandboxConnector",
    "SandboxDocument",
    "SandboxFileError",
    "SandboxLine",
    "SandboxPayment",
    "SandboxStore",
    "TriggeredFault",
    "account_id_for_code",
    "prefill_for_demo",
]
