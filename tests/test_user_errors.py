"""Issue 16 from the command line: files as Excel and people write them, known problems
as one line with their exit code, bugs as one line and a crash report, never a
traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.cli import (
    EXIT_BUG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SEND_RUNNING,
    EXIT_SETUP,
    main,
)
from app.config import DataPaths
from app.services.sending.lock import SendLock
from app.services.sending.sender import SendReport
from tests.conftest import MemoryKeyring


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def customer_count(capsys: pytest.CaptureFixture[str], data: str) -> int:
    code, out, _ = run(capsys, "--data-dir", data, "status", "--json")
    assert code == EXIT_OK
    return int(json.loads(out)["records"]["customer"])


def test_an_unclosed_quote_imports_nothing_and_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "customers.csv"
    source.write_bytes(
        b'account_ref,name\r\nC949,Fine Ltd\r\nC950,"Unclosed Ltd\r\nC951,Next Ltd\r\n'
    )
    code, out, err = run(
        capsys, "--data-dir", str(tmp_path / "d"), "import", "customers", str(source)
    )
    assert code == EXIT_FAILED
    assert "line 3: this value opens a quote" in out
    assert "Traceback" not in out + err
    assert customer_count(capsys, str(tmp_path / "d")) == 0


def test_a_file_mixing_utf8_and_cp1252_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "customers.csv"
    source.write_bytes(
        "account_ref,name\nC1,Café Rouge\n".encode() + "C2,Crème Brûlée Ltd\n".encode("cp1252")
    )
    code, out, _ = run(
        capsys, "--data-dir", str(tmp_path / "d"), "import", "customers", str(source)
    )
    assert code == EXIT_FAILED
    assert "line 3: byte 0xE8 is not UTF-8, but other characters in the file are" in out
    assert "column “name”" in out
    assert customer_count(capsys, str(tmp_path / "d")) == 0


@pytest.fixture
def demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    data = str(tmp_path / "data")
    code, _, _ = run(capsys, "--data-dir", data, "--demo", "status")
    assert code == EXIT_OK
    return data


def test_links_import_reads_its_own_export_resaved_by_excel(
    demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "links.csv"
    code, _, _ = run(capsys, "--data-dir", demo, "--demo", "links", "export", str(exported))
    assert code == EXIT_OK
    rows = exported.read_text(encoding="utf-8").splitlines()
    # Excel on a UK PC: Windows-1252, semicolons (as the data import takes), CRLF, and a
    # name that is not ASCII.
    rows[1] = rows[1].replace(rows[1].split(",")[2], "Zoë Baker")
    resaved = tmp_path / "resaved.csv"
    resaved.write_bytes("\r\n".join(r.replace(",", ";") for r in rows).encode("cp1252"))
    code, out, err = run(
        capsys, "--data-dir", demo, "--demo", "links", "import", str(resaved), "--dry-run"
    )
    assert "Traceback" not in err and "UnicodeDecodeError" not in err
    assert code == EXIT_OK, out + err
    assert "unchanged" in out

    utf16 = tmp_path / "unicode.txt"
    utf16.write_bytes("\r\n".join(r.replace(",", "\t") for r in rows).encode("utf-16"))
    code, out, err = run(
        capsys, "--data-dir", demo, "--demo", "links", "import", str(utf16), "--dry-run"
    )
    assert code == EXIT_OK, out + err


def test_links_import_refuses_a_damaged_file_by_line(
    demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "links.csv"
    damaged.write_bytes(
        b'kind,account_ref,package_ref\ncustomer,CUS0001,"abc\ncustomer,CUS0002,x\n'
    )
    code, out, err = run(capsys, "--data-dir", demo, "--demo", "links", "import", str(damaged))
    assert code == EXIT_FAILED
    assert out.startswith("line 2: this value opens a quote")
    assert "Traceback" not in err


def test_links_import_for_a_package_with_no_sign_in_says_sign_in_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERLINK_SAGE_BUSINESS_CLOUD_CLIENT_ID", "client")
    monkeypatch.setenv("LEDGERLINK_SAGE_BUSINESS_CLOUD_CLIENT_SECRET", "secret")
    data = str(tmp_path / "data")
    customers = tmp_path / "customers.csv"
    customers.write_text("account_ref,name\nC1,Ada Ltd\n", encoding="utf-8")
    assert run(capsys, "--data-dir", data, "import", "customers", str(customers))[0] == EXIT_OK
    code, _, _ = run(
        capsys, "--data-dir", data, "setup", "--package", "sage_business_cloud",
        "--situation", "side_by_side",
    )  # fmt: skip
    assert code == EXIT_OK
    source = tmp_path / "links.csv"
    source.write_text(
        "kind,account_ref,package_ref\ncustomer,C1,cced5085c2d24394a758c5d16b38fca1\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--data-dir", data, "links", "import", str(source))
    assert code == EXIT_SETUP, out + err
    assert err.startswith("ledgerlink: Ledgerlink is not signed in to Sage Business Cloud")
    assert "Sign in first" in err
    assert "Traceback" not in err and "NeedsReconnecting" not in err
    assert len(err.strip().splitlines()) == 1


def map_demo_accounts(capsys: pytest.CaptureFixture[str], data: str) -> None:
    """Finish the demo's set-up so that a send really starts."""
    for ours, theirs in [
        ("BANK", "1200"),
        ("EXPENSES", "5000"),
        ("SALES", "4000"),
        ("SALES-LAB", "4000"),
        ("SALES-MAT", "4000"),
    ]:
        assert run(capsys, "--data-dir", data, "--demo", "map", ours, theirs)[0] == EXIT_OK


def test_a_send_while_another_runs_has_its_own_exit_code(
    demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    map_demo_accounts(capsys, demo)
    with SendLock(DataPaths(Path(demo)).demo().send_lock):
        code, out, _ = run(capsys, "--data-dir", demo, "--demo", "send", "--json")
    assert code == EXIT_SEND_RUNNING == 3
    assert "Another send is already running" in json.loads(out)["stopped_reason"]


def test_a_bug_is_one_line_and_a_report_in_the_log_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.cli

    def broken(*_args: object) -> int:
        raise KeyError("internal detail nobody should see")

    monkeypatch.setitem(app.cli.COMMANDS, "status", broken)
    data = tmp_path / "data"
    code, out, err = run(capsys, "--data-dir", str(data), "status")
    assert code == EXIT_BUG == 70
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "internal detail" not in err and "Traceback" not in err
    report = Path(err.strip().rsplit("full report: ", 1)[1])
    assert report.parent == data / "logs"
    assert "internal detail nobody should see" in report.read_text(encoding="utf-8")
    assert "Traceback" in report.read_text(encoding="utf-8")
    if os.name == "posix":
        assert stat.S_IMODE(report.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_every_file_in_the_data_folder_is_owner_only_after_a_full_demo_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = os.umask(0o022)  # what a desktop session usually has
    try:
        data = tmp_path / "data"
        root = str(data)
        assert run(capsys, "--data-dir", root, "--demo", "status")[0] == EXIT_OK
        map_demo_accounts(capsys, root)
        demo_folder = data / "demo"
        links = demo_folder / "links-export.csv"
        assert run(capsys, "--data-dir", root, "--demo", "links", "export", str(links))[0] == 0
        assert run(capsys, "--data-dir", root, "--demo", "send")[0] in (EXIT_OK, EXIT_FAILED)
        assert run(capsys, "--data-dir", root, "--demo", "failures")[0] in (0, 1)
        from app.db.migrate import backup_sqlite

        backup_sqlite(demo_folder / "ledgerlink.db", demo_folder / "backups", "test")
    finally:
        os.umask(previous)
    seen = {p.relative_to(demo_folder).as_posix() for p in demo_folder.rglob("*")}
    for expected in ("logs/ledgerlink.log", "send.lock", ".ledgerlink-demo", "links-export.csv"):
        assert expected in seen
    assert any(name.startswith("backups/") for name in seen)
    loose = {
        p.relative_to(data).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
        for p in data.rglob("*")
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}


def test_ctrl_c_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.cli

    def interrupted(*_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(app.cli.COMMANDS, "status", interrupted)
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "data"), "status")
    assert code == EXIT_INTERRUPTED == 130
    assert err == "ledgerlink: stopped (Ctrl+C); the next run carries on.\n"


def test_a_bug_during_a_send_stops_it_with_the_apology_not_the_bugs_text(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.crash_report import set_report_folder
    from connectors.sandbox import SandboxConnector
    from tests.send_fixtures import build_rig

    set_report_folder(tmp_path / "logs")
    rig = build_rig(tmp_path / "rig", memory_keyring)

    def broken(*_args: object) -> str:
        raise ZeroDivisionError("internal detail nobody should see")

    monkeypatch.setattr(SandboxConnector, "create_batch", broken)
    report = rig.send()
    assert isinstance(report, SendReport)
    assert report.stopped_reason.startswith("Stopped after a fault in Ledgerlink. Sorry,")
    assert "internal detail" not in report.stopped_reason
    from sqlalchemy import select

    from app.db.models import OutboxEntry, SendState

    with rig.session_factory() as session:
        states = set(session.scalars(select(OutboxEntry.state)))
    assert SendState.UNCERTAIN in states  # the request may have left: never failed
    assert SendState.FAILED not in states
    (written,) = (tmp_path / "logs").glob("crash-*.txt")
    assert "internal detail nobody should see" in written.read_text(encoding="utf-8")


def test_a_sandbox_file_that_is_not_one_is_a_set_up_problem_naming_it_not_a_bug(
    demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from connectors.sandbox.connector import DEFAULT_FILE_NAME

    map_demo_accounts(capsys, demo)
    practice = DataPaths(Path(demo)).demo().root / DEFAULT_FILE_NAME
    practice.unlink()
    with sqlite3.connect(practice) as db:  # someone's other database, put in its place
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY)")
    db.close()
    code, _, err = run(capsys, "--data-dir", demo, "--demo", "send", "--json")
    assert code == EXIT_SETUP
    assert "unexpected error" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert str(practice) in err and "not a Sandbox file" in err
