"""Where every listener error ends: logged once with a short ref, and answered so the user
knows (an inline error that keeps a modal's input, an ephemeral note for anything else).

A listener that fails before its ack stored nothing (its one transaction rolled back), so
the answer says so; a failure after the ack is only reported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.deps import Deps
from bot.listeners.common import team_of, tell_user
from bot.services.requests import NotAllowed, RequestNotFound

log = logging.getLogger("requestbot.errors")

_notices: set[asyncio.Task] = set()


def user_message(error: Exception, ref: str, stored_nothing: bool) -> str:
    if isinstance(error, RequestNotFound):
        return "That request no longer exists."
    if isinstance(error, NotAllowed):
        return str(error)
    outcome = "Nothing was saved; please" if stored_nothing else "Please"
    if isinstance(error, OperationalError | PoolTimeout | DBAPIError):
        return (f"requestbot can't reach its database right now (ref `{ref}`). "
                f"{outcome} try again in a moment.")
    return f"Sorry, something went wrong on our side (ref `{ref}`). {outcome} try again."


def _first_input(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return None


def _json(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(body),
                        headers={"content-type": "application/json;charset=utf-8"})


async def answer_error(deps: Deps, error: Exception, body: dict[str, Any],
                       response: BoltResponse | None) -> BoltResponse | None:
    """`response` is Bolt's pending answer when the listener had not acked yet, else None."""
    ref = uuid.uuid4().hex[:8]
    kind = str(body.get("type") or ("command" if body.get("command") else "unknown"))
    expected = isinstance(error, RequestNotFound | NotAllowed)
    log.log(logging.INFO if expected else logging.ERROR, "listener failed",
            exc_info=None if expected else error,
            extra={"ref": ref, "kind": kind, "team": team_of(body), "error": type(error).__name__,
                   "acked": response is None})
    text = user_message(error, ref, stored_nothing=response is not None)
    if response is None:  # already acknowledged: a note where the user acted, if anywhere
        if kind != "event_callback":
            _notify(deps, body, text)
        return None
    if kind == "view_submission":
        block = _first_input(body.get("view") or {})
        if block is not None:  # the modal stays open with everything the user typed
            return _json({"response_action": "errors", "errors": {block: text[:2000]}})
        return _json({"response_action": "update", "view": {
            "type": "modal", "title": {"type": "plain_text", "text": "requestbot"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}})
    if kind == "command":
        return _json({"response_type": "ephemeral", "text": text})
    if kind != "event_callback":
        _notify(deps, body, text)
    return BoltResponse(status=200, body="")


def _notify(deps: Deps, body: dict[str, Any], text: str) -> None:
    """Told after the ack goes out, so telling the user never delays it."""
    task = asyncio.ensure_future(tell_user(deps, body, text))
    _notices.add(task)
    task.add_done_callback(_notices.discard)


class FirstAck(AsyncAck):
    """An ack that keeps its first answer.

    When a listener fails right after `ack()`, Bolt's runner resets the ack's response to
    None before its wait loop has seen it, and Slack gets a 404 three seconds later
    instead of the ack it was given. Keeping the first answer sends that ack at once.
    """

    def __init__(self) -> None:
        self._first: BoltResponse | None = None
        super().__init__()

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        return self._first

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if self._first is None or value is not None:
            self._first = value


class KeepFirstAck(AsyncMiddleware):
    """Global middleware: every listener's `ack` is a FirstAck. A class, which Bolt calls
    as it is: a function middleware had its arguments looked up by name and built for
    each request (4% of a slash command's CPU in the serving process)."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        req.context["ack"] = FirstAck()
        return await next()
