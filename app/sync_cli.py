"""``ledgerlink sync``: linked contacts whose details differ from the package's.

    ledgerlink sync [--json]                      list them (nothing is written)
    ledgerlink sync enable | disable              switch contact sync on or off
    ledgerlink sync apply --direction ours-to-package|package-to-ours [--ref REF …]
                          [--dry-run] [--json]

Applying needs an explicit direction. Without ``--ref`` it applies to every row whose
change is on the side the direction takes from (ours → package takes rows only we
changed); a conflict (changed on both sides) goes only when named with ``--ref``, which
is the user choosing for it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli_output import emit
from app.services.errors import SetupError

if TYPE_CHECKING:
    from app.services.store import Store

DIRECTIONS = {"ours-to-package": "ours_to_package", "package-to-ours": "package_to_ours"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync`` and its subcommands to the command line."""
    sync = commands.add_parser(
        "sync", help="linked contacts whose details differ from the package's"
    )
    sync.add_argument("--json", action="store_true")
    sub = sync.add_subparsers(dest="sync_command")
    sub.add_parser("enable", help="keep linked contacts' details in step with the package")
    sub.add_parser("disable", help="stop keeping them in step")
    apply = sub.add_parser("apply", help="write the differences one way")
    apply.add_argument("--direction", required=True, choices=sorted(DIRECTIONS))
    apply.add_argument(
        "--ref", action="append", default=[], help="only this account reference (repeatable)"
    )
    apply.add_argument("--dry-run", action="store_true")
    apply.add_argument("--json", action="store_true")


def run(store: Store, args: argparse.Namespace) -> int:
    """Run ``ledgerlink sync …``; exit codes as for every command (0, 1, 2)."""
    from app.services.linking.sync import (
        Direction,
        SyncNotAllowed,
        apply_sync,
        describe_row,
        record_agreement,
        set_sync_enabled,
        sync_enabled,
        sync_rows,
    )
    from app.services.setup.connections import active_connector

    command = args.sync_command
    connector = active_connector(store.paths, store.session_factory)
    with connector:
        if command in ("enable", "disable"):
            with store.session_factory.begin() as session:
                set_sync_enabled(session, connector.info.key, command == "enable", actor="cli")
            state = "on" if command == "enable" else "off"
            text = f"Contact sync is {state} for {connector.info.name}."
            if command == "enable":
                agreeing = record_agreement(store.session_factory, connector, actor="cli")
                text += f" {agreeing} linked contacts agree with it now."
            print(text)
            return 0
        rows = sync_rows(store.session_factory, connector)
        with store.session_factory() as session:
            enabled = sync_enabled(session, connector.info.key)
        if command != "apply":
            lines = [line for row in rows for line in describe_row(row)]
            if not enabled:
                lines.insert(0, "Contact sync is off: `ledgerlink sync enable` to use it.")
            text = "\n".join(lines) or "Every linked contact agrees with the package."
            emit(args, {"enabled": enabled, "rows": [r.to_json() for r in rows]}, text)
            return 0
        direction = Direction(DIRECTIONS[args.direction])
        named = {ref.upper() for ref in args.ref}
        known = {row.account_ref.upper() for row in rows}
        unknown = sorted(named - known)
        if unknown:
            raise SetupError(
                f"No differing linked contact has the account reference {', '.join(unknown)}; "
                "`ledgerlink sync` lists them."
            )
        takes_from_ours = direction is Direction.OURS_TO_PACKAGE
        chosen = {
            row.contact_id: direction
            for row in rows
            if (row.account_ref.upper() in named)
            or (not named and not row.conflict and row.changed_ours == takes_from_ours)
        }
        if args.dry_run:
            picked = [r for r in rows if r.contact_id in chosen]
            lines = [f"Would write {len(picked)} of {len(rows)} differing contacts:"]
            lines += [line for row in picked for line in describe_row(row)]
            emit(args, {"would_apply": [r.to_json() for r in picked]}, "\n".join(lines))
            return 0
        try:
            outcome = apply_sync(store.session_factory, connector, rows, chosen, actor="cli")
        except SyncNotAllowed as exc:
            raise SetupError(str(exc)) from exc
    lines = [
        f"Written to {connector.info.name}: {outcome.to_package}; "
        f"taken into Ledgerlink: {outcome.to_ours}; left as they are: {outcome.left}."
    ]
    if outcome.handed_over:
        lines.append(
            f"Handed over to {connector.info.name}, confirmed when it has them: "
            f"{outcome.handed_over}."
        )
    lines += [f"Not written: {label}: {why}" for label, why in outcome.failed]
    emit(args, outcome.to_json(), "\n".join(lines))
    return 1 if outcome.failed else 0
