"""The export ledger: which import file and lines hold each record Ledgerlink wrote, and
the files as the user sees them (written, waiting for import, confirmed, missing).

A record has exactly one ledger row (unique on its outbox row), written in the same
transaction as its *handed over* state, so the ledger and the outbox never disagree.
"""

from __future__ import annotations

import stat
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEntry, RecordType, Sage50Export, SendState
from connectors.contract import HandedOver
from connectors.sage_50.files import FileKind, parse_name

PACKAGE = "sage_50"


def record_export(session: Session, entry: OutboxEntry, handed: HandedOver) -> None:
    """Keep where ``entry`` was written (the sender calls this as it hands it over)."""
    existing = session.scalar(select(Sage50Export).where(Sage50Export.outbox_id == entry.id))
    if existing is not None:
        # Never two places for one record: this can only be the same file found again
        # after an interrupted send.
        existing.file_name = handed.location
        existing.first_line = handed.lines[0] if handed.lines else 0
        existing.line_count = len(handed.lines) or 1
        existing.reference = handed.reference
        return
    session.add(
        Sage50Export(
            outbox_id=entry.id,
            record_type=entry.record_type,
            record_id=entry.record_id,
            file_name=handed.location,
            first_line=handed.lines[0] if handed.lines else 0,
            line_count=len(handed.lines) or 1,
            reference=handed.reference,
        )
    )


@dataclass(frozen=True)
class ExportedRecord:
    outbox_id: int
    record_type: RecordType
    record_id: int
    reference: str
    file_name: str
    first_line: int
    line_count: int
    state: SendState
    confirmed: bool

    @property
    def lines(self) -> str:
        """Where the record is in its file, in words (``line 4`` or ``lines 4–9``)."""
        if self.line_count <= 1:
            return f"line {self.first_line}"
        return f"lines {self.first_line}–{self.first_line + self.line_count - 1}"


@dataclass
class ExportFile:
    """One import file Ledgerlink wrote, as the files list shows it."""

    name: str
    kind: FileKind | None
    written_at: datetime | None
    #: Whether the file is in the folder; ``None`` when the folder does not answer (a
    #: share that dropped): never "missing" then.
    exists: bool | None
    records: list[ExportedRecord] = field(default_factory=list)

    @property
    def awaiting(self) -> int:
        """How many of the file's records wait for the user to import it into Sage."""
        return sum(1 for r in self.records if r.state is SendState.HANDED_OVER)

    @property
    def confirmed(self) -> int:
        """How many of the file's records Sage's own export has shown to be there."""
        return sum(1 for r in self.records if r.confirmed)

    @property
    def status(self) -> str:
        """The file's state in words for the files list: confirmed, missing from the folder, or
        waiting for import."""
        if not self.awaiting:
            return "confirmed in Sage"
        if self.exists is None:
            return (
                "exported, waiting for you to import it into Sage; whether it is still in "
                "the folder cannot be told now (the folder does not answer)"
            )
        if not self.exists:
            return "waiting for import, but the file is missing from the folder"
        return "exported, waiting for you to import it into Sage"

    def to_json(self) -> dict[str, object]:
        """The file as ``sage50 files --json`` prints it."""
        return {
            "file": self.name,
            "kind": self.kind.value if self.kind else "",
            "import_as": self.kind.import_type if self.kind else "",
            "written_at": self.written_at.isoformat() if self.written_at else None,
            "exists": self.exists,
            "records": len(self.records),
            "awaiting_import": self.awaiting,
            "confirmed": self.confirmed,
            "status": self.status,
        }


def exported_records(session: Session) -> list[ExportedRecord]:
    """Every ledger row with its record's current state, in file and line order."""
    rows = session.execute(
        select(Sage50Export, OutboxEntry.state)
        .join(OutboxEntry, OutboxEntry.id == Sage50Export.outbox_id)
        .order_by(Sage50Export.file_name, Sage50Export.first_line)
    ).all()
    return [
        ExportedRecord(
            e.outbox_id,
            e.record_type,
            e.record_id,
            e.reference,
            e.file_name,
            e.first_line,
            e.line_count,
            state,
            e.confirmed_at is not None,
        )
        for e, state in rows
    ]


def list_files(session: Session, folder: Path | None) -> list[ExportFile]:
    """The files the ledger knows, oldest first, each with whether it is still in
    ``folder`` and how many of its records wait for import."""
    by_name: dict[str, list[ExportedRecord]] = defaultdict(list)
    for record in exported_records(session):
        by_name[record.file_name].append(record)
    result = []
    answers = _answers(folder)
    for name, records in by_name.items():
        parsed = parse_name(name)
        written = None
        if parsed is not None:
            written = datetime.strptime(parsed.stamp, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        exists = _in_folder(folder, name) if answers else None
        kind = parsed.kind if parsed else None
        result.append(ExportFile(name, kind, written, exists, records))
    earliest = datetime.min.replace(tzinfo=UTC)
    return sorted(result, key=lambda f: (f.written_at or earliest, f.kind.order if f.kind else 9))


def _answers(folder: Path | None) -> bool:
    """Whether ``folder`` is there to look in: a disconnected mapped drive or an unmounted
    share reads as "no such file", as does a folder deleted, so a file's absence from a
    folder that is not a directory now tells nothing."""
    if folder is None:
        return True
    try:
        return stat.S_ISDIR(folder.stat().st_mode)
    except OSError:
        return False


def _in_folder(folder: Path | None, name: str) -> bool | None:
    """Whether ``name`` is a file in ``folder``; ``None`` when the folder does not answer
    (unreachable, refused), which is never taken as "not there"."""
    if folder is None:
        return False
    try:
        return (folder / name).is_file()
    except OSError:
        return None
