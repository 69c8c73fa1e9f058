"""Work done after an ack: a listener stores a job in its short pre-ack transaction, acks,
and starts it. Under `requestbot serve` the job runs in the worker process (bot/worker.py),
which the operating system schedules below the one that acks, so heavy work never delays
an ack; elsewhere (tests, one-off commands) it runs in this process, right after the ack.
Either way the job's row goes in the same transaction as its work, so it is done once,
and a job that failed is tried again with backoff until it goes through. On SQLite,
`serve` stores jobs in an inbox file first (bot/inbox.py), which the worker takes them
from.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.db import Database
from bot.inbox import JobInbox, JobTableWriter
from bot.metrics import Metrics
from bot.services import jobs
from bot.services.jobs import ClaimedJob, JobTaken

log = logging.getLogger(__name__)

Sending = Awaitable[object] | None
Handler = Callable[[ClaimedJob], Awaitable[Sending]]
"""Does the job's work (its transaction finishes the job) and returns what is to be sent
to Slack because of it, not yet awaited: the runner sends it beside the next jobs, so
filing never waits for Slack's pace in a busy channel."""

CONCURRENT_JOBS = 8
FORGET_TAKEN_IN_SECONDS = 5.0  # how often the serving process tidies its inbox


class JobKind(StrEnum):
    FILE_REQUEST = "file_request"  # a submitted request modal
    FILE_REACTED_MESSAGE = "file_reacted_message"  # the capture emoji on a message
    STORE_BLOCKER_ANSWER = "store_blocker_answer"  # a follow-up question's button
    READ_THREAD_REPLY = "read_thread_reply"  # a rep's facts in a request's thread
    HANDLE_EVENT = "handle_event"  # an Events API event, acked on arrival (bot/events.py)


STORED_EVENT = "requestbot_stored_event"  # in the Bolt context of an event the worker replays


@dataclass
class StoredEvent:
    """An event the serving process stored as a job before its ack (bot/events.py), while
    the worker dispatches it. A listener's work needs no job of its own there: it runs as
    the event's job (`Jobs.submit_and_start`), whose row its transaction deletes, so a
    repeated dispatch does nothing twice and a failed one is tried again whole."""

    job: ClaimedJob
    taken: bool = False


class Jobs:
    def __init__(self, db: Database, now: Callable[[], datetime], worker: str,
                 concurrency: int = CONCURRENT_JOBS,
                 store_in: JobInbox | JobTableWriter | None = None,
                 take_from: JobInbox | None = None, metrics: Metrics | None = None) -> None:
        """Under `serve`, the serving process stores jobs through `store_in`: on SQLite an
        inbox, which the worker takes them from (`take_from`); on PostgreSQL the job
        table, on a connection of its own (bot/inbox.py)."""
        self.db = db
        self.store_in = store_in
        self.take_from = take_from
        self.metrics = metrics or Metrics()
        self.now = now
        self.worker = worker
        self.concurrency = concurrency
        self.handoff: Callable[[], None] | None = None  # wakes the worker process, if any
        self._handlers: dict[str, Handler] = {}
        self._running: asyncio.Task[int] | None = None
        self._again = False
        self._sending: set[asyncio.Task[object]] = set()
        self._forgotten_at = time.monotonic()
        self._forgetting: asyncio.Task[object] | None = None

    def handle(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def submit(self, team_id: str, kind: str, payload: dict[str, Any]) -> int:
        """Before the ack: the job stored in one short transaction (raises if it was not,
        so the listener can answer with an error and the user's input stays)."""
        if kind not in self._handlers:
            raise ValueError(f"no handler for job {kind!r}")
        if self.store_in is not None:
            return await self.store_in.store(team_id, kind, payload, self.now())
        return await self.db.run(
            lambda s: jobs.add(s, team_id=team_id, kind=kind, payload=payload, now=self.now()))

    async def submit_and_start(self, team_id: str, kind: str, payload: dict[str, Any],
                               context: Mapping[str, Any] | None = None) -> None:
        """A listener's work on an event Bolt acked before it ran: stored, then started. In
        the worker's replay of a stored event (`context` holds a StoredEvent), it runs at
        once as that event's job: no second job stored, claimed and finished."""
        stored = (context or {}).get(STORED_EVENT)
        if isinstance(stored, StoredEvent) and not stored.taken:
            stored.taken = True
            await self._run(replace(stored.job, kind=kind, payload=payload))
            return
        await self.start(await self.submit(team_id, kind, payload))

    async def start(self, job_id: int) -> None:
        """After the ack: the worker is told, or the job runs here and now."""
        if self.handoff is not None:
            self.handoff()
            self._forget_taken_in_now_and_then()
            return
        await self._run_claimed([job_id])

    async def run_due(self) -> int:
        """Runs due jobs until none is left; the number run. A call while a run is going
        makes that run look again rather than start a second one."""
        if self._running is not None and not self._running.done():
            self._again = True
            return 0
        self._running = asyncio.create_task(self._run_until_none())
        return await self._running

    async def _run_until_none(self) -> int:
        done = 0
        while True:
            self._again = False
            await self._take_in()
            ran = await self._run_claimed(None)
            done += ran
            if ran < self.concurrency and not self._again:
                return done

    async def _take_in(self) -> None:
        """The worker adds the jobs the serving process left in the inbox (SQLite)."""
        inbox = self.take_from
        if inbox is not None:
            await self.db.run_background(lambda s: jobs.take_in(s, inbox))

    async def _run_claimed(self, ids: Iterable[int] | None) -> int:
        claimed = await self.db.run_background(lambda s: jobs.claim(
            s, worker=self.worker, now=self.now(), ids=ids, limit=self.concurrency))
        await asyncio.gather(*(self._run(job) for job in claimed))
        return len(claimed)

    async def _run(self, job: ClaimedJob) -> None:
        handler = self._handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job {job.kind!r}")
            sending = await handler(job)
            if sending is not None:
                self._send(job, sending)
            self.metrics.jobs.labels(kind=job.kind, outcome="done").inc()
        except JobTaken:
            log.info("job done by another worker", extra={"job": job.id})
            self.metrics.jobs.labels(kind=job.kind, outcome="taken").inc()
        except Exception as error:  # noqa: BLE001 - the job is tried again later
            self.metrics.jobs.labels(kind=job.kind, outcome="failed").inc()
            log.exception("job failed; it will be tried again",
                          extra={"job": job.id, "kind": job.kind, "attempts": job.attempts})
            reason = f"{type(error).__name__}: {error}"
            try:
                await self.db.run_background(lambda s: jobs.fail(s, job, reason, self.now()))
            except Exception:  # noqa: BLE001 - its claim expires; the next worker retries
                log.exception("could not put the job back", extra={"job": job.id})

    def _forget_taken_in_now_and_then(self) -> None:
        """The serving process, the inbox's one writer, deletes what the worker took in."""
        if (not isinstance(self.store_in, JobInbox)
                or time.monotonic() - self._forgotten_at < FORGET_TAKEN_IN_SECONDS):
            return
        if self._forgetting is not None and not self._forgetting.done():
            return
        self._forgotten_at = time.monotonic()
        self._forgetting = asyncio.create_task(self.forget_taken_in())

    async def forget_taken_in(self) -> int:
        """Deletes the inbox jobs behind the worker's mark; the number deleted."""
        inbox = self.store_in
        if not isinstance(inbox, JobInbox):
            return 0
        try:
            mark = await self.db.run_read(lambda s: jobs.inbox_mark(s, inbox.generation))
            return inbox.forget_through(mark)
        except Exception:  # noqa: BLE001 - the rows stay behind the mark; the next try deletes them
            log.exception("could not tidy the job inbox")
            return 0

    async def sent(self) -> None:
        """Waits for what jobs are sending (a worker stopping lets it finish)."""
        while self._sending:
            await asyncio.gather(*self._sending)

    def _send(self, job: ClaimedJob, sending: Awaitable[object]) -> None:
        async def send() -> object:
            try:
                return await sending
            except Exception:  # noqa: BLE001 - the posts stay in the outbox for a retry
                log.exception("sending after a job failed", extra={"job": job.id})
                return None

        task = asyncio.create_task(send())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
