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
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    URL,
    CursorResult,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import DatabaseError
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
from connectors.errors import ConnectorError, Rejected
from connectors.sandbox import rules
from connectors.sandbox.chart import DEFAULT_ACCOUNTS, DEFAULT_TAX_RATES, ChartAccount
from connectors.sandbox.models import (
    COMPANY_PREFIX,
    CONTACT_PREFIX,
    DOCUMENT_PREFIX,
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


class SandboxFileError(ConnectorError):
    """The Sandbox file cannot be used: not a Sandbox file, or made by a newer Ledgerlink."""


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
            reason=(
                f"The idempotency key is {len(key)} characters long; the Sandbox accepts "
                f"at most {MAX_IDEMPOTENCY_KEY_LENGTH}."
            ),
            fix="This is a Ledgerlink fault, not yours: please report it.",
        )
    return key


def _insert(session: Session, model: type[SandboxBase], values: dict[str, Any]) -> int:
    """Insert one row on the table, not through the unit of work (a send inserts many
    rows it never reads back as objects); its primary key."""
    table = SandboxBase.metadata.tables[model.__tablename__]
    result = cast(CursorResult[Any], session.execute(insert(table), values))
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


def _insert_many(
    session: Session, model: type[SandboxBase], values: Sequence[dict[str, Any]]
) -> None:
    if values:
        session.execute(insert(SandboxBase.metadata.tables[model.__tablename__]), list(values))


def _contact_work(draft: ContactDraft) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        rules.check_contact(session, draft)
        return format_ref(CONTACT_PREFIX, _insert(session, ContactRow, _contact_values(draft)))

    return work


def _payment_work(draft: PaymentDraft) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        checked = rules.check_payment(session, draft)
        pk = _insert(
            session,
            PaymentRow,
            {
                "reference": draft.reference.strip(),
                "date": draft.date,
                "contact_pk": checked.contact.pk,
                "amount": draft.amount,
                "bank_account_id": draft.bank_account_id,
            },
        )
        _insert_many(
            session,
            AllocationRow,
            [
                {"payment_pk": pk, "document_pk": invoice.pk, "amount": amount}
                for invoice, amount in checked.allocations
            ],
        )
        return format_ref(PAYMENT_PREFIX, pk)

    return work


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
            with self._write_sessions.begin() as session:
                tables = set(inspect(session.connection()).get_table_names())
                if SchemaRow.__tablename__ in tables:
                    version = session.scalar(select(SchemaRow.version).where(SchemaRow.id == 1))
                    self._check_version(version)
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
        with self._read_sessions.begin() as session:
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write_sessions.begin() as session:
            yield session

    def _create(
        self, record_type: RemoteRecordType, idempotency_key: str, work: Callable[[Session], str]
    ) -> str:
        """Run one create in its own transaction (see :meth:`_create_in`)."""
        key = _checked_key(idempotency_key)
        with self._writing() as session:
            return self._create_in(session, record_type, key, work, None)

    @staticmethod
    def _create_in(
        session: Session,
        record_type: RemoteRecordType,
        key: str,
        work: Callable[[Session], str],
        known: dict[str, tuple[str, str]] | None,
    ) -> str:
        """Run one create, honouring its idempotency key: a key already seen returns the
        first create's id and writes nothing. ``known``: the keys a batch has loaded and
        created so far, looked up instead of the file; the batch writes the new ones."""
        if key:
            if known is None:
                row = session.get(IdempotencyRow, key)
                seen = (row.record_type, row.record_ref) if row is not None else None
            else:
                seen = known.get(key)
            if seen is not None:
                seen_type, seen_ref = seen
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
        ref = work(session)
        if key:
            values = {"key": key, "record_type": record_type.value, "record_ref": ref}
            if known is None:
                _insert_many(session, IdempotencyRow, [values])
            else:
                # The batch writes its keys together, before it commits.
                known[key] = (record_type.value, ref)
        return ref

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
        ``before(i)`` runs before item ``i`` and ``after(i, ref)`` after it is written
        (the connector's fault injection); if either raises, the items finished so far
        are committed and the error is raised, as when a package stops answering part-way
        through a batch.
        """
        results: list[str | Rejected] = []
        stop: BaseException | None = None
        with self._writing() as session:
            held, seen = self._preload(session, items)
            loaded = set(seen)
            for index, (draft, idempotency_key) in enumerate(items):
                if before is not None:
                    try:
                        before(index)
                    except BaseException as exc:
                        stop = exc
                        break
                try:
                    key = _checked_key(idempotency_key)
                    record_type, work, partial = self._work_for(draft)
                    if partial:
                        # This create writes before its last check: a refusal then undoes
                        # its own writes only.
                        with session.begin_nested():
                            ref = self._create_in(session, record_type, key, work, seen)
                    else:
                        ref = self._create_in(session, record_type, key, work, seen)
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
            _insert_many(
                session,
                IdempotencyRow,
                [
                    {"key": key, "record_type": record_type, "record_ref": ref}
                    for key, (record_type, ref) in seen.items()
                    if key not in loaded
                ],
            )
        del held
        if stop is not None:
            raise stop
        return results

    @staticmethod
    def _preload(
        session: Session, items: Sequence[tuple[Draft, str]]
    ) -> tuple[list[object], dict[str, tuple[str, str]]]:
        """Load in a few queries what checking a batch reads row by row (the company,
        chart, VAT rates, the contacts and invoices it refers to, its idempotency keys),
        so each check finds them in the session; the list keeps them there (the
        session holds loaded rows weakly)."""
        held: list[object] = [rules.company(session)]
        held += session.scalars(select(AccountRow)).all()
        held += session.scalars(select(TaxRateRow)).all()
        contact_pks: set[int] = set()
        document_pks: set[int] = set()
        for draft, _key in items:
            if isinstance(draft, DocumentDraft | PaymentDraft):
                pk = parse_ref(CONTACT_PREFIX, draft.contact_ref)
                if pk is not None:
                    contact_pks.add(pk)
            refs = (
                [a.document_ref for a in draft.allocations]
                if isinstance(draft, PaymentDraft)
                else [draft.credits_document_ref]
                if isinstance(draft, DocumentDraft) and draft.credits_document_ref.strip()
                else []
            )
            for ref in refs:
                pk = parse_ref(DOCUMENT_PREFIX, ref)
                if pk is not None:
                    document_pks.add(pk)
        if contact_pks:
            held += session.scalars(
                select(ContactRow).where(ContactRow.pk.in_(sorted(contact_pks)))
            ).all()
        if document_pks:
            held += session.scalars(
                select(DocumentRow).where(DocumentRow.pk.in_(sorted(document_pks)))
            ).all()
        keys = sorted({key.strip() for _draft, key in items if key.strip()})
        seen = {
            key: (record_type, record_ref)
            for key, record_type, record_ref in session.execute(
                select(
                    IdempotencyRow.key, IdempotencyRow.record_type, IdempotencyRow.record_ref
                ).where(IdempotencyRow.key.in_(keys))
            )
        }
        return held, seen

    def _work_for(self, draft: Draft) -> tuple[RemoteRecordType, Callable[[Session], str], bool]:
        """What creating ``draft`` records and does, and whether it may write before
        its last check (a credit note set against an invoice)."""
        if isinstance(draft, ContactDraft):
            return RemoteRecordType(draft.role.value), _contact_work(draft), False
        if isinstance(draft, DocumentDraft):
            credits = draft.credits_document_ref
            return (
                RemoteRecordType(draft.type.value),
                self._document_work(draft, credits),
                bool(credits.strip()),
            )
        return RemoteRecordType.PAYMENT, _payment_work(draft), False

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
        record_type = RemoteRecordType(draft.role.value)
        return self._create(record_type, idempotency_key, _contact_work(draft))

    def create_document(
        self, draft: DocumentDraft, idempotency_key: str = "", *, credits_invoice_ref: str = ""
    ) -> str:
        """Insert an invoice or credit note after the Sandbox's checks; its ``SBX-D…`` id.

        ``credits_invoice_ref`` (credit notes only) sets the whole credit note against that
        invoice in the same transaction, reducing what is outstanding on it; if it cannot
        be (another customer's invoice, or more than is still owed) nothing is written.
        """
        record_type = RemoteRecordType(draft.type.value)
        work = self._document_work(draft, credits_invoice_ref)
        return self._create(record_type, idempotency_key, work)

    def _document_work(
        self, draft: DocumentDraft, credits_invoice_ref: str
    ) -> Callable[[Session], str]:
        def work(session: Session) -> str:
            checked = rules.check_document(session, draft)
            if credits_invoice_ref.strip() and draft.type is not DocumentType.CREDIT_NOTE:
                raise Rejected(
                    code="not_a_credit_note",
                    field="original_invoice_number",
                    reason=(
                        f"Invoice {draft.number.strip()} names an invoice it credits, but only "
                        "credit notes can credit an invoice."
                    ),
                    fix="Send it as a credit note, or clear the original invoice number.",
                )
            pk = _insert(
                session,
                DocumentRow,
                {
                    "type": draft.type,
                    "number": draft.number.strip(),
                    "date": draft.date,
                    "due_date": draft.due_date,
                    "contact_pk": checked.contact.pk,
                    "reference": draft.reference.strip(),
                    "net_total": checked.net_total,
                    "vat_total": checked.vat_total,
                },
            )
            _insert_many(
                session,
                LineRow,
                [
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
                    }
                    for index, line in enumerate(draft.lines)
                ],
            )
            if credits_invoice_ref.strip():
                row = session.get(DocumentRow, pk)
                assert row is not None
                self._allocate_credit(session, row, credits_invoice_ref, row.gross_total)
            return format_ref(DOCUMENT_PREFIX, pk)

        return work

    def create_payment(self, draft: PaymentDraft, idempotency_key: str = "") -> str:
        """Insert a customer payment set against invoices; its ``SBX-P…`` id."""
        return self._create(RemoteRecordType.PAYMENT, idempotency_key, _payment_work(draft))

    def allocate_credit_note(
        self, credit_note_ref: str, invoice_ref: str, amount: Decimal | None = None
    ) -> None:
        """Set (part of) a credit note against an invoice of the same customer, as a
        bookkeeper would in the package. ``amount`` defaults to all that is unallocated."""
        with self._writing() as session:
            credit_note = rules.document_by_ref(session, credit_note_ref)
            if credit_note is None or credit_note.type is not DocumentType.CREDIT_NOTE:
                raise Rejected(
                    code="unknown_credit_note",
                    field="original_invoice_number",
                    reason=f'The Sandbox has no credit note "{credit_note_ref}".',
                    fix="Send the credit note first, then set it against the invoice.",
                )
            if amount is None:
                amount = rules.credit_note_unallocated(session, credit_note)
            self._allocate_credit(session, credit_note, invoice_ref, amount)

    @staticmethod
    def _allocate_credit(
        session: Session, credit_note: DocumentRow, invoice_ref: str, amount: Decimal
    ) -> None:
        invoice = rules.check_credit_allocation(session, credit_note, invoice_ref, amount)
        session.add(
            CreditAllocationRow(credit_note_pk=credit_note.pk, invoice_pk=invoice.pk, amount=amount)
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
            rows: list[ContactRow] = []
            for draft in drafts:
                rules.check_contact(session, draft)
                row = _contact_row(draft)
                session.add(row)
                session.flush()
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
