"""The state behind the Slack double: one workspace's messages, views, users and groups,
and the answers Slack's Web API methods give about them.

Answers follow Slack's method reference (response shapes and error codes); only the
fields an app reads are filled in. Callers hold the double's lock.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.slack.payloads import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

Answer = dict[str, Any]
MESSAGE_FIELDS = ("text", "blocks", "attachments", "thread_ts", "metadata")


def _stable_id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10].upper()


class Workspace:
    def __init__(self, team_id: str = TEAM_ID) -> None:
        self.team_id = team_id
        self.bot_user_id = BOT_USER_ID
        self.bot_id = BOT_ID
        self.app_id = APP_ID
        self._ts = itertools.count(100, 100)
        self._ids = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        # OAuth codes a test hands out: code -> (team id installed, bot token granted)
        self.oauth_grants: dict[str, tuple[str, str]] = {}
        # where apps.connections.open sends Socket Mode clients (a local WebSocket double)
        self.socket_mode_url: str | None = None

    # -- state set up by tests -----------------------------------------------------------
    def next_ts(self) -> str:
        """Unique, increasing message timestamps: 1700000000.000100, 1700000000.000200, ..."""
        n = next(self._ts)
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def set_user(self, user_id: str, tz: str = "America/New_York", name: str | None = None,
                 **fields: Any) -> None:
        self.users[user_id] = {"tz": tz, "name": name or user_id.lower(), **fields}

    def set_message(self, channel: str, ts: str, text: str, user: str,
                    thread_ts: str | None = None, **fields: Any) -> dict[str, Any]:
        message = {"type": "message", "user": user, "text": text, "ts": ts, "team": self.team_id,
                   **fields}
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self.messages[(channel, ts)] = message
        return message

    # -- answers -------------------------------------------------------------------------
    def answer(self, method: str, args: dict[str, Any]) -> Answer:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return handler(args) if handler else {"ok": True}

    def dm_channel(self, user_id: str) -> str:
        return _stable_id("D", self.team_id, user_id)

    def _channel_id(self, channel: str) -> str:
        """Where a post to `channel` lands: a user id (U…/W…) posts to that user's DM."""
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def _post(self, args: dict[str, Any], bot: bool = True) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": self.next_ts(), "team": self.team_id}
        if bot:
            message.update({"user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id})
        message.update({k: args[k] for k in MESSAGE_FIELDS if k in args})
        message.setdefault("text", "")
        return message

    def _chat_postMessage(self, args: dict[str, Any]) -> Answer:
        channel = self._channel_id(str(args["channel"]))
        message = self._post(args)
        self.messages[(channel, message["ts"])] = message
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_scheduleMessage(self, args: dict[str, Any]) -> Answer:
        channel = self._channel_id(str(args["channel"]))
        return {"ok": True, "channel": channel, "post_at": int(args["post_at"]),
                "scheduled_message_id": _stable_id("Q", channel, str(next(self._ids))),
                "message": self._post(args)}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "message_ts": self.next_ts()}

    def _chat_update(self, args: dict[str, Any]) -> Answer:
        key = (str(args["channel"]), str(args["ts"]))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update({k: args[k] for k in MESSAGE_FIELDS if k in args and k != "thread_ts"})
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.get("text", ""),
                "message": message}

    def _chat_delete(self, args: dict[str, Any]) -> Answer:
        key = (str(args["channel"]), str(args["ts"]))
        if self.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _chat_getPermalink(self, args: dict[str, Any]) -> Answer:
        """Answers for any message, posted or not: the bot often links messages it never saw."""
        channel, ts = str(args["channel"]), str(args["message_ts"])
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        thread_ts = self.messages.get((channel, ts), {}).get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_replies(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args["channel"]), str(args["ts"])
        parent = self.messages.get((channel, ts))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        thread_ts = parent.get("thread_ts", ts)
        replies = sorted(
            (m for (c, t), m in self.messages.items()
             if c == channel and m.get("thread_ts") == thread_ts and t != thread_ts),
            key=lambda m: float(m["ts"]),
        )
        root = self.messages.get((channel, thread_ts), parent)
        if replies:
            root = {**root, "thread_ts": thread_ts, "reply_count": len(replies)}
        messages = [root, *replies] if ts == thread_ts else [parent]
        return {"ok": True, "messages": messages, "has_more": False}

    def _conversations_history(self, args: dict[str, Any]) -> Answer:
        channel = str(args["channel"])
        latest = float(args.get("latest") or "inf")
        oldest = float(args.get("oldest") or 0)
        inclusive = str(args.get("inclusive", "false")).lower() in ("true", "1")
        limit = int(args.get("limit") or 100)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [m for (c, t), m in self.messages.items()
                 if c == channel and within(float(t))
                 and m.get("thread_ts", m["ts"]) == m["ts"]]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    def _conversations_open(self, args: dict[str, Any]) -> Answer:
        users = str(args.get("users") or "")
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        ids = sorted(u.strip() for u in users.split(","))
        channel = self.dm_channel(ids[0]) if len(ids) == 1 else _stable_id("G", *ids)
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}

    def _conversations_info(self, args: dict[str, Any]) -> Answer:
        channel = str(args["channel"])
        info = {"id": channel, "name": channel.lower(), "is_channel": channel[0] == "C",
                "is_group": channel[0] == "G", "is_im": channel[0] == "D", "is_private": False,
                "is_archived": False, "is_member": True, "created": 1690000000,
                "context_team_id": self.team_id}
        info.update(self.channels.get(channel, {}))
        return {"ok": True, "channel": info}

    def _users_info(self, args: dict[str, Any]) -> Answer:
        user_id = str(args["user"])
        known = self.users.get(user_id, {})
        tz = known.get("tz", "America/New_York")
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        name = known.get("name", user_id.lower())
        user = {
            "id": user_id, "team_id": self.team_id, "name": name, "real_name": name.title(),
            "deleted": False, "is_bot": False, "is_admin": False, "tz": tz,
            "tz_label": datetime.now(ZoneInfo(tz)).tzname(),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "updated": int(datetime.now(UTC).timestamp()),
            "profile": {"real_name": name.title(), "display_name": name,
                        "email": f"{name}@example.com", "team": self.team_id},
        }
        user.update({k: v for k, v in known.items() if k not in ("tz", "name")})
        return {"ok": True, "user": user}

    def _usergroups_users_list(self, args: dict[str, Any]) -> Answer:
        group = str(args["usergroup"])
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Example",
                "user": "requestbot", "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "app_id": self.app_id, "is_enterprise_install": False}

    def _reactions_add(self, args: dict[str, Any]) -> Answer:
        key = (str(args["channel"]), str(args["timestamp"]), str(args["name"]))
        if key in self.reactions:
            return {"ok": False, "error": "already_reacted"}
        self.reactions.add(key)
        return {"ok": True}

    def _apps_connections_open(self, args: dict[str, Any]) -> Answer:
        url = self.socket_mode_url or "wss://wss-primary.slack.com/link/"
        return {"ok": True, "url": f"{url}?ticket={next(self._ids)}"}

    def _oauth_v2_access(self, args: dict[str, Any]) -> Answer:
        """Installs in this workspace, or in the one `oauth_grants` names for the code."""
        installer = "U0INSTALL1"
        team_id, token = self.oauth_grants.get(
            str(args.get("code")), (self.team_id, "xoxb-17653672481-installed")
        )
        return {
            "ok": True, "app_id": self.app_id, "access_token": token,
            "token_type": "bot", "scope": "commands,chat:write,users:read",
            "bot_user_id": self.bot_user_id, "team": {"id": team_id, "name": "Example"},
            "enterprise": None, "is_enterprise_install": False,
            "authed_user": {"id": installer, "scope": "", "token_type": "user"},
        }

    # -- views ---------------------------------------------------------------------------
    def _new_view(self, view: dict[str, Any], view_id: str | None = None,
                  previous: dict[str, Any] | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):010d}"
        stored = {
            "id": view_id, "team_id": self.team_id, "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []), "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "state": {"values": {}},
            "hash": f"{1700000000 + next(self._ids)}.{view_id[-8:].lower()}",
            "title": view.get("title"), "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"), "submit": view.get("submit"),
            "previous_view_id": None, "root_view_id": view_id, "app_id": self.app_id,
            "external_id": view.get("external_id", ""), "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if previous is not None:
            stored["root_view_id"] = previous["root_view_id"]
            stored["previous_view_id"] = previous.get("previous_view_id")
        self.views[view_id] = stored
        return stored

    def _views_open(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "view": self._new_view(args["view"])}

    def _views_push(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "view": self._new_view(args["view"])}

    def _views_update(self, args: dict[str, Any]) -> Answer:
        current = self.views.get(str(args.get("view_id")))
        if current is None and args.get("external_id"):
            current = next((v for v in self.views.values()
                            if v["external_id"] == args["external_id"]), None)
        if current is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return {"ok": True, "view": self._new_view(args["view"], current["id"], current)}

    def _views_publish(self, args: dict[str, Any]) -> Answer:
        user_id = str(args["user_id"])
        current = self.views.get(self.home_views.get(user_id, ""))
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = self._new_view(args["view"], current["id"] if current else None, current)
        self.home_views[user_id] = view["id"]
        return {"ok": True, "view": view}
