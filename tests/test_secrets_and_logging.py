"""Secrets go to the keyring only, and never appear in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.logging_setup import (
    MASK,
    RedactingFilter,
    configure_logging,
    hold_early_records,
    holding_early_records,
)
from app.secrets import KeyringSecretStore, NoKeyringError
from tests.conftest import MemoryKeyring


@contextmanager
def root_logger_restored() -> Iterator[logging.Logger]:
    """The root logger, with the handlers added inside closed and removed afterwards and
    its level put back."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                handler.close()
                root.removeHandler(handler)
        root.setLevel(level)


def test_secret_round_trip_uses_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = KeyringSecretStore()
    store.set("xero.refresh_token", "rt-0123456789")
    assert store.get("xero.refresh_token") == "rt-0123456789"
    assert memory_keyring.entries == {("Ledgerlink", "xero.refresh_token"): "rt-0123456789"}
    store.delete("xero.refresh_token")
    store.delete("xero.refresh_token")  # deleting twice is harmless
    assert store.get("xero.refresh_token") is None


def test_missing_keyring_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoKeyringError, match="gnome-keyring"):
        KeyringSecretStore().set("token", "secret-value")


def test_secrets_are_masked_in_the_log_file(tmp_path: Path) -> None:
    with root_logger_restored() as root:
        configure_logging(tmp_path)
        KeyringSecretStore().set("qbo.access_token", "eyJhbGciOi.secret.token")
        logging.getLogger("test").warning("request failed with token %s", "eyJhbGciOi.secret.token")
        for handler in root.handlers:
            handler.flush()
    log_text = (tmp_path / "ledgerlink.log").read_text(encoding="utf-8")
    assert "eyJhbGciOi.secret.token" not in log_text
    assert MASK in log_text


def test_what_is_logged_before_the_log_file_is_set_up_is_written_to_it(tmp_path: Path) -> None:
    # The window sets its log file up after its first page is painted; nothing logged
    # before then may be lost, and nothing written twice.
    log = logging.getLogger("test.early")
    with root_logger_restored() as root:
        hold_early_records()
        assert holding_early_records()
        log.info("first read left to the normal path: %s", "no database")
        KeyringSecretStore().set("qbo.access_token", "early-secret-token")
        log.warning("early token %s", "early-secret-token")
        assert not (tmp_path / "ledgerlink.log").exists()
        configure_logging(tmp_path)
        assert not holding_early_records()
        log.info("after the log file")
        for handler in root.handlers:
            handler.flush()
    lines = (tmp_path / "ledgerlink.log").read_text(encoding="utf-8").splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "first read left to the normal path: no database",
        f"early token {MASK}",
        "after the log file",
    ]
    assert not any(type(h).__name__ == "EarlyRecords" for h in root.handlers)


def test_redacting_filter_leaves_ordinary_messages_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %d invoices", (3,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "sent 3 invoices"


def test_records_kept_before_the_log_file_are_bounded_and_formatted_when_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app import logging_setup

    monkeypatch.setattr(logging_setup, "EARLY_RECORDS_KEPT", 3)
    early = logging_setup.EarlyRecords()
    changing = ["first"]
    for n in range(5):
        early.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "%s %s", (n, changing), None))
    changing.append("later")
    assert [r.getMessage() for r in early.records] == [
        "0 ['first']",
        "1 ['first']",
        "2 ['first']",
    ]


def test_records_kept_for_a_window_that_never_opens_go_to_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ledgerlink`` keeps what is logged from before its first read; when no window
    takes those records over (here Qt's platform libraries are missing), they are
    written to the data folder's log all the same, and the keeping stops."""
    import app.cli
    from app.services import first_read

    monkeypatch.setattr(first_read, "begin_first_read", lambda paths: None)
    monkeypatch.setattr(
        "app.ui.kit.platform_libs.check_qt_platform",
        lambda _environ: (logging.getLogger("test.early").warning("no xcb"), "missing")[1],
    )
    with root_logger_restored() as root:
        assert app.cli.main(["--data-dir", str(tmp_path / "data")]) == app.cli.EXIT_SETUP
        assert not holding_early_records()
        for handler in root.handlers:
            handler.flush()
    log_file = tmp_path / "data" / "logs" / "ledgerlink.log"
    assert log_file.read_text(encoding="utf-8").rstrip().endswith("test.early: no xcb")
    assert not any(type(h).__name__ == "EarlyRecords" for h in root.handlers)
