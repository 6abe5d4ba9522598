"""finished steps of multi-step records move into the store (connector_steps)

Revision ID: 0006_connector_steps
Revises: 0003_sage50
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_connector_steps"
down_revision: str | None = "0003_sage50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_steps",
        sa.Column("package", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("package", "key", name=op.f("pk_connector_steps")),
    )


def downgrade() -> None:
    op.drop_table("connector_steps")
