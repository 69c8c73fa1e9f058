"""The benchmark harness keeps working: the data generator and a smoke run of bench/run.py.
Speed is never asserted here; bench/run.py measures it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from bench.datagen import Spec, generate
from bot.db import Database
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
