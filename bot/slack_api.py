"""The one place that calls the Slack Web API."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.internal_utils import get_user_agent
from sqlalchemy.orm import Session

from bot.db import Database
from bot.metrics import Metrics
from bot.sending import Batch, Drain, Pacer, Recorder
from bot.services import outbox

log = logging.getLogger(__name__)

T = TypeVar("T")

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


def retry_handlers(*, queued: bool = False) -> list:
    """No client waits out a rate limit inline. A call made for someone who just clicked
    (views.open, views.update after an ack) must be quick: a trigger_id lives 3 s. A queued
    call (the outbox, reminders) goes back to its row with Retry-After and only its own
    conversation waits; sleeping inline would hold up everything sent after it. So interactive
    calls retry a 5xx once, queued ones leave 5xx to their row's backoff, and both retry a
    dropped connection (an idle keep-alive connection Slack closed) once, at once."""
    connection = AsyncConnectionErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05))
    if queued:
        return [connection]
    return [AsyncServerErrorRetryHandler(max_retry_count=1), connection]


JSON_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete",
                          "views.publish", "views.open", "views.update", "views.push"})
"""Methods posted as JSON straight through aiohttp (`SlackApi._post_json`); Slack takes a
JSON body for these, as slack-sdk sends them. Others go through slack-sdk."""
SERVER_ERRORS_RETRIED = (500, 503)
"""A call's answers tried once more unless it is queued, after half a second and up to a second
of jitter, as slack-sdk's AsyncServerErrorRetryHandler does."""
RECONNECT_ERRORS = (aiohttp.ServerConnectionError, aiohttp.ClientOSError)
"""A dropped keep-alive connection: tried again once, at once, as slack-sdk's
AsyncConnectionErrorRetryHandler does (ServerDisconnectedError is a ServerConnectionError)."""


CLIENT_LOG = logging.getLogger("requestbot.slack_sdk")
"""slack-sdk tests its logger's own level, not the effective one, before it writes each
call's arguments into a debug message; with the level unset (0) it did so for every call
(the whole modal for a views.open) and threw the text away: about a tenth of a command's
CPU, and the same for every post sent. At INFO it is never built (set this logger to DEBUG
to see every call)."""
CLIENT_LOG.setLevel(logging.INFO)
USER_AGENT = get_user_agent()


def make_client(
    base_url: str,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
    timeout: int = 10,
    *,
    queued: bool = False,
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=timeout,
        retry_handlers=retry_handlers(queued=queued),
        logger=CLIENT_LOG,
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
    """Web API clients, one per token and kind of call, sharing one aiohttp session, and the
    Pacer that keeps queued posts within Slack's pace per conversation."""

    def __init__(
        self,
        base_url: str,
        token_for_team: TokenLookup,
        metrics: Metrics,
        session: aiohttp.ClientSession | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.base_url = base_url
        self.token_for_team = token_for_team
        self.metrics = metrics
        self.session = session
        self.pacer = pacer or Pacer()
        self._clients: dict[tuple[str, bool], AsyncWebClient] = {}

    async def client(self, team_id: str | None, *, queued: bool = False) -> AsyncWebClient:
        token = await self.token_for_team(team_id)
        if token is None:
            raise SlackApiUnavailable(f"no bot token for workspace {team_id}")
        client = self._clients.get((token, queued))
        if client is None:
            client = make_client(self.base_url, token, self.session, queued=queued)
            self._clients[(token, queued)] = client
        return client

    async def call(self, team_id: str | None, method: str, **args: Any) -> dict[str, Any]:
        """A call made for someone waiting now (a modal, a user's time zone)."""
        return await self._through(team_id, method, args, queued=False)

    async def send(self, team_id: str | None, method: str, **args: Any) -> dict[str, Any]:
        """A call the bot owes (the outbox, a reminder): a rate limit or a 5xx is raised at
        once, for the caller to retry it later; pace it with `pacer`."""
        return await self._through(team_id, method, args, queued=True)

    async def _through(self, team_id: str | None, method: str, args: dict[str, Any], *,
                       queued: bool) -> dict[str, Any]:
        if method in JSON_METHODS and self.session is not None:
            return await self._counted(method, self._post_json(team_id, method, args,
                                                               queued=queued))
        return await self._call(await self.client(team_id, queued=queued), method, args)

    async def _post_json(self, team_id: str | None, method: str, args: dict[str, Any],
                         *, queued: bool) -> dict[str, Any]:
        """One call without slack-sdk's client around it: a sweep posts thousands, and the
        client's request and response objects and retry bookkeeping cost a quarter of each
        call's CPU (0.25 against 0.18 ms here); a views.open after an ack, a third of the
        serving process's CPU per command, shares its core with the acks. Failures are
        raised as slack-sdk's SlackApiError, so they are told apart as every other call's
        are (`classify`). Retries as `retry_handlers` says. orjson writes a modal in a
        twentieth of the json module's time and reads Slack's answer (the whole modal
        again) in a third."""
        token = await self.token_for_team(team_id)
        if token is None:
            raise SlackApiUnavailable(f"no bot token for workspace {team_id}")
        assert self.session is not None
        url = self.base_url + method
        body = orjson.dumps(args)
        headers = {"Content-Type": "application/json;charset=utf-8", "User-Agent": USER_AGENT,
                   "Authorization": f"Bearer {token}"}
        reconnects, server_errors = 1, 0 if queued else 1
        while True:
            try:
                async with self.session.post(url, data=body, headers=headers) as response:
                    status, answer_headers = response.status, response.headers
                    raw = await response.read()
            except RECONNECT_ERRORS:
                if not reconnects:
                    raise
                reconnects -= 1
                await asyncio.sleep(0.05)
                continue
            if status in SERVER_ERRORS_RETRIED and server_errors:
                server_errors -= 1
                await asyncio.sleep(0.5 + random.random())
                continue
            break
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if status == 200 and isinstance(data, dict) and data.get("ok"):
            return data
        refused = AsyncSlackResponse(client=None, http_verb="POST", api_url=url, req_args={},
                                     data=data if isinstance(data, dict) else {},
                                     headers=dict(answer_headers), status_code=status)
        raise SlackApiError(f"The request to the Slack API failed. (url: {url})", refused)

    async def _call(self, client: AsyncWebClient, method: str, args: dict[str, Any]
                    ) -> dict[str, Any]:
        response = await self._counted(method, getattr(client, method.replace(".", "_"))(**args))
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _counted(self, method: str, call: Awaitable[T]) -> T:
        """`call`'s answer, counted by method and outcome (ok, or why it failed)."""
        try:
            answer = await call
        except Exception as exc:
            self.metrics.web_api_calls.labels(method=method, outcome=classify(exc).error).inc()
            raise
        self.metrics.web_api_calls.labels(method=method, outcome="ok").inc()
        return answer


class SlackApiUnavailable(Exception):
    pass


async def attempt(api: SlackApi, team_id: str | None, method: str, args: dict[str, Any]
                  ) -> tuple[dict[str, Any], CallFailure | None]:
    """One queued call: what Slack answered, or why it failed and whether to try again."""
    try:
        return await api.send(team_id, method, **args), None
    except SlackApiUnavailable as exc:
        return {}, CallFailure(str(exc), permanent=False, retry_after=60)
    except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
        return {}, classify(exc)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


PACED_METHODS = frozenset({"chat.postMessage"})
DELIVERY_SECONDS = 60.0  # one delivery stops claiming after this
HOLD_LIMIT = outbox.CLAIM_TTL.total_seconds() / 2  # a claim held longer is given back unsent


def conversation_of(call: outbox.ClaimedCall) -> str | None:
    """The lane of a built call (`outbox.destination`), named `team:where`."""
    where = outbox.destination(call.method, call.args)
    return f"{call.team_id}:{where}" if where else None


class OutboxSender:
    """Claims owed posts in batches, sends them at Slack's pace (conversations side by side,
    each one in order), and records what Slack answered in a few transactions."""

    def __init__(
        self,
        db: Database,
        api: SlackApi,
        now: Callable[[], datetime],
        hooks: outbox.Hooks,
        worker: str | None = None,
        batch: int = 100,
    ) -> None:
        self.db = db
        self.api = api
        self.hooks = hooks
        self.now = now
        self.worker = worker or worker_id()
        self.batch = batch
        self.recorder = Recorder(db)
        self.handoff: Callable[[], None] | None = None  # a worker process sends instead
        self._delivering_all: set[Drain[outbox.ClaimedCall]] = set()
        self._claimed: Counter[tuple[str, str]] = Counter()  # calls per conversation

    def shares(self) -> outbox.Shares | None:
        """Each conversation's share of a claim: the paced posts that go out within half
        a claim's hold limit, less what this process holds claimed for it already (None
        when posts are not paced)."""
        if self.api.pacer.interval <= 0:
            return None
        share = max(1, int(HOLD_LIMIT / 2 / self.api.pacer.interval))
        return outbox.Shares(share, {key: share - held for key, held in self._claimed.items()})

    def _count_claimed(self, calls: list[outbox.ClaimedCall], change: int) -> None:
        """+1 for each of `calls` as it is claimed, -1 once its run has finished."""
        for call in calls:
            if call.conversation is not None:
                key = (call.team_id, call.conversation)
                self._claimed[key] += change
                if self._claimed[key] <= 0:
                    del self._claimed[key]

    async def deliver(self, ids: list[int] | None = None, *,
                      wait_for_retries: bool = False) -> DeliveryReport:
        """Sends what is due (of `ids`, and what was queued for their requests since) until
        nothing more is, for at most DELIVERY_SECONDS of claiming: a reply waiting for its
        card is claimed as soon as the card is recorded. With `wait_for_retries`, a post
        rate limited on the way is waited for and sent too (`reminders run-due` has no
        schedule to send it later).

        Several senders may run at once (replicas, the schedule and listeners): each row
        is claimed in the database before it is sent, so none goes out twice.
        """
        report = DeliveryReport()
        if self.handoff is not None and not wait_for_retries:
            self.handoff()
            return report

        async def claim() -> Batch[outbox.ClaimedCall]:
            shares = self.shares()
            if self.db.dialect != "sqlite":
                calls, full, crowded = await self.db.run_background(lambda s: outbox.claim_due(
                    s, self.hooks, worker=self.worker, now=self.now(), ids=ids,
                    limit=self.batch, shares=shares))
            else:  # SQLite has one writer: the posts are built before the claim takes the lock
                prepared, full, crowded = await self.db.run_read(lambda s: outbox.prepare_due(
                    s, self.hooks, now=self.now(), ids=ids, limit=self.batch, shares=shares))
                calls = await self.db.run_background(lambda s: outbox.claim_prepared(
                    s, prepared, worker=self.worker, now=self.now())) if prepared else []
            self._count_claimed(calls, +1)
            return Batch(calls, full, crowded)

        async def send(conversation: str | None, calls: list[outbox.ClaimedCall],
                       claimed_at: float) -> None:
            try:
                await self._send_in_order(conversation, calls, claimed_at, report, drain)
            finally:
                self._count_claimed(calls, -1)

        drain: Drain[outbox.ClaimedCall] = Drain(
            claim, conversation_of, send, seconds=DELIVERY_SECONDS, ahead=2 * self.batch,
            wait_for_retries=wait_for_retries)
        if ids is None:
            self._delivering_all.add(drain)
        try:
            await drain.run()
        finally:
            self._delivering_all.discard(drain)
        return report

    def deliver_soon(self) -> asyncio.Task[DeliveryReport] | None:
        """Rows were just queued for no listener in particular (a revisit's note): a
        delivery of all that is due, running now, claims them too; else one starts (the
        task, for the caller to await). One past its claiming time, waiting only for what
        it is still sending (a busy channel's share), does not count: what was queued for
        others would wait for it."""
        claiming = [drain for drain in self._delivering_all if drain.claiming()]
        for drain in claiming:
            drain.unlocked()
        if claiming:
            return None
        return asyncio.create_task(self.deliver())

    async def _send_in_order(self, conversation: str | None, calls: list[outbox.ClaimedCall],
                             claimed_at: float, report: DeliveryReport,
                             drain: Drain[outbox.ClaimedCall]) -> None:
        async with self.api.pacer.lane(conversation) as lane:
            for i, call in enumerate(calls):
                if time.monotonic() - claimed_at > HOLD_LIMIT:  # before another sender may take it
                    await self._release(calls[i:], self.now())
                    return
                async with lane.turn(paced=call.method in PACED_METHODS):
                    result, failure = await attempt(self.api, call.team_id, call.method, call.args)
                if failure is None:
                    if call.method in PACED_METHODS:
                        lane.posted()
                    await self.recorder.add(self._record_sent, (call, result))
                    report.sent.append(call.id)
                    if call.purpose in self.hooks.after_send:
                        drain.unlocked()  # e.g. a card's thread replies may go now
                    continue
                await self._failed(call, failure, report)
                if failure.permanent:
                    if call.purpose in self.hooks.on_permanent_failure:
                        drain.unlocked()  # e.g. a DM instead
                    continue
                if failure.retry_after:
                    lane.rate_limited(failure.retry_after, post=call.method in PACED_METHODS)
                delay = outbox.retry_delay(call.attempts, failure.retry_after)
                if failure.error == "ratelimited":  # soon: this delivery waits for it
                    drain.retry_in(delay.total_seconds())
                # what follows in this conversation waits with it, so it keeps its order
                await self._release(calls[i + 1:], self.now() + delay)
                return

    def _record_sent(self, session: Session,
                     sent: list[tuple[outbox.ClaimedCall, dict[str, Any]]]) -> list[bool]:
        return outbox.record_all_sent(session, self.hooks, sent, worker=self.worker,
                                      now=self.now())

    async def _failed(self, call: outbox.ClaimedCall, failure: CallFailure,
                      report: DeliveryReport) -> None:
        log.warning(
            "slack call failed",
            extra={"method": call.method, "error": failure.error, "outbox_id": call.id,
                   "attempt": call.attempts, "permanent": failure.permanent},
        )
        await self.recorder.write(lambda s: outbox.record_failure(
            s, self.hooks, call, failure.error, now=self.now(), permanent=failure.permanent,
            retry_after=failure.retry_after))
        (report.failed if failure.permanent else report.retrying).append(call.id)

    async def _release(self, calls: list[outbox.ClaimedCall], until: datetime) -> None:
        if calls:
            await self.recorder.write(lambda s: outbox.release(
                s, calls, worker=self.worker, until=until))
