"""duplicate_of_id indexed only where set: SQLite uses it once it has statistics

Most requests are merged into none, so in the full index one NULL key stood for nearly
every row. After `requestbot import` analyses the tables, SQLite reckoned that each
looked-up id matched tens of rows and read the whole request table instead (finding what
was merged into a sweep's claim of requests: 100,000 rows for a handful). Indexing only
the requests that are merged somewhere makes each key one row in its statistics too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SET = sa.text("duplicate_of_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_request_duplicate_of_id", table_name="request")
    op.create_index("ix_request_duplicate_of_id", "request", ["duplicate_of_id"],
                    sqlite_where=SET, postgresql_where=SET)


def downgrade() -> None:
    op.drop_index("ix_request_duplicate_of_id", table_name="request")
    op.create_index("ix_request_duplicate_of_id", "request", ["duplicate_of_id"])
