"""Slack's published specs, as the double uses them.

The Web API method list is extracted from Slack's 2021 OpenAPI spec (see spec/README.md);
the Events API spec is copied unchanged. Both live in `spec/` so the tests need nothing
outside the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parent / "spec"

# The 2021 spec lacks methods and arguments Slack added later (checked against Slack's method
# docs). Each entry: method -> (verb, extra argument names, extra required argument names).
KNOWN_ADDITIONS: dict[str, tuple[str, set[str], set[str]]] = {
    "apps.connections.open": ("POST", set(), set()),  # Socket Mode, 2021-later; app-level token
    "files.getUploadURLExternal": ("GET", {"filename", "length", "alt_txt", "snippet_type"},
                                   {"filename", "length"}),
    "files.completeUploadExternal": ("POST", {"files", "channel_id", "initial_comment",
                                              "thread_ts"}, {"files"}),
    "chat.postMessage": ("POST", {"metadata", "markdown_text"}, set()),
    "chat.postEphemeral": ("POST", {"markdown_text"}, set()),
    "chat.update": ("POST", {"metadata", "reply_broadcast", "file_ids", "markdown_text"}, set()),
    "chat.scheduleMessage": ("POST", {"metadata"}, set()),
    "conversations.history": ("GET", {"include_all_metadata"}, set()),
    "conversations.replies": ("GET", {"include_all_metadata"}, set()),
    "oauth.v2.access": ("POST", {"grant_type", "refresh_token"}, set()),
    "views.open": ("POST", {"interactivity_pointer"}, set()),
    "views.push": ("POST", {"interactivity_pointer"}, set()),
}

# Arguments the 2021 spec marks optional although Slack answers an error without them.
REQUIRED_OVERRIDES: dict[str, set[str]] = {
    "conversations.replies": {"channel", "ts"},
    "conversations.history": {"channel"},
    "conversations.info": {"channel"},
    "users.info": {"user"},
    "chat.delete": {"channel", "ts"},
    "chat.scheduleMessage": {"channel", "post_at"},
    "views.update": {"view"},
}

# The spec requires `code`, but a token refresh (grant_type=refresh_token) sends none.
NOT_REQUIRED: dict[str, set[str]] = {"oauth.v2.access": {"code"}}

# Any method takes these: slack_sdk adds `team_id` to every call of a client made with one.
COMMON_ARGS = frozenset({"team_id"})


@dataclass(frozen=True)
class WebMethod:
    name: str
    http_method: str
    args: frozenset[str]
    required: frozenset[str]


@cache
def web_api_methods() -> dict[str, WebMethod]:
    document = json.loads((SPEC_DIR / "web_api_methods.json").read_text())
    methods: dict[str, dict[str, Any]] = {
        name: {"verb": m["http_method"], "args": set(m["args"]), "required": set(m["required"])}
        for name, m in document["methods"].items()
    }
    for name, (verb, args, required) in KNOWN_ADDITIONS.items():
        entry = methods.setdefault(name, {"verb": verb, "args": set(), "required": set()})
        entry["args"] |= args | required
        entry["required"] |= required
    for name, required in REQUIRED_OVERRIDES.items():
        methods[name]["required"] |= required
    for name, optional in NOT_REQUIRED.items():
        methods[name]["required"] -= optional
    return {
        name: WebMethod(name, m["verb"], frozenset(m["args"] | COMMON_ARGS), frozenset(m["required"]))
        for name, m in methods.items()
    }


@cache
def events_api_spec() -> dict[str, Any]:
    return json.loads((SPEC_DIR / "slack_events_api_async_v1.json").read_text())


def event_wrapper_schema() -> dict[str, Any]:
    """The JSON schema every `event_callback` body Slack sends conforms to."""
    return events_api_spec()["components"]["schemas"]["GenericEventWrapper"]

