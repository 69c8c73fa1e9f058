"""Stopping a served bot and everything it started (tests and bench share it)."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def stop_group(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stops `process`, started with `start_new_session=True`, then what is left of its
    process group. A worker outlives a serving process that was killed: it finishes what it
    was doing for up to a minute, and wrote into the next test's emptied database (a
    request from the test before got a card) or went on filing during the next bench phase."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    started = time.monotonic()
    while time.monotonic() - started < timeout + 5:  # a zombie nobody reaps stays in it
        late = time.monotonic() - started > timeout
        try:
            os.killpg(process.pid, signal.SIGKILL if late else signal.SIGTERM)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def worker_pids(serving_pid: int) -> list[int]:
    """The worker processes a served bot's serving process has started (bot/worker.py)."""
    kids = []
    for task in os.listdir(f"/proc/{serving_pid}/task"):
        with open(f"/proc/{serving_pid}/task/{task}/children") as children:
            kids += [int(k) for k in children.read().split()]
    return [k for k in kids if b"from bot.worker import main" in _cmdline(k)]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except FileNotFoundError:
        return b""
