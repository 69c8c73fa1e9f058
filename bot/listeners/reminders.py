"""Acting on a reminder: keep the decision (with the next revisit date), snooze, stop.

`Change decision` and `Decide` on reminders use the decision flow's own `Action.DECIDE`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from slack_bolt.async_app import AsyncApp
from sqlalchemy.orm import Session

from bot.blocks.reminders import handled_note, keep_decision_modal
from bot.deps import Deps
from bot.forms import State, read_metadata
from bot.listeners.common import channel_of, open_view, team_of, tell_user, user_of
from bot.mrkdwn import user as mention
from bot.services.reminders import (
    DECIDER_KINDS,
    ReminderGone,
    get_reminder,
    keep_decision,
    snooze,
    stop_reminders,
    zone,
)
from bot.services.requests import first_delivery, get_request
from bot.slack_ids import Action, Callback, Field
from models import Reminder, Request

log = logging.getLogger(__name__)

SUGGESTED_REVISIT = timedelta(days=90)


class KeepDecisionRef(BaseModel):
    """The keep-decision modal's private_metadata: the reminder and the DM it came in."""

    reminder_id: int
    channel_id: str | None = None
    message_ts: str | None = None
    checked_decider: str | None = None  # opened for this decider: no second check pre-ack


async def _reminder_for(deps: Deps, body: dict[str, Any],
                        action: dict[str, Any]) -> tuple[Reminder, Request] | None:
    """The reminder a button refers to, if the user may act on it; otherwise says why."""
    team, user = team_of(body), user_of(body)

    def load(session: Session) -> tuple[Reminder, Request]:
        reminder = get_reminder(session, team, int(action.get("value") or 0))
        if reminder.request_id is None:
            raise ReminderGone(reminder.id)
        return reminder, get_request(session, team, reminder.request_id)

    try:
        reminder, request = await deps.db.run(load)
    except Exception:  # noqa: BLE001 - a stale or forged button: nothing to act on
        await tell_user(deps, body, "That reminder no longer exists.")
        return None
    if reminder.kind in DECIDER_KINDS or user != reminder.recipient:
        if not await deps.deciders.is_decider(team, user):
            await tell_user(deps, body, "Only deciders can act on this reminder: "
                                        f"{deps.deciders.described()}.")
            return None
    return reminder, request


async def _mark_handled(deps: Deps, body: dict[str, Any], note: str) -> None:
    """Replaces the reminder's buttons with what was done, so nobody acts on it twice."""
    message = body.get("message") or {}
    channel, ts = channel_of(body), message.get("ts")
    await _replace_buttons(deps, team_of(body), channel, ts, message, note)


async def _replace_buttons(deps: Deps, team: str, channel: str | None, ts: str | None,
                           message: dict[str, Any], note: str) -> None:
    if not channel or not ts:
        return
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    try:
        await deps.api.call(team, "chat.update", channel=channel, ts=ts,
                            text=message.get("text") or note, blocks=blocks + handled_note(note))
    except Exception:  # noqa: BLE001 - the action is stored; the old buttons just stay
        log.warning("could not update the reminder message", extra={"channel": channel})


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle(body: dict[str, Any], action: dict[str, Any],
                     change: Callable[[Session, Reminder, Request, str], str]) -> None:
        """A reminder's button: the change in one transaction, then the note that replaces
        the buttons (`change` returns it)."""
        found = await _reminder_for(deps, body, action)
        if found is None:
            return
        reminder, request = found
        user = user_of(body)
        note = await deps.db.run(lambda s: change(s, reminder, request, user))
        await _mark_handled(deps, body, note)

    @app.action(re.compile(f"^{Action.SNOOZE_REMINDER}_(week|month)$"))
    async def snooze_reminder(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        length = action["action_id"].rsplit("_", 1)[1]

        def change(session: Session, reminder: Reminder, _: Request, user: str) -> str:
            until = snooze(session, get_reminder(session, reminder.team_id, reminder.id),
                           length, user, deps.now())
            return f"Snoozed by {mention(user)} until {until:%d %b %Y}."

        await handle(body, action, change)

    @app.action(Action.STOP_REMINDERS)
    async def stop_request_reminders(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()

        def change(session: Session, _: Reminder, request: Request, user: str) -> str:
            stop_reminders(session, get_request(session, request.team_id, request.id), user,
                           deps.now())
            return f"Reminders for #{request.id} stopped by {mention(user)}."

        await handle(body, action, change)

    @app.action(Action.KEEP_DECISION)
    async def open_keep_decision(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        found = await _reminder_for(deps, body, action)
        if found is None:
            return
        reminder, request = found
        user = user_of(body)
        if not await deps.deciders.is_decider(team_of(body), user):
            await tell_user(deps, body, "Only deciders can keep a decision.")
            return
        ref = KeepDecisionRef(reminder_id=reminder.id, channel_id=channel_of(body),
                              message_ts=(body.get("message") or {}).get("ts"),
                              checked_decider=user)
        suggested = deps.now().date() + SUGGESTED_REVISIT
        await open_view(deps, body, keep_decision_modal(request, suggested,
                                                        ref.model_dump_json()))

    @app.view(Callback.KEEP_DECISION_MODAL)
    async def submit_keep_decision(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = read_metadata(KeepDecisionRef, view)
        picked = State(view).date(Field.REVISIT_ON)
        team, user = team_of(body), user_of(body)
        try:
            revisit_on = date.fromisoformat(picked or "")
        except ValueError:
            revisit_on = None
        if ref is None or revisit_on is None:
            await ack(response_action="errors",
                      errors={Field.REVISIT_ON: "Pick the date to look at it again."})
            return

        def store(session: Session) -> str | None:
            reminder = get_reminder(session, team, ref.reminder_id)
            today = deps.now().astimezone(zone((reminder.payload or {}).get("tz"))).date()
            if revisit_on <= today:
                return "The next revisit date must be in the future."
            if first_delivery(session, team, f"view:{view['id']}", deps.now()):
                keep_decision(session, reminder, revisit_on, user, deps.now())
            return None

        if ref.checked_decider != user and not await deps.deciders.is_decider(team, user):
            await ack(response_action="errors",
                      errors={Field.REVISIT_ON: "Only deciders can keep a decision."})
            return
        try:
            error = await deps.db.run(store)
        except ReminderGone:
            error = "That decision no longer exists."
        if error:
            await ack(response_action="errors", errors={Field.REVISIT_ON: error})
            return
        await ack()
        message = {}
        if ref.channel_id and ref.message_ts:
            message = await _message_at(deps, team, ref.channel_id, ref.message_ts)
        await _replace_buttons(deps, team, ref.channel_id, ref.message_ts, message,
                               f"Kept by {mention(user)}. Next revisit on {revisit_on:%d %b %Y}.")


async def _message_at(deps: Deps, team: str, channel: str, ts: str) -> dict[str, Any]:
    """The reminder DM as it stands, to keep its text and facts when its buttons go."""
    try:
        answer = await deps.api.call(team, "conversations.history", channel=channel, latest=ts,
                                     inclusive=True, limit=1)
    except Exception:  # noqa: BLE001 - without it the note replaces the buttons alone
        return {}
    return next((m for m in answer.get("messages") or [] if m.get("ts") == ts), {})
