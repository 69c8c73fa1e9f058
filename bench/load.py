"""Ack latency and throughput: signed Slack requests against `requestbot serve` and the bare
Bolt app, each a subprocess on its own core.

Four kinds of request, each what Slack sends when people use the bot:
- `command`: `/request Bulk CSV export for Acme, …` (the bot acks, then opens the modal);
- `action`: a blocker button ("Blocks a deal") on a real request's follow-up question
  (the bot stores the answer in one transaction before it acks);
- `view`: the request modal submitted (the bot stores the request before it acks, then
  posts its card);
- `event`: a rep's reply in a request's thread ("4 customers, about $75k ARR"; Bolt acks
  at once, the bot reads and stores it after).

Latency is the time from sending a request to reading the whole response (the ack), seen
by the driver. A phase sends `count` requests of one kind from `concurrency` workers;
after it, the server's CPU is read once it has finished its work after the acks, so
CPU per request includes that work.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import proc
from tests.processes import stop_group
from tests.slack import payloads
from tests.slack.signing import sign

SIGNING_SECRET = "bench-signing-secret-8f742231b10e"
BOT_TOKEN = "xoxb-1234-5678-requestbot-bench"
REP = "U0REP0001"
DECIDER = "U0PM00001"
CHANNEL = "C0SALES01"
TEAM_ID = payloads.TEAM_ID
KINDS = ("command", "action", "view", "event")
SLOW_ACK_SECONDS = 3.0
POOL_SIZE = 64  # requests the actions and thread replies are spread over


# -- the servers -------------------------------------------------------------------------
class Server:
    """A server subprocess, pinned to `cpu` when given, answering GET /healthz."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 workdir: Path, cpu: int | None, database_url: str | None = None) -> None:
        self.name = name
        self.database_url = database_url  # the bot's: its owed work, its PostgreSQL backends
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.argv = (["taskset", "-c", str(cpu)] if cpu is not None else []) + argv
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name.replace(' ', '_').replace('/', '_')}-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._owed: OwedWork | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid  # taskset execs the server: same pid

    def start(self, timeout: float = 30) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.workdir, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # stop_group ends it all
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=0.5) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer /healthz: {self.log_tail()}")

    @property
    def owed(self) -> OwedWork | None:
        """What the bot still owes, read from its database (None for the bare app)."""
        if self._owed is None and self.database_url is not None:
            self._owed = OwedWork(self.database_url)
        return self._owed

    def settle(self) -> float:
        """`proc.settle` until the server and its worker are idle and owe no job."""
        return proc.settle(self.pid, self.owed.jobs if self.owed else None)

    def database_cpu(self) -> dict[int, float]:
        return self.owed.backend_cpu() if self.owed else {}

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the server and whatever it started: a worker that outlived it would go on
        filing and sending during the next server's phases."""
        if self._owed is not None:
            self._owed.close()
            self._owed = None
        if self.process is not None:
            stop_group(self.process, timeout=30)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "REQUESTBOT_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


ROOT = Path(__file__).resolve().parents[1]


def bot_server(database_url: str, api_url: str, workdir: Path, cpu: int | None) -> Server:
    env = {**_base_env(), "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_API_URL": api_url, "DATABASE_URL": database_url,
           "REQUESTBOT_DECIDERS": DECIDER, "REQUESTBOT_LOG_FORMAT": "json"}
    port = free_port()
    argv = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    return Server("bot", argv, env, port, workdir, cpu, database_url)


def bare_server(workdir: Path, cpu: int | None) -> Server:
    env = {**_base_env(), "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN}
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--port", str(port)]
    return Server("bare", argv, env, port, workdir, cpu)


class DoubleProcess:
    """bench/slack_double.py in its own process, pinned to the driver's core."""

    def __init__(self, delay: float, paced: bool = False,
                 workspace_per_minute: float | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "slack_double.py"), "--delay", str(delay),
             *(["--paced"] if paced else []),
             *(["--workspace-per-minute", str(workspace_per_minute)]
               if workspace_per_minute else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_base_env(),
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the Slack double did not start")

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# -- what is sent ------------------------------------------------------------------------
@dataclass(frozen=True)
class PooledRequest:
    id: int
    channel_id: str
    thread_ts: str


COMMAND_TEXTS = (
    "Bulk CSV export for Acme, 3 customers, $120k ARR, blocker",
    "SAML single sign-on for Globex and Initech, $80k ARR",
    "Dark mode",
    "Audit log export via the API for Umbrella Corp, churn risk, €50,000",
)
BLOCKERS = ("deal_blocker", "churn_risk", "none")


def _request_view() -> dict[str, Any]:
    from bot.blocks.request_modal import RequestPrefill, request_modal
    from bot.forms import RequestModalContext
    from models import RequestSource

    context = RequestModalContext(source=RequestSource.COMMAND, channel_id=CHANNEL)
    return request_modal(RequestPrefill(), context.model_dump_json())


def _state(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """The modal's state as Slack reports it on submit (see tests/flows/helpers.state_for)."""
    states = {
        "plain_text_input": payloads.text_state,
        "number_input": lambda v: payloads.number_state(v, decimal=False),
        "static_select": payloads.select_state,
        "datepicker": payloads.date_state,
    }
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") == "input":
            element = block["element"]
            state[block["block_id"]] = {
                element["action_id"]: states[element["type"]](values.get(block["block_id"]))
            }
    return state


class Traffic:
    """Builds the i-th request of each kind: (body, content type)."""

    def __init__(self, pool: list[PooledRequest]) -> None:
        import random

        from bench import vocab

        self.pool = pool
        self.view = _request_view()
        rng = random.Random(8)
        self.titles = [vocab.title(rng) for _ in range(97)]
        self.customers = [vocab.customer_name(i) for i in range(53)]

    def command(self, i: int) -> tuple[str, str]:
        return payloads.slash_command(COMMAND_TEXTS[i % len(COMMAND_TEXTS)], REP, CHANNEL)

    def action(self, i: int) -> tuple[str, str]:
        request = self.pool[i % len(self.pool)]
        blocker = BLOCKERS[(i // len(self.pool)) % len(BLOCKERS)]
        action_id = f"blocker_answer_{blocker}"
        message = {"ts": request.thread_ts, "text": "A few questions", "blocks": [{
            "type": "actions", "block_id": f"follow_up_{request.id}",
            "elements": [{"type": "button", "action_id": action_id,
                          "text": {"type": "plain_text", "text": blocker},
                          "value": f"{request.id}:{blocker}"}],
        }]}
        return payloads.block_actions(action_id, f"{request.id}:{blocker}", REP,
                                      channel_id=request.channel_id, message=message)

    def view_submission(self, i: int) -> tuple[str, str]:
        values = {
            "title": self.titles[i % len(self.titles)],
            "problem": "They export by hand every week and want it automated.",
            "customers": self.customers[i % len(self.customers)],
            "customer_count": str(1 + i % 5),
            "revenue": f"${20 + i % 180}k ARR",
            "blocker": BLOCKERS[i % len(BLOCKERS)] if i % 4 else None,
        }
        return payloads.view_submission(
            self.view["callback_id"], _state(self.view, values), self.view["private_metadata"],
            REP, view=self.view, view_id=f"V{uuid.uuid4().hex[:10].upper()}",
        )

    def event(self, i: int) -> tuple[str, str]:
        request = self.pool[i % len(self.pool)]
        text = f"{2 + i % 40} customers, about ${10 + i % 90}k ARR"
        event = payloads.message_event(request.channel_id, REP, text, thread_ts=request.thread_ts)
        return payloads.event_callback(event)


def _builder(traffic: Traffic, kind: str) -> Callable[[int], tuple[str, str]]:
    return traffic.view_submission if kind == "view" else getattr(traffic, kind)


def bare_pool() -> list[PooledRequest]:
    return [PooledRequest(i, CHANNEL, f"1700000000.{i:06d}") for i in range(1, POOL_SIZE + 1)]


def bot_pool(database_url: str, size: int = POOL_SIZE, after_id: int = 0
             ) -> list[PooledRequest]:
    """Requests the bot filed and posted (their card's thread exists), newest first;
    only ids above `after_id` (on a populated database: not the generated ones)."""
    from sqlalchemy import select

    from bot.db import make_engine
    from models import Request

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Request.id, Request.channel_id, Request.thread_ts)
                .where(Request.thread_ts.is_not(None), Request.id > after_id)
                .order_by(Request.id.desc()).limit(size)
            ).all()
    finally:
        engine.dispose()
    return [PooledRequest(*row) for row in rows]


# -- driving -----------------------------------------------------------------------------
@dataclass
class Phase:
    server: str
    kind: str
    concurrency: int
    count: int
    seconds: float
    latencies: list[float]
    statuses: Counter = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # the server and its worker, until both went quiet
    driver_cpu_seconds: float = 0.0
    ack_cpu_seconds: float = 0.0  # the serving process alone (it acks)
    db_cpu_seconds: float = 0.0  # the bot's PostgreSQL backends (included in cpu_seconds)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def slow(self) -> int:
        return sum(1 for latency in self.latencies if latency > SLOW_ACK_SECONDS)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds / self.count * 1000 if self.count else 0.0

    @property
    def ack_cpu_ms_per_request(self) -> float:
        return self.ack_cpu_seconds / self.count * 1000 if self.count else 0.0

    @property
    def driver_busy(self) -> float:
        """The driver's share of its core during the phase (near 1.0: the driver limits)."""
        return self.driver_cpu_seconds / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {"server": self.server, "kind": self.kind, "concurrency": self.concurrency,
                "count": self.count, "rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2), "mean_ms": round(statistics.fmean(
                    self.latencies) * 1000, 2) if self.latencies else None,
                "errors": self.errors, "slow": self.slow,
                "cpu_ms_per_request": round(self.cpu_ms_per_request, 3),
                "ack_cpu_ms_per_request": round(self.ack_cpu_ms_per_request, 3),
                "db_cpu_ms_per_request": round(self.db_cpu_seconds / self.count * 1000, 3)
                if self.count else 0.0,
                "driver_busy": round(self.driver_busy, 2)}


async def send_all(url: str, build: Callable[[int], tuple[str, str]], count: int,
                   concurrency: int) -> tuple[float, list[float], Counter]:
    """Sends `count` signed requests from `concurrency` workers; (seconds, latencies, statuses)."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    indexes = iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async def worker() -> None:
            for i in indexes:
                body, content_type = build(i)
                data = body.encode()
                headers = sign(data, SIGNING_SECRET, content_type=content_type)
                started = time.perf_counter()
                try:
                    async with http.post(url, data=data, headers=headers) as response:
                        await response.read()
                        status: int | str = response.status
                except (TimeoutError, aiohttp.ClientError) as error:
                    status = type(error).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, statuses


def run_phase(server: Server, label: str, traffic: Traffic, kind: str, count: int,
              concurrency: int) -> Phase:
    url = f"{server.url}/slack/events"
    cpu_before = server.settle()
    db_before = server.database_cpu()
    ack_cpu_before = proc.cpu_seconds(server.pid)
    driver_before = proc.cpu_seconds(os.getpid())
    seconds, latencies, statuses = asyncio.run(
        send_all(url, _builder(traffic, kind), count, concurrency)
    )
    driver_cpu = proc.cpu_seconds(os.getpid()) - driver_before
    cpu_after = server.settle()
    db_after = server.database_cpu()
    db_cpu = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    return Phase(label, kind, concurrency, count, seconds, latencies, statuses,
                 cpu_after - cpu_before + db_cpu, driver_cpu,
                 proc.cpu_seconds(server.pid) - ack_cpu_before, db_cpu)


class OwedWork:
    """What the bot still owes after a phase's acks, read from its database: jobs stored
    and not yet done (on SQLite also those in the inbox file the worker has not taken in),
    and the CPU its PostgreSQL backends have used (a query the worker waits on runs
    there: without it the bot looks idle, and cheaper, while PostgreSQL works)."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from bot.db import normalize_url
        from bot.inbox import JobInbox

        self.engine = create_engine(normalize_url(database_url), poolclass=NullPool)
        inbox = JobInbox.path_beside(database_url)
        self.inbox = create_engine(f"sqlite:///{inbox}", poolclass=NullPool) if inbox else None

    def jobs(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as connection:
            owed = connection.execute(text("SELECT count(*) FROM job")).scalar_one()
            marks = dict(connection.execute(
                text("SELECT generation, last_id FROM job_inbox_mark")).all())
        if self.inbox is not None:
            with self.inbox.connect() as inbox:
                for (generation,) in inbox.execute(text("SELECT generation FROM inbox_generation")):
                    owed += inbox.execute(text("SELECT count(*) FROM inbox_job WHERE id > :mark"),
                                          {"mark": marks.get(generation, 0)}).scalar_one()
        return owed

    def backend_cpu(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL backend serving the bot's database (same host)."""
        if self.engine.dialect.name != "postgresql":
            return {}
        from sqlalchemy import text

        with self.engine.connect() as connection:
            pids = connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars().all()
        cpu = {}
        for pid in pids:
            try:
                cpu[pid] = proc.cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
        return cpu

    def close(self) -> None:
        self.engine.dispose()
        if self.inbox is not None:
            self.inbox.dispose()


def warm_up(server: Server, traffic: Traffic, kinds: tuple[str, ...], count: int = 40) -> None:
    url = f"{server.url}/slack/events"
    for kind in kinds:
        asyncio.run(send_all(url, _builder(traffic, kind), count, 4))
    server.settle()


def wait_for_pool(database_url: str, timeout: float = 60, after_id: int = 0
                  ) -> list[PooledRequest]:
    """After the warm-up submissions: the requests whose card the bot has posted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool = bot_pool(database_url, after_id=after_id)
        if len(pool) >= min(POOL_SIZE, 8):
            return pool
        time.sleep(0.2)
    raise RuntimeError("the bot posted no request cards: is the outbox delivering?")
