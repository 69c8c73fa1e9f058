"""Several sweeps at once (replicas, a cron job beside `serve`) send each reminder once."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.collector import BATCH_YOUNG_COLLECTION
from bot.reminders.store import (
    CLAIMED_ELSEWHERE,
    JUST_SENT,
    claim_batch,
    claim_due,
    left_to_other_sweeps,
    record_all_sent,
)
from bot.reminders.sweep import Pacer, sweep
from bot.services.requests import Origin, RequestDraft
from bot.services.requests import file_request as file_one
from models import Reminder, ReminderKind, RequestSource
from tests.harness import (
    BOT_TOKEN,
    DECIDER,
    REP,
    REQUESTBOT,
    REQUESTBOT_REPORTING_COLLECTOR,
    TEAM_ID,
    Clock,
    collector_settings,
)
from tests.reminders.helpers import dms_to, file_request, reminders

RECIPIENTS = [f"U0CONC{n:04d}" for n in range(24)]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """These sweeps read the real clock: on a weekend in the recipients' time zone quiet
    weekends would hold their reminders until Monday (as `run_due` below turns them off)."""
    return {"REQUESTBOT_QUIET_WEEKENDS": False}


@pytest.fixture
def clock():
    """Filed three days ago by the real clock, so `run-due` (which reads the real clock)
    finds the follow-up nudge due."""
    return Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3))


def many_due(db, request_id: int, people: list[str] = RECIPIENTS) -> None:
    """A reminder due for each of `people`, in that order (the information-arrived kind
    needs no setup); a person may come twice."""
    due = datetime.now(UTC) - timedelta(hours=1)
    with db.sessions.begin() as session:
        session.execute(insert(Reminder), [
            {"team_id": TEAM_ID, "kind": ReminderKind.INFO_ARRIVED, "request_id": request_id,
             "recipient": user, "due_at": due, "dedupe_key": f"test:{n}:{user}", "payload": {},
             "state": "pending", "attempts": 0, "created_at": due}
            for n, user in enumerate(people)
        ])


def filed_request(db, clock) -> int:
    """A request filed straight through the service, for tests without the bot."""
    with db.sessions.begin() as session:
        return file_one(session, team_id=TEAM_ID, user_id=REP,
                        draft=RequestDraft(title="Dark mode"),
                        origin=Origin(source=RequestSource.COMMAND, channel_id="C0SALES01"),
                        now=clock.now()).request_id


def run_due(slack, db, entry: list[str] = REQUESTBOT) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REQUESTBOT_"))},
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.base_url, "DATABASE_URL": db.url,
           "REQUESTBOT_DECIDERS": DECIDER, "REQUESTBOT_QUIET_WEEKENDS": "false",
           "REQUESTBOT_LOG_FORMAT": "text"}
    return subprocess.Popen([*entry, "reminders", "run-due"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> str:
    """What it wrote to stderr, once it has exited cleanly."""
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err


def sent_by(process: subprocess.Popen) -> int:
    return int(re.search(r"sent (\d+) reminder", finished(process)).group(1))


def test_run_due_sends_what_is_due_once_and_a_second_run_sends_nothing(bot, slack, db):
    file_request(bot, slack)
    bot.wait_idle()
    asked_who = len(slack.calls_to("auth.test"))
    err = finished(run_due(slack, db))
    assert "sent 1 reminder" in err
    assert "WARNING" not in err  # a healthy run leaves the admin nothing to worry about
    assert len(slack.calls_to("auth.test")) == asked_who  # it sends; it has no Bolt app to name
    [nudge] = dms_to(slack, REP, "still needs")
    assert nudge.token == BOT_TOKEN
    assert sent_by(run_due(slack, db)) == 0
    assert len(dms_to(slack, REP, "still needs")) == 1
    assert [r.state for r in reminders(db, "follow_up")] == ["sent"]


def test_run_due_collects_garbage_as_a_batch_does(bot, slack, db):
    """Startup's objects frozen out of the collector's scans and young collections rare
    (bot/collector.py): what a sweep's posts in flight held had set off full collections
    for a quarter of its CPU."""
    file_request(bot, slack)
    bot.wait_idle()
    err = finished(run_due(slack, db, REQUESTBOT_REPORTING_COLLECTOR))
    assert "sent 1 reminder" in err
    young, frozen = collector_settings(err)
    assert young == BATCH_YOUNG_COLLECTION
    assert frozen > 10_000  # what the imports and the runtime built


def test_two_run_due_processes_at_once_send_each_reminder_once(bot, slack, db):
    request_id = file_request(bot, slack)
    many_due(db, request_id)
    first, second = run_due(slack, db), run_due(slack, db)
    total = sent_by(first) + sent_by(second)
    assert total == len(RECIPIENTS) + 1  # and the requester's follow-up nudge
    for user in [*RECIPIENTS, REP]:
        assert len(dms_to(slack, user)) == 1, user


def test_two_sweeps_claiming_small_batches_side_by_side_send_each_once(bot, slack, db):
    request_id = file_request(bot, slack)
    many_due(db, request_id)
    bot.deps.now = lambda: datetime.now(UTC)

    async def both():
        return await asyncio.gather(sweep(bot.deps, Pacer(0.0), limit=3),
                                    sweep(bot.deps, Pacer(0.0), limit=3))

    reports = bot.run(both(), timeout=60)
    assert sum(r.sent for r in reports) == len(RECIPIENTS) + 1
    for user in RECIPIENTS:
        assert len(dms_to(slack, user)) == 1, user
    assert {r.state for r in reminders(db, "info_arrived")} == {"sent"}


def test_a_claimed_reminder_is_skipped_not_waited_for(db, clock):
    """Row locks: while one sweep holds its claim open, another skips those rows at once."""
    if db.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer, so a second claim "
                    "waits for the first transaction instead (covered by the tests above)")

    many_due(db, filed_request(db, clock))
    now = datetime.now(UTC)
    holder = db.sessions()
    holder.begin()
    held = claim_due(holder, worker="first", now=now, limit=10)
    assert len(held) == 10
    seen: list[int] = []

    def second_sweep() -> None:
        with db.sessions.begin() as session:
            seen.extend(c.id for c in claim_due(session, worker="second", now=now, limit=100))

    thread = threading.Thread(target=second_sweep)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the second claim waited for the first one's locks"
    holder.commit()
    holder.close()
    assert len(seen) == len(RECIPIENTS) - 10
    assert not set(seen) & {c.id for c in held}


def claim(db, worker: str, now: datetime, limit: int = 10) -> list[str]:
    claimed, _ = db.transaction(lambda s: claim_batch(s, worker=worker, now=now, limit=limit))
    return [c.recipient for c in claimed]


def test_a_sweep_leaves_the_people_another_is_sending_to_to_it(db, clock):
    """Posts to one person from two sweeps within a second draw Slack's 429s: while one
    sweep holds a person's reminder, or has just posted to them, the other passes over
    that person's next one, and the first sweep takes it itself."""
    first_person, second_person = RECIPIENTS[:2]
    many_due(db, filed_request(db, clock), [first_person, second_person, first_person])
    now = datetime.now(UTC)
    [held] = db.transaction(lambda s: claim_batch(s, worker="first", now=now, limit=1))[0]
    assert claim(db, "second", now) == [second_person]
    assert db.transaction(lambda s: left_to_other_sweeps(s, worker="second", now=now))

    db.transaction(lambda s: record_all_sent(s, [(held, {"channel": "D1", "ts": "1.0"})],
                                             now=now))
    just_after = now + JUST_SENT / 2
    assert claim(db, "second", just_after) == []
    assert claim(db, "first", just_after) == [first_person]
    assert not db.transaction(lambda s: left_to_other_sweeps(s, worker="second", now=just_after))


def test_a_person_is_free_again_once_the_other_sweep_is_done_or_gone(db, clock):
    first_person = RECIPIENTS[0]
    many_due(db, filed_request(db, clock), [first_person, first_person, first_person])
    now = datetime.now(UTC)
    [sent] = db.transaction(lambda s: claim_batch(s, worker="first", now=now, limit=1))[0]
    db.transaction(lambda s: record_all_sent(s, [(sent, {"channel": "D1", "ts": "1.0"})],
                                             now=now))
    assert claim(db, "second", now + JUST_SENT + timedelta(seconds=1), limit=1) == [first_person]
    # the second sweep dies holding its claim: the third waits only so long for it
    assert claim(db, "third", now + timedelta(seconds=5)) == []
    assert claim(db, "third", now + CLAIMED_ELSEWHERE + timedelta(seconds=5)) == [first_person]


def test_a_sweep_sends_what_it_passed_over_once_the_other_sweep_is_done(bot, slack, db, clock):
    """Not left for the next sweep: it claims again when the other's hold has passed."""
    person = RECIPIENTS[0]
    many_due(db, filed_request(db, clock), [person, person])
    bot.deps.now = lambda: datetime.now(UTC)
    now = datetime.now(UTC)
    [posted] = db.transaction(lambda s: claim_batch(s, worker="other", now=now, limit=1))[0]
    db.transaction(lambda s: record_all_sent(s, [(posted, {"channel": "D1", "ts": "1.0"})],
                                             now=now))
    report = bot.run(sweep(bot.deps, Pacer(0.0)), timeout=30)
    assert report.sent == 1
    assert len(dms_to(slack, person)) == 1
    assert {r.state for r in reminders(db, "info_arrived")} == {"sent"}
