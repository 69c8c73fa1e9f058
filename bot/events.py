"""Events API events under `requestbot serve`: acked on arrival, handled by the worker.

Slack needs nothing from the bot in an event's answer, so the serving process checks the
signature, stores the event as a job and answers at once; the worker dispatches it through
its own Bolt app the way Socket Mode requests are dispatched (Bolt skips its signature
check for those: this one was checked on arrival), running the listeners to the end.
Elsewhere (Socket Mode, tests, one-off commands) Bolt dispatches events as they come.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.db import Database
from bot.jobs import STORED_EVENT, Handler, JobKind, Jobs, Sending, StoredEvent
from bot.services import jobs
from bot.services.jobs import ClaimedJob

log = logging.getLogger(__name__)


def is_person_thread_reply(event: dict[str, Any]) -> bool:
    """A person's reply in a thread (not the thread's first message, not a bot's, not an
    edit or a join notice): the only messages the bot reads."""
    thread_ts = event.get("thread_ts")
    return bool(
        thread_ts
        and thread_ts != event.get("ts")
        and not event.get("bot_id")
        and event.get("subtype") in (None, "thread_broadcast")
        and event.get("user")
    )


def worth_keeping(event: dict[str, Any], capture_emoji: str | None) -> bool:
    """Whether a listener could act on the event. Every message and reaction in the bot's
    channels reaches it: only thread replies and the capture emoji are stored."""
    kind = event.get("type")
    if kind == "message":
        return is_person_thread_reply(event)
    if kind == "reaction_added":
        return bool(capture_emoji) and event.get("reaction") == capture_emoji
    return True


async def take_in(jobs_queue: Jobs, team_id: str | None, raw_body: bytes) -> None:
    """Before the ack: the event stored as it came (raises if it was not, so Slack is
    answered with an error and sends it again)."""
    job = await jobs_queue.submit(team_id or "", JobKind.HANDLE_EVENT,
                                  {"body": raw_body.decode("utf-8")})
    await jobs_queue.start(job)


def dispatcher(bolt: AsyncApp, db: Database) -> Handler:
    """The worker's handler for stored events. A listener whose work is a job runs it as
    this event's job (`StoredEvent`); others keep what they must in transactions of their
    own, each once per event id, so a dispatch repeated after a crash does nothing twice."""

    async def dispatch(job: ClaimedJob) -> Sending:
        stored = StoredEvent(job)
        await bolt.async_dispatch(AsyncBoltRequest(
            body=job.payload["body"], mode="socket_mode", context={STORED_EVENT: stored}))
        if not stored.taken:
            await db.run(lambda session: jobs.finish(session, job))
        return None

    return dispatch
