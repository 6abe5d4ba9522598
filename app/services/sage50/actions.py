"""What the window's Sage 50 panels do, each in one transaction, returning plain data
for the GUI thread (the pages never hold a session)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.services.errors import SetupError
from app.services.sage50.ledger import ExportFile, list_files
from app.services.sage50.reports import ReportKind, SageNominal, parse_nominal_text, read_report
from app.services.sage50.setup import (
    Proposal,
    package_settings,
    propose_references,
    save_nominal_list,
    save_references,
    set_dates,
)
from app.services.sage50.steps import export_folder, import_steps
from connectors.wording import count as counted

Factory = sessionmaker[Session]


@dataclass(frozen=True)
class Saved:
    """What was saved, in words, and the package's settings as they now are."""

    message: str
    settings: dict[str, str]


@dataclass(frozen=True)
class FilesView:
    folder: Path | None
    files: list[ExportFile]
    steps: list[str]


def _nominals(factory: Factory, nominals: Sequence[SageNominal], actor: str) -> Saved:
    with factory.begin() as session:
        count = save_nominal_list(session, nominals, actor=actor)
        return Saved(
            f"Nominal list saved: {counted(count, 'code')} from Sage 50.", package_settings(session)
        )


def parse_nominal_text_check(text: str) -> None:
    """Raise the reader's error for a pasted list at once (no database needed)."""
    parse_nominal_text(text)


def save_pasted_nominals(factory: Factory, text: str, *, actor: str) -> Saved:
    """Sage's nominal list as pasted (``code name`` per line)."""
    return _nominals(factory, parse_nominal_text(text), actor)


def import_nominal_file(factory: Factory, path: Path, *, actor: str) -> Saved:
    """Sage's nominal list from its export file."""
    report = read_report(path)
    if report.kind is not ReportKind.NOMINAL:
        raise SetupError(f"{path.name} is not a nominal list (code, name per line).")
    return _nominals(factory, report.nominals, actor)


def parse_day(text: str, what: str) -> date | None:
    """``DD/MM/YYYY`` (or ISO) as a date; blank is ``None``."""
    if not text.strip():
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    raise SetupError(f"{what} “{text}” is not a date; write it as DD/MM/YYYY.")


def save_dates(factory: Factory, year_start: str, lock: str, *, actor: str) -> Saved:
    """Save Sage's financial year start and lock date (as typed, DD/MM/YYYY; blank clears);
    raises :class:`SetupError` for a date it cannot read."""
    start = parse_day(year_start, "The first day of the financial year")
    lock_date = parse_day(lock, "The lock date")
    with factory.begin() as session:
        set_dates(session, financial_year_start=start, lock_date=lock_date, actor=actor)
        return Saved(
            "Dates saved: records outside them are refused before a file is written.",
            package_settings(session),
        )


def proposals(factory: Factory) -> list[Proposal]:
    """The Sage 50 reference each contact still to export would get (see
    :func:`propose_references`)."""
    with factory() as session:
        return propose_references(session)


def keep_references(factory: Factory, chosen: Sequence[Proposal], *, actor: str) -> Saved:
    """Save the ``chosen`` references so every later export uses them."""
    with factory.begin() as session:
        count = save_references(session, chosen, actor=actor)
        return Saved(
            f"{counted(count, 'reference')} kept: every send uses them.", package_settings(session)
        )


def files_view(factory: Factory) -> FilesView:
    """The Sage 50 files page: the export folder, every import file written with its state, and
    the steps to import those waiting."""
    with factory() as session:
        folder = export_folder(session)
        return FilesView(folder, list_files(session, folder), import_steps(session))
