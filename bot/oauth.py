"""Installing the app in many workspaces: slack-sdk's SQLAlchemy stores on our database.

Bolt's AsyncApp wants async stores; slack-sdk's SQLAlchemy stores are sync. The adapters
here run each store call on a worker thread (`asyncio.to_thread`) so no database call
blocks the event loop. The tables are ours (models/installation.py), migrated by Alembic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from logging import Logger, getLogger

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import desc, select

from bot.db import Database
from bot.settings import Settings

log = getLogger(__name__)

STATE_EXPIRATION_SECONDS = 600
TOKEN_CACHE_SECONDS = 60.0


class InstallationStore(AsyncInstallationStore):
    """slack-sdk's SQLAlchemyInstallationStore, each call on a worker thread."""

    def __init__(self, store: SQLAlchemyInstallationStore) -> None:
        self.store = store
        self.on_saved: Callable[[str | None], None] | None = None

    @property
    def logger(self) -> Logger:
        return self.store.logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)
        if self.on_saved is not None:
            self.on_saved(installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await asyncio.to_thread(
            lambda: self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                        is_enterprise_install=is_enterprise_install)
        )

    async def async_find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            lambda: self.store.find_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_installation(enterprise_id=enterprise_id, team_id=team_id,
                                                   user_id=user_id)
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        )

    def installed_bot(self, team_id: str) -> InstalledBot | None:
        """The latest bot installed in a workspace (of any Enterprise Grid org): the outbox
        knows only the team id of what it posts."""
        bots = self.store.bots
        with self.store.engine.connect() as connection:
            row = connection.execute(
                select(bots.c.bot_token, bots.c.bot_user_id, bots.c.bot_id)
                .where(bots.c.client_id == self.store.client_id, bots.c.team_id == team_id,
                       bots.c.bot_token.is_not(None))
                .order_by(desc(bots.c.installed_at))
                .limit(1)
            ).one_or_none()
        return InstalledBot(row.bot_token, row.bot_user_id, row.bot_id) if row else None


@dataclass(frozen=True)
class InstalledBot:
    token: str
    bot_user_id: str | None
    bot_id: str | None


class OAuthStateStore(AsyncOAuthStateStore):
    """slack-sdk's SQLAlchemyOAuthStateStore, each call on a worker thread; the state lives in
    the shared database, so the install can start on one replica and finish on another."""

    def __init__(self, store: SQLAlchemyOAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> Logger:
        return self.store.logger

    async def async_issue(self, *args, **kwargs) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def installation_store(settings: Settings, db: Database) -> InstallationStore:
    assert settings.slack_client_id is not None
    return InstallationStore(SQLAlchemyInstallationStore(settings.slack_client_id, db.engine))


def oauth_settings(settings: Settings, store: InstallationStore, db: Database) -> AsyncOAuthSettings:
    """Bolt's default install flow (`/slack/install`, `/slack/oauth_redirect`) on our stores."""
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.slack_scopes,
        user_scopes=[],
        installation_store=store,
        state_store=OAuthStateStore(
            SQLAlchemyOAuthStateStore(STATE_EXPIRATION_SECONDS, db.engine)
        ),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
    )
    return oauth


class Installations:
    """The workspaces the app is installed in, and their bot tokens.

    Tokens are cached briefly per process (replicas each keep their own; an uninstall
    clears this process's entry at once, the others' within TOKEN_CACHE_SECONDS). A
    workspace without an installation is not cached, so a fresh install is seen at once.
    """

    def __init__(self, store: InstallationStore, ttl: float = TOKEN_CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        store.on_saved = lambda team_id: self._bots.pop(team_id or "", None)
        self._bots: dict[str, tuple[float, InstalledBot]] = {}

    async def bot(self, team_id: str | None) -> InstalledBot | None:
        if not team_id:
            return None
        cached = self._bots.get(team_id)
        if cached is not None and time.monotonic() - cached[0] <= self.ttl:
            return cached[1]
        bot = await asyncio.to_thread(self.store.installed_bot, team_id)
        if bot is None:
            self._bots.pop(team_id, None)
        else:
            self._bots[team_id] = (time.monotonic(), bot)
        return bot

    async def bot_token(self, team_id: str | None) -> str | None:
        bot = await self.bot(team_id)
        return bot.token if bot else None

    async def remove(self, team_id: str, enterprise_id: str | None) -> None:
        """Forgets a workspace's installation and tokens (uninstalled, or tokens revoked)."""
        self._bots.pop(team_id, None)
        await self.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        if enterprise_id is not None:  # rows saved before the workspace joined a Grid org
            await self.store.async_delete_all(enterprise_id=None, team_id=team_id)


class InstalledBotAuthorize(AsyncAuthorize):
    """Bolt's authorize for installed workspaces, from the stored bot row (its token and
    ids), so no auth.test call ever precedes an ack. No installation: not authorized."""

    def __init__(self, installations: Installations) -> None:
        super().__init__()
        self.installations = installations

    async def __call__(self, *, context, enterprise_id: str | None, team_id: str | None,
                       user_id: str | None, **_: object) -> AuthorizeResult | None:
        bot = await self.installations.bot(team_id)
        if bot is None:
            return None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                               bot_token=bot.token, bot_user_id=bot.bot_user_id,
                               bot_id=bot.bot_id)
