"""The outbox at Slack's pace: conversations side by side, each one in order and a second
apart, a 429 holding up only its own conversation, and results recorded in few
transactions."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, text

from bot import slack_api
from bot.posts import (
    DIRECT_MESSAGE,
    queue_card_update,
    queue_direct_message,
    queue_thread_reply,
)
from bot.sending import Pacer
from bot.services import outbox
from models import OutboxMessage, Request
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import (
    CHANNEL,
    OTHER_REP,
    REP,
    TEAM_ID,
    analysed_plan,
    query_plan,
    statements_run,
)

THIRD_REP = "U0REP0003"


@pytest.fixture(autouse=True)
def slack_pace(bot):
    """Slack's pace (the test harness leaves posts unpaced)."""
    bot.deps.api.pacer = Pacer(1.0)


def queue_dms(bot, *dms: tuple[str, str]) -> list[int]:
    """DMs (user, text) queued in one transaction, in this order."""
    now = bot.clock.now()
    return bot.db.transaction(lambda s: [queue_direct_message(s, TEAM_ID, user, text, now)
                                         for user, text in dms])


def rows(db, ids: list[int]) -> list[OutboxMessage]:
    with db.sessions() as session:
        found = {m.id: m for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_(ids)))}
        return [found[i] for i in ids]


def filed_request(bot, slack, db) -> Request:
    """A request filed with /request and its modal, its posts sent (unpaced)."""
    bot.deps.api.pacer = Pacer(0.0)
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": "Bulk CSV export"})
    bot.wait_idle()
    [request] = requests_in(db)
    return request


def dms(slack, user: str) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == user]


def accepted(calls: list) -> list:
    return [c for c in calls if c.status == 200 and c.response.get("ok")]


def test_a_rate_limited_conversation_does_not_hold_up_posts_to_others(bot, slack, db, clock):
    slack.rate_limit("chat.postMessage", retry_after=3, channel=REP)
    first, other = queue_dms(bot, (REP, "For the rep"), (OTHER_REP, "For the other rep"))
    started = time.monotonic()
    report = bot.deliver_outbox()
    assert time.monotonic() - started < 2  # the delivery did not wait out the Retry-After
    assert (report.sent, report.retrying) == ([other], [first])
    [refused] = dms(slack, REP)
    [sent] = accepted(dms(slack, OTHER_REP))
    assert refused.status == 429 and sent.at - refused.at < 0.5

    [row, _] = rows(db, [first, other])
    assert row.state == "pending" and row.last_error == "ratelimited"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=3)  # for that row only
    bot.deliver_outbox()
    assert len(dms(slack, REP)) == 1  # not before Retry-After
    clock.advance(seconds=3)
    bot.deliver_outbox()
    assert [c.args["text"] for c in accepted(dms(slack, REP))] == ["For the rep"]
    assert [r.state for r in rows(db, [first, other])] == ["sent", "sent"]


def test_posts_to_one_conversation_go_in_order_a_second_apart_others_alongside(bot, slack):
    queue_dms(bot, (REP, "one"), (REP, "two"), (OTHER_REP, "hello"), (REP, "three"),
              (THIRD_REP, "hi"))
    bot.deliver_outbox()
    to_rep = dms(slack, REP)
    assert [c.args["text"] for c in to_rep] == ["one", "two", "three"]
    assert all(b.at - a.at >= 0.95 for a, b in zip(to_rep, to_rep[1:], strict=False))
    others = dms(slack, OTHER_REP) + dms(slack, THIRD_REP)
    assert len(others) == 2 and max(c.at for c in others) - to_rep[0].at < 0.5
    assert all(c.status == 200 for c in slack.calls_to("chat.postMessage"))


def test_a_rate_limited_post_holds_back_what_follows_it_in_its_conversation(bot, slack, db,
                                                                            clock):
    slack.rate_limit("chat.postMessage", retry_after=2, channel=REP)
    ids = queue_dms(bot, (REP, "one"), (REP, "two"), (REP, "three"))
    bot.deliver_outbox()
    assert [c.args["text"] for c in dms(slack, REP)] == ["one"]  # refused; the rest waited
    later = clock.now() + timedelta(seconds=2)
    assert [(r.state, r.attempts, r.next_attempt_at) for r in rows(db, ids)] == [
        ("pending", 1, later), ("pending", 0, later), ("pending", 0, later)]

    clock.advance(seconds=2)
    bot.deliver_outbox()
    assert [c.args["text"] for c in accepted(dms(slack, REP))] == ["one", "two", "three"]
    assert [r.state for r in rows(db, ids)] == ["sent", "sent", "sent"]


def test_a_burst_of_posts_is_claimed_and_recorded_in_a_few_transactions(bot, slack, db):
    users = [f"U0MANY{n:04d}" for n in range(30)]
    ids = queue_dms(bot, *((user, f"Hello {user}") for user in users))
    slack.delay(0.2)  # Slack answers them together, as it does a burst
    commits: list[int] = []
    listener = lambda _connection: commits.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        report = bot.deliver_outbox()
    finally:
        event.remove(db.engine, "commit", listener)
        slack.delay(0)
    assert sorted(report.sent) == ids
    assert len(commits) <= 5, len(commits)  # it was 32: a claim, a record per post, a claim
    assert {r.state for r in rows(db, ids)} == {"sent"}


def test_a_result_that_cannot_be_recorded_does_not_lose_the_others(bot, slack, db):
    def broken(session, message, result):
        raise RuntimeError("a hook that fails")

    bot.deps.sender.hooks.after_send["broken_purpose"] = broken
    now = bot.clock.now()
    ids = bot.db.transaction(lambda s: [
        queue_direct_message(s, TEAM_ID, user, "Hi", now, purpose=purpose)
        for user, purpose in ((REP, "direct_message"), (OTHER_REP, "broken_purpose"),
                              (THIRD_REP, "direct_message"))])
    bot.deliver_outbox()
    assert len(accepted(slack.calls_to("chat.postMessage"))) == 3
    assert [r.state for r in rows(db, ids)] == ["sent", "claimed", "sent"]


def test_a_requests_card_goes_before_its_thread_replies_also_after_a_429(bot, slack, db, clock):
    slack.rate_limit("chat.postMessage", retry_after=1, channel=CHANNEL)
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    submit(bot, view, REP, {"title": "Bulk CSV export"})
    bot.wait_idle()
    [request] = requests_in(db)
    now = clock.now()
    bot.db.transaction(lambda s: [queue_thread_reply(s, s.get(Request, request.id), text, now)
                                  for text in ("First note", "Second note")])
    bot.deliver_outbox()  # nothing before the card, which waits for Retry-After
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429]

    clock.advance(seconds=1)
    bot.deliver_outbox()
    posts = accepted(slack.calls_to("chat.postMessage"))
    assert "thread_ts" not in posts[0].args  # the card, then its thread in the order queued
    thread = [c for c in posts[1:] if c.args.get("thread_ts") == posts[0].response["ts"]]
    assert len(thread) == len(posts) - 1
    notes = [c.args["text"] for c in thread if "note" in c.args["text"]]
    assert notes == ["First note", "Second note"]
    assert all(b.at - a.at >= 0.95 for a, b in zip(posts, posts[1:], strict=False))


def test_a_post_claimed_by_another_sender_while_it_was_built_is_left_to_that_sender(bot, db):
    """On SQLite a sender builds its posts before it takes the write lock to claim them."""
    [mine] = queue_dms(bot, (REP, "Hello"))
    hooks, now = bot.deps.sender.hooks, bot.clock.now()
    prepared, _, _ = db.read(lambda s: outbox.prepare_due(s, hooks, now=now))
    assert [p.id for p in prepared] == [mine] and prepared[0].args["text"] == "Hello"
    taken, _, _ = db.transaction(lambda s: outbox.claim_due(s, hooks, worker="other", now=now))
    assert [c.id for c in taken] == [mine]
    assert db.transaction(lambda s: outbox.claim_prepared(s, prepared, worker="me",
                                                          now=now)) == []
    [row] = rows(db, [mine])
    assert (row.claimed_by, row.attempts) == ("other", 1)


def test_an_expired_claim_is_found_through_an_index_not_by_reading_every_claimed_row(bot, db):
    """Posts waiting their turn in a busy channel are claimed rows, thousands in a burst;
    every claim also looks for expired claims among them."""
    from bot.reminders.store import _due as due_reminders
    from models import Reminder

    now = bot.clock.now()
    row = {"team_id": TEAM_ID, "claimed_by": "w", "claimed_at": now}
    states = ["sent"] * 3000 + ["claimed"] * 300
    db.transaction(lambda s: s.execute(insert(OutboxMessage), [
        {**row, "state": state, "purpose": "dm", "method": "chat.postMessage", "args": {}}
        for state in states]))
    db.transaction(lambda s: s.execute(insert(Reminder), [
        {**row, "state": state, "kind": "stale", "due_at": now} for state in states]))
    queries = {"ix_outbox_message_state_claimed_at": outbox._due(now, None, 100),
               "ix_reminder_state_claimed_at": select(Reminder).where(due_reminders(now))}
    with db.engine.connect() as connection:
        if db.dialect == "postgresql":  # as autovacuum would (the bot never analyses SQLite)
            connection.execute(text("ANALYZE"))
        for index, query in queries.items():
            compiled = query.compile(db.engine)
            parameters = (tuple(compiled.params[k] for k in compiled.positiontup)
                          if compiled.positiontup else compiled.params)
            plan = query_plan(connection, str(compiled), parameters)
            assert index in plan, plan


def test_a_backlog_in_one_conversation_is_built_once_and_holds_up_no_other(bot, slack,
                                                                         monkeypatch):
    """A burst into one channel is sent a post a second: a claim takes only what goes out
    well within a claim's hold limit, and a post to anyone else is claimed beside it,
    not after the whole backlog."""
    bot.deps.api.pacer = Pacer(0.05)
    monkeypatch.setattr(slack_api, "HOLD_LIMIT", 0.5)  # so a share is 5 posts
    bot.deps.sender.batch = 10
    built: list[int] = []

    def counted(session, message, args):
        built.append(message.id)
        return args

    bot.deps.sender.hooks.prepare[DIRECT_MESSAGE] = counted
    backlog = queue_dms(bot, *((REP, f"Post {n}") for n in range(40)))
    [other] = queue_dms(bot, (OTHER_REP, "For the other rep"))
    report = bot.deliver_outbox()

    assert sorted(report.sent) == [*backlog, other]
    assert [c.args["text"] for c in accepted(dms(slack, REP))] == [f"Post {n}" for n in range(40)]
    assert sorted(built) == [*backlog, other]  # each built once: none claimed and given back
    [to_other] = accepted(dms(slack, OTHER_REP))
    to_rep = accepted(dms(slack, REP))
    assert to_other.at < to_rep[9].at  # beside the first share, not after the backlog


def test_each_queued_call_knows_the_conversation_it_was_queued_for(bot, slack, db):
    request = filed_request(bot, slack, db)
    now = bot.clock.now()
    bot.db.transaction(lambda s: (queue_thread_reply(s, s.get(Request, request.id), "A note",
                                                     now),
                                  queue_card_update(s, s.get(Request, request.id), now),
                                  outbox.enqueue(s, team_id=TEAM_ID, method="chat.getPermalink",
                                                 args={"channel": CHANNEL, "message_ts": "1.2"},
                                                 purpose="permalink", now=now)))
    with db.sessions() as session:
        queued = {(m.purpose, m.method, m.conversation) for m in session.scalars(
            select(OutboxMessage))}
    assert {("request_card", "chat.postMessage", CHANNEL), ("follow_up", "chat.postMessage", CHANNEL),
            ("home", "views.publish", REP), ("thread_reply", "chat.postMessage", CHANNEL),
            ("card_update", "chat.update", CHANNEL),
            ("permalink", "chat.getPermalink", None)} <= queued, queued


def test_a_post_queued_while_a_delivery_only_finishes_sending_goes_at_once(bot, slack,
                                                                          monkeypatch):
    """A delivery stops claiming after a while and then sends what it holds, a busy
    channel's share taking up to half a minute: a post queued for someone else meanwhile
    starts a delivery of its own rather than wait for that one to end."""
    bot.deps.api.pacer = Pacer(0.1)
    monkeypatch.setattr(slack_api, "DELIVERY_SECONDS", 0.2)
    queue_dms(bot, *((REP, f"Post {n}") for n in range(10)))
    sender = bot.deps.sender

    async def late_post() -> None:
        first = asyncio.create_task(sender.deliver())
        await asyncio.sleep(0.4)  # past its claiming, still sending to the rep
        queue_dms(bot, (OTHER_REP, "For the other rep"))
        second = sender.deliver_soon()
        assert second is not None
        await asyncio.gather(first, second)

    bot.run(late_post())
    [to_other] = accepted(dms(slack, OTHER_REP))
    to_rep = accepted(dms(slack, REP))
    assert len(to_rep) == 10 and to_other.at < to_rep[-1].at - 0.3


def test_a_claim_of_new_posts_reads_none_of_a_backlog_waiting_for_its_pace(bot, slack, db):
    """After a burst into one conversation, thousands of posts wait there for Slack's pace of
    one a second; every filing or answer since claims its own posts by id, and what the
    hooks queued for the same request. That claim read past the whole backlog."""
    request = filed_request(bot, slack, db)
    now = bot.clock.now()
    db.transaction(lambda s: s.execute(insert(OutboxMessage), [
        {"team_id": TEAM_ID, "purpose": DIRECT_MESSAGE, "method": "chat.postMessage",
         "args": {"channel": THIRD_REP, "text": f"Post {n}"}, "conversation": THIRD_REP,
         "next_attempt_at": now, "created_at": now} for n in range(500)]))
    if db.dialect == "postgresql":  # as autovacuum would after such a burst
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE outbox_message, request"))
    new = db.transaction(lambda s: queue_direct_message(s, TEAM_ID, OTHER_REP, "Filed",
                                                        now, request_id=request.id))
    shares = outbox.Shares(5, {(TEAM_ID, THIRD_REP): 0})  # the backlog's channel has its share
    hooks = bot.deps.sender.hooks

    def claim(session):
        with statements_run(db) as statements:
            claimed, _, _ = outbox.claim_due(session, hooks, worker="w", now=now, ids=[new],
                                             limit=100, shares=shares)
        assert [c.id for c in claimed] == [new]
        return [s for s in statements
                if s[0].lstrip().startswith("SELECT") and "FROM outbox_message" in s[0]]

    reads = db.transaction(claim)
    with db.engine.connect() as connection:
        for statement, parameters in reads:
            if db.dialect == "sqlite":
                plan = query_plan(connection, statement, parameters)
                assert "ix_outbox_message_state" not in plan, plan
                assert "SCAN outbox_message" not in plan, plan
            else:
                nodes = analysed_plan(connection, statement, parameters)
                assert all(node["Actual Rows"] * node["Actual Loops"]
                           + node.get("Rows Removed by Filter", 0) <= 10 for node in nodes), nodes
    assert len(reads) == 3  # the requests of the ids, what is still owed for them, the claim


def test_claims_of_a_request_with_more_and_more_posts_owed_share_a_few_statements(bot, slack,
                                                                                  db):
    """Each length of the claim's id list is a statement of its own, which SQLite and
    psycopg each prepare and keep per connection: the list is padded to a power of two."""
    request = filed_request(bot, slack, db)
    now = bot.clock.now()
    hooks = bot.deps.sender.hooks
    claims: set[str] = set()
    for n in range(40):
        new = db.transaction(lambda s, n=n: queue_direct_message(
            s, TEAM_ID, OTHER_REP, f"Post {n}", now, request_id=request.id))
        with db.sessions() as session, statements_run(db) as statements:
            claimed, _, _ = outbox.claim_due(session, hooks, worker="w", now=now, ids=[new],
                                             limit=100)
            assert len(claimed) == n + 1  # all the request's posts still owed
            session.rollback()
        claims.update(s[0] for s in statements if "ORDER BY outbox_message.id" in s[0])
    assert len(claims) <= 7  # 1, 2, 4, ... 64 ids
