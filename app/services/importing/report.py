"""What a CSV import found and did: the report the CLI prints and the window shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.db.models import RecordType


class ImportKind(StrEnum):
    """The five files Ledgerlink imports, named as their files are (``customers.csv``…)."""

    CUSTOMERS = "customers"
    SUPPLIERS = "suppliers"
    INVOICES = "invoices"
    CREDIT_NOTES = "credit_notes"
    PAYMENTS = "payments"

    @property
    def file_name(self) -> str:
        """The usual file name, e.g. ``credit_notes.csv``."""
        return f"{self.value}.csv"

    @property
    def record_type(self) -> RecordType:
        """The outbox record type of what this file holds."""
        return _RECORD_TYPES[self]


_RECORD_TYPES = {
    ImportKind.CUSTOMERS: RecordType.CUSTOMER,
    ImportKind.SUPPLIERS: RecordType.SUPPLIER,
    ImportKind.INVOICES: RecordType.INVOICE,
    ImportKind.CREDIT_NOTES: RecordType.CREDIT_NOTE,
    ImportKind.PAYMENTS: RecordType.PAYMENT,
}

#: The order files must be imported in: each one refers only to records of earlier ones.
IMPORT_ORDER: tuple[ImportKind, ...] = (
    ImportKind.CUSTOMERS,
    ImportKind.SUPPLIERS,
    ImportKind.INVOICES,
    ImportKind.CREDIT_NOTES,
    ImportKind.PAYMENTS,
)


@dataclass(frozen=True)
class RowError:
    """One problem in the file.

    ``line`` counts the header as line 1, as a spreadsheet numbers its rows; 0 means the
    file as a whole (it cannot be read). ``column`` is the header name as the file spells
    it, or ``""`` when the problem is with the whole row (or the whole file).
    """

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return self.message
        if self.column:
            return f'line {self.line}, column "{self.column}": {self.message}'
        return f"line {self.line}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The problem as the CLI's JSON report gives it (line, column, message)."""
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class AlreadySent:
    """A row whose record has already been sent and whose values in the file differ.

    The record is left exactly as it was; ``line`` is the record's first line in the file
    and ``key`` its account reference, document number or payment reference.
    """

    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.key}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The row as the CLI's JSON report gives it (line, key, message)."""
        return {"line": self.line, "key": self.key, "message": self.message}


@dataclass
class ImportReport:
    """The outcome of importing (or dry-running) one file.

    ``added``, ``updated`` and ``unchanged`` count records (a customer, a whole invoice
    with its lines, a whole payment with its allocations), not rows. When the file has
    errors nothing is written and all three are 0, even in a dry run.
    """

    kind: ImportKind
    file: str
    dry_run: bool = False
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    already_sent: list[AlreadySent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file had no errors (and so was imported, unless a dry run)."""
        return not self.errors

    def error(self, line: int, column: str, message: str) -> None:
        """Record a problem."""
        self.errors.append(RowError(line, column, message))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict. Its keys are stable (the CLI's ``--json`` output):

        ``kind``, ``file``, ``dry_run``, ``ok``, ``added``, ``updated``, ``unchanged``,
        ``already_sent`` (a list of ``{line, key, message}``), ``errors`` (a list of
        ``{line, column, message}``) and ``ignored_columns`` (a list of header names).
        """
        return {
            "kind": self.kind.value,
            "file": self.file,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "already_sent": [notice.to_json() for notice in self.already_sent],
            "errors": [error.to_json() for error in self.errors],
            "ignored_columns": list(self.ignored_columns),
        }

    def summary(self) -> str:
        """One line for people, e.g. ``customers.csv: 3 added, 1 updated, 40 unchanged``."""
        if not self.ok:
            noun = "problem" if len(self.errors) == 1 else "problems"
            return f"{self.file}: {len(self.errors)} {noun}; nothing was imported"
        would = "would be " if self.dry_run else ""
        parts = [
            f"{self.added} {would}added",
            f"{self.updated} {would}updated",
            f"{self.unchanged} unchanged",
        ]
        if self.already_sent:
            parts.append(f"{len(self.already_sent)} already sent and left as they were")
        return f"{self.file}: " + ", ".join(parts)

    def describe(self) -> str:
        """The whole report for people: the summary, then every notice and problem."""
        lines = [self.summary()]
        if self.dry_run and self.ok:
            lines.append("Dry run: nothing was written.")
        if self.ignored_columns:
            lines.append(
                "Columns ignored (not part of the layout): " + ", ".join(self.ignored_columns)
            )
        if self.already_sent:
            lines.append(f"Already sent, so left as they were ({len(self.already_sent)}):")
            lines.extend(f"  {notice}" for notice in self.already_sent)
        if self.errors:
            lines.append(f"Problems to fix ({len(self.errors)}):")
            lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)
