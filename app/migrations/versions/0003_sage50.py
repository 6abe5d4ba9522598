"""the Sage 50 export ledger: the import file and lines of every record written

Revision ID: 0003_sage50
Revises: 0005_row_versions
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003_sage50"
# The brief asks for "0002"; main already chains 0003_error_subject, 0004_contact_sync,
# 0003_qbwc and 0005_row_versions after it, so this follows main's head.
down_revision: str | None = "0005_row_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sage50_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column(
            "record_type",
            sa.Enum(
                "customer",
                "supplier",
                "invoice",
                "credit_note",
                "payment",
                name="recordtype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("sage_value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_id"),
    )
    with op.batch_alter_table("sage50_exports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sage50_exports_file_name"), ["file_name"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sage50_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sage50_exports_file_name"))
    op.drop_table("sage50_exports")
