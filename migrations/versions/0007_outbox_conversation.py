"""outbox_message.conversation: where a queued call was meant to go, for claims by share

A burst into one channel leaves hundreds of posts that Slack takes a second apart. Claims
took them oldest first, a hundred at a time: each claim built posts that waited for their
channel longer than a claim may be held, gave them back and built them again, and a post
to anyone else queued after the burst waited behind all of it. With the conversation on
the row, a claim takes each conversation's share and passes over those that have theirs.
Rows queued before this revision have none and are claimed as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("conversation", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("conversation")
