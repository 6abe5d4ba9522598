"""package contacts: the link page's local copy of the package's contact list

Revision ID: 0006_package_contacts
Revises: 0006_contact_updates
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_package_contacts"
down_revision: str | None = "0006_contact_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "package_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=32), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "customer",
                "supplier",
                name="contactkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address_1", sa.Text(), nullable=False),
        sa.Column("address_2", sa.Text(), nullable=False),
        sa.Column("address_3", sa.Text(), nullable=False),
        sa.Column("town", sa.Text(), nullable=False),
        sa.Column("county", sa.Text(), nullable=False),
        sa.Column("postcode", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_contacts")),
    )
    op.create_index(
        "ix_package_contacts_package_role", "package_contacts", ["package", "role"]
    )


def downgrade() -> None:
    op.drop_index("ix_package_contacts_package_role", table_name="package_contacts")
    op.drop_table("package_contacts")
