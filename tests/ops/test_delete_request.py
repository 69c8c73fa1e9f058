"""Deciders delete a request (`/request delete 42`): confirmed in a modal, audited, card updated."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.slack_ids import Callback
from models import Activity, OutboxMessage, Request, RequestCustomer
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import CHANNEL, DECIDER, REP


def file_request(bot, slack, title: str = "Bulk CSV export") -> Request:
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": title, "customers": "Acme",
                                          "revenue": "$120k"})
    slack.wait_for("chat.postMessage")
    bot.wait_idle()
    [request] = [r for r in requests_in(bot.db) if r.title == title]
    slack.reset()
    return request


def test_a_decider_deletes_a_request_after_confirming_and_the_card_says_so(bot, slack, db):
    request = file_request(bot, slack)
    response = bot.command(f"delete {request.id}", DECIDER, CHANNEL)
    assert response.status_code == 200
    [opened] = slack.wait_for("views.open")
    view = opened.response["view"]
    assert view["callback_id"] == Callback.DELETE_REQUEST_MODAL
    assert f"#{request.id}" in str(view["blocks"]) and "Bulk CSV export" in str(view["blocks"])
    assert requests_in(db) != []  # nothing is deleted before the confirmation

    answer = bot.submit_view(view["callback_id"], {}, DECIDER,
                             private_metadata=view["private_metadata"], view=view)
    assert answer.status_code == 200 and answer.text == ""
    [update] = slack.wait_for("chat.update")
    assert update.args["channel"] == request.card_channel_id
    assert update.args["ts"] == request.card_ts
    assert "deleted" in update.args["text"] and f"<@{DECIDER}>" in update.args["text"]
    bot.wait_idle()
    assert requests_in(db) == []
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RequestCustomer)) == 0
        [audit] = session.scalars(select(Activity).where(Activity.action == "deleted")).all()
        assert audit.actor_id == DECIDER and audit.request_id is None
        assert audit.detail["request_id"] == request.id
        assert audit.detail["title"] == "Bulk CSV export"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.state == "pending")) == 0


def test_a_non_decider_cannot_delete_a_request(bot, slack, db):
    request = file_request(bot, slack)
    bot.command(f"delete {request.id}", REP, CHANNEL)
    [refusal] = slack.wait_for("chat.postEphemeral")
    assert "Only deciders" in refusal.args["text"] and refusal.args["user"] == REP
    assert slack.calls_to("views.open") == []

    # a forged submission of the confirmation changes nothing either
    from bot.blocks.delete_request import delete_confirmation
    from bot.forms import RequestRef

    view = delete_confirmation(request.id, request.title,
                               RequestRef(request_id=request.id).model_dump_json()).to_dict()
    answer = bot.submit_view(Callback.DELETE_REQUEST_MODAL, {}, REP,
                             private_metadata=view["private_metadata"], view=view)
    assert answer.json()["response_action"] == "update"
    assert "Only deciders" in str(answer.json()["view"])
    bot.wait_idle()
    assert [r.id for r in requests_in(db)] == [request.id]
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)
                              .where(Activity.action == "deleted")) == 0
    assert slack.calls_to("chat.update") == []


def test_deleting_a_request_that_does_not_exist_says_so(bot, slack, db):
    bot.command("delete 999", DECIDER, CHANNEL)
    [notice] = slack.wait_for("chat.postEphemeral")
    assert "no request #999" in notice.args["text"]
    assert slack.calls_to("views.open") == []
