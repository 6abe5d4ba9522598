"""The command line, as support staff and scripts use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, EXIT_OK, EXIT_SETUP, main

GOOD = (
    "account_ref,name,town,email\n"
    "C1,Ada Boilers Ltd,Leicester,ada@example.com\n"
    "C2,Ben Pipes,Derby,\n"
)
BAD = (
    "Account Ref;Name;Email\n"
    "C1;Ada Boilers Ltd;ada@example.com\n"
    ";No Reference Ltd;x@example.com\n"
    "C3;" + "N" * 201 + ";c3@example.com\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_rows_write_nothing_and_name_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    bad = tmp_path / "customers.csv"
    bad.write_text(BAD, encoding="utf-8")

    code, out, _ = run(capsys, "--data-dir", str(data), "import", "customers", str(bad), "--json")

    assert code == EXIT_FAILED
    report = json.loads(out)
    assert report["ok"] is False and report["added"] == 0
    located = {(e["line"], e["column"]) for e in report["errors"]}
    assert located == {(3, "Account Ref"), (4, "Name")}
    code, out, _ = run(capsys, "--data-dir", str(data), "status", "--json")
    assert code == EXIT_OK
    assert json.loads(out)["records"]["customer"] == 0


def test_good_file_imports_and_status_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    good = tmp_path / "customers.csv"
    good.write_text(GOOD, encoding="utf-8")

    code, out, _ = run(capsys, "--data-dir", str(data), "import", "customers", str(good))
    assert code == EXIT_OK
    assert "2" in out

    code, out, _ = run(capsys, "--data-dir", str(data), "status", "--json")
    status = json.loads(out)
    assert status["records"]["customer"] == 2
    assert status["states"]["customer"]["waiting"] == 2
    assert status["package"] is None


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    good = tmp_path / "customers.csv"
    good.write_text(GOOD, encoding="utf-8")
    code, out, _ = run(
        capsys, "--data-dir", str(data), "import", "customers", str(good), "--dry-run", "--json"
    )
    assert code == EXIT_OK and json.loads(out)["added"] == 2
    _, out, _ = run(capsys, "--data-dir", str(data), "status", "--json")
    assert json.loads(out)["records"]["customer"] == 0


def test_setup_errors_exit_2_with_a_plain_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    code, _, err = run(capsys, "--data-dir", data, "send")
    assert code == EXIT_SETUP and "No accounting package is chosen yet" in err
    code, _, err = run(
        capsys, "--data-dir", data, "setup", "--package", "nope", "--situation", "side_by_side"
    )
    assert code == EXIT_SETUP and "unknown accounting package 'nope'" in err
    code, _, err = run(capsys, "--data-dir", data, "import", "customers", str(tmp_path / "x.csv"))
    assert code == EXIT_SETUP and "no such file" in err
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", data, "import", "widgets", "x.csv"])
    assert usage.value.code == EXIT_SETUP


def test_a_package_that_cannot_send_yet_is_refused_at_set_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors import registry

    monkeypatch.delitem(registry.CONNECTORS, "xero")
    data = str(tmp_path / "data")
    code, _, err = run(
        capsys, "--data-dir", data, "setup", "--package", "xero", "--situation", "side_by_side"
    )
    assert code == EXIT_SETUP and "cannot send to Xero in this version" in err
    code, out, _ = run(capsys, "--data-dir", data, "status", "--json")
    assert json.loads(out)["package"] is None


def test_send_with_accounts_unmatched_refuses_once_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "home")
    code, _, _ = run(capsys, "--data-dir", root, "--demo", "status")
    assert code == EXIT_OK
    code, out, _ = run(capsys, "--data-dir", root, "--demo", "send", "--json")
    report = json.loads(out)
    assert code == EXIT_SETUP and report["setup_incomplete"] is True
    assert report["failed"] == {} and report["sent"] == {}
    assert "Set-up is not finished" in report["stopped_reason"]
    code, out, _ = run(capsys, "--data-dir", root, "--demo", "status", "--json")
    states = json.loads(out)["states"]
    assert all(s["failed"] == 0 for s in states.values())


def test_demo_commands_use_a_folder_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "--demo", "status", "--json")
    status = json.loads(out)
    assert code == EXIT_OK
    assert status["data_dir"] == str(data / "demo")
    assert status["package"] == "sandbox" and status["situation"] == "side_by_side"
    assert status["records"] == {
        "customer": 200,
        "supplier": 30,
        "invoice": 708,
        "credit_note": 25,
        "payment": 614,
    }
    assert not (data / "ledgerlink.db").exists()  # the real store was never touched


def test_map_refuses_the_wrong_kind_of_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    run(
        capsys, "--data-dir", data, "setup", "--package", "sandbox", "--situation", "new_to_package"
    )
    code, _, err = run(capsys, "--data-dir", data, "map", "BANK", "4000")
    assert code == EXIT_SETUP
    assert "can only be matched to a bank account" in err
    code, out, _ = run(capsys, "--data-dir", data, "map", "BANK", "1200", "--json")
    assert code == EXIT_OK
    bank = next(m for m in json.loads(out)["mappings"] if m["code"] == "BANK")
    assert bank["remote_code"] == "1200"


def test_the_installed_command_runs(tmp_path: Path) -> None:
    """The real entry point, as a script or the OS scheduler would start it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(tmp_path / "d"), "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"]["customer"] == 0


def test_second_display_name_is_chosen_not_invented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text("account_ref,name\nS1,Midland Plumbers\n", encoding="utf-8")
    run(capsys, "--data-dir", data, "import", "suppliers", str(suppliers))
    run(capsys, "--data-dir", data, "setup", "--package", "sandbox", "--situation", "side_by_side")
    code, _, err = run(capsys, "--data-dir", data, "display-name", "supplier", "S1", "X")
    assert code == EXIT_SETUP and "needs no second display name" in err

    run(
        capsys,
        "--data-dir",
        data,
        "setup",
        "--package",
        "quickbooks_online",
        "--situation",
        "side_by_side",
    )
    code, _, err = run(capsys, "--data-dir", data, "display-name", "supplier", "S9", "X")
    assert code == EXIT_SETUP and "no supplier with account reference “S9”" in err
    code, _, err = run(capsys, "--data-dir", data, "display-name", "supplier", "S1", "A: B")
    assert code == EXIT_SETUP and "colon" in err
    code, out, _ = run(
        capsys, "--data-dir", data, "display-name", "supplier", "S1", "Midland Plumbers (supplies)"
    )
    assert code == EXIT_OK and "as Midland Plumbers (supplies)" in out

    from app.config import DataPaths
    from app.services.setup.state import load_setup
    from app.services.store import open_store

    store = open_store(DataPaths(Path(data)))
    with store.session_factory() as session:
        settings = load_setup(session).package_settings
    store.close()
    assert json.loads(settings["display_names"]) == {"supplier:S1": "Midland Plumbers (supplies)"}


@pytest.mark.parametrize(
    ("package", "situation"),
    [
        ("freeagent", "new_to_package"),
        ("freeagent", "package_first"),
        ("kashflow", "side_by_side"),
        ("kashflow", "package_first"),
    ],
)
def test_freeagent_and_kashflow_can_be_set_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package: str, situation: str
) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(
        capsys, "--data-dir", data, "setup", "--package", package, "--situation", situation
    )
    assert code == EXIT_OK and situation in out
    code, out, _ = run(capsys, "--data-dir", data, "status", "--json")
    assert json.loads(out)["package"] == package


def test_kashflow_accounts_are_mapped_from_the_command_line_over_a_socket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring

    from tests.standins.kashflow import KashFlowStandIn
    from tests.standins.loopback import LoopbackServer

    standin = KashFlowStandIn()
    keyring.set_password("Ledgerlink", "kashflow.session_token", standin.open_session())
    data = str(tmp_path / "data")
    run(capsys, "--data-dir", data, "setup", "--package", "kashflow", "--situation", "side_by_side")
    with LoopbackServer(standin) as server:
        monkeypatch.setenv("LEDGERLINK_KASHFLOW_ENDPOINT", server.url)
        # KashFlow's bank nominal is not one of its bank accounts: refused, in words.
        code, _, err = run(capsys, "--data-dir", data, "map", "BANK", "1200")
        assert code == EXIT_SETUP and "can only be matched to a bank account" in err
        code, out, _ = run(capsys, "--data-dir", data, "map", "BANK", "bank:1", "--json")
        assert code == EXIT_OK
        code, out, _ = run(capsys, "--data-dir", data, "map", "SALES", "4000", "--json")
    assert code == EXIT_OK
    rows = {m["code"]: m for m in json.loads(out)["mappings"]}
    assert rows["BANK"]["remote_code"] == "1200" and rows["SALES"]["remote_code"] == "4000"
    # A lapsed session is said plainly, with what to do.
    standin.expire_sessions()
    with LoopbackServer(standin) as server:
        monkeypatch.setenv("LEDGERLINK_KASHFLOW_ENDPOINT", server.url)
        code, _, err = run(capsys, "--data-dir", data, "map", "SALES", "4010")
    assert code != EXIT_OK and "Sign in again" in err and "Traceback" not in err


def test_pyside_is_told_the_modules_imported_before_it_use_no_qt() -> None:
    """Starting the window (importing ``launch``) tells PySide that what was imported
    before Qt uses none, so PySide does not read those modules' sources; a module
    imported afterwards is still looked at by PySide itself."""
    code = (
        "import sys, json\n"
        "import app.services.status\n"
        "import app.ui.windows.launch\n"
        "known = sys.modules['__feature__'].pyside_feature_dict\n"
        "from app.ui.windows.dashboard import Dashboard\n"
        "print(json.dumps([known.get(name) for name in "
        "('json', 'app.services.status', 'app.ui.windows.dashboard', "
        "'app.ui.windows.launch')]))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # -1: uses no PySide (ours, unread); 0: PySide read it and found PySide6 used.
    json_, status, dashboard, launch = json.loads(result.stdout.splitlines()[-1])
    assert (json_, status, dashboard) == (-1, -1, 0)
    assert launch != -1  # it uses Qt: left to PySide


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--data-dir", "/srv/ledger"],
        ["--data-dir=/srv/ledger"],
        ["--data-dir="],
        ["--data-dir", "folder with spaces"],
        ["--data-dir", "-odd"],
        ["--data-dir", "a", "--demo"],
        ["--page", "dashboard"],
        ["-v"],
        ["--data", "x"],
        ["--data-dir"],
        ["status"],
    ],
)
def test_the_plain_window_start_reads_its_arguments_as_the_parser_does(
    argv: list[str],
) -> None:
    """The window's usual start (nothing, or only a data folder) is read without
    building the parser, to the same arguments; anything else is left to the parser."""
    import argparse

    from app import cli

    plain = cli._plain_window_arguments(argv)
    quick = argparse.ArgumentParser(prog="ledgerlink", add_help=False, exit_on_error=False)
    cli._add_global_options(quick)
    try:
        parsed, rest = quick.parse_known_args(argv)
    except argparse.ArgumentError:
        parsed, rest = None, ["(refused)"]
    if plain is None:
        assert argv not in ([], ["--data-dir", "/srv/ledger"], ["--data-dir=/srv/ledger"])
        return
    assert parsed is not None and not rest
    parsed.command = None
    assert vars(plain) == vars(parsed)
    assert cli._window_arguments(argv) == plain
