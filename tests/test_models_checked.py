"""No item model escapes ``qtmodeltester``: every QAbstractItemModel subclass in the Qt
code is listed in ``tests/models_checked.py`` with a test that checks it."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel

import app.ui
import wizard_pages
from tests.models_checked import CHECKED_BY

TESTS = Path(__file__).parent


def _model_classes() -> set[type]:
    found: set[type] = set()
    for package in (app.ui, wizard_pages):
        for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(module_info.name)
            for _name, value in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(value, QAbstractItemModel)
                    and value.__module__ == module.__name__
                    and not value.__name__.startswith("_")
                ):
                    found.add(value)
    return found


def _calls_modeltester(file: str, function: str) -> bool:
    tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return any(
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "check"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "qtmodeltester"
                for call in ast.walk(node)
            )
    return False


def test_every_model_class_is_listed_with_its_modeltester_test() -> None:
    found = _model_classes()
    assert found, "no model classes found: the search is broken"
    missing = sorted(c.__qualname__ for c in found - set(CHECKED_BY))
    assert not missing, f"models with no qtmodeltester test listed: {missing}"
    gone = sorted(c.__qualname__ for c in set(CHECKED_BY) - found)
    assert not gone, f"listed models not found in the code: {gone}"


def test_every_listed_test_runs_the_modeltester() -> None:
    for model_class, listed in CHECKED_BY.items():
        file, function = listed.split("::")
        assert _calls_modeltester(file, function), (
            f"{listed} (listed for {model_class.__name__}) does not call qtmodeltester.check"
        )
