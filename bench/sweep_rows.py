"""Only the reminder sweep rows of `bench/run.py` (issue #8, item 5), on a private copy of
the generated database so other benchmarks reading the cached one are not disturbed:

    python bench/sweep_rows.py                          # 10,000 stale + 300 revisit, both databases
    python bench/sweep_rows.py --databases sqlite --stale 2000 --revisit 0
    python bench/sweep_rows.py --stale 300 --per-recipient 1 --revisit 0 --workspace-per-minute 600

Each row runs `requestbot reminders run-due` (re-run until nothing is due) against the
paced Slack double, as `bench/run.py` does, and prints the same line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data, datagen  # noqa: E402
from bench.run import _sweep_line  # noqa: E402

COPY_NAME = "requestbot_bench_sweep_rows"


def private_copy(dialect: str, requests: int) -> str:
    source, _ = datagen.ensure_dataset(dialect, datagen.Spec.scaled(requests),
                                       progress=lambda m: print(f"  generating: {m}",
                                                                file=sys.stderr))
    if dialect == "sqlite":
        return datagen.sqlite_copy(source, Path(f"/tmp/requestbot-bench/{COPY_NAME}-{os.getpid()}.db"))
    return datagen.postgres_copy(source, COPY_NAME)


def drop_copy(url: str) -> None:
    if url.startswith("sqlite:///"):
        datagen.remove_sqlite_files(url.removeprefix("sqlite:///"))
        return
    datagen.on_postgres_server(f'DROP DATABASE IF EXISTS "{COPY_NAME}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--stale", type=int, default=10_000)
    parser.add_argument("--revisit", type=int, default=300)
    parser.add_argument("--per-recipient", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=1,
                        help="run-due processes sweeping at once (as replicas would)")
    parser.add_argument("--workspace-per-minute", type=float, default=None,
                        help="the double also limits posts across the workspace to this")
    args = parser.parse_args()
    for dialect in args.databases:
        url = private_copy(dialect, args.requests)
        try:
            print(f"{dialect}:", flush=True)
            for kind, count in (("stale", args.stale), ("revisit", args.revisit)):
                if count:
                    started = time.perf_counter()
                    run = data.time_sweep(url, count, kind, args.per_recipient, args.replicas,
                                          args.workspace_per_minute)
                    print(_sweep_line(run), f"[{time.perf_counter() - started:.1f} s wall]",
                          flush=True)
        finally:
            drop_copy(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
