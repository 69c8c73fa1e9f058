"""outbox_message (team_id, conversation, state): a user's pending App Home refresh by index

Each filing looks for its rep's and its decider's pending App Home refresh, to add to it
rather than queue another. By purpose and state that read every pending row: after a
burst into one channel, thousands of posts wait for Slack's pace of one a second, and
each lookup read past all of them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_message_team_id_conversation_state", "outbox_message",
                    ["team_id", "conversation", "state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_team_id_conversation_state", table_name="outbox_message")
