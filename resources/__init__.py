"""Data files shipped with Ledgerlink, read with :mod:`importlib.resources`."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def resource(*parts: str) -> Traversable:
    """A file under ``resources/``, e.g. ``resource("demo", "customers.csv")``."""
    node: Traversable = files(__name__)
    for part in parts:
        node = node.joinpath(part)
    return node


def read_text(*parts: str) -> str:
    """The text of a UTF-8 resource file."""
    return resource(*parts).read_text(encoding="utf-8")
