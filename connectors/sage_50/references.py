"""Sage 50 account references: at most 8 characters, upper-case, no spaces.

Sage silently upper-cases, removes spaces and cuts references to 8 characters on import,
so two different references of ours can become one of Sage's. Ledgerlink therefore writes
the reference Sage would keep, and proposes a different one when that is taken.
"""

from __future__ import annotations

import re
from collections.abc import Collection

MAX_LENGTH = 8
#: The characters Sage keeps in an account reference (letters, digits and a few symbols;
#: Ledgerlink leaves out the comma and the double quote, which CSV would need quoted).
_ALLOWED = re.compile(r"[A-Z0-9#_/!%&.\-$()']")
SHAPE = re.compile(r"[A-Z0-9#_/!%&.\-$()']{1,8}")


def as_sage_keeps_it(text: str) -> str:
    """What Sage 50 would store for ``text``: upper-cased, spaces removed, 8 characters."""
    return "".join(text.upper().split())[:MAX_LENGTH]


def normalise(text: str) -> str:
    """``text`` as a reference Sage keeps unchanged: allowed characters only, upper-case,
    at most 8 characters ('' when nothing usable is left)."""
    kept = "".join(ch for ch in text.upper() if _ALLOWED.fullmatch(ch))
    return kept[:MAX_LENGTH]


def is_valid(reference: str) -> bool:
    """Whether Sage 50 would keep ``reference`` exactly as written."""
    return bool(SHAPE.fullmatch(reference))


def propose(our_ref: str, name: str, taken: Collection[str]) -> str:
    """A reference for a new account: our own reference as Sage keeps it, else one built
    from the name, with a number at the end until it is free (never one in ``taken``)."""
    for base in (normalise(our_ref), normalise(re.sub(r"[^A-Za-z0-9]", "", name))):
        if base and base not in taken:
            return base
    stem = normalise(re.sub(r"[^A-Za-z0-9]", "", name)) or normalise(our_ref) or "ACC"
    for number in range(1, 10**6):
        suffix = f"{number:02d}"
        candidate = stem[: MAX_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise ValueError("no free account reference")  # pragma: no cover - 10**6 tries
