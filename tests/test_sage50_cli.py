"""``ledgerlink setup --package sage_50``, ``send`` and ``sage50 folder|nominal|dates|
references|files|reconcile`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import EXIT_FAILED, EXIT_OK, EXIT_SETUP, main
from tests.send_fixtures import CREDIT_NOTES, CUSTOMERS, INVOICES, PAYMENTS, SUPPLIERS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_whole_round_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    base = ("--data-dir", data)
    for kind, text in (
        ("customers", CUSTOMERS),
        ("suppliers", SUPPLIERS),
        ("invoices", INVOICES),
        ("credit_notes", CREDIT_NOTES),
        ("payments", PAYMENTS),
    ):
        source = tmp_path / f"{kind}.csv"
        source.write_text(text)
        assert run(capsys, *base, "import", kind, str(source))[0] == EXIT_OK

    code, out, _ = run(
        capsys, *base, "setup", "--package", "sage_50", "--situation", "new_to_package"
    )
    assert code == EXIT_OK and "Sage 50 Accounts" in out

    code, _, err = run(capsys, *base, "send")
    assert code == EXIT_SETUP and "No folder is chosen for the Sage 50 import files" in err

    assert run(capsys, *base, "sage50", "folder", str(tmp_path / "nowhere"))[0] == EXIT_SETUP
    exports = tmp_path / "exports"
    exports.mkdir()
    code, out, _ = run(capsys, *base, "sage50", "folder", str(exports))
    assert code == EXIT_OK and str(exports) in out

    nominal = tmp_path / "nominal.csv"
    nominal.write_bytes(b"1200,Bank Current Account\r\n4000,Sales Type A\r\n4010,Sales B\r\n")
    assert run(capsys, *base, "sage50", "nominal", str(nominal))[0] == EXIT_OK
    for ours, theirs in (
        ("SALES", "4000"),
        ("SALES-LAB", "4010"),
        ("SALES-MAT", "4000"),
        ("BANK", "1200"),
    ):
        assert run(capsys, *base, "map", ours, theirs)[0] == EXIT_OK, ours
    code, out, _ = run(
        capsys, *base, "sage50", "dates", "--year-start", "01/01/2026", "--lock", "31/12/2025"
    )
    assert code == EXIT_OK and "01/01/2026" in out

    code, out, _ = run(capsys, *base, "sage50", "references", "--save", "--json")
    assert code == EXIT_OK
    assert {p["our_ref"]: p["reference"] for p in json.loads(out)} == {
        "C1": "C1",
        "C2": "C2",
        "C3": "C3",
        "S1": "S1",
    }

    code, out, _ = run(capsys, *base, "send")
    assert code == EXIT_OK, out
    assert "Exported, waiting for you to import it into Sage" in out
    assert "File › Import, choose “Customer Records”" in out
    assert len(list(exports.iterdir())) == 3

    code, out, _ = run(capsys, *base, "sage50", "files", "--json")
    listed = json.loads(out)["files"]
    assert [f["import_as"] for f in listed] == [
        "Customer Records",
        "Supplier Records",
        "Audit Trail Transactions",
    ]
    assert [f["awaiting_import"] for f in listed] == [3, 1, 9]

    sage = tmp_path / "CUSTOMER.CSV"
    sage.write_bytes(b"C1,Ada Boilers Ltd\r\nC2,Ben Pipes\r\nC3,Cara Heating\r\n")
    code, out, _ = run(capsys, *base, "sage50", "reconcile", str(sage), "--json")
    result = json.loads(out)
    assert code == EXIT_OK and len(result["confirmed"]) == 3 and result["missing"] == []

    transactions = tmp_path / "AUDIT.CSV"
    transactions.write_bytes(b"SI,C1,4010,0,05/01/2026,INV-1,Boiler service,80.00,T1,16.00\r\n")
    code, out, _ = run(capsys, *base, "sage50", "reconcile", str(transactions))
    assert code == EXIT_FAILED and "INV-2" in out and "import the file again" in out

    code, _, err = run(capsys, *base, "sage50", "reconcile", str(tmp_path / "none.csv"))
    assert code == EXIT_SETUP and "no such file" in err


def test_files_in_a_folder_that_cannot_be_looked_in_are_listed_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ledgerlink sage50 files`` while the share holding the folder does not answer:
    the ledger's files are listed, each "cannot be told", never "missing" nor a crash."""
    import errno

    from tests.sage50_fixtures import build_sage_rig

    rig = build_sage_rig(tmp_path)
    rig.send()
    is_file = Path.is_file

    def unanswered(path: Path) -> bool:
        if path.parent == rig.folder:
            raise OSError(errno.EIO, "Input/output error", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", unanswered)
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), "sage50", "files", "--json")
    assert code == EXIT_OK, err
    listed = json.loads(out)["files"]
    assert len(listed) == 3 and {f["exists"] for f in listed} == {None}
    assert {f["status"] for f in listed} == {
        "exported, waiting for you to import it into Sage; whether it is still in the folder "
        "cannot be told now (the folder does not answer)"
    }
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), "sage50", "files")
    assert code == EXIT_OK and "MISSING" not in out
    assert "(the folder does not answer now)" in out
