"""QuickBooks Desktop status codes, in words a bookkeeper can act on.

Each ``…Rs`` of a qbXML answer carries ``statusCode``, ``statusSeverity`` and
``statusMessage``. 0–499 are information (0 = OK, 1 = a query found nothing), 500–999
warnings (the request still succeeded), 1000 and up errors. The codes named below are
the ones a send meets; any other error keeps QuickBooks' own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.errors import Rejected

#: A query matched nothing (information, not an error).
NO_MATCH = 1

#: QuickBooks could not save the record this time (busy, in use by another user,
#: locked): it was not written and is sent again on the next poll.
RETRY_LATER = frozenset({3170, 3175, 3176, 3180})


@dataclass(frozen=True)
class RecordWords:
    """How a record is named in a failure: ``noun`` ("customer"), ``label``
    ("Customer “Acme” (C1)") and the name QuickBooks knows it by."""

    noun: str
    label: str
    name: str


def _quoted(message: str) -> str:
    found = re.search(r'"([^"]*)"', message)
    return found.group(1) if found else ""


def rejection(code: int, message: str, record: RecordWords) -> Rejected:
    """The failure for a record QuickBooks refused with ``code``."""
    if code == 3100:
        name = _quoted(message) or record.name
        return Rejected(
            code="3100",
            field="name",
            reason=f"QuickBooks already has a name “{name}”: names are shared by "
            "customers, suppliers, employees and other names, so it cannot add "
            f"{record.label} under it.",
            fix=f"If it is the same business, link {record.label} to “{name}” on the Link "
            "page; if not, change the name in the job system so it differs, then send "
            "again.",
        )
    if code == 3140:
        target = re.search(r"QuickBooks (\w+)", message)
        what = target.group(1).lower() if target else "list entry"
        field = {"customer": "customer_ref", "item": "lines", "account": "bank_code"}.get(what, "")
        fixes = {
            "customer": "Check the customer is in QuickBooks under exactly the linked name "
            "(Link customers page), then send again.",
            "item": "Open Nominal accounts and choose an item that is in QuickBooks for "
            "each sales account, then send again.",
            "account": "Open Nominal accounts and choose a bank account that is in "
            "QuickBooks, then send again.",
        }
        return Rejected(
            code="3140",
            field=field,
            reason=f"QuickBooks refused {record.label}: it refers to a {what} QuickBooks "
            f"does not have ({message}).",
            fix=fixes.get(
                what, "Check the names and mappings it uses exist in QuickBooks, then send again."
            ),
        )
    if code == 3171:
        return Rejected(
            code="3171",
            field="date",
            reason=f"{record.label} is dated on or before QuickBooks' closing date.",
            fix="Change the closing date in QuickBooks (Company > Set Closing Date) if it "
            "should go, or choose “Entered manually” for it.",
        )
    if code == 3070:
        return Rejected(
            code="3070",
            field="",
            reason=f"A value of {record.label} is too long for QuickBooks ({message}).",
            fix="Shorten it in the job system, then send again.",
        )
    if code == 3210:
        return Rejected(
            code="3210",
            field="allocations",
            reason=f"QuickBooks refused {record.label}: {message}",
            fix="Check the payment is not more than the invoices still owe in QuickBooks, "
            "then send again.",
        )
    if code in (3260, 3261):
        return Rejected(
            code=str(code),
            field="",
            reason="QuickBooks does not let Ledgerlink add records to this company file "
            f"({message}).",
            fix="In QuickBooks, open Edit > Preferences > Integrated Applications > "
            "Company Preferences and allow Ledgerlink access, then let the Web Connector "
            "run again.",
        )
    return Rejected(
        code=str(code),
        field="",
        reason=f"QuickBooks refused {record.label}: {message or 'no reason given'} "
        f"(status {code}).",
        fix="Correct the record in the job system or in QuickBooks as the message says, "
        "then send again.",
    )
