"""``ledgerlink options`` and ``ledgerlink create-new``: per-business sending options, and
the answer to "choose which one" when a contact is none of the package's.

    ledgerlink options [--json]                                     show the options
    ledgerlink options set contacts-with-transactions on|off [--json]
    ledgerlink create-new OUTBOX_ID [OUTBOX_ID …] [--json]

``contacts-with-transactions`` (off by default): customers and suppliers wait until an
invoice, credit note or payment that refers to them is ready to send. ``create-new``
takes the outbox ids ``ledgerlink failures --json`` lists for "choose which one"
failures; the next send creates those contacts instead of matching them again.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli_output import emit
from app.services.errors import SetupError
from connectors.wording import count

if TYPE_CHECKING:
    from app.services.store import Store

#: Option names on the command line → what they say when on.
OPTIONS = {
    "contacts-with-transactions": "send customers and suppliers only with a transaction",
}


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``options`` and ``create-new`` to the command line."""
    options = commands.add_parser("options", help="per-business sending options")
    options.add_argument("--json", action="store_true")
    sub = options.add_subparsers(dest="options_command")
    change = sub.add_parser("set", help="turn an option on or off")
    change.add_argument("name", choices=sorted(OPTIONS))
    change.add_argument("value", choices=["on", "off"])
    change.add_argument("--json", action="store_true")
    new = commands.add_parser(
        "create-new",
        help="say a 'choose which one' contact is none of the package's: the next send creates it",
    )
    new.add_argument("outbox_ids", nargs="+", type=int, metavar="OUTBOX_ID")
    new.add_argument("--json", action="store_true")


def run_options(store: Store, args: argparse.Namespace) -> int:
    """Show the options, or change one."""
    from app.services.setup.choices import read_setup, set_contacts_with_transactions

    if args.options_command == "set":
        state = set_contacts_with_transactions(store, args.value == "on", actor="cli")
    else:
        state = read_setup(store)
    on = state.contacts_with_transactions
    emit(
        args,
        {"contacts_with_transactions": on},
        f"contacts-with-transactions: {'on' if on else 'off'} "
        f"({OPTIONS['contacts-with-transactions']})",
    )
    return 0


def run_create_new(store: Store, args: argparse.Namespace) -> int:
    """Confirm that contacts are new to the package."""
    from app.services.sending.first_send_links import confirm_new_contacts
    from app.services.setup.state import load_setup

    with store.session_factory.begin() as session:
        package = load_setup(session).package
        if not package:
            raise SetupError("No accounting package is chosen yet.")
        try:
            done = confirm_new_contacts(session, package, args.outbox_ids, actor="cli")
        except ValueError as exc:
            raise SetupError(
                f"Nothing confirmed: {exc}.",
                fix="Give the outbox ids `ledgerlink failures --json` lists for "
                "“choose which one”.",
            ) from exc
    emit(
        args, {"confirmed_new": done}, f"{count(done, 'contact')} will be created by the next send."
    )
    return 0
