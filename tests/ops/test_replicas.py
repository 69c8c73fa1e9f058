"""Two `requestbot serve` replicas on one PostgreSQL database: nothing duplicated or lost."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, Request
from tests.flows.helpers import requests_in, state_for
from tests.harness import CHANNEL, REP, ServedBot
from tests.slack.payloads import event_callback, message_event


@pytest.fixture
def replicas(tmp_path, slack, db) -> Iterator[list[ServedBot]]:
    if db.dialect != "postgresql":
        pytest.skip("replicas share one PostgreSQL database; set TEST_DATABASE_URL to run this")
    bots = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        bots.append(ServedBot(workdir, slack.base_url, db.url, {}))
    try:
        for bot in bots:
            bot.start()
        yield bots
    finally:
        for bot in bots:
            bot.stop()


def test_a_burst_across_replicas_and_a_retried_event_are_each_handled_once(replicas, slack, db):
    a, b = replicas
    a.command("", REP, CHANNEL)
    [opened] = slack.wait_for("views.open")
    view = opened.response["view"]
    body = state_for(view, {"title": "Bulk CSV export"})
    # the same submission reaching both replicas (a retry behind the load balancer)
    for replica in (a, b):
        response = replica.submit_view(view["callback_id"], body, REP,
                                       private_metadata=view["private_metadata"], view=view)
        assert response.status_code == 200
    [card] = slack.wait_for("chat.postMessage", predicate=lambda c: "thread_ts" not in c.args)
    thread = card.response["ts"]
    wait_until_thread_is_stored(db, thread)

    # the same thread reply delivered twice by Slack (a retry), once to each replica
    reply = event_callback(message_event(CHANNEL, REP, "4 customers", thread_ts=thread),
                           event_id="Ev0REPLICA1")
    for replica, retry in ((a, None), (b, 1)):
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} \
            if retry else None
        assert replica.post(*reply, headers=headers).status_code == 200

    # a burst of new requests spread over both replicas
    titles = [f"Burst request {n}" for n in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda item: _submit_via(replicas[item[0] % 2], view, item[1]),
                      enumerate(titles)))

    def settled() -> bool:
        with db.sessions() as session:
            owed = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.state.in_(["pending", "claimed"])))
        return owed == 0 and len(_cards(slack)) >= 13

    # some 40 posts to one channel (cards, questions, similar requests), each replica
    # sending there at Slack's pace of one a second
    _wait(settled, timeout=90)
    stored = requests_in(db)
    assert sorted(r.title for r in stored) == sorted(["Bulk CSV export", *titles])
    first = next(r for r in stored if r.title == "Bulk CSV export")
    assert first.customer_count == 4  # the retried reply was recorded once...
    in_thread = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == thread]
    assert len(in_thread) == 2  # ...and acknowledged once (after the one follow-up question)
    cards = _cards(slack)
    assert len(cards) == 13 and len({c.args["text"] for c in cards}) == 13  # none twice
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 13


def _submit_via(replica: ServedBot, view: dict, title: str) -> None:
    """A fresh submission (its own view id) of the request modal, as another rep's would be."""
    fresh = {**view, "id": f"V{abs(hash(title)) % 10**9:09d}"}
    response = replica.submit_view(view["callback_id"], state_for(view, {"title": title}), REP,
                                   private_metadata=view["private_metadata"], view=fresh)
    assert response.status_code == 200 and response.text == ""


def _cards(slack) -> list:
    return [c for c in slack.calls_to("chat.postMessage")
            if "thread_ts" not in c.args and c.response.get("ok")]


def _wait(check, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("the replicas did not settle")


def wait_until_thread_is_stored(db, thread_ts: str, timeout: float = 10) -> None:
    """Slack can deliver a reply before the card's ts is recorded as the request's thread;
    the bot then (rightly) finds no request. Real reps reply seconds later: wait for it."""
    import time

    from sqlalchemy import select

    from models import Request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.sessions() as session:
            if session.scalar(select(Request.id).where(Request.thread_ts == thread_ts)):
                return
        time.sleep(0.05)
    raise AssertionError(f"no request has thread {thread_ts}")
