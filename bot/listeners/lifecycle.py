"""Events about the app itself rather than any request."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("app_uninstalled")
    async def note_uninstall(event: dict, context) -> None:
        log.info("app uninstalled", extra={"team": context.team_id})

    @app.event("tokens_revoked")
    async def note_tokens_revoked(event: dict, context) -> None:
        log.info("tokens revoked", extra={"team": context.team_id})
