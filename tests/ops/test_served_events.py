"""Under `requestbot serve`, events are acked on arrival and handled by the worker
(bot/events.py): over HTTP, signed like Slack's, against the Slack double."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.events import worth_keeping
from models import Request, RequestRep
from tests.flows.helpers import customer_names, opened_view, posted, requests_in, state_for
from tests.harness import CHANNEL, OTHER_REP, REP, wait_until
from tests.slack.payloads import event_callback, message_event, reaction_added_event


@pytest.fixture
def settings_overrides():
    return {"REQUESTBOT_CAPTURE_EMOJI": "bulb"}


def file_request(served_bot, slack, title: str) -> str:
    served_bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    served_bot.submit_view(view["callback_id"], state_for(view, {"title": title}), REP,
                           private_metadata=view["private_metadata"], view=view)
    [card] = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage")
                                 if c.args.get("channel") == CHANNEL and title in c.args["text"]
                                 and not c.args.get("thread_ts")])
    return card.response["ts"]


def test_events_are_acked_on_arrival_and_handled_by_the_worker(served_bot, slack, db):
    thread = file_request(served_bot, slack, "Dark mode")
    wait_until(lambda: posted(slack, thread_ts=thread))  # the question
    slack.reset()

    # not signed by Slack: refused before anything is stored
    body, content_type = event_callback(message_event(CHANNEL, REP, "Initech, $20k",
                                                      thread_ts=thread))
    forged = served_bot.post(body, content_type, sign=False,
                             headers={"X-Slack-Signature": "v0=" + "0" * 64,
                                      "X-Slack-Request-Timestamp": str(int(time.time()))})
    assert forged.status_code == 401

    # a rep's facts in the thread, delivered twice (Slack retries): stored once
    event = message_event(CHANNEL, REP, "also Initech, $20k ARR", thread_ts=thread)
    first = served_bot.event(event, event_id="Ev0SERVED01")
    assert first.status_code == 200 and first.content == b""
    served_bot.event(event, event_id="Ev0SERVED01", retry_num=1)
    [receipt] = wait_until(lambda: posted(slack, thread_ts=thread))
    assert "Initech" in receipt.args["text"]
    assert wait_until(lambda: customer_names(db) == ["Initech"])

    # the capture emoji on a message files it; another emoji is acked and ignored
    ts = "1700000300.000400"
    slack.set_message(CHANNEL, ts, "Customers keep asking for an audit log", OTHER_REP)
    assert served_bot.event(reaction_added_event(REP, "tada", CHANNEL, ts, OTHER_REP)
                            ).status_code == 200
    assert served_bot.event(reaction_added_event(REP, "bulb", CHANNEL, ts, OTHER_REP)
                            ).status_code == 200
    wait_until(lambda: len(requests_in(db)) == 2)
    with db.sessions() as session:
        reacted = session.scalars(select(Request).where(Request.source == "reaction")).one()
        reps = session.scalars(select(RequestRep.user_id)
                               .where(RequestRep.request_id == reacted.id)).all()
    assert reacted.message_ts == ts and reps == [REP]
    assert customer_names(db) == ["Initech"]  # the forged reply changed nothing

    # all three stored events (the reply twice, the capture emoji) went through the worker
    assert wait_until(lambda: handled_events(served_bot) == 3.0)


def handled_events(served_bot) -> float:
    text = httpx.get(f"{served_bot.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name == "requestbot_jobs_total" and sample.labels["kind"] == "handle_event"
                    and sample.labels["outcome"] == "done"):
                return sample.value
    return 0.0


@pytest.mark.parametrize(("event", "kept"), [
    ({"type": "message", "user": REP, "ts": "2.0", "thread_ts": "1.0"}, True),
    ({"type": "message", "user": REP, "ts": "2.0", "thread_ts": "1.0",
      "subtype": "thread_broadcast"}, True),
    ({"type": "message", "user": REP, "ts": "1.0"}, False),  # not in a thread
    ({"type": "message", "user": REP, "ts": "1.0", "thread_ts": "1.0"}, False),  # its start
    ({"type": "message", "bot_id": "B1", "ts": "2.0", "thread_ts": "1.0"}, False),
    ({"type": "message", "subtype": "message_changed", "ts": "2.0", "thread_ts": "1.0"}, False),
    ({"type": "reaction_added", "reaction": "bulb"}, True),
    ({"type": "reaction_added", "reaction": "tada"}, False),
    ({"type": "app_mention", "user": REP, "ts": "1.0"}, True),
    ({"type": "app_home_opened", "user": REP}, True),
    ({"type": "app_uninstalled"}, True),
])
def test_only_events_a_listener_could_act_on_are_stored(event, kept):
    assert worth_keeping(event, "bulb") is kept


def test_no_reaction_is_stored_when_capture_is_off():
    assert worth_keeping({"type": "reaction_added", "reaction": "bulb"}, None) is False
