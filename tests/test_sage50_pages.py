"""Sage 50 in the window: the set-up panel on Connect, the files panel on Review and send,
and the dashboard's column for records exported and waiting for import."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.db.models import Situation
from app.services.sage50.setup import package_settings
from app.services.setup.state import load_setup
from app.ui.windows.status_models import StatusModel
from connectors.catalogue import SAGE_50
from connectors.sage_50 import settings as keys
from tests.sage50_fixtures import SageRig, build_sage_rig
from wizard_pages.connect_page import ConnectPage
from wizard_pages.context import WizardContext
from wizard_pages.sage50_files_panel import Sage50FilesPanel
from wizard_pages.sage50_setup_panel import Sage50SetupPanel


def context_for(rig: SageRig) -> WizardContext:
    with rig.session_factory() as session:
        choices = load_setup(session)
    assert choices.package == "sage_50" and choices.situation is Situation.NEW_TO_PACKAGE
    return WizardContext(rig.store, choices)


def wait_status(qtbot: QtBot, panel: Sage50SetupPanel | Sage50FilesPanel, kind: str) -> str:
    qtbot.waitUntil(lambda: panel.status.kind == kind and bool(panel.status.text()))
    return panel.status.text()


def test_connect_page_has_the_sage50_panel_under_the_folder(qtbot: QtBot, tmp_path: Path) -> None:
    rig = build_sage_rig(tmp_path)
    context = context_for(rig)
    page = ConnectPage(context)
    qtbot.addWidget(page)
    page.initializePage()
    assert list(page.inputs) == ["import_folder"]
    assert isinstance(page.sage50_panel, Sage50SetupPanel)
    context.shutdown()


def test_setup_panel_saves_nominals_dates_and_references(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path
) -> None:
    rig = build_sage_rig(tmp_path)
    context = context_for(rig)
    panel = Sage50SetupPanel(context, context.run)
    qtbot.addWidget(panel)

    panel.nominal_text.setPlainText("N/C  Name\n4000  Sales Type A\nSALES oops\n")
    panel.save_pasted_nominals()
    assert "Line 3" in wait_status(qtbot, panel, "error")

    panel.nominal_text.setPlainText("1200  Bank Current Account\n4000\tSales Type A\n")
    panel.save_pasted_nominals()
    assert "2 codes" in wait_status(qtbot, panel, "success")
    saved = json.loads(context.choices.package_settings[keys.NOMINAL_CODES])
    assert [row[0] for row in saved] == ["1200", "4000"]

    panel.year_start.setText("01/04/2025")
    panel.lock_date.setText("31/13/2025")
    panel.save_dates()
    assert "31/13/2025" in wait_status(qtbot, panel, "error")
    panel.lock_date.setText("30/04/2025")
    panel.save_dates()
    wait_status(qtbot, panel, "success")
    with rig.session_factory() as session:
        stored = package_settings(session)
    assert stored[keys.FINANCIAL_YEAR_START] == "2025-04-01"
    assert stored[keys.LOCK_DATE] == "2025-04-30"

    panel.status.clear()
    panel.propose()
    qtbot.waitUntil(lambda: panel.proposals.rowCount() == 4)
    qtmodeltester.check(panel.proposals)
    assert panel.keep_button.isEnabled()
    panel.keep()
    assert "4 references kept" in wait_status(qtbot, panel, "success")
    assert json.loads(context.choices.package_settings[keys.ACCOUNT_REFS]) == {
        "customer:C1": "C1",
        "customer:C2": "C2",
        "customer:C3": "C3",
        "supplier:S1": "S1",
    }
    context.shutdown()


def test_files_panel_shows_the_files_the_steps_and_reconciles(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path
) -> None:
    rig = build_sage_rig(tmp_path)
    context = context_for(rig)
    panel = Sage50FilesPanel(context, context.run)
    qtbot.addWidget(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: "No import files yet" in panel.steps.text())

    rig.send()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)
    qtmodeltester.check(panel.model)
    steps = panel.steps.text()
    assert steps.index("Customer Records") < steps.index("Audit Trail Transactions")
    assert "File › Import" in steps

    export = tmp_path / "CUSTOMER.CSV"
    export.write_bytes(b"C1,Ada Boilers Ltd\r\nC2,Ben Pipes\r\n")
    panel.reconcile_files([export])
    assert "1 record exported but not in Sage's export" in wait_status(qtbot, panel, "error")
    assert "C3" in panel.result.text()
    context.shutdown()


def test_dashboard_counts_name_the_handed_over_state(qtmodeltester: ModelTester) -> None:
    model = StatusModel()
    model.set_states({"customer": {"handed_over": 3, "successful": 1}}, SAGE_50.handed_over_label)
    qtmodeltester.check(model)

    def headers() -> list[str]:
        return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]

    assert SAGE_50.handed_over_label in headers()
    column = headers().index(SAGE_50.handed_over_label)
    assert model.data(model.index(0, column)) == "3"
    model.set_states({"customer": {"successful": 1}})
    assert SAGE_50.handed_over_label not in headers()
