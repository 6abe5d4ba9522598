"""Every count a person reads goes through ``connectors.wording``: no "record(s)"."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: "(s)" glued to a word is the lazy plural the one helper replaces ("record(s)").
LAZY_PLURAL = re.compile(r"[A-Za-z]\(s\)")


def lazy_plurals(folder: Path, root: Path = ROOT) -> list[str]:
    """``file:line`` (relative to ``root``) of each string constant under ``folder``
    with a lazy plural."""
    found: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and LAZY_PLURAL.search(text):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_lazy_plurals_in_what_people_read() -> None:
    for folder in ("app", "wizard_pages", "connectors"):
        assert lazy_plurals(ROOT / folder) == [], folder


def test_the_check_finds_a_lazy_plural(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('x = f"{n} row(s) saved"\ny = "sessions (soon)"\n')
    assert lazy_plurals(tmp_path, tmp_path) == ["m.py:1"]
