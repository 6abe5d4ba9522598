"""The ``ledgerlink`` command: the window by default, and a thin scriptable CLI over the
same services for support staff and the operating system's scheduler.

Exit codes: 0 success; 1 some records failed or a file had bad rows; 2 usage or set-up
error (a problem the user can fix); 3 another send is running; 70 a bug (a crash report
was written); 130 stopped with Ctrl+C. ``--json`` output is documented in docs/cli.md and
kept stable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__
from app.cli_output import emit
from app.config import DataPaths, resolve_data_paths
from app.crash_report import set_report_folder, write_crash_report
from app.logging_setup import configure_logging
from app.services.errors import (
    EXIT_BUG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SEND_RUNNING,
    EXIT_SETUP,
    SetupError,
    package_problems_as_user_errors,
    user_error_from,
)
from app.services.setup.routing import SITUATION_NAMES, Page
from connectors.wording import count

if TYPE_CHECKING:
    from app.services.store import Store

# SQLAlchemy, Alembic, keyring and Qt are imported only by the path that needs them, so
# `ledgerlink` shows its window as fast as a bare Qt program does.

__all__ = [
    "EXIT_BUG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SEND_RUNNING",
    "EXIT_SETUP",
    "main",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``ledgerlink`` argument parser: global options and every command with its own options
    (the ``qbwc`` and ``sync`` commands come from their modules)."""
    parser = argparse.ArgumentParser(
        prog="ledgerlink",
        description="Send job-system records to your accounting package. "
        "With no command, opens the window.",
    )
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_commands(commands)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"Ledgerlink {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data folder (default: $LEDGERLINK_HOME or the platform's user data folder)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the demo data folder; on its own, resets it with fresh demo data on the "
        "Sandbox and opens the window",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log to the terminal too")
    parser.add_argument(
        "--page",
        metavar="NAME",
        choices=[page.value for page in Page],
        help="open the window straight at one page (for support staff): "
        + ", ".join(page.value for page in Page),
    )


def _add_commands(commands: Any) -> None:

    imp = commands.add_parser("import", help="import a CSV file from the job system")
    imp.add_argument(
        "kind", choices=["customers", "suppliers", "invoices", "credit_notes", "payments"]
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    imp.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="set-up state and record counts by send state")
    status.add_argument("--json", action="store_true")

    send = commands.add_parser("send", help="send everything waiting to the package")
    send.add_argument(
        "--dry-run", action="store_true", help="pre-flight: say what would be sent or fail"
    )
    send.add_argument("--json", action="store_true")
    send.add_argument(
        "--progress", action="store_true", help="print each record as it is sent, to stderr"
    )

    failures = commands.add_parser("failures", help="records that failed, with reason and fix")
    failures.add_argument("--json", action="store_true")

    links = commands.add_parser("links", help="export or import the link table as CSV")
    link_commands = links.add_subparsers(dest="links_command", required=True)
    export = link_commands.add_parser("export")
    export.add_argument("file", type=Path)
    limport = link_commands.add_parser("import")
    limport.add_argument("file", type=Path)
    limport.add_argument("--dry-run", action="store_true")
    limport.add_argument("--json", action="store_true")
    limport.add_argument(
        "--allow-shared-reference",
        action="store_true",
        help="allow one package contact to be linked to two of ours (the same business "
        "entered twice); without it such a file is refused",
    )

    setup = commands.add_parser("setup", help="choose the package and situation (scripted set-up)")
    setup.add_argument("--package", required=True)
    setup.add_argument("--situation", required=True, choices=SITUATION_NAMES)

    changes = commands.add_parser(
        "changes", help="records changed after they were sent: change them by hand"
    )
    changes.add_argument("--json", action="store_true")
    change_commands = changes.add_subparsers(dest="changes_command")
    cconfirm = change_commands.add_parser("confirm", help="say a change is made in the package")
    cconfirm.add_argument("id", type=int, nargs="+")

    display = commands.add_parser(
        "display-name",
        help="a second display name for a business that is both customer and supplier "
        "(QuickBooks Online)",
    )
    display.add_argument("role", choices=["customer", "supplier"])
    display.add_argument("account_ref")
    display.add_argument("name", help='the name the package will show; "" to clear it')

    notify = commands.add_parser("notify", help="email settings for failure notices")
    notify_commands = notify.add_subparsers(dest="notify_command", required=True)
    nset = notify_commands.add_parser("set", help="set the SMTP server and recipients")
    nset.add_argument("--host", required=True)
    nset.add_argument("--port", type=int, default=587)
    nset.add_argument("--no-starttls", action="store_true", help="do not upgrade to TLS")
    nset.add_argument("--username", default="")
    nset.add_argument("--sender", required=True)
    nset.add_argument("--to", action="append", required=True, metavar="ADDRESS")
    nset.add_argument(
        "--password-stdin", action="store_true", help="read the SMTP password from stdin"
    )
    notify_commands.add_parser("show", help="show the email settings (never the password)")
    notify_commands.add_parser("test", help="send a test email")

    _add_store_commands(commands)

    sage50 = commands.add_parser("sage50", help="Sage 50 import files: folder, files, reconcile")
    sage50_commands = sage50.add_subparsers(dest="sage50_command", required=True)
    sfolder = sage50_commands.add_parser("folder", help="set the folder the import files go to")
    sfolder.add_argument("dir", type=Path, metavar="DIR")
    sfiles = sage50_commands.add_parser("files", help="files written and what awaits import")
    sfiles.add_argument("--json", action="store_true")
    srec = sage50_commands.add_parser(
        "reconcile", help="read Sage's own CSV exports: confirm what Sage has"
    )
    srec.add_argument("files", type=Path, nargs="*", metavar="FILE")
    srec.add_argument("--customers", type=Path, action="append", default=[], metavar="FILE")
    srec.add_argument("--suppliers", type=Path, action="append", default=[], metavar="FILE")
    srec.add_argument("--json", action="store_true")
    snom = sage50_commands.add_parser("nominal", help="import Sage's nominal list (CSV or text)")
    snom.add_argument("file", type=Path, metavar="FILE")
    sref = sage50_commands.add_parser(
        "references", help="the account references new accounts will get"
    )
    sref.add_argument("--save", action="store_true", help="keep them for every send")
    sref.add_argument("--json", action="store_true")
    sdates = sage50_commands.add_parser("dates", help="Sage's financial year and lock date")
    sdates.add_argument("--year-start", metavar="DD/MM/YYYY", default="")
    sdates.add_argument("--lock", metavar="DD/MM/YYYY", default="")

    mapping = commands.add_parser("map", help="show or set nominal account mappings")
    mapping.add_argument("code", nargs="?", help="our nominal code, e.g. SALES")
    mapping.add_argument("remote", nargs="?", help="the package's account code or id")
    mapping.add_argument("--json", action="store_true")
    # The command modules are imported only to build the full parser or run a command,
    # never on the way to the window.
    from app.options_cli import add_parsers as add_options_parsers
    from app.qbwc_cli import add_parser as add_qbwc_parser
    from app.sync_cli import add_parser as add_sync_parser

    add_qbwc_parser(commands)
    add_sync_parser(commands)
    add_options_parsers(commands)


def _add_store_commands(commands: Any) -> None:
    store = commands.add_parser(
        "store", help="where the data is kept: this folder's file or a shared PostgreSQL store"
    )
    store_commands = store.add_subparsers(dest="store_command", required=True)
    store_commands.add_parser("show", help="say where the data is kept")
    use = store_commands.add_parser(
        "use",
        help="keep the data on a shared PostgreSQL server; the password is read from "
        "standard input and kept in the keyring",
    )
    use.add_argument("url", help="postgresql://user@host[:port]/database (no password)")
    store_commands.add_parser("local", help="go back to this data folder's own file")
    copy = store_commands.add_parser(
        "copy", help="copy this folder's data into an empty PostgreSQL database, checked"
    )
    copy.add_argument("--to", required=True, metavar="URL", dest="url")
    migrate = store_commands.add_parser(
        "migrate", help="update the store's layout to this version of Ledgerlink"
    )
    migrate.add_argument(
        "--backup-made",
        action="store_true",
        help="you have backed the database up yourself (needed when pg_dump is missing)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ledgerlink`` command line for ``argv`` (default: the process's) and return the
    exit code documented in docs/cli.md; a problem becomes one line on stderr, never a
    traceback."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # `ledgerlink failures | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        # Ctrl+C: each record's state is committed before and after its request, so a
        # stop here loses nothing; the next run carries on.
        print("ledgerlink: stopped (Ctrl+C); the next run carries on.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _window_arguments(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The arguments when they name no command (the window), read without building every
    command's parser (a tenth of what the window's start costs in Python); ``None`` for
    anything else, help and mistakes included, which the full parser reads and words."""
    plain = _plain_window_arguments(sys.argv[1:] if argv is None else argv)
    if plain is not None:
        return plain
    quick = argparse.ArgumentParser(prog="ledgerlink", add_help=False, exit_on_error=False)
    _add_global_options(quick)
    try:
        args, rest = quick.parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    if rest:
        return None
    args.command = None
    return args


def _plain_window_arguments(argv: Sequence[str]) -> argparse.Namespace | None:
    """What the parser makes of the way the window is nearly always started (nothing, or
    only a data folder: ``--data-dir DIR`` or ``--data-dir=DIR``), without building it
    (about 1.5 ms: its help wording looks for translations, importing ``locale``);
    ``None`` for anything else."""
    if not argv:
        folder = None
    elif len(argv) == 2 and argv[0] == "--data-dir" and not argv[1].startswith("-"):
        folder = argv[1]
    elif len(argv) == 1 and argv[0].startswith("--data-dir="):
        folder = argv[0].removeprefix("--data-dir=")
    else:
        return None
    return argparse.Namespace(data_dir=folder, demo=False, verbose=False, page=None, command=None)


def _main(argv: Sequence[str] | None) -> int:
    args = _window_arguments(argv) or build_parser().parse_args(argv)
    paths = resolve_data_paths(args.data_dir)
    try:
        if args.demo:
            return _with_demo(args, paths)
        if args.command is None:
            return _open_window(paths, args.page)
        set_report_folder(paths.logs)
        if args.command == "store":
            return cmd_store(paths, args)
        from app.services.store import open_store

        store = open_store(paths)
        configure_logging(paths.logs, args.verbose)
        try:
            return COMMANDS[args.command](store, args)
        finally:
            store.close()
    except Exception as exc:
        from app.db.problems import explain, is_connection_problem

        if is_connection_problem(exc):  # the server went away in the middle of a command
            exc = explain(exc, paths.database_url)
        return _report_problem(exc, args)


def _report_problem(exc: Exception, args: argparse.Namespace) -> int:
    """One line on stderr: a user error's message and fix, or for a bug where its full
    report was written. Never a traceback."""
    problem = user_error_from(exc)
    if problem is not None:
        print(f"ledgerlink: {problem.one_line()}", file=sys.stderr)
        return problem.exit_code
    report = write_crash_report(exc, f"ledgerlink {args.command or 'window'}")
    where = report.path if report.path is not None else "(the report could not be saved)"
    print(
        f"ledgerlink: unexpected error (a fault in Ledgerlink, not in your data); "
        f"full report: {where}",
        file=sys.stderr,
    )
    return EXIT_BUG


def _with_demo(args: argparse.Namespace, paths: DataPaths) -> int:
    from app.services.setup.demo import prepare_demo
    from app.services.store import open_store

    demo_paths = paths.demo()
    set_report_folder(demo_paths.logs)
    if args.command is None:
        prepare_demo(demo_paths).close()
        return _open_window(demo_paths, args.page)
    if not demo_paths.database.exists():
        prepare_demo(demo_paths).close()
    store = open_store(demo_paths)
    configure_logging(demo_paths.logs, args.verbose)
    try:
        return COMMANDS[args.command](store, args)
    finally:
        store.close()


def _open_window(paths: DataPaths, page: str | None = None) -> int:
    from app.logging_setup import hold_early_records, write_held_records
    from app.services.first_read import begin_first_read
    from app.ui.kit.platform_libs import check_qt_platform

    # Before Qt is imported: the dashboard's read, done at once when quick, else beside
    # Qt's start (see first_read). What it logs is kept for the log file, which is set up
    # after the first paint.
    hold_early_records()
    try:
        first_read = begin_first_read(paths) if page is None else None

        # Qt aborts with a signal when its platform libraries are missing: say so first.
        problem = check_qt_platform(os.environ)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_SETUP
        from app.ui.windows.launch import run_window  # Qt only when a window is wanted

        return run_window(paths, page, first_read)
    finally:
        write_held_records(paths)  # when no window took them over


# ---------------------------------------------------------------------------- commands


def cmd_import(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink import KIND FILE``: check a job-system CSV file and, unless ``--dry-run``,
    store it whole; with any bad row, nothing is written and the exit code is 1."""
    from app.services.importing.csv_import import ImportKind, import_csv

    if not args.file.is_file():
        print(f"ledgerlink: no such file: {args.file}", file=sys.stderr)
        return EXIT_SETUP
    report = import_csv(
        store.session_factory, ImportKind(args.kind), args.file, dry_run=args.dry_run
    )
    emit(args, report.to_json(), report.describe())
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_status(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink status``: the data folder, package, situation, last send and a table of
    records by send state."""
    from app.services.status import collect_status
    from connectors.wording import when

    with store.session_factory() as session:
        status = collect_status(session, store.paths)
    lines = [
        f"Data folder: {status.data_dir}",
        f"Package:     {status.package or 'not chosen'}",
        f"Situation:   {status.situation or 'not chosen'}",
        f"Last send:   {when(status.last_send)}",
        "",
        f"{'record':<13}{'total':>7}"
        + "".join(f"{s.replace('_', ' '):>12}" for s in _STATE_COLUMNS),
    ]
    for record_type, states in status.states.items():
        lines.append(
            f"{record_type.replace('_', ' '):<13}{status.records[record_type]:>7}"
            + "".join(f"{states[s]:>12}" for s in _STATE_COLUMNS)
        )
    emit(args, status.to_json(), "\n".join(lines))
    return EXIT_OK


_STATE_COLUMNS = ("waiting", "processing", "successful", "failed", "uncertain")


def cmd_send(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink send``: send everything waiting to the chosen package (with ``--dry-run``,
    say what would be sent and what would fail); the exit code says whether all went, some
    failed, set-up is unfinished or another send is running."""
    from app.services.setup.connections import active_connector

    connector = active_connector(store.paths, store.session_factory)
    with package_problems_as_user_errors(connector.info.name), connector:
        connector.connect()
        if args.dry_run:
            from app.services.sending.causes import NOUNS, cause_lines
            from app.services.sending.preflight import Preflight

            pre = Preflight(store.session_factory, connector).run()
            lines = [f"Would send to {connector.info.name}:"]
            lines += [f"  {count(n, NOUNS[kind])}" for kind, n in pre.to_send.items()]
            linked = count(pre.already_linked, "contact")
            lines.append(f"  ({linked} already linked: nothing to send for them)")
            if pre.linked:
                lines.append(f"Would link, as {connector.info.name} already has them:")
                lines += [f"  {i.label} → {i.linked_to}" for i in pre.linked]
            if pre.held_back:
                lines.append("Would wait for a transaction that needs them:")
                lines += [f"  {i.label}" for i in pre.held_back]
            if pre.failures:
                lines.append("Would fail:")
                lines += cause_lines(pre.causes(connector.info.name), command_line=True)
            emit(args, pre.to_json(), "\n".join(lines))
            return EXIT_FAILED if pre.failures else EXIT_OK
        from app.services.sending.run import send_everything

        report = send_everything(
            store,
            connector,
            actor="cli",
            progress=_print_progress if args.progress else None,
        )
    from app.services.sending.run import send_outcome

    # The same sentence the review page and the dashboard show, then the detail.
    lines = [send_outcome(report, connector.info.name).summary]
    lines += [f"  {n:>6} {kind.replace('_', ' ')}" for kind, n in report.sent.items()]
    if report.handed_over:
        # A desktop bridge: taken, to be confirmed by the package later.
        lines.append(f"{connector.info.handed_over_label or 'Handed over'}:")
        lines += [f"  {n:>6} {kind.replace('_', ' ')}" for kind, n in report.handed_over.items()]
    if report.failed:
        lines.append("Failed: " + ", ".join(f"{n} {k}" for k, n in report.failed.items()))
        lines.append("See `ledgerlink failures` for why and how to fix each one.")
    if report.uncertain:
        lines.append(
            "Not yet confirmed: " + ", ".join(f"{n} {k}" for k, n in report.uncertain.items())
        )
    from app.services.desktop_bridges import steps_after_send

    with store.session_factory() as session:
        lines += steps_after_send(session, connector.info.key)
    if report.notice:
        lines.append(report.notice)
    emit(args, report.to_json(), "\n".join(lines))
    if report.skipped:
        return EXIT_SEND_RUNNING
    if report.setup_incomplete:
        return EXIT_SETUP
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_notify(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink notify set|show|test``: save the failure-email settings (password from stdin,
    kept in the keyring), show them, or send a test email."""
    from app.secrets import KeyringSecretStore
    from app.services.sending.notify import (
        NotifySettingsError,
        SmtpSettings,
        describe_mail_problem,
        load_settings,
        save_settings,
        send_email,
    )

    secrets = KeyringSecretStore()
    if args.notify_command == "set":
        settings = SmtpSettings(
            host=args.host,
            port=args.port,
            starttls=not args.no_starttls,
            username=args.username,
            sender=args.sender,
            recipients=list(args.to),
        )
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        try:
            with store.session_factory.begin() as session:
                save_settings(session, settings, secrets, password)
        except NotifySettingsError as exc:
            raise SetupError(f"Email settings not saved: {exc}") from exc
        print(f"Failure notices will be emailed to {', '.join(settings.recipients)}.")
        return EXIT_OK
    with store.session_factory() as session:
        current = load_settings(session)
    if current is None:
        raise SetupError("Email is not set up; use `ledgerlink notify set`.")
    if args.notify_command == "show":
        print(
            f"{current.host}:{current.port} "
            f"{'STARTTLS' if current.starttls else 'no TLS'}, "
            f"user {current.username or '(none)'}, from {current.sender}, "
            f"to {', '.join(current.recipients)}"
        )
        return EXIT_OK
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "Ledgerlink test message"
    message["From"] = current.sender
    message["To"] = ", ".join(current.recipients)
    message.set_content("This is a test of Ledgerlink's failure notices. Nothing failed.")
    try:
        send_email(current, message, secrets)
    except OSError as exc:  # smtplib and ssl errors are OSErrors
        problem = describe_mail_problem(exc, current)
        print(f"ledgerlink: the test email could not be sent: {problem}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Test email sent to {', '.join(current.recipients)}.")
    return EXIT_OK


def cmd_display_name(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink display-name``: the name a customer or supplier is sent to the package under,
    instead of its own."""
    from app.services.linking.display_names import choose_display_name
    from app.services.setup.state import load_setup
    from connectors.contract import ContactRole
    from connectors.registry import package_info

    with store.session_factory.begin() as session:
        package = load_setup(session).package
        if not package:
            raise SetupError("Choose an accounting package first.")
        info = package_info(package)
        choose_display_name(
            session, info, ContactRole(args.role), args.account_ref, args.name, actor="cli"
        )
    shown = args.name or "its own name"
    print(f"{args.role.capitalize()} {args.account_ref} will be sent to {info.name} as {shown}.")
    return EXIT_OK


def cmd_changes(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink changes``: list the changes to sent records that must be made by hand in the
    package, or confirm them by id so the next import takes them."""
    from app.services.sending.pending_changes import confirm, list_pending

    if args.changes_command == "confirm":
        try:
            with store.session_factory.begin() as session:
                for change_id in args.id:
                    confirm(session, change_id, actor="cli")
        except ValueError as exc:
            raise SetupError(f"Nothing confirmed: {exc}.") from exc
        print(f"Confirmed {count(len(args.id), 'change')}; the next import takes the new details.")
        return EXIT_OK
    with store.session_factory() as session:
        items = list_pending(session)
    lines: list[str] = []
    for item in items:
        lines.append(f"#{item.id} {item.label} (from {item.source or 'an import'}):")
        for change in item.changes:
            lines.append(f"    {change.field}: “{change.before}” → “{change.after}”")
    if lines:
        lines.append("Make these changes in your package, then `ledgerlink changes confirm ID`.")
    emit(
        args,
        {"changes": [i.to_json() for i in items]},
        "\n".join(lines) or "Nothing to change by hand.",
    )
    return EXIT_OK


def _print_progress(step: Any) -> None:
    if step.current:
        print(f"{step.done + 1}/{step.total} {step.current}", file=sys.stderr, flush=True)


def cmd_failures(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink failures``: the failed records grouped by cause with the fix for each; exit
    code 1 while any remain."""
    from app.services.sending.causes import cause_lines
    from app.services.sending.failures import failure_causes, list_failures
    from app.services.setup.state import load_setup
    from connectors.registry import package_info

    with store.session_factory() as session:
        package = load_setup(session).package
        if not package:
            raise SetupError("No accounting package is chosen yet, so nothing has failed.")
        roots = list_failures(session, package)
        causes = failure_causes(session, package, package_info(package).name)
    text = "\n".join(cause_lines(causes, command_line=True)) if causes else "No failures."
    emit(
        args,
        {
            "package": package,
            "failures": [r.to_json() for r in roots],
            "causes": [c.to_json() for c in causes],
        },
        text,
    )
    return EXIT_FAILED if roots else EXIT_OK


def cmd_links(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink links export|import FILE``: write the link table of the chosen package to
    CSV, or read one back, checking each reference in the package."""
    from app.services.linking.links_csv import export_links, import_links
    from app.services.setup.state import load_setup
    from connectors.registry import package_info

    with store.session_factory() as session:
        package = load_setup(session).package
        if not package:
            raise SetupError("Choose an accounting package first: links belong to one package.")
        if args.links_command == "export":
            rows = export_links(session, package, args.file)
            print(f"Wrote {rows} contacts to {args.file}")
            return EXIT_OK
    if not args.file.is_file():
        print(f"ledgerlink: no such file: {args.file}", file=sys.stderr)
        return EXIT_SETUP
    from app.services.setup.connections import active_connector

    # With the package at hand, each reference is checked there (and Sage web
    # addresses are looked up), with the exact-match rule where the package has one.
    info = package_info(package)
    with package_problems_as_user_errors(info.name):
        report = import_links(
            store.session_factory,
            info,
            args.file,
            dry_run=args.dry_run,
            connector_factory=lambda: active_connector(store.paths, store.session_factory),
            allow_shared_reference=args.allow_shared_reference,
        )
    lines = report.errors or [
        f"{'Would link' if args.dry_run else 'Linked'} {report.linked}, "
        f"unlinked {report.unlinked}, unchanged {report.unchanged}.",
        *report.warnings,
    ]
    if args.dry_run and report.shared:
        lines.append("One package contact for two of yours (each needs --allow-shared-reference):")
        lines += [f"  {shared.describe(info.name)}" for shared in report.shared]
    text = "\n".join(lines)
    emit(args, report.to_json(), text)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_setup(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink setup``: choose the accounting package and situation without the wizard;
    refuses a package this version cannot send to."""
    from app.db.models import Situation
    from app.services.setup.state import choose_package
    from connectors.registry import CONNECTORS, has_connector, package_info

    try:
        info = package_info(args.package)
    except KeyError as exc:
        raise SetupError(str(exc.args[0])) from exc
    if not has_connector(info.key):
        raise SetupError(
            f"Ledgerlink cannot send to {info.name} in this version, so it cannot be set "
            f"up; choose one of: {', '.join(CONNECTORS)}."
        )
    with store.session_factory.begin() as session:
        choose_package(session, info.key, Situation(args.situation))
    print(f"Package: {info.name}; situation: {args.situation}")
    return EXIT_OK


def cmd_map(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink map [CODE ACCOUNT]``: map one of our nominal codes to a package account, then
    list every mapping."""
    from app.services.setup.connections import active_connector
    from app.services.setup.mapping import list_mappings, set_mapping

    connector = active_connector(store.paths, store.session_factory)
    with package_problems_as_user_errors(connector.info.name), connector:
        if args.code:
            if not args.remote:
                raise SetupError(
                    "Give both our code and the package's account, e.g. "
                    "`ledgerlink map SALES 4000`."
                )
            accounts = connector.list_accounts()
            with store.session_factory.begin() as session:
                set_mapping(session, connector.info, accounts, args.code, args.remote, actor="cli")
        with store.session_factory() as session:
            rows = list_mappings(session, connector.info.key)
    lines = [
        f"{r['code']:<12} {r['kind']:<8} {r['name']:<28} → "
        f"{r['remote_code'] or '(not mapped)'} {r['remote_name']}"
        for r in rows
    ]
    emit(args, {"package": connector.info.key, "mappings": rows}, "\n".join(lines))
    return EXIT_OK


def cmd_sage50(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink sage50 …``: the Sage 50 bridge's commands (see :mod:`app.sage50_cli`)."""
    from app.sage50_cli import run_sage50

    return run_sage50(store, args)


def _read_password() -> str | None:
    """The password from standard input (one line), or ``None`` at a terminal with
    nothing typed; never from the command line, where other users could see it."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password (empty if the server needs none): ") or None
    return sys.stdin.readline().rstrip("\r\n") or None


def cmd_store(paths: DataPaths, args: argparse.Namespace) -> int:
    """``ledgerlink store …``: say where the data is kept, keep it on a shared PostgreSQL server
    or go back to this folder's file, copy this folder's data into an empty PostgreSQL
    database (checked), or update the store's layout. Runs before the store is opened."""
    from app.secrets import KeyringSecretStore
    from app.services import shared_store

    secrets = KeyringSecretStore()
    if args.store_command == "show":
        print(f"Data is kept in {shared_store.describe_current(paths)}.")
        return EXIT_OK
    if args.store_command == "use":
        password = _read_password()
        where = shared_store.use_store(paths, args.url, password, secrets)
        print(f"This data folder now keeps its data in {where}.")
        return EXIT_OK
    if args.store_command == "local":
        shared_store.stop_using_store(paths)
        print(f"Data is kept in {shared_store.describe_current(paths)}.")
        return EXIT_OK
    from app.services.store import open_store

    store = open_store(paths, backup_made=getattr(args, "backup_made", False))
    configure_logging(paths.logs, args.verbose)
    try:
        if args.store_command == "migrate":
            print(f"{shared_store.describe_current(paths).capitalize()} is up to date.")
            return EXIT_OK
        shared_store.save_password(args.url, _read_password(), secrets)
        report = shared_store.copy_store(store.engine, args.url, secrets)
    finally:
        store.close()
    for table, rows in report.rows.items():
        print(f"  {rows:>8} {table}")
    if not report.ok:
        print("The copy does not match:", *report.differences, sep="\n  ", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"Copied and checked row for row into {report.target}. To work there from now on: "
        f"`ledgerlink store use {args.url}`."
    )
    return EXIT_OK


def run_qbwc(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink qbwc …``: see :mod:`app.qbwc_cli`."""
    from app.qbwc_cli import run

    return run(store, args)


def run_sync(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink sync …``: see :mod:`app.sync_cli`."""
    from app.sync_cli import run

    return run(store, args)


def run_options(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink options …``: see :mod:`app.options_cli`."""
    from app.options_cli import run_options as run

    return run(store, args)


def run_create_new(store: Store, args: argparse.Namespace) -> int:
    """``ledgerlink create-new …``: see :mod:`app.options_cli`."""
    from app.options_cli import run_create_new as run

    return run(store, args)


COMMANDS: dict[str, Callable[[Store, argparse.Namespace], int]] = {
    "import": cmd_import,
    "status": cmd_status,
    "send": cmd_send,
    "failures": cmd_failures,
    "links": cmd_links,
    "setup": cmd_setup,
    "map": cmd_map,
    "notify": cmd_notify,
    "changes": cmd_changes,
    "display-name": cmd_display_name,
    "qbwc": run_qbwc,
    "sync": run_sync,
    "sage50": cmd_sage50,
    "options": run_options,
    "create-new": run_create_new,
}
