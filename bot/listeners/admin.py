"""Deciders' housekeeping: deleting a request (`/request delete 42`), with an audit entry."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.orm import Session

from bot.blocks.delete_request import delete_confirmation, deleted_card, notice
from bot.deps import Deps
from bot.forms import RequestRef, read_metadata
from bot.listeners.common import open_view, team_of, tell_user, user_of
from bot.services import outbox
from bot.services.ownership import delete_request
from bot.services.requests import RequestNotFound, get_request
from bot.slack_ids import Action, Callback

log = logging.getLogger(__name__)

DELETE_COMMAND = re.compile(r"^delete\s+#?(\d{1,18})\s*$", re.IGNORECASE)
CARD_DELETED = "card_deleted"


def not_allowed(deps: Deps) -> str:
    return f"Only deciders can delete requests: {deps.deciders.described()}."


async def confirm_delete_request(deps: Deps, body: dict[str, Any], request_id: int) -> None:
    """Opens the confirmation for a decider; anyone else is told why not. Runs after the ack."""
    team, user = team_of(body), user_of(body)
    if not await deps.deciders.is_decider(team, user):
        await tell_user(deps, body, not_allowed(deps))
        return
    try:
        title = await deps.db.run(lambda s: get_request(s, team, request_id).title)
    except RequestNotFound:
        await tell_user(deps, body, f"There is no request #{request_id}.")
        return
    metadata = RequestRef(request_id=request_id).model_dump_json()
    await open_view(deps, body, delete_confirmation(request_id, title, metadata))


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(Action.DELETE_REQUEST)
    async def open_delete_confirmation(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        value = str(action.get("value") or "")
        if not value.isdigit():
            return
        await confirm_delete_request(deps, body, int(value))

    @app.view(Callback.DELETE_REQUEST_MODAL)
    async def submit_delete_request(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = read_metadata(RequestRef, view)
        team, user = team_of(body), user_of(body)
        if ref is None:
            await ack(response_action="update",
                      view=notice("Delete request", "This form is out of date.").to_dict())
            return
        if not await deps.deciders.is_decider(team, user):
            await ack(response_action="update",
                      view=notice("Delete request", not_allowed(deps)).to_dict())
            return

        def store(session: Session) -> list[int]:
            gone = delete_request(session, team, ref.request_id, user, deps.now())
            if gone.card_channel_id is None or gone.card_ts is None:
                return []
            card = deleted_card(gone.request_id, gone.title, user)
            return [outbox.enqueue(session, team_id=team, method="chat.update",
                                   args={"channel": gone.card_channel_id, "ts": gone.card_ts,
                                         **card.args()},
                                   purpose=CARD_DELETED, now=deps.now()).id]

        try:
            ids = await deps.db.run(store)
        except RequestNotFound:
            await ack(response_action="update", view=notice(
                "Delete request", f"Request #{ref.request_id} was already deleted.").to_dict())
            return
        await ack()
        log.info("request deleted", extra={"team": team, "request_id": ref.request_id,
                                           "user": user})
        await deps.sender.deliver(ids)
