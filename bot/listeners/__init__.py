"""Listeners, one module per part of the product; each has `register(app, deps)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.listeners import (
    admin,
    capture,
    decisions,
    follow_up,
    home,
    lifecycle,
    merging,
    reminders,
)


def register_all(app: AsyncApp, deps: Deps) -> None:
    for module in (capture, follow_up, decisions, reminders, admin, lifecycle, merging, home):
        module.register(app, deps)
