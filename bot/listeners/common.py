"""Small helpers every listener uses to read Slack payloads and answer users."""

from __future__ import annotations

import logging
from typing import Any

from bot.deps import Deps
from bot.services.requests import NotAllowed, RequestNotFound

log = logging.getLogger(__name__)


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return team["id"]
    if body.get("team_id"):
        return body["team_id"]
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return user["team_id"]
    return ""


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id", "")
    return body.get("user_id", "") or ""


def channel_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    return body.get("channel_id") or (body.get("container") or {}).get("channel_id")


async def tell_user(deps: Deps, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer where the user acted, or a DM when there is no channel (App Home)."""
    team, user, channel = team_of(body), user_of(body), channel_of(body)
    try:
        if channel:
            await deps.api.call(team, "chat.postEphemeral", channel=channel, user=user, text=text)
        else:
            await deps.api.call(team, "chat.postMessage", channel=user, text=text)
    except Exception:  # noqa: BLE001 - an unanswerable notice is logged, never raised to Slack
        log.warning("could not tell the user", extra={"team": team, "user": user})


async def open_view(deps: Deps, body: dict[str, Any], view: Any) -> None:
    await deps.api.call(team_of(body), "views.open", trigger_id=body["trigger_id"],
                        view=view.to_dict() if hasattr(view, "to_dict") else view)


def request_id_of(action: dict[str, Any]) -> int:
    """The request a button acts on; a missing or forged value is a request not found."""
    value = str(action.get("value") or "")
    if not value.isdigit():
        raise RequestNotFound(f"no request {value!r}")
    return int(value)


async def require_decider(deps: Deps, team: str, user: str, doing: str) -> None:
    """Raises NotAllowed (answered by the central error handler) unless `user` may decide."""
    if not await deps.deciders.is_decider(team, user):
        raise NotAllowed(f"Only deciders can {doing}: {deps.deciders.described()}.")
