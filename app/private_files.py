"""Files only their owner can read, for everything Ledgerlink writes in its data folder.

Logs hold organisation, contact and invoice ids, exports hold the link table: on POSIX
each file is created with mode 0600 (folders 0700) from the start, never created
readable and narrowed afterwards. On Windows the user's profile folder is already
private and the mode bits are ignored.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

FILE_MODE = stat.S_IRUSR | stat.S_IWUSR
FOLDER_MODE = stat.S_IRWXU


def restrict_to_owner(path: Path) -> None:
    """Make an existing file (0600) or folder (0700) private to its owner (POSIX)."""
    if os.name != "posix" or not path.exists():
        return
    path.chmod(FOLDER_MODE if path.is_dir() else FILE_MODE)


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)``, the file created (or narrowed, if it exists) as 0600.

    ``mode`` is one of ``w``, ``a``, ``a+``, with an optional ``b``; text ``kwargs``
    (``encoding``, ``newline``) pass through to :func:`open`.
    """
    flags = os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    flags |= os.O_RDWR if "+" in mode else os.O_WRONLY
    flags |= getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        if os.name == "posix":
            os.fchmod(descriptor, FILE_MODE)  # an older file made readable by others
        return open(descriptor, mode, **kwargs)  # noqa: PTH123 - a descriptor, not a path
    except BaseException:
        os.close(descriptor)
        raise


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, owner-only."""
    with open_private(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_private_folder(path: Path) -> None:
    """Create ``path`` (and its parents) if needed and make it owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    restrict_to_owner(path)
