"""Runs the real bot for tests: in-process behind uvicorn, or as a `requestbot serve` process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import event, text

from bot.db import Database
from bot.inbox import JobInbox
from bot.runtime import Runtime
from bot.server import create_web_app
from bot.settings import Settings
from tests.processes import stop_group
from tests.slack.double import SlackDouble
from tests.slack.payloads import SlackClient

T = TypeVar("T")

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234-5678-requestbot-test"
TEAM_ID = "T0TEAM001"
REP = "U0REP0001"
OTHER_REP = "U0REP0002"
DECIDER = "U0PM00001"
CHANNEL = "C0SALES01"


def make_settings(api_url: str, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "REQUESTBOT_DECIDERS": [DECIDER],
        "REQUESTBOT_LOG_FORMAT": "text",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float = 20) -> T:
    """What `check` found once it found something (a server process works on its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


@contextmanager
def statements_run(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Each statement the database is sent inside the block, with its parameters."""
    run: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        run.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield run
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def query_plan(connection: Any, statement: str, parameters: Any) -> str:
    """The database's plan for a statement as one line: EXPLAIN on PostgreSQL, EXPLAIN
    QUERY PLAN on SQLite (tests that a query finds its rows through an index)."""
    explain = "EXPLAIN" if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    return " ".join(str(row) for row in connection.exec_driver_sql(f"{explain} {statement}",
                                                                   parameters))


def statistics_taken_while_empty(database: Database, *tables: str) -> None:
    """PostgreSQL's planner statistics as a server with autovacuum off keeps them: taken
    while the tables were empty, however many rows a test then writes. ANALYZE of an empty
    table leaves its columns' statistics as they were, so those an earlier test took
    (the test database is shared) are deleted first."""
    with database.engine.begin() as connection:
        for table in tables:
            connection.execute(text("DELETE FROM pg_statistic WHERE starelid = CAST(:table AS regclass)"),
                               {"table": table})
        connection.execute(text(f"ANALYZE {', '.join(tables)}"))


def analysed_plan(connection: Any, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """Every node of PostgreSQL's plan for a statement as it ran (EXPLAIN ANALYZE)."""
    [[plan]] = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                                          parameters).one()
    nodes, waiting = [], [plan["Plan"]]
    while waiting:
        node = waiting.pop()
        nodes.append(node)
        waiting.extend(node.get("Plans", []))
    return nodes


REQUESTBOT = [sys.executable, "-m", "bot.cli"]
REQUESTBOT_REPORTING_COLLECTOR = [
    sys.executable, "-c",
    "import gc, sys; from bot.cli import main; code = main(sys.argv[1:]); "
    "print('collector', gc.get_threshold()[0], gc.get_freeze_count(), file=sys.stderr); "
    "sys.exit(code)",
]
"""`requestbot`, also writing the garbage collector's young threshold and frozen object
count to stderr as it exits (`collector_settings`)."""


def collector_settings(stderr: str) -> tuple[int, int]:
    """(young threshold, objects frozen) as REQUESTBOT_REPORTING_COLLECTOR wrote them."""
    line = next(line for line in stderr.splitlines() if line.startswith("collector "))
    young, frozen = line.split()[1:]
    return int(young), int(frozen)


class Clock:
    """The process clock the bot reads ("now" is passed into every query); tests move it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class BotHarness:
    def __init__(self, settings: Settings, db: Database, slack: SlackDouble, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock
        # posts are not paced a second apart per conversation here (tests that check the
        # pace set their own Pacer): flows would wait a second between a card and its thread
        self.runtime = Runtime(settings, db, now=clock.now, run_schedule=False,
                               post_interval_seconds=0.0)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        config = uvicorn.Config(
            create_web_app(self.runtime), host="127.0.0.1", port=self.port,
            log_config=None, access_log=False, lifespan="on", loop="asyncio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.slack_client = SlackClient(self.url, SIGNING_SECRET)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the bot did not start")
            time.sleep(0.01)
        if self.settings.slack_bot_token:  # with OAuth, each installation says who the bot is
            self.slack.wait_for("auth.test")  # the bot asks who it is once, at startup
        self.slack.reset()

    def stop(self) -> None:
        self.wait_idle()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.slack_client.close()

    @property
    def deps(self):
        assert self.runtime.deps is not None
        return self.runtime.deps

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Runs a coroutine on the bot's own event loop (e.g. a sweep) and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def wait_idle(self, timeout: float = 10) -> None:
        """Waits until the work listeners do after their ack has finished."""

        async def pending() -> int:
            current = asyncio.current_task()
            return sum(1 for t in asyncio.all_tasks() if t is not current and not _is_server(t))

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.thread.is_alive() or self.run(pending()) == 0:
                return
            time.sleep(0.01)
        raise AssertionError("the bot was still busy after its acks")

    def dispatch(self, body: str, content_type: str, sign: bool = True):
        """A signed request straight into the Bolt app (no HTTP): the fast path for flow tests.
        Bolt still verifies the signature and answers as it would over HTTP."""
        from slack_bolt.request.async_request import AsyncBoltRequest

        from tests.slack.signing import sign as sign_body

        headers = (sign_body(body, SIGNING_SECRET, content_type=content_type) if sign
                   else {"Content-Type": content_type})
        request = AsyncBoltRequest(body=body, headers={k.lower(): [v] for k, v in headers.items()})
        assert self.runtime.bolt is not None
        return self.run(self.runtime.bolt.async_dispatch(request))

    def deliver_outbox(self):
        return self.run(self.deps.sender.deliver())

    # Signed requests over HTTP, shaped like Slack's.
    def __getattr__(self, name: str):
        return getattr(self.slack_client, name)


def _is_server(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "")
    return name.startswith(("Server.", "LifespanOn.", "RequestResponseCycle.")) or "serve" in name


class ServedBot:
    """`requestbot serve` in its own process, as an operator runs it."""

    def __init__(
        self, workdir: Path, api_url: str, database_url: str, overrides: dict[str, object]
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REQUESTBOT_"))},
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "REQUESTBOT_DECIDERS": DECIDER,
            "REQUESTBOT_LOG_FORMAT": "json",
            **{k: str(v) for k, v in overrides.items()},
        }
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "serve.log"
        self.slack_client = SlackClient(self.url, SIGNING_SECRET)

    def start(self, timeout: float = 20) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # a group of its own: `stop` ends the worker too
            [*REQUESTBOT, "serve", "--port", str(self.port)],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"requestbot serve exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"requestbot serve did not answer /healthz: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        self.slack_client.close()
        if self.process is not None:
            stop_group(self.process)
        inbox = JobInbox.path_beside(self.env["DATABASE_URL"])
        if inbox is not None:  # the database is emptied between tests: its mark is gone
            for path in Path(inbox).parent.glob(Path(inbox).name + "*"):
                path.unlink()

    def __getattr__(self, name: str):
        return getattr(self.slack_client, name)

