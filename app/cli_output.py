"""How every ``ledgerlink`` command prints its answer: JSON with ``--json``, else words."""

from __future__ import annotations

import argparse
from typing import Any


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON (keys sorted, anything else as text) when the command was
    given ``--json``, else ``text``."""
    if getattr(args, "json", False):
        import json  # only a command's answer needs it, never the window's start

        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        print(text)
