"""Time from process start to the first page a user can act on: Ledgerlink against a
bare PySide6 ``QMainWindow``, on the same machine in the same run.

    python bench/startup.py [--runs 7]

Each run is a fresh ``python -c`` process. The time is taken in this process just
before the child is started, and in the child when its first top-level window has been
painted (the event loop's turn after the first paint event), so it covers interpreter
start, imports, building the window and painting it. Each figure is the median of
``--runs`` runs:

* ``usable_s``: ``ledgerlink`` on a data folder holding the demo store, until its first
  page holds its data and is painted (the main window's ``refreshed`` signal, then a
  paint): what a user waits for; ``bare_s`` the bare window's first paint, and
  ``usable_ratio`` the one over the other (goal: 1.5 or less);
* ``usable_cpu_s``, ``bare_cpu_s`` and ``usable_cpu_ratio``: the same two starts in CPU
  seconds (user + system; the child leaves as soon as it reports), which a busy shared
  machine inflates far less than wall time;
* ``app_first_window_s``: the ``ledgerlink`` command (``app.cli.main``) on the same
  data folder, until the main window's first paint, whatever it shows (the dashboard
  when the read was done in time, else "Opening your data…"), and ``ratio`` that over
  ``bare_s``;
* ``window_only_first_window_s``: the window alone (``app.ui.windows.launch.run_window``),
  without the command line's own imports (so its read starts after Qt's import);
* ``bare_first_window_s``: the bare ``QMainWindow``'s first paint (``bare_s``);
* ``store_open_s``: until the store itself is open behind that first page (the main
  window's ``store_opened``). A returning user's dashboard is read with ``sqlite3``
  and shown first; an action pressed before this moment waits for the store, so this
  says how long such a wait can be.

The figures are for Ledgerlink as installed: before timing, the bench byte-compiles
``app``, ``connectors``, ``wizard_pages`` and ``resources`` (``compileall``, into the
normal ``__pycache__`` folders, as an installed copy has), and runs every child without
``PYTHONDONTWRITEBYTECODE``, so no child compiles a module of the checkout on its way to
the window (a development machine that sets it would otherwise time the compiler).

The last line is one JSON object:
``{"usable_s", "bare_s", "usable_ratio", "app_first_window_s", "bare_first_window_s",
"ratio", ...}`` (``ratio``: the first window of any kind, placeholder included).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Installed in every child before its window is shown: on the first paint of a
#: top-level widget, print the time once the event loop turns, then leave at once.
HOOK = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

class _FirstPaint(QObject):
    done = False

    def eventFilter(self, watched, event):
        if (
            not self.done
            and event.type() == QEvent.Type.Paint
            and getattr(watched, "isWindow", lambda: False)()
        ):
            self.done = True
            _stop_watching(self)
            QTimer.singleShot(0, _report)
        return False

# An application-wide filter hands every event of every object to Python, and PySide
# wraps each object it has not met (building the enums of its class tree on the way):
# about 160 M instructions on the dashboard's start that a user's start never pays. So
# each filter leaves as soon as it has found its window. Qt allows removing a filter
# from inside its own ``eventFilter``.
def _stop_watching(watcher):
    QApplication.instance().removeEventFilter(watcher)

def _report():
    print(f"FIRST_WINDOW {time.time():.6f}", flush=True)
    os._exit(0)

def _watch(app):
    app._first_paint = _FirstPaint(app)
    app.installEventFilter(app._first_paint)


# Calls ``then(window)`` once, at the main window's first event (as it is being built,
# so a read finished by then, shown and ``refreshed`` before the window is first shown,
# is not missed), and leaves at once.
class _OnMainWindow(QObject):
    def __init__(self, app, then):
        super().__init__(app)
        self.then = then
        self.hooked = False

    def eventFilter(self, watched, event):
        if (
            not self.hooked
            and hasattr(watched, "refreshed")
            and getattr(watched, "isWindow", lambda: False)()
        ):
            self.hooked = True
            _stop_watching(self)
            self.then(watched)
        return False

def _on_main_window(app, then):
    app._on_main_window = _OnMainWindow(app, then)
    app.installEventFilter(app._on_main_window)

def _when_painted(window):
    # Report once the page with its data is painted: at once, painting it synchronously,
    # when the window is on screen already; else (the data came before the window was
    # first shown) after the window's first paint, as the bare window is timed.
    def report():
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            window.repaint()
            _report()
        else:
            _report_after_paint(window)
    return report

def _report_after_paint(window):
    window._painted = _PaintThenReport(window)
    window.installEventFilter(window._painted)

class _PaintThenReport(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, _report)
        return False

# Once the main window says its first page holds its data (its ``refreshed`` signal)
# and that page has been painted: the moment a user can act.
def _watch_usable(app):
    _on_main_window(
        app, lambda w: w.refreshed.connect(lambda: QTimer.singleShot(0, _when_painted(w)))
    )

# Once the store itself is open (its ``store_opened`` signal): from then on an action
# pressed on the first page runs at once rather than waiting for it.
def _watch_store_open(app):
    _on_main_window(
        app, lambda w: w.store_opened.connect(lambda: QTimer.singleShot(0, _report))
    )

# After the main window's first paint, whatever it shows ("Opening your data…" or, when
# its read was done in time, the dashboard).
def _watch_main_window(app):
    _on_main_window(app, _report_after_paint)
"""

BARE = (
    HOOK
    + r"""
from PySide6.QtWidgets import QMainWindow
app = QApplication(sys.argv[:1])
_watch(app)
window = QMainWindow()
window.setWindowTitle("Bare")
window.resize(1000, 680)
window.show()
app.exec()
"""
)

# The ``ledgerlink`` command as its console script runs it: ``app.cli`` (which imports
# no Qt) first, then ``main``, which imports Qt only once a window is wanted. The probe
# is installed on the application object the moment the command makes it, by wrapping
# ``launch.make_application`` as that module is imported, so nothing is imported or
# started earlier than in a user's start.
COMMAND = r"""
import importlib.machinery, sys

def _probe(app):
    exec(HOOK, globals())
    globals()[WATCH](app)

# A finder is any object with ``find_spec``: not ``importlib.abc.MetaPathFinder``, whose
# import (``importlib.resources`` and its helpers, about 2 ms) a user's start never pays
# and the bare window's child does not either.
class _WhenLaunchIsImported:
    def find_spec(self, name, path, target=None):
        if name != "app.ui.windows.launch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            make = module.make_application

            def make_application(argv=None):
                app = make(argv)
                _probe(app)
                return app

            module.make_application = make_application

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _WhenLaunchIsImported())
import app.cli
sys.exit(app.cli.main(["--data-dir", sys.argv[1]]))
"""


def _command(watch: str) -> str:
    """The ``ledgerlink`` command with the probe ``watch`` (a function of :data:`HOOK`)."""
    return f"HOOK = {HOOK!r}\nWATCH = {watch!r}\n" + COMMAND


#: Timed to its first window of any kind (the "Opening your data…" view included).
APP = _command("_watch_main_window")
#: Timed to the first page a user can act on.
USABLE = _command("_watch_usable")
#: Timed until its store is open behind the first page.
STORE_OPEN = _command("_watch_store_open")

WINDOW_ONLY = (
    HOOK
    + r"""
from app.ui.windows import launch
from app.config import DataPaths
_watch_main_window(launch.make_application())
sys.exit(launch.run_window(DataPaths(__import__("pathlib").Path(sys.argv[1]))))
"""
)


#: CPU seconds (user + system) each child used, in the order they ran.
CHILD_CPU: list[float] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_window(code: str, *args: str) -> float:
    """Seconds from starting ``python -c code`` to its first window being painted (the
    child leaves at once then, so its CPU time, kept in :data:`CHILD_CPU`, is the CPU
    it took to get there)."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # read the compiled modules, as installed
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cpu_before = _children_cpu()
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    CHILD_CPU.append(_children_cpu() - cpu_before)
    for line in result.stdout.splitlines():
        if line.startswith("FIRST_WINDOW "):
            return float(line.split()[1]) - started
    raise RuntimeError(f"no window was shown:\n{result.stdout}\n{result.stderr}")


#: The project's packages, compiled before timing as an installed copy would be.
PACKAGES = ("app", "connectors", "wizard_pages", "resources")


def compile_tree() -> None:
    """Byte-compile the project's packages into their ``__pycache__`` folders."""
    for package in PACKAGES:
        folder = ROOT / package
        if folder.is_dir() and not compileall.compile_dir(folder, quiet=1):
            raise RuntimeError(f"could not compile {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    compile_tree()
    from app.config import DataPaths
    from app.services.setup.demo import prepare_demo
    from app.services.setup.state import SETUP_COMPLETE, set_setting

    with tempfile.TemporaryDirectory() as folder:
        data = DataPaths(Path(folder) / "data")
        store = prepare_demo(data)
        # A returning user's start: set-up done, so the first page is the dashboard.
        with store.session_factory.begin() as session:
            set_setting(session, SETUP_COMPLETE, True)
        store.close()
        # Warm the disk cache for everyone alike, then alternate so drift hits both.
        first_window(BARE)
        first_window(APP, str(data.root))
        bare: list[float] = []
        app: list[float] = []
        usable: list[float] = []
        window_only: list[float] = []
        store_open: list[float] = []
        bare_cpu: list[float] = []
        usable_cpu: list[float] = []
        for run in range(args.runs):
            bare.append(first_window(BARE))
            bare_cpu.append(CHILD_CPU[-1])
            app.append(first_window(APP, str(data.root)))
            usable.append(first_window(USABLE, str(data.root)))
            usable_cpu.append(CHILD_CPU[-1])
            window_only.append(first_window(WINDOW_ONLY, str(data.root)))
            store_open.append(first_window(STORE_OPEN, str(data.root)))
            print(
                f"run {run + 1}: bare {bare[-1]:.3f}s, ledgerlink {app[-1]:.3f}s, "
                f"usable {usable[-1]:.3f}s, window only {window_only[-1]:.3f}s",
                file=sys.stderr,
            )
    bare_s = statistics.median(bare)
    app_s = statistics.median(app)
    usable_s = statistics.median(usable)
    window_s = statistics.median(window_only)
    print(
        json.dumps(
            {
                "usable_s": round(usable_s, 3),
                "bare_s": round(bare_s, 3),
                "usable_ratio": round(usable_s / bare_s, 2),
                "usable_cpu_s": round(statistics.median(usable_cpu), 3),
                "bare_cpu_s": round(statistics.median(bare_cpu), 3),
                "usable_cpu_ratio": round(
                    statistics.median(usable_cpu) / statistics.median(bare_cpu), 2
                ),
                "app_first_window_s": round(app_s, 3),
                "bare_first_window_s": round(bare_s, 3),
                "ratio": round(app_s / bare_s, 2),
                "window_only_first_window_s": round(window_s, 3),
                "window_only_ratio": round(window_s / bare_s, 2),
                "store_open_s": round(statistics.median(store_open), 3),
                "runs": args.runs,
                "platform": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            }
        )
    )


if __name__ == "__main__":
    main()
