"""``ledgerlink setup --package quickbooks_desktop`` and ``ledgerlink qbwc …``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from lxml import etree

from app.cli import EXIT_OK, EXIT_SETUP, main
from app.secrets import KeyringSecretStore
from app.services.qbwc.pairing import PASSWORD_SECRET
from connectors.quickbooks_desktop.qwc import OWNER_ID


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_up_pair_and_set_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(
        capsys,
        "--data-dir", data,
        "setup", "--package", "quickbooks_desktop", "--situation", "package_first",
    )  # fmt: skip
    assert code == EXIT_OK and "QuickBooks Desktop" in out

    code, out, _ = run(capsys, "--data-dir", data, "qbwc", "serve")
    assert code == EXIT_SETUP

    qwc = tmp_path / "ledgerlink.qwc"
    code, out, _ = run(capsys, "--data-dir", data, "qbwc", "file", str(qwc), "--port", "8500")
    assert code == EXIT_OK and "Add an application" in out
    root = etree.fromstring(qwc.read_bytes())
    assert root.tag == "QBWCXML"
    values = {child.tag: child.text or "" for child in root}
    assert values["AppURL"] == "http://localhost:8500/qbwc"
    assert values["AppSupport"] == "http://localhost:8500/support"
    assert values["OwnerID"] == OWNER_ID and values["QBType"] == "QBFS"
    assert values["UserName"] == "ledgerlink" and values["FileID"].startswith("{")
    assert root.findtext("Scheduler/RunEveryNMinutes") == "15"
    assert b"assword" not in qwc.read_bytes()
    # A second file is a second pairing: a new FileID.
    again = tmp_path / "again.qwc"
    run(capsys, "--data-dir", data, "qbwc", "file", str(again))
    assert etree.fromstring(again.read_bytes()).findtext("FileID") != values["FileID"]

    code, _, err = run(capsys, "--data-dir", data, "qbwc", "file", str(tmp_path / "x.txt"))
    assert code == EXIT_SETUP and ".qwc" in err

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "--data-dir", data, "qbwc", "password", "--password-stdin")
    assert code == EXIT_SETUP and "at least 8" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    code, out, _ = run(capsys, "--data-dir", data, "qbwc", "password", "--password-stdin")
    assert code == EXIT_OK and "secret" not in out
    assert KeyringSecretStore().get(PASSWORD_SECRET) == "a long enough secret"

    code, out, _ = run(capsys, "--data-dir", data, "qbwc", "status", "--json")
    status = json.loads(out)
    assert status["paired"] is True and status["waiting_for_lists"] is True
    code, out, _ = run(capsys, "--data-dir", data, "qbwc", "read")
    assert code == EXIT_OK


def test_send_says_what_was_queued_for_quickbooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.qbwc_fixtures import qbwc_rig

    root = tmp_path / "data"
    with qbwc_rig(root) as rig:
        code, _, err = run(capsys, "--data-dir", str(root), "send")
        assert code == EXIT_SETUP and "let it run once" in err and "Traceback" not in err
        rig.poll()
        rig.map_accounts()
        code, out, _ = run(capsys, "--data-dir", str(root), "send")
        assert code == EXIT_OK
        assert "Queued for QuickBooks:" in out and "3 customer" in out
        code, out, _ = run(capsys, "--data-dir", str(root), "qbwc", "status")
        assert "13 queued for QuickBooks" in out and "Last poll: today" in out
