"""The Sandbox package's storage and its operations, in one SQLite file.

:class:`SandboxStore` is the "package": the connector calls its read and create methods
(which enforce :mod:`connectors.sandbox.rules`), and the demo set-up, the Sandbox viewer
and tests use its admin methods (reset, company name, lock date, contacts typed in by
hand, counts and look-ups).

Threads: every public method runs in its own short transaction on a pooled connection,
writes as ``BEGIN IMMEDIATE`` so concurrent writers queue (busy timeout 10 s) instead of
failing. A store may be shared by threads, but the intended use is one connector (and
so one store) per thread; several stores may open the same file at once (WAL mode).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from connectors.contract import (
    SYNC_FIELDS,
    AccountType,
    Company,
    ContactDraft,
    ContactRole,
    ContactUpdate,
    DocumentDraft,
    DocumentType,
    Draft,
    PaymentDraft,
    RemoteAccount,
    RemoteContact,
    RemoteRecordType,
    RemoteTaxRate,
)
from connectors.errors import NotSetUp, Rejected, TemporarilyUnavailable
from connectors.sandbox import rules
from connectors.sandbox.chart import DEFAULT_ACCOUNTS, DEFAULT_TAX_RATES, ChartAccount
from connectors.sandbox.lookups import (
    CHUNK,
    ContactFacts,
    DocumentFacts,
    Lookups,
    PaymentFacts,
)
from connectors.sandbox.models import (
    COMPANY_PREFIX,
    CONTACT_PREFIX,
    PAYMENT_PREFIX,
    SCHEMA_VERSION,
    AccountRow,
    AllocationRow,
    CompanyRow,
    ContactRow,
    CreditAllocationRow,
    DocumentRow,
    IdempotencyRow,
    LineRow,
    PaymentRow,
    SandboxBase,
    SchemaRow,
    TaxRateRow,
    format_ref,
    name_key,
    parse_ref,
)

DEFAULT_COMPANY_NAME = "Sandbox Heating & Plumbing Ltd"
DEFAULT_FILE_NAME = "sandbox.db"
#: Like Xero's ``Idempotency-Key`` header.
MAX_IDEMPOTENCY_KEY_LENGTH = 128
BUSY_TIMEOUT_MS = 10_000


class SandboxFileError(NotSetUp):
    """The Sandbox file cannot be used: not a Sandbox file, or made by a newer Ledgerlink.
    The message names the file and says what to do; nothing is sent until it is fixed."""


class SandboxBusy(TemporarilyUnavailable):
    """Another connection (a send from the window, the scheduler or a command) kept the
    Sandbox file's write lock for longer than :data:`BUSY_TIMEOUT_MS`. Raised
    only where that means nothing was read or written, so trying again later is safe."""


def _primary_code(exc: OperationalError) -> int | None:
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if not isinstance(orig, sqlite3.OperationalError) or not isinstance(code, int):
        return None
    # Python reports SQLite's extended codes (SQLITE_BUSY_RECOVERY, _SNAPSHOT, _TIMEOUT…);
    # their low byte is the primary code.
    return code & 0xFF


def _is_busy(exc: OperationalError) -> bool:
    return _primary_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


#: What stops a write to the file itself: read-only, gone, disk full, a disk error.
_CANNOT_WRITE = (
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
)


# ----------------------------------------------------------------------------- views


@dataclass(frozen=True)
class SandboxLine:
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal
    account_id: str
    tax_rate_id: str
    vat_rate: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class SandboxDocument:
    """An invoice or credit note as the Sandbox holds it.

    ``outstanding`` is, for an invoice, what is still unpaid (gross minus payments and
    credit notes set against it); for a credit note, what is not yet set against invoices.
    """

    ref: str
    type: DocumentType
    number: str
    date: dt.date
    due_date: dt.date | None
    contact_ref: str
    contact_name: str
    reference: str
    lines: tuple[SandboxLine, ...]
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class SandboxAllocation:
    document_ref: str
    document_number: str
    amount: Decimal


@dataclass(frozen=True)
class SandboxPayment:
    ref: str
    reference: str
    date: dt.date
    contact_ref: str
    contact_name: str
    amount: Decimal
    bank_account_id: str
    allocations: tuple[SandboxAllocation, ...]


# ----------------------------------------------------------------------------- engine


def _restrict_to_owner(path: Path) -> None:
    if os.name == "posix" and path.exists():
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _make_engine(path: Path) -> Engine:
    engine = create_engine(
        URL.create("sqlite", database=str(path)),
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: transactions are begun explicitly below, so
        # writes can take the write lock up front (BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    def on_begin(connection: Any) -> None:
        writing = connection.get_execution_options().get("sandbox_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def _new_company_id() -> str:
    return COMPANY_PREFIX + secrets.token_hex(4).upper()


def _contact_view(row: ContactRow) -> RemoteContact:
    return RemoteContact(
        ref=row.ref,
        role=row.role,
        name=row.name,
        contact_name=row.contact_name,
        address_1=row.address_1,
        address_2=row.address_2,
        address_3=row.address_3,
        town=row.town,
        county=row.county,
        postcode=row.postcode,
        email=row.email,
        phone=row.phone,
        our_ref=row.our_ref or "",
    )


def _account_view(row: AccountRow) -> RemoteAccount:
    return RemoteAccount(id=row.id, code=row.code, name=row.name, type=row.type)


def _document_view(session: Session, row: DocumentRow) -> SandboxDocument:
    outstanding = (
        rules.invoice_outstanding(session, row)
        if row.type is DocumentType.INVOICE
        else rules.credit_note_unallocated(session, row)
    )
    return SandboxDocument(
        ref=row.ref,
        type=row.type,
        number=row.number,
        date=row.date,
        due_date=row.due_date,
        contact_ref=row.contact.ref,
        contact_name=row.contact.name,
        reference=row.reference,
        lines=tuple(
            SandboxLine(
                line_no=line.line_no,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net_amount=line.net_amount,
                account_id=line.account_id,
                tax_rate_id=line.tax_rate_id,
                vat_rate=line.vat_rate,
                vat_amount=line.vat_amount,
            )
            for line in row.lines
        ),
        net_total=row.net_total,
        vat_total=row.vat_total,
        gross_total=row.gross_total,
        outstanding=outstanding,
    )


def _payment_view(row: PaymentRow) -> SandboxPayment:
    return SandboxPayment(
        ref=row.ref,
        reference=row.reference,
        date=row.date,
        contact_ref=row.contact.ref,
        contact_name=row.contact.name,
        amount=row.amount,
        bank_account_id=row.bank_account_id,
        allocations=tuple(
            SandboxAllocation(a.document.ref, a.document.number, a.amount) for a in row.allocations
        ),
    )


def _contact_values(draft: ContactDraft) -> dict[str, Any]:
    name = draft.name.strip()
    return {
        "role": draft.role,
        "name": name,
        "name_key": name_key(name),
        "contact_name": draft.contact_name.strip(),
        "address_1": draft.address_1.strip(),
        "address_2": draft.address_2.strip(),
        "address_3": draft.address_3.strip(),
        "town": draft.town.strip(),
        "county": draft.county.strip(),
        "postcode": draft.postcode.strip(),
        "email": draft.email.strip(),
        "phone": draft.phone.strip(),
        "our_ref": draft.our_ref.strip() or None,
    }


def _contact_row(draft: ContactDraft) -> ContactRow:
    return ContactRow(**_contact_values(draft))


def _checked_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise Rejected(
            code="invalid_idempotency_key",
            field="idempotency_key",
            reason=(
                f"The idempotency key is {len(key)} characters long; the Sandbox accepts "
                f"at most {MAX_IDEMPOTENCY_KEY_LENGTH}."
            ),
            fix="This is a Ledgerlink fault, not yours: please report it.",
        )
    return key


def _insert_many(
    session: Session, model: type[SandboxBase], values: Sequence[dict[str, Any]]
) -> None:
    if values:
        session.execute(insert(SandboxBase.metadata.tables[model.__tablename__]), list(values))


#: The order a batch's rows are written in, so every foreign key finds its row.
_WRITE_ORDER: tuple[type[SandboxBase], ...] = (
    ContactRow,
    DocumentRow,
    LineRow,
    CreditAllocationRow,
    PaymentRow,
    AllocationRow,
    IdempotencyRow,
)


class _Writes:
    """The rows a transaction's creates have been accepted for, written together by
    :meth:`write` (one statement a table) before it commits.

    Contacts, documents and payments get the ids SQLite's ``AUTOINCREMENT`` would have
    given them one by one: one more than the largest id the table has ever had. The
    transaction holds the write lock from its first statement (``BEGIN IMMEDIATE``), so
    no other writer can take them meanwhile.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[type[SandboxBase], list[dict[str, Any]]] = {m: [] for m in _WRITE_ORDER}
        self._next: dict[type[SandboxBase], int] = {}

    def next_pk(self, model: type[SandboxBase]) -> int:
        """The id the next row of ``model`` will get (nothing is taken yet)."""
        if model not in self._next:
            table = SandboxBase.metadata.tables[model.__tablename__]
            # The table's name comes from our own metadata, never from input.
            largest = self.session.scalar(
                text(
                    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = :name), 0),"
                    f" coalesce((SELECT max(pk) FROM {table.name}), 0))"
                ),
                {"name": table.name},
            )
            self._next[model] = int(largest or 0) + 1
        return self._next[model]

    def add(self, model: type[SandboxBase], values: dict[str, Any]) -> int:
        """Queue one row; for the tables with ``AUTOINCREMENT``, its new id."""
        if model in (ContactRow, DocumentRow, PaymentRow):
            pk = self.next_pk(model)
            self._next[model] = pk + 1
            values = {"pk": pk, **values}
        else:
            pk = 0
        self.rows[model].append(values)
        return pk

    def write(self) -> None:
        """Write every queued row, table by table."""
        for model in _WRITE_ORDER:
            _insert_many(self.session, model, self.rows[model])
            self.rows[model] = []


@dataclass(frozen=True)
class _Item:
    """One create of a batch: the draft, its idempotency key, and (credit notes only)
    the Sandbox invoice the whole credit note is set against."""

    draft: Draft
    idempotency_key: str
    credits_invoice_ref: str = ""


class _BatchWork:
    """Checks each create of one transaction against :mod:`rules` and queues its rows;
    the transaction writes them all at the end (:meth:`_Writes.write`). Every check
    comes before anything of its record is queued, so a refused record leaves nothing."""

    def __init__(self, session: Session, items: Sequence[_Item]) -> None:
        self.look = Lookups(session)
        self.look.preload([item.draft for item in items])
        self.writes = _Writes(session)

    def create(self, item: _Item) -> tuple[RemoteRecordType, str]:
        """Check and queue one create; its record type and new id."""
        draft = item.draft
        if isinstance(draft, ContactDraft):
            return RemoteRecordType(draft.role.value), self._contact(draft)
        if isinstance(draft, DocumentDraft):
            return RemoteRecordType(draft.type.value), self._document(
                draft, item.credits_invoice_ref
            )
        return RemoteRecordType.PAYMENT, self._payment(draft)

    def record_type(self, draft: Draft) -> RemoteRecordType:
        """What creating ``draft`` makes."""
        if isinstance(draft, ContactDraft):
            return RemoteRecordType(draft.role.value)
        if isinstance(draft, DocumentDraft):
            return RemoteRecordType(draft.type.value)
        return RemoteRecordType.PAYMENT

    def _contact(self, draft: ContactDraft) -> str:
        rules.check_contact(self.look, draft)
        values = _contact_values(draft)
        pk = self.writes.add(ContactRow, values)
        self.look.remember_contact(ContactFacts(pk, draft.role, values["name"]), values["our_ref"])
        return format_ref(CONTACT_PREFIX, pk)

    def _document(self, draft: DocumentDraft, credits_invoice_ref: str) -> str:
        checked = rules.check_document(self.look, draft)
        credits = credits_invoice_ref.strip()
        if credits and draft.type is not DocumentType.CREDIT_NOTE:
            raise Rejected(
                code="not_a_credit_note",
                field="original_invoice_number",
                reason=(
                    f"Invoice {draft.number.strip()} names an invoice it credits, but only "
                    "credit notes can credit an invoice."
                ),
                fix="Send it as a credit note, or clear the original invoice number.",
            )
        facts = DocumentFacts(
            pk=self.writes.next_pk(DocumentRow),
            type=draft.type,
            number=draft.number.strip(),
            date=draft.date,
            contact_pk=checked.contact.pk,
            contact_name=checked.contact.name,
            gross_total=checked.net_total + checked.vat_total,
        )
        invoice = (
            rules.check_credit_allocation(self.look, facts, credits_invoice_ref, facts.gross_total)
            if credits
            else None
        )
        pk = self.writes.add(
            DocumentRow,
            {
                "type": draft.type,
                "number": facts.number,
                "date": draft.date,
                "due_date": draft.due_date,
                "contact_pk": checked.contact.pk,
                "reference": draft.reference.strip(),
                "net_total": checked.net_total,
                "vat_total": checked.vat_total,
            },
        )
        assert pk == facts.pk
        for index, line in enumerate(draft.lines):
            self.writes.add(
                LineRow,
                {
                    "document_pk": pk,
                    "line_no": index + 1,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "net_amount": line.net_amount,
                    "account_id": line.account_id,
                    "tax_rate_id": line.tax_rate_id,
                    "vat_rate": line.vat_rate,
                    "vat_amount": line.vat_amount,
                },
            )
        self.look.remember_document(facts)
        if invoice is not None:
            self.writes.add(
                CreditAllocationRow,
                {"credit_note_pk": pk, "invoice_pk": invoice.pk, "amount": facts.gross_total},
            )
            self.look.remember_credit(pk, invoice.pk, facts.gross_total)
        return facts.ref

    def _payment(self, draft: PaymentDraft) -> str:
        checked = rules.check_payment(self.look, draft)
        reference = draft.reference.strip()
        pk = self.writes.add(
            PaymentRow,
            {
                "reference": reference,
                "date": draft.date,
                "contact_pk": checked.contact.pk,
                "amount": draft.amount,
                "bank_account_id": draft.bank_account_id,
            },
        )
        for invoice, amount in checked.allocations:
            self.writes.add(
                AllocationRow, {"payment_pk": pk, "document_pk": invoice.pk, "amount": amount}
            )
        self.look.remember_payment(
            reference,
            PaymentFacts(pk, draft.amount, draft.date, checked.contact.name),
            [(invoice.pk, amount) for invoice, amount in checked.allocations],
        )
        return format_ref(PAYMENT_PREFIX, pk)


# ----------------------------------------------------------------------------- the store


class SandboxStore:
    """One Sandbox file: the practice accounting package's data and rules.

    Opening creates the file (mode 0600 on POSIX) and its tables on first use, with the
    default UK chart, VAT rates and company. A file written by a newer Ledgerlink (a
    higher schema version), or a SQLite file that is not a Sandbox, raises
    :class:`SandboxFileError`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._prepare_file()
        self._engine = _make_engine(self.path)
        self._read_sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self._engine.execution_options(sandbox_write=True), expire_on_commit=False
        )
        try:
            self._prepare_schema()
        except BaseException:
            self._engine.dispose()
            raise
        for suffix in ("-wal", "-shm"):
            _restrict_to_owner(self.path.with_name(self.path.name + suffix))

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close every pooled connection (the store reopens them if used again)."""
        self._engine.dispose()

    def __enter__(self) -> SandboxStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare_file(self) -> None:
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        _restrict_to_owner(self.path)

    def _prepare_schema(self) -> None:
        try:
            # A file already made is only read: another process's send (the scheduler's,
            # a command's) may hold the write lock a while, and opening must not wait.
            with self._reading() as session:
                tables = set(inspect(session.connection()).get_table_names())
                if SchemaRow.__tablename__ in tables:
                    self._check_version(
                        session.scalar(select(SchemaRow.version).where(SchemaRow.id == 1))
                    )
                    if tables >= set(SandboxBase.metadata.tables):
                        return
            # New (or missing a table): made under the write lock, looking again there,
            # as another Ledgerlink may have made it in between.
            with self._writing() as session:
                tables = set(inspect(session.connection()).get_table_names())
                if SchemaRow.__tablename__ in tables:
                    self._check_version(
                        session.scalar(select(SchemaRow.version).where(SchemaRow.id == 1))
                    )
                elif tables:
                    raise SandboxFileError(
                        f"{self.path} is a database, but not a Sandbox file (it has no Sandbox "
                        "tables). Choose another file for the Sandbox."
                    )
                SandboxBase.metadata.create_all(session.connection())
                if SchemaRow.__tablename__ not in tables:
                    session.add(SchemaRow(id=1, version=SCHEMA_VERSION))
                    session.add(
                        CompanyRow(
                            id=1,
                            company_id=_new_company_id(),
                            name=DEFAULT_COMPANY_NAME,
                            lock_date=None,
                        )
                    )
                    self._seed_chart(session)
        except DatabaseError as exc:
            raise SandboxFileError(
                f"{self.path} cannot be opened as a Sandbox file ({exc.orig}). Choose another "
                "file for the Sandbox, or move this one aside to start afresh."
            ) from exc

    def _check_version(self, version: int | None) -> None:
        if version is None:
            raise SandboxFileError(
                f"{self.path} is damaged: it has no Sandbox schema version. Move it aside to "
                "start a fresh Sandbox."
            )
        if version > SCHEMA_VERSION:
            raise SandboxFileError(
                f"{self.path} was made by a newer version of Ledgerlink (Sandbox schema "
                f"{version}; this version understands up to {SCHEMA_VERSION}). Update "
                "Ledgerlink, or choose another Sandbox file."
            )
        if version < SCHEMA_VERSION:  # pragma: no cover - no older layout exists yet
            raise SandboxFileError(
                f"{self.path} uses Sandbox schema {version}, which this version of Ledgerlink "
                "cannot upgrade. Move it aside to start a fresh Sandbox."
            )

    @staticmethod
    def _seed_chart(session: Session) -> None:
        for account in DEFAULT_ACCOUNTS:
            session.add(
                AccountRow(id=account.id, code=account.code, name=account.name, type=account.type)
            )
        for rate in DEFAULT_TAX_RATES:
            session.add(TaxRateRow(id=rate.id, name=rate.name, rate=rate.rate))

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        try:
            with self._read_sessions.begin() as session:
                yield session
        except OperationalError as exc:
            if _is_busy(exc):
                raise self._busy() from exc
            raise

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        try:
            with self._write_sessions.begin() as session:
                try:
                    # BEGIN IMMEDIATE, so the write lock is had (or refused) before
                    # anything is written: refused, nothing was, and the caller may try
                    # again later.
                    session.connection()
                except OperationalError as exc:
                    if _is_busy(exc):
                        raise self._busy() from exc
                    raise
                yield session
        except OperationalError as exc:
            # Rolled back by now (SQLite's transactions are atomic): nothing was written.
            if _primary_code(exc) in _CANNOT_WRITE:
                raise SandboxFileError(
                    f"The Sandbox file {self.path} cannot be written ({exc.orig}); nothing "
                    "was written to it. Check that the file and its folder can be written "
                    "and the disk has room, or choose another Sandbox file."
                ) from exc
            raise

    def _busy(self) -> SandboxBusy:
        return SandboxBusy(
            f"The Sandbox file {self.path} is busy: another Ledgerlink (the window, the "
            "scheduler or a command) has been writing to it for over "
            f"{BUSY_TIMEOUT_MS / 1000:g} seconds. Nothing was written; try again when that "
            "send has finished."
        )

    def _create(self, item: _Item) -> str:
        """Run one create in its own transaction: its new id, or its refusal raised."""
        (result,) = self._create_many([item])
        if isinstance(result, Rejected):
            raise result
        return result

    def create_many(
        self,
        items: Sequence[tuple[Draft, str]],
        *,
        before: Callable[[int], None] | None = None,
        after: Callable[[int, str], None] | None = None,
    ) -> list[str | Rejected]:
        """Create several records (draft, idempotency key) in one transaction, each
        checked and written exactly as its own create would be, in order, so a record
        sees the ones before it (a namesake, an invoice's payment).

        The answer matches ``items`` by position: the new record's id, or the
        :class:`Rejected` that refused it (nothing of a refused record is written).
        ``before(i)`` runs before item ``i`` and ``after(i, ref)`` after it is accepted
        (the connector's fault injection); if either raises, the items finished so far
        are committed and the error is raised, as when a package stops answering part-way
        through a batch.
        """
        return self._create_many(
            [
                _Item(
                    draft,
                    key,
                    draft.credits_document_ref if isinstance(draft, DocumentDraft) else "",
                )
                for draft, key in items
            ],
            before=before,
            after=after,
        )

    def _create_many(
        self,
        items: Sequence[_Item],
        *,
        before: Callable[[int], None] | None = None,
        after: Callable[[int, str], None] | None = None,
    ) -> list[str | Rejected]:
        """:meth:`create_many` of ready items. What the checks read is loaded for the
        whole batch in a few queries, and the accepted rows are written together just
        before the commit; each record's idempotency key is honoured: a key already seen
        returns the first create's id and writes nothing."""
        results: list[str | Rejected] = []
        stop: BaseException | None = None
        with self._writing() as session:
            work = _BatchWork(session, items)
            seen = self._known_keys(session, items)
            new_keys: list[dict[str, Any]] = []
            for index, item in enumerate(items):
                if before is not None:
                    try:
                        before(index)
                    except BaseException as exc:
                        stop = exc
                        break
                try:
                    key = _checked_key(item.idempotency_key)
                    ref = self._replayed(seen, key, work.record_type(item.draft))
                    if ref is None:
                        record_type, ref = work.create(item)
                        if key:
                            seen[key] = (record_type.value, ref)
                            new_keys.append(
                                {"key": key, "record_type": record_type.value, "record_ref": ref}
                            )
                except Rejected as rejected:
                    results.append(rejected)
                    continue
                results.append(ref)
                if after is not None:
                    try:
                        after(index, ref)
                    except BaseException as exc:
                        stop = exc
                        break
            for values in new_keys:
                work.writes.add(IdempotencyRow, values)
            work.writes.write()
        if stop is not None:
            raise stop
        return results

    @staticmethod
    def _known_keys(session: Session, items: Sequence[_Item]) -> dict[str, tuple[str, str]]:
        """The batch's idempotency keys the file already holds: key → (type, id)."""
        keys = sorted({item.idempotency_key.strip() for item in items} - {""})
        return {
            key: (record_type, record_ref)
            for start in range(0, len(keys), CHUNK)
            for key, record_type, record_ref in session.execute(
                select(
                    IdempotencyRow.key, IdempotencyRow.record_type, IdempotencyRow.record_ref
                ).where(IdempotencyRow.key.in_(keys[start : start + CHUNK]))
            )
        }

    @staticmethod
    def _replayed(
        seen: dict[str, tuple[str, str]], key: str, record_type: RemoteRecordType
    ) -> str | None:
        """The id an earlier create with ``key`` made, or ``None`` if the key is new;
        a key used for another kind of record is refused."""
        if not key or key not in seen:
            return None
        seen_type, seen_ref = seen[key]
        if seen_type != record_type.value:
            raise Rejected(
                code="idempotency_key_reused",
                reason=(
                    f"The idempotency key {key!r} was already used to create "
                    f"{seen_type.replace('_', ' ')} {seen_ref}, so it "
                    f"cannot create a {record_type.value.replace('_', ' ')}."
                ),
                fix="This is a Ledgerlink fault, not yours: please report it.",
            )
        return seen_ref

    # ------------------------------------------------------------------ package: reads

    def company(self) -> Company:
        """The file's company."""
        with self._reading() as session:
            row = rules.company(session)
            return Company(id=row.company_id, name=row.name)

    def lock_date(self) -> date | None:
        """The lock date set on the file, if any."""
        with self._reading() as session:
            return rules.company(session).lock_date

    def list_accounts(self) -> list[RemoteAccount]:
        """Every account, by code."""
        with self._reading() as session:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.code))
            return [_account_view(row) for row in rows]

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """Every VAT rate, by id."""
        with self._reading() as session:
            rows = session.scalars(select(TaxRateRow).order_by(TaxRateRow.id))
            return [RemoteTaxRate(id=row.id, name=row.name, rate=row.rate) for row in rows]

    def contacts_page(
        self, role: ContactRole, *, after: str = "", limit: int = 200
    ) -> list[RemoteContact]:
        """Up to ``limit`` contacts of ``role`` in id order, after the contact ``after``."""
        after_pk = parse_ref(CONTACT_PREFIX, after) if after else 0
        with self._reading() as session:
            rows = session.scalars(
                select(ContactRow)
                .where(ContactRow.role == role, ContactRow.pk > (after_pk or 0))
                .order_by(ContactRow.pk)
                .limit(limit)
            )
            return [_contact_view(row) for row in rows]

    def list_contacts(self, role: ContactRole | None = None) -> list[RemoteContact]:
        """Every contact (of one role, or all), in id order. For the viewer and tests."""
        with self._reading() as session:
            query = select(ContactRow).order_by(ContactRow.pk)
            if role is not None:
                query = query.where(ContactRow.role == role)
            return [_contact_view(row) for row in session.scalars(query)]

    def get_contact(self, ref: str) -> RemoteContact | None:
        """The contact with reference ``ref``, or ``None``."""
        with self._reading() as session:
            row = rules.contact_by_ref(session, ref)
            return _contact_view(row) if row is not None else None

    def update_contact(self, ref: str, update: ContactUpdate) -> RemoteContact:
        """Change a contact's details (never its name), checked as a create is."""
        with self._writing() as session:
            row = rules.contact_by_ref(session, ref)
            if row is None:
                raise Rejected(
                    code="unknown_contact",
                    field="reference",
                    reason=f"The Sandbox has no contact {ref}; it may have been deleted.",
                    fix="Link our contact to the Sandbox contact it now is, on the Link page.",
                )
            rules.check_email(
                f"{row.role.value} {row.name} ({ref})", row.role.value, update.email.strip()
            )
            for name in SYNC_FIELDS:
                setattr(row, name, getattr(update, name).strip())
            session.flush()
            return _contact_view(row)

    def find_contacts_by_name(self, role: ContactRole, name: str) -> list[RemoteContact]:
        """Contacts of ``role`` whose name is exactly ``name`` (indexed)."""
        with self._reading() as session:
            rows = session.scalars(
                select(ContactRow)
                .where(ContactRow.role == role, ContactRow.name == name)
                .order_by(ContactRow.pk)
            )
            return [_contact_view(row) for row in rows]

    def document_numbers(self, doc_type: DocumentType) -> set[str]:
        """Every number of one document type (one indexed query)."""
        with self._reading() as session:
            return set(
                session.scalars(select(DocumentRow.number).where(DocumentRow.type == doc_type))
            )

    def find_existing(self, record_type: RemoteRecordType, our_key: str) -> str | None:
        """Contacts by our account reference, documents by number (per type), payments by
        reference; ``None`` when there is no such record."""
        key = our_key.strip()
        if not key:
            return None
        with self._reading() as session:
            if record_type in (RemoteRecordType.CUSTOMER, RemoteRecordType.SUPPLIER):
                contact = session.scalars(
                    select(ContactRow).where(
                        ContactRow.role == ContactRole(record_type.value),
                        ContactRow.our_ref == key,
                    )
                ).first()
                return contact.ref if contact is not None else None
            if record_type in (RemoteRecordType.INVOICE, RemoteRecordType.CREDIT_NOTE):
                document = session.scalars(
                    select(DocumentRow).where(
                        DocumentRow.type == DocumentType(record_type.value),
                        DocumentRow.number == key,
                    )
                ).first()
                return document.ref if document is not None else None
            payment = session.scalars(select(PaymentRow).where(PaymentRow.reference == key)).first()
            return payment.ref if payment is not None else None

    # ------------------------------------------------------------------ package: creates

    def create_contact(self, draft: ContactDraft, idempotency_key: str = "") -> str:
        """Insert a contact after the Sandbox's checks; its ``SBX-C…`` id."""
        return self._create(_Item(draft, idempotency_key))

    def create_document(
        self, draft: DocumentDraft, idempotency_key: str = "", *, credits_invoice_ref: str = ""
    ) -> str:
        """Insert an invoice or credit note after the Sandbox's checks; its ``SBX-D…`` id.

        ``credits_invoice_ref`` (credit notes only) sets the whole credit note against that
        invoice in the same transaction, reducing what is outstanding on it; if it cannot
        be (another customer's invoice, or more than is still owed) nothing is written.
        """
        return self._create(_Item(draft, idempotency_key, credits_invoice_ref))

    def create_payment(self, draft: PaymentDraft, idempotency_key: str = "") -> str:
        """Insert a customer payment set against invoices; its ``SBX-P…`` id."""
        return self._create(_Item(draft, idempotency_key))

    def allocate_credit_note(
        self, credit_note_ref: str, invoice_ref: str, amount: Decimal | None = None
    ) -> None:
        """Set (part of) a credit note against an invoice of the same customer, as a
        bookkeeper would in the package. ``amount`` defaults to all that is unallocated."""
        with self._writing() as session:
            look = Lookups(session)
            credit_note = look.document(credit_note_ref)
            if credit_note is None or credit_note.type is not DocumentType.CREDIT_NOTE:
                raise Rejected(
                    code="unknown_credit_note",
                    field="original_invoice_number",
                    reason=f'The Sandbox has no credit note "{credit_note_ref}".',
                    fix="Send the credit note first, then set it against the invoice.",
                )
            if amount is None:
                amount = look.credit_note_unallocated(credit_note)
            invoice = rules.check_credit_allocation(look, credit_note, invoice_ref, amount)
            session.add(
                CreditAllocationRow(
                    credit_note_pk=credit_note.pk, invoice_pk=invoice.pk, amount=amount
                )
            )

    # ------------------------------------------------------------------ admin

    def reset(self, *, company_name: str = DEFAULT_COMPANY_NAME) -> Company:
        """Empty the Sandbox: no contacts, documents, payments or remembered idempotency
        keys; default chart and VAT rates; no lock date; a new company id (so links made
        to the old company can be recognised as stale). Ids are never reused."""
        name = self._checked_company_name(company_name)
        with self._writing() as session:
            for model in (
                CreditAllocationRow,
                AllocationRow,
                PaymentRow,
                LineRow,
                DocumentRow,
                ContactRow,
                IdempotencyRow,
                AccountRow,
                TaxRateRow,
            ):
                session.execute(delete(model))
            self._seed_chart(session)
            row = rules.company(session)
            row.company_id = _new_company_id()
            row.name = name
            row.lock_date = None
            return Company(id=row.company_id, name=row.name)

    @staticmethod
    def _checked_company_name(name: str) -> str:
        cleaned = name.strip()
        if not cleaned:
            raise ValueError("the Sandbox company needs a name")
        if len(cleaned) > 200:
            raise ValueError("the Sandbox company name is longer than 200 characters")
        return cleaned

    def set_company_name(self, name: str) -> None:
        """Rename the company; a blank name or one over 200 characters is refused."""
        cleaned = self._checked_company_name(name)
        with self._writing() as session:
            rules.company(session).name = cleaned

    def set_lock_date(self, lock_date: date | None) -> None:
        """Refuse documents and payments dated on or before ``lock_date`` (``None``: none)."""
        with self._writing() as session:
            rules.company(session).lock_date = lock_date

    def add_account(self, code: str, name: str, account_type: AccountType) -> RemoteAccount:
        """Add an account to the chart, as a bookkeeper would in the package."""
        account = ChartAccount(code.strip(), name.strip(), account_type)
        if not account.code or not account.name:
            raise ValueError("an account needs a code and a name")
        with self._writing() as session:
            if session.scalars(select(AccountRow).where(AccountRow.code == account.code)).first():
                raise ValueError(f"the Sandbox already has an account with code {account.code}")
            session.add(
                AccountRow(id=account.id, code=account.code, name=account.name, type=account.type)
            )
        return account.remote()

    def add_contact(self, draft: ContactDraft) -> RemoteContact:
        """A contact typed straight into the package (same rules as a create)."""
        return self.add_contacts([draft])[0]

    def add_contacts(self, drafts: Sequence[ContactDraft]) -> list[RemoteContact]:
        """Several typed-in contacts in one transaction: all are added, or none."""
        with self._writing() as session:
            look = Lookups(session)
            rows: list[ContactRow] = []
            for draft in drafts:
                rules.check_contact(look, draft)
                row = _contact_row(draft)
                session.add(row)
                session.flush()
                look.remember_contact(ContactFacts(row.pk, row.role, row.name), row.our_ref)
                rows.append(row)
            return [_contact_view(row) for row in rows]

    def count_contacts(self, role: ContactRole | None = None) -> int:
        """How many contacts there are (of ``role`` only, if given)."""
        with self._reading() as session:
            query = select(func.count()).select_from(ContactRow)
            if role is not None:
                query = query.where(ContactRow.role == role)
            return int(session.scalar(query) or 0)

    def count_documents(self, doc_type: DocumentType | None = None) -> int:
        """How many documents there are (of ``doc_type`` only, if given)."""
        with self._reading() as session:
            query = select(func.count()).select_from(DocumentRow)
            if doc_type is not None:
                query = query.where(DocumentRow.type == doc_type)
            return int(session.scalar(query) or 0)

    def count_payments(self) -> int:
        """How many payments there are."""
        with self._reading() as session:
            return int(session.scalar(select(func.count()).select_from(PaymentRow)) or 0)

    def list_documents(self, doc_type: DocumentType | None = None) -> list[SandboxDocument]:
        """Every document (of ``doc_type`` only, if given), oldest first."""
        with self._reading() as session:
            query = select(DocumentRow).order_by(DocumentRow.pk)
            if doc_type is not None:
                query = query.where(DocumentRow.type == doc_type)
            return [_document_view(session, row) for row in session.scalars(query)]

    def get_document(self, ref: str) -> SandboxDocument | None:
        """The document with reference ``ref``, or ``None``."""
        with self._reading() as session:
            row = rules.document_by_ref(session, ref)
            return _document_view(session, row) if row is not None else None

    def get_document_by_number(self, doc_type: DocumentType, number: str) -> SandboxDocument | None:
        """The ``doc_type`` document numbered ``number``, or ``None``."""
        with self._reading() as session:
            row = session.scalars(
                select(DocumentRow).where(
                    DocumentRow.type == doc_type, DocumentRow.number == number.strip()
                )
            ).first()
            return _document_view(session, row) if row is not None else None

    def outstanding(self, invoice_ref: str) -> Decimal:
        """What is still unpaid on an invoice; ``KeyError`` if there is no such invoice."""
        document = self.get_document(invoice_ref)
        if document is None or document.type is not DocumentType.INVOICE:
            raise KeyError(f"the Sandbox has no invoice {invoice_ref!r}")
        return document.outstanding

    def list_payments(self) -> list[SandboxPayment]:
        """Every payment, oldest first."""
        with self._reading() as session:
            rows = session.scalars(select(PaymentRow).order_by(PaymentRow.pk))
            return [_payment_view(row) for row in rows]

    def get_payment(self, ref: str) -> SandboxPayment | None:
        """The payment with reference ``ref``, or ``None``."""
        pk = parse_ref(PAYMENT_PREFIX, ref)
        if pk is None:
            return None
        with self._reading() as session:
            row = session.get(PaymentRow, pk)
            return _payment_view(row) if row is not None else None
