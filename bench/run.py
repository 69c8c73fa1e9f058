"""The benchmark: ack latency against a bare Bolt app, and the data paths at 100,000 requests.

    python bench/run.py            # the full table (a few minutes once the data is generated)
    python bench/run.py --quick    # the same table from shorter runs (under three minutes)
    python bench/run.py --smoke    # seconds: the harness works (tests/bench runs this)

Servers run on CPU 0 (`taskset -c 0`), this driver and the Slack double on CPU 1, so they
do not starve each other. See bench/README.md for the targets and the recorded numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data, datagen, load, proc  # noqa: E402

WORKDIR = Path("/tmp/requestbot-bench")


@dataclass(frozen=True)
class Plan:
    name: str
    counts: dict[int, int]  # concurrency -> requests per phase
    requests: int  # generated requests for the data paths
    sweep: int  # due reminders in the sweep
    revisit_sweep: int  # due revisit reminders (each also posts in its request's thread)
    repeat: int  # timed runs of each data query
    session_ops: int  # operations in the sync-vs-async comparison
    per_recipient: int = 5  # reminders per person in the sweep
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    warm_up: int = 20  # unmeasured requests of each kind before the phases
    zero_ms: bool = True  # also run the bot against a 0 ms double (c = 1 and 8)
    populated: int = 0  # also: the bot on a copy of a generated database of this many requests
    populated_counts: tuple[int, ...] = (40, 80)  # requests per phase there, at c = 1 and 8
    query_timeout: float = 90  # seconds before a slow App Home / similar measurement stops
    replica_sweep: bool = False  # also: the sweep by two `run-due` at once (PostgreSQL)
    workspace_sweep: int = 0  # also: this many reminders, one per person, under a workspace limit


PLANS = {
    "full": Plan("full", {1: 200, 8: 500, 32: 1000}, 100_000, 10_000, 300, 50, 3000,
                 populated=10_000, replica_sweep=True, workspace_sweep=300),
    "quick": Plan("quick", {1: 30, 8: 80, 32: 160}, 100_000, 500, 0, 10, 300,
                  warm_up=10, populated_counts=(20, 40), query_timeout=15),
    "smoke": Plan("smoke", {4: 12}, 1_000, 10, 0, 3, 64, per_recipient=1,
                  databases=("sqlite",), warm_up=4, zero_ms=False),
}


@dataclass
class Results:
    plan: Plan
    phases: list[load.Phase] = field(default_factory=list)
    memory: dict[str, proc.Memory] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def pin(cpu: int) -> int | None:
    """Pins this process to `cpu` when the machine has two cores or more; the servers get
    the other one."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {cpu})
    return 0


def unpin() -> None:
    """Every core again: the data paths (and the processes they start: run-due, the Slack
    double, export) use the whole machine, as they would in production."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


# -- ack latency -------------------------------------------------------------------------
def fresh_load_database(dialect: str) -> str:
    if dialect == "sqlite":
        path = WORKDIR / f"load-{os.getpid()}.db"
        datagen.remove_sqlite_files(path)
        return f"sqlite:///{path}"
    url = datagen.database_url("postgresql", datagen.Spec(requests=0, seed=0)).rsplit("/", 1)[0]
    url = f"{url}/requestbot_bench_load"
    datagen._recreate("postgresql", url)
    from bot.db import Database, upgrade

    database = Database(url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    return url


def run_phases(results: Results, server: load.Server, label: str, traffic: load.Traffic,
               concurrencies: list[int]) -> None:
    for kind in load.KINDS:
        for concurrency in concurrencies:
            phase = load.run_phase(server, label, traffic, kind,
                                   results.plan.counts[concurrency], concurrency)
            results.phases.append(phase)
            print(f"  {label:<22} {kind:<8} c={concurrency:<3} {phase.rps:8.1f} rps  "
                  f"p50 {phase.p50_ms:7.2f} ms  p99 {phase.p99_ms:7.2f} ms  "
                  f"errors {phase.errors}", file=sys.stderr, flush=True)


def run_load(results: Results, server_cpu: int | None, populated_only: bool = False) -> None:
    concurrencies = sorted(results.plan.counts)
    double = load.DoubleProcess(0.05)
    try:
        if populated_only:
            for dialect in results.plan.databases:
                run_populated(results, dialect, double, server_cpu)
            return
        bare = load.bare_server(WORKDIR, server_cpu).start()
        try:
            traffic = load.Traffic(load.bare_pool())
            load.warm_up(bare, traffic, load.KINDS, results.plan.warm_up)
            run_phases(results, bare, "bare", traffic, concurrencies)
            results.memory["bare"] = proc.memory(bare.pid)
        finally:
            bare.stop()
        for dialect in results.plan.databases:
            try:
                url = fresh_load_database(dialect)
            except Exception as error:  # noqa: BLE001 - e.g. no PostgreSQL server here
                results.notes.append(f"bot {dialect}: skipped ({type(error).__name__})")
                continue
            bot = load.bot_server(url, double.base_url, WORKDIR, server_cpu).start()
            try:
                load.warm_up(bot, load.Traffic(load.bare_pool()), ("view",),
                             2 * results.plan.warm_up)
                traffic = load.Traffic(load.wait_for_pool(url))
                load.warm_up(bot, traffic, load.KINDS, results.plan.warm_up)
                run_phases(results, bot, f"bot {dialect}", traffic, concurrencies)
                if dialect == results.plan.databases[0] and results.plan.zero_ms:
                    double.ask("delay 0")
                    run_phases(results, bot, f"bot {dialect} 0ms", traffic,
                               [c for c in concurrencies if c <= 8])
                    double.ask("delay 0.05")
                results.memory[f"bot {dialect}"] = proc.memory(bot.pid)
                results.memory[f"bot {dialect} + worker"] = proc.tree_memory(bot.pid)
                stats = double.ask("stats")
                if stats["violations"]:
                    results.notes.append(f"bot {dialect}: {stats['violations']} Web API calls "
                                         f"Slack would reject, e.g. {stats['first_violations']}")
                double.ask("reset")
            finally:
                bot.stop()
        if results.plan.populated:
            for dialect in results.plan.databases:
                run_populated(results, dialect, double, server_cpu)
    finally:
        double.stop()


def populated_copy(dialect: str, requests: int) -> str:
    """A throwaway copy of the generated database of `requests` requests."""
    spec = datagen.Spec.scaled(requests)
    source, _ = datagen.ensure_dataset(dialect, spec, progress=_progress)
    if dialect == "sqlite":
        return datagen.sqlite_copy(source, WORKDIR / f"populated-{os.getpid()}.db")
    return datagen.postgres_copy(source, "requestbot_bench_populated")


def run_populated(results: Results, dialect: str, double: load.DoubleProcess,
                  server_cpu: int | None) -> None:
    """The bot on a database that already holds many requests: what a year or two of use
    does to the ack path (work after each post, e.g. App Home refreshes, shares the core
    and, on SQLite, the write lock)."""
    plan = results.plan
    label = f"bot {dialect} @{plan.populated // 1000}k"
    try:
        url = populated_copy(dialect, plan.populated)
    except Exception as error:  # noqa: BLE001 - e.g. no PostgreSQL server here
        results.notes.append(f"{label}: skipped ({type(error).__name__})")
        return
    bot = load.bot_server(url, double.base_url, WORKDIR, server_cpu).start()
    try:
        load.warm_up(bot, load.Traffic(load.bare_pool()), ("view",), 16)
        traffic = load.Traffic(load.wait_for_pool(url, timeout=300, after_id=plan.populated))
        for kind in ("view", "action"):
            for concurrency, count in zip((1, 8), plan.populated_counts, strict=True):
                phase = load.run_phase(bot, label, traffic, kind, count, concurrency)
                results.phases.append(phase)
                print(f"  {label:<22} {kind:<8} c={concurrency:<3} {phase.rps:8.1f} rps  "
                      f"p50 {phase.p50_ms:7.2f} ms  p99 {phase.p99_ms:7.2f} ms  "
                      f"errors {phase.errors}  >3s {phase.slow}", file=sys.stderr, flush=True)
    except RuntimeError as error:
        results.notes.append(f"{label}: {error}")
    finally:
        bot.stop()


# -- data paths --------------------------------------------------------------------------
def run_data(results: Results) -> None:
    plan = results.plan
    spec = datagen.Spec.scaled(plan.requests)
    small = datagen.Spec.scaled(max(1, plan.requests // 10))
    for dialect in plan.databases:
        row: dict[str, Any] = {}
        results.data[dialect] = row
        waited = proc.wait_for_quiet_machine()
        if waited > 5:
            results.notes.append(f"data on {dialect}: waited {waited:.0f} s for the machine "
                                 "to go quiet first")
        try:
            url, seconds = datagen.ensure_dataset(dialect, spec, progress=_progress)
            small_url, _ = datagen.ensure_dataset(dialect, small, progress=_progress)
        except Exception as error:  # noqa: BLE001 - e.g. no PostgreSQL server here
            row["error"] = f"n/a ({type(error).__name__}: {str(error).splitlines()[0][:80]})"
            continue
        row["generated_seconds"] = seconds
        from bot.db import Database

        row["home"] = data.time_home(url, plan.repeat, plan.query_timeout)
        row["similar"] = data.time_similar(url, plan.repeat, plan.query_timeout)
        db = Database(url)
        try:
            row["totals"], row["totals_name"] = data.time_totals(db, plan.repeat * 4,
                                                                 plan.requests)
        finally:
            db.dispose()
        row["export"] = data.run_export(url)
        row["export_small"] = data.run_export(small_url)
        row["sweep"] = data.time_sweep(url, plan.sweep, "stale", plan.per_recipient)
        if plan.revisit_sweep:
            row["revisit_sweep"] = data.time_sweep(url, plan.revisit_sweep, "revisit",
                                                   plan.per_recipient)
        if plan.replica_sweep and dialect == "postgresql":  # replicas share one PostgreSQL
            row["replica_sweep"] = data.time_sweep(url, plan.sweep, "stale", plan.per_recipient,
                                                   replicas=2)
        if plan.workspace_sweep:
            row["workspace_sweep"] = data.time_sweep(
                url, plan.workspace_sweep, "stale", 1,
                workspace_per_minute=data.WORKSPACE_POSTS_PER_MINUTE)
        row["sessions"] = data.compare_session_styles(url, plan.session_ops,
                                                      requests=plan.requests)
        print(f"  data on {dialect}: done", file=sys.stderr, flush=True)


def _progress(message: str) -> None:
    print(f"  generating: {message}", file=sys.stderr, flush=True)


# -- the table ---------------------------------------------------------------------------
def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISS")


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def render(results: Results) -> str:
    plan = results.plan
    lines: list[str] = []
    add = lines.append
    add(f"requestbot benchmark ({plan.name}), {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores; servers on CPU 0, driver and Slack double on CPU 1")
    header = (f"{'kind':<8} {'c':>3} {'server':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'p50 x':>6} {'p99 x':>6} {'rps x':>6} {'ack cpu':>7} {'cpu ms':>7} {'cpu x':>6} "
              f"{'err':>4} {'>3s':>4} {'latency':>7} {'cpu':>5}")
    add("")
    add("1. Ack latency per kind (Slack double answers after 50 ms; x = bot / bare)")
    add(header)
    add("-" * len(header))
    bare = {(p.kind, p.concurrency): p for p in results.phases if p.server == "bare"}
    for kind in load.KINDS:
        for concurrency in sorted(plan.counts):
            for phase in [p for p in results.phases
                          if p.kind == kind and p.concurrency == concurrency]:
                floor = bare.get((kind, concurrency))
                ratio = _ratios(phase, floor)
                ok = cpu_ok = None
                if phase.server != "bare" and floor is not None and "0ms" not in phase.server:
                    ok = _meets(phase, ratio)
                    cpu_ok = ratio["cpu"] <= 2 if concurrency == 8 else None
                add(f"{kind:<8} {concurrency:>3} {phase.server:<22} {phase.rps:>8.1f} "
                    f"{phase.p50_ms:>8.2f} {phase.p99_ms:>8.2f} {fmt(ratio['p50'], 2):>6} "
                    f"{fmt(ratio['p99'], 2):>6} {fmt(ratio['rps'], 2):>6} "
                    f"{phase.ack_cpu_ms_per_request:>7.2f} "
                    f"{phase.cpu_ms_per_request:>7.2f} {fmt(ratio['cpu'], 1):>6} "
                    f"{phase.errors:>4} {phase.slow:>4} {verdict(ok):>7} {verdict(cpu_ok):>5}")
    add("")
    add("Independence from Slack's latency: bot p50 against the 50 ms double / against 0 ms"
        " (target <= 1.1)")
    for phase in [p for p in results.phases if p.server.endswith("0ms")]:
        fifty = next((p for p in results.phases if p.server == phase.server[:-4]
                      and p.kind == phase.kind and p.concurrency == phase.concurrency), None)
        if fifty is not None:
            r = fifty.p50_ms / phase.p50_ms if phase.p50_ms else float("nan")
            add(f"  {phase.kind:<8} c={phase.concurrency:<3} {fifty.p50_ms:7.2f} ms / "
                f"{phase.p50_ms:7.2f} ms = {r:5.2f}  {verdict(r <= 1.1)}")
    add("")
    add("Resident memory after the run (MB; target bot <= 2x bare)")
    bare_memory = results.memory.get("bare")
    for name, memory in results.memory.items():
        ratio = memory.rss_kb / bare_memory.rss_kb if bare_memory and bare_memory.rss_kb else 0
        ok = None if name == "bare" else ratio <= 2
        add(f"  {name:<22} RSS {memory.rss_mb:7.1f}  peak {memory.peak_mb:7.1f}  "
            f"x {ratio:4.2f}  {verdict(ok)}")
    for dialect, row in results.data.items():
        add("")
        add(f"2. Data paths on {dialect} ({plan.requests:,} requests, "
            f"{plan.requests * 3:,} customer links, {plan.requests // 2:,} decisions"
            + (", reused" if row.get("generated_seconds") is None
               else f", generated in {row['generated_seconds']:.0f}s") + ")")
        if "error" in row:
            add(f"  {row['error']}")
            continue
        add(_timing_line("App Home for a decider", row["home"], 200))
        add(_timing_line("Similar-request lookup", row["similar"], 50))
        add(_timing_line(f"Totals of one request ({row['totals_name']})", row["totals"], 5))
        big, small = row["export"], row["export_small"]
        add(f"  {'export --format csv':<48} {big.seconds:7.2f} s  peak {big.peak_mb:6.1f} MB  "
            f"({big.rows:,} rows; {small.rows:,} rows: {small.seconds:.2f} s, "
            f"{small.peak_mb:.1f} MB)  "
            f"{verdict(big.seconds < 15 and big.peak_mb < 200 and big.peak_mb < small.peak_mb * 1.25)}"
            "  target < 15 s, < 200 MB, flat")
        for key in ("sweep", "revisit_sweep", "replica_sweep", "workspace_sweep"):
            if key in row:
                add(_sweep_line(row[key]))
        sessions = row["sessions"]
        if isinstance(sessions, str):
            add(f"  {'sync session on a thread vs async engine':<48} {sessions}")
        else:
            for s in sessions:
                add(f"  {s.driver:<48} {s.ops / s.seconds:7.0f} ops/s  p50 {s.p50_ms:6.2f} ms"
                    f"  p99 {s.p99_ms:6.2f} ms  cpu {s.cpu_ms_per_op:5.2f} ms/op")
    for note in results.notes:
        add(f"note: {note}")
    return "\n".join(lines)


def _ratios(phase: load.Phase, floor: load.Phase | None) -> dict[str, float]:
    if floor is None or phase is floor:
        return {"p50": float("nan"), "p99": float("nan"), "rps": float("nan"),
                "cpu": float("nan")}
    return {"p50": phase.p50_ms / floor.p50_ms, "p99": phase.p99_ms / floor.p99_ms,
            "rps": phase.rps / floor.rps,
            "cpu": phase.cpu_ms_per_request / floor.cpu_ms_per_request
            if floor.cpu_ms_per_request else float("nan")}


def _meets(phase: load.Phase, ratio: dict[str, float]) -> bool:
    """The latency targets (CPU per request at concurrency 8 has a column of its own)."""
    if phase.errors or phase.slow:
        return False
    if phase.concurrency <= 8:
        return ratio["p50"] <= 1.2 and ratio["p99"] <= 1.5
    return ratio["rps"] >= 0.5 and ratio["p99"] <= 3


def _timing_line(name: str, timing: data.Timing | str, target_ms: float) -> str:
    if isinstance(timing, str):
        return f"  {name:<48} {timing}"
    return (f"  {name:<48} p50 {timing.p50:7.2f} ms  p95 {timing.p95:7.2f} ms  "
            f"max {timing.worst:7.2f} ms  {verdict(timing.p95 < target_ms)}  "
            f"target < {target_ms:g} ms")


def _sweep_line(run: data.SweepRun | str) -> str:
    if isinstance(run, str):
        return f"  {'Reminder sweep':<48} {run}"
    once = run.duplicates == 0 and run.missing == 0
    pace = run.dm_seconds / max(run.floor_seconds, 1.0)  # against Slack's limits
    if run.workspace_per_minute:
        # Slack refuses posts over its workspace limit: the sweep must slow down to it
        # rather than try every post, and go about as fast as it allows
        paced = pace <= 2 and run.rate_limited <= run.reminders / 2
        label = (f"Sweep of {run.reminders:,} due {run.kind} reminders, "
                 f"workspace limit {run.workspace_per_minute:.0f}/min")
        floor = f"floor {run.floor_seconds:.0f} s at that limit"
        target = "target <= 2x floor, 429s < 1 per 2 posts"
    else:
        # one sweep paces itself and is never refused; replicas each pace their own posts,
        # so two may post to one person within a second: Slack's 429 then, Retry-After honoured
        paced = pace <= 2 and (run.rate_limited == 0 or run.replicas > 1)
        label = f"Sweep of {run.reminders:,} due {run.kind} reminders" + (
            f" by {run.replicas} run-due" if run.replicas > 1 else "")
        floor = f"floor {run.floor_seconds:.0f} s for {run.max_per_channel}/person"
        target = "target <= 2x floor"
    return (f"  {label:<48} "
            f"{run.seconds:7.1f} s (DMs {run.dm_seconds:.1f} s, {floor}, x {pace:.1f}), "
            f"{run.invocations} run-due, "
            f"dup {run.duplicates}, missing {run.missing}, 429s {run.rate_limited}, "
            f"thread posts {run.other_posts}  once {verdict(once)}, "
            f"pace {verdict(paced)} ({target})")


def to_json(results: Results) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, data.Timing):
            return {"p50_ms": value.p50, "p95_ms": value.p95, "max_ms": value.worst}
        if hasattr(value, "__dataclass_fields__"):
            return {k: plain(v) for k, v in value.__dict__.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {"plan": results.plan.name, "phases": [p.summary() for p in results.phases],
            "memory": {k: {"rss_mb": v.rss_mb, "peak_mb": v.peak_mb}
                       for k, v in results.memory.items()},
            "data": plain(results.data), "notes": results.notes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter runs, same table")
    mode.add_argument("--smoke", action="store_true", help="tiny runs: the harness works")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-data", action="store_true")
    parser.add_argument("--populated-only", action="store_true",
                        help="only the bot on a copy of a populated database")
    parser.add_argument("--databases", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    logging.getLogger("bot.db").setLevel(logging.ERROR)  # generating data is slow writes
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.databases:
        from dataclasses import replace

        plan = replace(plan, databases=tuple(args.databases.split(",")))
    WORKDIR.mkdir(parents=True, exist_ok=True)
    server_cpu = pin(1)
    results = Results(plan)
    started = time.perf_counter()
    if not args.skip_load:
        run_load(results, server_cpu, args.populated_only)
    if not args.skip_data:
        unpin()  # the pin kept the load driver off the servers' core; the data paths have none
        run_data(results)
    print(render(results))
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
