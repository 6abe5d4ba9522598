"""Calls needed to list every customer of a large company, per cloud package.

    python bench/list_contacts.py [--contacts 100000] [--packages xero,quickbooks_online,...]

Each package's local stand-in (``tests/standins/``) is given ``--contacts`` customers,
and the package's real connector lists them all (``iter_contacts(CUSTOMER)``) through
the stand-in's transport, on a virtual clock (so the packages' rate limits are kept but
not waited for in real time). The stand-ins cap a page at the largest size each package
documents, as the packages do, so a connector asking for more gains nothing.

The last line is one JSON object: one key per package with the calls its listing made,
then ``minimum`` (per package, ``ceil(contacts / largest documented page)``), ``page``
(the page size each connector asks for), ``listed`` (contacts each listing returned,
which must equal ``--contacts``), ``sign_in_calls`` (token renewals on the way, not
counted as listing calls), ``virtual_minutes`` (how long the listing takes at the
package's rate limit, as the connector paces it) and ``wall_s``. Goal: calls equal to the
minimum (QuickBooks Online's query endpoint says nothing of a last page, so a total that
is an exact multiple of its page costs one empty page more).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.contract import Connector, ContactRole
from connectors.freeagent import FreeAgentConnector
from connectors.kashflow import KashFlowConnector
from connectors.quickbooks_online.query import MAX_RESULTS
from connectors.sage_business_cloud import SageBusinessCloudConnector
from connectors.xero import XeroConnector
from tests.connector_harness import open_xero
from tests.harnesses_cloud import open_freeagent, open_kashflow, open_qbo, open_sage
from tests.standins.base import StandIn
from tests.standins.clock import VirtualClock
from tests.standins.freeagent import PAGE_MAX as FREEAGENT_PAGE_MAX
from tests.standins.freeagent import FreeAgentStandIn
from tests.standins.kashflow import KashFlowStandIn
from tests.standins.qbo import PAGE_MAX as QBO_PAGE_MAX
from tests.standins.qbo import QboStandIn
from tests.standins.sage import PAGE_MAX as SAGE_PAGE_MAX
from tests.standins.sage import SageStandIn
from tests.standins.xero import PAGE_MAX as XERO_PAGE_MAX
from tests.standins.xero import XeroStandIn

#: The largest page each package documents (sources in docs/packages/*.md). KashFlow
#: publishes none; 100 is the page integrators use, and the largest known to work.
DOCUMENTED_PAGE = {
    "xero": XERO_PAGE_MAX,
    "quickbooks_online": QBO_PAGE_MAX,
    "sage_business_cloud": SAGE_PAGE_MAX,
    "freeagent": FREEAGENT_PAGE_MAX,
    "kashflow": 100,
}

#: The page each connector asks for.
ASKED = {
    "xero": XeroConnector.PAGE_SIZE,
    "quickbooks_online": MAX_RESULTS,
    "sage_business_cloud": SageBusinessCloudConnector.PAGE_SIZE,
    "freeagent": FreeAgentConnector.PAGE_SIZE,
    "kashflow": KashFlowConnector.PAGE_SIZE,
}

Opener = Callable[[Path, VirtualClock, int], tuple[StandIn, Connector]]


def _name(n: int) -> str:
    return f"Customer {n:06d} Ltd"


def xero(folder: Path, clock: VirtualClock, count: int) -> tuple[StandIn, Connector]:
    standin = XeroStandIn(clock=clock.now)
    org = standin.add_organisation()
    for n in range(count):
        standin.add_contact(org, _name(n), IsCustomer=True)
    return open_xero(folder, standin, sleep=clock.sleep)


def quickbooks_online(folder: Path, clock: VirtualClock, count: int) -> tuple[StandIn, Connector]:
    standin = QboStandIn(clock=clock.now)
    company = standin.add_company()
    for n in range(count):
        standin.add_name(company, "Customer", _name(n))
    return open_qbo(folder, standin, sleep=clock.sleep)


def sage_business_cloud(folder: Path, clock: VirtualClock, count: int) -> tuple[StandIn, Connector]:
    standin = SageStandIn(clock=clock.now)
    business = standin.add_business()
    for n in range(count):
        standin.add_contact(business, "CUSTOMER", _name(n))
    return open_sage(folder, standin, sleep=clock.sleep)


def freeagent(folder: Path, clock: VirtualClock, count: int) -> tuple[StandIn, Connector]:
    standin = FreeAgentStandIn(clock=clock.now)
    company = standin.add_company()
    for n in range(count):
        standin.add_contact(company, _name(n))
    return open_freeagent(folder, standin, sleep=clock.sleep)


def kashflow(folder: Path, clock: VirtualClock, count: int) -> tuple[StandIn, Connector]:
    standin = KashFlowStandIn(clock=clock.now)
    for n in range(count):
        standin.add_customer(f"C{n:06d}", _name(n))
    return open_kashflow(folder, standin, sleep=clock.sleep)


OPENERS: dict[str, Opener] = {
    "xero": xero,
    "quickbooks_online": quickbooks_online,
    "sage_business_cloud": sage_business_cloud,
    "freeagent": freeagent,
    "kashflow": kashflow,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--packages", default=",".join(OPENERS))
    args = parser.parse_args()
    started = time.perf_counter()
    calls: dict[str, int] = {}
    minimum: dict[str, int] = {}
    page: dict[str, int] = {}
    listed: dict[str, int] = {}
    minutes: dict[str, float] = {}
    other: dict[str, int] = {}
    for key in args.packages.split(","):
        clock = VirtualClock()
        with tempfile.TemporaryDirectory() as folder:
            standin, connector = OPENERS[key](Path(folder), clock, args.contacts)
            before = len(standin.requests)
            began = clock.now()
            listed[key] = sum(1 for _ in connector.iter_contacts(ContactRole.CUSTOMER))
            minutes[key] = round((clock.now() - began) / 60, 1)
            made = standin.requests[before:]
            # Calls to the package's API; the rest renewed the sign-in (Sage's access
            # token lasts five minutes, and the listing spans more at 60 calls a minute).
            calls[key] = sum(1 for _, path in made if path.startswith(standin.API))
            other[key] = len(made) - calls[key]
            connector.close()
        minimum[key] = math.ceil(args.contacts / DOCUMENTED_PAGE[key])
        page[key] = ASKED[key]
        print(f"{key}: {calls[key]} calls, {listed[key]} listed", file=sys.stderr)
    result: dict[str, object] = dict(calls)
    result.update(
        contacts=args.contacts,
        minimum=minimum,
        page=page,
        listed=listed,
        sign_in_calls=other,
        virtual_minutes=minutes,
        wall_s=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
