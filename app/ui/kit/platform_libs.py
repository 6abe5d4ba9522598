"""Qt's X11 platform libraries, checked before Qt starts.

On Linux, Qt draws through its ``xcb`` platform plugin. When one of the system
libraries that plugin links against is missing (``libxcb-cursor0`` on a fresh desktop,
say), Qt cannot load it and aborts the process with a signal: no Python exception, no
message a person could act on. So ``ledgerlink`` loads those libraries itself first, the
way the dynamic loader would, and names the Debian/Ubuntu packages to install.

This module imports no Qt (it has to run before Qt does).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import NamedTuple

#: Each system library Qt 6's ``xcb`` plugin (``libqxcb.so`` and ``libQt6XcbQpa``)
#: links against, with the Debian/Ubuntu package that provides it. A test compares this
#: with what the installed plugin really needs.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}

#: Loads one shared library by name; raises ``OSError`` when it (or a library it
#: needs) cannot be loaded.
Loader = Callable[[str], object]

_NOT_FOUND = re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file")


def will_use_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt is going to load its ``xcb`` plugin: on Linux, when
    ``QT_QPA_PLATFORM`` asks for it (``xcb``, or a fallback list such as
    ``wayland;xcb``), or when it is unset outside a Wayland session."""
    if not platform.startswith("linux"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return "xcb" in (name.split(":")[0].strip() for name in asked.split(";"))
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" and bool(env.get("WAYLAND_DISPLAY"))
    return not wayland


class MissingLibraries(NamedTuple):
    """The libraries that could not be loaded and the packages that provide them (a named
    tuple: every start declares it, and a frozen dataclass compiles its methods from
    source, near 1 ms)."""

    libraries: tuple[str, ...]
    packages: tuple[str, ...]

    def message(self) -> str:
        """What to tell the person: which packages to install, and the command."""
        packages = " ".join(self.packages)
        return (
            "Ledgerlink cannot open its window: the system libraries Qt needs to draw on "
            f"this desktop are missing ({', '.join(self.libraries)}).\n"
            f"Install them, then start Ledgerlink again:\n"
            f"    sudo apt-get install {packages}\n"
            "(On other Linux distributions, install the packages that provide these "
            "libraries.)"
        )


def missing_xcb_libraries(load: Loader | None = None) -> MissingLibraries | None:
    """Load every library the ``xcb`` plugin needs; ``None`` when all load, otherwise
    what is missing (a library that loads only if another is present counts that one)."""
    if load is None:
        import ctypes  # only where Qt will use xcb

        load = ctypes.CDLL
    missing: dict[str, str] = {}
    for library, package in XCB_LIBRARIES.items():
        try:
            load(library)
        except OSError as exc:
            found = _NOT_FOUND.search(str(exc))
            name = found.group(1) if found else library
            missing[name] = XCB_LIBRARIES.get(name, package)
    if not missing:
        return None
    return MissingLibraries(
        libraries=tuple(missing),
        packages=tuple(dict.fromkeys(missing.values())),
    )


def check_qt_platform(
    env: Mapping[str, str], platform: str = sys.platform, load: Loader | None = None
) -> str | None:
    """The message to show before starting Qt if its platform libraries are missing,
    or ``None`` when Qt can start (or will not use ``xcb``)."""
    if not will_use_xcb(env, platform):
        return None
    missing = missing_xcb_libraries(load)
    return missing.message() if missing else None
