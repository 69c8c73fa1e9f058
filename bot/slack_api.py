"""The one place that calls the Slack Web API."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.db import Database
from bot.metrics import Metrics
from bot.services import outbox

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)

TokenLookup = Callable[[str | None], Awaitable[str | None]]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def retry_handlers() -> list:
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=1),
        AsyncServerErrorRetryHandler(max_retry_count=1),
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
    ]


def make_client(
    base_url: str,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
    timeout: int = 10,
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=timeout,
        retry_handlers=retry_handlers(),
    )


@dataclass
class CallFailure:
    error: str
    permanent: bool
    retry_after: float | None = None


def classify(exc: BaseException) -> CallFailure:
    """Tells a failure worth retrying (rate limit, 5xx, timeout) from one Slack refused for good."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = response.get("error") if isinstance(response.data, dict) else None
        status = response.status_code
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        if status == 429 or code == "ratelimited":
            return CallFailure("ratelimited", False, float(retry_after or 1))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return CallFailure(code or f"http_{status}", False)
        return CallFailure(code or f"http_{status}", True)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return CallFailure(f"{type(exc).__name__}: {exc}"[:200] or "timeout", False)
    return CallFailure(f"{type(exc).__name__}: {exc}"[:200], True)


class SlackApi:
    """Web API clients, one per token, sharing one aiohttp session."""

    def __init__(
        self,
        base_url: str,
        token_for_team: TokenLookup,
        metrics: Metrics,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url
        self.token_for_team = token_for_team
        self.metrics = metrics
        self.session = session
        self._clients: dict[str, AsyncWebClient] = {}

    async def client(self, team_id: str | None) -> AsyncWebClient:
        token = await self.token_for_team(team_id)
        if token is None:
            raise SlackApiUnavailable(f"no bot token for workspace {team_id}")
        client = self._clients.get(token)
        if client is None:
            client = make_client(self.base_url, token, self.session)
            self._clients[token] = client
        return client

    async def call(self, team_id: str | None, method: str, **args: Any) -> dict[str, Any]:
        client = await self.client(team_id)
        try:
            response = await getattr(client, method.replace(".", "_"))(**args)
        except Exception as exc:
            self.metrics.web_api_calls.labels(method=method, outcome=classify(exc).error).inc()
            raise
        self.metrics.web_api_calls.labels(method=method, outcome="ok").inc()
        return dict(response.data) if isinstance(response.data, dict) else {}


class SlackApiUnavailable(Exception):
    pass


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class OutboxSender:
    """Claims owed posts, sends them, and records what Slack answered."""

    def __init__(
        self,
        db: Database,
        api: SlackApi,
        now: Callable[[], datetime],
        hooks: outbox.Hooks,
        worker: str | None = None,
    ) -> None:
        self.db = db
        self.api = api
        self.hooks = hooks
        self.now = now
        self.worker = worker or worker_id()

    async def deliver(self, ids: list[int] | None = None, rounds: int = 5) -> DeliveryReport:
        """Sends what is due; a few rounds, so a reply waiting for its card follows it at once.

        Several senders may run at once (replicas, the schedule and a listener): each row
        is claimed in the database before it is sent, so none goes out twice.
        """
        report = DeliveryReport()
        for _ in range(rounds):
            calls = await self.db.run(
                lambda s: outbox.claim_due(s, self.hooks, worker=self.worker, now=self.now(), ids=ids)
            )
            if not calls:
                break
            for call in calls:
                await self._send(call, report)
        return report

    async def _send(self, call: outbox.ClaimedCall, report: DeliveryReport) -> None:
        try:
            result = await self.api.call(call.team_id, call.method, **call.args)
        except SlackApiUnavailable as exc:
            failure = CallFailure(str(exc), permanent=False, retry_after=60)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            failure = classify(exc)
        else:
            await self.db.run(
                lambda s: outbox.record_sent(s, self.hooks, call, result, worker=self.worker, now=self.now())
            )
            report.sent.append(call.id)
            return
        log.warning(
            "slack call failed",
            extra={"method": call.method, "error": failure.error, "outbox_id": call.id,
                   "attempt": call.attempts, "permanent": failure.permanent},
        )
        await self.db.run(
            lambda s: outbox.record_failure(
                s, self.hooks, call, failure.error, now=self.now(), permanent=failure.permanent,
                retry_after=failure.retry_after,
            )
        )
        (report.failed if failure.permanent else report.retrying).append(call.id)
