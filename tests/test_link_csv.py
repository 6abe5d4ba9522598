"""``ledgerlink links export|import``: the link table as CSV, checked as the grid checks."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.db.models import Contact, Link, LinkMethod, RecordType, SendState
from app.services.linking.links_csv import export_links, import_links
from app.services.linking.saving import CHANGED_ELSEWHERE, LinkChange, apply_links
from app.services.sending.outbox import entry_for
from app.services.store import Store
from connectors.catalogue import SAGE_BUSINESS_CLOUD, SANDBOX
from connectors.contract import ContactRole
from connectors.sandbox import SandboxConnector
from tests.test_link_support import (
    SAGE_RULE_INFO,
    SageRuleSandbox,
    demo_store_fixture,
    make_demo_template,
    memory_factory,
    remote,
    sandbox_factory,
)

STONEYGATE = "Stoneygate Guest House"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def store(demo_template: Path, tmp_path: Path, store_url: str) -> Iterator[Store]:
    yield from demo_store_fixture(demo_template, tmp_path, store_url)


def sandbox_ref(store: Store, name: str) -> str:
    with sandbox_factory(store)() as connector:
        assert isinstance(connector, SandboxConnector)
        return next(c.ref for c in connector.store.list_contacts() if c.name == name)


def write(path: Path, *rows: tuple[str, str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "account_ref", "package_ref"])
        writer.writerows(rows)
    return path


def links(store: Store) -> dict[str, tuple[str, LinkMethod]]:
    with store.session_factory() as session:
        return {
            account_ref: (ref, method)
            for account_ref, ref, method in session.execute(
                select(Contact.account_ref, Link.remote_ref, Link.method).join(
                    Contact, Contact.id == Link.contact_id
                )
            )
        }


@pytest.mark.both_stores
def test_export_then_import_round_trip(store: Store, tmp_path: Path) -> None:
    ref = sandbox_ref(store, STONEYGATE)
    source = write(tmp_path / "in.csv", ("customer", "CUS0001", ref.lower()))
    report = import_links(
        store.session_factory, SANDBOX, source, connector_factory=sandbox_factory(store)
    )
    assert report.ok and (report.linked, report.unlinked) == (1, 0)
    assert links(store) == {"CUS0001": (ref, LinkMethod.CSV)}  # the package's spelling
    with store.session_factory() as session:
        contact = session.scalars(select(Contact).where(Contact.account_ref == "CUS0001")).one()
        entry = entry_for(session, "sandbox", RecordType.CUSTOMER, contact.id)
        assert entry is not None and entry.state is SendState.SUCCESSFUL
        link = session.scalars(select(Link)).one()
        assert link.remote_name == STONEYGATE
        exported = tmp_path / "out.csv"
        assert export_links(session, "sandbox", exported) == 230
    with exported.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    (linked,) = [r for r in rows if r["package_ref"]]
    assert (linked["account_ref"], linked["package_ref"], linked["method"]) == (
        "CUS0001",
        ref,
        "csv",
    )
    again = import_links(store.session_factory, SANDBOX, exported)
    assert again.ok and again.unchanged == 230 and again.linked == 0


@pytest.mark.both_stores
def test_a_bad_reference_names_the_line_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    ref = sandbox_ref(store, STONEYGATE)
    source = write(
        tmp_path / "in.csv",
        ("customer", "CUS0001", ref),
        ("customer", "CUS0002", "Brookside"),
    )
    report = import_links(store.session_factory, SANDBOX, source)
    assert report.errors == [
        'line 3, column "package_ref": “Brookside” is not a Sandbox contact ID. Expected a '
        "Sandbox contact ID, for example SBX-C000042. The contact's web address in the "
        "package works too."
    ]
    assert links(store) == {}


def test_a_reference_the_package_lacks_is_refused(store: Store, tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", ("customer", "CUS0001", "SBX-C999999"))
    report = import_links(
        store.session_factory, SANDBOX, source, connector_factory=sandbox_factory(store)
    )
    assert report.errors == [
        'line 2, column "package_ref": Sandbox (practice package) has no customer SBX-C999999.'
    ]
    assert links(store) == {}


def test_sage_web_addresses_need_the_package_to_look_them_up(store: Store, tmp_path: Path) -> None:
    url = SAGE_BUSINESS_CLOUD.reference.url_example
    source = write(tmp_path / "in.csv", ("customer", "CUS0001", url))
    report = import_links(store.session_factory, SAGE_BUSINESS_CLOUD, source)
    assert len(report.errors) == 1
    assert "carries Sage Business Cloud Accounting's number 130175300" in report.errors[0]
    assert links(store) == {}

    with store.session_factory() as session:
        ours = session.scalars(select(Contact).where(Contact.account_ref == "CUS0001")).one()
        fields = ("address_1", "address_2", "address_3", "town", "county", "postcode", "email")
        twin = remote(
            SAGE_BUSINESS_CLOUD.reference.example,
            ours.name,
            **{f: getattr(ours, f) for f in fields},
        )
    factory = memory_factory(
        SAGE_BUSINESS_CLOUD, [twin], legacy={"130175300": SAGE_BUSINESS_CLOUD.reference.example}
    )
    report = import_links(
        store.session_factory, SAGE_BUSINESS_CLOUD, source, connector_factory=factory
    )
    assert report.ok, report.errors
    assert links(store) == {"CUS0001": (SAGE_BUSINESS_CLOUD.reference.example, LinkMethod.CSV)}


def test_the_exact_match_rule_applies_to_files_too(store: Store, tmp_path: Path) -> None:
    with sandbox_factory(store)() as connector:
        assert isinstance(connector, SandboxConnector)
        shouty = next(
            c for c in connector.store.list_contacts(ContactRole.CUSTOMER) if c.name.isupper()
        )
    with store.session_factory() as session:
        ours = session.scalars(
            select(Contact).where(Contact.name.ilike(shouty.name), Contact.name != shouty.name)
        ).first()
        assert ours is not None
    source = write(tmp_path / "in.csv", ("customer", ours.account_ref, shouty.ref))
    report = import_links(
        store.session_factory,
        SAGE_RULE_INFO,
        source,
        connector_factory=sandbox_factory(store, SageRuleSandbox),
    )
    assert report.errors == [
        f'line 2, column "package_ref": {ours.name} ({ours.account_ref}): name is '
        f"“{ours.name}” here but “{shouty.name}” in Sage (practice), and Sage (practice) only "
        "accepts a link when they match exactly, capital letters included. Correct one of the "
        "two (the link grid can copy Sage (practice)'s spelling)."
    ]
    assert links(store) == {}


def test_one_reference_for_two_customers_needs_an_explicit_choice(
    store: Store, tmp_path: Path
) -> None:
    ref = sandbox_ref(store, STONEYGATE)
    source = write(tmp_path / "in.csv", ("customer", "CUS0001", ref), ("customer", "CUS0002", ref))
    refused = import_links(store.session_factory, SANDBOX, source)
    assert not refused.ok and refused.linked == 0
    assert refused.errors[0].startswith('line 2, column "package_ref": ')
    assert "--allow-shared-reference" in refused.errors[0]
    assert [s.to_json() for s in refused.shared] == [
        {
            "kind": "customer",
            "package_ref": ref,
            "contacts": ["Stoneygate Guest House (CUS0001)", "Brookside Academy (CUS0002)"],
            "lines": [2, 3],
        }
    ]
    assert links(store) == {}

    report = import_links(
        store.session_factory, SANDBOX, source, dry_run=True, allow_shared_reference=True
    )
    assert report.ok and report.linked == 2
    assert report.warnings == [
        f"Sandbox (practice package)'s {ref} would be linked to more than one customer: "
        "Stoneygate Guest House (CUS0001) and Brookside Academy (CUS0002) (line 2, 3)"
    ]
    assert links(store) == {}  # a dry run writes nothing
    import_links(store.session_factory, SANDBOX, source, allow_shared_reference=True)
    assert links(store)["CUS0002"][0] == ref


@pytest.mark.both_stores
def test_a_link_someone_else_saves_while_the_file_is_checked_is_not_overwritten(
    store: Store, tmp_path: Path
) -> None:
    """The rows as they were when the file was read against the links now: a link saved
    in another window meanwhile refuses the whole file ("changed by someone else")."""
    with sandbox_factory(store)() as connector:
        assert isinstance(connector, SandboxConnector)
        first, second = (c.ref for c in connector.store.list_contacts()[:2])
    with store.session_factory() as session:
        contact_id = session.scalars(
            select(Contact.id).where(Contact.account_ref == "CUS0001")
        ).one()
    source = write(tmp_path / "in.csv", ("customer", "CUS0001", first))
    package = sandbox_factory(store)

    def other_window_saves_then_package() -> Any:
        # The file has been read; while the package is asked, someone else links it.
        with store.session_factory.begin() as session:
            apply_links(session, "sandbox", [LinkChange(contact_id, second)], actor="other")
        return package()

    report = import_links(
        store.session_factory, SANDBOX, source, connector_factory=other_window_saves_then_package
    )
    assert not report.ok and len(report.errors) == 1
    assert CHANGED_ELSEWHERE in report.errors[0] and "CUS0001" in report.errors[0]
    assert links(store) == {"CUS0001": (second, LinkMethod.TYPED)}
    # Read again (now with the other window's link), the same file goes in.
    again = import_links(store.session_factory, SANDBOX, source, connector_factory=package)
    assert again.ok and links(store) == {"CUS0001": (first, LinkMethod.CSV)}
