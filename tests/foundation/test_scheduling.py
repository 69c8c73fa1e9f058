"""The serving process asks Linux for short time slices, so that it takes the CPU from its
worker as soon as an ack is waiting; the worker keeps the kernel's default (bot/scheduling.py)."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bot.scheduling import DEFAULT_SLICE, SHORTEST_SLICE_NS, request_time_slice
from tests.processes import worker_pids


def slice_of(sched: Path) -> int | None:
    """`se.slice` from a /proc …/sched file (None where the kernel does not show it)."""
    for line in sched.read_text().splitlines():
        if line.startswith("se.slice"):
            return int(line.split(":")[1])
    return None


def in_a_thread(work):
    """`work()` on a thread of its own, so the test's own thread keeps its slice and nice."""
    result = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def custom_slices() -> bool:
    """Whether this kernel (Linux 6.12 and later) takes a task's own slice."""
    def probe() -> bool:
        request_time_slice(SHORTEST_SLICE_NS)
        return slice_of(Path("/proc/thread-self/sched")) == SHORTEST_SLICE_NS
    return Path("/proc/thread-self/sched").exists() and in_a_thread(probe)


needs_custom_slices = pytest.mark.skipif(not custom_slices(),
                                         reason="this kernel has no per-task time slices")


@needs_custom_slices
def test_a_thread_asks_for_the_shortest_slice_and_back_keeping_its_nice():
    def work() -> tuple[int | None, int | None, int, int]:
        sched = Path("/proc/thread-self/sched")
        default = slice_of(sched)
        os.nice(3)  # per thread on Linux
        assert request_time_slice(SHORTEST_SLICE_NS)
        short = slice_of(sched)
        assert request_time_slice(DEFAULT_SLICE)
        return default, short, slice_of(sched), os.nice(0)

    default, short, back, nice = in_a_thread(work)
    assert short == SHORTEST_SLICE_NS
    assert back == default and default != SHORTEST_SLICE_NS
    assert nice == os.nice(0) + 3  # the call kept the thread's nice


@needs_custom_slices
def test_the_serving_process_has_short_slices_and_its_worker_the_default(served_bot):
    serving = served_bot.process.pid
    deadline = time.monotonic() + 10
    workers: list[int] = []
    while not workers and time.monotonic() < deadline:
        workers = worker_pids(serving)
        time.sleep(0.1)
    [worker] = workers
    assert slice_of(Path(f"/proc/{serving}/sched")) == SHORTEST_SLICE_NS
    with urllib.request.urlopen(f"{served_bot.url}/readyz", timeout=10) as answer:
        assert answer.status == 200  # it reads the schema on a thread: one more thread
    threads = list(Path(f"/proc/{serving}/task").iterdir())
    assert len(threads) > 1 and all(slice_of(t / "sched") == SHORTEST_SLICE_NS for t in threads)
    deadline = time.monotonic() + 30  # the worker sets its own once it has started up
    while (slice_of(Path(f"/proc/{worker}/sched")) == SHORTEST_SLICE_NS
           and time.monotonic() < deadline):
        time.sleep(0.1)
    assert slice_of(Path(f"/proc/{worker}/sched")) not in (None, SHORTEST_SLICE_NS)
    assert os.getpriority(os.PRIO_PROCESS, int(worker)) == 10
