"""Bulk look-ups the importers share: no query is ever made per row.

Keys from the file are looked up in chunks (:func:`app.db.lookups.batches`) with
``IN (...)`` on SQLite so a 100,000-row file costs a few hundred queries at most, and
SQLite's limit on bound parameters is never reached; PostgreSQL takes ten thousand at a
time in one array.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db.lookups import batches, is_postgresql, one_of
from app.db.models import (
    SENT_STATES,
    AccountKind,
    Base,
    Contact,
    ContactKind,
    Document,
    DocumentKind,
    DocumentLine,
    NominalAccount,
    OutboxEntry,
    RecordType,
)
from app.services.importing.csv_values import CellReader, line_net
from app.services.importing.report import AlreadySent, ImportReport
from app.services.sending.pending_changes import ChangeTracker, FieldChange
from app.services.setup.chart import default_account
from connectors.wording import a_or_an

_PLAIN = re.compile(r"[\w .:-]*")  # text safe to write into SQL as it is


def sent_record_ids(session: Session, record_type: RecordType, ids: Collection[int]) -> set[int]:
    """Which of ``ids`` have reached (or may have reached) a package.

    A record counts as sent when any package's outbox row for it is in a state of
    :data:`~app.db.models.SENT_STATES`.
    """
    sent: set[int] = set()
    for batch in batches(session, sorted(ids)):
        sent.update(
            session.scalars(
                select(OutboxEntry.record_id).where(
                    OutboxEntry.record_type == record_type,
                    OutboxEntry.state.in_(SENT_STATES),
                    one_of(session, OutboxEntry.record_id, batch),
                )
            )
        )
    return sent


@dataclass(frozen=True)
class ContactKey:
    id: int
    kind: ContactKind
    account_ref: str


class CustomerLookup:
    """Finds the customers a file refers to by ``account_ref``, all in a few queries."""

    def __init__(self, session: Session, refs: Iterable[str]) -> None:
        wanted = set(refs)
        self._by_ref: dict[str, dict[ContactKind, ContactKey]] = defaultdict(dict)
        for batch in batches(session, sorted(wanted)):
            for contact_id, kind, ref in session.execute(
                select(Contact.id, Contact.kind, Contact.account_ref).where(
                    one_of(session, Contact.account_ref, batch)
                )
            ):
                self._by_ref[ref][kind] = ContactKey(contact_id, kind, ref)
        # Near misses ("cus0001" for "CUS0001") only to suggest the right spelling.
        self._folded: dict[str, str] = {}
        missing = {ref.casefold() for ref in wanted if ref not in self._by_ref}
        if missing:
            for ref in session.scalars(
                select(Contact.account_ref).where(Contact.kind == ContactKind.CUSTOMER)
            ):
                if ref.casefold() in missing:
                    self._folded.setdefault(ref.casefold(), ref)

    def customer(self, cells: CellReader, column: str, ref: str) -> int | None:
        """The id of customer ``ref``; records a problem with ``column`` when there is none."""
        kinds = self._by_ref.get(ref, {})
        if ContactKind.CUSTOMER in kinds:
            return kinds[ContactKind.CUSTOMER].id
        if ContactKind.SUPPLIER in kinds:
            cells.fail(column, f'"{ref}" is a supplier; this needs a customer\'s account_ref')
        elif (spelling := self._folded.get(ref.casefold())) is not None:
            cells.fail(column, f'no customer has account_ref "{ref}"; did you mean "{spelling}"?')
        else:
            cells.fail(
                column,
                f'no customer has account_ref "{ref}"; import it in customers.csv first',
            )
        return None


class NominalLookup:
    """Resolves a ``nominal_code``/``bank_code`` value to one of our accounts of a kind."""

    def __init__(self, session: Session, kind: AccountKind, purpose: str) -> None:
        self.kind = kind
        self.purpose = purpose
        rows = session.execute(select(NominalAccount.id, NominalAccount.code, NominalAccount.kind))
        self._by_code: dict[str, tuple[int, AccountKind]] = {}
        folded: dict[str, list[tuple[int, AccountKind]]] = defaultdict(list)
        for account_id, code, account_kind in rows:
            self._by_code[code] = (account_id, account_kind)
            folded[code.casefold()].append((account_id, account_kind))
        self._by_folded = {code: ids[0] for code, ids in folded.items() if len(ids) == 1}
        self.choices = sorted(code for code, (_, k) in self._by_code.items() if k == kind)
        default = default_account(session, kind)
        self.default_id = default.id if default is not None else None

    def _choices_text(self) -> str:
        if self.choices:
            return ", ".join(self.choices)
        return f"add {_a(self.kind.value)} account first"

    def resolve(self, cells: CellReader, column: str) -> int | None:
        """The account id for the row's code (blank → the default account)."""
        code = cells.text(column)
        if not code:
            if self.default_id is None:
                cells.fail(
                    column,
                    f"is blank and there is no {self.kind.value} account to use instead; "
                    "add one in the Nominal accounts page",
                )
            return self.default_id
        found = self._by_code.get(code) or self._by_folded.get(code.casefold())
        if found is None:
            cells.fail(
                column,
                f'"{code}" is not one of our nominal accounts; use {self._choices_text()}',
            )
            return None
        account_id, account_kind = found
        if account_kind != self.kind:
            cells.fail(
                column,
                f'"{code}" is {_a(account_kind.value)} account; {self.purpose} need '
                f"{_a(self.kind.value)} account: {self._choices_text()}",
            )
            return None
        return account_id


_a = a_or_an


@dataclass(frozen=True)
class StoredDocument:
    """A document already in the store, as the importers compare and total it."""

    id: int
    number: str
    kind: DocumentKind
    contact_id: int
    original_invoice_number: str
    gross: Decimal


def documents_by_number(
    session: Session, kind: DocumentKind, numbers: Iterable[str]
) -> dict[str, StoredDocument]:
    """Documents of ``kind`` with these numbers, with their gross totals."""
    found = _stored_documents(session, kind, numbers, by_original=False)
    return {document.number: document for document in found}


def credit_notes_against(session: Session, invoice_numbers: Iterable[str]) -> list[StoredDocument]:
    """Every credit note in the store that credits one of these invoice numbers."""
    return _stored_documents(session, DocumentKind.CREDIT_NOTE, invoice_numbers, by_original=True)


def _stored_documents(
    session: Session, kind: DocumentKind, values: Iterable[str], *, by_original: bool
) -> list[StoredDocument]:
    column = Document.original_invoice_number if by_original else Document.number
    heads: dict[int, tuple[str, int, str]] = {}
    for batch in batches(session, sorted(set(values))):
        for doc_id, number, contact_id, original in session.execute(
            select(
                Document.id, Document.number, Document.contact_id, Document.original_invoice_number
            ).where(Document.kind == kind, one_of(session, column, batch))
        ):
            heads[doc_id] = (number, contact_id, original)
    gross = document_grosses(session, heads)
    return [
        StoredDocument(doc_id, number, kind, contact_id, original, gross[doc_id])
        for doc_id, (number, contact_id, original) in heads.items()
    ]


def contact_refs(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Account references of contacts by id."""
    refs: dict[int, str] = {}
    for batch in batches(session, sorted(set(ids))):
        for contact_id, ref in session.execute(
            select(Contact.id, Contact.account_ref).where(one_of(session, Contact.id, batch))
        ):
            refs[contact_id] = ref
    return refs


def document_grosses(session: Session, ids: Iterable[int]) -> dict[int, Decimal]:
    """Gross totals of documents by id, worked out line by line as the model does."""
    totals: dict[int, Decimal] = {}
    for batch in batches(session, sorted(set(ids))):
        for doc_id in batch:
            totals[doc_id] = Decimal("0.00")
        for doc_id, quantity, unit_price, vat in session.execute(
            select(
                DocumentLine.document_id,
                DocumentLine.quantity,
                DocumentLine.unit_price,
                DocumentLine.vat_amount,
            ).where(one_of(session, DocumentLine.document_id, batch))
        ):
            totals[doc_id] += line_net(quantity, unit_price) + vat
    return totals


def sum_by(pairs: Iterable[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """Add up amounts by key."""
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for key, amount in pairs:
        totals[key] += amount
    return dict(totals)


def changed_fields(old: Sequence[object], new: Sequence[object], names: Sequence[str]) -> list[str]:
    """Names of the fields whose values differ."""
    return [name for name, a, b in zip(names, old, new, strict=True) if a != b]


# ------------------------------------------------------------------------- writing
# Inserts are built and compiled by SQLAlchemy Core, once per statement, and run as the
# driver's own executemany over plain tuples (psycopg 3 pipelines it). Core's executemany
# builds and type-converts a parameter dict per row, which costs about three times the
# driver's own work at 100,000 rows; here each column's conversion is worked out once and
# run only for the columns that have one (numbers, dates, enums), and Python-side
# defaults (timestamps, blank text) are worked out once per statement.


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class BulkInsert:
    """One ``INSERT`` into ``model`` for rows holding ``columns`` in that order.

    ``fixed`` gives columns every row shares (a contact kind, a file's blank columns);
    columns left out that have a Python-side default get that default, worked out once.
    """

    def __init__(
        self,
        session: Session,
        model: type[Base],
        columns: Sequence[str],
        fixed: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        table = _table(model)
        dialect = session.get_bind().dialect
        shared = dict(fixed or {})
        for column in table.columns:
            name = column.key
            if name in shared or name in columns or column.default is None:
                continue
            default = column.default
            if default.is_scalar:
                shared[name] = default.arg  # type: ignore[attr-defined]
            elif default.is_callable:
                shared[name] = default.arg(None)  # type: ignore[attr-defined]
        converters = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in [*columns, *shared]
        }
        ready = {
            name: convert(value) if (convert := converters[name]) else value
            for name, value in shared.items()
        }
        # Shared plain text (a kind, a blank, SQLite's timestamps) goes into the SQL
        # itself: the driver then binds only the file's values, row by row.
        inline: dict[str, ColumnElement[Any]] = {
            name: literal_column(f"'{value}'")
            for name, value in ready.items()
            if isinstance(value, str) and _PLAIN.fullmatch(value)
        }
        bound = [name for name in ready if name not in inline]
        names = [*columns, *bound]
        compiled = (
            insert(table)
            .values({**{name: bindparam(name) for name in names}, **inline})
            .compile(dialect=dialect)
        )
        unknown = set(compiled.binds) - set(names)
        assert not unknown, f"no value for {sorted(unknown)} in an insert into {table.name}"
        self.sql = str(compiled)
        self.tail = tuple(ready[name] for name in bound)
        # PostgreSQL takes many rows fastest through COPY (one stream, no statement per
        # row); the inlined shared values go in as ordinary values there.
        self.copy: tuple[str, tuple[Any, ...]] | None = None
        if dialect.name == "postgresql":
            quote = dialect.identifier_preparer.quote
            copied = [*names, *inline]
            self.copy = (
                f"COPY {quote(table.name)} ({', '.join(quote(n) for n in copied)}) FROM STDIN",
                tuple(ready[name] for name in inline),
            )
        self.convert = [(i, c) for i, name in enumerate(columns) if (c := converters[name])]
        self.names = names
        order = compiled.positiontup
        self.order = None if order is None else [names.index(name) for name in order]

    def run(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows`` (each a sequence of values in ``columns`` order); how many."""
        tail, convert = self.tail, self.convert
        params: list[Any]
        if convert:
            params = []
            for row in rows:
                values = list(row)
                for index, converter in convert:
                    values[index] = converter(values[index])
                params.append((*values, *tail))
        else:
            params = [(*row, *tail) for row in rows]
        if not params:
            return 0
        if self.copy is not None:
            return self._copy(params)
        if self.order is None:
            names = self.names
            params = [dict(zip(names, values, strict=True)) for values in params]
        elif self.order != sorted(self.order):
            params = list(map(itemgetter(*self.order), params))
        self.session.connection().exec_driver_sql(self.sql, params)
        return len(params)

    def _copy(self, params: list[Any]) -> int:
        """PostgreSQL: the rows through ``COPY … FROM STDIN`` on the session's own
        connection, so they are in its transaction like any insert."""
        assert self.copy is not None
        statement, inline = self.copy
        driver = self.session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for values in params:
                copy.write_row((*values, *inline))
        return len(params)


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column values, all with the same keys) into ``model``."""
    if rows:
        columns = list(rows[0])
        BulkInsert(session, model, columns).run([[row[c] for c in columns] for row in rows])


def insert_with_ids(
    session: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    key_column: InstrumentedAttribute[str],
    *criteria: ColumnElement[bool],
) -> list[int]:
    """Insert ``rows`` (as :func:`insert_rows`) and give their new ids, in row order.

    On PostgreSQL the ids are drawn from the table's sequence first, in one statement,
    and written with the rows, so no look-up follows. On SQLite the rows are inserted and
    their ids looked up by ``key_column`` (unique among rows matching ``criteria``).
    """
    if not rows:
        return []
    if is_postgresql(session):
        ids = sorted(
            session.scalars(
                text(
                    "SELECT nextval((SELECT pg_get_serial_sequence(:table, 'id'))::regclass)"
                    " FROM generate_series(1, :count)"
                ),
                {"table": _table(model).name, "count": len(rows)},
            )
        )
        numbered = [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)]
        insert_rows(session, model, numbered)
        return ids
    insert_rows(session, model, rows)
    key = key_column.key
    id_column: InstrumentedAttribute[int] = getattr(model, "id")  # noqa: B009
    found = ids_by_key(session, id_column, key_column, [row[key] for row in rows], *criteria)
    return [found[row[key]] for row in rows]


def ids_by_key(
    session: Session,
    id_column: InstrumentedAttribute[int],
    key_column: InstrumentedAttribute[str],
    keys: Iterable[str],
    *criteria: ColumnElement[bool],
) -> dict[str, int]:
    """Row ids by a unique key, e.g. new documents' ids by number after inserting them.

    (``INSERT … RETURNING`` in the order of the rows would cost one statement per row on
    SQLite, so rows are inserted in one go and their ids looked up afterwards.)
    """
    found: dict[str, int] = {}
    for batch in batches(session, sorted(set(keys))):
        for row_id, key in session.execute(
            select(id_column, key_column).where(one_of(session, key_column, batch), *criteria)
        ):
            found[key] = row_id
    return found


def update_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Update rows of ``model`` by ``id``; every dict has ``id`` and the same other keys."""
    if not rows:
        return
    table = _table(model)
    names = [name for name in rows[0] if name != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    session.execute(
        statement,
        [{"row_id": row["id"], **{f"new_{name}": row[name] for name in names}} for row in rows],
    )


SENT_MESSAGE = "already sent — change it by hand in your package"


def already_sent(changed: Sequence[str]) -> str:
    """The report's words for a sent record the file would change."""
    return f"{SENT_MESSAGE} (the file changes {', '.join(changed)})"


def report_sent_change(
    tracker: ChangeTracker,
    report: ImportReport,
    *,
    record_id: int,
    label: str,
    key: str,
    line: int,
    changes: list[FieldChange],
) -> None:
    """A sent document or payment the file changes: counted unchanged once the user has
    confirmed the same change by hand (our copy keeps what was sent); otherwise listed
    for changing by hand and reported."""
    if tracker.settled(record_id, label, changes):
        report.unchanged += 1
        return
    report.already_sent.append(AlreadySent(line, key, already_sent([c.field for c in changes])))
