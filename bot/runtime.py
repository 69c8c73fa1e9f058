"""Wires one running process: database, Web API, outbox sender, Bolt app and schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp

from bot.db import Database
from bot.deps import Deps
from bot.inbox import JobInbox, JobTableWriter
from bot.jobs import JobKind, Jobs
from bot.metrics import Metrics
from bot.posts import outbox_hooks
from bot.reminders.sweep import sweep
from bot.sending import CONCURRENT_CALLS, PER_CONVERSATION_SECONDS, Pacer
from bot.services import outbox, scores
from bot.services.deciders import DeciderDirectory
from bot.services.scores import Scoring
from bot.settings import Settings
from bot.slack_api import OutboxSender, SlackApi
from models import utcnow

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp

    from bot.app import BotIdentity
    from bot.oauth import Installations

log = logging.getLogger(__name__)

INTERACTIVE_CONNECTIONS = 20
"""Connections to Slack beyond the queued calls' CONCURRENT_CALLS: a views.open for someone
who just clicked never waits for a sweep's posts to free one."""
SCORE_INTERVAL_SECONDS = 300
"""Recency moves in days; scores due again are caught up every few minutes."""


class Runtime:
    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        now: Callable[[], datetime] = utcnow,
        run_schedule: bool = True,
        outbox_interval_seconds: float = 5.0,
        post_interval_seconds: float = PER_CONVERSATION_SECONDS,
        handoff: Callable[[], None] | None = None,
        job_inbox: JobInbox | None = None,
        worker: bool = False,
        listens: bool = True,
    ) -> None:
        """Under `serve`, two runtimes (bot/worker.py). The serving process's has `handoff`,
        which wakes the worker: jobs, owed posts and events (bot/events.py) are left to it
        rather than done here after an ack. The worker's (`worker`) runs them. On SQLite
        the serving process stores jobs in `job_inbox` and the worker takes them from it
        (bot/inbox.py). Without `listens` it only sends (`reminders run-due`): no Bolt
        app, so no auth.test call and none of Bolt's imports."""
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.db.use_scoring(Scoring.from_settings(settings, now))
        self.now = now
        self.run_schedule = run_schedule
        self.outbox_interval_seconds = outbox_interval_seconds
        self.post_interval_seconds = post_interval_seconds  # Slack's pace per conversation
        self.handoff = handoff
        self.job_inbox = job_inbox
        self.worker = worker
        self.listens = listens
        self.job_writer: JobInbox | JobTableWriter | None = None
        self.web_api_timeout_seconds = 10.0
        self.metrics = Metrics()
        self._basis_checked = False
        self.http_session: aiohttp.ClientSession | None = None
        self.deps: Deps | None = None
        self.bolt: AsyncApp | None = None
        self.handler: AsyncSlackRequestHandler | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.identity: BotIdentity | None = None
        self.installations: Installations | None = None
        if settings.oauth_enabled:
            from bot.oauth import Installations, installation_store

            self.installations = Installations(installation_store(settings, self.db))

    @property
    def events_later(self) -> bool:
        """Events are stored and acked here, and dispatched by the worker (bot/events.py)."""
        return self.handoff is not None and not self.settings.socket_mode

    async def _token_for_team(self, team_id: str | None) -> str | None:
        """With OAuth, the workspace's installed bot token (cached briefly); else the one token."""
        if self.installations is not None and team_id:
            token = await self.installations.bot_token(team_id)
            if token is not None:
                return token
        return self.settings.slack_bot_token

    @staticmethod
    def _usergroup_members(api: SlackApi):
        async def members(team_id: str, group_id: str) -> list[str]:
            answer = await api.call(team_id, "usergroups.users.list", usergroup=group_id)
            return list(answer.get("users") or [])

        return members

    async def start(self) -> None:
        # slack-sdk ignores its client's timeout on a shared session: the session's own
        # timeout is what bounds a Web API call Slack never answers
        self.http_session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.web_api_timeout_seconds),
            connector=aiohttp.TCPConnector(limit=CONCURRENT_CALLS + INTERACTIVE_CONNECTIONS),
        )
        api = SlackApi(
            self.settings.slack_api_url, self._token_for_team, self.metrics, self.http_session,
            Pacer(self.post_interval_seconds),
        )
        handoff_jobs = self.handoff is not None
        sender = OutboxSender(self.db, api, self.now, outbox_hooks(self.settings, self.now))
        if handoff_jobs:
            self.job_writer = self.job_inbox or JobTableWriter(self.db.engine)
        jobs = Jobs(self.db, self.now, sender.worker, store_in=self.job_writer,
                    take_from=self.job_inbox if self.worker else None, metrics=self.metrics)
        sender.handoff = jobs.handoff = self.handoff
        deciders = DeciderDirectory(self.settings.deciders, self._usergroup_members(api))
        self.deps = Deps(self.settings, self.db, api, sender, self.metrics, self.now, deciders,
                         jobs, self.installations)
        if self.listens:
            await self._listen(api, jobs)
        if self.run_schedule:  # imported here: a serving process with a worker has no schedule
            from apscheduler.schedulers.asyncio import AsyncIOScheduler

            self.scheduler = AsyncIOScheduler(timezone="UTC")
            self.scheduler.add_job(
                self.work_through, "interval", seconds=self.outbox_interval_seconds,
                id="owed", max_instances=1, coalesce=True,
            )
            self.scheduler.add_job(
                self.sweep_reminders, "interval", seconds=self.settings.sweep_interval_seconds,
                id="reminders", max_instances=1, coalesce=True,
            )
            self.scheduler.add_job(
                self.rescore, "interval", seconds=SCORE_INTERVAL_SECONDS, id="scores",
                max_instances=1, coalesce=True, next_run_time=self.now(),
            )
            self.scheduler.start()

    async def _listen(self, api: SlackApi, jobs: Jobs) -> None:
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

        from bot import events
        from bot.app import BotIdentity, build_bolt_app

        assert self.deps is not None
        self.identity = BotIdentity(lambda: api.call(None, "auth.test"))
        if self.settings.slack_bot_token:
            await self.identity.get()
        self.bolt = build_bolt_app(self.deps, self.identity, replaying=self.worker)
        jobs.handle(JobKind.HANDLE_EVENT, events.dispatcher(self.bolt, self.db))
        self.handler = AsyncSlackRequestHandler(self.bolt)

    async def sweep_reminders(self) -> None:
        assert self.deps is not None
        try:
            await sweep(self.deps)
        except Exception:  # noqa: BLE001 - a failed sweep is logged; the next one runs anyway
            log.exception("reminder sweep failed")

    async def rescore(self) -> None:
        """Priority scores whose recency part changed, or that other settings computed."""
        try:
            if not self._basis_checked:
                await self.db.run_background(scores.mark_other_basis_due)
                self._basis_checked = True
            for batch in scores.CATCH_UP:
                while await self.db.run_background(batch) == scores.RESCORE_BATCH:
                    pass
        except Exception:  # noqa: BLE001 - logged; the next run catches up
            log.exception("rescoring failed")

    async def work_through(self) -> None:
        """What is owed: jobs due (again) and posts due (again)."""
        assert self.deps is not None
        try:
            await self.deps.jobs.run_due()
        except Exception:  # noqa: BLE001 - logged; the next run tries again
            log.exception("running jobs failed")
        await self.deliver_outbox()

    async def deliver_outbox(self) -> None:
        assert self.deps is not None
        try:
            await self.deps.sender.deliver()
            owed = await asyncio.to_thread(self.db.read, outbox.pending_count)
            self.metrics.outbox_pending.set(owed)
        except Exception:  # noqa: BLE001 - a failed sweep is logged; the next one runs anyway
            log.exception("outbox sweep failed")

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.http_session is not None:
            await self.http_session.close()
        if self.job_writer is not None and self.job_writer is not self.job_inbox:
            await self.job_writer.close()
        if self.job_inbox is not None:
            await self.job_inbox.close()
        self.db.dispose()


async def run_reminders_once(settings: Settings, database: Database) -> int:
    """`requestbot reminders run-due`: the same sweep as `serve`, once; the number sent."""
    from bot.collector import collect_as_a_batch

    runtime = Runtime(settings, database, run_schedule=False, listens=False)
    await runtime.start()
    collect_as_a_batch()
    try:
        assert runtime.deps is not None
        report = await sweep(runtime.deps)
    finally:
        await runtime.stop()
    return report.sent
