"""Deciders closing the loop: the Decide modal and its preview, deciding in the thread,
replies in every thread that asked, history, and Slack failures that lose nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.slack_ids import Action, Callback
from models import Activity, Decision, Reminder, Request, RequestStatus
from tests.flows.helpers import all_text, button, initial_values, opened_view, posted, submit
from tests.harness import CHANNEL, DECIDER, OTHER_REP, REP
from tests.slack.payloads import BOT_USER_ID, app_mention_event, message_event

DECIDER_TZ = "Europe/Berlin"


# -- driving the bot ---------------------------------------------------------------------
def file_request(bot, slack, title: str = "Bulk CSV export", **values: str) -> dict:
    """Files a request with /request; returns its card message (its ts is the thread)."""
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": title, **values})
    card = slack.wait_for("chat.postMessage")[0]
    bot.wait_idle()
    return card.response["message"] | {"channel": card.response["channel"]}


def press(bot, action: str, card: dict, user: str = DECIDER):
    request_id = button_value(card, action)
    return bot.action(action, user, value=request_id, channel_id=CHANNEL,
                      message={k: v for k, v in card.items() if k != "channel"})


def button_value(card: dict, action: str) -> str:
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action:
                return element["value"]
    raise AssertionError(f"no {action} button on the card")


def open_decision_modal(bot, slack, card: dict, user: str = DECIDER) -> dict:
    count = len(slack.calls_to("views.open")) + 1
    press(bot, Action.DECIDE, card, user)
    return opened_view(slack, count=count)


def future(days: int = 30) -> str:
    return (datetime.now(ZoneInfo(DECIDER_TZ)).date() + timedelta(days=days)).isoformat()


def decide(bot, slack, card: dict, values: dict, reply: str | None = None,
           user: str = DECIDER):
    """Fills in the decision modal, then posts the preview (edited to `reply` if given)."""
    view = open_decision_modal(bot, slack, card, user)
    answer = submit(bot, view, user, values).json()
    assert answer["response_action"] == "update", answer
    preview = {**answer["view"], "id": view["id"]}
    text = reply if reply is not None else initial_values(preview)["reply_text"]
    response = submit(bot, preview, user, {"reply_text": text})
    assert response.status_code == 200 and response.text == "", response.text
    bot.wait_idle()
    return preview


def mention(bot, text: str, thread_ts: str, user: str = DECIDER, **kwargs):
    return bot.event(app_mention_event(CHANNEL, user, f"<@{BOT_USER_ID}> {text}",
                                       thread_ts=thread_ts), **kwargs)


def decisions_in(db) -> list[Decision]:
    with db.sessions() as session:
        return list(session.scalars(select(Decision).order_by(Decision.id)))


def request_in(db, request_id: int = 1) -> Request:
    with db.sessions() as session:
        request = session.get(Request, request_id)
        assert request is not None
        return request


def thread_replies(slack, thread_ts: str) -> list:
    return [c for c in posted(slack, thread_ts=thread_ts)
            if "Decision on" in c.args["text"] and c.status == 200 and c.response["ok"]]


@pytest.fixture(autouse=True)
def decider_time_zone(slack):
    slack.set_user(DECIDER, tz=DECIDER_TZ)


# -- the modal -------------------------------------------------------------------------
def test_a_decider_decides_and_the_reply_lands_in_the_thread(bot, slack, db, clock):
    card = file_request(bot, slack, customers="Acme", revenue="$120k ARR",
                        blocker="deal_blocker")
    view = open_decision_modal(bot, slack, card)
    assert view["callback_id"] == Callback.DECISION_MODAL
    assert slack.calls_to("users.info")[-1].args["user"] == DECIDER
    revisit = future()
    answer = submit(bot, view, DECIDER, {
        "decision_status": "planned", "timeline": "Q3 2030",
        "rationale": "Fits the platform theme", "revisit_on": revisit,
    }).json()
    assert answer["response_action"] == "update"
    preview = {**answer["view"], "id": view["id"]}
    assert preview["callback_id"] == Callback.DECISION_PREVIEW
    prefilled = initial_values(preview)["reply_text"]
    assert "planned for Q3 2030" in prefilled and "Fits the platform theme" in prefilled
    assert decisions_in(db) == []  # nothing is recorded before the preview is posted

    edited = "Planned for Q3 2030. It fits the platform theme & Acme's export needs."
    response = submit(bot, preview, DECIDER, {"reply_text": edited})
    assert response.status_code == 200 and response.text == ""
    thread = card["ts"]
    [reply] = slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get("thread_ts")
                             == thread and "Decision on" in c.args.get("text", ""))
    text = reply.args["text"]
    assert reply.args["channel"] == CHANNEL
    assert f"<@{REP}>" in text and "Planned (Q3 2030)" in text
    assert "It fits the platform theme &amp; Acme's export needs." in text
    assert "Fits the platform theme" in text  # the rationale, even when edited out of the reply
    assert "Planned" in json.dumps(reply.args["blocks"])
    update = slack.wait_for("chat.update")[0]
    assert update.args["ts"] == thread and update.args["channel"] == CHANNEL
    assert "Planned (Q3 2030)" in all_text(update)
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c.args["channel"] == REP)[0]
    assert "Planned (Q3 2030)" in dm.args["text"]
    bot.wait_idle()

    [decision] = decisions_in(db)
    assert decision.status == "planned" and decision.timeline == "Q3 2030"
    assert decision.target_on == date(2030, 9, 30)
    assert decision.reply_text == edited and decision.decided_by == DECIDER
    assert decision.decided_at == clock.now()
    assert decision.evidence == {"customers": 1, "customer_names": ["Acme"],
                                 "revenue": {"USD": 120_000_00}, "blockers": 1, "threads": 1}
    assert request_in(db).status == RequestStatus.PLANNED
    with db.sessions() as session:
        [reminder] = session.scalars(select(Reminder).where(Reminder.kind == "revisit")).all()
        actions = session.scalars(select(Activity.action).order_by(Activity.id)).all()
    nine_berlin = datetime.combine(date.fromisoformat(revisit), time(9),
                                   tzinfo=ZoneInfo(DECIDER_TZ)).astimezone(UTC)
    assert reminder.kind == "revisit" and reminder.recipient == DECIDER
    assert reminder.due_at == nine_berlin and decision.revisit_at == nine_berlin
    assert "decided" in actions


def test_someone_who_is_not_a_decider_is_told_who_can(bot, slack, db):
    card = file_request(bot, slack)
    slack.reset()
    press(bot, Action.DECIDE, card, user=OTHER_REP)
    notice = slack.wait_for("chat.postEphemeral")[0]
    assert notice.args["user"] == OTHER_REP
    assert "Only" in notice.args["text"] and f"<@{DECIDER}>" in notice.args["text"]
    bot.wait_idle()
    assert slack.calls_to("views.open") == [] and decisions_in(db) == []


def test_a_forged_submission_from_a_non_decider_changes_nothing(bot, slack, db):
    card = file_request(bot, slack)
    view = open_decision_modal(bot, slack, card)
    values = {"decision_status": "declined", "rationale": "Too niche"}
    forged_form = submit(bot, view, OTHER_REP, values).json()
    assert forged_form["response_action"] == "errors"
    assert "Only" in forged_form["errors"]["decision_status"]
    answer = submit(bot, view, DECIDER, values).json()
    preview = {**answer["view"], "id": view["id"]}
    slack.reset()
    forged = submit(bot, preview, OTHER_REP, {"reply_text": "Declined, sorry"}).json()
    assert forged["response_action"] == "errors" and "Only" in forged["errors"]["reply_text"]
    bot.wait_idle()
    assert decisions_in(db) == [] and slack.calls_to("chat.postMessage") == []
    assert request_in(db).status == RequestStatus.NEW
    assert int(button_value(card, Action.DECIDE)) == 1


@pytest.mark.parametrize("settings_overrides",
                         [{"REQUESTBOT_DECIDERS": "U0PM00001,S0PMS0001"}])
def test_members_of_a_decider_user_group_can_decide(bot, slack, db):
    slack.set_usergroup("S0PMS0001", ["U0PM00007"])
    slack.set_user("U0PM00007", tz=DECIDER_TZ)
    card = file_request(bot, slack)
    decide(bot, slack, card, {"decision_status": "declined", "rationale": "Too niche"},
           user="U0PM00007")
    assert slack.calls_to("usergroups.users.list")[0].args["usergroup"] == "S0PMS0001"
    [decision] = decisions_in(db)
    assert decision.decided_by == "U0PM00007" and decision.status == "declined"
    slack.reset()
    press(bot, Action.DECIDE, card, user=OTHER_REP)
    notice = slack.wait_for("chat.postEphemeral")[0]
    assert "<!subteam^S0PMS0001>" in notice.args["text"]


@pytest.mark.parametrize("settings_overrides",
                         [{"REQUESTBOT_DECIDERS": "U0PM00001,S0PMS0001"}])
def test_a_group_decider_submits_without_a_web_api_call_before_the_ack(bot, slack, db):
    """The modal was opened after the check; the group cache may have expired (or the
    submission reached another replica) by the time the decider submits it."""
    slack.set_usergroup("S0PMS0001", ["U0PM00007"])
    card = file_request(bot, slack)
    view = open_decision_modal(bot, slack, card, "U0PM00007")
    bot.deps.deciders._cache.clear()
    slack.reset()
    answer = submit(bot, view, "U0PM00007", {"decision_status": "declined",
                                             "rationale": "Too niche"}).json()
    preview = {**answer["view"], "id": view["id"]}
    response = submit(bot, preview, "U0PM00007", {"reply_text": "Declined: too niche."})
    assert response.status_code == 200 and response.text == ""
    bot.wait_idle()
    assert slack.calls_to("usergroups.users.list") == []
    assert decisions_in(db)[0].decided_by == "U0PM00007"


@pytest.mark.parametrize("settings_overrides",
                         [{"REQUESTBOT_DECIDERS": "U0PM00001,S0PMS0001"}])
def test_someone_else_submitting_a_deciders_modal_is_checked(bot, slack, db):
    slack.set_usergroup("S0PMS0001", ["U0PM00007"])
    card = file_request(bot, slack)
    view = open_decision_modal(bot, slack, card, "U0PM00007")
    answer = submit(bot, view, OTHER_REP, {"decision_status": "declined",
                                           "rationale": "Too niche"}).json()
    assert answer["response_action"] == "errors"
    assert "<!subteam^S0PMS0001>" in json.dumps(answer["errors"])
    assert decisions_in(db) == []


@pytest.mark.parametrize("settings_overrides", [{"REQUESTBOT_DECIDERS": ""}])
def test_with_no_deciders_nobody_may_decide_and_the_card_says_so(bot, slack, db):
    card = file_request(bot, slack)
    assert "No deciders are configured" in json.dumps(card["blocks"])
    slack.reset()
    press(bot, Action.DECIDE, card, user=DECIDER)
    notice = slack.wait_for("chat.postEphemeral")[0]
    assert "REQUESTBOT_DECIDERS" in notice.args["text"]
    bot.wait_idle()
    assert slack.calls_to("views.open") == []


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"decision_status": "planned", "rationale": "Fits"}, "timeline", "Planned needs a timeline"),
    ({"decision_status": "planned", "timeline": "when we get to it"}, "timeline", "can't read"),
    ({"decision_status": "declined"}, "rationale", "rationale"),
    ({"decision_status": "needs_info", "needed_info": "Which formats?"}, "rationale",
     "rationale"),
    ({"decision_status": "needs_info", "rationale": "Unclear scope"}, "needed_info",
     "what is needed"),
    ({"decision_status": "under_review", "revisit_on": "TODAY"}, "revisit_on", "future"),
    ({"decision_status": "under_review", "revisit_on": "2020-01-01"}, "revisit_on", "future"),
    ({"decision_status": "declined", "rationale": "No", "reopen_revenue": "lots"},
     "reopen_revenue", "amount"),
])
def test_the_decision_modal_enforces_a_clear_answer(bot, slack, db, values, field, words):
    card = file_request(bot, slack)
    view = open_decision_modal(bot, slack, card)
    if values.get("revisit_on") == "TODAY":
        values = {**values, "revisit_on": datetime.now(ZoneInfo(DECIDER_TZ)).date().isoformat()}
    answer = submit(bot, view, DECIDER, values).json()
    assert answer["response_action"] == "errors"
    assert words in answer["errors"][field]
    assert decisions_in(db) == []


def test_the_revisit_date_is_read_in_the_deciders_time_zone(bot, slack, db, clock):
    # 23:30 UTC is already the next day in Tokyo: "tomorrow" in UTC is not in the future there.
    clock.current = datetime(2030, 1, 10, 23, 30, tzinfo=UTC)
    slack.set_user(DECIDER, tz="Asia/Tokyo")
    card = file_request(bot, slack)
    view = open_decision_modal(bot, slack, card)
    answer = submit(bot, view, DECIDER, {"decision_status": "under_review",
                                         "revisit_on": "2030-01-11"}).json()
    assert answer["response_action"] == "errors" and "revisit_on" in answer["errors"]
    answer = submit(bot, view, DECIDER, {"decision_status": "under_review",
                                         "revisit_on": "2030-01-12"}).json()
    assert answer["response_action"] == "update"


def test_changing_a_decision_posts_what_changed(bot, slack, db, clock):
    card = file_request(bot, slack)
    decide(bot, slack, card, {"decision_status": "declined", "rationale": "Too niche for now"})
    decide(bot, slack, card, {"decision_status": "planned", "timeline": "Q3 2030",
                              "rationale": "Three more customers asked"})
    first, second = thread_replies(slack, card["ts"])
    assert "Declined" in first.args["text"]
    assert "Changed from Declined to Planned (Q3 2030)" in second.args["text"]
    assert [d.status for d in decisions_in(db)] == ["declined", "planned"]
    assert request_in(db).status == RequestStatus.PLANNED
    assert "Declined" in all_text(slack.calls_to("chat.update")[-1])  # updated a moment ago
    clock.advance(seconds=2)  # a card is updated at most every two seconds
    bot.deliver_outbox()
    assert "Planned (Q3 2030)" in all_text(slack.calls_to("chat.update")[-1])


def test_the_decision_reaches_every_merged_thread(bot, slack, db, clock):
    card = file_request(bot, slack)
    with db.sessions.begin() as session:
        for n, rep in ((1, OTHER_REP), (2, "U0REP0003")):
            session.add(Request(team_id="T0TEAM001", title=f"CSV export {n}", source="command",
                                requested_by=rep, status=RequestStatus.MERGED,
                                duplicate_of_id=1, channel_id="C0OTHER01",
                                thread_ts=f"1700009999.00000{n}", created_at=clock.now(),
                                updated_at=clock.now()))
    decide(bot, slack, card, {"decision_status": "planned", "timeline": "Q4 2030"})
    main = thread_replies(slack, card["ts"])
    assert len(main) == 1
    for n, rep in ((1, OTHER_REP), (2, "U0REP0003")):
        [reply] = thread_replies(slack, f"1700009999.00000{n}")
        assert reply.args["channel"] == "C0OTHER01"
        assert f"<@{rep}>" in reply.args["text"] and "Planned (Q4 2030)" in reply.args["text"]
        assert "was merged into it" in reply.args["text"]
    assert decisions_in(db)[0].evidence["threads"] == 3


# -- Slack failures ----------------------------------------------------------------------
def test_a_rate_limited_reply_is_stored_and_retried(bot, slack, db, clock):
    card = file_request(bot, slack)
    slack.reset()
    slack.rate_limit("chat.postMessage", retry_after=1, times=2)
    decide(bot, slack, card, {"decision_status": "declined", "rationale": "Too niche"})
    assert len(decisions_in(db)) == 1
    assert thread_replies(slack, card["ts"]) == []
    clock.advance(seconds=30)
    bot.deliver_outbox()
    [reply] = thread_replies(slack, card["ts"])
    assert "Too niche" in reply.args["text"]
    clock.advance(seconds=30)
    bot.deliver_outbox()
    assert len(thread_replies(slack, card["ts"])) == 1  # never sent twice


def test_a_server_error_on_the_card_update_is_retried(bot, slack, db, clock):
    card = file_request(bot, slack)
    slack.server_error("chat.update")  # queued calls leave a 5xx to their row's backoff
    decide(bot, slack, card, {"decision_status": "declined", "rationale": "Too niche"})
    assert decisions_in(db)[0].status == "declined"
    clock.advance(seconds=30)
    bot.deliver_outbox()
    assert "Declined" in all_text(slack.calls_to("chat.update")[-1])
    assert slack.calls_to("chat.update")[-1].status == 200


def test_a_thread_that_is_gone_loses_no_decision(bot, slack, db, clock):
    card = file_request(bot, slack)
    with db.sessions.begin() as session:
        session.add(Request(team_id="T0TEAM001", title="CSV export", source="command",
                            requested_by=OTHER_REP, status=RequestStatus.MERGED,
                            duplicate_of_id=1, channel_id="C0GONE001",
                            thread_ts="1700009999.000001", created_at=clock.now(),
                            updated_at=clock.now()))
    slack.reset()
    # the decided request's own thread, the merged request's thread (posts to different
    # conversations go side by side, in no set order); and an old card
    slack.fail("chat.postMessage", "channel_not_found", channel=CHANNEL)
    slack.fail("chat.postMessage", "not_in_channel", channel="C0GONE001")
    slack.fail("chat.update", "message_not_found")
    decide(bot, slack, card, {"decision_status": "declined", "rationale": "Too niche"})
    refused = {c.args["channel"]: c.response.get("error")
               for c in slack.calls_to("chat.postMessage") if not c.response.get("ok")}
    assert refused == {CHANNEL: "channel_not_found", "C0GONE001": "not_in_channel"}
    clock.advance(seconds=5)
    bot.deliver_outbox()
    bot.wait_idle()
    assert decisions_in(db)[0].status == "declined"
    assert request_in(db).status == RequestStatus.DECLINED
    dms = {c.args["channel"] for c in slack.calls_to("chat.postMessage")
           if c.args["channel"] in (REP, OTHER_REP) and c.status == 200}
    assert dms == {REP, OTHER_REP}  # both reps still hear of it


# -- deciding in the thread ----------------------------------------------------------------
def test_a_decider_decides_in_the_thread_in_words(bot, slack, db):
    card = file_request(bot, slack)
    slack.reset()
    response = mention(bot, "planned for Q3 2030: fits the platform theme", card["ts"],
                       event_id="Ev0DECIDE01")
    assert response.status_code == 200
    mention(bot, "planned for Q3 2030: fits the platform theme", card["ts"],
            event_id="Ev0DECIDE01", retry_num=1)
    bot.wait_idle()
    [reply] = thread_replies(slack, card["ts"])
    assert f"<@{REP}>" in reply.args["text"] and "Planned (Q3 2030)" in reply.args["text"]
    assert "fits the platform theme" in reply.args["text"]
    [decision] = decisions_in(db)
    assert (decision.status, decision.timeline, decision.rationale) == (
        "planned", "Q3 2030", "fits the platform theme")


def test_a_decision_in_words_with_a_revisit_schedules_the_reminder(bot, slack, db):
    card = file_request(bot, slack)
    mention(bot, "declined: too niche for now, revisit in March", card["ts"])
    bot.wait_idle()
    [decision] = decisions_in(db)
    assert decision.status == "declined" and decision.rationale == "too niche for now"
    with db.sessions() as session:
        [reminder] = session.scalars(select(Reminder).where(Reminder.kind == "revisit")).all()
    local = reminder.due_at.astimezone(ZoneInfo(DECIDER_TZ))
    assert (local.month, local.day, local.hour, local.minute) == (3, 1, 9, 0)


def test_an_incomplete_decision_in_words_offers_the_prefilled_modal(bot, slack, db):
    card = file_request(bot, slack)
    slack.reset()
    mention(bot, "declined", card["ts"])
    offer = slack.wait_for("chat.postMessage")[0]
    assert offer.args["thread_ts"] == card["ts"] and "rationale" in offer.args["text"]
    bot.wait_idle()
    assert decisions_in(db) == []
    offer_message = offer.response["message"]
    bot.action(Action.OPEN_DECISION_FROM_THREAD, DECIDER,
               value=button(offer, "Decide")["value"], channel_id=CHANNEL, message=offer_message)
    view = opened_view(slack)
    assert view["callback_id"] == Callback.DECISION_MODAL
    assert initial_values(view)["decision_status"] == "declined"


def test_a_mention_that_is_not_a_decision_offers_the_modal(bot, slack, db):
    card = file_request(bot, slack)
    slack.reset()
    mention(bot, "what do you think?", card["ts"])
    offer = slack.wait_for("chat.postMessage")[0]
    assert "didn't catch a decision" in offer.args["text"]
    assert button(offer, "Decide")["action_id"] == Action.OPEN_DECISION_FROM_THREAD
    bot.wait_idle()
    assert decisions_in(db) == []


def test_a_non_decider_mention_decides_nothing(bot, slack, db):
    card = file_request(bot, slack)
    slack.reset()
    mention(bot, "planned for Q3 2030: we need it", card["ts"], user=OTHER_REP)
    note = slack.wait_for("chat.postMessage")[0]
    assert note.args["thread_ts"] == card["ts"] and "Only" in note.args["text"]
    bot.wait_idle()
    assert decisions_in(db) == [] and request_in(db).status == RequestStatus.NEW


def test_a_mention_outside_a_request_thread_gets_help(bot, slack, db):
    slack.reset()
    bot.event(app_mention_event(CHANNEL, REP, f"<@{BOT_USER_ID}> hello", ts="1700005555.000100"))
    reply = slack.wait_for("chat.postMessage")[0]
    assert reply.args["thread_ts"] == "1700005555.000100" and "/request" in reply.args["text"]


# -- history, calls, more info -------------------------------------------------------------
def test_history_lists_every_decision_in_the_viewers_time_zone(bot, slack, db, clock):
    clock.current = datetime(2030, 1, 10, 15, 0, tzinfo=UTC)
    card = file_request(bot, slack)
    mention(bot, "declined: too niche for now", card["ts"])
    bot.wait_idle()
    clock.advance(days=2)
    mention(bot, "planned for Q3 2030: three more customers", card["ts"])
    bot.wait_idle()
    slack.set_user(OTHER_REP, tz="Asia/Tokyo")
    count = len(slack.calls_to("views.open")) + 1
    press(bot, Action.SHOW_HISTORY, card, user=OTHER_REP)
    view = opened_view(slack, count=count)
    shown = json.dumps(view["blocks"])
    assert shown.index("Planned (Q3 2030)") < shown.index("Declined")
    assert "too niche for now" in shown and f"<@{DECIDER}>" in shown
    assert "Jan 11, 2030 00:00 JST" in shown and "Jan 13, 2030 00:00 JST" in shown


def test_a_decider_asks_the_rep_to_set_up_a_customer_call(bot, slack, db):
    card = file_request(bot, slack, customers="Acme, Globex")
    slack.reset()
    press(bot, Action.TALK_TO_CUSTOMER, card)
    note = slack.wait_for("chat.postMessage")[0]
    assert note.args["thread_ts"] == card["ts"]
    assert f"<@{REP}>" in note.args["text"] and "Acme, Globex" in note.args["text"]
    bot.wait_idle()
    with db.sessions() as session:
        assert "asked_for_call" in session.scalars(select(Activity.action)).all()
    slack.reset()
    press(bot, Action.TALK_TO_CUSTOMER, card, user=OTHER_REP)
    assert "Only" in slack.wait_for("chat.postEphemeral")[0].args["text"]
    bot.wait_idle()
    assert slack.calls_to("chat.postMessage") == []


def test_an_answer_to_needs_more_info_reaches_the_decider(bot, slack, db):
    card = file_request(bot, slack)
    decide(bot, slack, card, {"decision_status": "needs_info", "rationale": "Scope unclear",
                              "needed_info": "How many customers, and the revenue at stake?"})
    assert request_in(db).status == RequestStatus.NEEDS_INFO
    [reply] = thread_replies(slack, card["ts"])
    assert "How many customers, and the revenue at stake?" in reply.args["text"]
    slack.reset()
    bot.event(message_event(CHANNEL, REP, "4 customers, about $75k ARR", thread_ts=card["ts"]))
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c.args["channel"] == DECIDER)[0]
    assert f"<@{REP}>" in dm.args["text"] and "Needs more info" in dm.args["text"]
    bot.wait_idle()
