"""A Slack request's shape, checked as Bolt reads it.

Bolt assumes Slack's shapes (a JSON object, `payload` holding a JSON object whose `team`,
`user` and `view` are objects…) and raises on anything else. Slack never sends such
bodies, so one is answered 400 when signed (a bug or a probe) and 401 when not.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

OBJECT_FIELDS = ("team", "user", "view", "message", "channel", "container", "enterprise",
                 "event", "state", "authorizations_list")
LIST_FIELDS = ("actions", "authorizations")


def unreadable(body: bytes, content_type: str) -> str | None:
    """What stops Bolt from reading the body at all (checked before it parses it)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    readable = ("application/json", "application/x-www-form-urlencoded")
    if body.strip() and not any(kind in content_type for kind in readable):
        return f"content type {content_type!r}"
    return None


def shape_problem(data: Any) -> str | None:
    """What is wrong with a parsed body (Bolt's, so it is parsed once), or None."""
    if not isinstance(data, dict):
        return "body is not a JSON object"
    return _fields_problem(data, "body")


def kind_of(data: dict[str, Any]) -> tuple[str, str | None]:
    """A Slack request's kind and workspace, for logs and metrics."""
    if data.get("type") == "event_callback":
        return f"event:{(data.get('event') or {}).get('type', '?')}", data.get("team_id")
    if "command" in data:
        return "command", data.get("team_id")
    if "type" in data:
        return str(data["type"]), (data.get("team") or {}).get("id") or data.get("team_id")
    return "unknown", None


def _fields_problem(data: dict[str, Any], what: str) -> str | None:
    if not isinstance(data.get("type", ""), str):
        return f"{what}.type is not a string"
    for name in OBJECT_FIELDS:
        if name in data and data[name] is not None and not isinstance(data[name], dict):
            return f"{what}.{name} is not an object"
    for name in LIST_FIELDS:
        value = data.get(name)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, dict) for v in value)):
            return f"{what}.{name} is not a list of objects"
    if data.get("type") == "event_callback" and not isinstance(data.get("event"), dict):
        return f"{what}.event is missing"
    event, view = data.get("event"), data.get("view")
    if isinstance(event, dict) and not isinstance(event.get("type", ""), str):
        return f"{what}.event.type is not a string"
    if isinstance(view, dict):
        if view.get("state") is not None and not isinstance(view["state"], dict):
            return f"{what}.view.state is not an object"
        if not isinstance(view.get("blocks", []), list):
            return f"{what}.view.blocks is not a list"
    return None


def signed(secret: str | None, body: bytes, headers: Any) -> bool:
    """Slack's signature check (v0 HMAC-SHA256 of the raw bytes, five minutes' grace)."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if not secret or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
