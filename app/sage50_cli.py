"""``ledgerlink sage50 …``: the Sage 50 import files from the command line (folder, files,
reconcile, nominal list, references, dates). Thin over :mod:`app.services.sage50`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli_output import emit
from app.services.errors import SetupError
from connectors.wording import count as counted

if TYPE_CHECKING:
    from app.services.store import Store

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


def _date(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    raise SetupError(f"{what} “{text}” is not a date; write it as DD/MM/YYYY.")


def run_sage50(store: Store, args: argparse.Namespace) -> int:
    """Run a ``ledgerlink sage50`` command: folder, files, reconcile, nominal, references or
    dates."""
    command = args.sage50_command
    if command == "folder":
        return _folder(store, args)
    if command == "files":
        return _files(store, args)
    if command == "reconcile":
        return _reconcile(store, args)
    if command == "nominal":
        return _nominal(store, args)
    if command == "references":
        return _references(store, args)
    return _dates(store, args)


def _folder(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.setup import set_folder

    with store.session_factory.begin() as session:
        chosen = set_folder(session, args.dir, actor="cli")
    print(f"Sage 50 import files will be written to {chosen}")
    return EXIT_OK


def _files(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.ledger import list_files
    from app.services.sage50.steps import export_folder, import_steps

    with store.session_factory() as session:
        folder = export_folder(session)
        files = list_files(session, folder)
        steps = import_steps(session)
    lines = [f"Folder: {folder or '(not chosen: ledgerlink sage50 folder DIR)'}"]
    if not files:
        lines.append("No import files written yet.")
    for f in files:
        lines.append(
            f"  {f.name}: {counted(len(f.records), 'record')}, {f.awaiting:,} waiting for import, "
            f"{f.confirmed} confirmed — {f.status}"
        )
    lines += steps
    data = {"folder": str(folder) if folder else None, "files": [f.to_json() for f in files]}
    emit(args, data, "\n".join(lines))
    return EXIT_OK


def _reconcile(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.reconcile import reconcile
    from connectors.contract import ContactRole

    roles: dict[Path, ContactRole] = {p: ContactRole.CUSTOMER for p in args.customers}
    roles.update({p: ContactRole.SUPPLIER for p in args.suppliers})
    paths = [*args.files, *args.customers, *args.suppliers]
    if not paths:
        raise SetupError(
            "Give the CSV files exported from Sage 50, e.g. "
            "`ledgerlink sage50 reconcile customers.csv transactions.csv`."
        )
    for path in paths:
        if not path.is_file():
            print(f"ledgerlink: no such file: {path}", file=sys.stderr)
            return EXIT_SETUP
    result = reconcile(store.session_factory, paths, roles=roles, actor="cli")
    emit(args, result.to_json(), result.describe())
    return EXIT_OK if result.ok else EXIT_FAILED


def _nominal(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.reports import read_nominal_file
    from app.services.sage50.setup import save_nominal_list

    if not args.file.is_file():
        print(f"ledgerlink: no such file: {args.file}", file=sys.stderr)
        return EXIT_SETUP
    nominals = read_nominal_file(args.file)
    with store.session_factory.begin() as session:
        count = save_nominal_list(session, nominals, actor="cli")
    print(f"Nominal list from Sage 50: {counted(count, 'code')}.")
    return EXIT_OK


def _references(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.setup import propose_references, save_references

    with store.session_factory.begin() as session:
        proposals = propose_references(session)
        if args.save:
            save_references(session, proposals, actor="cli")
    lines = [
        f"  {p.role.value:<9} {p.our_ref:<12} → {p.reference:<8} {p.name}"
        + (f"  ({p.why})" if p.why else "")
        for p in proposals
    ]
    if not lines:
        lines = ["Every customer and supplier is linked or exported already."]
    elif args.save:
        lines.append("Saved: every send uses these references.")
    emit(args, [p.to_json() for p in proposals], "\n".join(lines))
    return EXIT_OK


def _dates(store: Store, args: argparse.Namespace) -> int:
    from app.services.sage50.setup import set_dates

    start = _date(args.year_start, "The financial year start")
    lock = _date(args.lock, "The lock date")
    with store.session_factory.begin() as session:
        set_dates(session, financial_year_start=start, lock_date=lock, actor="cli")
    print(f"Financial year starts: {start:%d/%m/%Y}" if start else "Financial year: not checked")
    print(f"Lock date: {lock:%d/%m/%Y}" if lock else "Lock date: none")
    return EXIT_OK
