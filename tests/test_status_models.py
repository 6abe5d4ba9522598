"""The dashboard's table models without the ``Qt`` namespace: roles as plain ints, column
titles from C++ (``with_titles``), the counts as C++ items; and a first page built and
painted from its first read without building the namespace's enums at all."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.config import DataPaths
from app.services.sending.change_items import PendingChangeItem
from app.services.sending.failures import FailureItem
from app.ui.windows import status_models
from app.ui.windows.status_models import (
    FailureModel,
    PendingChangeModel,
    StatusModel,
    with_titles,
)
from tests.test_dashboard import sent_paths, sent_template

__all__ = ["sent_paths", "sent_template"]  # fixtures shared with the dashboard tests

ROOT = Path(__file__).resolve().parents[1]


def test_the_roles_are_qts_own() -> None:
    assert Qt.ItemDataRole.DisplayRole == status_models.DISPLAY_ROLE
    assert Qt.ItemDataRole.DecorationRole == status_models.DECORATION_ROLE
    assert Qt.ItemDataRole.ToolTipRole == status_models.TOOLTIP_ROLE
    assert Qt.ItemDataRole.FontRole == status_models.FONT_ROLE
    assert Qt.ItemDataRole.TextAlignmentRole == status_models.TEXT_ALIGNMENT_ROLE
    right_centred = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    assert right_centred.value == status_models.RIGHT_AND_CENTRED


def test_the_counts_are_items_with_titles_alignment_and_bold_failures(
    qtmodeltester: ModelTester,
) -> None:
    model = StatusModel()
    model.set_states({"invoice": {"failed": 1200, "successful": 4}, "payment": {"failed": 0}})
    qtmodeltester.check(model)
    horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    titles = [model.headerData(c, horizontal) for c in range(model.columnCount())]
    assert titles == [title for _state, title in status_models.STATE_COLUMNS]
    rows = [model.headerData(r, vertical) for r in range(model.rowCount())]
    assert rows == list(status_models.RECORD_TITLES.values())
    invoices, failed = rows.index("Invoices"), titles.index("Failed")
    cell = model.index(invoices, failed)
    assert cell.data() == "1,200" and model.count("invoice", "failed") == 1200
    # Asked for with Qt's enum (Python callers) or the int Qt itself passes: the same.
    for role in (Qt.ItemDataRole.TextAlignmentRole, int(Qt.ItemDataRole.TextAlignmentRole)):
        alignment = model.data(cell, role)
        assert alignment == (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value
    font = cell.data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    assert model.index(rows.index("Payments"), failed).data(Qt.ItemDataRole.FontRole) is None
    assert not model.flags(cell) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(cell) & Qt.ItemFlag.ItemIsSelectable


def test_an_empty_count_table_shows_zeros() -> None:
    model = StatusModel()
    assert model.rowCount() == len(status_models.RECORD_TITLES)
    assert model.columnCount() == len(status_models.STATE_COLUMNS)
    assert {model.index(r, c).data() for r in range(5) for c in range(7)} == {"0"}


class _Letters(QAbstractTableModel):
    """Two columns, three rows (``rows``): 'a0', 'b0', …; a tooltip in the second column."""

    rows = 3

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if role == status_models.DISPLAY_ROLE:
            return "ab"[index.column()] + str(index.row())
        if role == status_models.TOOLTIP_ROLE and index.column() == 1:
            return f"tip {index.row()}"
        return None


def test_titles_come_from_cpp_and_every_row_and_role_from_the_model(
    qtmodeltester: ModelTester, qtbot: QtBot
) -> None:
    source = _Letters()
    titled = with_titles(source, ("First", "Second"))
    qtmodeltester.check(titled)
    assert (titled.rowCount(), titled.columnCount()) == (3, 2)
    horizontal = Qt.Orientation.Horizontal
    assert [titled.headerData(c, horizontal) for c in range(2)] == ["First", "Second"]
    assert [titled.index(r, 0).data() for r in range(3)] == ["a0", "a1", "a2"]
    assert titled.index(2, 1).data(Qt.ItemDataRole.ToolTipRole) == "tip 2"
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(titled)
    view.setColumnWidth(0, 231)
    view.selectRow(1)
    assert [titled.mapToSource(i).row() for i in view.selectionModel().selectedRows()] == [1]
    # A reset of the list (a refresh with other rows) reaches the view through the proxy.
    with qtbot.waitSignal(titled.modelReset, timeout=1000):
        source.beginResetModel()
        source.rows = 5
        source.endResetModel()
    assert titled.rowCount() == 5 and titled.index(4, 0).data() == "a4"
    assert view.columnWidth(0) == 231  # the widths set on the view stay
    assert not view.selectionModel().selectedRows()  # as a plain model's reset clears it


def test_the_failure_and_change_lists_pass_the_model_tester_under_their_titles(
    qtmodeltester: ModelTester,
) -> None:
    changes = PendingChangeModel()
    changes.set_changes(
        [
            PendingChangeItem(
                id=1,
                record_type="customer",
                record_id=1,
                label="Customer “Ada” (C1)",
                changes=[],
                source="customers.csv",
                detected_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
                confirmed_at=None,
            )
        ]
    )
    failures = FailureModel()
    failures.set_failures(
        [
            FailureItem(
                outbox_id=7,
                record_type="invoice",
                record_id=3,
                label="Invoice INV-3",
                state="failed",
                code="nominal",
                field="nominal_code",
                reason="No such nominal code",
                fix="Choose one on the Nominal page",
                attempts=1,
            )
        ]
    )
    assert failures.rowCount() == 1
    for model in (failures, changes):
        titled = with_titles(model, model.COLUMNS)
        qtmodeltester.check(titled)
        horizontal = Qt.Orientation.Horizontal
        titles = [titled.headerData(c, horizontal) for c in range(len(model.COLUMNS))]
        assert titles == list(model.COLUMNS)
    assert with_titles(changes, changes.COLUMNS).index(0, 2).data() == "customers.csv"


#: Builds the dashboard from its first read, paints it and prints the ``Qt`` namespace's
#: enums made meanwhile (each Python enum is made through ``EnumType._create_``).
_FIRST_PAGE = r"""
import enum, sys
from pathlib import Path

made = []
_create = enum.EnumType._create_
def _record(cls, *args, **kwargs):
    made.append(_create(cls, *args, **kwargs))
    return made[-1]
enum.EnumType._create_ = _record

from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from app.config import DataPaths
from app.services.dashboard_read import read_dashboard
from app.ui.kit.workers import TaskRunner
from app.ui.windows.dashboard import Dashboard

snapshot = read_dashboard(DataPaths(Path(sys.argv[1])))
assert snapshot is not None and snapshot.data.failures
dashboard = Dashboard(None, TaskRunner())
dashboard.resize(1000, 680)
dashboard.show_snapshot(snapshot)
dashboard.show()
dashboard.grab()  # lays out and paints every part of the page
print("QT_ENUMS", sorted({e.__qualname__ for e in made if e.__qualname__.startswith("Qt.")}))
print("OTHER_ENUMS", len(made))
"""


def test_the_first_page_paints_without_the_qt_namespace(sent_paths: DataPaths) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_PAGE, str(sent_paths.root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["QT_ENUMS"] == "[]", lines["QT_ENUMS"]
    assert int(lines["OTHER_ENUMS"]) > 0  # the probe itself works: Qt's classes made some
