"""Where the benchmark calls into the bot: each data path through its public function.

Other parts of the product are built alongside the benchmark; a path whose module is not
there yet gives None here, and its row prints "n/a (not built yet)".
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from bench.datagen import TEAM_ID
from bot.db import Database
from models import Decision, OutboxMessage, Reminder, Request, utcnow

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# -- App Home ----------------------------------------------------------------------------
def home_builder() -> Callable[[Database, str, Any], Any] | None:
    """(database, decider, now) -> the decider's App Home view as published (its dict), in
    one read-only transaction as `publish_home` runs it."""
    home = _module("bot.listeners.home")
    if home is None or not hasattr(home, "home_view"):
        return None
    from bot.settings import Settings

    settings = Settings(_env_file=None, REQUESTBOT_DECIDERS="U0PM00001")

    def build(db: Database, user_id: str, now: Any):
        return db.read(lambda s: home.home_view(s, settings, TEAM_ID, user_id, True,
                                                       now).to_dict())

    return build


# -- similar requests --------------------------------------------------------------------
def similar_lookup() -> Callable[[Database, str, str, str], Any] | None:
    """(database, team, title, problem) -> suggestions, as the request modal asks for them."""
    similar = _module("bot.services.similar")
    if similar is None or not hasattr(similar, "find_similar"):
        return None
    matcher = similar.matcher_for("lexical")

    def lookup(db: Database, team_id: str, title: str, problem: str):
        return db.read(lambda s: similar.find_similar(s, team_id, title, problem, matcher))

    return lookup


# -- one request's totals ----------------------------------------------------------------
def totals_query() -> tuple[Callable[[Any, str, int], Any], str]:
    """(session, team, request id) -> the request's totals, and the function's name."""
    demand = _module("bot.services.demand")
    priority = _module("bot.services.priority")
    if demand is not None and hasattr(demand, "totals_of") and hasattr(priority, "Currencies"):
        currencies = priority.Currencies()

        def totals(session, team_id: str, request_id: int):
            return demand.totals_of(session, team_id, [request_id], currencies)[request_id]

        return totals, "bot.services.demand.totals_of"
    from bot.services.facts import request_facts
    from bot.services.requests import get_request

    def facts(session, team_id: str, request_id: int):
        return request_facts(session, get_request(session, team_id, request_id))

    return facts, "bot.services.facts.request_facts"


# -- reminder sweep ----------------------------------------------------------------------
def reminder_sweep() -> str | None:
    """The sweep `requestbot reminders run-due` runs (bot.runtime.run_reminders_once)."""
    runtime = _module("bot.runtime")
    return "requestbot reminders run-due" if hasattr(runtime, "run_reminders_once") else None


def seed_due_reminders(database_url: str, count: int, recipients: int,
                       kind: str = "stale") -> dict[str, int]:
    """`count` reminders of `kind` due an hour ago, spread round-robin over `recipients`
    people; earlier bench reminders and queued posts go first.

    `stale` (a request waiting for a decision, raised to a decider) is a DM and nothing
    else; `revisit` (on a request's current decision) also posts a note in the request's
    thread once the DM is sent.
    """
    db = Database(database_url)
    now = utcnow()

    def targets(session) -> list[tuple[int, int | None]]:
        if kind == "revisit":
            latest = (select(Decision.request_id, func.max(Decision.id).label("decision_id"))
                      .group_by(Decision.request_id).subquery())
            query = (select(latest.c.request_id, latest.c.decision_id)
                     .join(Request, Request.id == latest.c.request_id)
                     .order_by(latest.c.request_id))
        else:
            decided = select(Decision.request_id)
            query = (select(Request.id, None).where(Request.id.not_in(decided),
                                                  Request.status.in_(("new", "under_review")))
                     .order_by(Request.id))
        query = query.where(Request.reminders_stopped.is_(False)).limit(count)
        return [tuple(row) for row in session.execute(query).all()]

    def seed(session) -> dict[str, int]:
        session.execute(delete(Reminder))
        session.execute(delete(OutboxMessage))
        expected: dict[str, int] = {}
        values = []
        for i, (request_id, decision_id) in enumerate(targets(session)):
            recipient = f"U0PMR{i % recipients:05d}"
            expected[recipient] = expected.get(recipient, 0) + 1
            values.append({
                "team_id": TEAM_ID, "kind": kind, "request_id": request_id,
                "decision_id": decision_id, "recipient": recipient,
                "due_at": now - timedelta(hours=1), "state": "pending", "attempts": 0,
                "dedupe_key": f"bench-sweep:{i}", "payload": {"tz": "UTC", "round": 1},
                "created_at": now,
            })
        session.execute(Reminder.__table__.insert(), values)
        return expected

    try:
        # the datagen's decision ids grow with decided_at per request: max(id) is current
        return db.transaction(seed)
    finally:
        db.dispose()


def reminder_states(database_url: str) -> dict[str, int]:
    db = Database(database_url)
    try:
        return dict(db.read(lambda s: s.execute(
            select(Reminder.state, func.count()).group_by(Reminder.state)).all()))
    finally:
        db.dispose()


def run_sweep(_sweep: str, database_url: str, count: int, kind: str = "stale",
              per_recipient: int = 5, replicas: int = 1,
              workspace_per_minute: float | None = None):
    """Runs `requestbot reminders run-due` against a double paced like Slack until every
    seeded reminder is sent (or given up), and checks each DM arrived exactly once. With
    `replicas`, that many run at once each round, as replicas' schedules would; with
    `workspace_per_minute`, the double also limits posts across the workspace."""
    from bench.data import SweepRun
    from bench.load import BOT_TOKEN, DECIDER, DoubleProcess, _base_env

    recipients = max(1, count // per_recipient)
    expected = seed_due_reminders(database_url, count, recipients, kind)
    double = DoubleProcess(0.05, paced=True, workspace_per_minute=workspace_per_minute)
    env = {**_base_env(), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": double.base_url,
           "DATABASE_URL": database_url, "REQUESTBOT_DECIDERS": DECIDER,
           "REQUESTBOT_QUIET_WEEKENDS": "false", "REQUESTBOT_LOG_FORMAT": "json"}
    started, started_wall = time.perf_counter(), time.time()
    invocations = 0
    try:
        deadline = started + max(120, count / 10)
        while time.perf_counter() < deadline:
            running = [subprocess.Popen([sys.executable, "-m", "bot.cli", "reminders", "run-due"],
                                        cwd="/tmp", env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                       for _ in range(replicas)]
            outputs = [(one.communicate()[1], one.returncode) for one in running]
            invocations += replicas
            for stderr, code in outputs:
                if code != 0:
                    raise RuntimeError(f"run-due failed: {stderr[-800:]}")
            states = reminder_states(database_url)
            if not states.get("pending") and not states.get("claimed"):
                break
            if not any(re.search(r"sent [1-9]", stderr) for stderr, _ in outputs):
                time.sleep(0.5)  # rate limited: pending again after Retry-After
        seconds = time.perf_counter() - started
        posts = double.ask("posts")
    finally:
        double.stop()
    accepted = {c: n for c, n in posts["accepted"].items() if c in expected}
    dm_channels = {_dm(recipient): recipient for recipient in expected}
    for channel, n in posts["accepted"].items():
        if channel in dm_channels:
            accepted[dm_channels[channel]] = accepted.get(dm_channels[channel], 0) + n
    duplicates = sum(max(0, accepted.get(r, 0) - n) for r, n in expected.items())
    missing = sum(max(0, n - accepted.get(r, 0)) for r, n in expected.items())
    states = reminder_states(database_url)
    dm_done = [at for channel, at in posts["last_accepted_at"].items()
               if channel in expected or channel in dm_channels]
    return SweepRun(
        reminders=count, seconds=seconds, sent=states.get("sent", 0), duplicates=duplicates,
        missing=missing, rate_limited=posts["rate_limited"], channels=len(expected),
        max_per_channel=max(expected.values()), invocations=invocations,
        floor_seconds=_floor(expected, workspace_per_minute), kind=kind,
        dm_seconds=(max(dm_done) - started_wall) if dm_done else float("nan"),
        other_posts=sum(n for c, n in posts["accepted"].items()
                        if c not in expected and c not in dm_channels),
        replicas=replicas, workspace_per_minute=workspace_per_minute,
    )


def _floor(expected: dict[str, int], workspace_per_minute: float | None) -> float:
    """The least time Slack's limits allow: a second between posts to one person, and with
    a workspace limit, all posts beyond its burst (a tenth of a minute's) at its rate."""
    floor = float(max(expected.values()) - 1)
    if workspace_per_minute:
        beyond_burst = sum(expected.values()) - max(1, int(workspace_per_minute / 10))
        floor = max(floor, beyond_burst / (workspace_per_minute / 60))
    return floor


def _dm(user_id: str) -> str:
    from tests.slack.workspace import _stable_id

    return _stable_id("D", TEAM_ID, user_id)

