"""Every public function and method of the Qt-free code (connectors, services, the
store, the command line) says what it does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def undocumented(folder: Path, pattern: str = "**/*.py") -> list[str]:
    """``file:line name`` for each public function or method in the files of ``folder``
    matching ``pattern`` (in a public class, or at module level) with no docstring."""
    missing: list[str] = []

    def visit(node: ast.AST, path: Path, owner: str = "") -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                visit(child, path, f"{child.name}.")
            elif (
                isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                and not child.name.startswith("_")
                and ast.get_docstring(child) is None
            ):
                missing.append(f"{path.relative_to(folder)}:{child.lineno} {owner}{child.name}")

    for path in sorted(folder.glob(pattern)):
        visit(ast.parse(path.read_text(encoding="utf-8")), path)
    return missing


@pytest.mark.parametrize(
    ("folder", "pattern"),
    [
        ("connectors", "**/*.py"),
        ("app/services", "**/*.py"),
        ("app/db", "*.py"),
        ("app", "*.py"),  # the command line and start-up; app/ui has its own layers
    ],
)
def test_the_qt_free_code_documents_its_public_api(folder: str, pattern: str) -> None:
    missing = undocumented(ROOT / folder, pattern)
    assert not missing, "public functions without a docstring:\n" + "\n".join(missing)


def test_the_check_finds_what_is_undocumented(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(
        "def shown():\n    pass\n\n\n"
        "def _hidden():\n    pass\n\n\n"
        "class Public:\n    def method(self):\n        pass\n\n"
        "    def told(self):\n        '''Says.'''\n\n\n"
        "class _Private:\n    def method(self):\n        pass\n",
        encoding="utf-8",
    )
    assert undocumented(tmp_path) == ["module.py:1 shown", "module.py:10 Public.method"]
