"""claimed_at indexes: an expired claim is found without reading every claimed row

A claim also takes over claims older than CLAIM_TTL. With only (state, next_attempt_at)
and (state, due_at) indexed, that half of the query read every claimed row: outbox posts
waiting their turn in a busy channel numbered thousands in a burst, read again by every
claim (4 ms each at 2,600).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_message_state_claimed_at", "outbox_message",
                    ["state", "claimed_at"])
    op.create_index("ix_reminder_state_claimed_at", "reminder", ["state", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_reminder_state_claimed_at", table_name="reminder")
    op.drop_index("ix_outbox_message_state_claimed_at", table_name="outbox_message")
