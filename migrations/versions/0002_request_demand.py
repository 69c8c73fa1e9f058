"""request demand: each canonical request's totals and priority score, kept current;
each customer's number of requests; decisions by decider; match keys with their request

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:17:18.937318

Existing requests get a placeholder row that is due for scoring at once (`basis` empty,
`rescore_at` long past); `requestbot db upgrade` and the bot's scheduler fill them in with
the configured weights and rates, and until then totals are added up from the stakes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_demand",
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("queue", sa.String(length=20), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("stated_customers", sa.Integer(), nullable=True),
        sa.Column("blockers", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("first_ask", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_ask", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "revenue",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("revenue_base_minor", sa.BigInteger(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rescore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_demand_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_demand")),
    )
    with op.batch_alter_table("request_demand", schema=None) as batch_op:
        batch_op.create_index(
            "ix_request_demand_queue_score",
            ["team_id", "queue", "score", "request_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_request_demand_rescore_at"), ["rescore_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_request_demand_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            "ix_request_demand_team_id_score", ["team_id", "score", "request_id"], unique=False
        )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ask_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index("ix_customer_team_id_ask_count", ["team_id", "ask_count"])
    op.execute(
        "UPDATE customer SET ask_count = (SELECT count(*) FROM request_customer"
        " WHERE request_customer.customer_id = customer.id)"
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index("ix_decision_team_id_decided_by", ["team_id", "decided_by"])
    with op.batch_alter_table("request_match_key", schema=None) as batch_op:
        batch_op.drop_index("ix_request_match_key_team_id_key")
        batch_op.create_index(
            "ix_request_match_key_team_id_key", ["team_id", "key", "request_id"], unique=False
        )
    postgres = op.get_bind().dialect.name == "postgresql"
    empty, long_ago = ("'[]'::jsonb", "TIMESTAMPTZ '1970-01-01 00:00:00+00'") if postgres \
        else ("'[]'", "'1970-01-01 00:00:00.000000'")
    op.execute(
        f"""
        INSERT INTO request_demand (request_id, team_id, queue, customers, blockers, reps,
                                    requests, revenue, score, scored_at, rescore_at, basis)
        SELECT id, team_id,
               CASE status WHEN 'planned' THEN 'planned' WHEN 'declined' THEN 'declined'
                           WHEN 'already_exists' THEN 'closed' ELSE 'undecided' END,
               0, 0, 0, 1, {empty}, 0, created_at, {long_ago}, ''
        FROM request WHERE status <> 'merged'
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("request_match_key", schema=None) as batch_op:
        batch_op.drop_index("ix_request_match_key_team_id_key")
        batch_op.create_index("ix_request_match_key_team_id_key", ["team_id", "key"], unique=False)
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_team_id_decided_by")
    op.drop_index("ix_customer_team_id_ask_count", table_name="customer")
    # not batch: rebuilding customer on SQLite would break the foreign keys that point at it
    op.execute("ALTER TABLE customer DROP COLUMN ask_count")
    with op.batch_alter_table("request_demand", schema=None) as batch_op:
        batch_op.drop_index("ix_request_demand_team_id_score")
        batch_op.drop_index(batch_op.f("ix_request_demand_team_id"))
        batch_op.drop_index(batch_op.f("ix_request_demand_rescore_at"))
        batch_op.drop_index("ix_request_demand_queue_score")
    op.drop_table("request_demand")
