"""What listeners need, passed in explicitly when they are registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.db import Database
from bot.jobs import Jobs
from bot.metrics import Metrics
from bot.services.deciders import DeciderDirectory
from bot.settings import Settings
from bot.slack_api import OutboxSender, SlackApi

if TYPE_CHECKING:
    from bot.oauth import Installations


@dataclass
class Deps:
    settings: Settings
    db: Database
    api: SlackApi
    sender: OutboxSender
    metrics: Metrics
    now: Callable[[], datetime]
    deciders: DeciderDirectory
    jobs: Jobs
    installations: Installations | None = None  # with OAuth: the workspaces' tokens
