"""Our drafts as Sage 50 import rows, each value checked against its field.

Every builder raises :class:`~connectors.errors.Rejected` naming the record and the field
instead of writing a value Sage would cut, change or refuse.
"""

from __future__ import annotations

from connectors.contract import ContactDraft, DocumentDraft, DocumentType, PaymentDraft
from connectors.errors import Rejected
from connectors.sage_50 import layout, references
from connectors.sage_50.layout import contact_column as cc
from connectors.sage_50.layout import transaction_column as tc


def contact_label(draft: ContactDraft) -> str:
    """The account named in messages: ``Customer C001 (Acme Ltd)``."""
    return f"{draft.role.value.capitalize()} {draft.our_ref} ({draft.name})"


def document_label(draft: DocumentDraft) -> str:
    """The document named in messages: ``Invoice INV-1001`` or ``Credit note CN-1``."""
    kind = "Invoice" if draft.type is DocumentType.INVOICE else "Credit note"
    return f"{kind} {draft.number}"


def payment_label(draft: PaymentDraft) -> str:
    """The payment named in messages: ``Payment PAY-1``."""
    return f"Payment {draft.reference}"


def check_reference(reference: str, *, record: str, field: str) -> str:
    """``reference`` unchanged when Sage 50 would keep it as it is; else a rejection
    saying what Sage would change it to."""
    if not references.is_valid(reference):
        raise Rejected(
            code="invalid_reference",
            field=field,
            reason=f"{record}: “{reference}” is not a Sage 50 account reference (up to 8 "
            "capital letters, digits or - _ & . / # ! % $ ( ) ', no spaces); Sage would "
            f"change it to “{references.as_sage_keeps_it(reference)}”.",
            fix="Let Ledgerlink propose a reference (Link page or `ledgerlink sage50 "
            "references --save`), or link the record to its Sage account.",
        )
    return reference


def contact_row(draft: ContactDraft, reference: str) -> list[str]:
    """One Customer Records / Supplier Records row (columns A–AB)."""
    record = contact_label(draft)
    line_2 = " ".join(part for part in (draft.address_2, draft.address_3) if part.strip())
    values = {
        "A/C": check_reference(reference, record=record, field="A/C"),
        "Name": layout.check_text(draft.name, cc("Name"), record=record, no_commas=True),
        "Address Line 1": layout.check_text(draft.address_1, cc("Address Line 1"), record=record),
        "Address Line 2": layout.check_text(line_2, cc("Address Line 2"), record=record),
        "Address Line 3": layout.check_text(draft.town, cc("Address Line 3"), record=record),
        "Address Line 4": layout.check_text(draft.county, cc("Address Line 4"), record=record),
        "Address Line 5": layout.check_text(draft.postcode, cc("Address Line 5"), record=record),
        "Contact Name": layout.check_text(
            draft.contact_name, cc("Contact Name"), record=record, no_commas=True
        ),
        "Telephone": layout.check_text(draft.phone, cc("Telephone"), record=record),
        "E-mail": layout.check_text(draft.email, cc("E-mail"), record=record),
    }
    if not values["Name"]:
        raise Rejected(
            code="missing_name",
            field="Name",
            reason=f"{record} has no name.",
            fix="Give it a name in your job system.",
        )
    return [values.get(column.name, "") for column in layout.CONTACT_COLUMNS]


def _transaction(
    kind: str,
    account: str,
    nominal: str,
    draft_date: str,
    reference: str,
    details: str,
    net: str,
    tax_code: str,
    tax: str,
    *,
    record: str,
) -> list[str]:
    if not layout.TAX_CODE.fullmatch(tax_code):
        raise Rejected(
            code="invalid_tax_code",
            field="Tax Code",
            reason=f"{record}: tax code “{tax_code}” is not a Sage 50 tax code (T0 to T99).",
            fix="Check the VAT rates on the Nominal accounts page.",
        )
    return [
        kind,
        check_reference(account, record=record, field="Account Reference"),
        layout.check_text(nominal, tc("Nominal A/C Ref"), record=record),
        "0",
        draft_date,
        layout.check_text(reference, tc("Reference"), record=record, no_commas=True),
        layout.check_text(details, tc("Details"), record=record),
        net,
        tax_code,
        tax,
    ]


def document_rows(draft: DocumentDraft) -> list[list[str]]:
    """One SI (invoice) or SC (credit note) row per line; Sage groups rows with the same
    account, date and reference into one transaction with splits."""
    record = document_label(draft)
    kind = layout.SALES_INVOICE if draft.type is DocumentType.INVOICE else layout.SALES_CREDIT
    if not draft.lines:
        raise Rejected(
            code="no_lines",
            field="lines",
            reason=f"{record} has no lines.",
            fix="Add its lines in your job system.",
        )
    rows = []
    for number, line in enumerate(draft.lines, start=1):
        where = f"{record} line {number}"
        details = line.description or (
            f"Credit for {draft.credits_document_ref}" if draft.credits_document_ref else record
        )
        rows.append(
            _transaction(
                kind,
                draft.contact_ref,
                line.account_id,
                layout.sage_date(draft.date),
                draft.number,
                details,
                layout.sage_amount(line.net_amount, record=where, field="Net Amount"),
                line.tax_rate_id,
                layout.sage_amount(line.vat_amount, record=where, field="Tax Amount"),
                record=where,
            )
        )
    return rows


def allocation_note(draft: PaymentDraft) -> str:
    """Which invoices a receipt pays, for allocating it in Sage."""
    if not draft.allocations:
        return "not allocated to an invoice"
    return "pays " + ", ".join(f"{a.document_ref} ({a.amount:.2f})" for a in draft.allocations)


def payment_row(draft: PaymentDraft) -> list[str]:
    """One SA row: a receipt on account, gross in Net, T9, to the bank's nominal code.
    Sage's import cannot take allocated receipts (SR)."""
    record = payment_label(draft)
    details = f"Receipt {draft.reference}: {allocation_note(draft)}"
    if len(details) > tc("Details").size:
        details = details[: tc("Details").size - 1] + "…"
    return _transaction(
        layout.SALES_RECEIPT_ON_ACCOUNT,
        draft.contact_ref,
        draft.bank_account_id,
        layout.sage_date(draft.date),
        draft.reference,
        details,
        layout.sage_amount(draft.amount, record=record, field="Net Amount"),
        layout.NO_VAT,
        "0.00",
        record=record,
    )
