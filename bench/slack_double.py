"""The Slack Web API double (tests/slack/double.py) for benchmarks: in its own process, or
in-process with Slack's per-channel pacing of chat.postMessage.

As a process (so it never competes with the load driver for the GIL):

    python bench/slack_double.py --delay 0.05

The process serves the double with aiohttp's server on one event loop rather than the
tests' thread per connection (`AsyncFront`): the same answers and checks, at a third of
the CPU per call. The bench runs the double on the same two cores as the bot, so a double
that spent 0.6 ms per post took a core's worth of CPU from a 10,000-reminder sweep.

prints its base URL on the first line of stdout, then answers one JSON line per command
read from stdin: `stats` (calls by method, errors, violations), `posts` (accepted
chat.postMessage by channel, and 429s), `delay <seconds>`,
`reset`, `quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.slack.double import SlackDouble, TokenBucket  # noqa: E402


class PacedSlackDouble(SlackDouble):
    """Answers chat.postMessage to a channel more often than `per_second` (after a burst of
    `burst`) with HTTP 429 and `Retry-After`, as Slack's "special" rate limit tier does:
    https://api.slack.com/methods/chat.postMessage#rate_limiting. With
    `workspace_per_minute`, also more often than that across the workspace
    (`SlackDouble.limit_posts`)."""

    def __init__(self, per_second: float = 1.0, burst: int = 1,
                 workspace_per_minute: float | None = None) -> None:
        super().__init__()
        self.per_second = per_second
        self.burst = burst
        self._channels: dict[str, TokenBucket] = {}
        if workspace_per_minute:
            self.limit_posts(workspace_per_minute)

    def _rate_limited(self, method: str, args: dict[str, Any], now: float) -> float:
        if method != "chat.postMessage":
            return 0.0
        channel = self._channels.setdefault(str(args.get("channel", "")),
                                            TokenBucket(self.per_second, self.burst))
        wait = channel.wait(now) or super()._rate_limited(method, args, now)
        if not wait:  # a post that goes out takes a token from both
            channel.take()
        return wait


class AsyncFront:
    """Serves `double` on 127.0.0.1 with aiohttp's server, in a thread of its own running
    one event loop: each request is answered by `SlackDouble.respond` (recorded, checked,
    paced) and its reply waits out the double's delay without holding a thread."""

    def __init__(self, double: SlackDouble) -> None:
        self.double = double
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="slack-double")

    def start(self) -> str:
        self._thread.start()
        if not self._started.wait(10) or not self.base_url:
            raise RuntimeError("the Slack double's server did not start")
        return self.base_url

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            status, body, extra = self.double.respond(request.method, request.raw_path,
                                                      dict(request.headers), raw)
            if self.double._delay:
                await asyncio.sleep(self.double._delay)
            return web.Response(status=status, body=json.dumps(body).encode(),
                                content_type="application/json", charset="utf-8",
                                headers=extra)

        async def serve() -> web.AppRunner:
            app = web.Application(client_max_size=16 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            port = runner.addresses[0][1]
            self.base_url = f"http://127.0.0.1:{port}/api/"
            return runner

        asyncio.set_event_loop(self._loop)
        try:
            runner = self._loop.run_until_complete(serve())
        finally:
            self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()


def stats(double: SlackDouble) -> dict[str, Any]:
    with double._lock:
        calls = list(double.calls)
        violations = list(double.violations)
    return {
        "calls": len(calls),
        "by_method": dict(Counter(c.method for c in calls)),
        "errors": sum(1 for c in calls if c.status != 200 or not c.response.get("ok", True)),
        "violations": len(violations),
        "first_violations": violations[:3],
    }


def posts(double: SlackDouble) -> dict[str, Any]:
    """chat.postMessage calls Slack accepted, by channel and per tenth of a second from the
    first (`timeline`: whether posts went out evenly), and how many were rate limited."""
    with double._lock:
        calls = [c for c in double.calls if c.method == "chat.postMessage"]
    ok = [c for c in calls if c.status == 200 and c.response.get("ok")]
    last: dict[str, float] = {}
    for call in ok:
        channel = str(call.response.get("channel"))
        last[channel] = max(last.get(channel, 0.0), call.at)
    start = min((c.at for c in ok), default=0.0)
    return {"first_at": start,
            "timeline": sorted(Counter(int((c.at - start) * 10) for c in ok).items()),
            "accepted": dict(Counter(str(c.response.get("channel")) for c in ok)),
            "last_accepted_at": last,
            "rate_limited": sum(1 for c in calls if c.status == 429)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--paced", action="store_true",
                        help="answer chat.postMessage over 1/s per channel with 429")
    parser.add_argument("--workspace-per-minute", type=float, default=None,
                        help="with --paced: also over this many posts a minute per workspace")
    args = parser.parse_args()
    double = (PacedSlackDouble(workspace_per_minute=args.workspace_per_minute) if args.paced
              else SlackDouble())
    double.delay(args.delay)
    front = AsyncFront(double)
    print(front.start(), flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "stats":
            answer: dict[str, Any] = stats(double)
        elif command == "posts":
            answer = posts(double)
        elif command == "delay":
            double.delay(float(argument))
            answer = {"delay": float(argument)}
        elif command == "reset":
            delay = double._delay
            double.reset()
            double.delay(delay)
            answer = {"reset": True}
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    front.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
