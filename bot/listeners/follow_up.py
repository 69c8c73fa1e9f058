"""Answers to the follow-up questions (thread replies, buttons, the answer modal) and edits."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.orm import Session

from bot.blocks.follow_up import answer_receipt, answers_modal
from bot.blocks.request_modal import RequestPrefill, request_modal
from bot.deps import Deps
from bot.events import is_person_thread_reply
from bot.forms import (
    RequestModalContext,
    RequestRef,
    answers_from_reply,
    read_answers_form,
    read_metadata,
    read_request_form,
)
from bot.jobs import JobKind, Sending
from bot.listeners.common import (
    channel_of,
    open_view,
    request_id_of,
    team_of,
    tell_user,
    user_of,
)
from bot.mrkdwn import user as mention
from bot.parsing.reply import parse_thread_reply
from bot.posts import queue_card_update, queue_thread_reply
from bot.services import jobs
from bot.services.decisions import tell_decider_info_arrived
from bot.services.facts import request_facts
from bot.services.jobs import ClaimedJob
from bot.services.reminders import ReminderPolicy, note_new_demand
from bot.services.requests import (
    Answers,
    Demand,
    RequestNotFound,
    edit_request,
    find_by_thread,
    first_delivery,
    get_request,
    record_answers,
)
from bot.slack_ids import Action, Callback
from models import Blocker, Request, RequestSource


def store_answers(
    session: Session, request: Request, answers: Answers, user: str, now: datetime,
    converted_from_mrr: bool = False, policy: ReminderPolicy | None = None,
) -> list[int]:
    """Records the answers, then queues what the bot understood (in the thread) and the card;
    on a `Needs more info` request the decider who asked is told the information arrived."""
    changed = record_answers(session, request, answers, user, now)
    if not changed:
        return []
    note_new_demand(session, request, policy or ReminderPolicy(), now)
    facts = request_facts(session, request)
    if not facts.missing:
        request.follow_up_answered_at = now
    receipt = answer_receipt(answers, facts, converted_from_mrr)
    return [
        queue_thread_reply(session, request, receipt.text, now, receipt.blocks),
        queue_card_update(session, request, now),
        *tell_decider_info_arrived(session, request, user, changed, now),
    ]


def register(app: AsyncApp, deps: Deps) -> None:
    policy = ReminderPolicy.from_settings(deps.settings)

    @app.event("message")
    async def read_thread_reply(body: dict[str, Any], event: dict[str, Any], context) -> None:
        if not is_person_thread_reply(event):
            return
        thread_ts = event["thread_ts"]
        text = event.get("text") or ""
        if context.bot_user_id and f"<@{context.bot_user_id}>" in text:
            return  # a mention is a decision in words, read by the decisions listener
        today = deps.now().date()
        if answers_from_reply(parse_thread_reply(text, today=today)).is_empty():
            return  # people talk in threads; only facts are recorded
        await deps.jobs.submit_and_start(team_of(body), JobKind.READ_THREAD_REPLY, {
            "user": event["user"], "channel": event.get("channel", ""), "thread_ts": thread_ts,
            "text": text, "today": today.isoformat(), "at": deps.now().isoformat(),
            "delivery": f"event:{body.get('event_id')}",
        }, context)

    async def store_thread_reply(job: ClaimedJob) -> Sending:
        taken = job.payload
        parsed = parse_thread_reply(taken["text"], today=date.fromisoformat(taken["today"]))
        at = datetime.fromisoformat(taken["at"])

        def store(session: Session) -> list[int]:
            jobs.finish(session, job)
            request = find_by_thread(session, job.team_id, taken["channel"], taken["thread_ts"])
            if request is None or not first_delivery(session, job.team_id, taken["delivery"], at):
                return []
            return store_answers(session, request, answers_from_reply(parsed), taken["user"], at,
                                 parsed.converted_from_mrr, policy)

        return deps.sender.deliver(await deps.db.run(store))

    deps.jobs.handle(JobKind.READ_THREAD_REPLY, store_thread_reply)

    @app.action(Action.ANSWER_FOLLOW_UP)
    async def open_answers_modal(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team = team_of(body)
        request_id = request_id_of(action)
        facts = await deps.db.run(lambda s: request_facts(s, get_request(s, team, request_id)))
        metadata = RequestRef(request_id=facts.request.id).model_dump_json()
        await open_view(deps, body, answers_modal(facts, metadata))

    @app.action(re.compile(f"^{Action.BLOCKER_ANSWER}_"))
    async def answer_blocker(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Taken in before the ack, stored after it (`store_blocker_answer`); the thread's
        receipt and the card show it was."""
        request_id, _, blocker = str(action.get("value", "")).partition(":")
        if not request_id.isdigit() or blocker not in set(Blocker):
            await ack()
            await tell_user(deps, body, "That request no longer exists.")
            return
        job = await deps.jobs.submit(team_of(body), JobKind.STORE_BLOCKER_ANSWER, {
            "user": user_of(body), "channel": channel_of(body), "request_id": int(request_id),
            "blocker": blocker, "at": deps.now().isoformat(),
        })
        await ack()
        await deps.jobs.start(job)

    async def store_blocker_answer(job: ClaimedJob) -> Sending:
        taken = job.payload
        answers = Answers(demand=Demand(blocker=taken["blocker"]))

        def store(session: Session) -> list[int] | None:
            jobs.finish(session, job)
            try:
                request = get_request(session, job.team_id, taken["request_id"])
            except RequestNotFound:
                return None  # deleted since the question was asked
            return store_answers(session, request, answers, taken["user"],
                                 datetime.fromisoformat(taken["at"]), policy=policy)

        ids = await deps.db.run(store)
        if ids is None:
            where = {"team": {"id": job.team_id}, "user": {"id": taken["user"]},
                     "channel": {"id": taken["channel"]}}
            return tell_user(deps, where, "That request no longer exists.")
        return deps.sender.deliver(ids)

    deps.jobs.handle(JobKind.STORE_BLOCKER_ANSWER, store_blocker_answer)

    @app.view(Callback.FOLLOW_UP_MODAL)
    async def submit_answers(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        answers, errors = read_answers_form(view)
        ref = read_metadata(RequestRef, view)
        if errors or answers is None or ref is None:
            await ack(response_action="errors", errors=errors or {})
            return
        team, user = team_of(body), user_of(body)

        def store(session: Session) -> list[int]:
            if not first_delivery(session, team, f"view:{view['id']}", deps.now()):
                return []
            return store_answers(session, get_request(session, team, ref.request_id), answers,
                                 user, deps.now(), policy=policy)

        ids = await deps.db.run(store)
        await ack()
        await deps.sender.deliver(ids)

    @app.action(Action.EDIT_REQUEST)
    async def open_edit_modal(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        request_id = request_id_of(action)
        facts = await deps.db.run(lambda s: request_facts(s, get_request(s, team, request_id)))
        request = facts.request
        if user != request.requested_by:
            await tell_user(deps, body, f"Only {mention(request.requested_by)}, who filed "
                                        f"#{request.id}, can edit it.")
            return
        prefill = RequestPrefill(
            title=request.title, problem=request.problem,
            proposed_solution=request.proposed_solution, customers=facts.customers,
            customer_count=request.customer_count,
            revenue_text=None, blocker=facts.blocker, deal_close_on=facts.deal_close_on,
            crm_url=facts.crm_url,
        )
        if facts.revenue:
            from bot.money import format_money

            prefill.revenue_text = format_money(facts.revenue[0])
        context = RequestModalContext(source=RequestSource(request.source), request_id=request.id)
        await open_view(deps, body, request_modal(prefill, context.model_dump_json(), editing=True))

    @app.view(Callback.EDIT_REQUEST_MODAL)
    async def submit_edit(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft, errors = read_request_form(view)
        context = read_metadata(RequestModalContext, view)
        if errors or draft is None or context is None or context.request_id is None:
            await ack(response_action="errors", errors=errors or {})
            return
        team, user = team_of(body), user_of(body)

        def store(session: Session) -> list[int] | str:
            request = get_request(session, team, context.request_id)
            if request.requested_by != user:
                return f"Only {mention(request.requested_by)}, who filed it, can edit it."
            if not edit_request(session, request, draft, user, deps.now()):
                return []
            return [queue_card_update(session, request, deps.now())]

        result = await deps.db.run(store)
        if isinstance(result, str):
            await ack(response_action="errors", errors={"title": result})
            return
        await ack()
        await deps.sender.deliver(result)
