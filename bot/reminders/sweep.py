"""The reminder sweep: `requestbot reminders run-due` runs it once, `serve` on a schedule.

Reminders are sent here directly rather than through the outbox: what a reminder needs
around the call (built from the data when it is sent, dropped when no longer relevant,
held over the recipient's weekend, given up after MAX_ATTEMPTS with the reason stored,
snoozed by its buttons) lives on the reminder row, and "sent" on that row means Slack
accepted the post. What a sent reminder leads to in a thread (the revisit note) is queued
in the outbox in the same transaction that marks the reminder sent.

Sending is paced to Slack's limits: about one chat.postMessage per second per
conversation, and every DM is its own conversation, so reminders to different people go
out together and only posts to the same conversation wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.deps import Deps
from bot.reminders.digest import plan_digests
from bot.reminders.store import Claimed, claim_due, defer, expand, record_failure, record_sent
from bot.services.reminders import ReminderPolicy, after_weekend
from bot.slack_api import CallFailure, SlackApiUnavailable, classify, worker_id

log = logging.getLogger(__name__)

PER_CONVERSATION_SECONDS = 1.0
CONCURRENT_POSTS = 8


@dataclass
class SweepReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0


class Pacer:
    """At most one post per conversation every `interval` seconds; up to `concurrency`
    posts in flight across conversations."""

    def __init__(self, interval: float = PER_CONVERSATION_SECONDS,
                 concurrency: int = CONCURRENT_POSTS) -> None:
        self.interval = interval
        self.slots = asyncio.Semaphore(concurrency)
        self.last: dict[str, float] = {}

    async def run(self, items: Iterable[Claimed],
                  send: Callable[[Claimed], Awaitable[None]]) -> None:
        by_conversation: dict[str, list[Claimed]] = {}
        for item in items:
            by_conversation.setdefault(item.recipient or "", []).append(item)

        async def drain(conversation: str, queue: list[Claimed]) -> None:
            for item in queue:
                wait = self.last.get(conversation, float("-inf")) + self.interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                async with self.slots:
                    self.last[conversation] = time.monotonic()
                    await send(item)

        results = await asyncio.gather(*(drain(c, q) for c, q in by_conversation.items()),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("reminder sending failed", exc_info=result)


class Sweep:
    def __init__(self, deps: Deps, pacer: Pacer | None = None, limit: int = 50) -> None:
        self.deps = deps
        self.pacer = pacer or Pacer()
        self.limit = limit
        self.worker = worker_id()
        self.policy = ReminderPolicy.from_settings(deps.settings)
        self.report = SweepReport()
        self._zones: dict[tuple[str, str], str | None] = {}

    async def run(self, rounds: int = 20) -> SweepReport:
        deps, settings = self.deps, self.deps.settings
        await deps.db.run(lambda s: plan_digests(s, settings.digest_channel, settings.digest_day,
                                                 settings.digest_hour, deps.now()))
        for _ in range(rounds):
            claimed = await deps.db.run(
                lambda s: claim_due(s, worker=self.worker, now=deps.now(), limit=self.limit))
            if not claimed:
                break
            ready = []
            for item in claimed:
                deps.metrics.reminders.labels(kind=item.kind, outcome="due").inc()
                if item.fans_out:
                    await self._expand(item)
                elif not await self._deferred(item):
                    ready.append(item)
            await self.pacer.run(ready, self._send)
        await deps.sender.deliver()
        return self.report

    async def _expand(self, item: Claimed) -> None:
        deciders: list[str] = []
        try:
            if item.kind != "digest":
                deciders = await self.deps.deciders.everyone(item.team_id)
        except Exception as exc:  # noqa: BLE001 - retried like a failed post
            await self._failed(item, classify(exc))
            return
        await self.deps.db.run(
            lambda s: expand(s, item, deciders, self.policy, self.deps.now()))

    async def _deferred(self, item: Claimed) -> bool:
        """Quiet weekends: a reminder due on the recipient's Saturday or Sunday waits for
        Monday 9:00 their time."""
        if not self.deps.settings.quiet_weekends or (item.recipient or "")[:1] not in ("U", "W"):
            return False
        now = self.deps.now()
        later = after_weekend(now, item.tz or await self._zone(item.team_id, item.recipient))
        if later <= now:
            return False
        await self.deps.db.run(lambda s: defer(s, item, later))
        self.report.deferred += 1
        return True

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

    async def _send(self, item: Claimed) -> None:
        deps = self.deps
        try:
            result: dict[str, Any] = await deps.api.call(
                item.team_id, "chat.postMessage", channel=item.recipient, **item.message)
        except SlackApiUnavailable as exc:
            await self._failed(item, CallFailure(str(exc), permanent=False, retry_after=60))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            await self._failed(item, classify(exc))
        else:
            await deps.db.run(lambda s: record_sent(s, item, result, now=deps.now()))
            deps.metrics.reminders.labels(kind=item.kind, outcome="sent").inc()
            self.report.sent += 1

    async def _failed(self, item: Claimed, failure: CallFailure) -> None:
        log.warning("reminder not sent", extra={"reminder_id": item.id, "error": failure.error,
                                                "attempt": item.attempts})
        gave_up = await self.deps.db.run(lambda s: record_failure(
            s, item, failure.error, now=self.deps.now(), permanent=failure.permanent,
            retry_after=failure.retry_after))
        if gave_up:
            self.deps.metrics.reminders.labels(kind=item.kind, outcome="failed").inc()
            self.report.failed += 1
        else:
            self.report.retrying += 1


async def sweep(deps: Deps, pacer: Pacer | None = None, limit: int = 50) -> SweepReport:
    """Sends every reminder that is due now, once."""
    return await Sweep(deps, pacer, limit).run()
