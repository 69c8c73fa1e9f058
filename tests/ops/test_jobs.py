"""Work after the ack: taken in as a job before it, done once after it, tried again when it
fails; under `requestbot serve`, in a worker process at a lower CPU priority."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

import bot.listeners.capture as capture
import bot.listeners.follow_up as follow_up
from bot.inbox import JobInbox, JobTableWriter
from bot.jobs import Jobs
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.services import jobs
from bot.services.jobs import CLAIM_TTL, JobTaken
from bot.worker import WORKER_NICE
from models import Job
from tests.flows.helpers import customer_names, opened_view, posted, requests_in, state_for
from tests.harness import CHANNEL, REP, TEAM_ID, wait_until
from tests.processes import worker_pids
from tests.slack.payloads import event_callback, message_event


def job_rows(db) -> list[Job]:
    with db.sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def submit_request(bot, slack, title: str):
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    return bot.submit_view(view["callback_id"], state_for(view, {"title": title}), REP,
                           private_metadata=view["private_metadata"], view=view)


def test_a_submission_whose_filing_fails_is_kept_and_filed_once_on_a_later_try(
    bot, slack, db, clock, monkeypatch
):
    file_new_request = capture.file_new_request
    monkeypatch.setattr(capture, "file_new_request", _fails_once(file_new_request))
    response = submit_request(bot, slack, "Bulk CSV export")
    assert response.status_code == 200 and response.content == b""  # acked: the modal closes
    bot.wait_idle()
    assert requests_in(db) == []
    [job] = job_rows(db)  # nothing lost: the submission waits for its next try
    assert job.attempts == 1 and "database hiccup" in job.last_error
    assert job.claimed_by is None and job.due_at > clock.now()

    assert bot.run(bot.deps.jobs.run_due()) == 0  # not due yet
    clock.advance(seconds=10)
    assert bot.run(bot.deps.jobs.run_due()) == 1
    bot.run(bot.deps.jobs.run_due())
    bot.wait_idle()
    [request] = requests_in(db)
    assert request.title == "Bulk CSV export" and request.requested_by == REP
    assert job_rows(db) == []
    assert len(posted(slack, channel=CHANNEL)) >= 1  # the card went out once filed


def _fails_once(real):
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup")
        return real(*args, **kwargs)

    return flaky


def test_a_job_another_worker_took_over_is_not_done_twice(db, clock):
    now = clock.now()
    job_id = db.transaction(lambda s: jobs.add(s, team_id=TEAM_ID, kind="file_request",
                                               payload={"n": 1}, now=now))
    [first] = db.transaction(lambda s: jobs.claim(s, worker="a", now=now))
    assert db.transaction(lambda s: jobs.claim(s, worker="b", now=now)) == []  # claimed
    later = now + CLAIM_TTL + timedelta(seconds=1)  # worker a died, or is very slow
    [second] = db.transaction(lambda s: jobs.claim(s, worker="b", now=later))
    assert (first.id, second.id) == (job_id, job_id) and second.attempts == 2
    db.transaction(lambda s: jobs.finish(s, second))
    with pytest.raises(JobTaken):
        db.transaction(lambda s: jobs.finish(s, first))  # its work rolls back
    assert job_rows(db) == []


def test_jobs_in_the_inbox_are_taken_in_once_and_tidied_behind_the_mark(db, clock, tmp_path):
    inbox = JobInbox(str(tmp_path / "requestbot.db-jobs"))
    queue = Jobs(db, clock.now, "serving", store_in=inbox)
    queue.handle("file_request", _never_run)
    first = [run(queue.submit(TEAM_ID, "file_request", {"n": n})) for n in (1, 2, 3)]
    assert db.transaction(lambda s: jobs.take_in(s, inbox)) == 3
    assert db.transaction(lambda s: jobs.take_in(s, inbox)) == 0  # the mark moved with them
    assert [row.payload for row in job_rows(db)] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert {row.due_at for row in job_rows(db)} == {clock.now()}

    fourth = run(queue.submit(TEAM_ID, "file_request", {"n": 4}))  # not taken in yet
    assert run(queue.forget_taken_in()) == 3
    assert [job.id for job in inbox.after(0)] == [fourth]
    fifth = run(queue.submit(TEAM_ID, "file_request", {"n": 5}))
    assert fifth > fourth > max(first)  # ids are never used again
    assert db.transaction(lambda s: jobs.take_in(s, inbox)) == 2
    assert run(queue.forget_taken_in()) == 2 and inbox.after(0) == []
    run(inbox.close())

    for path in tmp_path.glob("requestbot.db-jobs*"):  # a new inbox: counted from its start
        path.unlink()
    renewed = JobInbox(str(tmp_path / "requestbot.db-jobs"))
    assert renewed.generation != inbox.generation
    run(renewed.store(TEAM_ID, "file_request", {"n": 6}, clock.now()))
    assert db.transaction(lambda s: jobs.take_in(s, renewed)) == 1
    assert [row.payload["n"] for row in job_rows(db)] == [1, 2, 3, 4, 5, 6]
    run(renewed.close())


def test_on_postgresql_jobs_are_stored_on_a_kept_connection_that_survives_a_restart(db, clock):
    if db.dialect != "postgresql":
        pytest.skip("the job table writer is PostgreSQL's (SQLite has the inbox file)")
    writer = JobTableWriter(db.engine)

    async def store_around_a_restart() -> list[int]:
        try:
            first = await writer.store(TEAM_ID, "file_request", {"title": "Dark mode"},
                                       clock.now())
            backend = writer._connection.info.backend_pid  # dropped, as on a restart
            await asyncio.to_thread(db.transaction, lambda s: s.execute(
                text(f"SELECT pg_terminate_backend({backend})")))
            second = await writer.store(TEAM_ID, "file_request", {"title": "SSO"}, clock.now())
            together = await asyncio.gather(*(
                writer.store(TEAM_ID, "file_request", {"n": n}, clock.now()) for n in range(3)))
            return [first, second, *together]
        finally:
            await writer.close()

    ids = run(store_around_a_restart())
    assert [(row.id, row.payload, row.due_at) for row in job_rows(db)] == list(zip(
        ids, [{"title": "Dark mode"}, {"title": "SSO"}, {"n": 0}, {"n": 1}, {"n": 2}],
        [clock.now()] * 5, strict=True))


def test_jobs_stored_together_share_one_transaction_and_its_outcome(db, clock, tmp_path):
    inbox = CountingInbox(str(tmp_path / "requestbot.db-jobs"))

    async def burst(n: int) -> list[int]:
        return await asyncio.gather(*(inbox.store(TEAM_ID, "file_request", {"n": i}, clock.now())
                                      for i in range(n)))

    try:
        ids = run(burst(50))
        assert len(set(ids)) == 50
        assert [job.payload["n"] for job in inbox.after(0)] == list(range(50))
        assert [job.id for job in inbox.after(0)] == ids  # each ack got its own job's id
        assert 1 <= len(inbox.batches) < 50 and sum(inbox.batches) == 50

        inbox.failing = True  # the disk is full, say: every ack waiting on it hears so
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            run(burst(5))
        inbox.failing = False
        assert len(inbox.after(0)) == 50
        assert run(inbox.store(TEAM_ID, "file_request", {"n": 50}, clock.now())) > max(ids)
    finally:
        run(inbox.close())


def test_an_ack_that_gives_up_leaves_its_job_stored_and_the_writer_working(clock, tmp_path):
    """An ack cancelled while its job was being written (its client gone, say): the job is
    stored all the same, a store that came meanwhile is written next, and closing the inbox
    waits for a write still going."""
    inbox = CountingInbox(str(tmp_path / "requestbot.db-jobs"))

    async def give_up_then_store() -> int:
        inbox.pause = 0.3
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(inbox.store(TEAM_ID, "file_request", {"n": 1}, clock.now()),
                                   0.05)
        inbox.pause = 0
        return await asyncio.wait_for(
            inbox.store(TEAM_ID, "file_request", {"n": 2}, clock.now()), 5)

    async def give_up_then_close() -> None:
        inbox.pause = 0.2
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(inbox.store(TEAM_ID, "file_request", {"n": 3}, clock.now()),
                                   0.05)
        await inbox.close()

    assert run(give_up_then_store()) == 2
    assert inbox.batches == [1, 1]
    run(give_up_then_close())
    assert [job.payload["n"] for job in inbox.after(0)] == [1, 2, 3]
    inbox.engine.dispose()


class CountingInbox(JobInbox):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.batches: list[int] = []
        self.failing = False
        self.pause = 0.0

    async def _write(self, rows):
        await asyncio.sleep(self.pause)
        if self.failing:
            raise sqlite3.OperationalError("database or disk is full")
        self.batches.append(len(rows))
        return await super()._write(rows)


def test_the_inbox_lives_beside_a_sqlite_database_file_only():
    assert JobInbox.path_beside("sqlite:////var/lib/requestbot/requestbot.db") == (
        "/var/lib/requestbot/requestbot.db-jobs")
    assert JobInbox.path_beside("sqlite://") is None
    assert JobInbox.path_beside("sqlite:///:memory:") is None
    assert JobInbox.path_beside("postgresql://postgres@127.0.0.1/test") is None


async def _never_run(job):
    raise AssertionError("only taken in here")


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_failed_job_waits_longer_after_each_try(db, clock):
    now = clock.now()
    db.transaction(lambda s: jobs.add(s, team_id=TEAM_ID, kind="k", payload={}, now=now))
    waits = []
    for _ in range(3):
        [job] = db.transaction(lambda s, now=now: jobs.claim(s, worker="a", now=now))
        db.transaction(lambda s, job=job, now=now: jobs.fail(s, job, "boom", now))
        [row] = job_rows(db)
        waits.append(row.due_at - now)
        now = row.due_at
    assert waits == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]


def test_the_worker_counts_add_to_the_served_metrics(tmp_path):
    serving, worker = Metrics(), Metrics()
    serving.web_api_calls.labels(method="views.open", outcome="ok").inc()
    worker.web_api_calls.labels(method="chat.postMessage", outcome="ok").inc(3)
    worker.web_api_calls.labels(method="views.open", outcome="ok").inc()
    serving.worker_snapshot = tmp_path / "worker.prom"
    assert b"chat.postMessage" not in serving.render()  # no snapshot yet
    worker.save(serving.worker_snapshot)
    text = serving.render().decode()
    assert 'requestbot_web_api_calls_total{method="views.open",outcome="ok"} 2.0' in text
    assert 'requestbot_web_api_calls_total{method="chat.postMessage",outcome="ok"} 3.0' in text
    assert text.count("# HELP requestbot_web_api_calls_total") == 1


def test_served_submissions_are_filed_by_a_lower_priority_worker_that_is_restarted(
    served_bot, slack, db
):
    nice = WORKER_NICE
    [worker] = wait_until(lambda: worker_pids(served_bot.process.pid))
    wait_until(lambda: os.getpriority(os.PRIO_PROCESS, worker) == nice)  # set once started
    assert os.getpriority(os.PRIO_PROCESS, served_bot.process.pid) == 0
    response = submit_request(served_bot, slack, "Bulk CSV export")
    assert response.status_code == 200 and response.content == b""
    wait_until(lambda: posted(slack, "Bulk CSV export", channel=CHANNEL))
    assert [r.title for r in requests_in(db)] == ["Bulk CSV export"]
    assert wait_until(lambda: job_rows(db) == [])
    inbox = JobInbox.path_beside(db.url)
    assert (inbox is not None) == (db.dialect == "sqlite")  # on SQLite the jobs came through it
    if inbox is not None:
        assert Path(inbox).exists()

    os.kill(worker, signal.SIGKILL)  # the worker dies; the serving process starts another
    [restarted] = wait_until(
        lambda: [p for p in worker_pids(served_bot.process.pid) if p != worker])
    wait_until(lambda: os.getpriority(os.PRIO_PROCESS, restarted) == nice)
    slack.reset()
    submit_request(served_bot, slack, "SSO with Okta")
    wait_until(lambda: posted(slack, "SSO with Okta", channel=CHANNEL))  # its card
    assert sorted(r.title for r in requests_in(db)) == ["Bulk CSV export", "SSO with Okta"]
    assert "the worker process stopped" in served_bot.log()


def test_the_serving_process_starts_one_process_beside_it_its_worker(served_bot):
    """No resource tracker beside it (multiprocessing's spawn started one, 13 MB), and the
    worker's malloc keeps two arenas, not one per database thread."""
    serving = served_bot.process.pid
    [worker] = wait_until(lambda: worker_pids(serving))
    time.sleep(0.5)  # a process started alongside the worker would be there by now
    children = Path(f"/proc/{serving}/task/{serving}/children").read_text().split()
    assert children == [str(worker)]
    environment = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=2" in environment


def test_jobs_are_done_without_waiting_for_what_they_send(db, clock):
    """A burst of submissions in one channel is filed at once; the posts follow at
    Slack's pace of one a second there."""
    runner = Jobs(db, clock.now, "worker-a")
    sent: list[int] = []

    async def slow_send(n: int) -> None:
        await asyncio.sleep(1.0)  # a card waiting for its turn in a busy channel
        sent.append(n)

    async def file(job) -> object:
        db.transaction(lambda s: jobs.finish(s, job))
        return slow_send(job.payload["n"])

    runner.handle("k", file)
    for n in range(20):
        db.transaction(lambda s, n=n: jobs.add(s, team_id=TEAM_ID, kind="k", payload={"n": n},
                                               now=clock.now()))

    async def burst() -> tuple[int, float]:
        started = time.monotonic()
        done = await runner.run_due()
        return done, time.monotonic() - started

    async def run_then_drain() -> tuple[int, float]:
        result = await burst()
        await runner.sent()
        return result

    done, seconds = asyncio.run(run_then_drain())
    assert done == 20 and seconds < 1.0  # 20 jobs, 8 at a time, none waited for a send
    assert job_rows(db) == [] and sorted(sent) == list(range(20))


def test_a_stored_thread_reply_is_read_as_its_event_job_once_even_after_a_failure(
    bot, slack, db, clock, settings, monkeypatch
):
    """The worker replays a stored event; the reply's facts are stored in the transaction
    that finishes the event's job (no second job), so a failure puts the event back whole
    and a delivery Slack repeated changes nothing."""
    submit_request(bot, slack, "Dark mode")
    [card] = wait_until(lambda: [c for c in posted(slack, channel=CHANNEL)
                                 if "Dark mode" in c.args["text"] and not c.args.get("thread_ts")])
    thread = card.response["ts"]
    bot.wait_idle()
    slack.reset()
    body, _ = event_callback(message_event(CHANNEL, REP, "also Initech, $20k ARR", thread_ts=thread),
                             event_id="Ev0REPLAY01")
    store = lambda s: jobs.add(s, team_id=TEAM_ID, kind="handle_event",  # noqa: E731
                               payload={"body": body}, now=clock.now())
    monkeypatch.setattr(follow_up, "store_answers", _fails_once(follow_up.store_answers))
    worker = Runtime(settings, db, now=clock.now, run_schedule=False, post_interval_seconds=0.0,
                     worker=True)

    async def replay(*, slack_sent_it_again: bool = False) -> int:
        if slack_sent_it_again:
            db.transaction(store)
        done = await worker.deps.jobs.run_due()
        await worker.deps.jobs.sent()
        return done

    async def in_the_worker() -> None:
        await worker.start()
        try:
            db.transaction(store)
            assert await replay() == 1
            [event_job] = job_rows(db)  # back, whole, for its next try; no job of its own
            assert event_job.kind == "handle_event" and event_job.attempts == 1
            assert "database hiccup" in event_job.last_error
            assert customer_names(db) == [] and posted(slack, thread_ts=thread) == []

            clock.advance(seconds=10)
            assert await replay() == 1
            assert job_rows(db) == [] and customer_names(db) == ["Initech"]
            [receipt] = posted(slack, thread_ts=thread)
            assert "Initech" in receipt.args["text"]

            assert await replay(slack_sent_it_again=True) == 1
            assert job_rows(db) == [] and customer_names(db) == ["Initech"]
            assert len(posted(slack, thread_ts=thread)) == 1
        finally:
            await worker.stop()

    asyncio.run(in_the_worker())
