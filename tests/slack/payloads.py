"""Requests shaped like the ones Slack sends an app, and a driver that sends them signed.

Each builder returns `(body, content_type)`: slash commands are form-encoded, interactivity
is form-encoded with one `payload` field holding JSON, the Events API sends JSON. The
shapes follow Slack's reference pages and the payloads in slack-bolt's own tests.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.slack import signing
from tests.slack.signing import FORM, JSON, retry_headers

TEAM_ID = "T0TEAM001"
TEAM_DOMAIN = "example"
APP_ID = "A0REQBOT01"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated by Slack, still sent
RESPONSE_URL_BASE = "https://hooks.slack.com/"

_sequence = itertools.count(1)

Payload = tuple[str, str]


def new_trigger_id() -> str:
    n = next(_sequence)
    return f"{1700000000000 + n}.{1000000000 + n}.{uuid.uuid4().hex}"


def now_ts() -> str:
    """A message timestamp (`ts`) as Slack writes it: seconds with six decimals."""
    return f"{time.time():.6f}"


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _channel(channel_id: str) -> dict[str, str]:
    return {"id": channel_id, "name": "directmessage" if channel_id[0] == "D" else channel_id.lower()}


def _response_url(team_id: str, kind: str) -> str:
    return f"{RESPONSE_URL_BASE}{kind}/{team_id}/{next(_sequence)}/{uuid.uuid4().hex[:24]}"


def _interactive(payload: dict[str, Any]) -> Payload:
    return urlencode({"payload": json.dumps(payload)}), FORM


def _common(type_: str, user_id: str, team_id: str) -> dict[str, Any]:
    return {
        "type": type_,
        "token": VERIFICATION_TOKEN,
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def slash_command(
    text: str, user_id: str, channel_id: str, team_id: str = TEAM_ID, command: str = "/request",
    trigger_id: str | None = None,
) -> Payload:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel(channel_id)["name"],
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": _response_url(team_id, "commands"),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urlencode(fields), FORM


def message_shortcut(
    callback_id: str, message: dict[str, Any], channel_id: str, user_id: str,
    team_id: str = TEAM_ID, trigger_id: str | None = None,
) -> Payload:
    """A message shortcut ("File as feature request") run on `message` in `channel_id`."""
    payload = _common("message_action", user_id, team_id)
    payload.update({
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "action_ts": now_ts(),
        "message_ts": message["ts"],
        "channel": _channel(channel_id),
        "message": {"type": "message", **message},
        "response_url": _response_url(team_id, "app"),
    })
    return _interactive(payload)


def global_shortcut(
    callback_id: str, user_id: str, team_id: str = TEAM_ID, trigger_id: str | None = None
) -> Payload:
    payload = _common("shortcut", user_id, team_id)
    payload.update({
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "action_ts": now_ts(),
    })
    return _interactive(payload)


def _find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The block id and element carrying `action_id` in `blocks`, as Slack reports them."""
    for block in blocks:
        elements = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if key in block:
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id", uuid.uuid4().hex[:5]), element
    return uuid.uuid4().hex[:5], {"type": "button", "action_id": action_id}


def _action(action_id: str, value: str | None, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    block_id, element = _find_element(blocks, action_id)
    action: dict[str, Any] = {
        "action_id": action_id, "block_id": block_id, "type": element["type"], "action_ts": now_ts(),
    }
    if element["type"] == "button":
        action["text"] = element.get("text", {"type": "plain_text", "text": action_id})
        if value is not None:
            action["value"] = value
        if "style" in element:
            action["style"] = element["style"]
    elif element["type"] in ("static_select", "overflow", "radio_buttons"):
        options = element.get("options") or [
            o for group in element.get("option_groups", []) for o in group["options"]
        ]
        chosen = next((o for o in options if o.get("value") == value), None)
        action["selected_option"] = chosen or {
            "text": {"type": "plain_text", "text": str(value)}, "value": value,
        }
    elif element["type"] == "users_select":
        action["selected_user"] = value
    elif element["type"] == "datepicker":
        action["selected_date"] = value
    else:
        action["value"] = value
    return action


def block_actions(
    action_id: str, value: str | None, user_id: str, team_id: str = TEAM_ID,
    channel_id: str | None = None, message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None, container: dict[str, Any] | None = None,
    trigger_id: str | None = None, state_values: dict[str, Any] | None = None,
) -> Payload:
    """A click (or choice) on an element with `action_id` in a message or a view.

    Give the `message` (as posted, with its `ts` and `blocks`) or the `view` (as the double's
    `views.open`/`views.publish` answered it) the element is in: the action's block id and
    type are read from it, as Slack reports them.
    """
    payload = _common("block_actions", user_id, team_id)
    payload["trigger_id"] = trigger_id or new_trigger_id()
    payload["state"] = {"values": state_values or {}}
    blocks: list[dict[str, Any]] = []
    if view is not None:
        blocks = view.get("blocks", [])
        payload["container"] = container or {"type": "view", "view_id": view.get("id")}
        payload["view"] = _view_payload(view, state_values or {})
    else:
        if message is not None:
            blocks = message.get("blocks", [])
            payload["message"] = {"type": "message", **message}
        if channel_id is not None:
            payload["channel"] = _channel(channel_id)
        payload["container"] = container or {
            "type": "message", "message_ts": (message or {}).get("ts"),
            "channel_id": channel_id, "is_ephemeral": False,
        }
        payload["response_url"] = _response_url(team_id, "actions")
    payload["actions"] = [_action(action_id, value, blocks)]
    return _interactive(payload)


def _view_payload(view: dict[str, Any], state_values: dict[str, Any], **fields: Any) -> dict:
    """A view as Slack includes it in interaction payloads."""
    base = {
        "id": "V0VIEW0001", "team_id": TEAM_ID, "type": "modal", "blocks": [],
        "private_metadata": "", "callback_id": "", "hash": "1700000000.abcdef12",
        "title": {"type": "plain_text", "text": "Modal"}, "clear_on_close": False,
        "notify_on_close": False, "close": None, "submit": None, "external_id": "",
        "previous_view_id": None, "root_view_id": None, "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID, "bot_id": BOT_ID,
    }
    merged = {**base, **view, **{k: v for k, v in fields.items() if v is not None}}
    merged["root_view_id"] = merged["root_view_id"] or merged["id"]
    merged["state"] = {"values": state_values}
    return merged


def view_submission(
    callback_id: str, state_values: dict[str, Any], private_metadata: str, user_id: str,
    team_id: str = TEAM_ID, view_id: str | None = None, view_hash: str | None = None,
    view: dict[str, Any] | None = None,
) -> Payload:
    """A modal submitted with `state_values` ({block_id: {action_id: element state}}).

    Pass the `view` the bot opened (from the double's `views.open` answer) to submit it with
    its own blocks, title and ids; the given arguments take precedence.
    """
    payload = _common("view_submission", user_id, team_id)
    payload["trigger_id"] = new_trigger_id()
    payload["response_urls"] = []
    payload["view"] = _view_payload(
        view or {}, state_values, callback_id=callback_id, private_metadata=private_metadata,
        id=view_id, hash=view_hash,
    )
    return _interactive(payload)


def view_closed(
    callback_id: str, user_id: str, team_id: str = TEAM_ID, private_metadata: str = "",
    view: dict[str, Any] | None = None, is_cleared: bool = False,
) -> Payload:
    payload = _common("view_closed", user_id, team_id)
    payload["is_cleared"] = is_cleared
    payload["view"] = _view_payload(
        view or {}, {}, callback_id=callback_id, private_metadata=private_metadata,
        notify_on_close=True,
    )
    return _interactive(payload)


# Element states inside `view.state.values`, as Slack reports each input element.
def text_state(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def select_state(value: str | None, text: str | None = None) -> dict[str, Any]:
    option = None if value is None else {
        "text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value,
    }
    return {"type": "static_select", "selected_option": option}


def date_state(value: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


def number_state(value: str | None, decimal: bool = True) -> dict[str, Any]:
    return {"type": "number_input", "is_decimal_allowed": decimal, "value": value}


def users_state(user_ids: list[str]) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": user_ids}


def event_callback(
    event: dict[str, Any], team_id: str = TEAM_ID, event_id: str | None = None,
    event_time: int | None = None,
) -> Payload:
    """An Events API delivery of `event` (its body conforms to Slack's GenericEventWrapper)."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [{
            "enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID,
            "is_bot": True, "is_enterprise_install": False,
        }],
        "authed_users": [BOT_USER_ID],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return json.dumps(body), JSON


def url_verification(challenge: str) -> Payload:
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body), JSON


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[0], "channel")


def message_event(
    channel: str, user: str, text: str, ts: str | None = None, thread_ts: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    ts = ts or now_ts()
    event = {
        "type": "message", "client_msg_id": str(uuid.uuid4()), "text": text, "user": user,
        "ts": ts, "team": team_id, "channel": channel, "event_ts": ts,
        "channel_type": _channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    channel: str, user: str, text: str, ts: str | None = None, thread_ts: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    event = message_event(channel, user, text, ts, thread_ts, team_id)
    event["type"] = "app_mention"
    del event["channel_type"]
    return event


def reaction_added_event(
    user: str, reaction: str, channel: str, ts: str, item_user: str
) -> dict[str, Any]:
    return {
        "type": "reaction_added", "user": user, "reaction": reaction, "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": now_ts(),
    }


def app_home_opened_event(
    user: str, tab: str = "home", channel: str | None = None, view: dict[str, Any] | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_home_opened", "user": user, "channel": channel or f"D{user[1:]}",
        "tab": tab, "event_ts": now_ts(),
    }
    if view is not None:
        event["view"] = view
    return event


class SlackClient:
    """Sends signed requests to the bot's HTTP endpoint, as Slack does."""

    def __init__(
        self, base_url: str, signing_secret: str, path: str = "/slack/events",
        team_id: str = TEAM_ID, timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport` lets a test call an app in-process (e.g. `httpx.WSGITransport`)."""
        self.url = base_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.http = httpx.Client(timeout=timeout, transport=transport)

    def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None,
        timestamp: int | None = None, sign: bool = True,
    ) -> httpx.Response:
        if sign:
            sent = signing.sign(body, self.signing_secret, timestamp, content_type=content_type)
        else:
            sent = {"Content-Type": content_type}
        sent.update(headers or {})
        return self.http.post(self.url, content=body.encode(), headers=sent)

    def command(self, text: str, user_id: str, channel_id: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("team_id", self.team_id)
        return self.post(*slash_command(text, user_id, channel_id, **kwargs))

    def shortcut(
        self, callback_id: str, user_id: str, message: dict[str, Any] | None = None,
        channel_id: str | None = None, **kwargs: Any,
    ) -> httpx.Response:
        """A message shortcut when `message` (and its `channel_id`) is given, else a global one."""
        kwargs.setdefault("team_id", self.team_id)
        if message is None:
            return self.post(*global_shortcut(callback_id, user_id, **kwargs))
        if channel_id is None:
            raise ValueError("a message shortcut needs the message's channel_id")
        return self.post(*message_shortcut(callback_id, message, channel_id, user_id, **kwargs))

    def action(
        self, action_id: str, user_id: str, value: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        kwargs.setdefault("team_id", self.team_id)
        return self.post(*block_actions(action_id, value, user_id, **kwargs))

    def submit_view(
        self, callback_id: str, state_values: dict[str, Any], user_id: str,
        private_metadata: str = "", **kwargs: Any,
    ) -> httpx.Response:
        kwargs.setdefault("team_id", self.team_id)
        return self.post(
            *view_submission(callback_id, state_values, private_metadata, user_id, **kwargs)
        )

    def close_view(self, callback_id: str, user_id: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("team_id", self.team_id)
        return self.post(*view_closed(callback_id, user_id, **kwargs))

    def event(
        self, event: dict[str, Any], retry_num: int | None = None,
        retry_reason: str = "http_timeout", **kwargs: Any,
    ) -> httpx.Response:
        kwargs.setdefault("team_id", self.team_id)
        headers = retry_headers(retry_num, retry_reason) if retry_num is not None else None
        return self.post(*event_callback(event, **kwargs), headers=headers)

    def close(self) -> None:
        self.http.close()

