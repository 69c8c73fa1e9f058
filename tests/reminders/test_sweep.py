"""The sweep against the Slack double: retries with backoff, giving up, pacing, claims
that expire, and quiet weekends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.reminders.store import CLAIM_TTL, MAX_ATTEMPTS, claim_due
from bot.reminders.sweep import Pacer, sweep
from models import Reminder, ReminderKind
from tests.harness import OTHER_REP, REP, TEAM_ID, Clock
from tests.reminders.helpers import dms_to, file_request, reminders, run_sweep, weekday_clock

THIRD_REP = "U0REP0003"


@pytest.fixture
def clock():
    return weekday_clock()


def nudges_due(bot, slack, clock, reps=(REP,)) -> None:
    """Files one request per rep and moves time past the follow-up nudge (48 hours)."""
    for rep in reps:
        file_request(bot, slack, f"Request from {rep}", user=rep)
    clock.advance(hours=49)


def test_a_rate_limited_reminder_waits_for_retry_after_then_goes_once(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    slack.rate_limit("chat.postMessage", retry_after=2)  # no inline retry: back to its row
    report = run_sweep(bot)
    assert (report.sent, report.retrying) == (0, 1)
    [reminder] = reminders(db, "follow_up")
    assert reminder.state == "pending" and reminder.last_error == "ratelimited"
    assert reminder.due_at == clock.now() + timedelta(seconds=2)

    assert run_sweep(bot).sent == 0  # not before Retry-After
    clock.advance(seconds=2)
    assert run_sweep(bot).sent == 1
    assert len([c for c in dms_to(slack, REP) if c.status == 200]) == 1
    [reminder] = reminders(db, "follow_up")
    assert reminder.state == "sent" and reminder.attempts == 1 and reminder.last_error is None


def test_a_reminder_rate_limited_again_and_again_is_never_given_up(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    slack.rate_limit("chat.postMessage", retry_after=1, times=MAX_ATTEMPTS + 2)
    for _ in range(MAX_ATTEMPTS + 2):
        assert run_sweep(bot).retrying == 1
        [reminder] = reminders(db, "follow_up")
        assert reminder.state == "pending" and reminder.attempts == 0
        clock.advance(seconds=1)
    assert run_sweep(bot).sent == 1
    assert len([c for c in dms_to(slack, REP) if c.status == 200]) == 1
    [reminder] = reminders(db, "follow_up")
    assert reminder.state == "sent" and reminder.attempts == 1


def test_a_server_error_is_retried_with_backoff(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    slack.server_error("chat.postMessage")  # no inline retry: back to its row, with backoff
    assert run_sweep(bot).retrying == 1
    [reminder] = reminders(db, "follow_up")
    assert reminder.last_error == "fatal_error"
    clock.advance(seconds=1)
    assert run_sweep(bot).sent == 1
    assert len([c for c in dms_to(slack, REP) if c.status == 200]) == 1


def test_a_reminder_that_keeps_failing_is_given_up_with_its_reason(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    slack.server_error("chat.postMessage", times=100)
    for _ in range(MAX_ATTEMPTS):
        run_sweep(bot)
        clock.advance(minutes=5)
    [reminder] = reminders(db, "follow_up")
    assert reminder.state == "failed" and reminder.attempts == MAX_ATTEMPTS
    assert reminder.last_error == f"gave up after {MAX_ATTEMPTS} attempts: fatal_error"
    assert run_sweep(bot).sent == 0
    metrics = bot.deps.metrics.render().decode()
    assert 'requestbot_reminders_total{kind="follow_up",outcome="failed"} 1.0' in metrics


def test_one_refused_reminder_does_not_stop_the_others(bot, slack, db, clock):
    nudges_due(bot, slack, clock, reps=(REP, OTHER_REP))
    slack.fail("chat.postMessage", "channel_not_found")
    report = run_sweep(bot)
    assert (report.sent, report.failed) == (1, 1)
    states = sorted((r.state, r.last_error) for r in reminders(db, "follow_up"))
    assert states == [("failed", "channel_not_found"), ("sent", None)]
    metrics = bot.deps.metrics.render().decode()
    assert 'requestbot_reminders_total{kind="follow_up",outcome="sent"} 1.0' in metrics
    assert 'requestbot_reminders_total{kind="follow_up",outcome="due"} 2.0' in metrics


def test_a_batch_is_paced_per_conversation_and_no_slower(bot, slack, db, clock):
    for n in range(3):
        file_request(bot, slack, f"Request {n}", user=REP)
    for rep in (OTHER_REP, THIRD_REP):
        file_request(bot, slack, f"Request from {rep}", user=rep)
    clock.advance(hours=49)
    assert run_sweep(bot, interval=1.0).sent == 5
    to_rep = sorted(c.at for c in dms_to(slack, REP, "still needs"))
    assert len(to_rep) == 3
    assert all(later - earlier >= 0.95 for earlier, later in zip(to_rep, to_rep[1:], strict=False))
    others = [c.at for rep in (OTHER_REP, THIRD_REP) for c in dms_to(slack, rep, "still needs")]
    assert len(others) == 2 and max(others) - to_rep[0] < 0.9  # other people's DMs don't wait
    assert to_rep[-1] - to_rep[0] < 2.9


def test_a_claim_left_by_a_dead_sweep_is_picked_up_after_it_expires(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    [claimed] = db.transaction(lambda s: claim_due(s, worker="dead-sweep", now=clock.now()))
    [reminder] = reminders(db, "follow_up")
    assert reminder.state == "claimed" and reminder.claimed_by == "dead-sweep"

    assert run_sweep(bot).sent == 0  # another sweep may still be sending it
    clock.advance(seconds=CLAIM_TTL.total_seconds() + 1)
    assert run_sweep(bot).sent == 1
    assert run_sweep(bot).sent == 0
    assert len(dms_to(slack, REP, "still needs")) == 1


@pytest.mark.parametrize("clock", [Clock(datetime(2030, 3, 7, 12, 0, tzinfo=UTC))])
def test_a_reminder_due_on_the_weekend_waits_for_monday_morning(bot, slack, db, clock):
    slack.set_user(REP, tz="America/New_York")
    nudges_due(bot, slack, clock)  # due Saturday 13:00 UTC
    assert run_sweep(bot).deferred == 1
    [reminder] = reminders(db, "follow_up")
    monday_nine_new_york = datetime(2030, 3, 11, 13, 0, tzinfo=UTC)
    assert reminder.state == "pending" and reminder.due_at == monday_nine_new_york
    assert reminder.attempts == 0

    clock.current = monday_nine_new_york - timedelta(minutes=1)
    assert run_sweep(bot).sent == 0
    clock.advance(minutes=2)
    assert run_sweep(bot).sent == 1


@pytest.mark.parametrize("clock", [Clock(datetime(2030, 3, 7, 12, 0, tzinfo=UTC))])
@pytest.mark.parametrize("settings_overrides", [{"REQUESTBOT_QUIET_WEEKENDS": "false"}])
def test_weekends_can_be_reminded_too(bot, slack, db, clock):
    nudges_due(bot, slack, clock)
    assert run_sweep(bot).sent == 1


def due_for(db, request_id: int, due_at: datetime, recipients: list[str], each: int = 1) -> None:
    """`each` reminders (the information-arrived kind needs no setup) due for each recipient."""
    with db.sessions.begin() as session:
        session.execute(insert(Reminder), [
            {"team_id": TEAM_ID, "kind": ReminderKind.INFO_ARRIVED, "request_id": request_id,
             "recipient": user, "due_at": due_at, "dedupe_key": f"test:{user}:{n}",
             "payload": {"text": f"note {n}"}, "state": "pending", "attempts": 0,
             "created_at": due_at}
            for n in range(each) for user in recipients
        ])


def test_a_backlog_over_a_thousand_goes_out_in_one_sweep_each_once(bot, slack, db, clock):
    request_id = file_request(bot, slack)
    people = [f"U0MANY{n:04d}" for n in range(600)]
    due_for(db, request_id, clock.now(), people, each=2)  # 1,200: the old cap was 1,000 a run
    report = bot.run(sweep(bot.deps, Pacer(1.0)), timeout=120)
    assert report.sent == 1200
    for person in people:
        assert len([c for c in dms_to(slack, person) if c.status == 200]) == 2, person
    assert {r.state for r in reminders(db, "info_arrived")} == {"sent"}
    assert run_sweep(bot).sent == 0


def test_a_rate_limited_person_holds_up_nobody_else_and_gets_theirs_in_the_same_sweep(
        bot, slack, db, clock):
    request_id = file_request(bot, slack)
    due_for(db, request_id, clock.now(), [REP, OTHER_REP])
    slack.rate_limit("chat.postMessage", retry_after=2, channel=REP)
    started, began = clock.now(), time.monotonic()
    bot.deps.now = lambda: started + timedelta(seconds=time.monotonic() - began)  # time passes
    report = run_sweep(bot)
    assert (report.sent, report.retrying) == (2, 1)
    refused, sent = dms_to(slack, REP)
    [other] = dms_to(slack, OTHER_REP)
    assert refused.status == 429 and other.status == 200 and other.at - refused.at < 0.5
    assert sent.status == 200 and sent.at - refused.at >= 2  # after Retry-After


def test_a_sweep_over_the_workspace_limit_slows_down_instead_of_retrying_every_post(
        bot, slack, db, clock):
    """Slack also limits posting across the workspace: 429s in several conversations hold
    every conversation and pace the rest of the sweep, so Slack sees few 429s, and every
    reminder still goes once in the same sweep."""
    request_id = file_request(bot, slack)
    people = [f"U0WIDE{n:04d}" for n in range(100)]
    due_for(db, request_id, clock.now(), people)
    slack.limit_posts(per_minute=1200, burst=10)  # 20 a second
    started, began = clock.now(), time.monotonic()
    bot.deps.now = lambda: started + timedelta(seconds=time.monotonic() - began)  # time passes
    report = bot.run(sweep(bot.deps, Pacer(1.0, concurrency=10)), timeout=60)
    assert report.sent == 100
    for person in people:
        assert len([c for c in dms_to(slack, person) if c.status == 200]) == 1, person
    refused = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert 0 < len(refused) <= 25, len(refused)  # one for every post before this (~240)
    assert {r.state for r in reminders(db, "info_arrived")} == {"sent"}
