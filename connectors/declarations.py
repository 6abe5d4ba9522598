"""What a package *is*, as :mod:`connectors.catalogue` declares it: its name, kind,
reference format, rate limits and the fields its Connect page asks for.

Kept apart from :mod:`connectors.contract` (which re-exports every name here) so that
reading the declarations, as the dashboard's first page does for the package's name,
does not build the contract's drafts, records and connector classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class PackageKind(StrEnum):
    DESKTOP = "desktop"
    CLOUD = "cloud"
    PRACTICE = "practice"


# The small value types are named tuples rather than frozen dataclasses: declaring a
# frozen dataclass compiles its generated methods from source (about 1 ms each), and
# these are declared on the way to every start's first page (read by attribute only).


class ParsedReference(NamedTuple):
    """A reference read from what the user typed or pasted."""

    reference: str
    from_url: bool


@dataclass(frozen=True)
class ReferenceFormat:
    """What a package's third-party reference looks like and where a user finds it."""

    label: str
    pattern: str
    example: str
    where_to_find: tuple[str, ...]
    url_patterns: tuple[str, ...] = ()
    #: A web address a user might paste, for help texts and tests ("" when the
    #: package's addresses do not carry the reference).
    url_example: str = ""
    case_sensitive: bool = True

    def parse(self, text: str) -> ParsedReference | None:
        """Read a reference from a raw id or a pasted web address; ``None`` if neither."""
        candidate = text.strip()
        if not candidate:
            return None
        flags = 0 if self.case_sensitive else re.IGNORECASE
        if re.fullmatch(self.pattern, candidate, flags):
            return ParsedReference(candidate, from_url=False)
        for url_pattern in self.url_patterns:
            match = re.search(url_pattern, candidate, flags)
            if match:
                return ParsedReference(match.group(1), from_url=True)
        return None

    def describe_expected(self) -> str:
        """One sentence for a tooltip or an error message."""
        return f"Expected a {self.label}, for example {self.example}."


class RateLimit(NamedTuple):
    """The package's published limits for one connection."""

    per_minute: int
    concurrent: int = 1
    per_day: int | None = None


class ConnectField(NamedTuple):
    """One thing the Connect page must ask for (a folder, a username, a secret…)."""

    key: str
    label: str
    #: "text", "secret", "folder", "oauth" (a sign-in button), "qbwc" (QuickBooks
    #: Desktop's Web Connector) or "memorable_word" (a password, then the memorable
    #: word's characters asked for by position: KashFlow).
    kind: str = "text"
    help: str = ""


@dataclass(frozen=True)
class PackageInfo:
    """Everything the wizard and the send engine need to know about a package."""

    key: str
    name: str
    kind: PackageKind
    reference: ReferenceFormat
    rate_limit: RateLimit
    #: Our contact fields that must equal the package's, character for character
    #: (Sage Business Cloud: name, address and email), before a link is trusted.
    exact_match_fields: tuple[str, ...] = ()
    #: The package links contacts by their exact name (QuickBooks Desktop).
    links_by_name: bool = False
    batch_size: int = 1
    idempotency: bool = False
    can_list_contacts: bool = True
    can_list_accounts: bool = True
    connect_fields: tuple[ConnectField, ...] = ()
    #: Contact names must be unique across customers *and* suppliers (QuickBooks Online).
    names_unique_across_roles: bool = False
    #: Customers and suppliers are separate records, so a business that is both needs
    #: two, each with its own display name (QuickBooks Online). Where one record serves
    #: both roles (Xero), the same name means "link to it" instead.
    roles_are_separate_records: bool = False
    #: A desktop bridge (QuickBooks Desktop's Web Connector, Sage 50's import files) does
    #: not answer a create at once: records are handed over and confirmed later, on
    #: evidence. This is how the dashboard names that in-between state, e.g. "Queued for
    #: QuickBooks"; empty for packages that answer at once.
    handed_over_label: str = ""
    #: Sales lines carry no account: they post through the package's products and
    #: services ("items"), each tied to an income account, so our sales accounts map to
    #: items (QuickBooks Online). A connector that says so implements
    #: :class:`SalesThroughItems`.
    sales_post_through_items: bool = False
    #: Characters the package refuses in a contact's name (QuickBooks Online: ``:``).
    name_forbidden_characters: str = ""
    #: ``"module:ClassName"`` of the connector, for packages Ledgerlink can connect to in
    #: this version (the registry is built from this); ``""`` for listed-only packages.
    connector: str = ""
    #: The package lets a contact's details (not its name) be changed through its API,
    #: which the contact sync wizard needs to write ours → package.
    can_update_contacts: bool = False
