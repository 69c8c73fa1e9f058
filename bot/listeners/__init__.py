"""Listeners, one module per part of the product; each has `register(app, deps)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.listeners import capture, follow_up, lifecycle


def register_all(app: AsyncApp, deps: Deps) -> None:
    for module in (capture, follow_up, lifecycle):
        module.register(app, deps)
