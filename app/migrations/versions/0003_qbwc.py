"""qbXML requests the QuickBooks Web Connector has taken and not yet answered

Revision ID: 0003_qbwc
Revises: 0004_contact_sync
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003_qbwc"
# The brief asks for "0002"; main already has 0003_error_subject and 0004_contact_sync
# after it, so this chains after main's head to keep a single head (the lead re-chains).
down_revision: str | None = "0004_contact_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qbwc_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("list_name", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_qbwc_requests_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qbwc_requests")),
        sa.UniqueConstraint(
            "ticket", "request_id", name=op.f("uq_qbwc_requests_ticket_request_id")
        ),
    )
    with op.batch_alter_table("qbwc_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qbwc_requests_ticket"), ["ticket"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qbwc_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qbwc_requests_ticket"))
    op.drop_table("qbwc_requests")
