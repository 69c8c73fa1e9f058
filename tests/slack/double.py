"""A stand-in for Slack's Web API: a real HTTP server on a free local port.

Point slack_sdk's `WebClient`/`AsyncWebClient` (or the bot's `SLACK_API_URL`) at
`double.base_url`. Every call is recorded with its decoded arguments, answered the way Slack
answers it, and checked against Slack's published rules (method known, required arguments,
token, Block Kit limits); whatever Slack would reject or warn about lands in `violations`,
which tests expect to be empty at teardown.

    with SlackDouble() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        [call] = slack.wait_for("chat.postMessage")
        assert call.args["text"] == "hi" and slack.violations == []
"""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.slack.block_rules import check_blocks, check_view
from tests.slack.specs import web_api_methods
from tests.slack.workspace import Workspace

JSON_ARGS = ("blocks", "attachments", "view", "metadata", "user_auth_blocks")
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage")
VIEW_METHODS = {"views.open": "modal", "views.push": "modal", "views.update": None,
                "views.publish": "home"}
CLIENT_CREDENTIAL_METHODS = ("oauth.v2.access", "oauth.access", "oauth.v2.exchange")
MAX_MESSAGE_TEXT = 40_000


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    at: float  # time.time() when the call arrived
    http_method: str = "POST"
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    channel: str | None = None  # only calls to this channel (any when None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 drops a burst of connections (1 s SYN retries)

    def __init__(self, double: SlackDouble) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.double = double
        self.connections: set[socket.socket] = set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a bot stopped while its posts were on their
        way) is not the double's error; anything else is printed as socketserver does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as slack_sdk's clients expect
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.server.double._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.double._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class TokenBucket:
    """`per_second` tokens a second, at most `burst` saved up."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self._tokens = float(burst)
        self._at: float | None = None

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: one is)."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.per_second

    def take(self) -> None:
        self._tokens -= 1.0


class SlackDouble:
    def __init__(self) -> None:
        self.workspace = Workspace()
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._posts: TokenBucket | None = None  # the workspace-wide limit on posting
        self._delay = 0.0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> SlackDouble:
        if self._server is not None:
            raise RuntimeError("the Slack double is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="slack-double")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        for connection in list(self._server.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("start the Slack double first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- the workspace's state -----------------------------------------------------------
    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    def set_user(self, user_id: str, tz: str = "America/New_York", name: str | None = None,
                 **fields: Any) -> None:
        with self._lock:
            self.workspace.set_user(user_id, tz=tz, name=name, **fields)

    def set_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        with self._lock:
            self.workspace.usergroups[group_id] = list(user_ids)

    def set_message(self, channel: str, ts: str, text: str, user: str,
                    thread_ts: str | None = None, **fields: Any) -> dict[str, Any]:
        """A message already in Slack (e.g. one a rep wrote), for conversations.replies/history."""
        with self._lock:
            return self.workspace.set_message(channel, ts, text, user, thread_ts, **fields)

    def set_channel(self, channel_id: str, **fields: Any) -> None:
        """Overrides fields of the conversations.info answer (name, is_private, is_member…)."""
        with self._lock:
            self.workspace.channels[channel_id] = fields

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message at `ts` as it stands now (after any chat.update)."""
        with self._lock:
            return self.workspace.messages.get((channel, ts))

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open answers for `user_id`."""
        return self.workspace.dm_channel(user_id)

    # -- failures ------------------------------------------------------------------------
    def fail(self, method: str, error: str = "not_in_channel", times: int = 1, status: int = 200,
             headers: dict[str, str] | None = None, channel: str | None = None) -> None:
        """The next `times` calls of `method` ("*" for any; to `channel`, when given) answer
        `{"ok": false, "error": …}`."""
        self._add_fault(method, _Fault(times, status, {"ok": False, "error": error},
                                       headers or {}, channel))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1,
                   channel: str | None = None) -> None:
        """The next `times` calls of `method` (to `channel`, when given) answer 429."""
        self._add_fault(method, _Fault(times, 429, {"ok": False, "error": "ratelimited"},
                                       {"Retry-After": str(retry_after)}, channel))

    def limit_posts(self, per_minute: float, burst: int | None = None) -> None:
        """chat.postMessage over `per_minute` across the workspace (after a burst of `burst`,
        a tenth of a minute's worth unless given) answers 429 with Retry-After in whole
        seconds. Slack keeps such a limit beside the one per channel without publishing its
        number ("several hundred messages per minute"):
        https://api.slack.com/methods/chat.postMessage#rate_limiting"""
        self._posts = TokenBucket(per_minute / 60, burst or max(1, int(per_minute / 10)))

    def _rate_limited(self, method: str, args: dict[str, Any], now: float) -> float:
        """Seconds to wait, when Slack would answer this call 429 now (0: it would not);
        a call that goes through takes its token. Called under the lock."""
        if method != "chat.postMessage" or self._posts is None:
            return 0.0
        wait = self._posts.wait(now)
        if not wait:
            self._posts.take()
        return wait

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        self._add_fault(method, _Fault(times, status, {"ok": False, "error": "fatal_error"}, {}))

    def delay(self, seconds: float) -> None:
        """Every answer from now on waits `seconds` first (network and Slack latency)."""
        self._delay = seconds

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str, args: dict[str, Any]) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key, [])
            for fault in queue:
                if fault.channel is not None and fault.channel != args.get("channel"):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                return fault
        return None

    # -- what was called -----------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0,
                 predicate: Callable[[Call], bool] | None = None) -> list[Call]:
        """Blocks until at least `count` calls of `method` (matching `predicate`) arrived;
        returns all such calls so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls
                         if c.method == method and (predicate is None or predicate(c))]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{c.method}({', '.join(sorted(c.args))}) -> {c.status}"
                            for c in self.calls]
                    raise AssertionError(
                        f"expected {count} matching {method} call(s) within {timeout}s, "
                        f"got {len(found)}; calls seen: {seen}"
                    )
                self._changed.wait(remaining)

    def reset(self) -> None:
        """Forgets calls, violations, pending failures and the delay (not the workspace)."""
        with self._lock:
            self.calls.clear()
            self.violations.clear()
            self._faults.clear()
            self._delay = 0.0

    # -- handling one request ------------------------------------------------------------
    def _handle(self, request: _Handler, http_method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        status, response, extra = self.respond(http_method, request.path,
                                               dict(request.headers.items()), raw)
        if self._delay:
            time.sleep(self._delay)
        request.reply(status, response, extra)

    def respond(self, http_method: str, path: str, headers: dict[str, str], raw: bytes
                ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One HTTP request, whichever server took it: recorded, checked, answered (status,
        body, extra headers). The answer's delay is the server's to wait."""
        url = urlsplit(path)
        if not url.path.startswith("/api/"):
            return 404, {"ok": False, "error": "not_found"}, {}
        method = url.path[len("/api/"):]
        problems: list[tuple[str, str | None]] = []
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if "token" in query:
            problems.append(("token in the query string: Slack refuses it for new apps", None))
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        args = {**query, **_decode_body(raw, content_type, problems)}
        token = _bearer(headers) or args.pop("token", None)
        args.pop("token", None)
        for name in JSON_ARGS:
            if name in args:
                args[name] = _decode_json_arg(name, args[name], problems)
        problems += _check(method, args, token, headers)
        status, response, extra = 200, {}, {}
        with self._changed:
            self.violations += [f"{method}: {message}" for message, _ in problems]
            rejection = next((error for _, error in problems if error), None)
            fault = None if rejection else self._take_fault(method, args)
            wait = 0.0 if rejection or fault else self._rate_limited(method, args,
                                                                     time.monotonic())
            if rejection:
                response = {"ok": False, "error": rejection}
            elif fault is not None:
                status, response, extra = fault.status, dict(fault.body), fault.headers
            elif wait:
                status, response = 429, {"ok": False, "error": "ratelimited"}
                extra = {"Retry-After": str(max(1, math.ceil(wait)))}
            else:
                response = self._answer(method, args)
            self.calls.append(Call(method, args, headers, token, time.time(), http_method,
                                   status, response))
            self._changed.notify_all()
        return status, response, extra

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.workspace.answer(method, args)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self.violations.append(f"{method}: arguments Slack cannot use ({error!r})")
            return {"ok": False, "error": "invalid_arguments"}


def _decode_body(raw: bytes, content_type: str, problems: list) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8")
    if content_type.startswith("application/json"):
        body = json.loads(text)
        if not isinstance(body, dict):
            problems.append(("a JSON body must be an object", "invalid_json"))
            return {}
        return body
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True))
    problems.append((f"a body of type {content_type!r} the double does not decode", None))
    return {}


def _decode_json_arg(name: str, value: Any, problems: list) -> Any:
    """Form bodies carry `blocks`, `view`… as JSON strings; JSON bodies may too."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        problems.append((f"{name} is not valid JSON", f"invalid_{name}_format"))
        return value


def _bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


def _check(method: str, args: dict[str, Any], token: str | None,
           headers: dict[str, str]) -> list[tuple[str, str | None]]:
    """(problem, error Slack answers or None when it accepts the call anyway)."""
    spec = web_api_methods().get(method)
    if spec is None:
        return [("unknown method (not in Slack's Web API)", "unknown_method")]
    problems = _check_token(method, args, token, headers)
    missing = sorted(spec.required - args.keys())
    if missing:
        problems.append((f"missing required argument(s) {missing}", "invalid_arguments"))
    unknown = sorted(args.keys() - spec.args)
    if unknown:
        problems.append((f"argument(s) {unknown} unknown to Slack (ignored); if Slack added "
                         "them after 2021, list them in tests/slack/specs.py", None))
    if method in MESSAGE_METHODS:
        problems += _check_message(method, args)
    if method in VIEW_METHODS:
        problems += _check_view_call(method, args)
    if method == "reactions.add" and ":" in str(args.get("name", "")):
        problems.append(("reaction name must not have colons", "invalid_name"))
    return problems


def _check_token(method: str, args: dict[str, Any], token: str | None,
                 headers: dict[str, str]) -> list[tuple[str, str | None]]:
    if method in CLIENT_CREDENTIAL_METHODS:
        basic = any(k.lower() == "authorization" and v.startswith("Basic ")
                    for k, v in headers.items())
        if basic or ("client_id" in args and "client_secret" in args):
            return []
        return [("needs client_id and client_secret (Basic auth or arguments)", "invalid_client_id")]
    prefixes = ("xapp-",) if method == "apps.connections.open" else ("xoxb-", "xoxp-")
    if not token:
        return [("no token (expected Authorization: Bearer …)", "not_authed")]
    if not token.startswith(prefixes):
        return [(f"token must start with {' or '.join(prefixes)}", "invalid_auth")]
    return []


def _check_message(method: str, args: dict[str, Any]) -> list[tuple[str, str | None]]:
    problems: list[tuple[str, str | None]] = []
    text = args.get("text")
    if not text and not args.get("blocks") and not args.get("attachments"):
        if method != "chat.update" or "text" in args:
            problems.append(("no text, blocks or attachments", "no_text"))
    if args.get("blocks") and not text:
        problems.append(("blocks without a top-level text: notifications and screen readers "
                         "show nothing", None))
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        problems.append((f"text is {len(text)} characters, Slack allows {MAX_MESSAGE_TEXT}",
                         "msg_too_long"))
    if "blocks" in args:
        problems += [(p, "invalid_blocks") for p in check_blocks(args["blocks"], "message")]
    return problems


def _check_view_call(method: str, args: dict[str, Any]) -> list[tuple[str, str | None]]:
    view = args.get("view")
    problems = [(p, "invalid_arguments") for p in check_view(view)] if view is not None else []
    expected = VIEW_METHODS[method]
    if expected and isinstance(view, dict) and view.get("type") != expected:
        problems.append((f"{method} takes a {expected} view", "invalid_arguments"))
    if method == "views.update" and not args.get("view_id") and not args.get("external_id"):
        problems.append(("views.update needs view_id or external_id", "invalid_arguments"))
    return problems
