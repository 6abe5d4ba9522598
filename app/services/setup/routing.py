"""Which set-up wizard page follows which, for each situation: one pure function.

The situations come from the package vendors' own onboarding guides:

1. *new to the package* (no customers or suppliers there yet):
   get started → connect → nominal accounts → review and send; and if the package turns
   out to hold contacts after all, the link pages too, before review and send;
2. *side by side* (both systems already hold contacts):
   get started → connect → nominal accounts → link customers → link suppliers →
   review and send;
3. *package first* (its contacts are imported here once):
   get started → connect → import from package → nominal accounts → link customers →
   link suppliers → review and send. The import links contacts we already hold; the
   link pages settle the ones it could not decide (namesakes, near twins).

Every route that can meet contacts the package already holds has a way to link them.

The page ids are also the names ``ledgerlink --page NAME`` accepts. The wizard's
``nextId`` calls :func:`next_page` (or :func:`next_in` when a quick link opened only some
pages), and the side panel lists :func:`steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for annotations: ``ledgerlink --page`` imports this module, and the window
    # must not pay for importing the ORM before it is shown. Situation is a StrEnum, so
    # its members look up the plain-string keys below.
    from app.db.models import Situation


class Page(StrEnum):
    """A wizard page, named as on the command line."""

    GET_STARTED = "get-started"
    CONNECT = "connect"
    IMPORT_FROM_PACKAGE = "import-from-package"
    NOMINAL_ACCOUNTS = "nominal-accounts"
    LINK_CUSTOMERS = "link-customers"
    LINK_SUPPLIERS = "link-suppliers"
    REVIEW_AND_SEND = "review-and-send"
    #: Keep linked contacts' details in step: reached from the dashboard, on no route.
    SYNC = "sync"
    DASHBOARD = "dashboard"


#: The pages a user sees in the wizard (the dashboard is the main window, not a page).
WIZARD_PAGES: tuple[Page, ...] = tuple(p for p in Page if p is not Page.DASHBOARD)

#: What the side panel calls each page.
TITLES: dict[Page, str] = {
    Page.GET_STARTED: "Get started",
    Page.CONNECT: "Connect",
    Page.IMPORT_FROM_PACKAGE: "Import from the package",
    Page.NOMINAL_ACCOUNTS: "Nominal accounts",
    Page.LINK_CUSTOMERS: "Link customers",
    Page.LINK_SUPPLIERS: "Link suppliers",
    Page.REVIEW_AND_SEND: "Review and send",
    Page.SYNC: "Keep contacts in step",
    Page.DASHBOARD: "Dashboard",
}

_ROUTES: dict[str, tuple[Page, ...]] = {
    "new_to_package": (
        Page.GET_STARTED,
        Page.CONNECT,
        Page.NOMINAL_ACCOUNTS,
        Page.REVIEW_AND_SEND,
    ),
    "side_by_side": (
        Page.GET_STARTED,
        Page.CONNECT,
        Page.NOMINAL_ACCOUNTS,
        Page.LINK_CUSTOMERS,
        Page.LINK_SUPPLIERS,
        Page.REVIEW_AND_SEND,
    ),
    "package_first": (
        Page.GET_STARTED,
        Page.CONNECT,
        Page.IMPORT_FROM_PACKAGE,
        Page.NOMINAL_ACCOUNTS,
        Page.LINK_CUSTOMERS,
        Page.LINK_SUPPLIERS,
        Page.REVIEW_AND_SEND,
    ),
}

#: Situation 1 when Connect finds the package holds contacts after all.
_NEW_BUT_HOLDING = (
    Page.GET_STARTED,
    Page.CONNECT,
    Page.NOMINAL_ACCOUNTS,
    Page.LINK_CUSTOMERS,
    Page.LINK_SUPPLIERS,
    Page.REVIEW_AND_SEND,
)

#: The situations' names (``Situation`` values) without importing the ORM, for the
#: command line's ``--situation`` choices.
SITUATION_NAMES: tuple[str, ...] = tuple(_ROUTES)

#: Before a situation is chosen, only the steps every situation shares are known.
_UNDECIDED: tuple[Page, ...] = (Page.GET_STARTED, Page.CONNECT)


def steps(situation: Situation | None, *, package_holds_contacts: bool = False) -> tuple[Page, ...]:
    """The pages the wizard shows for ``situation``, in order (for the side panel).

    ``package_holds_contacts``: Connect found customers or suppliers in the package, so
    situation 1 needs the link pages as well.
    """
    if situation is None:
        return _UNDECIDED
    if situation == "new_to_package" and package_holds_contacts:
        return _NEW_BUT_HOLDING
    return _ROUTES[situation]


def suggest_situation(package_contacts: int, our_contacts: int) -> str:
    """The situation that fits what each side holds (a ``Situation`` value): the
    package empty → new to the package; only the package holding contacts → package
    first; both → side by side."""
    if package_contacts == 0:
        return "new_to_package"
    if our_contacts == 0:
        return "package_first"
    return "side_by_side"


def next_page(
    situation: Situation | None, current: Page, *, package_holds_contacts: bool = False
) -> Page | None:
    """The page after ``current`` for ``situation``; ``None`` after the last one.

    ``ValueError`` when ``current`` is not a step of that situation (for example the
    import page in situation 1), or when no situation is chosen yet and ``current`` is
    past the steps every situation shares.
    """
    return next_in(steps(situation, package_holds_contacts=package_holds_contacts), current)


def next_in(pages: Sequence[Page], current: Page) -> Page | None:
    """The page after ``current`` in an explicit list of pages (a quick link's)."""
    if current not in pages:
        listed = ", ".join(pages)
        raise ValueError(f"{current} is not one of these wizard steps: {listed}")
    position = pages.index(current)
    return pages[position + 1] if position + 1 < len(pages) else None


def parse_page(name: str) -> Page:
    """The page called ``name`` on the command line; ``ValueError`` naming the choices."""
    try:
        return Page(name.strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in Page)
        raise ValueError(f"there is no page called “{name}”; the pages are: {choices}") from None


#: What each dashboard quick link opens: the pages shown, in order.
QUICK_LINKS: dict[Page, tuple[Page, ...]] = {
    Page.LINK_CUSTOMERS: (Page.LINK_CUSTOMERS, Page.LINK_SUPPLIERS),
    Page.LINK_SUPPLIERS: (Page.LINK_SUPPLIERS,),
    Page.NOMINAL_ACCOUNTS: (Page.NOMINAL_ACCOUNTS,),
    Page.CONNECT: (Page.CONNECT,),
    Page.IMPORT_FROM_PACKAGE: (Page.IMPORT_FROM_PACKAGE,),
    Page.REVIEW_AND_SEND: (Page.REVIEW_AND_SEND,),
    Page.SYNC: (Page.SYNC,),
}


def pages_for_opening(
    situation: Situation | None, page: Page, *, setup_complete: bool
) -> tuple[Page, ...] | None:
    """Which pages the wizard shows when opened straight at ``page``.

    ``None`` means "follow the situation's whole route from ``page``" (set-up not finished
    yet, or the user is changing package or situation, which redoes the later steps); a
    tuple is the quick link's own short list, after which the dashboard returns.
    """
    if page is Page.DASHBOARD:
        raise ValueError("the dashboard is the main window, not a wizard page")
    if page is Page.GET_STARTED:
        return None
    if not setup_complete and page in steps(situation):
        return None
    return QUICK_LINKS[page]
