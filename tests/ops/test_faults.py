"""Faults: the database failing mid-request, and Slack answering 429, 500 or not at all."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from models import OutboxMessage
from tests.flows.helpers import opened_view, requests_in, state_for
from tests.harness import CHANNEL, DECIDER, REP


def database_down(monkeypatch, db) -> None:
    async def unreachable(work):
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(db, "run", unreachable)


def test_a_submission_while_the_database_is_down_keeps_the_input_and_stores_nothing(
    bot, slack, db, monkeypatch, caplog
):
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    database_down(monkeypatch, db)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="requestbot.errors"):
        response = bot.submit_view(view["callback_id"],
                                   state_for(view, {"title": "Bulk CSV export"}), REP,
                                   private_metadata=view["private_metadata"], view=view)
    assert time.monotonic() - started < 2.5  # well within Slack's 3 seconds
    answer = response.json()
    assert answer["response_action"] == "errors"  # the modal stays open, input kept
    message = answer["errors"]["title"]
    assert "can't reach its database" in message and "Nothing was saved" in message
    ref = re.search(r"ref `(\w+)`", message).group(1)
    [record] = [r for r in caplog.records if getattr(r, "ref", None) == ref]
    assert record.getMessage() == "listener failed" and record.exc_info
    monkeypatch.undo()
    bot.wait_idle()
    assert requests_in(db) == []
    assert slack.calls_to("chat.postMessage") == []


def test_a_command_while_the_database_is_down_gets_an_ephemeral_error(bot, slack, db,
                                                                      monkeypatch):
    database_down(monkeypatch, db)
    response = bot.command("delete 42", DECIDER, CHANNEL)
    assert response.status_code == 200
    [note] = slack.wait_for("chat.postEphemeral")
    assert note.args["user"] == DECIDER and "can't reach its database" in note.args["text"]
    assert "ref `" in note.args["text"]


def file_request(bot, slack) -> None:
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    response = bot.submit_view(view["callback_id"], state_for(view, {"title": "Bulk CSV export"}),
                               REP, private_metadata=view["private_metadata"], view=view)
    assert response.status_code == 200 and response.text == ""
    bot.wait_idle()


def card_row(db) -> OutboxMessage:
    with db.sessions() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "request_card")
                               ).one()


def cards_accepted(slack) -> list:
    return [c for c in slack.calls_to("chat.postMessage")
            if c.status == 200 and c.response.get("ok") and "thread_ts" not in c.args]


def test_a_rate_limited_card_waits_for_retry_after_and_is_sent_exactly_once(bot, slack, db,
                                                                             clock):
    slack.rate_limit("chat.postMessage", retry_after=1)
    file_request(bot, slack)
    [refused] = slack.calls_to("chat.postMessage")  # no inline retry: the row waits instead
    assert refused.status == 429
    row = card_row(db)
    assert row.state == "pending" and row.last_error == "ratelimited"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=1)
    assert requests_in(db)[0].title == "Bulk CSV export"  # the data was stored regardless

    bot.deliver_outbox()  # not due yet: Retry-After is honoured by the outbox
    assert cards_accepted(slack) == []
    clock.advance(seconds=5)
    bot.deliver_outbox()
    bot.deliver_outbox()
    assert len(cards_accepted(slack)) == 1
    assert card_row(db).state == "sent"


def test_a_card_slack_fails_with_500_is_retried_until_it_goes_through(bot, slack, db, clock):
    slack.server_error("chat.postMessage", status=503)  # queued posts retry later, not inline
    file_request(bot, slack)
    assert card_row(db).state == "pending"
    slack.server_error("chat.postMessage", status=500)
    clock.advance(seconds=5)
    bot.deliver_outbox()  # fails again: backoff grows
    row = card_row(db)
    assert row.state == "pending" and row.attempts == 2
    assert (row.next_attempt_at - clock.now()).total_seconds() >= 2
    clock.advance(minutes=1)
    bot.deliver_outbox()
    bot.deliver_outbox()
    assert len(cards_accepted(slack)) == 1 and card_row(db).state == "sent"


def test_a_web_api_call_that_times_out_is_kept_for_a_later_try(settings, db, slack, clock):
    from tests.harness import BotHarness

    bot = BotHarness(settings, db, slack, clock)
    bot.runtime.web_api_timeout_seconds = 1
    bot.start()
    try:
        bot.command("", REP, CHANNEL)
        view = opened_view(slack)
        slack.delay(1.5)
        bot.submit_view(view["callback_id"], state_for(view, {"title": "Bulk CSV export"}),
                        REP, private_metadata=view["private_metadata"], view=view)
        bot.wait_idle(timeout=15)
        row = card_row(db)
        assert row.state == "pending" and "Timeout" in (row.last_error or "")
        slack.delay(0)
        clock.advance(seconds=5)
        bot.deliver_outbox()
        assert card_row(db).state == "sent"
        assert [r.title for r in requests_in(db)] == ["Bulk CSV export"]
    finally:
        slack.delay(0)
        bot.stop()
