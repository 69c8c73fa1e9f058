"""What the serving process leaves to its worker it does not import: rapidfuzz (only the
worker ranks similar requests) and APScheduler (only a process with a schedule runs one).
Each holds a few MB of the serving process's memory (bench/README.md, memory). And
`reminders run-due`, which only sends, starts without Bolt (a third of its start-up)."""

from __future__ import annotations

import subprocess
import sys


def loaded_by(code: str, packages: set[str]) -> str:
    """Which of `packages` a fresh interpreter has loaded after running `code`."""
    return subprocess.run(
        [sys.executable, "-c",
         f"import sys; {code}; print(sorted({{m.split('.')[0] for m in sys.modules}} "
         f"& set({sorted(packages)!r})))"],
        capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_server_loads_neither_rapidfuzz_nor_apscheduler():
    loaded = loaded_by("import bot.serve", {"rapidfuzz", "apscheduler"})
    assert loaded == "[]"


def test_the_server_loads_no_websocket_protocol():
    loaded = loaded_by("from starlette.applications import Starlette; "
                       "from bot.serve import uvicorn_config; "
                       "uvicorn_config(Starlette(), '127.0.0.1', 3000).load()",
                       {"websockets", "wsproto"})
    assert loaded == "[]"


def test_ranking_imports_rapidfuzz_when_it_first_needs_it():
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys; from bot.similarity.lexical import score, text_vector; "
         "a = text_vector('Export to CSV', None); b = text_vector('CSV export', None); "
         "print(score(a, b) > 0.5, 'rapidfuzz' in sys.modules)"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "True True"


def test_run_due_starts_without_bolt_or_the_server():
    loaded = loaded_by("import bot.cli, bot.runtime", {"slack_bolt", "uvicorn", "starlette", "apscheduler"})
    assert loaded == "[]"
