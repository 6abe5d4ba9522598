"""The Xero stand-in itself: that it enforces what the connector tests rely on, and that
the OpenAPI check really catches a request Xero's description does not allow."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.standins.clock import VirtualClock
from tests.standins.loopback import LoopbackServer
from tests.standins.openapi import xero_checker
from tests.standins.xero import Organisation, XeroStandIn, main, parse_where

API = "https://api.xero.com/api.xro/2.0"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def standin(clock: VirtualClock) -> XeroStandIn:
    made = XeroStandIn(clock=clock.now)
    made.add_organisation()
    return made


@pytest.fixture
def xero(standin: XeroStandIn) -> Iterator[httpx.Client]:
    org = standin.only_organisation()
    token = standin.auth.issue()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": org.tenant.tenant_id}
    with httpx.Client(transport=standin.transport(), headers=headers) as client:
        yield client


def put(client: httpx.Client, path: str, body: object, **params: str) -> httpx.Response:
    return client.put(f"{API}/{path}", params=params, content=json.dumps(body))


def test_the_openapi_check_catches_what_xero_would_not_accept() -> None:
    checker = xero_checker()
    if checker is None:
        pytest.skip("Xero's OpenAPI description (../shared/specs) is not available")
    bad = httpx.Request(
        "PUT",
        f"{API}/Invoices?summarizeErrors=maybe",
        headers={"Content-Type": "application/json"},
        content=json.dumps(
            {
                "Invoices": [
                    {"Type": "SALES", "Contact": {"ContactID": "nope"}, "LineItem": [], "Total": 5}
                ]
            }
        ).encode(),
    )
    problems = " | ".join(checker.request_problems(bad))
    for expected in (
        "xero-tenant-id",
        "summarizeErrors",
        "'SALES' is not one of",
        "'nope' is not a 'uuid'",
        "LineItem: not a field",
        "Total: read-only",
    ):
        assert expected in problems
    answer = httpx.Response(200, json={"Contacts": [{"ContactID": "x", "IsCustomer": "yes"}]})
    request = httpx.Request("GET", f"{API}/Contacts", headers={"xero-tenant-id": "t"})
    assert checker.response_problems(request, answer)


def test_signed_in_and_connected_only(standin: XeroStandIn, xero: httpx.Client) -> None:
    assert xero.get(f"{API}/Accounts").status_code == 200
    assert xero.get(f"{API}/Accounts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert xero.get(f"{API}/Accounts", headers={"xero-tenant-id": "other"}).status_code == 403
    connections = xero.get("https://api.xero.com/connections").json()
    assert [c["tenantName"] for c in connections] == [standin.only_organisation().name]


def test_minute_and_day_limits_with_retry_after(
    standin: XeroStandIn, xero: httpx.Client, clock: VirtualClock
) -> None:
    for _ in range(60):
        assert xero.get(f"{API}/TaxRates").status_code == 200
    limited = xero.get(f"{API}/TaxRates")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert limited.headers["Retry-After"] == "60"
    clock.advance(30)
    assert xero.get(f"{API}/TaxRates").headers["Retry-After"] == "30"
    clock.advance(30)
    answered = xero.get(f"{API}/TaxRates")
    assert answered.status_code == 200 and answered.headers["X-MinLimit-Remaining"] == "59"
    assert answered.headers["X-DayLimit-Remaining"] == str(5000 - 61)


def test_five_at_once_at_most(standin: XeroStandIn, xero: httpx.Client) -> None:
    standin.only_organisation().in_flight = 5
    limited = xero.get(f"{API}/TaxRates")
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "concurrent"


def test_summarised_errors_save_nothing_and_unsummarised_ones_save_the_rest(
    standin: XeroStandIn, xero: httpx.Client
) -> None:
    org: Organisation = standin.only_organisation()
    body = {"Contacts": [{"Name": "Ada"}, {"Name": "ADA "}]}
    refused = put(xero, "Contacts", body)
    assert refused.status_code == 400 and refused.json()["Type"] == "ValidationException"
    messages = [e["ValidationErrors"] for e in refused.json()["Elements"]]
    assert messages[0] == [] and "already assigned" in messages[1][0]["Message"]
    assert org.contacts == {}
    mixed = put(xero, "Contacts", body, summarizeErrors="false")
    assert mixed.status_code == 200
    assert [c["StatusAttributeString"] for c in mixed.json()["Contacts"]] == ["OK", "ERROR"]
    assert [c["Name"] for c in org.contacts.values()] == ["Ada"]


def test_idempotency_key_replays_and_refuses_reuse_for_another_request(
    standin: XeroStandIn, xero: httpx.Client
) -> None:
    body = {"Contacts": [{"Name": "Ada"}]}
    first = xero.put(f"{API}/Contacts", content=json.dumps(body), headers={"Idempotency-Key": "k"})
    again = xero.put(f"{API}/Contacts", content=json.dumps(body), headers={"Idempotency-Key": "k"})
    assert first.json()["Contacts"][0]["ContactID"] == again.json()["Contacts"][0]["ContactID"]
    assert len(standin.only_organisation().contacts) == 1
    other = xero.put(
        f"{API}/Contacts",
        content=json.dumps({"Contacts": [{"Name": "Bo"}]}),
        headers={"Idempotency-Key": "k"},
    )
    assert other.status_code == 400 and "different request" in other.text


def test_paging_filters_and_post_is_not_for_creating(
    standin: XeroStandIn, xero: httpx.Client
) -> None:
    put(xero, "Contacts", {"Contacts": [{"Name": f"C{n:03d}"} for n in range(150)]})
    page = xero.get(f"{API}/Contacts", params={"page": 2, "pageSize": 100}).json()
    assert page["pagination"] == {"page": 2, "pageSize": 100, "pageCount": 2, "itemCount": 150}
    assert len(page["Contacts"]) == 50
    found = xero.get(f"{API}/Contacts", params={"where": 'Name=="C007"'}).json()["Contacts"]
    assert [c["Name"] for c in found] == ["C007"]
    assert (
        xero.get(f"{API}/Contacts", params={"where": 'Name=="a" OR Name=="b"'}).status_code == 400
    )
    assert xero.post(f"{API}/Contacts", content=b"{}").status_code == 405
    with pytest.raises(ValueError, match="unsupported"):
        parse_where("Total > 5")


def test_served_on_a_real_port_for_a_developer(standin: XeroStandIn) -> None:
    with LoopbackServer(standin) as server:
        answer = httpx.get(f"{server.url}/api.xro/2.0/Accounts")
    assert answer.status_code == 401  # no sign-in: as Xero would answer
    with pytest.raises(SystemExit):
        main(["--help"])
