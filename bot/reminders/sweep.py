"""The reminder sweep: `requestbot reminders run-due` runs it once, `serve` on a schedule.

Reminders are sent here directly rather than through the outbox: what a reminder needs
around the call (built from the data when it is sent, dropped when no longer relevant,
held over the recipient's weekend, given up after MAX_ATTEMPTS with the reason stored,
snoozed by its buttons) lives on the reminder row, and "sent" on that row means Slack
accepted the post. What a sent reminder leads to in a thread (the revisit note) is queued
in the outbox in the same transaction that marks the reminder sent.

Sending is paced to Slack's limits (bot/sending.py): about one chat.postMessage per second
per conversation, and every DM is its own conversation, so reminders to different people
go out together (up to CONCURRENT_CALLS in flight) and only posts to the same conversation
wait for each other. One sweep keeps claiming while reminders are due, for up to
SWEEP_SECONDS, so one `serve` tick or one `run-due` sends a whole backlog. Sweeps in other
processes (replicas, a `run-due` beside `serve`) keep their own people: a claim passes over
them, and claims again once they are free (bot/reminders/store.py CLAIMED_ELSEWHERE).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.reminders.digest import plan_digests
from bot.reminders.store import (
    CLAIM_TTL,
    JUST_SENT,
    Claimed,
    Unsent,
    build_messages,
    claim_batch,
    defer,
    expand,
    left_to_other_sweeps,
    record_all_sent,
    record_failure,
    settle_unsent,
)
from bot.sending import Batch, Drain, Pacer, Recorder
from bot.services.outbox import retry_delay
from bot.services.reminders import ReminderPolicy, after_weekend
from bot.slack_api import CallFailure, attempt, classify
from models import ReminderKind

log = logging.getLogger(__name__)

__all__ = ["Pacer", "Sweep", "SweepReport", "sweep"]

SWEEP_SECONDS = 240.0  # claiming stops after this, well before a claim expires (CLAIM_TTL)
HOLD_LIMIT = CLAIM_TTL.total_seconds() / 2  # a claim held longer is given back unsent
CLAIM_BATCH = 250
"""Reminders per claim. Each claim is a write transaction and a read one of a handful of
queries (bot/reminders/store.py), on a worker thread that waits for the event loop between
them; 10,000 due reminders were sent 14% sooner in batches of 250 than of 100 on either
database, and no sooner in batches of 500."""


@dataclass
class SweepReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0


class Sweep:
    def __init__(self, deps: Deps, pacer: Pacer | None = None,
                 limit: int = CLAIM_BATCH) -> None:
        self.deps = deps
        self.pacer = pacer or deps.api.pacer
        self.limit = limit
        self.worker = deps.sender.worker  # the process's: its sweeps share its pacer
        self.policy = ReminderPolicy.from_settings(deps.settings)
        self.report = SweepReport()
        self.recorder = Recorder(deps.db)
        self.drain: Drain[Claimed] = Drain(
            self._claim, lambda item: f"{item.team_id}:{item.recipient}", self._send_lane,
            seconds=SWEEP_SECONDS, ahead=4 * limit, wait_for_retries=True)
        self._zones: dict[tuple[str, str], str | None] = {}
        self._deliveries: list[asyncio.Task[Any]] = []  # of what sent reminders queued

    async def run(self) -> SweepReport:
        deps, settings = self.deps, self.deps.settings
        await deps.db.run_background(lambda s: plan_digests(s, settings.digest_channel, settings.digest_day,
                                                 settings.digest_hour, deps.now()))
        await self.drain.run()
        await asyncio.gather(*self._deliveries)
        await deps.sender.deliver(wait_for_retries=True)  # what is left, 429s waited out
        return self.report

    async def _claim(self) -> Batch[Claimed]:
        deps = self.deps
        claimed, full, theirs = await deps.db.run_background(self._claim_batch)
        if theirs:  # claimed once the other sweep has finished with those people
            self.drain.retry_in(JUST_SENT.total_seconds())
        built, unsent = await self._build(claimed)
        if unsent:
            await self.recorder.write(lambda s: settle_unsent(s, unsent))
        ready, deferred = [], []
        for item in built:
            deps.metrics.reminders.labels(kind=item.kind, outcome="due").inc()
            if item.fans_out:
                await self._expand(item)
                full = True  # one reminder each for its people, due now
            elif (later := await self._weekend_ends(item)) is not None:
                deferred.append((item, later))
            else:
                ready.append(item)
        if deferred:
            await self.recorder.write(lambda s: [defer(s, item, later) for item, later in deferred])
            self.report.deferred += len(deferred)
        return Batch(ready, full)

    def _claim_batch(self, session: Session) -> tuple[list[Claimed], bool, bool]:
        """A batch, whether it was full, and whether reminders were passed over because
        another sweep is sending to their people."""
        now = self.deps.now()
        claimed, full = claim_batch(session, worker=self.worker, now=now, limit=self.limit)
        theirs = not full and left_to_other_sweeps(session, worker=self.worker, now=now)
        return claimed, full, theirs

    async def _build(self, claimed: list[Claimed]) -> tuple[list[Claimed], list[Unsent]]:
        """The messages, built in one read-only transaction: on SQLite it never holds the
        write lock the ack path needs. (Two transactions side by side, each building half,
        cost more CPU in all and sent no sooner: the sweep's one core is its limit.)"""
        if not claimed:
            return [], []
        return await self.deps.db.run_read(partial(build_messages, claimed=claimed,
                                                   now=self.deps.now()))

    async def _send_lane(self, conversation: str | None, items: list[Claimed],
                         claimed_at: float) -> None:
        """One person's (or channel's) reminders, a second apart."""
        async with self.pacer.lane(conversation) as lane:
            for i, item in enumerate(items):
                if time.monotonic() - claimed_at > HOLD_LIMIT:  # before another sweep may take it
                    await self._give_back(items[i:])
                    return
                async with lane.turn():
                    result, failure = await attempt(self.deps.api, item.team_id,
                                                    "chat.postMessage",
                                                    {"channel": item.recipient, **item.message})
                if failure is None:
                    lane.posted()
                    await self._sent(item, result)
                    continue
                if failure.retry_after:
                    lane.rate_limited(failure.retry_after)
                await self._failed(item, failure)

    async def _give_back(self, items: list[Claimed]) -> None:
        """Claimed but not sent in time: due again now, the attempt not counted."""
        now = self.deps.now()
        await self.recorder.write(lambda s: [defer(s, item, now) for item in items])

    async def _expand(self, item: Claimed) -> None:
        deciders: list[str] = []
        try:
            if item.kind != "digest":
                deciders = await self.deps.deciders.everyone(item.team_id)
        except Exception as exc:  # noqa: BLE001 - retried like a failed post
            await self._failed(item, classify(exc))
            return
        await self.deps.db.run_background(
            lambda s: expand(s, item, deciders, self.policy, self.deps.now()))

    async def _weekend_ends(self, item: Claimed) -> datetime | None:
        """Quiet weekends: a reminder due on the recipient's Saturday or Sunday waits for
        Monday 9:00 their time (None: it goes now)."""
        if not self.deps.settings.quiet_weekends or (item.recipient or "")[:1] not in ("U", "W"):
            return None
        now = self.deps.now()
        later = after_weekend(now, item.tz or await self._zone(item.team_id, item.recipient))
        return later if later > now else None

    async def _zone(self, team_id: str, user_id: str | None) -> str | None:
        key = (team_id, user_id or "")
        if key not in self._zones:
            try:
                answer = await self.deps.api.call(team_id, "users.info", user=user_id)
                self._zones[key] = (answer.get("user") or {}).get("tz")
            except Exception:  # noqa: BLE001 - an unknown zone reads as UTC
                log.warning("could not read the user's time zone", extra={"user": user_id})
                self._zones[key] = None
        return self._zones[key]

    async def _sent(self, item: Claimed, result: dict[str, Any]) -> None:
        await self.recorder.add(self._record_sent, (item, result))
        if item.kind == ReminderKind.REVISIT:  # its note in the thread goes out meanwhile
            delivery = self.deps.sender.deliver_soon()
            if delivery is not None:
                self._deliveries.append(delivery)
        self.deps.metrics.reminders.labels(kind=item.kind, outcome="sent").inc()
        self.report.sent += 1

    def _record_sent(self, session: Session, sent: list[tuple[Claimed, dict[str, Any]]]
                     ) -> list[None]:
        return record_all_sent(session, sent, now=self.deps.now())

    async def _failed(self, item: Claimed, failure: CallFailure) -> None:
        log.warning("reminder not sent", extra={"reminder_id": item.id, "error": failure.error,
                                                "attempt": item.attempts})
        gave_up = await self.recorder.write(lambda s: record_failure(
            s, item, failure.error, now=self.deps.now(), permanent=failure.permanent,
            retry_after=failure.retry_after))
        if gave_up:
            self.deps.metrics.reminders.labels(kind=item.kind, outcome="failed").inc()
            self.report.failed += 1
        else:
            self.report.retrying += 1
            if failure.error == "ratelimited":  # soon, and this sweep's to send
                self.drain.retry_in(retry_delay(item.attempts, failure.retry_after).total_seconds())


async def sweep(deps: Deps, pacer: Pacer | None = None,
                limit: int = CLAIM_BATCH) -> SweepReport:
    """Sends every reminder that is due now (and what comes due while it runs), once."""
    return await Sweep(deps, pacer, limit).run()
