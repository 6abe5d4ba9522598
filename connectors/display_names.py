"""Second display names the user chose, for packages whose customers and suppliers are
separate records sharing one name space (``PackageInfo.roles_are_separate_records`` and
``names_unique_across_roles``; QuickBooks Online today).

A business that is both our customer and our supplier then needs two names. Ledgerlink
never invents the second one: the user chooses it, and it is kept in the package's
settings under ``display_names`` as JSON, ``{"supplier:SUP001": "Acme Ltd (supplier)"}``.
Our own record keeps its real name; only the display name sent to the package differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from connectors.contract import ContactRole, PackageInfo
from connectors.errors import ConnectorError, NotSetUp

SETTING = "display_names"
_CHARACTER_NAMES = {":": "a colon", ";": "a semicolon", '"': "a double quote", "\t": "a tab"}

DisplayNames = dict[tuple[ContactRole, str], str]


def _key(role: ContactRole, our_ref: str) -> str:
    return f"{role.value}:{our_ref.strip()}"


def read_display_names(settings: Mapping[str, str]) -> DisplayNames:
    """The chosen names by (role, our account reference)."""
    raw = (settings.get(SETTING) or "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise NotSetUp(
            f"The {SETTING} setting is not readable ({exc}); choose the display names again."
        ) from exc
    chosen: DisplayNames = {}
    if isinstance(data, dict):
        for key, name in data.items():
            role, _, ref = str(key).partition(":")
            if role in ContactRole._value2member_map_ and ref and str(name).strip():
                chosen[(ContactRole(role), ref)] = str(name).strip()
    return chosen


def with_display_name(
    settings: Mapping[str, str], role: ContactRole, our_ref: str, name: str, info: PackageInfo
) -> dict[str, str]:
    """``settings`` with the display name for one contact set (``name`` empty: removed);
    refused when it holds a character ``info``'s package does not allow in names."""
    chosen = {_key(r, ref): n for (r, ref), n in read_display_names(settings).items()}
    cleaned = " ".join(name.split())
    bad = sorted({c for c in cleaned if c in info.name_forbidden_characters})
    if bad:
        shown = ", ".join(f"{_CHARACTER_NAMES.get(c, 'the character')} ({c})" for c in bad)
        raise ConnectorError(
            f'"{cleaned}" cannot be a {info.name} display name: {info.name} does not allow '
            f"{shown} in names."
        )
    if cleaned:
        chosen[_key(role, our_ref)] = cleaned
    else:
        chosen.pop(_key(role, our_ref), None)
    return {**settings, SETTING: json.dumps(chosen, sort_keys=True)}
