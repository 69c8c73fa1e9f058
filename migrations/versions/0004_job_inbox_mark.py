"""job_inbox_mark: how far the worker has taken jobs in from the SQLite inbox file

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_inbox_mark",
        sa.Column("generation", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("generation", name=op.f("pk_job_inbox_mark")),
    )


def downgrade() -> None:
    op.drop_table("job_inbox_mark")
