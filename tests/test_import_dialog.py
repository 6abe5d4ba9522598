"""The window's import from the job system: files chosen, their kind recognised or
chosen, a check listing every bad row by file, line and column, progress and cancel,
and every file or none written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.config import DataPaths
from app.db.models import Contact, Document
from app.services.importing.files import FilesReport, ImportKind
from app.services.store import Store, open_store
from tests.screenshots import save_screenshot
from tests.test_import_files import CUSTOMERS, INVOICES
from wizard_pages.import_files_dialog import ImportFilesDialog, ImportPreviewModel

LONG = 20_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(DataPaths(tmp_path / "data"))
    yield opened
    opened.close()


@pytest.fixture
def dialog(qtbot: QtBot, store: Store) -> ImportFilesDialog:
    shown = ImportFilesDialog(store)
    qtbot.addWidget(shown)
    shown.show()
    return shown


def _counts(store: Store) -> tuple[int, int]:
    with store.session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Contact)) or 0,
            session.scalar(select(func.count()).select_from(Document)) or 0,
        )


def _run(qtbot: QtBot, dialog: ImportFilesDialog, button_name: str) -> None:
    button = getattr(dialog, button_name)
    assert button.isEnabled()
    button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)


def test_files_are_recognised_checked_and_imported_whole(
    qtbot: QtBot, dialog: ImportFilesDialog, store: Store, tmp_path: Path
) -> None:
    customers = tmp_path / "export-1.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(INVOICES.replace("INV-2,2026-01-06", "INV-2,2026-13-45"), "utf-8")
    dialog.add_files([invoices, customers])
    # The invoices' header says what they are; customers and suppliers share a layout.
    kinds = {path.name: box.currentData() for path, box in dialog.files}
    assert kinds == {"invoices.csv": ImportKind.INVOICES.value, "export-1.csv": None}
    assert not dialog.check_button.isEnabled()
    assert "Choose what each file holds" in dialog.status.text()
    box = dict((path.name, b) for path, b in dialog.files)["export-1.csv"]
    box.setCurrentIndex(box.findData(ImportKind.CUSTOMERS.value))

    before = _counts(store)
    _run(qtbot, dialog, "check_button")
    assert dialog.status.kind == "error"
    assert dialog.status.text().startswith("1 problem in 1 file; nothing was imported")
    rows = [
        [dialog.problems.index(r, c).data() for c in range(4)]
        for r in range(dialog.problems.rowCount())
    ]
    assert len(rows) == 1
    assert rows[0][:3] == ["invoices.csv", "3", "date"]
    assert not dialog.import_button.isEnabled()
    save_screenshot(dialog, "import-files-problems")

    invoices.write_text(INVOICES, "utf-8")
    box.setCurrentIndex(box.findData(ImportKind.CUSTOMERS.value))
    dialog._set_changed()  # the user edited the file: check again
    _run(qtbot, dialog, "check_button")
    assert dialog.status.kind == "success"
    assert "4 records would be added" in dialog.status.text()
    assert _counts(store) == before
    with qtbot.waitSignal(dialog.imported, timeout=LONG):
        dialog.import_button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)
    assert dialog.status.text() == "✓ 4 records were added and 0 updated from 2 files."
    assert _counts(store) == (before[0] + 2, before[1] + 2)
    save_screenshot(dialog, "import-files-done")


def test_a_cancelled_import_writes_nothing(
    qtbot: QtBot, dialog: ImportFilesDialog, store: Store, tmp_path: Path
) -> None:
    rows = "".join(f"CUS{n:05},Customer {n},Town\n" for n in range(1, 20_001))
    big = tmp_path / "customers.csv"
    big.write_text("account_ref,name,town\n" + rows, encoding="utf-8")
    dialog.add_files([big])
    _run(qtbot, dialog, "check_button")
    assert dialog.import_button.isEnabled()
    before = _counts(store)
    # Cancel as soon as the first progress arrives.
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.progress.maximum() > 0, timeout=LONG)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)
    assert dialog.status.text() == "The import was cancelled; nothing was written."
    assert _counts(store) == before


def test_preview_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    from app.services.importing.report import ImportReport

    report = ImportReport(kind=ImportKind.INVOICES, file="invoices.csv")
    report.error(3, "date", "13 is not a month")
    report.error(0, "", "the file is empty")
    model = ImportPreviewModel()
    model.set_report(FilesReport(dry_run=True, reports=[report]))
    qtmodeltester.check(model)
    assert model.index(1, 1).data() == "(whole file)"


def test_the_wizard_offers_the_import_while_there_is_no_job_data(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from app.services.setup.routing import Page
    from tests.test_wizard_flow import open_window, wait_for_page, wizard_of
    from wizard_pages.get_started_page import GetStartedPage

    window = open_window(qtbot, DataPaths(tmp_path / "fresh"))
    page = wait_for_page(qtbot, wizard_of(window), Page.GET_STARTED)
    assert isinstance(page, GetStartedPage)
    qtbot.waitUntil(page.no_data.isVisible, timeout=LONG)
    save_screenshot(window, "wizard-get-started-no-data")
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    dialog = page.open_import()
    dialog.add_files([customers])
    assert dialog.files[0][1].currentData() == ImportKind.CUSTOMERS.value
    _run(qtbot, dialog, "check_button")
    _run(qtbot, dialog, "import_button")
    qtbot.waitUntil(lambda: not page.no_data.isVisible(), timeout=LONG)
    dialog.close()
