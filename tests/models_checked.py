"""Every item model in the code, with the test that runs ``qtmodeltester`` on it.

``tests/test_models_checked.py`` fails when a model class is missing here, and the
``qtmodeltester`` fixture (conftest) fails a listed test that does not check its model.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel

from app.ui.windows.status_models import FailureModel, PendingChangeModel, StatusModel
from wizard_pages.import_files_dialog import ImportPreviewModel
from wizard_pages.link_grid.choices import PackageChoicesModel
from wizard_pages.link_grid.side_models import DuplicatesModel, SuggestionsModel
from wizard_pages.link_grid.table_model import LinkTableModel
from wizard_pages.models import PackageContactModel, PreflightFailureModel, RemoteAccountModel
from wizard_pages.sage50_files_panel import FilesModel
from wizard_pages.sage50_setup_panel import ProposalModel
from wizard_pages.sync_page import SyncModel

#: Model class → ``"<test file>::<test function>"`` that checks an instance of it.
CHECKED_BY: dict[type[QAbstractItemModel], str] = {
    StatusModel: "test_dashboard.py::test_models_pass_the_model_tester",
    FailureModel: "test_dashboard.py::test_models_pass_the_model_tester",
    PendingChangeModel: "test_dashboard_changes.py::test_change_model_passes_the_model_tester",
    LinkTableModel: "test_link_grid.py::test_every_model_passes_the_model_tester",
    SuggestionsModel: "test_link_grid.py::test_every_model_passes_the_model_tester",
    DuplicatesModel: "test_link_grid.py::test_every_model_passes_the_model_tester",
    PackageChoicesModel: "test_link_grid.py::test_every_model_passes_the_model_tester",
    PackageContactModel: "test_wizard_pages.py::test_page_models_pass_the_model_tester",
    RemoteAccountModel: "test_wizard_pages.py::test_page_models_pass_the_model_tester",
    PreflightFailureModel: "test_wizard_pages.py::test_page_models_pass_the_model_tester",
    FilesModel: "test_sage50_pages.py::test_files_panel_shows_the_files_the_steps_and_reconciles",
    ProposalModel: "test_sage50_pages.py::test_setup_panel_saves_nominals_dates_and_references",
    ImportPreviewModel: "test_import_dialog.py::test_preview_model_passes_the_model_tester",
    SyncModel: "test_sync_page.py::test_the_model_passes_the_model_tester",
}
