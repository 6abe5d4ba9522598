"""The wizard's routing: every path of every situation, and the quick links."""

from __future__ import annotations

import pytest

from app.db.models import Situation
from app.services.setup.routing import (
    QUICK_LINKS,
    SITUATION_NAMES,
    TITLES,
    WIZARD_PAGES,
    Page,
    next_in,
    next_page,
    pages_for_opening,
    parse_page,
    steps,
    suggest_situation,
)


def walk(situation: Situation) -> list[Page]:
    """Follow next_page from the first page to the end, as the wizard's nextId does."""
    path = [Page.GET_STARTED]
    while (following := next_page(situation, path[-1])) is not None:
        path.append(following)
        assert len(path) < 20, "routing loops"
    return path


def test_situation_1_new_to_the_package() -> None:
    assert walk(Situation.NEW_TO_PACKAGE) == [
        Page.GET_STARTED,
        Page.CONNECT,
        Page.NOMINAL_ACCOUNTS,
        Page.REVIEW_AND_SEND,
    ]


def test_situation_2_side_by_side() -> None:
    assert walk(Situation.SIDE_BY_SIDE) == [
        Page.GET_STARTED,
        Page.CONNECT,
        Page.NOMINAL_ACCOUNTS,
        Page.LINK_CUSTOMERS,
        Page.LINK_SUPPLIERS,
        Page.REVIEW_AND_SEND,
    ]


def test_situation_3_package_first() -> None:
    assert walk(Situation.PACKAGE_FIRST) == [
        Page.GET_STARTED,
        Page.CONNECT,
        Page.IMPORT_FROM_PACKAGE,
        Page.NOMINAL_ACCOUNTS,
        Page.LINK_CUSTOMERS,
        Page.LINK_SUPPLIERS,
        Page.REVIEW_AND_SEND,
    ]


def test_situation_1_with_a_package_that_holds_contacts_links_them() -> None:
    route = steps(Situation.NEW_TO_PACKAGE, package_holds_contacts=True)
    assert Page.LINK_CUSTOMERS in route and Page.LINK_SUPPLIERS in route
    assert route[-1] is Page.REVIEW_AND_SEND
    assert (
        next_page(Situation.NEW_TO_PACKAGE, Page.NOMINAL_ACCOUNTS, package_holds_contacts=True)
        is Page.LINK_CUSTOMERS
    )


@pytest.mark.parametrize("situation", list(Situation))
def test_every_route_that_can_meet_package_contacts_can_link_them(situation: Situation) -> None:
    route = steps(situation, package_holds_contacts=True)
    assert Page.LINK_CUSTOMERS in route and Page.LINK_SUPPLIERS in route


def test_the_suggested_situation_fits_what_each_side_holds() -> None:
    assert suggest_situation(0, 250) == Situation.NEW_TO_PACKAGE
    assert suggest_situation(184, 0) == Situation.PACKAGE_FIRST
    assert suggest_situation(184, 230) == Situation.SIDE_BY_SIDE


@pytest.mark.parametrize("situation", list(Situation))
def test_steps_match_the_walk_and_end_at_review(situation: Situation) -> None:
    assert list(steps(situation)) == walk(situation)
    assert steps(situation)[-1] is Page.REVIEW_AND_SEND
    assert next_page(situation, Page.REVIEW_AND_SEND) is None


@pytest.mark.parametrize(
    ("situation", "page"),
    [
        (Situation.NEW_TO_PACKAGE, Page.IMPORT_FROM_PACKAGE),
        (Situation.NEW_TO_PACKAGE, Page.LINK_CUSTOMERS),
        (Situation.NEW_TO_PACKAGE, Page.LINK_SUPPLIERS),
        (Situation.SIDE_BY_SIDE, Page.IMPORT_FROM_PACKAGE),
        (Situation.PACKAGE_FIRST, Page.DASHBOARD),
    ],
)
def test_a_page_off_the_route_is_refused(situation: Situation, page: Page) -> None:
    with pytest.raises(ValueError, match=page.value):
        next_page(situation, page)


def test_before_a_situation_is_chosen_only_the_shared_steps_are_known() -> None:
    assert steps(None) == (Page.GET_STARTED, Page.CONNECT)
    assert next_page(None, Page.GET_STARTED) is Page.CONNECT
    with pytest.raises(ValueError):
        next_page(None, Page.NOMINAL_ACCOUNTS)


def test_quick_link_lists() -> None:
    pages = QUICK_LINKS[Page.LINK_CUSTOMERS]
    assert next_in(pages, Page.LINK_CUSTOMERS) is Page.LINK_SUPPLIERS
    assert next_in(pages, Page.LINK_SUPPLIERS) is None
    assert next_in(QUICK_LINKS[Page.NOMINAL_ACCOUNTS], Page.NOMINAL_ACCOUNTS) is None
    with pytest.raises(ValueError):
        next_in(pages, Page.CONNECT)


@pytest.mark.parametrize("situation", [*Situation, None])
def test_opening_at_get_started_always_follows_the_whole_route(
    situation: Situation | None,
) -> None:
    for complete in (False, True):
        assert pages_for_opening(situation, Page.GET_STARTED, setup_complete=complete) is None


def test_opening_at_a_page_during_setup_follows_the_route_from_there() -> None:
    assert (
        pages_for_opening(Situation.SIDE_BY_SIDE, Page.LINK_SUPPLIERS, setup_complete=False) is None
    )
    # Off the route (situation 1 has no link-customers step): just the quick link's pages.
    assert pages_for_opening(
        Situation.NEW_TO_PACKAGE, Page.LINK_CUSTOMERS, setup_complete=False
    ) == (Page.LINK_CUSTOMERS, Page.LINK_SUPPLIERS)


def test_opening_after_setup_shows_only_the_quick_links_pages() -> None:
    assert pages_for_opening(
        Situation.SIDE_BY_SIDE, Page.NOMINAL_ACCOUNTS, setup_complete=True
    ) == (Page.NOMINAL_ACCOUNTS,)
    with pytest.raises(ValueError):
        pages_for_opening(Situation.SIDE_BY_SIDE, Page.DASHBOARD, setup_complete=True)


def test_situation_names_match_the_model() -> None:
    assert tuple(s.value for s in Situation) == SITUATION_NAMES


def test_every_page_has_a_title_and_a_command_line_name() -> None:
    assert set(TITLES) == set(Page)
    assert Page.DASHBOARD not in WIZARD_PAGES
    for page in Page:
        assert parse_page(f" {page.value.upper()} ") is page
    with pytest.raises(ValueError, match="link-suppliers"):
        parse_page("suppliers")
