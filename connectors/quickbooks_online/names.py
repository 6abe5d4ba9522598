"""Display names the user chose for QuickBooks Online.

QuickBooks needs every customer, supplier and employee to have a different display name,
so a business that is both our customer and our supplier needs two. Ledgerlink never
invents the second one: the user chooses it, and it is kept in the package's settings
under ``display_names`` as JSON, ``{"supplier:SUP001": "Acme Ltd (supplier)"}``. Our own
record keeps its real name; only the display name sent to QuickBooks differs (the
company name sent beside it stays the real one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from connectors.contract import ContactRole
from connectors.errors import ConnectorError

SETTING = "display_names"

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
        raise ConnectorError(
            f"The QuickBooks {SETTING} setting is not readable ({exc}); choose the display "
            "names again."
        ) from exc
    chosen: DisplayNames = {}
    if isinstance(data, dict):
        for key, name in data.items():
            role, _, ref = str(key).partition(":")
            if role in ContactRole._value2member_map_ and ref and str(name).strip():
                chosen[(ContactRole(role), ref)] = str(name).strip()
    return chosen


def with_display_name(
    settings: Mapping[str, str], role: ContactRole, our_ref: str, name: str
) -> dict[str, str]:
    """``settings`` with the display name for one contact set (``name`` empty: removed)."""
    chosen = {_key(r, ref): n for (r, ref), n in read_display_names(settings).items()}
    cleaned = " ".join(name.split())
    if ":" in cleaned:
        raise ConnectorError(
            f'"{cleaned}" cannot be a QuickBooks display name: QuickBooks does not allow a '
            "colon (:) in names."
        )
    if cleaned:
        chosen[_key(role, our_ref)] = cleaned
    else:
        chosen.pop(_key(role, our_ref), None)
    return {**settings, SETTING: json.dumps(chosen, sort_keys=True)}
