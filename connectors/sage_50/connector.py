"""Sage 50 Accounts (UK) through its own import files.

A send writes, into the folder the user chose, at most one Customer Records file, one
Supplier Records file and one Audit Trail Transactions file; the user imports them with
Sage's File › Import, records before transactions. Nothing is confirmed here: every record
is answered :class:`~connectors.contract.HandedOver` with its file and line, and becomes
successful only when a reconciliation against Sage's own exports finds it
(``app.services.sage50.reconcile``).

Within one connector (one send) the transactions of several kinds go into the same file,
rewritten whole each time; :meth:`close` seals the run, so a file is never changed after
the send that wrote it.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from connectors.catalogue import SAGE_50
from connectors.contract import (
    PLANNED_PARENT_REF,
    BatchItem,
    Company,
    Connector,
    ConnectorContext,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    CreateResult,
    DocumentDraft,
    Draft,
    HandedOver,
    LockDates,
    PackageInfo,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
    UpdateAnswer,
    only_answer,
)
from connectors.errors import (
    BatchInterrupted,
    ConnectorError,
    NotSetUp,
    OutcomeUncertain,
    Rejected,
)
from connectors.sage_50 import files, references, rows, updates
from connectors.sage_50.files import FileKind
from connectors.sage_50.settings import BridgeSettings, read_settings

_ROLE_FILE = {ContactRole.CUSTOMER: FileKind.CUSTOMERS, ContactRole.SUPPLIER: FileKind.SUPPLIERS}
_TRANSACTION_TYPES = {
    RemoteRecordType.INVOICE: ("SI",),
    RemoteRecordType.CREDIT_NOTE: ("SC",),
    RemoteRecordType.PAYMENT: ("SA",),
}


class Sage50Connector(Connector):
    """Writes Sage 50 import files; never claims Sage has a record."""

    info: ClassVar[PackageInfo] = SAGE_50

    def __init__(self, context: ConnectorContext, *, clock: type[datetime] = datetime) -> None:
        super().__init__(context)
        self.settings: BridgeSettings = read_settings(context.settings)
        self._clock = clock
        self._stamp: datetime | None = None
        #: Rows written by this run, per file; a file is rewritten whole with them.
        self._rows: dict[FileKind, list[list[str]]] = {}
        self._exported_refs: dict[ContactRole, set[str]] | None = None
        self._index: dict[tuple[RemoteRecordType, str], HandedOver] | None = None
        #: The rows of each file already written, by name, read once for both the
        #: references written (:meth:`_exported`) and the look-up (:meth:`_written_index`);
        #: forgotten whenever this run writes, so a look after a write reads afresh.
        self._read: dict[str, list[tuple[int, list[str]]]] = {}
        #: (file kind, reference) of each record whose file's write answer was lost by
        #: this connector, with that file's name: a look moments later (the share may
        #: still be down) never decides they are not there. Kept for the connector's
        #: life, which is one send; the next send's connector looks for them afresh.
        self._lost: dict[tuple[FileKind, str], str] = {}
        #: The claim on this run's time (:func:`files.claim`), removed when the run ends.
        self._claim: Path | None = None

    # ------------------------------------------------------------------ the folder

    def folder(self) -> Path:
        """The folder import files go in, once it is chosen, exists and may be written in;
        else ``NotSetUp`` saying which."""
        folder = self.settings.folder
        if folder is None:
            raise NotSetUp(
                "No folder is chosen for the Sage 50 import files: choose one on the "
                "Connect page or with `ledgerlink sage50 folder DIR`."
            )
        if not folder.is_dir():
            raise NotSetUp(
                f"The folder for Sage 50 import files, {folder}, does not exist (a drive "
                "not connected?). Choose it again."
            )
        if not os.access(folder, os.W_OK):
            raise NotSetUp(f"Ledgerlink may not write in {folder}; choose another folder.")
        return folder

    def connect(self) -> Company:
        """The "company" is the import folder: Sage 50 itself cannot be reached, so there is
        nothing else to name."""
        folder = self.folder()
        return Company(id=str(folder), name=f"Sage 50 import files in {folder}")

    # ------------------------------------------------------------------ what Sage has

    def list_accounts(self) -> list[RemoteAccount]:
        """The nominal codes copied into the settings from Sage's own list."""
        return list(self.settings.accounts)

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The company's tax codes from the settings (Sage's defaults unless set)."""
        return list(self.settings.tax_rates)

    def iter_contacts(self, role: ContactRole) -> Iterator[RemoteContact]:
        """The accounts of ``role`` from Sage's record exports kept in the settings."""
        yield from self.settings.sage_refs[role].values()

    def get_contact(self, ref: str) -> RemoteContact | None:
        """The account with reference ``ref`` in the kept exports, customers first."""
        found = self._account(ref)
        return found[1] if found else None

    def _account(self, ref: str) -> tuple[ContactRole, RemoteContact] | None:
        """The account with reference ``ref`` in the kept exports and its role,
        customers first."""
        for role in ContactRole:
            contact = self.settings.sage_refs[role].get(ref)
            if contact is not None:
                return role, contact
        return None

    def lock_dates(self) -> LockDates:
        """The lock date typed into the settings: Sage cannot be asked for it."""
        return LockDates(period_lock=self.settings.lock_date)

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        # Sage cannot be asked; only a reconciliation against its own exports confirms.
        """Always ``None``: Sage cannot be asked, and only a reconciliation against Sage's
        own exports confirms that a record arrived."""
        return None

    # ------------------------------------------------------------------ references

    def reference_for(self, draft: ContactDraft) -> str:
        """The account reference a new account gets: the one Ledgerlink chose and saved,
        else our own reference as Sage keeps it."""
        chosen = self.settings.chosen_refs.get((draft.role, draft.our_ref.strip()))
        return chosen or references.normalise(draft.our_ref)

    def _exported(self) -> dict[ContactRole, set[str]]:
        """References already written to an import file (by any send); ``NotSetUp`` when
        the folder cannot be read (its references are unknown, never none)."""
        if self._exported_refs is None:
            found: dict[ContactRole, set[str]] = {role: set() for role in ContactRole}
            for our, rows_in in self._written_files(_ROLE_FILE.values()):
                for role, kind in _ROLE_FILE.items():
                    if our.kind is kind:
                        found[role].update(row[0] for _, row in rows_in)
            self._exported_refs = found
        return self._exported_refs

    def _written_files(
        self, kinds: Collection[FileKind] = tuple(FileKind)
    ) -> Iterator[tuple[files.OurFile, list[tuple[int, list[str]]]]]:
        """Every import file of ``kinds`` Ledgerlink wrote in the folder, oldest first,
        with its rows (each file read once until this run writes); none when no folder
        is chosen. ``NotSetUp`` naming the folder when it cannot be listed or a file in it
        read (a drive not connected, a share that dropped): what it holds is then
        unknown, and never taken as nothing; ``NotSetUp`` naming the file when one of
        ours was changed so it no longer reads (re-saved by Excel, or cut short)."""
        folder = self.settings.folder
        if folder is None:
            return
        try:
            for our in files.our_files(folder):
                if our.kind in kinds:
                    rows_in = self._read.get(our.path.name)
                    if rows_in is None:
                        rows_in = self._read[our.path.name] = _rows_of(our.path)
                    yield our, rows_in
        except OSError as exc:
            raise NotSetUp(
                f"Ledgerlink cannot read {folder}, the folder for Sage 50 import files "
                f"({exc.strerror or exc}), so it cannot tell which records its files "
                "there already hold; nothing was written. Connect the drive, or let "
                "Ledgerlink read that folder, then send again."
            ) from exc

    # ------------------------------------------------------------------ the rules

    def check_draft(self, draft: Draft) -> Rejected | None:
        """The rejection the draft's import row would meet (a bad reference, a value Sage
        would cut or refuse, a locked date), or ``None``; nothing is written."""
        try:
            self._row_for(draft)
        except Rejected as refused:
            return refused
        return None

    def _row_for(self, draft: Draft) -> list[list[str]]:
        if isinstance(draft, ContactDraft):
            reference = self.reference_for(draft)
            row = rows.contact_row(draft, reference)
            if reference in self.settings.sage_refs[draft.role]:
                raise Rejected(
                    code="reference_taken",
                    field="A/C",
                    reason=f"{rows.contact_label(draft)}: Sage 50 already has a "
                    f"{draft.role.value} account {reference} "
                    f"(“{self.settings.sage_refs[draft.role][reference].name}”); importing would "
                    "change that account instead of adding this one.",
                    fix="If it is the same business, link it on the Link page; if not, let "
                    "Ledgerlink propose another reference (`ledgerlink sage50 references "
                    "--save`).",
                )
            return [row]
        self._check_dates(draft)
        planned = draft.contact_ref == PLANNED_PARENT_REF
        if planned:  # pre-flight: the customer goes in this send's records file first
            draft = replace(draft, contact_ref="PLANNED")
        if isinstance(draft, DocumentDraft):
            built = rows.document_rows(draft)
            label = rows.document_label(draft)
        else:
            built = [rows.payment_row(draft)]
            label = rows.payment_label(draft)
        if not planned:
            self._check_account(draft.contact_ref, label)
        codes = {a.code for a in self.settings.accounts}
        for row in built:
            if row[2] not in codes:
                raise Rejected(
                    code="unknown_nominal_code",
                    field="Nominal A/C Ref",
                    reason=f"{label} posts to nominal code {row[2]}, which is not in the "
                    "nominal list Ledgerlink has from Sage 50, so Sage would refuse the file.",
                    fix="Import Sage's nominal list again, or map the account to a code "
                    "that exists (Nominal accounts page).",
                )
        return built

    def _check_account(self, reference: str, label: str) -> None:
        known = self.settings.sage_refs[ContactRole.CUSTOMER]
        if reference in known or reference in self._exported()[ContactRole.CUSTOMER]:
            return
        raise Rejected(
            code="unknown_account",
            field="Account Reference",
            reason=f"{label} is for account {reference}, which is neither in the customer "
            "list Ledgerlink has from Sage 50 nor in an import file it wrote, so Sage would "
            "refuse the file.",
            fix="Import Sage's Customer Record CSV again (Reconcile page), or link the "
            "customer to its Sage account.",
        )

    def _check_dates(self, draft: DocumentDraft | PaymentDraft) -> None:
        label = (
            rows.document_label(draft)
            if isinstance(draft, DocumentDraft)
            else rows.payment_label(draft)
        )
        lock = self.settings.lock_date
        if lock is not None and draft.date <= lock:
            raise Rejected(
                code="locked_period",
                field="Date",
                reason=f"{label} is dated {draft.date:%d/%m/%Y}, on or before the lock "
                f"date {lock:%d/%m/%Y} you set for Sage 50.",
                fix="Move the lock date (Sage 50 settings in Ledgerlink) if the period is "
                "open in Sage, or choose “Entered manually”.",
            )
        start, end = self.settings.financial_year_start, self.settings.financial_year_end
        if start is not None and end is not None and not start <= draft.date <= end:
            raise Rejected(
                code="outside_financial_year",
                field="Date",
                reason=f"{label} is dated {draft.date:%d/%m/%Y}, outside Sage 50's "
                f"financial year {start:%d/%m/%Y} to {end:%d/%m/%Y}; Sage refuses the "
                "file with “Date out of range”.",
                fix="Set the financial year Sage 50 uses (Sage 50 settings in Ledgerlink), "
                "or enter this record in Sage by hand.",
            )

    # ------------------------------------------------------------------ writing

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """Always refused: Sage 50 takes records only through import files written by a
        send."""
        raise ConnectorError(
            "Sage 50 takes records only through import files: they are handed over by a "
            "send, never created one by one."
        )

    create_document = create_contact  # type: ignore[assignment]
    create_payment = create_contact  # type: ignore[assignment]

    def create_batch(self, items: Sequence[BatchItem]) -> Sequence[CreateResult]:
        """Write the batch's records into this run's file of their kind (rewritten whole);
        each is answered with its file and line, or refused before anything is written."""
        if not items:
            return []
        folder = self.folder()
        stamp = self._run_stamp(folder)
        results: list[CreateResult | None] = []
        staged: dict[FileKind, list[list[str]]] = {}
        placed: list[tuple[int, FileKind, int, int, str, str]] = []
        taken_refs: dict[FileKind, set[str]] = {}
        for index, item in enumerate(items):
            draft = item.draft
            try:
                built = self._row_for(draft)
            except Rejected as refused:
                results.append(refused)
                continue
            kind, reference, note = self._where(draft)
            if isinstance(draft, ContactDraft):
                taken = taken_refs.setdefault(kind, {r[0] for r in self._rows.get(kind, [])})
                if reference in taken or reference in self._exported()[draft.role]:
                    results.append(self._duplicate_reference(draft, reference))
                    continue
                taken.add(reference)
            first = len(self._rows.get(kind, [])) + len(staged.get(kind, [])) + 1
            staged.setdefault(kind, []).extend(built)
            placed.append((index, kind, first, len(built), reference, note))
            results.append(None)
        self._forget_reads()
        written: set[FileKind] = set()
        trouble: ConnectorError | None = None
        for kind, new_rows in staged.items():
            all_rows = self._rows.get(kind, []) + new_rows
            try:
                files.write_whole(folder / files.file_name(stamp, kind), files.render(all_rows))
            except files.WriteFailed as failed:
                trouble = _write_trouble(failed, earlier=kind in self._rows)
                trouble.__cause__ = failed.cause
                if failed.in_place:
                    self._wrote(kind, all_rows, new_rows)
                    written.add(kind)
                elif failed.in_place is None:
                    name = failed.path.name
                    self._lost.update(
                        ((k, reference), name) for _, k, *_, reference, _ in placed if k is kind
                    )
                    self._seal(keep_claim=True)  # contents unknown: never rewrite it
                break
            self._wrote(kind, all_rows, new_rows)
            written.add(kind)
        for index, kind, first, count, reference, note in placed:
            if kind not in written:
                continue
            name = files.file_name(stamp, kind)
            lines = tuple(range(first, first + count))
            where = f"line {first}" if count == 1 else f"lines {first}–{first + count - 1}"
            results[index] = HandedOver(
                reference=reference,
                note=f"in {name}, {where}" + (f"; {note}" if note else ""),
                location=name,
                lines=lines,
            )
        if trouble is not None:
            # The records refused or in a file written are answered; the rest are not.
            raise BatchInterrupted(list(results), trouble)
        return [r for r in results if r is not None]

    def _wrote(self, kind: FileKind, all_rows: list[list[str]], new_rows: list[list[str]]) -> None:
        """Remember that this run's file of ``kind`` now holds ``all_rows``."""
        self._rows[kind] = all_rows
        for role, role_kind in _ROLE_FILE.items():
            if kind is role_kind:
                self._exported()[role].update(row[0] for row in new_rows)

    def update_contact(self, ref: str, update: ContactUpdate) -> HandedOver:
        """Write an account's new details (never its name) as a row of this run's
        Customer (or Supplier) Records file, for the user to import; confirmed when a
        reconciliation finds them in Sage's export (see :mod:`.updates`). Refused when a
        field would need clearing, which Sage's import cannot do."""
        answer = only_answer(self.update_contacts([(ref, update)]))
        assert isinstance(answer, HandedOver)
        return answer

    def update_contacts(self, items: Sequence[tuple[str, ContactUpdate]]) -> Iterator[UpdateAnswer]:
        """:meth:`update_contact` for many accounts: every row checked first, then each
        Records file written once with all the rows that passed (an account refused is
        answered with its reason and left out; the others go on)."""
        answers: dict[int, UpdateAnswer] = {}
        staged: dict[FileKind, list[list[str]]] = {}
        placed: list[tuple[int, FileKind, int, str]] = []
        for position, (ref, update) in enumerate(items):
            found = self._account(ref.strip())
            try:
                if found is None:
                    raise updates.unknown_account(ref.strip())
                row = updates.update_row(found[1], update)
            except Rejected as refused:
                answers[position] = refused
                continue
            kind = _ROLE_FILE[found[0]]
            staged.setdefault(kind, []).append(row)
            line = len(self._rows.get(kind, [])) + len(staged[kind])
            placed.append((position, kind, line, found[1].ref))
        if placed:
            try:
                folder = self.folder()
                stamp = self._run_stamp(folder)
            except ConnectorError as trouble:
                answers.update((position, trouble) for position, *_ in placed)
            else:
                answers.update(self._write_updates(folder, stamp, staged, placed))
        yield from (answers[position] for position in range(len(items)))

    def _write_updates(
        self,
        folder: Path,
        stamp: datetime,
        staged: Mapping[FileKind, list[list[str]]],
        placed: Sequence[tuple[int, FileKind, int, str]],
    ) -> Iterator[tuple[int, UpdateAnswer]]:
        """Add the ``staged`` rows to this run's files (named for ``stamp``), each file
        rewritten whole once; each placed row's answer by position: its file and line, or
        why its file could not be written (that file's rows only: a file is written whole
        or not at all)."""
        failed: dict[FileKind, ConnectorError] = {}
        unknown = False
        for kind, new_rows in staged.items():
            name = files.file_name(stamp, kind)
            all_rows = [*self._rows.get(kind, []), *new_rows]
            try:
                files.write_whole(folder / name, files.render(all_rows))
            except files.WriteFailed as trouble:
                if not trouble.in_place:  # in place, the file holds them: handed over
                    failed[kind] = _update_trouble(trouble)
                    unknown = unknown or trouble.in_place is None
                    continue
            self._wrote(kind, all_rows, new_rows)
        self._forget_reads()
        if unknown:
            self._seal(keep_claim=True)  # a file whose contents are unknown: never rewritten
        for position, kind, line, reference in placed:
            name = files.file_name(stamp, kind)
            yield (
                position,
                failed.get(kind)
                or HandedOver(
                    reference=reference,
                    note=f"in {name}, line {line}: import it in Sage 50 (File › Import, "
                    f"{kind.import_type})",
                    location=name,
                    lines=(line,),
                ),
            )

    def _run_stamp(self, folder: Path) -> datetime:
        """This run's time for its file names, chosen on its first write."""
        if self._stamp is None:
            self._stamp = self._new_stamp(folder)
        return self._stamp

    def _new_stamp(self, folder: Path) -> datetime:
        """A time for file names that no other send uses (two sends in the same second,
        from this computer or another on a shared folder, must never write into each
        other's files). The time is claimed by creating its claim file exclusively, which
        only one sender can do, and then taken only if no file of that time is there yet
        (one written by an older Ledgerlink, or by a send whose claim is gone). ``NotSetUp``
        when the folder cannot be looked in or written: nothing is written then."""
        stamp = self._clock.now(UTC).replace(microsecond=0)
        claimed: Path | None = None
        try:
            while True:
                mark = folder / files.claim_name(stamp)
                if files.claim(mark):
                    claimed = mark
                    if not any(
                        (folder / files.file_name(stamp, kind)).exists() for kind in FileKind
                    ):
                        break
                    claimed = None
                    mark.unlink(missing_ok=True)  # that time is taken by its files
                stamp += timedelta(seconds=1)
        except OSError as exc:
            if claimed is not None:
                _forget_claim(claimed)
            raise NotSetUp(
                f"Ledgerlink cannot look in {folder}, the folder for Sage 50 import files "
                f"({exc.strerror or exc}), so nothing was written; let it read and write "
                "there, or choose another folder."
            ) from exc
        self._claim = claimed
        _clear_stale_claims(folder, stamp)
        return stamp

    def _where(self, draft: Draft) -> tuple[FileKind, str, str]:
        if isinstance(draft, ContactDraft):
            return _ROLE_FILE[draft.role], self.reference_for(draft), ""
        if isinstance(draft, DocumentDraft):
            return FileKind.TRANSACTIONS, draft.number, ""
        return (
            FileKind.TRANSACTIONS,
            draft.reference,
            f"imported on account: allocate it in Sage ({rows.allocation_note(draft)})",
        )

    def _duplicate_reference(self, draft: ContactDraft, reference: str) -> Rejected:
        return Rejected(
            code="reference_collision",
            field="A/C",
            reason=f"{rows.contact_label(draft)} would get the Sage 50 reference "
            f"{reference}, which another of our accounts already has in an import file; "
            "Sage would merge the two.",
            fix="Let Ledgerlink propose another reference (`ledgerlink sage50 references --save`).",
        )

    # ------------------------------------------------------------------ crash recovery

    def find_handed_over(self, record_type: RemoteRecordType, our_key: str) -> HandedOver | None:
        """Look in the import files already written for a record whose send was cut off
        between writing its file and recording it; ``NotSetUp`` when the folder cannot be
        read, or when the record is not found but the answer to writing its file was lost
        by this connector (the record stays uncertain: never "not there" on a folder out
        of sight, or looked at moments after its share dropped)."""
        wanted, kind = our_key, FileKind.TRANSACTIONS
        if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
            role = ContactRole(record_type.value)
            wanted = self.reference_for(ContactDraft(role=role, our_ref=our_key, name=""))
            kind = _ROLE_FILE[role]
        found = self._written_index().get((record_type, wanted))
        lost = self._lost.get((kind, wanted))
        if found is None and lost is not None:
            what = record_type.value.replace("_", " ")
            raise NotSetUp(
                f"{what.capitalize()} {our_key}: the answer to writing {lost} in "
                f"{self.settings.folder} was lost moments ago, so whether Sage 50 can import "
                f"this {what} is not known yet; Ledgerlink looks for it again on the next "
                "send, before writing it again."
            )
        return found

    def _written_index(self) -> dict[tuple[RemoteRecordType, str], HandedOver]:
        """Every record in the files already written, by type and key, read once (a
        crash can leave thousands of records to look up)."""
        if self._index is not None:
            return self._index
        found: dict[tuple[RemoteRecordType, str], list[int]] = {}
        names: dict[tuple[RemoteRecordType, str], str] = {}
        by_type = {t: rt for rt, types in _TRANSACTION_TYPES.items() for t in types}
        for our, rows_in in self._written_files():
            for number, row in rows_in:
                if our.kind is FileKind.TRANSACTIONS:
                    if row[0] not in by_type or len(row) < 6:
                        continue
                    key = (by_type[row[0]], row[5])
                else:
                    role = next(r for r, k in _ROLE_FILE.items() if k is our.kind)
                    key = (RemoteRecordType(role.value), row[0])
                if names.setdefault(key, our.path.name) == our.path.name:
                    found.setdefault(key, []).append(number)
        self._index = {
            key: HandedOver(
                reference=key[1],
                note=f"in {names[key]}, line {lines[0]} (found after an interrupted send)",
                location=names[key],
                lines=tuple(lines),
            )
            for key, lines in found.items()
        }
        return self._index

    def close(self) -> None:
        """Seal the run: the next send writes new files (its files are in place, so its
        claim on their time is no longer needed)."""
        self._seal(keep_claim=False)

    def _seal(self, *, keep_claim: bool) -> None:
        """End the run's files. ``keep_claim`` after a write whose outcome is unknown: the
        rename may still land, so no other send may take that time (the claim stays)."""
        if self._claim is not None and not keep_claim:
            _forget_claim(self._claim)
        self._claim = None
        self._stamp = None
        self._rows = {}
        self._exported_refs = None
        self._forget_reads()

    def _forget_reads(self) -> None:
        """Forget what was read of the files already written (this run writes now)."""
        self._index = None
        self._read = {}


def _clear_stale_claims(folder: Path, now: datetime) -> None:
    """Remove the claims no send needs any more (:func:`files.stale_claims`), so killed
    sends do not pile them up in the user's folder; one that cannot be removed, or a
    folder that cannot be listed, is let be."""
    with contextlib.suppress(OSError):
        for stale in files.stale_claims(folder, now):
            _forget_claim(stale)


def _forget_claim(claim: Path) -> None:
    """Remove a claim on a run's time; one that cannot be removed only keeps that second
    from later sends, which move on to the next."""
    with contextlib.suppress(OSError):
        claim.unlink(missing_ok=True)


def _rows_of(path: Path) -> list[tuple[int, list[str]]]:
    """The rows of one of our files; ``NotSetUp`` naming it when it no longer reads as
    Ledgerlink wrote it (re-saved in another encoding, or with broken quoting)."""
    try:
        return list(files.read_rows(path))
    except (ValueError, csv.Error) as exc:
        raise NotSetUp(
            f"{path.name} in {path.parent} is no longer the import file Ledgerlink wrote "
            f"(it was changed and saved again, perhaps by Excel: {_unreadable(exc)}), so "
            "Ledgerlink cannot tell which records it holds; nothing was written. Put back "
            "the file as Ledgerlink wrote it, or, once Sage has imported it, move it out of "
            "that folder, then send again."
        ) from exc


def _unreadable(exc: ValueError | csv.Error) -> str:
    """Why a file no longer reads, in plain words."""
    if isinstance(exc, UnicodeDecodeError):
        return f"byte {exc.start + 1} is not a Windows-1252 character"
    if isinstance(exc, files.NotAsWritten):
        return str(exc)
    return f"it does not read as CSV: {exc}"


_WRITE_FIX = {
    errno.ENOSPC: "free some space on that drive",
    errno.ENOENT: "the folder is gone (a drive not connected?): connect it, or choose the "
    "folder again",
    errno.EACCES: "let Ledgerlink write in that folder, or choose another",
    errno.EPERM: "let Ledgerlink write in that folder, or choose another",
    errno.EROFS: "the drive is read-only: choose a folder Ledgerlink may write in",
}


#: A file Sage 50 (or Excel) has open: its folder's permissions are not the matter.
_HELD_OPEN_FIX = (
    "Sage 50, or another program, has that file open: close it there (in Sage, finish or "
    "cancel the import)"
)


def _write_trouble(failed: files.WriteFailed, *, earlier: bool) -> ConnectorError:
    """Why a send stopped at an import file it could not write, naming the file, its
    folder and the cause, and what the records are: waiting (``NotSetUp``, nothing of
    theirs in the folder), handed over (the file is there, only saving the folder to
    disk failed), or unknown (``OutcomeUncertain``: the sender looks in the folder before
    writing any again). ``earlier`` when this send already wrote part of that file."""
    name, folder, cause = failed.path.name, failed.path.parent, failed.reason
    if failed.in_place is None:
        return OutcomeUncertain(
            f"Ledgerlink cannot tell whether {name} reached {folder}, the folder for Sage 50 "
            f"import files ({cause}), so Sage may find it there or not; Ledgerlink looks "
            "for its records in that folder before writing any of them again, in a new file."
            + _pending_leftover(failed)
        )
    fix = (
        _HELD_OPEN_FIX
        if failed.held_open
        else _WRITE_FIX.get(failed.cause.errno or 0, "check that folder and its drive")
    )
    fix = fix[0].upper() + fix[1:]
    if failed.in_place:
        return NotSetUp(
            f"{name} is written in {folder} and its records are handed over, but the folder "
            f"could not be saved to disk ({cause}): if the computer stopped since, check that "
            f"the file is still there before you import it. The rest of the send waits. {fix}, "
            "then send again."
        )
    kept = (
        "it holds only the records handed over before"
        if earlier
        else "nothing of it is there for Sage to import"
    )
    left = (
        f" Delete {failed.leftover.name} from that folder: it is an unfinished copy "
        "Ledgerlink could not remove, and Sage must never import it."
        if failed.leftover
        else ""
    )
    return NotSetUp(
        f"Ledgerlink could not write {name} in {folder}, the folder for Sage 50 import "
        f"files ({cause}), so {kept}; the records not handed over wait for the next send. "
        f"{fix}, then send again.{left}"
    )


def _pending_leftover(failed: files.WriteFailed) -> str:
    """What to do about a temporary left behind by a rename whose outcome is unknown (the
    drive may still rename it, so it is named, not called unfinished for certain)."""
    if failed.leftover is None:
        return ""
    return (
        f" If {failed.leftover.name} is still in that folder once the drive answers again, "
        "delete it: it is a copy Ledgerlink could not remove, and Sage must never import it."
    )


def _update_trouble(failed: files.WriteFailed) -> ConnectorError:
    """A sync's answer for the accounts whose Records file could not be written."""
    name, folder, cause = failed.path.name, failed.path.parent, failed.reason
    if failed.in_place is None:
        return ConnectorError(
            f"Ledgerlink cannot tell whether {name} reached {folder} ({cause}), so these "
            "details may or may not be there for Sage to import; sync again to write them "
            "in a new file." + _pending_leftover(failed)
        )
    left = f"; delete {failed.leftover.name} from that folder first" if failed.leftover else ""
    fix = _HELD_OPEN_FIX if failed.held_open else "check the folder"
    return ConnectorError(
        f"Ledgerlink could not write {name} in {folder} ({cause}), so these details were "
        f"not handed over; {fix}{left}, then sync again."
    )
