"""Demand that adds up: similar requests offered as the rep types a title and in the new
request's thread, `Add to #42`, and a decider's `Merge` / `Un-merge` from a card or the home.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.request_modal import RequestPrefill, request_modal
from bot.blocks.similar import AddChoice, MergeContext, added_modal, merge_modal, similar_in_modal
from bot.deps import Deps
from bot.forms import RequestModalContext, State, read_metadata, read_request_form, split_names
from bot.listeners.common import (
    open_view,
    request_id_of,
    require_decider,
    team_of,
    tell_user,
    user_of,
)
from bot.listeners.home import publish_home
from bot.mrkdwn import escape
from bot.services import outbox
from bot.services.demand import canonical_of, merge, unmerge
from bot.services.reminders import ReminderPolicy, note_new_demand
from bot.services.requests import (
    NotAllowed,
    RequestNotFound,
    file_request,
    first_delivery,
    get_request,
    log_activity,
)
from bot.services.similar import find_similar, matcher_for
from bot.slack_ids import Action, Callback, Field
from models import Request, RequestStatus

log = logging.getLogger(__name__)

MIN_TITLE = 4
_NUMBER = re.compile(r"^#?\s*(\d{1,12})$")


def typed_prefill(view: dict[str, Any]) -> RequestPrefill:
    """What the rep has typed so far, so an updated modal keeps every answer."""
    state = State(view)
    count = state.text(Field.CUSTOMER_COUNT)
    close = state.date(Field.DEAL_CLOSE_ON)
    try:
        close_on = date.fromisoformat(close) if close else None
    except ValueError:
        close_on = None
    return RequestPrefill(
        title=state.text(Field.TITLE), problem=state.text(Field.PROBLEM),
        proposed_solution=state.text(Field.PROPOSED_SOLUTION),
        customers=split_names(state.text(Field.CUSTOMERS)),
        customer_count=int(count) if count and count.isdigit() else None,
        revenue_text=state.text(Field.REVENUE), blocker=state.option(Field.BLOCKER),
        importance=state.option(Field.IMPORTANCE), deal_close_on=close_on,
        crm_url=state.text(Field.CRM_URL),
    )


def _edit_message(session: Session, team: str, body: dict[str, Any], text: str,
                  request_id: int, now) -> list[int]:
    """Replaces the suggestion message (its buttons are spent) through the outbox."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not channel or not ts:
        return []
    return [outbox.enqueue(session, team_id=team, method="chat.update",
                           args={"channel": channel, "ts": ts, "text": text,
                                 "blocks": [{"type": "section",
                                             "text": {"type": "mrkdwn", "text": text}}]},
                           purpose="similar_answered", request_id=request_id, now=now).id]


def register(app: AsyncApp, deps: Deps) -> None:
    matcher = matcher_for(deps.settings.similarity)

    async def may_act_for(team: str, user: str, request: Request) -> bool:
        return user == request.requested_by or await deps.deciders.is_decider(team, user)

    @app.action(Field.TITLE)
    async def suggest_while_typing(ack, body: dict[str, Any]) -> None:
        """The title's `dispatch_action`: matches shown in the modal, with what was typed kept."""
        await ack()
        view = body.get("view") or {}
        if view.get("callback_id") != Callback.REQUEST_MODAL:
            return
        prefill = typed_prefill(view)
        team = team_of(body)
        if not prefill.title or len(prefill.title) < MIN_TITLE:
            return
        found = await deps.db.run(lambda s: find_similar(
            s, team, prefill.title or "", prefill.problem, matcher))
        updated = request_modal(prefill, view.get("private_metadata") or "",
                                extra_blocks=similar_in_modal(found))
        try:
            await deps.api.call(team, "views.update", view_id=view.get("id"),
                                hash=view.get("hash"), view=updated)
        except Exception:  # noqa: BLE001 - the rep typed on meanwhile; the next update wins
            log.info("could not show similar requests in the modal", extra={"team": team})

    @app.action(re.compile(f"^{Action.ADD_TO_EXISTING}(_\\d+)?$"))
    async def add_to_existing(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        try:
            choice = AddChoice.model_validate_json(action.get("value") or "")
        except ValidationError:
            await tell_user(deps, body, "That button is out of date.")
            return
        if choice.request_id is None:
            await add_from_modal(body, choice)
        else:
            await add_from_thread(body, choice)

    async def add_from_thread(body: dict[str, Any], choice: AddChoice) -> None:
        team, user = team_of(body), user_of(body)
        try:
            duplicate = await deps.db.run(lambda s: get_request(s, team, choice.request_id or 0))
        except RequestNotFound:
            await tell_user(deps, body, "That request no longer exists.")
            return
        if not await may_act_for(team, user, duplicate):
            await tell_user(deps, body, "Only the rep who filed it (or a decider) can add it "
                                        "to another request.")
            return
        policy = ReminderPolicy.from_settings(deps.settings)

        def store(session: Session) -> tuple[list[int], str]:
            request = get_request(session, team, duplicate.id)
            target = canonical_of(session, get_request(session, team, choice.into))
            ids = merge(session, request, target, user, deps.now())
            note_new_demand(session, target, policy, deps.now())
            text = f"Added to #{target.id} {escape(target.title)}: the customers count there now."
            return ids + _edit_message(session, team, body, text, request.id, deps.now()), text

        try:
            ids, _ = await deps.db.run(store)
        except (RequestNotFound, NotAllowed) as error:
            await tell_user(deps, body, str(error) if isinstance(error, NotAllowed)
                            else "That request no longer exists.")
            return
        await deps.sender.deliver(ids)

    async def add_from_modal(body: dict[str, Any], choice: AddChoice) -> None:
        """Files what the modal holds and merges it at once: the rep's customer counts on the
        existing request, and the modal says so (nothing else to submit)."""
        team, user = team_of(body), user_of(body)
        view = body.get("view") or {}
        if view.get("callback_id") != Callback.REQUEST_MODAL or not view.get("id"):
            await tell_user(deps, body, "That button is out of date.")
            return
        draft, errors = read_request_form(view)
        context = read_metadata(RequestModalContext, view)
        if errors or draft is None or context is None:
            problems = "; ".join(errors.values()) or "this form is out of date"
            prefill = typed_prefill(view)
            prefill.notes = [f"Fix this first, then press Add again: {problems}"]
            await deps.api.call(team, "views.update", view_id=view.get("id"),
                                view=request_modal(prefill, view.get("private_metadata") or ""))
            return
        policy = ReminderPolicy.from_settings(deps.settings)

        def store(session: Session) -> tuple[list[int], int | None, Request | None]:
            if not first_delivery(session, team, f"view:{view.get('id')}", deps.now()):
                return [], None, None  # filed already (submitted, or Add pressed twice)
            target = canonical_of(session, get_request(session, team, choice.into))
            filed = file_request(session, team_id=team, user_id=user, draft=draft,
                                 origin=context.origin(), now=deps.now(), matcher=matcher)
            request = get_request(session, team, filed.request_id)
            ids = merge(session, request, target, user, deps.now(),
                        note_duplicate=request.thread_ts is not None)
            note_new_demand(session, target, policy, deps.now())
            return ids, request.id, target

        try:
            ids, request_id, target = await deps.db.run(store)
        except RequestNotFound:
            await tell_user(deps, body, "That request no longer exists: file yours instead.")
            return
        if request_id is not None and target is not None:
            await deps.api.call(team, "views.update", view_id=view.get("id"),
                                view=added_modal(request_id, target.id, target.title,
                                                 draft.customers).to_dict())
        await deps.sender.deliver(ids)

    @app.action(Action.NOT_A_DUPLICATE)
    async def keep_separate(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        request_id = request_id_of(action)
        request = await deps.db.run(lambda s: get_request(s, team, request_id))
        if not await may_act_for(team, user, request):
            await tell_user(deps, body, "Only the rep who filed it (or a decider) can answer.")
            return

        def store(session: Session) -> list[int]:
            fresh = get_request(session, team, request.id)
            log_activity(session, fresh, user, "not_a_duplicate", deps.now())
            return _edit_message(session, team, body,
                                 f"Kept #{fresh.id} as its own request.", fresh.id, deps.now())

        await deps.sender.deliver(await deps.db.run(store))

    @app.action(Action.MERGE)
    async def open_merge_modal(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        await require_decider(deps, team, user, "merge requests")
        request_id = request_id_of(action)

        def load(session: Session):
            request = get_request(session, team, request_id)
            found = find_similar(session, team, request.title, request.problem, matcher,
                                 exclude=[request.id], k=5)
            return request, found

        request, found = await deps.db.run(load)
        await open_view(deps, body, merge_modal(request.id, request.title, found))

    @app.view(Callback.MERGE_MODAL)
    async def submit_merge(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = read_metadata(MergeContext, view)
        target_text = State(view).text(Field.MERGE_TARGET)
        if context is None or not target_text:
            await ack(response_action="errors", errors={
                Field.MERGE_TARGET: "Say which request: its number (#42) or words from its title."
                if context is not None else "This form is out of date: press Merge again."})
            return
        team, user = team_of(body), user_of(body)
        if not await deps.deciders.is_decider(team, user):
            await ack(response_action="errors",
                      errors={Field.MERGE_TARGET: "Only deciders can merge requests."})
            return

        def store(session: Session) -> tuple[list[int], str | None]:
            duplicate = get_request(session, team, context.request_id)
            target, problem = _target(session, team, target_text, duplicate)
            if target is None:
                return [], problem
            try:
                with session.begin_nested():
                    return merge(session, duplicate, target, user, deps.now()), None
            except NotAllowed as error:
                return [], str(error)

        try:
            ids, problem = await deps.db.run(store)
        except RequestNotFound:
            await ack(response_action="errors",
                      errors={Field.MERGE_TARGET: "This request was deleted."})
            return
        if problem:
            await ack(response_action="errors", errors={Field.MERGE_TARGET: problem})
            return
        await ack()
        await deps.sender.deliver(ids)
        await publish_home(deps, team, user)

    @app.action(Action.UNMERGE)
    async def split_request(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        await require_decider(deps, team, user, "un-merge requests")
        request_id = request_id_of(action)

        def store(session: Session) -> list[int]:
            return unmerge(session, get_request(session, team, request_id), user, deps.now())

        await deps.sender.deliver(await deps.db.run(store))


def _target(session: Session, team: str, text: str,
            duplicate: Request) -> tuple[Request | None, str | None]:
    """The request named by number, or the one whose title contains the words typed."""
    number = _NUMBER.match(text.strip())
    if number:
        try:
            return get_request(session, team, int(number.group(1))), None
        except RequestNotFound:
            return None, f"There is no request #{number.group(1)}."
    words = " ".join(text.split())
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = list(session.scalars(
        select(Request).where(Request.team_id == team, Request.id != duplicate.id,
                              Request.status != RequestStatus.MERGED,
                              Request.title.ilike(pattern, escape="\\"))
        .order_by(Request.id.desc()).limit(6)))
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"No open request's title contains “{words}”: try its number."
    listed = ", ".join(f"#{r.id} {r.title[:40]}" for r in found[:5])
    return None, f"Several match: {listed}. Type the number."
