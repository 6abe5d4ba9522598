"""How the link grid copes with 100,000 of our contacts and 100,000 of the package's.

    QT_QPA_PLATFORM=offscreen python bench/link_grid.py [--ours 100000] [--theirs 100000]

Both lists are generated (no package): UK-style names of people and businesses drawn
from small pools so that names repeat (namesakes), with the package holding exact
copies, near misses (capitals, spaces, Ltd/Limited, punctuation), namesakes at other
addresses and records we do not have. Ours go into a SQLite store (``contacts``, a few
hundred ``links``), the package's into the store's kept copy of its list
(``package_contacts``), as after the link page's first visit. It measures, on the real
widget (offscreen):

* ``fill_from_store_s``: what the user waits for when the link page opens: reading our
  contacts, their links and the package's kept list from the store
  (``prepare_workbench``, as its worker does), building the book, filling the grid and
  the type-ahead list and painting the first screen; ``fill_read_s``, ``fill_book_s`` and
  ``fill_grid_s`` split it;
* ``filter_ms``: the median time to re-filter and repaint after each character typed
  into the search box (typing "smith", then clearing it), and ``filter_worst_ms`` the
  slowest of them;
* ``tab_switch_ms``: showing the Problems tab, then All again (median);
* ``autolink_s``: "Link exact matches" including the grid update;
* ``type_ahead_first_ms`` and ``type_ahead_ms``: filtering the package's records for
  the type-ahead list in a reference cell (the first query builds its search keys);
* ``analyse_s``: from filling the grid until the suggestions and duplicates are ready
  (a worker finds them after the grid is shown, so they do not delay it);
* ``peak_mb``: the process's peak resident memory (``getrusage`` maxrss; Qt and
  PySide6 alone take about 115 MB of it, SQLAlchemy about 40 MB more),
  ``peak_mb_at_fill`` the same once the grid is filled (before the suggestions), and
  ``python_peak_mb``: tracemalloc's peak for reading from the store, the book, the
  grid and the suggestions worker (a second pass, as tracemalloc slows Python down).

Each time is wall-clock (what the user waits); ``fill_from_store_cpu_s``,
``filter_cpu_ms`` and ``autolink_cpu_s`` are the process's CPU time for the same steps
(no worker runs during them), which a busy shared machine inflates far less.

Goals: fill from the store under 1 s, filter under 50 ms, auto-link under 0.5 s,
memory under 300 MB (the store is filled by a child process first, so making the test
data does not count). Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from itertools import accumulate
from pathlib import Path
from typing import cast

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, SignalInstance
from PySide6.QtWidgets import QApplication
from sqlalchemy import Table, insert

from app.config import DataPaths
from app.db.models import Contact, ContactKind, Link, LinkMethod
from app.services.linking.matching import OurContact, TheirContact
from app.services.linking.package_list import keep_list
from app.services.linking.workbench import LinkBook, Tab, load_kept_workbench, prepare_workbench
from app.services.store import Store, open_store
from connectors.catalogue import SANDBOX
from connectors.contract import Connector, ContactRole, RemoteContact
from connectors.sandbox.models import format_ref

PACKAGE = SANDBOX.key


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = words(
    "Aisha Alan Amrit Anne Ben Beverley Chloe Claire Colin Darren David Dev Emma Fatima "
    "Gary Grace Hannah Harjit Ian Jack James Jane John Karen Kevin Laura Lee Lisa Mark "
    "Mary Michael Mohammed Naomi Neil Nina Paul Priya Rachel Raj Rebecca Richard Sam "
    "Sanjay Sarah Simon Sophie Stephen Susan Tom Vikram Zoe Olivia Amelia Isla Ava Mia "
    "Ivy Lily Freya Noah Oliver George Arthur Leo Harry Oscar Archie Henry Theo Alfie"
)
#: Common surnames come up more often than the made-up ones below (namesakes).
COMMON = words(
    "Smith Jones Patel Taylor Brown Williams Wilson Johnson Davies Robinson Wright "
    "Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke Khan Harrison"
)
STEMS = words(
    "Ash Brad Carl Dun El Fair Gold Hart Ked Lang Mor Nor Pen Rad Sel Thorn Wad Whit "
    "Ald Bram Cran Dray Elm Fen Glen Hol Ing Kirk Lin Mal Nash Oak Pres Ros Stan Tal"
)
MIDS = ("", "er", "ing", "en", "an", "ow")
ENDS = words("ley ton field wood ford by ham well more bury worth stone ridge combe shaw")
SURNAMES = COMMON + tuple(stem + mid + end for stem in STEMS for mid in MIDS for end in ENDS)
CUMULATIVE = list(accumulate([3] * len(COMMON) + [1] * (len(SURNAMES) - len(COMMON))))
TRADES = words(
    "Plumbing Heating Electrical Roofing Building Joinery Decorating Glazing Gas "
    "Landscaping Flooring Cleaning Property Lettings Dental Pharmacy Motors Cafe Bakery "
    "Salon Accountancy Veterinary Nursery Academy Hotel"
)
TOWNS = words(
    "Leicester Loughborough Hinckley Coalville Melton Wigston Oadby Harborough "
    "Lutterworth Nottingham Derby Coventry Northampton Rugby Kettering"
)
STREETS = ("High Street", "Station Road", "London Road", "Church Lane", "Park Avenue")
SUFFIXES = ("Ltd", "Limited", "& Sons", "& Co", "LLP", "", "", "")
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def our_contacts(count: int, rng: random.Random) -> list[OurContact]:
    contacts = []
    for i in range(count):
        surname = rng.choices(SURNAMES, cum_weights=CUMULATIVE)[0]
        if rng.random() < 0.55:
            initial = f" {rng.choice(LETTERS)}." if rng.random() < 0.5 else ""
            name = f"{rng.choice(FIRST)}{initial} {surname}"
        else:
            name = f"{surname} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}".strip()
        inward = f"{rng.randrange(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"
        email = f"{name.split()[0].lower()}.{i}@example.com" if rng.random() < 0.7 else ""
        contacts.append(
            OurContact(
                id=i + 1,
                account_ref=f"CUS{i + 1:06d}",
                name=name,
                address_1=f"{rng.randrange(1, 250)} {rng.choice(STREETS)}",
                town=rng.choice(TOWNS),
                county="Leicestershire",
                postcode=f"LE{rng.randrange(1, 99)} {inward}",
                email=email,
            )
        )
    return contacts


def vary(name: str, rng: random.Random) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return name.upper()
    if choice == 1:
        return name.replace(" ", "  ", 1)
    if choice == 2 and name.endswith("Ltd"):
        return name[:-3] + "Limited"
    return name.replace("&", "and") if "&" in name else name.lower()


def their_contacts(
    ours: list[OurContact], count: int, rng: random.Random
) -> Iterator[RemoteContact]:
    """About half exact copies, 15% near misses, 5% namesakes elsewhere, the rest new."""
    for i in range(count):
        ref = format_ref("SBX-C", i + 1)
        roll = rng.random()
        source = ours[i] if i < len(ours) else None
        if source is not None and roll < 0.5:
            contact = RemoteContact(
                ref=ref,
                role=ContactRole.CUSTOMER,
                name=source.name,
                address_1=source.address_1,
                town=source.town,
                county=source.county,
                postcode=source.postcode,
                email=source.email,
            )
        elif source is not None and roll < 0.65:
            contact = RemoteContact(
                ref=ref,
                role=ContactRole.CUSTOMER,
                name=vary(source.name, rng),
                address_1=source.address_1,
                town=source.town,
                postcode=source.postcode,
                email=source.email,
            )
        elif source is not None and roll < 0.7:
            contact = RemoteContact(
                ref=ref,
                role=ContactRole.CUSTOMER,
                name=source.name,
                address_1="12 Quayside",
                town="Whitby",
                postcode="YO21 3EP",
            )
        else:
            contact = RemoteContact(
                ref=ref,
                role=ContactRole.CUSTOMER,
                name=f"{rng.choice(SURNAMES)} {rng.choice(TRADES)} {rng.choice(FIRST)}",
                address_1=f"{rng.randrange(1, 250)} {rng.choice(STREETS)}",
                town=rng.choice(TOWNS),
                postcode=f"NG{rng.randrange(1, 30)} {rng.randrange(1, 9)}AB",
            )
        yield contact


def fill_store(store: Store, ours_count: int, theirs_count: int) -> None:
    """Our contacts, a few hundred links and the package's kept list, in the store."""
    rng = random.Random(4)
    ours = our_contacts(ours_count, rng)
    theirs = [TheirContact.of(c) for c in their_contacts(ours, theirs_count, rng)]
    contacts = cast(Table, Contact.__table__)
    links = cast(Table, Link.__table__)
    with store.session_factory.begin() as session:
        for start in range(0, len(ours), 5_000):
            session.execute(
                insert(contacts),
                [
                    {
                        "id": c.id,
                        "kind": ContactKind.CUSTOMER,
                        "account_ref": c.account_ref,
                        "name": c.name,
                        "address_1": c.address_1,
                        "town": c.town,
                        "county": c.county,
                        "postcode": c.postcode,
                        "email": c.email,
                    }
                    for c in ours[start : start + 5_000]
                ],
            )
        # A few hundred already linked, as after an earlier session.
        session.execute(
            insert(links),
            [
                {
                    "package": PACKAGE,
                    "contact_id": n + 1,
                    "remote_ref": format_ref("SBX-C", n + 1),
                    "method": LinkMethod.TYPED,
                }
                for n in range(0, ours_count, 400)
            ],
        )
        keep_list(session, PACKAGE, ContactRole.CUSTOMER, theirs)


def wait_for(app: QApplication, signal: SignalInstance) -> None:
    """Run the event loop until ``signal`` is emitted."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def no_connector() -> Connector:
    raise AssertionError("the bench never reaches the package: its list is kept")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", type=int, default=100_000)
    parser.add_argument("--theirs", type=int, default=100_000)
    parser.add_argument("--build-store", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_store:
        # In a child process, so that making the data does not count in peak_mb.
        store = open_store(DataPaths(Path(args.build_store)))
        fill_store(store, args.ours, args.theirs)
        store.close()
        return

    from wizard_pages.link_grid import LinkWorkbench

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    info = replace(SANDBOX, name="Sandbox")
    folder = tempfile.TemporaryDirectory()
    data_folder = Path(folder.name) / "data"
    sizes = ["--ours", str(args.ours), "--theirs", str(args.theirs)]
    build = [sys.executable, __file__, *sizes, "--build-store", str(data_folder)]
    subprocess.run(build, check=True)
    store = open_store(DataPaths(data_folder))
    workbench = LinkWorkbench(store.session_factory, no_connector, ContactRole.CUSTOMER, info)
    workbench.resize(1400, 900)
    workbench.show()
    app.processEvents()

    # What the load worker does (prepare_workbench with the package's info: the store
    # read, then the book), then what the GUI thread does.
    started, started_cpu = time.perf_counter(), time.process_time()
    data = load_kept_workbench(store.session_factory, info, ContactRole.CUSTOMER)
    assert data is not None and len(data.theirs) == args.theirs
    read_s = time.perf_counter() - started
    book = LinkBook(data, info)
    book_done = time.perf_counter()
    book_s = book_done - started - read_s
    del data
    workbench.show_book(book)  # also starts the suggestions worker
    workbench.view.viewport().repaint()
    show_s = time.perf_counter() - book_done
    fill_s = time.perf_counter() - started
    fill_cpu_s = time.process_time() - started_cpu
    fill_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wait_for(app, workbench.analysed)
    analyse_s = time.perf_counter() - book_done
    suggestions = len(book.suggestions)
    strong = sum(1 for s in book.suggestions if s.strong)

    keystrokes: list[float] = []
    keystrokes_cpu: list[float] = []
    for text in ("s", "sm", "smi", "smit", "smith", "smit", "smi", "sm", "s", ""):
        started, started_cpu = time.perf_counter(), time.process_time()
        workbench.search.setText(text)
        workbench.view.viewport().repaint()
        keystrokes.append((time.perf_counter() - started) * 1000)
        keystrokes_cpu.append((time.process_time() - started_cpu) * 1000)
    workbench.search.setText("smith")
    shown_for_smith = workbench.model.rowCount()
    workbench.search.setText("")

    tabs: list[float] = []
    for tab in (Tab.PROBLEMS, Tab.ALL, Tab.UNLINKED, Tab.ALL, Tab.LINKED, Tab.ALL):
        started = time.perf_counter()
        workbench.set_tab(tab)
        workbench.view.viewport().repaint()
        tabs.append((time.perf_counter() - started) * 1000)

    started, started_cpu = time.perf_counter(), time.process_time()
    outcome = workbench.link_exact_matches()
    app.processEvents()
    workbench.view.viewport().repaint()
    auto_link_s = time.perf_counter() - started
    auto_link_cpu_s = time.process_time() - started_cpu
    assert outcome is not None

    started = time.perf_counter()
    workbench.undo_stack.undo()
    workbench.view.viewport().repaint()
    undo_s = time.perf_counter() - started

    # Type-ahead in a reference cell: the first query builds the list's search keys.
    assert workbench.choices is not None
    type_ahead: list[float] = []
    for text in ("sm", "smi", "smit"):
        started = time.perf_counter()
        workbench.choices.set_query(text)
        type_ahead.append((time.perf_counter() - started) * 1000)

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Second pass, traced (tracemalloc slows Python down): reading from the store,
    # filling the grid and the suggestions worker, as Python objects.
    workbench.close()
    del workbench, book
    gc.collect()
    tracemalloc.start()
    traced = LinkWorkbench(store.session_factory, no_connector, ContactRole.CUSTOMER, info)
    traced.show_book(
        prepare_workbench(store.session_factory, no_connector, ContactRole.CUSTOMER, info=info)
    )
    wait_for(app, traced.analysed)
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced.close()
    store.close()
    folder.cleanup()

    print(
        json.dumps(
            {
                "ours": args.ours,
                "theirs": args.theirs,
                "fill_from_store_s": round(fill_s, 3),
                "fill_from_store_cpu_s": round(fill_cpu_s, 3),
                "fill_read_s": round(read_s, 3),
                "fill_book_s": round(book_s, 3),
                "fill_grid_s": round(show_s, 3),
                "filter_ms": round(statistics.median(keystrokes), 1),
                "filter_cpu_ms": round(statistics.median(keystrokes_cpu), 1),
                "filter_worst_ms": round(max(keystrokes), 1),
                "rows_matching_smith": shown_for_smith,
                "tab_switch_ms": round(statistics.median(tabs), 1),
                "autolink_s": round(auto_link_s, 3),
                "autolink_cpu_s": round(auto_link_cpu_s, 3),
                "auto_linked": len(outcome.links),
                "left_as_namesakes": len(outcome.namesakes),
                "left_contradicted": len(outcome.contradicted),
                "undo_auto_link_s": round(undo_s, 3),
                "type_ahead_first_ms": round(type_ahead[0], 1),
                "type_ahead_ms": round(statistics.median(type_ahead[1:]), 1),
                "analyse_s": round(analyse_s, 2),
                "suggestions": suggestions,
                "strong_suggestions": strong,
                "peak_mb": round(peak_rss_mb, 1),
                "peak_mb_at_fill": round(fill_peak_mb, 1),
                "python_peak_mb": round(python_peak / 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
