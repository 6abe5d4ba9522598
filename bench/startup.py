"""Time from process start to the first window on screen: Ledgerlink against a bare
PySide6 window, on the same machine in the same run.

    python bench/startup.py [--runs 7]

Each run is a fresh ``python -c`` process. The time is taken in this process just
before the child is started, and in the child when its first top-level window has been
painted (the event loop's turn after the first paint event), so it covers interpreter
start, imports, building the window and painting it. Three figures, each the median of
``--runs`` runs:

* ``app_first_window_s``: what the ``ledgerlink`` command runs (``app.cli.main``), on a
  data folder that already holds the demo store;
* ``window_only_first_window_s``: the window alone (``app.ui.launch.run_window``),
  without the command line's own imports;
* ``bare_first_window_s``: an empty ``QWidget`` of the same size.

The last line is one JSON object, e.g.
``{"app_first_window_s": 0.41, "bare_first_window_s": 0.33, "ratio": 1.24, ...}``
(``ratio`` is the app's figure over the bare window's; the goal is 1.5 or less).
"""

from __future__ import annotations

import argparse
import json
import os
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
            QTimer.singleShot(0, _report)
        return False

def _report():
    print(f"FIRST_WINDOW {time.time():.6f}", flush=True)
    os._exit(0)

def _watch(app):
    app._first_paint = _FirstPaint(app)
    app.installEventFilter(app._first_paint)
"""

BARE = (
    HOOK
    + r"""
from PySide6.QtWidgets import QWidget
app = QApplication(sys.argv[:1])
_watch(app)
window = QWidget()
window.setWindowTitle("Bare")
window.resize(1000, 680)
window.show()
app.exec()
"""
)

# The ledgerlink command: its own imports, then the window. The application object is
# made first (as run_window would) only so the hook can be installed on it.
APP = (
    HOOK
    + r"""
import app.cli
from app.ui import launch
_watch(launch.make_application())
sys.exit(app.cli.main(["--data-dir", sys.argv[1]]))
"""
)

WINDOW_ONLY = (
    HOOK
    + r"""
from app.ui import launch
from app.config import DataPaths
_watch(launch.make_application())
sys.exit(launch.run_window(DataPaths(__import__("pathlib").Path(sys.argv[1]))))
"""
)


def first_window(code: str, *args: str) -> float:
    """Seconds from starting ``python -c code`` to its first window being painted."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("FIRST_WINDOW "):
            return float(line.split()[1]) - started
    raise RuntimeError(f"no window was shown:\n{result.stdout}\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from app.config import DataPaths
    from app.services.setup.demo import prepare_demo

    with tempfile.TemporaryDirectory() as folder:
        data = DataPaths(Path(folder) / "data")
        prepare_demo(data).close()
        # Warm the disk cache for everyone alike, then alternate so drift hits both.
        first_window(BARE)
        first_window(APP, str(data.root))
        bare: list[float] = []
        app: list[float] = []
        window_only: list[float] = []
        for run in range(args.runs):
            bare.append(first_window(BARE))
            app.append(first_window(APP, str(data.root)))
            window_only.append(first_window(WINDOW_ONLY, str(data.root)))
            print(
                f"run {run + 1}: bare {bare[-1]:.3f}s, ledgerlink {app[-1]:.3f}s, "
                f"window only {window_only[-1]:.3f}s",
                file=sys.stderr,
            )
    bare_s = statistics.median(bare)
    app_s = statistics.median(app)
    window_s = statistics.median(window_only)
    print(
        json.dumps(
            {
                "app_first_window_s": round(app_s, 3),
                "bare_first_window_s": round(bare_s, 3),
                "ratio": round(app_s / bare_s, 2),
                "window_only_first_window_s": round(window_s, 3),
                "window_only_ratio": round(window_s / bare_s, 2),
                "runs": args.runs,
                "platform": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            }
        )
    )


if __name__ == "__main__":
    main()
