"""Reminders end to end: each kind filed over HTTP, time moved by the test, the sweep run,
and the message checked where Slack would show it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slack_ids import Action, Callback
from models import DecisionStatus, Request
from tests.flows.helpers import button, opened_view, posted, requests_in, submit
from tests.harness import CHANNEL, DECIDER, OTHER_REP, REP
from tests.reminders.helpers import (
    DECIDER_TZ,
    decide,
    dms_to,
    file_request,
    reminders,
    run_sweep,
    shown,
    weekday_clock,
)
from tests.slack.payloads import message_event

SECOND_DECIDER = "U0PM00002"
DIGEST_CHANNEL = "C0DIGEST1"


@pytest.fixture
def clock():
    return weekday_clock()


@pytest.fixture
def settings_overrides():
    return {"REQUESTBOT_DECIDERS": f"{DECIDER},S0PMS0001",
            "REQUESTBOT_DIGEST_CHANNEL": DIGEST_CHANNEL, "REQUESTBOT_DIGEST_DAY": "mon",
            "REQUESTBOT_DIGEST_HOUR": "9"}


@pytest.fixture(autouse=True)
def workspace(slack):
    slack.set_usergroup("S0PMS0001", [DECIDER, SECOND_DECIDER])
    slack.set_user(DECIDER, tz=DECIDER_TZ)


def reply(bot, text: str, request_id: int, user: str = REP):
    with bot.db.sessions() as session:
        thread = session.get(Request, request_id).thread_ts
    bot.event(message_event(CHANNEL, user, text, thread_ts=thread))
    bot.wait_idle()


def press(bot, dm, action_id: str, user: str = DECIDER):
    element = next(e for b in dm.args["blocks"] if b["type"] == "actions"
                   for e in b["elements"] if e["action_id"] == action_id)
    message = {**dm.response["message"], "ts": dm.response["ts"]}
    response = bot.action(action_id, user, value=element["value"],
                          channel_id=dm.response["channel"], message=message)
    assert response.status_code == 200
    bot.wait_idle()


def nine_berlin(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=ZoneInfo(DECIDER_TZ)).astimezone(UTC)


# -- revisit ------------------------------------------------------------------------------
def test_a_revisit_brings_the_decision_back_with_what_changed(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    revisit_on = date(2030, 4, 2)  # a Tuesday
    decide(bot, request_id, revisit_on=revisit_on, rationale="Too niche for now")
    reply(bot, "also Initech, $20k", request_id, user=OTHER_REP)  # +20%: not new evidence yet

    clock.current = nine_berlin(revisit_on) - timedelta(minutes=5)
    run_sweep(bot)
    assert dms_to(slack, DECIDER, "revisit") == []

    clock.advance(minutes=6)
    report = run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "revisit")
    seen = shown(dm)
    assert f"#{request_id} Bulk CSV export" in dm.args["text"]
    assert "Declined" in seen and "Too niche for now" in seen
    assert "Customers: 1 → 2 (new: Initech)" in seen
    assert "$100,000 → $120,000 (+20%)" in seen
    keep, change = button(dm, "Keep decision"), button(dm, "Change decision")
    assert keep["action_id"] == Action.KEEP_DECISION
    assert change["action_id"] == Action.DECIDE and change["value"] == str(request_id)
    for label in ("Snooze 1 week", "Snooze 1 month", "Stop reminders"):
        button(dm, label)
    note = slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get("thread_ts")
                          and "revisiting the decision" in c.args["text"])[0]
    assert note.args["channel"] == CHANNEL
    assert report.sent >= 1

    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "revisit")) == 1


def test_keep_decision_asks_for_the_next_revisit_date_and_schedules_it(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    decision_id = decide(bot, request_id, revisit_on=date(2030, 3, 12))
    clock.current = nine_berlin(date(2030, 3, 12)) + timedelta(minutes=1)
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "revisit")

    press(bot, dm, Action.KEEP_DECISION)
    view = opened_view(slack, count=len(slack.calls_to("views.open")))
    assert view["callback_id"] == Callback.KEEP_DECISION_MODAL
    past = submit(bot, view, DECIDER, {"revisit_on": "2030-03-01"})
    assert past.json()["response_action"] == "errors" and "future" in past.text
    kept = submit(bot, view, DECIDER, {"revisit_on": "2030-06-04"})
    assert kept.status_code == 200 and kept.text == ""
    bot.wait_idle()

    [pending] = [r for r in reminders(db, "revisit") if r.state == "pending"]
    assert pending.decision_id == decision_id and pending.recipient == DECIDER
    assert pending.due_at == nine_berlin(date(2030, 6, 4))
    update = slack.wait_for("chat.update", predicate=lambda c: "Kept by" in shown(c))[0]
    assert update.args["ts"] == dm.response["ts"]
    assert not any(b["type"] == "actions" for b in update.args["blocks"])


def test_change_decision_opens_the_decision_modal(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    decide(bot, request_id, revisit_on=date(2030, 3, 12))
    clock.current = nine_berlin(date(2030, 3, 12)) + timedelta(minutes=1)
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "revisit")
    press(bot, dm, Action.DECIDE)
    view = opened_view(slack, count=len(slack.calls_to("views.open")))
    assert view["callback_id"] == Callback.DECISION_MODAL
    assert str(request_id) in view["private_metadata"] + json.dumps(view["blocks"])


# -- new evidence -------------------------------------------------------------------------
def test_new_evidence_tells_the_decider_at_once_and_only_once(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    decide(bot, request_id, revisit_on=date(2030, 9, 3))

    reply(bot, "also Initech, $60k", request_id, user=OTHER_REP)  # +60%
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "New evidence")
    seen = shown(dm)
    assert "$100,000 → $160,000 (+60%)" in seen and "Initech" in seen
    assert button(dm, "Change decision")["value"] == str(request_id)

    reply(bot, "2 customers now", request_id)  # the same growth, told again in other words
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "New evidence")) == 1

    reply(bot, "also Globex, $5k, it blocks the deal", request_id, user=OTHER_REP)
    run_sweep(bot)
    second = dms_to(slack, DECIDER, "New evidence")[1]
    assert "Deal blockers and churn risks: 0 → 1" in shown(second)
    assert len(reminders(db, "new_evidence")) == 2


def test_reopen_conditions_raise_the_decision_before_the_default_threshold(bot, slack, db):
    from bot.money import Money

    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    decide(bot, request_id, revisit_on=date(2030, 9, 3),
           reopen_revenue=Money(110_000_00, "USD"))
    reply(bot, "also Initech, $15k", request_id, user=OTHER_REP)  # +15%, past $110k
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "New evidence")
    assert "$100,000 → $115,000 (+15%)" in shown(dm)


# -- stale --------------------------------------------------------------------------------
def test_an_undecided_request_is_raised_to_every_decider_then_again(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    clock.advance(days=13)
    run_sweep(bot)
    assert dms_to(slack, DECIDER, "waited") == []

    clock.advance(days=1, hours=1)
    run_sweep(bot)
    for decider in (DECIDER, SECOND_DECIDER):
        [dm] = dms_to(slack, decider, "waited 14 days")
        assert f"#{request_id}" in dm.args["text"]
        assert button(dm, "Decide")["value"] == str(request_id)
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "waited")) == 1

    clock.advance(days=14)
    run_sweep(bot)
    assert len(dms_to(slack, SECOND_DECIDER, "waited 28 days")) == 1
    clock.advance(days=14)
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "waited")) == 2


def test_a_decided_request_is_not_raised_as_stale(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    decide(bot, request_id, status=DecisionStatus.PLANNED, timeline="Q3 2030")
    clock.advance(days=15)
    run_sweep(bot)
    assert dms_to(slack, DECIDER, "waited") == []
    assert {r.state for r in reminders(db, "stale")} == {"cancelled"}


# -- follow-up ----------------------------------------------------------------------------
def test_an_unanswered_follow_up_nudges_the_requester_once(bot, slack, db, clock):
    request_id = file_request(bot, slack)
    assert posted(slack, "product needs to know")  # the question in the thread
    clock.advance(hours=47)
    run_sweep(bot)
    assert dms_to(slack, REP) == []

    clock.advance(hours=2)
    run_sweep(bot)
    [nudge] = dms_to(slack, REP, "still needs")
    assert "the revenue at stake" in nudge.args["text"]
    assert button(nudge, "Answer")["value"] == str(request_id)
    clock.advance(hours=49)
    run_sweep(bot)
    assert len(dms_to(slack, REP, "still needs")) == 1


def test_an_answered_follow_up_sends_no_nudge(bot, slack, db, clock):
    request_id = file_request(bot, slack)
    reply(bot, "4 customers, about $75k ARR, not a blocker", request_id)
    clock.advance(hours=49)
    run_sweep(bot)
    assert dms_to(slack, REP, "still needs") == []
    assert [r.state for r in reminders(db, "follow_up")] == ["cancelled"]


# -- deal close ---------------------------------------------------------------------------
def test_a_blocked_deal_closing_soon_is_raised_with_the_revenue_at_risk(bot, slack, db, clock):
    close_on = (clock.now() + timedelta(days=10)).date()
    request_id = file_request(bot, slack, customers="Acme", revenue="$120k",
                              blocker="deal_blocker", deal_close_on=close_on.isoformat())
    clock.advance(days=2)
    run_sweep(bot)
    assert dms_to(slack, DECIDER, "closes") == []

    clock.advance(days=1, hours=1)  # seven days before the close date
    run_sweep(bot)
    for decider in (DECIDER, SECOND_DECIDER):
        [dm] = dms_to(slack, decider, "closes")
        assert "$120,000 at risk" in dm.args["text"] and "in 7 days" in dm.args["text"]
        assert f"#{request_id}" in dm.args["text"]


# -- digest -------------------------------------------------------------------------------
def test_the_weekly_digest_reaches_the_channel_and_the_reps_waited_on(bot, slack, db, clock):
    first = file_request(bot, slack, "Dark mode")
    second = file_request(bot, slack, "SSO with Okta", customers="Acme", revenue="$200k",
                          blocker="deal_blocker",
                          deal_close_on=(clock.now() + timedelta(days=20)).date().isoformat())
    done = file_request(bot, slack, "Audit log", user=OTHER_REP, customers="Initech",
                        revenue="$50k", blocker="none")
    decide(bot, done, status=DecisionStatus.PLANNED, timeline="Q2 2030")
    run_sweep(bot)  # plans the digest for Monday 9:00 UTC
    assert posted(slack, channel=DIGEST_CHANNEL) == []

    clock.current = datetime(2030, 3, 11, 9, 0, 30, tzinfo=UTC)
    run_sweep(bot)
    [digest] = posted(slack, channel=DIGEST_CHANNEL)
    seen = shown(digest)
    assert "3 new" in digest.args["text"] and "1 decided" in digest.args["text"]
    for expected in ("Top demand", "Decisions made", "Decisions due", "Revenue at risk",
                     "SSO with Okta", "$200,000", "Audit log"):
        assert expected in seen, expected
    [personal] = dms_to(slack, REP, "need information from you")
    assert personal.args["text"].startswith("2 requests")
    assert f"#{first}" in shown(personal) and f"#{second}" in shown(personal)
    assert dms_to(slack, OTHER_REP, "information from you") == []

    run_sweep(bot)
    assert len(posted(slack, channel=DIGEST_CHANNEL)) == 1


# -- snooze and stop ----------------------------------------------------------------------
def test_snooze_brings_the_reminder_back_a_week_later(bot, slack, db, clock):
    file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    clock.advance(days=14, hours=1)
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "waited")
    press(bot, dm, f"{Action.SNOOZE_REMINDER}_week")
    update = slack.wait_for("chat.update", predicate=lambda c: "Snoozed" in shown(c))[0]
    assert update.args["ts"] == dm.response["ts"]

    clock.advance(days=6)
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "waited")) == 1
    clock.advance(days=1, hours=1)
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "waited")) == 2
    assert len(dms_to(slack, SECOND_DECIDER, "waited")) == 1


def test_stop_ends_every_reminder_for_the_request(bot, slack, db, clock):
    request_id = file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    clock.advance(days=14, hours=1)
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "waited")
    press(bot, dm, Action.STOP_REMINDERS)
    with db.sessions() as session:
        assert session.get(Request, request_id).reminders_stopped
    clock.advance(days=30)
    run_sweep(bot)
    assert len(dms_to(slack, DECIDER, "waited")) == 1
    assert all(r.state != "pending" for r in reminders(db) if r.request_id == request_id)


def test_only_deciders_may_snooze_a_decider_reminder(bot, slack, db, clock):
    file_request(bot, slack, customers="Acme", revenue="$100k", blocker="none")
    clock.advance(days=14, hours=1)
    run_sweep(bot)
    [dm] = dms_to(slack, DECIDER, "waited")
    press(bot, dm, f"{Action.SNOOZE_REMINDER}_month", user=OTHER_REP)
    notice = slack.wait_for("chat.postEphemeral")[0]
    assert notice.args["user"] == OTHER_REP and "Only deciders" in notice.args["text"]
    assert not [r for r in reminders(db) if (r.dedupe_key or "").startswith("snooze:")]
    assert not requests_in(db)[0].reminders_stopped
