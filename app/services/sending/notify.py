"""Email a notice after a send with failures.

The SMTP settings (host, port, STARTTLS, sender, recipients, username) are ordinary
settings; the password lives in the keyring under ``smtp.password``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr

from sqlalchemy.orm import Session

from app.services.sending.causes import Cause, cause_lines
from app.services.sending.sender import SendReport
from app.services.setup.state import get_setting, set_setting
from connectors.contract import SecretStore
from connectors.wording import count

log = logging.getLogger(__name__)

SETTING = "notify.smtp"
PASSWORD_SECRET = "smtp.password"  # noqa: S105 - the keyring entry's name, not a password
MAX_LISTED = 40


class NotifySettingsError(ValueError):
    """The email settings are incomplete or malformed."""


@dataclass
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    sender: str = ""
    recipients: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise :class:`NotifySettingsError` naming the field when the host, port, sender or
        recipients cannot be used to send mail."""
        if not self.host.strip():
            raise NotifySettingsError(
                "SMTP host: give the mail server's name, e.g. smtp.example.com"
            )
        if not 0 < self.port < 65536:
            raise NotifySettingsError(f"SMTP port: {self.port} is not a port number (1–65535)")
        for label, address in [
            ("sender", self.sender),
            *(("recipient", r) for r in self.recipients),
        ]:
            if "@" not in parseaddr(address)[1]:
                raise NotifySettingsError(f"{label}: “{address}” is not an email address")
        if not self.recipients:
            raise NotifySettingsError("recipients: give at least one address to notify")


def load_settings(session: Session) -> SmtpSettings | None:
    """The saved failure-email settings, or None when none are set."""
    data = get_setting(session, SETTING)
    return SmtpSettings(**data) if data else None


def save_settings(
    session: Session, settings: SmtpSettings, secrets: SecretStore, password: str | None
) -> None:
    """Store the settings (validated); the password, when given, goes to the keyring."""
    settings.validate()
    set_setting(session, SETTING, asdict(settings))
    if password is not None:
        if password:
            secrets.set(PASSWORD_SECRET, password)
        else:
            secrets.delete(PASSWORD_SECRET)


def compose(
    settings: SmtpSettings, package_name: str, report: SendReport, causes: list[Cause]
) -> EmailMessage:
    """The notice: what failed, grouped by cause, each with its fix; biggest first."""
    failed = sum(c.size for c in causes)
    message = EmailMessage()
    message["Subject"] = (
        f"Ledgerlink: {count(failed, 'record')} could not be sent to {package_name}"
        if failed
        else f"Ledgerlink: sending to {package_name} stopped"
    )
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    sent = sum(report.sent.values())
    lines = [
        f"Ledgerlink sent {count(sent, 'record')} to {package_name}; {failed:,} could not be sent.",
        "",
    ]
    if report.stopped_reason:
        lines += [f"The send stopped early: {report.stopped_reason}", ""]
    if causes:
        lines += cause_lines(causes[:MAX_LISTED], command_line=False)
        if len(causes) > MAX_LISTED:
            lines.append(f"…and {count(len(causes) - MAX_LISTED, 'more cause')}.")
        lines.append("")
    lines.append("Open Ledgerlink's dashboard to see the full list and fix them.")
    message.set_content("\n".join(lines))
    return message


def send_email(
    settings: SmtpSettings,
    message: EmailMessage,
    secrets: SecretStore,
    *,
    tls_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> None:
    """Deliver ``message``; raises ``smtplib.SMTPException`` or ``OSError`` on failure."""
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=tls_context or ssl.create_default_context())
            smtp.ehlo()
        if settings.username:
            password = secrets.get(PASSWORD_SECRET) or ""
            smtp.login(settings.username, password)
        smtp.send_message(message)


def describe_mail_problem(exc: BaseException, settings: SmtpSettings) -> str:
    """What went wrong talking to the mail server, in plain words with the fix (the
    server's own text goes to the log, not to the person)."""
    server = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"{server} refused the user name or password; set them again with "
            "`ledgerlink notify set … --password-stdin`."
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{server} refused the recipient address; check the --to addresses."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{server} refused the sender address {settings.sender}; check --sender."
    if isinstance(exc, ssl.SSLError | smtplib.SMTPNotSupportedError):
        return (
            f"the secure connection to {server} failed; check the port (587 with "
            "STARTTLS is usual) or ask your email provider."
        )
    if isinstance(exc, TimeoutError):
        return f"{server} did not answer in time; check the host and port."
    if isinstance(exc, smtplib.SMTPException):
        return f"{server} refused the message; the log has its answer."
    return (
        f"{server} could not be reached; check the host name and port, and that this "
        "computer is online."
    )


def notify_failures(
    settings: SmtpSettings | None,
    secrets: SecretStore,
    package_name: str,
    report: SendReport,
    causes: list[Cause],
    *,
    tls_context: ssl.SSLContext | None = None,
) -> str:
    """Email the notice if there were failures and email is set up.

    Returns what happened, in words for the log and the send summary; a mail problem
    never fails the send itself.
    """
    if not causes and not report.stopped_reason:
        return ""
    if settings is None:
        return "No email notice: email is not set up."
    try:
        send_email(
            settings,
            compose(settings, package_name, report, causes),
            secrets,
            tls_context=tls_context,
        )
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        log.warning("failure notice not sent: %r", exc)
        return f"The failure notice could not be emailed: {describe_mail_problem(exc, settings)}"
    return f"Failure notice emailed to {', '.join(settings.recipients)}."
