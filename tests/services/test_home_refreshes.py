"""`queue_home`: one pending App Home refresh per user, found among every user's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.posts import HOME, queue_home
from bot.services import outbox
from models import OutboxMessage
from tests.harness import (
    analysed_plan,
    query_plan,
    statements_run,
    statistics_taken_while_empty,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def homes(session) -> list[tuple[str, str, str, bool | None]]:
    return [(m.team_id, m.args["user_id"], m.state, m.args.get("decider"))
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == HOME)
                                     .order_by(OutboxMessage.id))]


def test_a_users_pending_refresh_is_reused_and_no_one_elses(db):
    def work(session):
        first = queue_home(session, "T1", "U1", NOW)
        others = [queue_home(session, "T1", f"U{n}", NOW) for n in range(2, 40)]
        elsewhere = queue_home(session, "T2", "U1", NOW)  # another workspace's U1
        assert queue_home(session, "T1", "U1", NOW, decider=True) == first
        assert queue_home(session, "T1", "U7", NOW) == others[5]
        assert elsewhere not in (first, *others)
        session.get(OutboxMessage, first).state = "sent"
        again = queue_home(session, "T1", "U1", NOW)
        assert again not in (first, *others, elsewhere)  # a sent one is not pending

    db.transaction(work)
    with db.sessions() as session:
        rows = homes(session)
    assert len(rows) == 41
    assert rows[0] == ("T1", "U1", "sent", True)
    assert rows[-1] == ("T1", "U1", "pending", None)
    assert [r[:2] for r in rows].count(("T1", "U7")) == 1


def test_a_pending_refresh_is_found_without_reading_the_posts_waiting_for_their_pace(db):
    """After a burst into one channel, thousands of posts wait for Slack's pace of one a
    second; each filing then looked for its rep's pending refresh by reading all of them."""
    if db.dialect == "postgresql":
        statistics_taken_while_empty(db, "outbox_message")
    waiting = 500

    def work(session):
        for n in range(waiting):
            outbox.enqueue(session, team_id="T1", method="chat.postMessage",
                           args={"channel": "C0SALES01", "text": f"post {n}"},
                           purpose="thread_reply", now=NOW)
        first = queue_home(session, "T1", "U1", NOW)
        with statements_run(db) as statements:
            assert queue_home(session, "T1", "U1", NOW, decider=True) == first
        [lookup] = [s for s in statements if s[0].lstrip().startswith("SELECT")]
        connection = session.connection()
        plan = query_plan(connection, *lookup)
        assert "ix_outbox_message_team_id_conversation_state" in plan
        if db.dialect == "sqlite":
            assert "conversation=?" in plan
        if db.dialect == "postgresql":
            nodes = analysed_plan(connection, *lookup)
            assert all(node["Actual Rows"] * node["Actual Loops"]
                       + node.get("Rows Removed by Filter", 0) <= 1 for node in nodes)

    db.transaction(work)
