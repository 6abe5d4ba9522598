"""The exact steps in Sage 50 for the files waiting to be imported, for the after-send
page and ``ledgerlink send``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.services.sage50.ledger import ExportFile, list_files
from app.services.sage50.setup import package_settings
from connectors.sage_50 import settings as keys
from connectors.wording import count


def export_folder(session: Session) -> Path | None:
    """The folder Ledgerlink writes Sage 50 import files to, or None before one is chosen."""
    folder = (package_settings(session).get(keys.FOLDER) or "").strip()
    return Path(folder) if folder else None


def waiting_files(session: Session) -> list[ExportFile]:
    """Files with records still waiting for import, in the order to import them."""
    return [f for f in list_files(session, export_folder(session)) if f.awaiting]


def import_steps(session: Session) -> list[str]:
    """Numbered steps, in words for a bookkeeper: records before transactions."""
    files = waiting_files(session)
    if not files:
        return []
    folder = export_folder(session)
    lines = ["In Sage 50 (take a backup first: File › Backup), import these files in this order:"]
    for number, export in enumerate(files, start=1):
        kind = export.kind.import_type if export.kind else "?"
        missing = {
            True: "",
            False: " (MISSING from the folder)",
            None: " (the folder does not answer now)",
        }[export.exists]
        lines.append(
            f"  {number}. File › Import, choose “{kind}”, then the file "
            f"{export.name}{missing} in {folder} ({count(export.awaiting, 'record')})."
        )
    lines.append(
        "  Receipts go in on account (SA): allocate each to the invoice its Details name "
        "(Bank accounts › Customer receipt, choose the customer, leave the amount at 0.00 "
        "and pay the invoice from the payment on account)."
    )
    lines.append(
        "Then export Sage's Customer Record CSV, Supplier Record CSV and Transaction CSV "
        "reports and run `ledgerlink sage50 reconcile FILE…` (or the Reconcile page)."
    )
    return lines


def files_sentence(session: Session) -> str:
    """One line for the dashboard: what waits for import into Sage 50, and where."""
    files = list_files(session, export_folder(session))
    waiting = [f for f in files if f.awaiting]
    if not files:
        return "Sage 50: no import files written yet."
    if not waiting:
        return f"Sage 50: all {count(len(files), 'import file')} confirmed in Sage."
    records = sum(f.awaiting for f in waiting)
    missing = sum(1 for f in waiting if f.exists is False)
    text = (
        f"Sage 50: {count(records, 'record')} in {count(len(waiting), 'file')} wait for you "
        "to import them (File › Import), then reconcile"
    )
    return text + (f"; {missing} of those files are missing from the folder." if missing else ".")
