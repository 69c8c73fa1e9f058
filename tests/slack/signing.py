"""Signs requests the way Slack signs what it sends to an app.

https://api.slack.com/authentication/verifying-requests-from-slack: the signature is
`v0=` + hex HMAC-SHA256, keyed with the signing secret, of `v0:{timestamp}:{raw body}`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signature(body: bytes | str, secret: str, timestamp: int) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(
    body: bytes | str, secret: str, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """The headers of a request Slack sends with `body`, signed now (or at `timestamp`)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret, ts),
    }


def retry_headers(num: int, reason: str = "http_timeout") -> dict[str, str]:
    """Headers of Slack's redelivery of an event the app did not acknowledge in time."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}
