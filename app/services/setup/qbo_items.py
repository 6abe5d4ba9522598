"""Nominal mapping for packages whose sales post through items
(``PackageInfo.sales_post_through_items``; QuickBooks Online today).

Such a package's sales line carries no income account: the account comes from the
line's product or service (its *item*). So each of our sales accounts is mapped to an
item whose income account is the one the bookkeeper wants — an existing item, or one
Ledgerlink adds, but only when the user has agreed to it. The package is reached through
the contract's optional capability :class:`~connectors.contract.SalesThroughItems`,
never by name.

The convention for ``AccountMapping`` rows of such a package:

- a **sales** account: ``remote_id`` is the item as the connector lists it
  (``RemoteItem.remote_id``; QuickBooks writes ``item:<Item Id>``, as it numbers items and
  accounts separately); ``remote_code`` is its income account's number (empty where the
  company does not number accounts); ``remote_name`` is
  ``"<item> (posts to <income account>)"``;
- a **bank** or expense account: ``remote_id`` is the package's account id, as for
  every other package.

Qt-free; every function may touch the network or the database, so the window calls them
from a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AccountKind, AccountMapping, NominalAccount
from app.services.audit import record_event
from app.services.errors import SetupError
from app.services.setup.mapping import set_mapping
from connectors.contract import (
    AccountType,
    Connector,
    PackageInfo,
    RemoteAccount,
    RemoteItem,
    SalesThroughItems,
    sales_through_items,
)


class ConsentRequired(SetupError):
    """Ledgerlink was asked to add an item to the package without the user's agreement."""


@dataclass(frozen=True)
class ItemChoices:
    """What the Nominal accounts page offers for a sales account: the items that already
    post to an income account, and the income accounts a new item could post to."""

    items: list[RemoteItem]
    income_accounts: list[RemoteAccount]

    def items_posting_to(self, income_account_id: str) -> list[RemoteItem]:
        """The QuickBooks items that post to the income account ``income_account_id``."""
        return [i for i in self.items if i.income_account_id == income_account_id]


class ItemsNotUsed(SetupError):
    """The package posts sales lines to accounts directly: it has no items to map to."""


def _items_of(connector: Connector) -> SalesThroughItems:
    capable = sales_through_items(connector)
    if capable is None:
        raise ItemsNotUsed(
            f"{connector.info.name} posts sales to accounts directly; map sales accounts to "
            "its accounts instead of products and services."
        )
    return capable


def item_choices(connector: Connector) -> ItemChoices:
    """Read the company's items and income accounts (for a worker)."""
    items = _items_of(connector)
    return ItemChoices(items.list_items(), items.list_income_accounts())


def as_remote_account(item: RemoteItem) -> RemoteAccount:
    """An item as the sales target a mapping stores (see the module docstring)."""
    return RemoteAccount(
        id=item.remote_id,
        code=item.income_account_code,
        name=f"{item.name} (posts to {item.income_account_name})",
        type=AccountType.SALES,
    )


def _sales_account(session: Session, code: str) -> NominalAccount:
    ours = session.scalars(
        select(NominalAccount).where(NominalAccount.code == code.strip().upper())
    ).one_or_none()
    if ours is None:
        raise SetupError(f"We have no nominal account with code “{code.strip()}”.")
    if ours.kind is not AccountKind.SALES:
        raise SetupError(
            f"{ours.name} ({ours.code}) is a {ours.kind.value} account; only sales accounts "
            "map to products and services."
        )
    return ours


def map_to_item(
    session: Session, info: PackageInfo, code: str, item: RemoteItem, *, actor: str
) -> AccountMapping:
    """Map our sales account ``code`` to ``item`` of ``info``'s package."""
    if not info.sales_post_through_items:
        raise ItemsNotUsed(f"{info.name} posts sales to accounts directly, not through items.")
    ours = _sales_account(session, code)
    target = as_remote_account(item)
    return set_mapping(
        session,
        info,
        [target],
        ours.code,
        target.id,
        actor=actor,
    )


def create_item_for_account(
    connector: Connector,
    income_account_id: str,
    name: str,
    *,
    consent: bool,
) -> RemoteItem:
    """Add a service item to QuickBooks whose sales post to ``income_account_id``.

    Nothing is sent unless ``consent`` is true: the caller must have asked the user (the
    item appears in QuickBooks' Products and Services list for everyone to use).
    :class:`~connectors.errors.Rejected` when QuickBooks refuses it (say, the name is
    taken).
    """
    cleaned = " ".join(name.split())
    package = connector.info.name
    if not consent:
        raise ConsentRequired(
            f"Ledgerlink adds the product or service “{cleaned}” to {package} only when you "
            f"agree to it. Tick “Add it to {package}” and try again, or choose an existing "
            "one instead."
        )
    key = f"ll-item-{income_account_id.strip()}-{cleaned}"
    return _items_of(connector).create_item(cleaned, income_account_id, key)


def create_and_map(
    session_factory: sessionmaker[Session],
    connector: Connector,
    code: str,
    income_account_id: str,
    name: str,
    *,
    consent: bool,
    actor: str,
) -> RemoteItem:
    """Add an item for an income account (with consent) and map our ``code`` to it;
    the new item (plain data, safe to hand back to the window)."""
    with session_factory() as session:
        _sales_account(session, code)  # refuse before anything is sent to QuickBooks
    item = create_item_for_account(connector, income_account_id, name, consent=consent)
    with session_factory.begin() as session:
        record_event(
            session,
            actor=actor,
            action="qbo_item_created",
            package=connector.info.key,
            item_id=item.id,
            item_name=item.name,
            income_account_id=item.income_account_id,
        )
        map_to_item(session, connector.info, code, item, actor=actor)
    return item
