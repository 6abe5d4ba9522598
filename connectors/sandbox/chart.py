"""The Sandbox's default UK chart of accounts and VAT rates.

Account ids are deliberately *not* the codes (``SBX-A4000`` is the id of account code
``4000``), as in real packages where an account has an id of its own: a draft that
carries a code where an id belongs is refused, just as Xero or Sage would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connectors.contract import AccountType, RemoteAccount, RemoteTaxRate

ACCOUNT_ID_PREFIX = "SBX-A"


def account_id_for_code(code: str) -> str:
    """The Sandbox's id of the account with this code (``"4000"`` → ``"SBX-A4000"``)."""
    return f"{ACCOUNT_ID_PREFIX}{code}"


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: AccountType

    @property
    def id(self) -> str:
        """The account's Sandbox id, derived from its code."""
        return account_id_for_code(self.code)

    def remote(self) -> RemoteAccount:
        """The account as a connector lists it."""
        return RemoteAccount(id=self.id, code=self.code, name=self.name, type=self.type)


DEFAULT_ACCOUNTS: tuple[ChartAccount, ...] = (
    ChartAccount("1100", "Debtors control", AccountType.OTHER),
    ChartAccount("1200", "Bank current account", AccountType.BANK),
    ChartAccount("1210", "Bank deposit account", AccountType.BANK),
    ChartAccount("2100", "Creditors control", AccountType.OTHER),
    ChartAccount("2200", "VAT liability", AccountType.OTHER),
    ChartAccount("4000", "Sales", AccountType.SALES),
    ChartAccount("4010", "Sales – labour", AccountType.SALES),
    ChartAccount("4020", "Sales – materials", AccountType.SALES),
    ChartAccount("4900", "Other income", AccountType.SALES),
    ChartAccount("5000", "Materials purchased", AccountType.EXPENSE),
    ChartAccount("7100", "Rent", AccountType.EXPENSE),
    ChartAccount("7500", "Vehicle running costs", AccountType.EXPENSE),
    ChartAccount("7900", "Bank charges", AccountType.EXPENSE),
)

DEFAULT_TAX_RATES: tuple[RemoteTaxRate, ...] = (
    RemoteTaxRate(id="T1", name="Standard 20%", rate=Decimal("20.00")),
    RemoteTaxRate(id="T2", name="Reduced 5%", rate=Decimal("5.00")),
    RemoteTaxRate(id="T3", name="Zero rated 0%", rate=Decimal("0.00")),
    RemoteTaxRate(id="T4", name="Exempt 0%", rate=Decimal("0.00")),
    RemoteTaxRate(id="T5", name="No VAT 0%", rate=Decimal("0.00")),
)

#: Handy ids for tests and the demo.
SALES_ACCOUNT_ID = account_id_for_code("4000")
BANK_ACCOUNT_ID = account_id_for_code("1200")
STANDARD_RATE_ID = "T1"
