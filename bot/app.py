"""Builds the Bolt app: one AsyncApp with every listener registered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)

from bot import listeners
from bot.deps import Deps
from bot.errors import KeepFirstAck, answer_error
from bot.oauth import InstalledBotAuthorize, oauth_settings
from bot.slack_api import make_client

log = logging.getLogger(__name__)

BOLT_TOKEN_NOTES = frozenset({warning_client_prioritized_and_token_skipped(),
                              warning_token_skipped()})


def without_token_notes(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN for itself and warns at every start, in each process,
    that it goes unused beside the bot's `authorize` and client, which carry that token:
    true of every requestbot, and alarming in an admin's log."""
    return record.getMessage() not in BOLT_TOKEN_NOTES


class BotIdentity:
    """Who the bot is in its workspace (auth.test), asked once and kept for the process."""

    def __init__(self, ask: Callable[[], Awaitable[dict]]) -> None:
        self._ask = ask
        self._known: dict | None = None

    async def get(self) -> dict:
        if self._known is None:
            try:
                self._known = await self._ask()
            except Exception:  # noqa: BLE001 - Slack unreachable: ask again next time
                log.warning("could not ask Slack who the bot is (auth.test)")
                return {}
        return self._known


def build_bolt_app(deps: Deps, identity: BotIdentity, replaying: bool = False) -> AsyncApp:
    """`replaying`: the worker's app, which dispatches stored events (bot/events.py) and
    runs each event's listener to the end before the dispatch returns."""
    settings = deps.settings

    async def authorize(enterprise_id: str | None, team_id: str | None, **_: object):
        """The single-workspace token, with the bot's ids asked once (auth.test) at startup
        rather than on the first request, so no Web API call ever precedes an ack."""
        known = await identity.get()
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=settings.slack_bot_token,
            bot_user_id=known.get("user_id"), bot_id=known.get("bot_id"),
        )

    oauth: dict[str, object] = {"authorize": authorize}
    if deps.installations is not None:  # OAuth: many workspaces, each with its own token
        oauth = {
            "authorize": InstalledBotAuthorize(deps.installations),
            "oauth_settings": oauth_settings(settings, deps.installations.store, deps.db),
        }
    get_bolt_logger(AsyncApp).addFilter(without_token_notes)  # added once however often
    app = AsyncApp(
        name="requestbot",  # else Bolt reads its caller's source through inspect.stack()
        signing_secret=settings.slack_signing_secret or "",
        **oauth,  # type: ignore[arg-type]
        client=make_client(settings.slack_api_url, settings.slack_bot_token, deps.api.session),
        request_verification_enabled=not settings.socket_mode,
        process_before_response=replaying,
        raise_error_for_unhandled_request=False,
    )

    app.middleware(KeepFirstAck())

    @app.error
    async def report_error(error: Exception, body: dict, response=None):
        """The one place an unexpected error ends (bot/errors.py): logged with a short ref
        the user is shown; before the ack, Slack is answered with the error instead."""
        return await answer_error(deps, error, body, response)

    listeners.register_all(app, deps)
    return app
