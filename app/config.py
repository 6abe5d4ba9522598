"""Where Ledgerlink keeps its files.

The data folder holds the app database, the Sandbox package's database, backups and logs.
It is chosen, first match wins, from ``--data-dir``, the ``LEDGERLINK_HOME`` environment
variable, then the platform's user data folder. ``--demo`` always works in a folder of its
own (``demo`` under the chosen one) so practising never touches the real store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.private_files import restrict_to_owner

__all__ = ["DataPaths", "resolve_data_paths", "restrict_to_owner"]

APP_NAME = "Ledgerlink"
HOME_ENV = "LEDGERLINK_HOME"
DATABASE_URL_ENV = "LEDGERLINK_DATABASE_URL"


@dataclass(frozen=True)
class DataPaths:
    """The files of one Ledgerlink data folder."""

    root: Path
    #: Only this folder's own SQLite file, whatever ``LEDGERLINK_DATABASE_URL`` says (the
    #: demo folder: practising must never touch a shared store).
    local_only: bool = False

    @property
    def database(self) -> Path:
        """This folder's own SQLite database file."""
        return self.root / "ledgerlink.db"

    @property
    def sandbox_database(self) -> Path:
        """The Sandbox practice package's books, a SQLite file kept beside ours."""
        return self.root / "sandbox.db"

    @property
    def backups(self) -> Path:
        """The folder of database backups made before a migration."""
        return self.root / "backups"

    @property
    def logs(self) -> Path:
        """The folder of log files and crash reports."""
        return self.root / "logs"

    @property
    def send_lock(self) -> Path:
        """Held while a send runs, so two never overlap (see app.services.sending.lock)."""
        return self.root / "send.lock"

    @property
    def store_file(self) -> Path:
        """Names a shared store (``ledgerlink store use``), without its password."""
        return self.root / "store.json"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: ``LEDGERLINK_DATABASE_URL`` if set, else the shared store
        chosen with ``ledgerlink store use``, else the SQLite file."""
        if self.local_only:
            return f"sqlite:///{self.database}"
        chosen = os.environ.get(DATABASE_URL_ENV)
        if chosen:
            return chosen
        try:
            saved = json.loads(self.store_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            saved = {}
        except (OSError, ValueError) as exc:
            from app.services.errors import SetupError

            raise SetupError(
                f"{self.store_file} cannot be read ({exc}); delete it to use the "
                "SQLite file in this folder, or run `ledgerlink store use` again."
            ) from exc
        url = saved.get("url") if isinstance(saved, dict) else None
        return url if isinstance(url, str) and url else f"sqlite:///{self.database}"

    @property
    def keeps_data_here(self) -> bool:
        """Whether the data is kept in this folder's own SQLite file (not a shared store)."""
        return self.database_url == f"sqlite:///{self.database}"

    def ensure(self) -> DataPaths:
        """Create the folder tree, readable by its owner only."""
        for folder in (self.root, self.backups, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
            restrict_to_owner(folder)
        return self

    def demo(self) -> DataPaths:
        """The separate folder ``--demo`` uses beside the real store."""
        return DataPaths(self.root / "demo", local_only=True)


def resolve_data_paths(data_dir: str | os.PathLike[str] | None = None) -> DataPaths:
    """Pick the data folder: explicit argument, then ``LEDGERLINK_HOME``, then the platform's."""
    if data_dir:
        return DataPaths(Path(data_dir).expanduser().resolve())
    env = os.environ.get(HOME_ENV)
    if env:
        return DataPaths(Path(env).expanduser().resolve())
    import platformdirs  # only when neither the option nor the variable says where

    return DataPaths(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))
