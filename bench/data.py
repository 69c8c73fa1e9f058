"""The data paths at scale, each through the public function the bot itself calls:

- App Home for a decider (the demand/App Home builder);
- similar-request lookup for a new request (the similar-request service);
- `requestbot export --format csv` as a subprocess: time and peak memory (/usr/bin/time);
- a reminder sweep with many due reminders against the Slack double (paced like Slack);
- one request's totals (the demand totals query, else `bot.services.facts.request_facts`);
- sync sessions on a worker thread (`Database.run`) against an async engine.

Where the function a row needs is not in the code base, the row says so instead of
timing something else.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.datagen import DECIDERS, EPOCH, TEAM_ID
from bot.db import Database

ROOT = Path(__file__).resolve().parents[1]
NOT_BUILT = "n/a (not built yet)"


@dataclass
class Timing:
    """Milliseconds of repeated runs (after one warm-up)."""

    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]

    @property
    def worst(self) -> float:
        return max(self.samples)


def time_calls(call: Callable[[int], Any], repeat: int, budget_seconds: float = 20) -> Timing:
    """Times `repeat` calls after a warm-up, fewer (at least 3) when one call is so slow
    that `repeat` of them would take more than `budget_seconds`."""
    started = time.perf_counter()
    call(-1)
    first = time.perf_counter() - started
    repeat = min(repeat, max(3, int(budget_seconds / max(first, 1e-6))))
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# -- App Home ----------------------------------------------------------------------------
def home_builder() -> Callable[[Database, str, Any], Any] | None:
    """The App Home view for a user: (database, user id, now) -> view, as the home tab
    builds it; None while the App Home is not built."""
    from bench import adapters

    return adapters.home_builder()


def in_child(work: Callable[[], Any], timeout: float) -> Any:
    """Runs `work` in a forked child, so one query that takes minutes can be stopped:
    its result, or a line saying it was stopped."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=lambda: answers.put(work()), daemon=True)
    child.start()
    try:
        return answers.get(timeout=timeout)
    except Exception:  # noqa: BLE001 - queue.Empty: still running
        return f"> {timeout:.0f} s: stopped (one call did not finish)"
    finally:
        if child.is_alive():
            child.terminate()
        child.join(5)


def time_home(database_url: str, repeat: int, timeout: float = 90) -> Timing | str:
    build = home_builder()
    if build is None:
        return NOT_BUILT

    def work() -> Timing:
        db = Database(database_url)
        try:
            return time_calls(lambda _i: build(db, DECIDERS[0], EPOCH), repeat)
        finally:
            db.dispose()

    return in_child(work, timeout)


# -- similar requests --------------------------------------------------------------------
def time_similar(database_url: str, repeat: int, timeout: float = 90) -> Timing | str:
    from bench import adapters, vocab

    lookup = adapters.similar_lookup()
    if lookup is None:
        return NOT_BUILT
    rng = random.Random(99)
    queries = []
    for _ in range(repeat + 1):
        title = vocab.title(rng)
        queries.append((title, vocab.problem(rng, title)))

    def work() -> Timing:
        db = Database(database_url)
        try:
            return time_calls(lambda i: lookup(db, TEAM_ID, *queries[i]), repeat)
        finally:
            db.dispose()

    return in_child(work, timeout)


# -- totals ------------------------------------------------------------------------------
def time_totals(db: Database, repeat: int, requests: int) -> tuple[Timing, str]:
    from bench import adapters

    totals, name = adapters.totals_query()
    rng = random.Random(7)
    # the bot asks the totals of canonical requests only (cards, App Home, suggestions): a
    # merged request's demand counts toward the request it was merged into
    canonical = db.read(lambda s: s.execute(text(
        "SELECT id FROM request WHERE team_id = :team AND status != 'merged' ORDER BY id"),
        {"team": TEAM_ID}).scalars().all())
    ids = [rng.choice(canonical) for _ in range(repeat + 1)]
    return time_calls(lambda i: db.read(lambda s: totals(s, TEAM_ID, ids[i])), repeat), name


# -- export ------------------------------------------------------------------------------
@dataclass
class ExportRun:
    seconds: float
    peak_mb: float
    rows: int


def run_export(database_url: str) -> ExportRun:
    """`requestbot export --format csv` to a file, under /usr/bin/time -v."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REQUESTBOT_"))}
    env.update(DATABASE_URL=database_url,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="requestbot-export-") as workdir:
        out_path = Path(workdir) / "export.csv"
        started = time.perf_counter()
        with out_path.open("wb") as out:
            done = subprocess.run(
                ["/usr/bin/time", "-v", sys.executable, "-m", "bot.cli", "export", "--format",
                 "csv"], cwd=workdir, env=env, stdout=out, stderr=subprocess.PIPE, text=False,
                check=False,
            )
        seconds = time.perf_counter() - started
        report = done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"export failed: {report[-500:]}")
        peak_kb = next(int(line.split(":")[1]) for line in report.splitlines()
                       if "Maximum resident set size" in line)
        import csv

        with out_path.open(newline="") as exported:
            rows = sum(1 for _ in csv.reader(exported)) - 1
    return ExportRun(seconds, peak_kb / 1024, rows)


# -- reminder sweep ----------------------------------------------------------------------
@dataclass
class SweepRun:
    reminders: int
    seconds: float
    sent: int
    duplicates: int
    missing: int
    rate_limited: int
    channels: int
    max_per_channel: int
    invocations: int  # `requestbot reminders run-due` runs it took
    floor_seconds: float  # the least time Slack's 1 message/s/channel allows
    kind: str = "stale"
    dm_seconds: float = 0.0  # until the last reminder DM was accepted
    other_posts: int = 0  # posts that were not reminder DMs (revisit notes in threads)
    replicas: int = 1  # `run-due` processes sweeping at once
    workspace_per_minute: float | None = None  # the double's workspace-wide limit on posts


WORKSPACE_POSTS_PER_MINUTE = 600.0
"""The workspace-wide limit the double keeps in the workspace-limit sweep row: Slack does
not publish its own ("several hundred messages per minute")."""


def time_sweep(database_url: str, reminders: int, kind: str = "stale",
               per_recipient: int = 5, replicas: int = 1,
               workspace_per_minute: float | None = None) -> SweepRun | str:
    from bench import adapters

    sweep = adapters.reminder_sweep()
    if sweep is None:
        return NOT_BUILT
    return adapters.run_sweep(sweep, database_url, reminders, kind, per_recipient, replicas,
                              workspace_per_minute)


# -- sync sessions on a thread against an async engine -----------------------------------
@dataclass
class DriverComparison:
    driver: str
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_op: float


def compare_session_styles(database_url: str, ops: int, concurrency: int = 32,
                           requests: int = 100_000) -> list[DriverComparison] | str:
    """The same service call (one request's totals, then a small write) from `concurrency`
    tasks on one event loop: `Database.run` (sync session on a worker thread, what the bot
    does) against an AsyncSession (`run_sync` on the same function)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from bench import adapters, proc
    from bot.db import normalize_url
    from models import Activity

    totals, _ = adapters.totals_query()
    rng = random.Random(5)
    ids = [rng.randrange(1, requests + 1) for _ in range(ops)]

    def work(session, i: int) -> None:
        totals(session, TEAM_ID, ids[i])
        session.add(Activity(team_id=TEAM_ID, request_id=ids[i], actor_id="U0BENCH01",
                             action="bench", detail={}, created_at=EPOCH))

    async def drive(one: Callable[[int], Any]) -> tuple[float, list[float], float]:
        latencies: list[float] = []
        indexes = iter(range(ops))

        async def worker() -> None:
            for i in indexes:
                started = time.perf_counter()
                await one(i)
                latencies.append(time.perf_counter() - started)

        cpu = proc.cpu_seconds(os.getpid())
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, proc.cpu_seconds(os.getpid()) - cpu

    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        if _module("aiosqlite") is None:
            return "n/a (pip install aiosqlite)"
        async_url = url.set(drivername="sqlite+aiosqlite")
    else:
        async_url = url  # psycopg 3 is sync and async: the same driver
    results = []
    db = Database(database_url)
    try:
        seconds, latencies, cpu = asyncio.run(drive(
            lambda i: db.run(lambda s: work(s, i))))
        results.append(_comparison("sync session on a thread (bot)", latencies, seconds, cpu))
    finally:
        db.dispose()

    async def run_async() -> tuple[float, list[float], float]:
        engine = create_async_engine(make_url(async_url), pool_size=10) \
            if async_url.get_backend_name() != "sqlite" else create_async_engine(async_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)

        async def one(i: int) -> None:
            async with sessions.begin() as session:
                await session.run_sync(lambda s: work(s, i))

        try:
            return await drive(one)
        finally:
            await engine.dispose()

    seconds, latencies, cpu = asyncio.run(run_async())
    results.append(_comparison("async engine (run_sync)", latencies, seconds, cpu))
    cleanup = Database(database_url)
    try:
        from sqlalchemy import delete

        cleanup.transaction(lambda s: s.execute(delete(Activity).where(
            Activity.actor_id == "U0BENCH01")))
    finally:
        cleanup.dispose()
    return results


def _comparison(name: str, latencies: list[float], seconds: float, cpu: float
                ) -> DriverComparison:
    ordered = sorted(latencies)
    return DriverComparison(name, len(ordered), seconds, ordered[len(ordered) // 2] * 1000,
                            ordered[int(0.99 * (len(ordered) - 1))] * 1000,
                            cpu / len(ordered) * 1000)

