"""Events about the app itself rather than any request: uninstalled, tokens revoked.

Either way the bot stops using the workspace's tokens at once: the installation is
deleted (with OAuth) and whatever was still owed to that workspace is cancelled. On
`app_uninstalled` the workspace's data is kept or deleted per REQUESTBOT_ON_UNINSTALL
(`keep` by default: a reinstall finds its requests again). `tokens_revoked` keeps the
data: the app may still be installed and be authorized again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.listeners.common import team_of
from bot.services.ownership import forget_workspace, stop_posting

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    async def stop_using_tokens(body: dict[str, Any], delete_data: bool) -> None:
        team = team_of(body)
        if not team:
            return
        if deps.installations is not None:
            await deps.installations.remove(team, body.get("enterprise_id"))

        def store(session) -> int:
            cancelled = stop_posting(session, team)
            if delete_data:
                forget_workspace(session, team)
            return cancelled

        cancelled = await deps.db.run(store)
        log.info("stopped using the workspace's tokens",
                 extra={"team": team, "cancelled_posts": cancelled, "data_deleted": delete_data})

    @app.event("app_uninstalled")
    async def forget_installation(body: dict[str, Any]) -> None:
        await stop_using_tokens(body, delete_data=deps.settings.on_uninstall == "delete")

    @app.event("tokens_revoked")
    async def forget_revoked_tokens(body: dict[str, Any], event: dict[str, Any]) -> None:
        if not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens were revoked; the bot never stored any
        await stop_using_tokens(body, delete_data=False)
