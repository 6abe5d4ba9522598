"""A send on the REAL clock to each cloud stand-in, served over a real loopback socket.

For Xero, QuickBooks Online, Sage Business Cloud, FreeAgent and KashFlow in turn: the demo data plus
``--invoices`` extra invoices (default 1,000) go through the real send engine and the real
connector to the package's stand-in, with both sides' rate windows shrunk alike (Xero's 60
a minute becomes 10 every 2 s; see ``SCALE``) so the whole run takes a few minutes.

Per package:

- ``requests`` (N): API requests the stand-in received (each one the package counts,
  refused ones included);
- ``minimum_requests`` (M): the requests the same send makes with no rate limit at all —
  the same data sent once more on a virtual clock to a fresh stand-in, so no request is
  a retry or a replay;
- ``rate_limited_responses`` (R): ``429`` answers the stand-in sent;
- ``fraction_of_bound`` (F): how much of the package's allowance the send used while it
  ran — for the tightest window, units used ÷ the most an ideal sender of the same
  requests could use in the same span under all the package's windows together (each
  request sent the moment every window allows it, no latency; ``most_in_span``), the
  limits being the ones the catalogue declares;
- ``fraction_of_single_window_bound``: the earlier figure, each window alone
  (``limit × (⌊span / period⌋ + 1)``), which counts units the other windows make
  unreachable (see ``fraction_of_single_window_bound``).

Goal (issue 11): ``R == 0``, ``N <= 1.05 M`` and ``F >= 0.9`` for every cloud package. The
last line of stdout is one JSON object keyed by package.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import DataPaths
from app.db.models import Situation
from app.services.importing.csv_import import ImportKind, import_csv_bytes
from app.services.sending.sender import Sender
from app.services.setup.demo import prepare_demo
from app.services.setup.mapping import set_mapping
from app.services.setup.qbo_items import create_and_map, item_choices, map_to_item
from app.services.setup.state import choose_package
from app.services.store import Store, open_store
from connectors.contract import Connector, ConnectorContext, RateScale
from connectors.freeagent import FreeAgentConnector
from connectors.kashflow import KashFlowConnector
from connectors.quickbooks_online import QuickBooksOnlineConnector
from connectors.sage_business_cloud import SageBusinessCloudConnector
from connectors.xero import XeroConnector
from tests.connector_harness import MemorySecrets
from tests.standins.base import StandIn
from tests.standins.clock import VirtualClock
from tests.standins.freeagent import FreeAgentStandIn
from tests.standins.kashflow import USERNAME as KASHFLOW_USER
from tests.standins.kashflow import KashFlowStandIn
from tests.standins.loopback import LoopbackServer
from tests.standins.qbo import QboStandIn
from tests.standins.sage import SageStandIn
from tests.standins.xero import XeroStandIn

#: 60 a minute → 10 every 2 s (counts × 1/6, periods × 1/30), on both sides.
SCALE = RateScale(count=1 / 6, period=1 / 30)
#: Xero: 60 a minute → 10 every 8 s (1.25 a second, near Xero's own one a second). A
#: create of 50 invoices costs the send engine and the stand-in about half a second on a
#: shared two-core machine (profiled: 25 s for the 158 requests unpaced); at 10 every 2 s
#: that work, not the limit, would set the pace and the bench would measure the machine.
XERO_SCALE = RateScale(count=1 / 6, period=8 / 60)
#: QuickBooks: 500 operations and 40 batches a minute → 180 and 14 every 2 s. A batch is
#: 30 operations; shrinking 500 by 1/6 (83) would leave room for only two batches where
#: the real minute takes sixteen, so the count is scaled to keep whole batches fitting.
QBO_SCALE = RateScale(count=0.36, period=1 / 30)

#: Our nominal accounts → the stand-ins' account codes (as the send tests map them).
XERO_CODES = {"SALES": "200", "SALES-LAB": "200", "SALES-MAT": "260", "BANK": "090"}
SAGE_CODES = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4020", "BANK": "1200"}
FREEAGENT_CODES = {"SALES": "001", "SALES-LAB": "002", "SALES-MAT": "049", "BANK": "750-1"}
KASHFLOW_CODES = {"SALES": "4000", "SALES-LAB": "4010", "SALES-MAT": "4900"}


@dataclass(frozen=True)
class Package:
    key: str
    scale: RateScale
    make_standin: Callable[[Callable[[], float], RateScale | None], StandIn]
    connector: type[Connector]
    tenant: Callable[[StandIn], str]
    map_accounts: Callable[[Store, Connector], None]
    #: Settings beyond the client id and tenant (KashFlow: the user name).
    settings: tuple[tuple[str, str], ...] = ()


def _map_by_codes(codes: dict[str, str]) -> Callable[[Store, Connector], None]:
    def map_accounts(store: Store, connector: Connector) -> None:
        accounts = connector.list_accounts()
        with store.session_factory.begin() as session:
            for ours, theirs in codes.items():
                remote = next(a for a in accounts if a.code == theirs)
                set_mapping(session, connector.info, accounts, ours, remote.id, actor="bench")
            if "BANK" not in codes:  # the package's (only) bank account
                bank = next(a for a in accounts if a.type.value == "bank")
                set_mapping(session, connector.info, accounts, "BANK", bank.id, actor="bench")

    return map_accounts


def _map_qbo(store: Store, connector: Connector) -> None:
    choices = item_choices(connector)
    by_name = {item.name: item for item in choices.items}
    with store.session_factory.begin() as session:
        map_to_item(session, connector.info, "SALES", by_name["Sales"], actor="bench")
        map_to_item(session, connector.info, "SALES-LAB", by_name["Services"], actor="bench")
    materials = next(a for a in choices.income_accounts if a.name == "Sales of Product Income")
    create_and_map(
        store.session_factory,
        connector,
        "SALES-MAT",
        materials.id,
        "Materials",
        consent=True,
        actor="bench",
    )
    accounts = connector.list_accounts()
    bank = next(a for a in accounts if a.code == "1200")
    with store.session_factory.begin() as session:
        set_mapping(session, connector.info, accounts, "BANK", bank.id, actor="bench")


def _xero(clock: Callable[[], float], scale: RateScale | None) -> StandIn:
    standin = XeroStandIn(clock=clock, rate_scale=scale)
    standin.add_organisation()
    return standin


def _qbo(clock: Callable[[], float], scale: RateScale | None) -> StandIn:
    standin = QboStandIn(clock=clock, rate_scale=scale)
    standin.add_company()
    return standin


def _sage(clock: Callable[[], float], scale: RateScale | None) -> StandIn:
    standin = SageStandIn(clock=clock, rate_scale=scale)
    standin.add_business()
    return standin


def _freeagent(clock: Callable[[], float], scale: RateScale | None) -> StandIn:
    standin = FreeAgentStandIn(clock=clock, rate_scale=scale)
    standin.add_company()
    return standin


def _kashflow(clock: Callable[[], float], scale: RateScale | None) -> StandIn:
    return KashFlowStandIn(clock=clock, rate_scale=scale)


PACKAGES = (
    Package(
        "xero",
        XERO_SCALE,
        _xero,
        XeroConnector,
        lambda s: next(iter(s.organisations)),  # type: ignore[attr-defined]
        _map_by_codes(XERO_CODES),
    ),
    Package(
        "quickbooks_online",
        QBO_SCALE,
        _qbo,
        QuickBooksOnlineConnector,
        lambda s: next(iter(s.companies)),  # type: ignore[attr-defined]
        _map_qbo,
    ),
    Package(
        "sage_business_cloud",
        SCALE,
        _sage,
        SageBusinessCloudConnector,
        lambda s: next(iter(s.businesses)),  # type: ignore[attr-defined]
        _map_by_codes(SAGE_CODES),
    ),
    Package(
        "freeagent",
        SCALE,
        _freeagent,
        FreeAgentConnector,
        lambda s: "",  # a FreeAgent token reaches one company
        _map_by_codes(FREEAGENT_CODES),
    ),
    Package(
        "kashflow",
        SCALE,
        _kashflow,
        KashFlowConnector,
        lambda s: "",
        _map_by_codes(KASHFLOW_CODES),
        (("username", KASHFLOW_USER),),
    ),
)


def demo_template(root: Path, invoices: int) -> Path:
    """The demo data plus ``invoices`` more, for the first demo customer."""
    folder = root / "template"
    store = prepare_demo(DataPaths(folder))
    from sqlalchemy import select

    from app.db.models import Contact, ContactKind

    with store.session_factory() as session:
        customer = session.scalars(
            select(Contact.account_ref).where(Contact.kind == ContactKind.CUSTOMER).limit(1)
        ).one()
    text = "number,date,customer_ref,description,quantity,unit_price,nominal_code,vat_rate\n" + (
        "".join(
            f"RT-{i:05d},2026-05-01,{customer},Service visit,1,100,SALES,20\n"
            for i in range(invoices)
        )
    )
    report = import_csv_bytes(
        store.session_factory, ImportKind.INVOICES, text.encode(), file="extra.csv"
    )
    assert report.ok, report.describe()
    store.close()
    return folder


@dataclass(frozen=True)
class Outcome:
    standin: StandIn
    sender: Sender
    #: The send's own requests (set-up reads before it excluded): arrival, costs.
    counted: list[tuple[float, dict[str, int]]]
    #: The connector's windows: name → (limit, seconds).
    windows: dict[str, tuple[int, float]]


def run_send(package: Package, template: Path, work: Path, *, real: bool) -> Outcome:
    """One send of the template's data, on the real clock over a socket or on a virtual
    clock through a transport."""
    folder = work / ("real" if real else "virtual")
    shutil.copytree(template, folder)
    store = open_store(DataPaths(folder))
    with store.session_factory.begin() as session:
        choose_package(session, package.key, Situation.NEW_TO_PACKAGE)
    virtual = VirtualClock(start=time.time())
    clock: Callable[[], float] = time.time if real else virtual.now
    standin = package.make_standin(clock, package.scale if real else None)
    secrets = MemorySecrets()
    standin.store_tokens(secrets)  # type: ignore[attr-defined]
    server = LoopbackServer(standin).start() if real else None
    settings = {
        "client_id": standin.auth.client_id,
        "tenant_id": package.tenant(standin),
        **dict(package.settings),
    }
    if server is not None:
        settings["endpoint"] = server.url
    context = ConnectorContext(
        data_dir=folder / "connector",
        settings=settings,
        secrets=secrets,
        transport=None if real else standin.transport(),
        rate_scale=package.scale if real else RateScale(),
    )
    if real:
        connector = package.connector(context)
    else:
        connector = package.connector(
            context,
            clock=virtual.now,  # type: ignore[call-arg]
            sleep=virtual.sleep,
        )
        # Waiting costs nothing on the virtual clock: a send longer than an hour's
        # allowance (FreeAgent, demo data and 1,000 invoices) waits instead of stopping.
        assert connector.rate_limiter is not None
        connector.rate_limiter.max_wait = math.inf
    try:
        package.map_accounts(store, connector)
        before = len(standin.counted)
        sender = (
            Sender(store.session_factory, connector, actor="bench")
            if real
            else Sender(
                store.session_factory,
                connector,
                actor="bench",
                sleep=virtual.sleep,
                clock=virtual.now,
            )
        )
        report = sender.run()
        if report.stopped_reason:
            raise SystemExit(f"{package.key}: the send stopped: {report.stopped_reason}")
        assert connector.rate_limiter is not None
        windows = {w.name: (w.limit, w.seconds) for w in connector.rate_limiter.windows.values()}
        return Outcome(standin, sender, standin.counted[before:], windows)
    finally:
        connector.close()
        store.close()
        if server is not None:
            server.close()


def fraction_of_single_window_bound(outcome: Outcome) -> float:
    """The earlier figure, each window on its own: units used ÷ ``limit × (⌊span /
    period⌋ + 1)``, the tightest window's. It ignores that the other windows cap how
    fast a window's allowance can be spent, so where two windows bind (FreeAgent: an
    hour's 600 take a minute-limited minute to send) it counts units no sender could
    use, and no sender that keeps to the limits can reach 0.9 with some send sizes."""
    counted = outcome.counted
    span = counted[-1][0] - counted[0][0]
    best = 0.0
    for name, (limit, seconds) in outcome.windows.items():
        used = sum(costs.get(name, 0) for _, costs in counted)
        bound = limit * (math.floor(span / seconds) + 1)
        best = max(best, used / bound)
    return best


def most_in_span(
    windows: dict[str, tuple[int, float]], costs: list[dict[str, int]], span: float
) -> dict[str, int]:
    """The units per window an ideal sender would use in ``span`` seconds: the same
    requests (over again, if it runs out) each sent the moment every window allows it,
    with no time between leaving and arriving. Sliding windows, as the packages count;
    independent of :mod:`connectors.limits` so the bench does not grade the limiter
    with itself."""
    logs: dict[str, deque[tuple[float, int]]] = {name: deque() for name in windows}
    used = dict.fromkeys(windows, 0)
    now = 0.0
    for cost in itertools.cycle(costs):
        at = now
        for name, (limit, seconds) in windows.items():
            units = cost.get(name, 0)
            log = logs[name]
            while log and at - log[0][0] >= seconds:
                log.popleft()
            inside = sum(u for _, u in log)
            for stamp, units_then in log:  # wait until enough has left the window
                if inside + units <= limit:
                    break
                inside -= units_then
                at = max(at, stamp + seconds)
        if at > span:
            return used
        now = at
        for name in windows:
            units = cost.get(name, 0)
            if units:
                logs[name].append((now, units))
                used[name] += units
    raise AssertionError("unreachable")  # pragma: no cover


def fraction_of_bound(outcome: Outcome) -> float:
    """For the tightest of the connector's windows (the package's declared limits,
    scaled): units the send used ÷ units an ideal sender of the same requests would use
    in the same span under all the windows together (:func:`most_in_span`)."""
    counted = outcome.counted
    span = counted[-1][0] - counted[0][0]
    ideal = most_in_span(outcome.windows, [costs for _, costs in counted], span)
    best = 0.0
    for name in outcome.windows:
        used = sum(costs.get(name, 0) for _, costs in counted)
        if ideal[name]:
            best = max(best, used / ideal[name])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000)
    parser.add_argument(
        "--packages", default=",".join(p.key for p in PACKAGES), help="comma-separated keys"
    )
    args = parser.parse_args()
    wanted = set(args.packages.split(","))
    figures: dict[str, dict[str, float | int]] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        template = demo_template(root, args.invoices)
        for package in PACKAGES:
            if package.key not in wanted:
                continue
            work = root / package.key
            minimum = run_send(package, template, work, real=False)
            started = time.perf_counter()
            real = run_send(package, template, work, real=True)
            elapsed = time.perf_counter() - started
            refused = real.standin.statuses[429]
            figures[package.key] = {
                "requests": len(real.counted) + refused,
                "minimum_requests": len(minimum.counted),
                "rate_limited_responses": refused,
                "fraction_of_bound": round(fraction_of_bound(real), 4),
                "fraction_of_single_window_bound": round(fraction_of_single_window_bound(real), 4),
                "records_sent": sum(real.sender.report.sent.values()),
                "records_failed": sum(real.sender.report.failed.values()),
                "wall_s": round(elapsed, 1),
            }
            print(package.key, json.dumps(figures[package.key]), file=sys.stderr, flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
