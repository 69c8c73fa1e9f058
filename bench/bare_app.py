"""The floor: a Bolt AsyncApp on the bot's server stack (Starlette adapter + uvicorn with
httptools on uvloop) that only acknowledges the kinds of request the load driver sends.

    SLACK_SIGNING_SECRET=... python bench/bare_app.py --port 3100

Same Bolt settings as the bot (signature checks on, `process_before_response=False`, an
`authorize` that needs no Web API call), so the difference to `requestbot serve` is the
bot's own work.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_app(signing_secret: str, bot_token: str) -> Starlette:
    async def authorize(enterprise_id: str | None, team_id: str | None, **_: object):
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token,
                               bot_user_id="U0BOT0001", bot_id="B0BOT0001")

    bolt = AsyncApp(signing_secret=signing_secret, authorize=authorize,
                    process_before_response=False, raise_error_for_unhandled_request=False)

    @bolt.command("/request")
    async def command(ack) -> None:
        await ack()

    @bolt.action(re.compile(".*"))
    async def action(ack) -> None:
        await ack()

    @bolt.view(re.compile(".*"))
    async def view(ack) -> None:
        await ack()

    @bolt.event("message")
    async def message() -> None:
        pass

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3100)
    args = parser.parse_args()
    app = build_app(os.environ["SLACK_SIGNING_SECRET"],
                    os.environ.get("SLACK_BOT_TOKEN", "xoxb-bare-app"))
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                lifespan="on", http="httptools", loop="uvloop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
