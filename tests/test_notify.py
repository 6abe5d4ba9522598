"""Failure notices are emailed through a real (local) SMTP server with STARTTLS."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select

from app.db.models import OutboxEntry, SendState
from app.secrets import KeyringSecretStore
from app.services.sending.failures import failure_causes
from app.services.sending.lock import SendLock
from app.services.sending.notify import (
    NotifySettingsError,
    SmtpSettings,
    load_settings,
    notify_failures,
    save_settings,
)
from app.services.sending.sender import SendReport
from connectors.contract import ContactDraft, ContactRole
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    client_context: ssl.SSLContext


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    mailbox = Mailbox()

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        pair = (auth_data.login.decode(), auth_data.password.decode())
        mailbox.logins.append(pair)
        return AuthResult(success=pair == ("office", "s3cret-smtp-pass"), handled=False)

    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield SmtpServer(controller.port, mailbox, client_context)
    finally:
        controller.stop()


@pytest.fixture
def failed_send(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> Iterator[tuple[SendRig, SendReport]]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    with rig.connector() as connector:
        # A Sandbox supplier of our customer's name: the customer cannot be created.
        connector.store.add_contact(
            ContactDraft(role=ContactRole.SUPPLIER, our_ref="", name="Ben Pipes")
        )
    report = rig.send()
    assert isinstance(report, SendReport) and report.failed
    yield rig, report
    rig.store.close()


def settings_for(server: SmtpServer) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=server.port,
        starttls=True,
        username="office",
        sender="ledgerlink@example.com",
        recipients=["accounts@example.com", "owner@example.com"],
    )


def test_failure_notice_is_emailed_over_starttls_with_the_keyring_password(
    smtp_server: SmtpServer,
    failed_send: tuple[SendRig, SendReport],
    memory_keyring: MemoryKeyring,
) -> None:
    rig, report = failed_send
    secrets = KeyringSecretStore()
    with rig.session_factory.begin() as session:
        save_settings(session, settings_for(smtp_server), secrets, "s3cret-smtp-pass")
    with rig.session_factory() as session:
        settings = load_settings(session)
        causes = failure_causes(session, "sandbox", "Sandbox")

    outcome = notify_failures(
        settings, secrets, "Sandbox", report, causes, tls_context=smtp_server.client_context
    )

    assert outcome == "Failure notice emailed to accounts@example.com, owner@example.com."
    assert smtp_server.mailbox.logins == [("office", "s3cret-smtp-pass")]
    (message,) = smtp_server.mailbox.messages
    assert message["Subject"] == "Ledgerlink: 4 records could not be sent to Sandbox"
    body = message.get_payload(decode=True).decode()
    assert "Customer “Ben Pipes” (C2)" in body
    assert "Fix: " in body and "1 customer; holds back 2 invoices and 1 payment." in body
    # The password lives in the keyring only, never in the settings.
    assert ("Ledgerlink", "smtp.password") in memory_keyring.entries
    assert b"s3cret-smtp-pass" not in (rig.store.paths.database).read_bytes()


def test_wrong_password_is_reported_not_raised(
    smtp_server: SmtpServer, failed_send: tuple[SendRig, SendReport]
) -> None:
    rig, report = failed_send
    secrets = KeyringSecretStore()
    secrets.set("smtp.password", "wrong-password")
    with rig.session_factory() as session:
        causes = failure_causes(session, "sandbox", "Sandbox")
    outcome = notify_failures(
        settings_for(smtp_server),
        secrets,
        "Sandbox",
        report,
        causes,
        tls_context=smtp_server.client_context,
    )
    assert outcome.startswith("The failure notice could not be emailed")
    assert "refused the user name or password" in outcome
    assert "535" not in outcome  # the server's own words go to the log, not to people
    assert smtp_server.mailbox.messages == []


def test_nothing_is_sent_without_failures(smtp_server: SmtpServer) -> None:
    assert (
        notify_failures(
            settings_for(smtp_server),
            KeyringSecretStore(),
            "Sandbox",
            SendReport.__new__(SendReport),
            [],
        )
        == ""
    )
    assert smtp_server.mailbox.messages == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": " "}, "SMTP host"),
        ({"port": 70000}, "70000 is not a port number"),
        ({"sender": "office"}, "sender: “office” is not an email address"),
        ({"recipients": []}, "at least one address"),
        ({"recipients": ["a@example.com", "bob"]}, "recipient: “bob”"),
    ],
)
def test_bad_settings_are_refused_by_field(change: dict[str, Any], message: str) -> None:
    settings = SmtpSettings(
        host="smtp.example.com", sender="a@example.com", recipients=["b@example.com"]
    )
    for key, value in change.items():
        setattr(settings, key, value)
    with pytest.raises(NotifySettingsError, match=message):
        settings.validate()


def test_a_send_that_stops_emails_why_even_with_nothing_failed(
    smtp_server: SmtpServer, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """A scheduled send that finds the sign-in expired must say so: nobody is watching."""
    rig = build_rig(tmp_path / "data", memory_keyring)
    try:
        rig.faults.require_reconnect(None)
        report = rig.send()
        assert isinstance(report, SendReport) and report.stopped_reason and not report.failed
        secrets = KeyringSecretStore()
        secrets.set("smtp.password", "s3cret-smtp-pass")
        outcome = notify_failures(
            settings_for(smtp_server),
            secrets,
            "Sandbox",
            report,
            [],
            tls_context=smtp_server.client_context,
        )
        assert outcome.startswith("Failure notice emailed")
        (message,) = smtp_server.mailbox.messages
        assert message["Subject"] == "Ledgerlink: sending to Sandbox stopped"
        assert "signing in again" in message.get_payload(decode=True).decode()
    finally:
        rig.store.close()


def test_a_send_skipped_for_another_one_stays_quiet(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.sending import run as send_run

    rig = build_rig(tmp_path / "data", memory_keyring)
    with rig.connector() as connector:
        # A Sandbox supplier of our customer's name: the customer cannot be created.
        connector.store.add_contact(
            ContactDraft(role=ContactRole.SUPPLIER, our_ref="", name="Ben Pipes")
        )
    calls: list[int] = []
    monkeypatch.setattr(
        send_run,
        "notify_failures",
        lambda settings, secrets, name, report, causes: calls.append(len(causes)) or "sent",
    )
    try:
        with rig.connector() as connector:
            report = send_run.send_everything(rig.store, connector, actor="test")
        assert report.failed["customer"] == 1 and calls == [1] and report.notice == "sent"
        calls.clear()
        with rig.connector() as connector, SendLock(rig.store.paths.send_lock):
            busy = send_run.send_everything(rig.store, connector, actor="test")
        assert busy.skipped and calls == [] and busy.notice == ""
    finally:
        rig.store.close()


def test_unfinished_set_up_refuses_the_send_once_and_marks_nothing(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.sending import run as send_run

    rig = build_rig(tmp_path / "data", memory_keyring, map_accounts=False)
    notices: list[str] = []
    monkeypatch.setattr(
        send_run,
        "notify_failures",
        lambda settings, secrets, name, report, causes: (
            notices.append(report.stopped_reason) or "sent"
        ),
    )
    try:
        with rig.connector() as connector:
            report = send_run.send_everything(rig.store, connector, actor="scheduler")
        assert report.setup_incomplete and not report.ok
        assert not report.sent and not report.failed and report.requests == 0
        assert "SALES-MAT" in report.stopped_reason and "BANK" in report.stopped_reason
        assert "`ledgerlink map " in report.stopped_reason
        assert notices == [report.stopped_reason]
        with rig.session_factory() as session:
            failed = session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state == SendState.FAILED)
            )
        assert failed == 0
        assert rig.package_counts()["contacts"] == 0
    finally:
        rig.store.close()
