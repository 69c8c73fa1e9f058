"""Answering the bot's questions in the thread: plain words, buttons, the answer modal, edits."""

from __future__ import annotations

from sqlalchemy import select

from bot.slack_ids import Action, Callback
from models import Activity, Customer, RequestCustomer
from tests.flows.helpers import all_text, opened_view, posted, requests_in, submit
from tests.harness import CHANNEL, OTHER_REP, REP
from tests.slack.payloads import message_event


def file_request(bot, slack, title: str = "Dark mode", **values: str) -> tuple[str, int]:
    """Files a request with /request; returns the card's ts (the thread) and the request id."""
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": title, **values})
    card = slack.wait_for("chat.postMessage")[0]
    bot.wait_idle()
    return card.response["ts"], requests_in(bot.db)[0].id


def reply(bot, text: str, thread_ts: str, user: str = REP, **kwargs):
    return bot.event(message_event(CHANNEL, user, text, thread_ts=thread_ts), **kwargs)


def asks(db) -> list[tuple[str | None, int | None, str | None]]:
    with db.sessions() as session:
        rows = session.execute(
            select(Customer.name, RequestCustomer.revenue_minor, RequestCustomer.blocker)
            .outerjoin(Customer, Customer.id == RequestCustomer.customer_id)
            .order_by(RequestCustomer.id)
        )
        return [tuple(r) for r in rows]


def test_a_plain_reply_in_the_thread_answers_the_questions(bot, slack, db):
    thread, _ = file_request(bot, slack)
    slack.reset()
    reply(bot, "We have 4 customers asking, about $75k ARR, and it's blocking the Acme renewal",
          thread)
    receipt = slack.wait_for("chat.postMessage")[0]
    assert receipt.args["thread_ts"] == thread
    assert "4 customers" in receipt.args["text"] and "$75,000" in receipt.args["text"]
    card = slack.wait_for("chat.update")[0]
    assert "$75,000" in all_text(card)
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.customer_count == 4
    [(name, revenue, blocker)] = asks(db)
    assert name == "Acme" and revenue == 75_000_00 and blocker in ("churn_risk", "deal_blocker")


def test_a_later_customer_is_added_rather_than_overwriting(bot, slack, db):
    thread, _ = file_request(bot, slack, customers="Acme", revenue="$120k")
    reply(bot, "also Initech, $20k", thread, user=OTHER_REP)
    bot.wait_idle()
    assert [(n, r) for n, r, _ in asks(db)] == [("Acme", 120_000_00), ("Initech", 20_000_00)]


def test_a_partial_answer_is_acknowledged_and_the_rest_is_still_asked(bot, slack, db):
    thread, _ = file_request(bot, slack)
    slack.reset()
    reply(bot, "3 customers so far", thread)
    receipt = slack.wait_for("chat.postMessage")[0]
    assert "3 customers" in receipt.args["text"]
    assert "Still missing" in receipt.args["text"] and "revenue at stake" in receipt.args["text"]


def test_chatter_without_facts_is_left_alone(bot, slack, db):
    thread, _ = file_request(bot, slack)
    slack.reset()
    reply(bot, "thanks, will check with the team", thread)
    bot.wait_idle()
    assert slack.calls == []


def test_a_retried_thread_reply_is_recorded_once(bot, slack, db):
    thread, _ = file_request(bot, slack)
    slack.reset()
    event = message_event(CHANNEL, REP, "also Initech, $20k", thread_ts=thread)
    bot.event(event, event_id="Ev0RETRY01")
    bot.event(event, event_id="Ev0RETRY01", retry_num=1, retry_reason="http_timeout")
    bot.wait_idle()
    assert [n for n, _, _ in asks(db)] == ["Initech"]
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_blocker_buttons_answer_in_one_click(bot, slack, db):
    thread, request_id = file_request(bot, slack)
    question = posted(slack, thread_ts=thread)[0]
    slack.reset()
    response = bot.action(f"{Action.BLOCKER_ANSWER}_churn_risk", REP,
                          value=f"{request_id}:churn_risk", channel_id=CHANNEL,
                          message=question.response["message"])
    assert response.status_code == 200
    receipt = slack.wait_for("chat.postMessage")[0]
    assert "churn risk" in receipt.args["text"]
    assert "when the customer renews" in receipt.args["text"]
    bot.wait_idle()
    assert asks(db)[0][2] == "churn_risk"


def test_the_answer_modal_records_answers_and_validates_them(bot, slack, db):
    thread, request_id = file_request(bot, slack)
    question = posted(slack, thread_ts=thread)[0]
    bot.action(Action.ANSWER_FOLLOW_UP, REP, value=str(request_id), channel_id=CHANNEL,
               message=question.response["message"])
    view = opened_view(slack, count=2)
    assert view["callback_id"] == Callback.FOLLOW_UP_MODAL
    bad = submit(bot, view, REP, {"revenue": "a lot"})
    assert bad.json()["response_action"] == "errors"
    good = submit(bot, view, REP, {"customers": "Globex", "customer_count": "2",
                                   "revenue": "€50,000", "blocker": "none"})
    assert good.status_code == 200 and good.text == ""
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.customer_count == 2
    with db.sessions() as session:
        [ask] = session.scalars(select(RequestCustomer)).all()
        assert (ask.revenue_minor, ask.currency, ask.blocker) == (50_000_00, "EUR", "none")


def test_the_requester_edits_from_the_card_and_the_change_is_logged(bot, slack, db):
    thread, request_id = file_request(bot, slack, title="Dark mod")
    card = slack.wait_for("chat.postMessage")[0]
    bot.action(Action.EDIT_REQUEST, REP, value=str(request_id), channel_id=CHANNEL,
               message=card.response["message"])
    view = opened_view(slack, count=2)
    assert view["callback_id"] == Callback.EDIT_REQUEST_MODAL
    submit(bot, view, REP, {"title": "Dark mode", "customers": "Acme"})
    update = slack.wait_for("chat.update")[0]
    assert "Dark mode" in update.args["text"]
    bot.wait_idle()
    assert requests_in(db)[0].title == "Dark mode"
    with db.sessions() as session:
        actions = session.scalars(select(Activity.action).order_by(Activity.id)).all()
    assert actions == ["filed", "edited"]


def test_someone_else_cannot_edit_the_request(bot, slack, db):
    _, request_id = file_request(bot, slack, title="Dark mode")
    card = slack.wait_for("chat.postMessage")[0]
    slack.reset()
    bot.action(Action.EDIT_REQUEST, OTHER_REP, value=str(request_id), channel_id=CHANNEL,
               message=card.response["message"])
    notice = slack.wait_for("chat.postEphemeral")[0]
    assert notice.args["user"] == OTHER_REP and "Only" in notice.args["text"]
    bot.wait_idle()
    assert slack.calls_to("views.open") == []


def test_a_burst_of_answers_updates_the_card_once_every_two_seconds_with_all_of_them(
        bot, slack, db, clock):
    thread, _ = file_request(bot, slack)
    slack.reset()
    for text in ("4 customers asking", "about $75k ARR", "it's blocking the Acme deal"):
        reply(bot, text, thread)
        bot.wait_idle()
    bot.deliver_outbox()
    [update] = slack.calls_to("chat.update")  # the first answer's, at once
    assert "$75,000" not in all_text(update)
    assert len(slack.calls_to("chat.postMessage")) == 3  # each answer is acknowledged at once

    clock.advance(seconds=2)
    bot.deliver_outbox()
    first, second = slack.calls_to("chat.update")  # the two later answers, together
    assert "$75,000" in all_text(second) and "Acme" in all_text(second)
