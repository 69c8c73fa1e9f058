"""Seeded, reproducible data at scale: requests, customer links, decisions, reps, match keys.

    python -m bench.datagen --requests 100000 --database-url sqlite:////tmp/x.db

Defaults follow issue #8: 100,000 requests with 300,000 customer links and 50,000
decisions. Rows go in with SQLAlchemy Core executemany in batches inside one transaction
per table; ids are given explicitly, so the same seed and size give the same rows on
SQLite and PostgreSQL. `ensure_dataset` keeps generated databases under /tmp and reuses
one when its manifest (seed, sizes, generator version) matches, so a re-run does not pay
for generation again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

from bench import vocab
from bot.db import Database, make_engine, normalize_url, upgrade
from bot.inbox import JobInbox
from bot.services.scores import catch_up, count_asks
from models import (
    Customer,
    Decision,
    Request,
    RequestCustomer,
    RequestMatchKey,
    RequestRep,
)

GENERATOR_VERSION = 2
TEAM_ID = "T0TEAM001"
DECIDERS = tuple(f"U0PM{n:05d}" for n in range(1, 11))  # U0PM00001 is the bench's decider
CHANNELS = tuple(f"C0SALES{n:02d}" for n in range(1, 21))
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # "now" of the generated data; three years back
BATCH = 5000
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/requestbot-bench/data"))


@dataclass(frozen=True)
class Spec:
    requests: int = 100_000
    customer_links: int = 300_000
    decisions: int = 50_000
    seed: int = 8

    @classmethod
    def scaled(cls, requests: int, seed: int = 8) -> Spec:
        """The issue's proportions (3 customer links and half a decision per request)."""
        return cls(requests, requests * 3, requests // 2, seed)

    @property
    def customers(self) -> int:
        return max(20, self.requests // 20)

    @property
    def reps(self) -> int:
        return max(10, min(500, self.requests // 200))

    def key(self) -> dict[str, Any]:
        return {**asdict(self), "generator": GENERATOR_VERSION}


def rep_id(n: int) -> str:
    return f"U0REP{n:05d}"


def _ts(moment: datetime, salt: int) -> str:
    """A unique Slack message ts near `moment`."""
    return f"{int(moment.timestamp())}.{salt % 1_000_000:06d}"


def _insert(connection, table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start:start + BATCH])


def generate(engine: Engine, spec: Spec, progress=lambda message: None) -> dict[str, int]:
    """Fills an empty, migrated database; returns the row counts written."""
    from bot.similarity import LexicalMatcher, match_keys

    rng = random.Random(spec.seed)
    matcher = LexicalMatcher()  # what bot.services.similar.index_request stores when filing
    counts: dict[str, int] = {}

    customers = [{"id": i, "team_id": TEAM_ID, "name": vocab.customer_name(i - 1),
                  "name_key": vocab.customer_name(i - 1).lower(), "created_at": EPOCH
                  - timedelta(days=1200)} for i in range(1, spec.customers + 1)]

    requests: list[dict[str, Any]] = []
    reps: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    span = 3 * 365 * 24 * 3600
    for rid in range(1, spec.requests + 1):
        created = EPOCH - timedelta(seconds=span * (1 - rid / (spec.requests + 1)))
        title = vocab.title(rng)
        problem = vocab.problem(rng, title)
        channel = rng.choice(CHANNELS)
        ts = _ts(created, rid)
        requester = rep_id(rng.randrange(spec.reps))
        requests.append({
            "id": rid, "team_id": TEAM_ID, "title": title, "problem": problem,
            "proposed_solution": None, "status": "new", "source": "command",
            "requested_by": requester, "source_channel_id": None, "message_ts": None,
            "channel_id": channel, "thread_ts": ts, "card_channel_id": channel, "card_ts": ts,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            "duplicate_of_id": None,
            "customer_count": rng.choice((None, 1, 2, 3, 5, 8)),
            "effort": rng.choice((None, None, "S", "M", "L")), "effort_weeks": None,
            "strategic_fit": rng.choice((None, 1, 2, 3)),
            "similarity_vector": matcher.vector(title, problem),
            "follow_up_ts": None, "follow_up_asked_at": created, "follow_up_answered_at": None,
            "reminders_stopped": False, "created_at": created, "updated_at": created,
        })
        reps.append({"team_id": TEAM_ID, "request_id": rid, "user_id": requester,
                     "role": "requester", "created_at": created})
        if rng.random() < 0.2:
            supporter = rep_id(rng.randrange(spec.reps))
            if supporter != requester:
                reps.append({"team_id": TEAM_ID, "request_id": rid, "user_id": supporter,
                             "role": "supporter", "created_at": created})
        for key in dict.fromkeys(match_keys(title, problem)):
            keys.append({"team_id": TEAM_ID, "request_id": rid, "key": key[:64]})
    # about 5% are duplicates merged into an earlier request
    for request in requests[100:]:
        if rng.random() < 0.05:
            request["duplicate_of_id"] = rng.randrange(1, request["id"])
            request["status"] = "merged"

    links: list[dict[str, Any]] = []
    per_request = spec.customer_links / spec.requests
    for request in requests:
        n = int(per_request) + (1 if rng.random() < per_request % 1 else 0)
        chosen = rng.sample(range(1, spec.customers + 1), k=min(n, spec.customers))
        for customer_id in chosen:
            blocker = rng.choices(("deal_blocker", "churn_risk", "none", None),
                                  weights=(1, 1, 4, 4))[0]
            links.append({
                "team_id": TEAM_ID, "request_id": request["id"], "customer_id": customer_id,
                "revenue_minor": rng.randrange(1_000, 500_000) * 100 if rng.random() < 0.7
                else None,
                "currency": "EUR" if rng.random() < 0.15 else "USD", "revenue_period": "arr",
                "importance": rng.choice((None, "nice_to_have", "important", "must_have")),
                "blocker": blocker,
                "deal_close_on": (request["created_at"] + timedelta(days=rng.randrange(10, 120))
                                  ).date() if blocker == "deal_blocker" else None,
                "deal_amount_minor": None, "renewal_on": None, "crm_url": None,
                "added_by": request["requested_by"], "created_at": request["created_at"],
                "updated_at": request["created_at"],
            })

    decisions: list[dict[str, Any]] = []
    open_requests = [r for r in requests if r["status"] != "merged"]
    decided = rng.sample(open_requests, k=min(len(open_requests), spec.decisions * 5 // 6))
    rounds = [(r, 0) for r in decided]
    rounds += [(r, 1) for r in rng.sample(decided, k=spec.decisions - len(decided))]
    statuses = ("planned", "declined", "needs_info", "already_exists", "under_review")
    for request, again in sorted(rounds, key=lambda pair: (pair[0]["id"], pair[1])):
        decided_at = request["created_at"] + timedelta(days=rng.randrange(1, 60) + 60 * again)
        status = rng.choices(statuses, weights=(3, 3, 2, 1, 1))[0]
        revisit = decided_at + timedelta(days=90) if status in ("declined", "planned") else None
        decisions.append({
            "team_id": TEAM_ID, "request_id": request["id"], "status": status,
            "rationale": "Not this quarter: the roadmap is full." if status == "declined"
            else "Enough demand to build it.",
            "timeline": "Q3" if status == "planned" else None, "target_on": None,
            "revisit_at": revisit, "workaround": None, "needed_info": None, "reply_text": None,
            "decided_by": rng.choice(DECIDERS), "decided_at": decided_at,
            "evidence": {}, "reopen_conditions": None,
        })
        request["status"] = status
        request["updated_at"] = max(request["updated_at"], decided_at)
    for n, decision in enumerate(decisions, start=1):
        decision["id"] = n

    plan = ((Customer.__table__, customers), (Request.__table__, requests),
            (RequestRep.__table__, reps), (RequestMatchKey.__table__, keys),
            (RequestCustomer.__table__, links), (Decision.__table__, decisions))
    with engine.begin() as connection:
        for table, rows in plan:
            started = time.perf_counter()
            _insert(connection, table, rows)
            counts[table.name] = len(rows)
            progress(f"{table.name}: {len(rows):,} rows in {time.perf_counter() - started:.1f}s")
        if engine.dialect.name == "postgresql":
            for table, _ in plan:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                ))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
        else:
            connection.exec_driver_sql("ANALYZE")
    return counts


# -- kept databases -----------------------------------------------------------------------
def postgres_server_url() -> str:
    import os

    return os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def database_url(dialect: str, spec: Spec) -> str:
    # BENCH_DATA_DIR keeps another set (its PostgreSQL databases named after the folder)
    tag = "" if DATA_DIR == Path("/tmp/requestbot-bench/data") else f"_{DATA_DIR.name}"
    name = f"requestbot_bench_{spec.requests}_{spec.seed}{tag}"
    if dialect == "sqlite":
        return f"sqlite:///{DATA_DIR / (name + '.db')}"
    return normalize_url(postgres_server_url()).set(database=name).render_as_string(
        hide_password=False)


def _manifest_path(dialect: str, spec: Spec) -> Path:
    return DATA_DIR / f"manifest-{dialect}-{spec.requests}-{spec.seed}.json"


def remove_sqlite_files(path: Path | str) -> None:
    """A SQLite database file, its WAL and shared memory, and the job inbox `serve` keeps
    beside it (bot/inbox.py): an inbox left from an earlier database would hand the bot
    that database's jobs, and a phase would wait for them to be done."""
    for base in filter(None, (str(path), JobInbox.path_beside(f"sqlite:///{path}"))):
        for suffix in ("", "-wal", "-shm"):
            Path(base + suffix).unlink(missing_ok=True)


def _recreate(dialect: str, url: str) -> None:
    if dialect == "sqlite":
        remove_sqlite_files(normalize_url(url).database or "")
        return
    name = normalize_url(url).database
    on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                       f'CREATE DATABASE "{name}"')


def on_postgres_server(*statements: str) -> None:
    """Statements outside any transaction on the benchmark's PostgreSQL server (databases
    are created and dropped there)."""
    admin = create_engine(normalize_url(postgres_server_url()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def sqlite_copy(source_url: str, path: Path) -> str:
    """A fresh copy of a generated SQLite database, consistent even with a WAL beside the
    source (the backup API, not a file copy); its URL."""
    import sqlite3

    remove_sqlite_files(path)
    with sqlite3.connect(source_url.removeprefix("sqlite:///")) as src, \
            sqlite3.connect(path) as dst:
        src.backup(dst)
    return f"sqlite:///{path}"


def postgres_copy(source_url: str, name: str) -> str:
    """A fresh copy of a generated PostgreSQL database (CREATE DATABASE … TEMPLATE), its URL."""
    source = normalize_url(source_url)
    on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                       f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    return source.set(database=name).render_as_string(hide_password=False)


def _matches(url: str, manifest: dict[str, Any]) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.scalar(select(func.count()).select_from(Request.__table__))
        return found == manifest["counts"]["request"]
    except Exception:  # noqa: BLE001 - a missing or broken database is generated again
        return False
    finally:
        engine.dispose()


def score(database: Database) -> None:
    """What `requestbot db upgrade` and the bot's schedule do: every request's stored demand
    and score (rows generated in bulk have none yet; a migration leaves placeholders)."""
    scored = catch_up(database.transaction)
    if not scored:
        return
    database.transaction(count_asks)
    if database.dialect == "postgresql":  # what autovacuum does to a table that has settled
        with database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def ensure_dataset(dialect: str, spec: Spec, progress=print) -> tuple[str, float | None]:
    """The database for `spec` on `dialect`, generated unless a matching one is kept;
    (url, seconds spent generating or None when reused). The schema is upgraded to head."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    url = database_url(dialect, spec)
    manifest_path = _manifest_path(dialect, spec)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("spec") == spec.key() and _matches(url, manifest):
            database = Database(url)
            try:
                upgrade(database)  # a newer migration since generation: applied to the data
                score(database)
            finally:
                database.dispose()
            return url, None
    manifest_path.unlink(missing_ok=True)
    started = time.perf_counter()
    _recreate(dialect, url)
    database = Database(url)
    try:
        upgrade(database)
        counts = generate(database.engine, spec, progress)
        score(database)
    finally:
        database.dispose()
    seconds = time.perf_counter() - started
    manifest_path.write_text(json.dumps({"spec": spec.key(), "url": url, "counts": counts,
                                         "seconds": round(seconds, 1),
                                         "generated_on": date.today().isoformat()}, indent=2))
    return url, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--database-url", help="an empty database to fill (else a kept one)")
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    spec = Spec.scaled(args.requests, args.seed)
    if args.database_url:
        database = Database(args.database_url)
        upgrade(database)
        counts = generate(database.engine, spec, print)
        score(database)
        database.dispose()
        print(json.dumps(counts))
        return 0
    url, seconds = ensure_dataset(args.dialect, spec)
    print(url, "reused" if seconds is None else f"generated in {seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
