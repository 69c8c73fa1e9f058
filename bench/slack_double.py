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
import json
import sys
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
    parser.add_argument("--workspace-per-minute", type=float, default=None,
                        help="with --paced: also over this many posts a minute per workspace")
    args = parser.parse_args()
    double = (PacedSlackDouble(workspace_per_minute=args.workspace_per_minute) if args.paced
              else SlackDouble())
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
