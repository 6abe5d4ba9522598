"""contact sync: each linked contact's details as last agreed with the package

Revision ID: 0004_contact_sync
Revises: 0003_error_subject
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004_contact_sync"
down_revision: str | None = "0003_error_subject"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("remote_ref", sa.String(length=128), nullable=False),
        sa.Column("agreed", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_sync_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_sync")),
        sa.UniqueConstraint("package", "contact_id", name=op.f("uq_contact_sync_package_contact_id")),
    )


def downgrade() -> None:
    op.drop_table("contact_sync")
