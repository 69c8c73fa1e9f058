"""Decisions: the `Decide` modal and its preview, deciding in the thread, history, and
asking the rep for a customer call. Only deciders may record decisions."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from sqlalchemy.orm import Session

from bot.blocks.common import Message
from bot.blocks.decision_modal import decision_modal, decision_offer, decision_preview
from bot.blocks.decision_reply import (
    compose_reply_text,
    headline,
    not_a_decider_note,
    status_words,
)
from bot.blocks.history import history_modal
from bot.deps import Deps
from bot.forms import read_metadata
from bot.forms_decision import (
    DecisionContext,
    DecisionDraft,
    check_decision,
    draft_from_words,
    prefill_value,
    read_decision_form,
    read_reply_text,
)
from bot.listeners.common import open_view, request_id_of, team_of, tell_user, user_of
from bot.mrkdwn import escape
from bot.parsing import parse_decision_text
from bot.posts import queue_thread_reply
from bot.services import outbox
from bot.services.decisions import (
    ask_for_call,
    canonical,
    decision_history,
    merged_duplicates,
    record_decision,
)
from bot.services.facts import current_decision, request_facts
from bot.services.requests import RequestNotFound, find_by_thread, first_delivery, get_request
from bot.slack_ids import Action, Callback, Field
from models import Request

log = logging.getLogger(__name__)

MENTION_HELP = (
    "Hi! File a feature request with `/request`, or with *File as feature request* from any "
    "message's ⋯ menu. Deciders can record a decision by mentioning me in a request's thread, "
    "e.g. “planned for Q3: fits the platform theme”."
)
OUT_OF_DATE = "This form is out of date: close it and press Decide again."
MISSING = {
    Field.DECISION_STATUS: "I need the decision",
    Field.TIMELINE: "Planned needs a timeline I can read (a quarter, a month or a date)",
    Field.RATIONALE: "it needs a rationale the rep can pass on",
    Field.NEEDED_INFO: "it needs to say what is needed",
    Field.REVISIT_ON: "the revisit date has to be in the future",
}


def local_today(now: datetime, tz_name: str | None) -> date:
    try:
        return now.astimezone(ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


async def user_tz(deps: Deps, team: str, user: str) -> str | None:
    """The user's time zone from users.info (None, read as UTC, when Slack cannot say)."""
    try:
        answer = await deps.api.call(team, "users.info", user=user)
    except Exception:  # noqa: BLE001 - the time zone is a nicety; UTC is a safe reading
        log.warning("could not look up a time zone", extra={"user": user})
        return None
    return (answer.get("user") or {}).get("tz")


def not_allowed(deps: Deps) -> str:
    return not_a_decider_note(deps.deciders.described(), deps.deciders.configured)


async def may_decide(deps: Deps, team: str, user: str, context: DecisionContext) -> bool:
    return context.checked_decider == user or await deps.deciders.is_decider(team, user)


def reply_draft(session: Session, request: Request, draft: DecisionDraft) -> str:
    previous = current_decision(session, request.id)
    return compose_reply_text(
        status=draft.status or "", rationale=draft.rationale, timeline=draft.timeline,
        workaround=draft.workaround, needed_info=draft.needed_info, revisit_on=draft.revisit_on,
        previous=(previous.status, previous.timeline) if previous is not None else None,
    )


def register(app: AsyncApp, deps: Deps) -> None:
    async def open_decision_form(body: dict[str, Any], request_id: int,
                                 prefill: DecisionDraft | None) -> None:
        """After the ack: deciders get the modal, read in their time zone; others a notice."""
        team, user = team_of(body), user_of(body)
        if not await deps.deciders.is_decider(team, user):
            await tell_user(deps, body, not_allowed(deps))
            return
        facts = await deps.db.run(
            lambda s: request_facts(s, canonical(s, get_request(s, team, request_id)))
        )
        context = DecisionContext(request_id=facts.request.id, tz=await user_tz(deps, team, user),
                                  checked_decider=user)
        await open_view(deps, body, decision_modal(facts, prefill, context.model_dump_json()))

    @app.action(Action.DECIDE)
    async def open_decision_modal(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await open_decision_form(body, request_id_of(action), None)

    @app.action(Action.OPEN_DECISION_FROM_THREAD)
    async def open_decision_modal_from_thread(ack, body: dict[str, Any],
                                              action: dict[str, Any]) -> None:
        await ack()
        try:
            prefill = DecisionDraft.model_validate_json(action.get("value") or "")
        except ValidationError:
            await tell_user(deps, body, "That button is out of date: press Decide on the card.")
            return
        await open_decision_form(body, prefill.request_id, prefill)

    @app.view(Callback.DECISION_MODAL)
    async def preview_decision(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A valid form is answered with the preview of the exact reply (nothing stored yet).

        The modal was opened for a decider after a check; anyone else submitting it is
        checked again (which may call usergroups.users.list before the ack).
        """
        context = read_metadata(DecisionContext, view)
        if context is None:
            await ack(response_action="errors", errors={Field.DECISION_STATUS: OUT_OF_DATE})
            return
        draft, errors = read_decision_form(view, context, local_today(deps.now(), context.tz))
        if errors or draft is None:
            await ack(response_action="errors", errors=errors)
            return
        team, user = team_of(body), user_of(body)
        if not await may_decide(deps, team, user, context):
            await ack(response_action="errors", errors={Field.DECISION_STATUS: not_allowed(deps)})
            return

        def prepare(session: Session) -> tuple[str, str, list[str]]:
            request = canonical(session, get_request(session, team, context.request_id))
            others = [f"#{r.id}" for r in merged_duplicates(session, request)]
            also = [f"Also posted in the threads of {', '.join(others)} (merged into this one)."
                    if others else "", "The requester also gets it by direct message."]
            return (headline(request, request, draft.status or "", draft.timeline),
                    reply_draft(session, request, draft), [a for a in also if a])

        try:
            first_line, reply_text, also = await deps.db.run(prepare)
        except RequestNotFound:
            await ack(response_action="errors",
                      errors={Field.DECISION_STATUS: "That request no longer exists."})
            return
        await ack(response_action="update",
                  view=decision_preview(first_line, reply_text, also, draft.fitted()))

    @app.view(Callback.DECISION_PREVIEW)
    async def submit_decision(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft = read_metadata(DecisionDraft, view)
        reply_text, errors = read_reply_text(view)
        if draft is None or draft.status is None:
            errors = {Field.REPLY_TEXT: OUT_OF_DATE}
        elif not errors:
            rules = check_decision(draft, local_today(deps.now(), draft.tz))
            if rules:
                errors = {Field.REPLY_TEXT: "Go back and check the form: "
                          + "; ".join(rules.values())}
        if errors or draft is None or reply_text is None:
            await ack(response_action="errors", errors=errors)
            return
        team, user = team_of(body), user_of(body)
        if not await may_decide(deps, team, user, draft):
            await ack(response_action="errors", errors={Field.REPLY_TEXT: not_allowed(deps)})
            return

        def store(session: Session) -> list[int]:
            if not first_delivery(session, team, f"decision:{view['id']}", deps.now()):
                return []  # the same submission again: recorded once
            request = canonical(session, get_request(session, team, draft.request_id))
            return record_decision(session, request, draft.to_input(), decided_by=user,
                                   decider_tz=draft.tz, reply_text=reply_text,
                                   now=deps.now()).outbox_ids

        try:
            ids = await deps.db.run(store)
        except RequestNotFound:
            await ack(response_action="errors",
                      errors={Field.REPLY_TEXT: "That request no longer exists."})
            return
        await ack()
        await deps.sender.deliver(ids)

    @app.event("app_mention")
    async def decide_in_thread(body: dict[str, Any], event: dict[str, Any]) -> None:
        team, user = team_of(body), event.get("user") or ""
        channel, ts = event.get("channel") or "", event.get("ts") or ""
        thread_ts = event.get("thread_ts")
        if not user or event.get("bot_id") or not channel:
            return
        key = f"event:{body.get('event_id')}"
        request = None
        if thread_ts:
            request = await deps.db.run(lambda s: find_by_thread(s, team, channel, thread_ts))
        if request is None:
            await deps.sender.deliver(await deps.db.run(
                lambda s: _queue_help(s, team, key, channel, thread_ts or ts, deps.now())))
            return
        if not await deps.deciders.is_decider(team, user):
            note = f"{not_allowed(deps)} Ask them here in the thread."

            def refuse(session: Session) -> list[int]:
                if not first_delivery(session, team, key, deps.now()):
                    return []
                return [queue_thread_reply(session, request, note, deps.now())]

            await deps.sender.deliver(await deps.db.run(refuse))
            return
        tz = await user_tz(deps, team, user)
        today = local_today(deps.now(), tz)
        parsed = parse_decision_text(event.get("text") or "", today)
        thread_id = request.id

        def store(session: Session) -> list[int]:
            if not first_delivery(session, team, key, deps.now()):
                return []
            asked_in = get_request(session, team, thread_id)
            decided = canonical(session, asked_in)
            draft = draft_from_words(parsed, DecisionContext(request_id=decided.id, tz=tz))
            problems = (check_decision(draft, today) if draft.status
                        else {Field.DECISION_STATUS: "no decision"})
            if problems:
                offer = _offer(decided.id, draft, problems)
                return [queue_thread_reply(session, asked_in, offer.text, deps.now(),
                                           offer.blocks)]
            return record_decision(session, decided, draft.to_input(), decided_by=user,
                                   decider_tz=tz, reply_text=reply_draft(session, decided, draft),
                                   now=deps.now()).outbox_ids

        await deps.sender.deliver(await deps.db.run(store))

    @app.action(Action.SHOW_HISTORY)
    async def show_history(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        request_id = request_id_of(action)

        def load(session: Session):
            request = get_request(session, team, request_id)
            return request, decision_history(session, request)

        request, decisions = await deps.db.run(load)
        tz = await user_tz(deps, team, user)
        await open_view(deps, body, history_modal(request, decisions, tz))

    @app.action(Action.TALK_TO_CUSTOMER)
    async def ask_requester_for_call(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Deciders only; the check may need usergroups.users.list, so it follows the ack."""
        await ack()
        team, user = team_of(body), user_of(body)
        if not await deps.deciders.is_decider(team, user):
            await tell_user(deps, body, not_allowed(deps))
            return

        request_id = request_id_of(action)

        def store(session: Session) -> list[int]:
            request = canonical(session, get_request(session, team, request_id))
            return ask_for_call(session, request, user, deps.now())

        await deps.sender.deliver(await deps.db.run(store))


def _offer(request_id: int, draft: DecisionDraft, problems: dict[str, str]) -> Message:
    understood = ""
    if draft.status is not None:
        understood = f"*{escape(status_words(draft.status, draft.timeline))}*"
    missing = [MISSING[name] for name in problems if name in MISSING] or ["I couldn't read it all"]
    return decision_offer(request_id, understood, missing, prefill_value(draft))


def _queue_help(session: Session, team: str, key: str, channel: str, thread_ts: str,
                now: datetime) -> list[int]:
    if not first_delivery(session, team, key, now):
        return []
    return [outbox.enqueue(session, team_id=team, method="chat.postMessage",
                           args={"channel": channel, "thread_ts": thread_ts, "text": MENTION_HELP},
                           purpose="mention_help", now=now).id]
