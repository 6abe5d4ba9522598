"""The matching rules behind the link workbench: reading references, names with their
differences, exact-match auto-linking, suggestions, duplicates and the exact-match rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.services.linking.matching import (
    Difference,
    Evidence,
    KeyIndex,
    OurContact,
    PackageIndex,
    Reading,
    TheirContact,
    compare_exact,
    describe_differences,
    details_match,
    diff_segments,
    duplicate_groups,
    exact_columns,
    exact_matches,
    house_key,
    name_differences,
    name_key,
    name_matches,
    read_reference,
    suggest,
)
from connectors.catalogue import (
    KASHFLOW,
    PACKAGES,
    QUICKBOOKS_DESKTOP,
    QUICKBOOKS_ONLINE,
    SAGE_BUSINESS_CLOUD,
    SANDBOX,
    XERO,
)


def ours(i: int, name: str, **fields: str) -> OurContact:
    return OurContact(id=i, account_ref=f"CUS{i:04d}", name=name, **fields)


def theirs(ref: str, name: str, **fields: str) -> TheirContact:
    return TheirContact(ref=ref, name=name, **fields)


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("info", PACKAGES, ids=lambda i: i.key)
def test_every_package_reads_its_own_example_reference(info: object) -> None:
    from connectors.contract import PackageInfo

    assert isinstance(info, PackageInfo)
    reading = read_reference(info, f"  {info.reference.example} ")
    assert reading.kind is Reading.OK
    assert reading.value == info.reference.example
    assert not reading.from_url


@pytest.mark.parametrize(
    "info", [p for p in PACKAGES if p.reference.url_example], ids=lambda i: i.key
)
def test_every_package_with_web_addresses_reads_the_id_out_of_one(info: object) -> None:
    from connectors.contract import PackageInfo

    assert isinstance(info, PackageInfo)
    reading = read_reference(info, info.reference.url_example)
    assert reading.from_url
    if info is SAGE_BUSINESS_CLOUD:
        # Sage's web address carries its legacy number, looked up in Sage.
        assert reading.kind is Reading.NEEDS_LOOKUP
        assert reading.value == "130175300"
        assert "looks it up in Sage" in reading.message
    else:
        assert reading.kind is Reading.OK
        assert info.reference.url_example.endswith(reading.value) or (
            f"={reading.value}" in info.reference.url_example
        )


def test_an_invalid_reference_says_what_is_expected() -> None:
    reading = read_reference(XERO, "not-a-contact")
    assert reading.kind is Reading.INVALID
    assert reading.value == "not-a-contact"
    assert "“not-a-contact” is not a Xero ContactID" in reading.message
    assert XERO.reference.example in reading.message


def test_a_web_address_for_a_package_whose_addresses_carry_no_reference() -> None:
    reading = read_reference(KASHFLOW, "https://app.kashflow.com/#customers/12")
    assert reading.kind is Reading.INVALID
    assert "KashFlow's web addresses do not carry" in reading.message


def test_blank_is_no_reference() -> None:
    assert read_reference(SANDBOX, "   ").kind is Reading.EMPTY


def test_a_case_insensitive_reference_is_found_in_the_packages_spelling() -> None:
    index = PackageIndex([theirs("SBX-C000042", "Acme")], SANDBOX)
    assert index.position_of("sbx-c000042") == 0
    sage = PackageIndex([theirs("cced5085c2d24394a758c5d16b38fca1", "Acme")], SAGE_BUSINESS_CLOUD)
    assert sage.position_of("CCED5085C2D24394A758C5D16B38FCA1") is None


def test_a_link_by_name_package_uses_the_name_as_the_reference() -> None:
    info = replace(QUICKBOOKS_DESKTOP, can_list_contacts=True)
    index = PackageIndex([theirs("80000001-1", "Acme Heating Ltd")], info)
    assert index.position_of("Acme Heating Ltd") == 0
    assert index.position_of("Acme  Heating Ltd") is None
    assert index.reference_of(index.contacts[0]) == "Acme Heating Ltd"


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Acme Ltd", "Acme Ltd", ()),
        ("ACME LTD", "Acme Ltd", (Difference.CASE,)),
        ("Acme  Ltd", "Acme Ltd", (Difference.SPACING,)),
        ("A&B Plumbing", "A & B Plumbing", (Difference.SPACING,)),
        ("Smith & Sons", "Smith and Sons", (Difference.PUNCTUATION,)),
        ("Chloe O'Brien", "Chloe OBrien", (Difference.PUNCTUATION,)),
        ("Acme Ltd.", "Acme Ltd", (Difference.PUNCTUATION,)),
        ("Acme Ltd", "Acme Limited", (Difference.LTD,)),
        ("A&B Ltd", "a & b limited", (Difference.CASE, Difference.SPACING, Difference.LTD)),
        ("Acme Ltd", "Apex Ltd", (Difference.OTHER,)),
    ],
)
def test_name_differences(a: str, b: str, expected: tuple[Difference, ...]) -> None:
    assert name_differences(a, b) == expected
    assert (name_key(a) == name_key(b)) is (Difference.OTHER not in expected)


def test_differences_in_words() -> None:
    assert describe_differences([Difference.CASE]) == "capital letters differ"
    assert describe_differences([Difference.PUNCTUATION]) == "punctuation differs"
    assert (
        describe_differences([Difference.CASE, Difference.SPACING, Difference.LTD])
        == "capital letters, spaces and Ltd / Limited differ"
    )


def test_house_key_is_postcode_and_first_number() -> None:
    a = ours(1, "A", address_1="Unit 14", address_2="102 Regent Street", postcode="le18 7xx")
    b = theirs("x", "B", address_1="Unit 14, 102 Regent St", postcode="LE187XX")
    assert house_key(a) == house_key(b) == "LE187XX|14"
    assert house_key(ours(2, "C", address_1="The Old Mill", postcode="LE1 1AA")) == ""


# ----------------------------------------------------------------------------- auto-link


def index_of(*contacts: TheirContact) -> PackageIndex:
    return PackageIndex(list(contacts), SANDBOX)


def test_exact_matches_link_a_name_equal_to_exactly_one_record() -> None:
    our_list = [ours(1, "Acme Heating Ltd", postcode="LE1 1AA"), ours(2, "Brook Dental")]
    index = index_of(
        theirs("T1", "Acme Heating Ltd", postcode="LE1 1AA"), theirs("T2", "BROOK DENTAL")
    )
    outcome = exact_matches(our_list, [0, 1], index, lambda _: False)
    assert outcome.links == ((0, 0),)  # capitals count: Brook Dental is not an exact match
    assert outcome.namesakes == outcome.contradicted == ()


def test_namesakes_in_the_package_are_never_linked_automatically() -> None:
    our_list = [ours(1, "John Smith"), ours(2, "Jane Doe")]
    index = index_of(
        theirs("T1", "John Smith"), theirs("T2", "John Smith"), theirs("T3", "Jane Doe")
    )
    outcome = exact_matches(our_list, [0, 1], index, lambda _: False)
    assert outcome.links == ((1, 2),)
    assert outcome.namesakes == (0,)


def test_namesakes_on_our_side_are_never_linked_automatically() -> None:
    our_list = [ours(1, "David Jones"), ours(2, "David Jones")]
    outcome = exact_matches(
        our_list, [0, 1], index_of(theirs("T1", "David Jones")), lambda _: False
    )
    assert outcome.links == ()
    assert outcome.namesakes == (0, 1)


def test_a_same_name_record_at_another_postcode_is_left_for_the_user() -> None:
    our_list = [ours(1, "Amrit Wilson", postcode="LE11 4SQ")]
    index = index_of(theirs("T1", "Amrit Wilson", postcode="CA1 1QW"))
    outcome = exact_matches(our_list, [0], index, lambda _: False)
    assert outcome.links == ()
    assert outcome.contradicted == (0,)


def test_a_record_already_linked_to_another_of_ours_is_not_taken_again() -> None:
    outcome = exact_matches(
        [ours(1, "Acme")], [0], index_of(theirs("T1", "Acme")), {0}.__contains__
    )
    assert outcome.links == ()
    assert outcome.namesakes == (0,)


def test_the_exact_match_rule_holds_back_a_same_name_link_with_other_details() -> None:
    fields = SAGE_BUSINESS_CLOUD.exact_match_fields
    our_list = [ours(1, "Acme", email="a@acme.example"), ours(2, "Brook", email="b@x.example")]
    index = index_of(
        theirs("T1", "Acme", email="A@acme.example"), theirs("T2", "Brook", email="b@x.example")
    )
    outcome = exact_matches(our_list, [0, 1], index, lambda _: False, exact_fields=fields)
    assert outcome.links == ((1, 1),)
    assert outcome.contradicted == (0,)


def test_matches_worked_out_ahead_give_the_same_outcome() -> None:
    fields = SAGE_BUSINESS_CLOUD.exact_match_fields
    our_list = [
        ours(1, "Acme", email="a@acme.example"),  # the rule's details differ
        ours(2, "Brook", email="b@x.example"),  # linked
        ours(3, "David Jones"),  # namesakes on our side
        ours(4, "David Jones"),
        ours(5, "John Smith"),  # namesakes in the package
        ours(6, "Amrit Wilson", postcode="LE11 4SQ"),  # another postcode
        ours(7, "Taken Ltd"),  # its record is linked to another of ours
        ours(8, "Nobody There"),
    ]
    index = index_of(
        theirs("T1", "Acme", email="A@acme.example"),
        theirs("T2", "Brook", email="b@x.example"),
        theirs("T3", "David Jones"),
        theirs("T4", "John Smith"),
        theirs("T5", "John Smith"),
        theirs("T6", "Amrit Wilson", postcode="CA1 1QW"),
        theirs("T7", "Taken Ltd"),
    )
    taken = {6}.__contains__
    ahead = name_matches(our_list, index, exact_fields=fields)
    for rows in (range(8), [7, 6, 1, 0], [2]):
        outcome = exact_matches(our_list, rows, index, taken, exact_fields=fields)
        assert (
            exact_matches(our_list, rows, index, taken, exact_fields=fields, matches=ahead)
            == outcome
        )
    assert outcome.namesakes == (2,)
    outcome = exact_matches(our_list, range(8), index, taken, exact_fields=fields, matches=ahead)
    assert outcome.links == ((1, 1),)
    assert outcome.namesakes == (2, 3, 4, 6)
    assert outcome.contradicted == (0, 5)


# ----------------------------------------------------------------------------- suggestions


def suggestions_for(our_list: list[OurContact], *their_list: TheirContact, **kw: object) -> list:
    index = index_of(*their_list)
    keys = KeyIndex.build(index.contacts)
    return suggest(our_list, range(len(our_list)), index, keys, lambda _: False, **kw)  # type: ignore[arg-type]


def test_a_near_miss_with_the_same_email_is_a_strong_suggestion() -> None:
    found = suggestions_for(
        [ours(1, "Clarendon Park Dental Care Ltd", email="accounts@cpdc.example")],
        theirs("T1", "Clarendon Park Dental Care Limited", email="Accounts@cpdc.example"),
    )
    assert len(found) == 1
    assert found[0].strong
    assert found[0].evidence == (Evidence.NAME_NEAR, Evidence.SAME_EMAIL)
    assert found[0].describe() == "name: Ltd / Limited differs; same email"


def test_a_near_miss_with_nothing_else_in_common_is_only_possible() -> None:
    found = suggestions_for([ours(1, "Claire Hill")], theirs("T1", "CLAIRE HILL"))
    assert [s.strong for s in found] == [False]
    assert "only the name matches" in found[0].describe()


def test_same_email_and_house_without_the_name_is_offered_but_not_strong() -> None:
    found = suggestions_for(
        [
            ours(
                1, "Bean Cafe", email="hi@bean.example", address_1="54 Brook St", postcode="LE2 5JT"
            )
        ],
        theirs(
            "T1",
            "The Coffee Bean",
            email="hi@bean.example",
            address_1="54 Brook Street",
            postcode="LE2 5JT",
        ),
    )
    assert [s.evidence for s in found] == [(Evidence.SAME_EMAIL, Evidence.SAME_HOUSE)]
    assert not found[0].strong


def test_a_namesake_elsewhere_comes_with_a_caution() -> None:
    found = suggestions_for(
        [ours(1, "Amrit Wilson", address_1="20 Church Lane", postcode="LE11 4SQ")],
        theirs("T1", "Amrit Wilson", address_1="12 Station Road", postcode="CA1 1QW"),
    )
    assert not found[0].strong
    assert "postcodes differ" in found[0].caution


def test_one_record_fitting_two_of_ours_is_never_strong() -> None:
    found = suggestions_for(
        [
            ours(1, "J. Patel", email="jp@example.com"),
            ours(2, "J Patel", email="jp@example.com"),
        ],
        theirs("T1", "J PATEL", email="jp@example.com"),
    )
    assert len(found) == 2
    assert not any(s.strong for s in found)
    assert all("also fits another of yours" in s.caution for s in found)


def test_a_widely_shared_email_proves_nothing() -> None:
    their_list = [
        theirs(f"T{i}", f"Customer {i}", email="accounts@agent.example") for i in range(5)
    ]
    assert (
        suggestions_for([ours(1, "Someone Else", email="accounts@agent.example")], *their_list)
        == []
    )


# ----------------------------------------------------------------------------- duplicates


def test_duplicates_within_one_list() -> None:
    contacts = [
        ours(1, "Acme Heating Ltd"),
        ours(2, "ACME HEATING LIMITED"),
        ours(3, "David Jones", email="dj@example.com"),
        ours(4, "David Jones"),
        ours(5, "Darren Bishop", email="bishop.family@example.net"),
        ours(6, "Sanjay Bishop", email="bishop.family@example.net"),
        ours(7, "Unique Name"),
    ]
    groups = {g.members: g.reason for g in duplicate_groups(contacts)}
    assert groups == {
        (0, 1): "names where only capital letters and Ltd / Limited differ",
        (2, 3): "the same name",
        (4, 5): "the same email address",
    }


# ----------------------------------------------------------------------------- exact match


def test_compare_marks_the_differing_characters() -> None:
    columns = exact_columns(SAGE_BUSINESS_CLOUD)
    assert columns == (
        "name",
        "address_1",
        "address_2",
        "address_3",
        "town",
        "county",
        "postcode",
        "email",
    )
    a = ours(1, "Alan Kowalski", address_1="8 London Road", town="Leicester")
    b = theirs("T1", "ALAN KOWALSKI", address_1="8  London Road", town="Leicester")
    comparisons = {c.column: c for c in compare_exact(columns, a, b)}
    assert comparisons["town"].equal
    assert comparisons["name"].differences == (Difference.CASE,)
    differing = [s.text for s in comparisons["name"].our_segments if s.differs]
    assert differing == ["lan", "owalski"]
    assert [s.text for s in comparisons["name"].their_segments if s.differs] == ["LAN", "OWALSKI"]
    assert comparisons["address_1"].differences == (Difference.SPACING,)
    # The extra space: shown on their side, and a marker where ours lacks it.
    assert [s.text for s in comparisons["address_1"].their_segments if s.differs] == [" "]
    assert [s.text for s in comparisons["address_1"].our_segments if s.differs] == [""]
    assert not details_match(SAGE_BUSINESS_CLOUD.exact_match_fields, a, b)
    assert details_match(
        SAGE_BUSINESS_CLOUD.exact_match_fields, a, b._replace(name=a.name, address_1=a.address_1)
    )


def test_diff_segments_of_equal_values_are_one_run() -> None:
    left, right = diff_segments("Leicester", "Leicester")
    assert [(s.text, s.differs) for s in left] == [("Leicester", False)]
    assert left == right


def test_quickbooks_online_reference_from_its_address() -> None:
    reading = read_reference(
        QUICKBOOKS_ONLINE, "https://app.qbo.intuit.com/app/customerdetail?nameId=58"
    )
    assert (reading.kind, reading.value, reading.from_url) == (Reading.OK, "58", True)
