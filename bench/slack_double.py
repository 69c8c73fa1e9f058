"""The Slack Web API double (tests/slack/double.py) for benchmarks: in its own process, or
in-process with Slack's per-channel pacing of chat.postMessage.

As a process (so its threads never compete with the load driver for the GIL):

    python bench/slack_double.py --delay 0.05

prints its base URL on the first line of stdout, then answers one JSON line per command
read from stdin: `stats` (calls by method, errors, violations), `posts` (accepted
chat.postMessage by channel, and 429s), `delay <seconds>`,
`reset`, `quit`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.slack.double import Call, SlackDouble  # noqa: E402


class PacedSlackDouble(SlackDouble):
    """Answers chat.postMessage to a channel more often than `per_second` (after a burst of
    `burst`) with HTTP 429 and `Retry-After`, as Slack's "special" rate limit tier does:
    https://api.slack.com/methods/chat.postMessage#rate_limiting"""

    def __init__(self, per_second: float = 1.0, burst: int = 1) -> None:
        super().__init__()
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._pace_lock = threading.Lock()

    def _allowed(self, channel: str) -> tuple[bool, float]:
        now = time.monotonic()
        with self._pace_lock:
            tokens, at = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[channel] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[channel] = (tokens, now)
            return False, (1.0 - tokens) / self.per_second

    def _handle(self, request: Any, http_method: str) -> None:
        if not request.path.startswith("/api/chat.postMessage"):
            super()._handle(request, http_method)
            return
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        channel = _channel_of(raw, request.headers.get("Content-Type", ""))
        allowed, wait = self._allowed(channel)
        if allowed:
            connection_file = request.rfile
            request.rfile = io.BytesIO(raw)  # the double reads the body again
            try:
                super()._handle(request, http_method)
            finally:
                request.rfile = connection_file  # keep-alive: the next request comes here
            return
        retry_after = max(1, int(wait + 0.999))  # Slack's Retry-After is whole seconds
        body = {"ok": False, "error": "ratelimited"}
        with self._changed:
            self.calls.append(Call("chat.postMessage", {"channel": channel}, {}, None,
                                   time.time(), http_method, 429, body))
            self._changed.notify_all()
        request.reply(429, body, {"Retry-After": str(retry_after)})


def _channel_of(raw: bytes, content_type: str) -> str:
    text = raw.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            return str(json.loads(text).get("channel", ""))
        except (ValueError, AttributeError):
            return ""
    return dict(parse_qsl(text)).get("channel", "")


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
    """chat.postMessage calls Slack accepted, by channel, and how many were rate limited."""
    with double._lock:
        calls = [c for c in double.calls if c.method == "chat.postMessage"]
    ok = [c for c in calls if c.status == 200 and c.response.get("ok")]
    last: dict[str, float] = {}
    for call in ok:
        channel = str(call.response.get("channel"))
        last[channel] = max(last.get(channel, 0.0), call.at)
    return {"accepted": dict(Counter(str(c.response.get("channel")) for c in ok)),
            "last_accepted_at": last,
            "rate_limited": sum(1 for c in calls if c.status == 429)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--paced", action="store_true",
                        help="answer chat.postMessage over 1/s per channel with 429")
    args = parser.parse_args()
    double = PacedSlackDouble() if args.paced else SlackDouble()
    double.delay(args.delay)
    double.start()
    print(double.base_url, flush=True)
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
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
