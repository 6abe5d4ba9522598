"""contact updates a desktop bridge has taken and not yet confirmed

Revision ID: 0006_contact_updates
Revises: 0006_connector_steps
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006_contact_updates"
# Written on 0003_sage50; main meanwhile chained 0006_connector_steps after it.
down_revision: str | None = "0006_connector_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("remote_ref", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_updates_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_updates")),
    )
    with op.batch_alter_table("contact_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_updates_package_state", ["package", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_updates_package_state")
    op.drop_table("contact_updates")
