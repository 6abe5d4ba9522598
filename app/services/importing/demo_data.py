"""The demo data set: a year of a small heating-and-plumbing firm, imported through the
same CSV import as a real job system's files.

The files live in ``resources/demo/`` and are written by ``tools/generate_demo_data.py``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.services.importing.csv_import import import_csv_bytes
from app.services.importing.report import IMPORT_ORDER, ImportReport
from app.services.setup.chart import ensure_default_chart
from resources import resource


def import_demo_data(
    session_factory: sessionmaker[Session], *, actor: str = "demo"
) -> list[ImportReport]:
    """Import the five demo files in dependency order; one report per file imported.

    The default chart is added first where accounts are missing (the invoices use
    ``SALES``, ``SALES-LAB`` and ``SALES-MAT``; payments use ``BANK``). Importing stops
    at the first file with problems, whose report is the last one returned, so
    ``all(report.ok for report in reports)`` tells whether everything went in.
    Importing again changes nothing (every record is then unchanged).
    """
    with session_factory.begin() as session:
        ensure_default_chart(session)
    reports: list[ImportReport] = []
    for kind in IMPORT_ORDER:
        name = kind.file_name
        data = resource("demo", name).read_bytes()
        report = import_csv_bytes(session_factory, kind, data, file=name, actor=actor)
        reports.append(report)
        if not report.ok:
            break
    return reports
