"""The Sage 50 bridge's settings, as the app keeps them for the package (text values).

``import_folder``: where import files are written. ``nominal_codes``: Sage's nominal list
as JSON ``[[code, name, type], …]``. ``customers`` / ``suppliers``: Sage's accounts
as JSON ``[{"ref": …, "name": …, "address_1": …}, …]`` (from Sage's own record exports).
``account_refs``: the references Ledgerlink chose for new accounts, JSON
``{"customer:C001": "C001"}``. ``financial_year_start`` and ``lock_date``: ISO dates.
``tax_codes``: JSON ``[[code, percent, name], …]`` when the company's differ from Sage's
defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from connectors.contract import (
    AccountType,
    ContactRole,
    RemoteAccount,
    RemoteContact,
    RemoteTaxRate,
)
from connectors.errors import NotSetUp

FOLDER = "import_folder"
NOMINAL_CODES = "nominal_codes"
ACCOUNT_REFS = "account_refs"
FINANCIAL_YEAR_START = "financial_year_start"
LOCK_DATE = "lock_date"
TAX_CODES = "tax_codes"
ROLE_LISTS = {ContactRole.CUSTOMER: "customers", ContactRole.SUPPLIER: "suppliers"}

#: Sage 50's UK default tax codes (a company can change them: ``tax_codes`` overrides).
DEFAULT_TAX_CODES: tuple[tuple[str, str, str], ...] = (
    ("T0", "0", "T0 Zero rated"),
    ("T1", "20", "T1 Standard rate"),
    ("T2", "0", "T2 Exempt"),
    ("T5", "5", "T5 Reduced rate"),
    ("T9", "0", "T9 Outside the scope (no VAT)"),
)


def account_type(code: str) -> AccountType:
    """The type of a nominal code by Sage's default chart ranges (1200–1299 bank,
    4000–4999 sales, 5000–9999 purchases and overheads)."""
    if not code.isdigit():
        return AccountType.OTHER
    number = int(code)
    if 1200 <= number <= 1299:
        return AccountType.BANK
    if 4000 <= number <= 4999:
        return AccountType.SALES
    if 5000 <= number <= 9999:
        return AccountType.EXPENSE
    return AccountType.OTHER


def _json(settings: Mapping[str, str], key: str, default: Any) -> Any:
    raw = (settings.get(key) or "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise NotSetUp(
            f"The Sage 50 setting {key} is not readable ({exc}); set it again in the wizard."
        ) from exc


def _date(settings: Mapping[str, str], key: str) -> date | None:
    raw = (settings.get(key) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise NotSetUp(f"The Sage 50 setting {key} is not a date: {raw!r}.") from exc


@dataclass(frozen=True)
class BridgeSettings:
    folder: Path | None
    accounts: list[RemoteAccount]
    tax_rates: list[RemoteTaxRate]
    sage_refs: dict[ContactRole, dict[str, RemoteContact]]
    chosen_refs: dict[tuple[ContactRole, str], str] = field(default_factory=dict)
    financial_year_start: date | None = None
    lock_date: date | None = None

    @property
    def financial_year_end(self) -> date | None:
        """The last day of the financial year starting ``financial_year_start`` (28 February
        when it starts on 29 February); ``None`` when the start is not set."""
        start = self.financial_year_start
        if start is None:
            return None
        try:
            following = start.replace(year=start.year + 1)
        except ValueError:  # 29 February
            following = start.replace(year=start.year + 1, day=28)
        return date.fromordinal(following.toordinal() - 1)


_CONTACT_FIELDS = (
    "name",
    "contact_name",
    "address_1",
    "address_2",
    "address_3",
    "town",
    "county",
    "postcode",
    "email",
    "phone",
)


def _contact(role: ContactRole, item: Any) -> RemoteContact:
    if isinstance(item, dict):
        values = {key: str(item.get(key, "")) for key in _CONTACT_FIELDS}
        return RemoteContact(ref=str(item.get("ref", "")), role=role, **values)
    ref, name = item
    return RemoteContact(ref=str(ref), role=role, name=str(name))


def read_settings(settings: Mapping[str, str]) -> BridgeSettings:
    """Everything the bridge needs, checked; :class:`ConnectorError` names a bad setting."""
    folder_text = (settings.get(FOLDER) or "").strip()
    accounts = [
        RemoteAccount(
            id=str(code),
            code=str(code),
            name=str(name),
            type=AccountType(kind)
            if kind in AccountType._value2member_map_
            else account_type(code),
        )
        for code, name, kind in _json(settings, NOMINAL_CODES, [])
    ]
    tax_rows = _json(settings, TAX_CODES, None) or [list(row) for row in DEFAULT_TAX_CODES]
    try:
        tax_rates = [
            RemoteTaxRate(id=str(code), name=str(name), rate=Decimal(str(rate)))
            for code, rate, name in tax_rows
        ]
    except (InvalidOperation, ValueError) as exc:
        raise NotSetUp(f"The Sage 50 setting {TAX_CODES} is not readable.") from exc
    sage_refs = {
        role: {
            contact.ref: contact
            for contact in (_contact(role, item) for item in _json(settings, key, []))
        }
        for role, key in ROLE_LISTS.items()
    }
    chosen: dict[tuple[ContactRole, str], str] = {}
    for key, ref in dict(_json(settings, ACCOUNT_REFS, {})).items():
        role, _, our_ref = str(key).partition(":")
        if role in ContactRole._value2member_map_ and our_ref:
            chosen[(ContactRole(role), our_ref)] = str(ref)
    return BridgeSettings(
        folder=Path(folder_text) if folder_text else None,
        accounts=accounts,
        tax_rates=tax_rates,
        sage_refs=sage_refs,
        chosen_refs=chosen,
        financial_year_start=_date(settings, FINANCIAL_YEAR_START),
        lock_date=_date(settings, LOCK_DATE),
    )
