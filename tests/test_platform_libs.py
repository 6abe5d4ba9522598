"""Before Qt starts, ``ledgerlink`` names the packages that provide the X11 platform
libraries Qt's xcb plugin needs (Qt itself aborts with a signal when one is missing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.ui.kit.platform_libs import (
    XCB_LIBRARIES,
    check_qt_platform,
    missing_xcb_libraries,
    will_use_xcb,
)

#: Libraries of the C/C++ runtime and of Qt itself (shipped inside PySide6).
_RUNTIME = ("linux-vdso", "ld-linux", "libc.so", "libm.so", "libstdc++", "libgcc_s", "libQt6")


def _needed(library: Path) -> set[str]:
    """The direct dependencies recorded in ``library`` (readelf when present, else ldd)."""
    if shutil.which("readelf"):
        out = subprocess.run(
            ["readelf", "-d", str(library)], capture_output=True, text=True, check=True
        ).stdout
        return {line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "NEEDED" in line}
    out = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux only")
def test_the_table_covers_what_the_installed_xcb_plugin_needs() -> None:
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    qpa = next((qt / "lib").glob("libQt6XcbQpa.so*"))
    needed = _needed(plugin) | _needed(qpa)
    system = {name for name in needed if not name.startswith(_RUNTIME)}
    assert "libxcb-cursor.so.0" in system  # the one a fresh desktop lacks most often
    assert system - set(XCB_LIBRARIES) == set()


def test_every_library_loads_or_is_named_with_its_package() -> None:
    def load(name: str) -> object:
        if name == "libxcb-cursor.so.0":
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        if name == "libxcb-image.so.0":
            # Present itself, but a library it needs is not.
            raise OSError("libxcb-util.so.1: cannot open shared object file: No such file")
        return object()

    missing = missing_xcb_libraries(load)
    assert missing is not None
    assert missing.libraries == ("libxcb-cursor.so.0", "libxcb-util.so.1")
    assert missing.packages == ("libxcb-cursor0", "libxcb-util1")
    assert "sudo apt-get install libxcb-cursor0 libxcb-util1" in missing.message()
    assert missing_xcb_libraries(lambda _name: object()) is None


def test_only_checked_when_qt_will_use_xcb() -> None:
    assert will_use_xcb({}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")
    assert not will_use_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not will_use_xcb(
        {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux"
    )
    assert not will_use_xcb({}, "win32")
    assert not will_use_xcb({}, "darwin")

    def never(name: str) -> object:
        raise AssertionError(f"{name} was loaded although Qt will not use xcb")

    assert check_qt_platform({"QT_QPA_PLATFORM": "offscreen"}, "linux", never) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux only")
def test_ledgerlink_says_what_to_install_and_exits_2_before_qt_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A library no system has, loaded for real by the dynamic loader.
    monkeypatch.setitem(XCB_LIBRARIES, "libledgerlink-absent.so.7", "ledgerlink-absent7")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")

    def no_window(*_args: object) -> int:
        raise AssertionError("the window was started")

    monkeypatch.setattr("app.ui.windows.launch.run_window", no_window)
    code = cli.main(["--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_SETUP == 2
    assert "libledgerlink-absent.so.7" in err
    assert "sudo apt-get install" in err and "ledgerlink-absent7" in err


def test_ci_installs_every_package_the_check_names() -> None:
    script = (Path(__file__).parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    listed = set(script.split("needed=(", 1)[1].split(")", 1)[0].split())
    assert set(XCB_LIBRARIES.values()) - listed == set()


def test_the_readme_names_the_packages_a_fresh_desktop_lacks() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### If the window does not open on Linux", 1)[1].split("\n## ", 1)[0]
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert package in section
