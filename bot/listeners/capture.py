"""Filing requests where they happen: `/request`, the message shortcut, and reactions."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from slack_bolt.async_app import AsyncApp
from sqlalchemy import select

from bot.blocks.request_modal import RequestPrefill, request_modal
from bot.deps import Deps
from bot.forms import (
    RequestModalContext,
    draft_from_text,
    prefill_from_text,
    read_metadata,
    read_request_form,
)
from bot.jobs import JobKind, Sending
from bot.listeners.admin import DELETE_COMMAND, confirm_delete_request
from bot.listeners.common import channel_of, open_view, team_of, user_of
from bot.listeners.home import CUSTOMER_COMMAND, customer_answer
from bot.posts import queue_new_request, queue_similar
from bot.services import jobs
from bot.services.jobs import ClaimedJob
from bot.services.reminders import ReminderPolicy, schedule_new_request
from bot.services.requests import (
    Origin,
    RequestDraft,
    file_request,
    first_delivery,
    get_request,
)
from bot.services.similar import find_similar, matcher_for
from bot.slack_ids import Callback, Command
from models import OutboxMessage, Request, RequestSource

log = logging.getLogger(__name__)

DRAFT = TypeAdapter(RequestDraft)

HELP = (
    "*File a feature request:* `/request` opens a form; `/request Bulk CSV export for Acme, "
    "3 customers, $120k ARR, blocker` fills it in for you. You can also use *File as feature "
    "request* from any message's ⋯ menu.\n"
    "*See one customer's asks:* `/request customer Acme`\n"
    "*Deciders:* `/request delete 42` deletes request #42 (after a confirmation)"
)


def register(app: AsyncApp, deps: Deps) -> None:
    matcher = matcher_for(deps.settings.similarity)

    @app.command(Command.REQUEST)
    async def open_request_modal(ack, body: dict[str, Any]) -> None:
        text = (body.get("text") or "").strip()
        if text.lower() in ("help", "?"):
            await ack(text=HELP, response_type="ephemeral")
            return
        customer = CUSTOMER_COMMAND.match(text)
        if customer:  # a read of the database, answered in the ack itself
            await ack(**await customer_answer(deps, team_of(body), customer.group(1)))
            return
        await ack()
        delete = DELETE_COMMAND.match(text)
        if delete:
            await confirm_delete_request(deps, body, int(delete.group(1)))
            return
        prefill = prefill_from_text(text, whole_text_as_problem=False) if text else RequestPrefill()
        context = RequestModalContext(source=RequestSource.COMMAND, channel_id=body.get("channel_id"))
        await open_view(deps, body, request_modal(prefill, context.model_dump_json()))

    @app.shortcut(Callback.FILE_FEATURE_REQUEST)
    async def open_request_modal_from_message(ack, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        text = message.get("text") or ""
        prefill = prefill_from_text(text, whole_text_as_problem=True) if text else RequestPrefill()
        if not prefill.title and text.strip():
            prefill.title = text.strip().splitlines()[0][:150]
        context = RequestModalContext(
            source=RequestSource.SHORTCUT,
            channel_id=channel_of(body),
            message_ts=message.get("ts"),
            thread_ts=message.get("thread_ts"),
        )
        await open_view(deps, body, request_modal(prefill, context.model_dump_json()))

    @app.view(Callback.REQUEST_MODAL)
    async def submit_request(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Taken in before the ack (so a failure leaves the rep's input in the modal),
        filed after it (`file_submitted_request`)."""
        draft, errors = read_request_form(view)
        context = read_metadata(RequestModalContext, view)
        if errors or draft is None:
            await ack(response_action="errors", errors=errors)
            return
        if context is None:
            await ack(response_action="errors",
                      errors={"title": "This form is out of date: close it and start again."})
            return
        job = await deps.jobs.submit(team_of(body), JobKind.FILE_REQUEST, {
            "user": user_of(body), "delivery": f"view:{view['id']}", "at": deps.now().isoformat(),
            "draft": DRAFT.dump_python(draft, mode="json"), "context": context.model_dump(mode="json"),
        })
        await ack()
        await deps.jobs.start(job)

    async def file_submitted_request(job: ClaimedJob) -> Sending:
        """A submitted request modal, filed once (a submission Slack sends twice is one
        delivery), then its card, questions and similar requests go to Slack."""
        taken = job.payload
        draft = DRAFT.validate_python(taken["draft"])
        origin = RequestModalContext.model_validate(taken["context"]).origin()
        at = datetime.fromisoformat(taken["at"])

        def store(session) -> list[int]:
            jobs.finish(session, job)
            return file_new_request(session, deps, job.team_id, taken["user"], draft, origin,
                                    taken["delivery"], at, matcher)

        return send_filed(deps, matcher, await deps.db.run(store))

    deps.jobs.handle(JobKind.FILE_REQUEST, file_submitted_request)

    if deps.settings.capture_emoji:
        register_reaction_capture(app, deps, deps.settings.capture_emoji)

    @app.event("reaction_added")
    async def ignore_other_reactions() -> None:
        """Other emoji (or capture switched off) need no answer beyond Bolt's ack."""


def register_reaction_capture(app: AsyncApp, deps: Deps, emoji: str) -> None:
    matcher = matcher_for(deps.settings.similarity)

    @app.event({"type": "reaction_added", "reaction": re.compile(f"^{re.escape(emoji)}$")})
    async def file_reacted_message(body: dict[str, Any], event: dict[str, Any],
                                   context) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message":
            return
        team, user = team_of(body), event.get("user", "")
        channel, ts = item.get("channel"), item.get("ts")
        if not (team and user and channel and ts):
            return
        await deps.jobs.submit_and_start(team, JobKind.FILE_REACTED_MESSAGE, {
            "user": user, "channel": channel, "ts": ts, "at": deps.now().isoformat(),
            "delivery": f"event:{body.get('event_id')}",
        }, context)

    async def file_reacted_message_later(job: ClaimedJob) -> Sending:
        taken = job.payload
        message = await _fetch_message(deps, job.team_id, taken["channel"], taken["ts"])
        draft = draft_from_text((message or {}).get("text") or "")
        origin = Origin(source=RequestSource.REACTION, channel_id=taken["channel"],
                        message_ts=taken["ts"], thread_ts=(message or {}).get("thread_ts"))

        def store(session) -> list[int]:
            jobs.finish(session, job)
            return file_new_request(session, deps, job.team_id, taken["user"], draft, origin,
                                    taken["delivery"], datetime.fromisoformat(taken["at"]),
                                    matcher)

        return send_filed(deps, matcher, await deps.db.run(store))

    deps.jobs.handle(JobKind.FILE_REACTED_MESSAGE, file_reacted_message_later)


def file_new_request(session, deps: Deps, team: str, user: str, draft: RequestDraft,
                     origin: Origin, delivery: str, at: datetime, matcher) -> list[int]:
    """Files a request once per Slack delivery, with its reminders and its posts (card,
    questions, App Homes); the posts' outbox ids."""
    if not first_delivery(session, team, delivery, at):
        return []  # the same submission or event again: stored once
    filed = file_request(session, team_id=team, user_id=user, draft=draft, origin=origin,
                         now=at, matcher=matcher)
    if not filed.created:
        return []
    request = get_request(session, team, filed.request_id)
    schedule_new_request(session, request, ReminderPolicy.from_settings(deps.settings), at)
    return queue_new_request(session, request, at, deps.settings.deciders)


async def send_filed(deps: Deps, matcher, outbox_ids: list[int]) -> None:
    """A new request's posts (card, question, App Homes), and requests like it."""
    await deps.sender.deliver(outbox_ids + await offer_similar(deps, matcher, outbox_ids))


async def offer_similar(deps: Deps, matcher, outbox_ids: list[int]) -> list[int]:
    """After the ack (the lookup is the slow part of filing): requests already on file that
    ask for the same thing, offered in the new request's thread. The lookup reads without
    the write lock (SQLite has one writer); only the offer is written."""
    if not outbox_ids:
        return []

    def look(session) -> tuple[int | None, list]:
        request = session.scalar(select(Request).join(
            OutboxMessage, OutboxMessage.request_id == Request.id).where(
            OutboxMessage.id == outbox_ids[0]))
        if request is None:
            return None, []
        return request.id, find_similar(session, request.team_id, request.title,
                                        request.problem, matcher, exclude=[request.id])

    request_id, found = await deps.db.run_read(look)
    if not found:
        return []

    def offer(session) -> list[int]:
        request = session.get(Request, request_id)
        return queue_similar(session, request, found, deps.now()) if request else []

    return await deps.db.run_background(offer)


async def _fetch_message(deps: Deps, team: str, channel: str, ts: str) -> dict[str, Any] | None:
    """The reacted message's text: a thread's replies need conversations.replies."""
    try:
        history = await deps.api.call(team, "conversations.history", channel=channel, latest=ts,
                                      inclusive=True, limit=1)
        for message in history.get("messages") or []:
            if message.get("ts") == ts:
                return message
        replies = await deps.api.call(team, "conversations.replies", channel=channel, ts=ts,
                                      inclusive=True, limit=1)
        for message in replies.get("messages") or []:
            if message.get("ts") == ts:
                return message
    except Exception:  # noqa: BLE001 - filed with what we have; the thread asks for the rest
        log.warning("could not read the reacted message", extra={"channel": channel, "ts": ts})
    return None
