"""The benchmark harness keeps working: the data generator and a smoke run of bench/run.py.
Speed is never asserted here; bench/run.py measures it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.datagen import Spec, generate, remove_sqlite_files
from bot.db import Database
from bot.inbox import JobInbox
from models import Decision, Request, RequestCustomer, RequestMatchKey

ROOT = Path(__file__).resolve().parents[2]


def _rows(database: Database) -> dict[str, int]:
    with database.read_sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Request, RequestCustomer, Decision, RequestMatchKey)}


def test_generator_writes_the_issue_proportions_reproducibly(db: Database, tmp_path: Path):
    spec = Spec.scaled(200, seed=3)
    counts = generate(db.engine, spec)
    assert _rows(db) == {"request": 200, "request_customer": 600, "decision": 100,
                         "request_match_key": counts["request_match_key"]}
    with db.read_sessions() as session:
        first = session.execute(select(Request.title, Request.status, Request.similarity_vector)
                                .order_by(Request.id).limit(20)).all()
        merged = session.scalar(select(func.count()).where(Request.status == "merged"))
    again = Database(f"sqlite:///{tmp_path / 'again.db'}")
    try:
        from bot.db import upgrade

        upgrade(again)
        generate(again.engine, spec)
        with again.read_sessions() as session:
            assert session.execute(
                select(Request.title, Request.status, Request.similarity_vector)
                .order_by(Request.id).limit(20)).all() == first
            assert session.scalar(select(func.count()).where(Request.status == "merged")) \
                == merged
    finally:
        again.dispose()


def test_smoke_run_prints_the_table(tmp_path: Path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "BENCH_DATA_DIR": str(tmp_path / "data")},  # its own generated data
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1. Ack latency per kind" in done.stdout
    assert "2. Data paths on sqlite" in done.stdout
    results = json.loads(out.read_text())
    servers = {phase["server"] for phase in results["phases"]}
    assert servers == {"bare", "bot sqlite"}
    assert {phase["kind"] for phase in results["phases"]} == {"command", "action", "view",
                                                              "event"}
    assert all(phase["errors"] == 0 and phase["count"] > 0 for phase in results["phases"])
    sweep = results["data"]["sqlite"]["sweep"]
    if isinstance(sweep, dict):  # the reminder sweep is built
        assert sweep["duplicates"] == 0 and sweep["missing"] == 0
    export = results["data"]["sqlite"]["export"]
    assert export["rows"] == 1000


def test_a_fresh_sqlite_database_leaves_no_inbox_of_an_earlier_one(tmp_path: Path):
    """`serve` keeps its job inbox beside the database (bot/inbox.py): one left from an earlier
    database of the same name would hand the new bot that database's jobs."""
    database = tmp_path / "load-1.db"
    database.write_bytes(b"")
    inbox_path = JobInbox.path_beside(f"sqlite:///{database}")
    assert inbox_path is not None

    async def store_one() -> str:
        inbox = JobInbox(inbox_path)
        await inbox.store("T1", "handle_event", {"body": "{}"}, datetime.now(UTC))
        await inbox.close()
        return inbox.generation

    def jobs_and_generation() -> tuple[int, str]:
        inbox = JobInbox(inbox_path)
        try:
            return len(inbox.after(0)), inbox.generation
        finally:
            inbox.engine.dispose()

    earlier = asyncio.run(store_one())
    assert jobs_and_generation() == (1, earlier)
    remove_sqlite_files(database)
    assert list(tmp_path.iterdir()) == []
    jobs, generation = jobs_and_generation()
    assert jobs == 0 and generation != earlier
