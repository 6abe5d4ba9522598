"""app.services.setup.signin: the Connect page's sign-in, end to end over real sockets against
a local Xero (authorisation server, organisations, API) — tokens end up in the keyring
and nowhere else: not in the database file, not in the log file."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backends import fail
from sqlalchemy.orm import Session, sessionmaker

from app.config import DataPaths
from app.db.models import Situation
from app.logging_setup import MASK, configure_logging
from app.secrets import SERVICE, NoKeyringError
from app.services.errors import SetupError
from app.services.setup.connections import active_connector
from app.services.setup.signin import (
    Organisation,
    choose_organisation,
    list_organisations,
    package_settings,
    sign_in_status,
    sign_out,
    start_sign_in,
)
from app.services.setup.state import (
    COMPANY_NAME,
    choose_package,
    get_setting,
    package_settings_key,
    set_setting,
)
from connectors.oauth import SignInError
from tests.conftest import MemoryKeyring
from tests.standins.loopback import LoopbackServer
from tests.standins.xero import XeroStandIn


@pytest.fixture
def xero(session_factory: sessionmaker[Session]) -> Iterator[XeroStandIn]:
    """A local Xero on a loopback port, with two organisations, that the stored Xero
    settings point at."""
    standin = XeroStandIn()
    standin.add_organisation("Hill Heating Ltd", "!HiLL1")
    standin.add_organisation("Hill Heating (Old Books) Ltd", "!HiLL2")
    with LoopbackServer(standin) as server:
        with session_factory.begin() as session:
            set_setting(
                session,
                package_settings_key("xero"),
                {
                    "endpoint": server.url,
                    "client_id": standin.auth.client_id,
                    "redirect_ports": "0",
                },
            )
        yield standin


@pytest.fixture
def log_file(data_paths: DataPaths) -> Iterator[Path]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    configure_logging(data_paths.logs, verbose=True)
    yield data_paths.logs / "ledgerlink.log"
    for handler in root.handlers:
        if handler not in before:
            handler.close()
            root.removeHandler(handler)
    root.setLevel(level)


def browse(url: str) -> str:
    """The system browser: opens the sign-in page, follows it back to Ledgerlink."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as refused:
        return str(refused.read().decode("utf-8"))


def test_sign_in_pick_an_organisation_and_tokens_live_only_in_the_keyring(
    xero: XeroStandIn,
    data_paths: DataPaths,
    session_factory: sessionmaker[Session],
    memory_keyring: MemoryKeyring,
    log_file: Path,
) -> None:
    signin = start_sign_in(data_paths, session_factory, "xero")
    try:
        assert signin.redirect_uri.startswith("http://localhost:")
        assert "code_challenge=" in signin.url and "state=" in signin.url
        assert "close this tab" in browse(signin.url)
        organisations = signin.wait_for_browser(timeout=10)
    finally:
        signin.close()
    assert [o.name for o in organisations] == [
        "Hill Heating Ltd",
        "Hill Heating (Old Books) Ltd",
    ]
    # Two organisations: none is chosen until the user picks.
    assert "tenant_id" not in package_settings(session_factory, "xero")

    chosen = organisations[1]
    company = choose_organisation(data_paths, session_factory, "xero", chosen)
    assert company.name == "Hill Heating (Old Books) Ltd"
    settings = package_settings(session_factory, "xero")
    assert settings["tenant_id"] == chosen.id
    with session_factory.begin() as session:
        assert get_setting(session, COMPANY_NAME) == "Hill Heating (Old Books) Ltd"
        choose_package(session, "xero", Situation.NEW_TO_PACKAGE)

    # The app's own connector now reaches the chosen organisation with those tokens.
    with active_connector(data_paths, session_factory) as connector:
        assert connector.connect().name == "Hill Heating (Old Books) Ltd"
        assert connector.list_accounts()

    issued = xero.auth.issued  # the code and every token handed out
    stored = {name: value for (service, name), value in memory_keyring.entries.items()}
    assert {service for service, _ in memory_keyring.entries} == {SERVICE}
    assert stored["xero.access_token"] in issued and stored["xero.refresh_token"] in issued
    for handler in logging.getLogger().handlers:
        handler.flush()
    log_text = log_file.read_text(encoding="utf-8")
    assert "signed in" in log_text  # the log is written, just not with secrets…
    assert MASK not in log_text  # …and nothing even tried to log one
    database = b"".join(p.read_bytes() for p in data_paths.root.glob("ledgerlink.db*"))
    for secret in issued:
        assert secret not in log_text
        assert secret.encode() not in database
    assert chosen.id.encode() in database  # the non-secret choice is what the DB keeps


def test_one_organisation_is_chosen_without_asking(
    data_paths: DataPaths, session_factory: sessionmaker[Session]
) -> None:
    standin = XeroStandIn()
    only = standin.add_organisation("Solo Plumbing Ltd")
    with LoopbackServer(standin) as server:
        with session_factory.begin() as session:
            set_setting(
                session,
                package_settings_key("xero"),
                {
                    "endpoint": server.url,
                    "client_id": standin.auth.client_id,
                    "redirect_ports": "0",
                },
            )
        signin = start_sign_in(data_paths, session_factory, "xero")
        browse(signin.url)
        assert signin.wait_for_browser(timeout=10) == [
            Organisation(only.tenant.tenant_id, "Solo Plumbing Ltd")
        ]
        signin.close()
    assert sign_in_status(data_paths, session_factory, "xero").organisation_name == (
        "Solo Plumbing Ltd"
    )


def test_pasting_the_address_finishes_the_sign_in(
    xero: XeroStandIn, data_paths: DataPaths, session_factory: sessionmaker[Session]
) -> None:
    signin = start_sign_in(data_paths, session_factory, "xero")
    try:
        with httpx.Client() as browser:  # the browser got the redirect but never came back
            sent_to = browser.get(signin.url).headers["Location"]
        with pytest.raises(SignInError, match="different sign-in"):
            signin.complete_with_pasted_address(sent_to.replace("state=", "state=x"))
        organisations = signin.complete_with_pasted_address(sent_to)
        with pytest.raises(SetupError, match="already finished"):
            signin.complete_with_pasted_address(sent_to)
    finally:
        signin.close()
    assert len(organisations) == 2
    assert list_organisations(data_paths, session_factory, "xero") == organisations


def test_signing_out_deletes_the_tokens_and_the_choice(
    xero: XeroStandIn,
    data_paths: DataPaths,
    session_factory: sessionmaker[Session],
    memory_keyring: MemoryKeyring,
) -> None:
    signin = start_sign_in(data_paths, session_factory, "xero")
    browse(signin.url)
    organisations = signin.wait_for_browser(timeout=10)
    signin.close()
    choose_organisation(data_paths, session_factory, "xero", organisations[0])
    status = sign_in_status(data_paths, session_factory, "xero")
    assert status.signed_in and status.organisation_id == organisations[0].id

    sign_out(data_paths, session_factory, "xero")

    assert memory_keyring.entries == {}
    status = sign_in_status(data_paths, session_factory, "xero")
    assert not status.signed_in and status.organisation_id == ""
    assert package_settings(session_factory, "xero")["client_id"]  # settings kept


def test_no_keyring_is_reported_before_the_browser_opens(
    xero: XeroStandIn, data_paths: DataPaths, session_factory: sessionmaker[Session]
) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoKeyringError, match="gnome-keyring"):
        start_sign_in(data_paths, session_factory, "xero")


def test_missing_client_id_says_where_to_set_it(
    data_paths: DataPaths, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGERLINK_XERO_CLIENT_ID", raising=False)
    with pytest.raises(SignInError, match="LEDGERLINK_XERO_CLIENT_ID"):
        start_sign_in(data_paths, session_factory, "xero")


def test_packages_without_a_sign_in_page_are_refused(
    data_paths: DataPaths, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(SetupError, match="does not use a sign-in page"):
        start_sign_in(data_paths, session_factory, "sandbox")
    with pytest.raises(SetupError, match="does not use a sign-in page"):
        start_sign_in(data_paths, session_factory, "kashflow")  # a memorable word instead
    with pytest.raises(SetupError, match="Sage 50 Accounts does not use a sign-in page"):
        start_sign_in(data_paths, session_factory, "sage_50")  # a folder of import files


def test_freeagent_signs_in_through_the_browser_and_a_loopback_redirect(
    data_paths: DataPaths, session_factory: sessionmaker[Session], memory_keyring: MemoryKeyring
) -> None:
    """Like Xero: the system browser, FreeAgent's approve page, back to a loopback
    listener; the client secret from the keyring goes as HTTP Basic; tokens only in the
    keyring; one company, chosen without asking."""
    from tests.standins.freeagent import CLIENT_SECRET, FreeAgentStandIn

    standin = FreeAgentStandIn()
    standin.add_company("Solo Plumbing Ltd")
    memory_keyring.set_password(SERVICE, "freeagent.client_secret", CLIENT_SECRET)
    with LoopbackServer(standin) as server:
        with session_factory.begin() as session:
            set_setting(
                session,
                package_settings_key("freeagent"),
                {
                    "endpoint": server.url,
                    "client_id": standin.auth.client_id,
                    "redirect_ports": "0",
                },
            )
        signin = start_sign_in(data_paths, session_factory, "freeagent")
        try:
            assert "/v2/approve_app?" in signin.url
            assert signin.redirect_uri.startswith("http://localhost:")
            browse(signin.url)
            organisations = signin.wait_for_browser(timeout=10)
        finally:
            signin.close()
        assert [o.name for o in organisations] == ["Solo Plumbing Ltd"]
        status = sign_in_status(data_paths, session_factory, "freeagent")
    assert status.signed_in and status.organisation_name == "Solo Plumbing Ltd"
    stored = {name for (_service, name) in memory_keyring.entries}
    assert {"freeagent.access_token", "freeagent.refresh_token"} <= stored
    database = b"".join(p.read_bytes() for p in data_paths.root.glob("ledgerlink.db*"))
    for secret in standin.auth.issued:
        assert secret.encode() not in database
