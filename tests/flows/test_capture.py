"""Filing a request the three ways a rep can, end to end over HTTP against the Slack double."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.slack_ids import Callback
from models import Customer, RequestCustomer, RequestRep
from tests.flows.helpers import (
    all_text,
    button,
    initial_values,
    labels_of,
    opened_view,
    requests_in,
    submit,
)
from tests.harness import CHANNEL, OTHER_REP, REP


def test_empty_request_command_opens_the_request_modal(bot, slack):
    response = bot.command("", REP, CHANNEL)
    assert response.status_code == 200 and response.text == ""
    [call] = slack.wait_for("views.open")
    assert call.args["trigger_id"]
    view = call.args["view"]
    assert view["callback_id"] == Callback.REQUEST_MODAL
    labels = labels_of(view)
    assert labels["title"] == "Title"
    assert "problem" in labels["problem"]
    assert "Customer name" in labels["customers"]
    assert "How many customers" in labels["customer_count"]
    assert labels["revenue"] == "Revenue at stake"
    assert "blocking a deal" in labels["blocker"]
    optional = {b["block_id"]: b.get("optional", False) for b in view["blocks"]
                if b["type"] == "input"}
    assert optional.pop("title") is False and all(optional.values())


def test_request_command_with_text_prefills_what_it_could_read(bot, slack):
    bot.command("Bulk CSV export for Acme, 3 customers, $120k ARR, blocker", REP, CHANNEL)
    shown = initial_values(opened_view(slack))
    assert shown["title"] == "Bulk CSV export"
    assert shown["customers"] == "Acme"
    assert shown["customer_count"] == "3"
    assert shown["revenue"] == "$120,000 ARR"
    assert shown["blocker"] == "deal_blocker"


def test_request_command_whose_text_says_payload_opens_the_modal(bot, slack):
    """Bolt's own reading of the body took any form saying "payload" for an interactive
    payload: the command read as empty and was answered 404."""
    response = bot.command("Signed webhook payload for Acme", REP, CHANNEL)
    assert response.status_code == 200 and response.text == ""
    shown = initial_values(opened_view(slack))
    assert shown["title"] == "Signed webhook payload" and shown["customers"] == "Acme"


def test_request_command_keeps_a_hyphenated_word_whole_in_the_title(bot, slack):
    """The "on" of "sign-on" had been stripped from the prefilled title as a trailing
    connector ("SAML single sign")."""
    bot.command("SAML single sign-on for Globex and Initech, $80k ARR", REP, CHANNEL)
    shown = initial_values(opened_view(slack))
    assert shown["title"] == "SAML single sign-on"
    assert shown["customers"] == "Globex, Initech"


def test_submitting_the_modal_stores_the_request_and_posts_a_card_with_a_thread(bot, slack, db):
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    response = submit(bot, view, REP, {"title": "Bulk CSV export", "customers": "Acme, Globex",
                                       "customer_count": "3", "revenue": "$120k ARR",
                                       "blocker": "deal_blocker"})
    assert response.status_code == 200 and response.text == ""
    [card] = slack.wait_for("chat.postMessage")
    assert card.args["channel"] == CHANNEL and "thread_ts" not in card.args
    assert "Bulk CSV export" in card.args["text"]
    assert button(card, "Decide")["value"]
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.title == "Bulk CSV export" and request.requested_by == REP
    assert request.customer_count == 3
    assert request.channel_id == CHANNEL and request.thread_ts == card.response["ts"]
    assert request.card_ts == card.response["ts"]
    assert request.permalink and request.permalink.startswith("https://")
    with db.sessions() as session:
        names = session.scalars(select(Customer.name).order_by(Customer.id)).all()
        assert names == ["Acme", "Globex"]
        [revenue] = session.scalars(
            select(RequestCustomer.revenue_minor).where(RequestCustomer.revenue_minor.is_not(None))
        ).all()
        assert revenue == 120_000_00
    # deal blocker: the thread asks for the close date, amount and CRM link, nothing else
    [question] = [c for c in slack.calls_to("chat.postMessage")
                  if c.args.get("thread_ts") == card.response["ts"]]
    assert "when the deal closes" in question.args["text"]
    assert "how many customers" not in question.args["text"]
    assert "revenue at stake" not in question.args["text"]


def test_missing_answers_are_asked_for_in_the_thread(bot, slack):
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": "Dark mode"})
    card, question = slack.wait_for("chat.postMessage", count=2)[:2]
    assert question.args["thread_ts"] == card.response["ts"]
    text = question.args["text"]
    for asked in ("how many customers", "the revenue at stake", "whether it blocks a deal"):
        assert asked in text
    labels = [e["text"]["text"] for b in question.args["blocks"] if b["type"] == "actions"
              for e in b["elements"]]
    assert labels == ["Answer", "Blocks a deal", "Churn risk", "Not a blocker"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": None}, "title", "title"),
        ({"title": "   "}, "title", "title"),
        ({"title": "x" * 151}, "title", "150"),
        ({"title": "Export", "revenue": "soon"}, "revenue", "amount"),
        ({"title": "Export", "customer_count": "-2"}, "customer_count", "negative"),
        ({"title": "Export", "customer_count": "1000000000"}, "customer_count", "check"),
        ({"title": "Export", "crm_url": "salesforce/acme"}, "crm_url", "https://"),
        ({"title": "Export", "problem": "y" * 3001}, "problem", "3,000"),
    ],
)
def test_invalid_input_gets_inline_errors_and_nothing_is_stored(bot, slack, db, values, field,
                                                                 message):
    bot.command("", REP, CHANNEL)
    response = submit(bot, opened_view(slack), REP, values)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert message in answer["errors"][field]
    bot.wait_idle()
    assert requests_in(db) == []
    assert slack.calls_to("chat.postMessage") == []


def test_the_same_submission_twice_stores_one_request(bot, slack, db):
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    submit(bot, view, REP, {"title": "SSO with Okta"})
    submit(bot, view, REP, {"title": "SSO with Okta"})
    bot.wait_idle()
    assert len(requests_in(db)) == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c.args]) == 1


def test_mrkdwn_in_a_title_never_pings_anyone_and_is_stored_unchanged(bot, slack, db):
    title = "<!channel> & <@U0BOSS001> <https://evil.example|click>"
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": title, "problem": "<!here> please"})
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.title == title and request.problem == "<!here> please"
    for call in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update"):
        shown = all_text(call)
        assert "<!channel>" not in shown and "<!here>" not in shown
        assert "<@U0BOSS001>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS001&gt;" in slack.calls_to("chat.postMessage")[0].args["text"]


def test_message_shortcut_prefills_from_the_message_and_replies_in_its_thread(bot, slack, db):
    message = {"ts": "1700000100.000200", "user": OTHER_REP,
               "text": "Acme wants SAML single sign-on\nThey have 2 accounts, $80k ARR, deal breaker"}
    response = bot.shortcut(Callback.FILE_FEATURE_REQUEST, REP, message=message,
                            channel_id=CHANNEL)
    assert response.status_code == 200
    view = opened_view(slack)
    shown = initial_values(view)
    assert shown["title"] == "Acme wants SAML single sign-on" or shown["title"].startswith("SAML")
    assert shown["problem"] == message["text"]
    assert shown["customer_count"] == "2"
    assert shown["revenue"] == "$80,000 ARR"
    submit(bot, view, REP, {**{k: v for k, v in shown.items() if v is not None},
                            "title": "SAML single sign-on"})
    [card] = slack.wait_for("chat.postMessage")
    assert card.args["channel"] == CHANNEL and card.args["thread_ts"] == message["ts"]
    bot.wait_idle()
    [request] = requests_in(db)
    assert (request.source_channel_id, request.message_ts) == (CHANNEL, message["ts"])
    assert (request.channel_id, request.thread_ts) == (CHANNEL, message["ts"])
    assert request.permalink and message["ts"].replace(".", "") in request.permalink
    assert request.source == "shortcut"


def test_shortcut_in_a_channel_the_bot_is_not_in_dms_the_rep_and_loses_nothing(bot, slack, db):
    slack.fail("chat.postMessage", error="not_in_channel")
    message = {"ts": "1700000200.000300", "user": OTHER_REP, "text": "Night theme please"}
    bot.shortcut(Callback.FILE_FEATURE_REQUEST, REP, message=message, channel_id="C0PRIVATE1")
    submit(bot, opened_view(slack), REP, {"title": "Night theme"})
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c.args["channel"] == REP)[0]
    assert "/invite @requestbot" in dm.args["text"]
    assert "Night theme" in all_text(dm)
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.title == "Night theme"
    assert request.card_channel_id == dm.response["channel"]
    # the follow-up questions follow the card into the DM
    question = slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.args.get("thread_ts") == dm.response["ts"]
    )[0]
    assert "how many customers" in question.args["text"]


@pytest.fixture
def settings_overrides():
    return {"REQUESTBOT_CAPTURE_EMOJI": "bulb"}


def test_reaction_files_the_reacted_message_and_asks_in_its_thread(bot, slack, db):
    from tests.slack.payloads import reaction_added_event

    ts = "1700000300.000400"
    slack.set_message(CHANNEL, ts, "Customers keep asking for an audit log, 5 accounts", OTHER_REP)
    response = bot.event(reaction_added_event(REP, "bulb", CHANNEL, ts, OTHER_REP))
    assert response.status_code == 200
    card = slack.wait_for("chat.postMessage")[0]
    assert card.args["thread_ts"] == ts
    question = slack.wait_for("chat.postMessage", count=2)[1]
    assert question.args["thread_ts"] == ts and "revenue at stake" in question.args["text"]
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.requested_by == REP and request.source == "reaction"
    assert request.customer_count == 5

    # a second reactor is a supporter; the retried delivery and other emoji change nothing
    bot.event(reaction_added_event(OTHER_REP, "bulb", CHANNEL, ts, OTHER_REP))
    bot.event(reaction_added_event(OTHER_REP, "bulb", CHANNEL, ts, OTHER_REP), retry_num=1)
    bot.event(reaction_added_event(OTHER_REP, "tada", CHANNEL, ts, OTHER_REP))
    bot.wait_idle()
    assert len(requests_in(db)) == 1
    with db.sessions() as session:
        reps = dict(session.execute(select(RequestRep.user_id, RequestRep.role)).all())
    assert reps == {REP: "requester", OTHER_REP: "supporter"}
    assert len([c for c in slack.calls_to("chat.postMessage") if "Feature request" in c.args["text"]]) == 1


def test_shortcut_on_a_message_without_text_opens_an_empty_form(bot, slack):
    message = {"ts": "1700000500.000100", "user": OTHER_REP, "text": "",
               "files": [{"id": "F0FILE001", "name": "screenshot.png"}]}
    bot.shortcut(Callback.FILE_FEATURE_REQUEST, REP, message=message, channel_id=CHANNEL)
    shown = initial_values(opened_view(slack))
    assert shown["title"] is None and shown["problem"] is None


def test_request_command_over_the_wire_to_requestbot_serve(served_bot, slack, db):
    response = served_bot.command("Dark mode for Globex", REP, CHANNEL)
    assert response.status_code == 200
    view = slack.wait_for("views.open", timeout=10)[0].response["view"]
    assert initial_values(view)["title"] == "Dark mode"
    submit(served_bot, view, REP, {"title": "Dark mode", "customers": "Globex"})
    card = slack.wait_for("chat.postMessage", timeout=10)[0]
    assert "Dark mode" in card.args["text"] and card.args["channel"] == CHANNEL
    assert [r.title for r in requests_in(db)] == ["Dark mode"]
