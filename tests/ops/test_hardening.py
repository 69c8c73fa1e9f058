"""Every input path holds: forged clicks from non-deciders, other workspaces, and signatures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.slack_ids import DECIDER_ONLY_ACTIONS, DECIDER_ONLY_VIEWS, Action, Callback
from models import Base
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import CHANNEL, DECIDER, OTHER_REP, REP
from tests.slack.payloads import select_state, text_state

OTHER_TEAM = "T0TEAM002"
SECRET_TITLE = "Bulk CSV export for Acme"
MUTATING = ("views.open", "views.push", "views.update", "chat.update", "chat.delete",
            "reactions.add", "chat.scheduleMessage")


def file_request(bot, slack) -> int:
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": SECRET_TITLE, "customers": "Acme",
                                          "revenue": "$120k"})
    slack.wait_for("chat.postMessage", count=2)
    bot.wait_idle()
    [request] = requests_in(bot.db)
    slack.reset()
    return request.id


def snapshot(db) -> dict[str, list]:
    """Every stored row (but the log of deliveries seen, which a refused click may add)."""
    with db.sessions() as session:
        return {
            table.name: sorted(map(repr, session.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables if table.name != "slack_delivery"
        }


def forged_values(request_id: int) -> list[str]:
    return [
        str(request_id),
        f"{request_id}:deal_blocker",
        f"{request_id}:planned",
        json.dumps({"request_id": request_id, "status": "declined", "rationale": "Forged"}),
    ]


def forged_state() -> dict:
    return {
        "decision_status": {"decision_status": select_state("declined")},
        "rationale": {"rationale": text_state("Forged rationale")},
        "reply_text": {"reply_text": text_state("Forged reply")},
        "timeline": {"timeline": text_state("Q3")},
        "title": {"title": text_state("Hijacked")},
        "customer_count": {"customer_count": text_state("99")},
    }


def forged_metadata(request_id: int) -> list[str]:
    return [
        json.dumps({"request_id": request_id}),
        json.dumps({"request_id": request_id, "status": "declined", "rationale": "Forged"}),
        json.dumps({"request_id": request_id, "source": "command", "channel_id": CHANNEL}),
    ]


def assert_nothing_changed(bot, slack, before: dict, user: str) -> None:
    bot.wait_idle()
    assert snapshot(bot.db) == before
    assert [c.method for c in slack.calls if c.method in MUTATING] == []
    for post in slack.calls_to("chat.postMessage"):  # only a private note to the clicker
        assert post.args["channel"] in (user, slack.dm_channel(user))


@pytest.mark.parametrize("action_id", sorted(DECIDER_ONLY_ACTIONS))
def test_forged_decider_clicks_from_a_non_decider_change_nothing(bot, slack, action_id):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    for value in forged_values(request_id):
        response = bot.action(action_id, OTHER_REP, value, channel_id=CHANNEL)
        assert response.status_code in (200, 404)  # 404: no listener for it (yet)
    assert_nothing_changed(bot, slack, before, OTHER_REP)


@pytest.mark.parametrize("callback_id", sorted(DECIDER_ONLY_VIEWS))
def test_forged_decider_modal_submissions_from_a_non_decider_change_nothing(bot, slack,
                                                                             callback_id):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    for metadata in forged_metadata(request_id):
        response = bot.submit_view(callback_id, forged_state(), OTHER_REP,
                                   private_metadata=metadata)
        assert response.status_code in (200, 404)  # 404: no listener for it (yet)
        if response.status_code == 200:
            assert response.text == "" or response.json().get("response_action") in (
                "errors", "update")
    assert_nothing_changed(bot, slack, before, OTHER_REP)


@pytest.mark.parametrize("action_id", sorted(Action))
def test_a_click_from_another_workspace_never_reaches_a_request(bot, slack, action_id):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    for user in (DECIDER, REP):  # same user ids, another workspace
        for value in forged_values(request_id):
            response = bot.action(action_id, user, value, channel_id=CHANNEL, team_id=OTHER_TEAM)
            assert response.status_code in (200, 404)  # 404: no listener for it (yet)
    bot.wait_idle()
    assert snapshot(bot.db) == before
    for call in slack.calls:
        assert SECRET_TITLE not in json.dumps(call.args), f"{call.method} showed T1's request"
    assert [c.method for c in slack.calls if c.method in MUTATING[1:]] == []


@pytest.mark.parametrize("callback_id", sorted(Callback))
def test_a_modal_from_another_workspace_never_changes_a_request(bot, slack, callback_id):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    for user in (DECIDER, REP):
        for metadata in forged_metadata(request_id):
            response = bot.submit_view(callback_id, forged_state(), user,
                                       private_metadata=metadata, team_id=OTHER_TEAM)
            assert response.status_code in (200, 404)  # 404: no listener for it (yet)
            assert SECRET_TITLE not in response.text
    bot.wait_idle()
    with bot.db.sessions() as session:  # a new request of T2 may be filed; T1's is untouched
        from models import Request

        [mine] = session.scalars(select(Request).where(Request.id == request_id)).all()
        assert mine.title == SECRET_TITLE and mine.customer_count is None
    after = snapshot(bot.db)
    for table in ("decision", "activity", "request_customer"):
        assert [r for r in after[table] if "T0TEAM001" in r] == \
               [r for r in before[table] if "T0TEAM001" in r]
    for call in slack.calls:
        assert SECRET_TITLE not in json.dumps(call.args)


def test_wrongly_signed_commands_and_clicks_are_refused_and_change_nothing(bot, slack):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    from tests.slack.payloads import block_actions, slash_command

    for body, content_type in (slash_command("", DECIDER, CHANNEL),
                               block_actions(Action.DECIDE, str(request_id), DECIDER,
                                             channel_id=CHANNEL)):
        assert bot.post(body, content_type, sign=False).status_code == 401
        forged = bot.post(body, content_type, headers={"X-Slack-Signature": "v0=" + "ab" * 32})
        assert forged.status_code == 401
        replayed = bot.post(body, content_type, timestamp=1_500_000_000)
        assert replayed.status_code == 401
    bot.wait_idle()
    assert snapshot(bot.db) == before and slack.calls == []


def test_a_rep_cannot_edit_someone_elses_request(bot, slack):
    request_id = file_request(bot, slack)
    before = snapshot(bot.db)
    metadata = json.dumps({"request_id": request_id, "source": "command"})
    response = bot.submit_view(Callback.EDIT_REQUEST_MODAL,
                               {"title": {"title": text_state("Hijacked")}}, OTHER_REP,
                               private_metadata=metadata)
    assert response.json()["response_action"] == "errors"
    assert_nothing_changed(bot, slack, before, OTHER_REP)
