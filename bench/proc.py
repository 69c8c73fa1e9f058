"""What a process costs, read from /proc: CPU time and memory, without psutil.

`cpu_seconds` is utime + stime (user and system CPU) of the process itself; `memory_kb`
is its resident set now (VmRSS) and at its peak (VmHWM). The `tree_` variants add up a
process and its descendants: `requestbot serve` acks in one process and does the work
after the acks in a worker process it starts (bot/worker.py), and both are the bot's cost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # after "pid (comm)": state is fields[0], so utime (14th) and stime (15th) are 11 and 12
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                kids = [int(k) for k in children.read().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in [pid, *descendants(pid)]:
        try:
            total += cpu_seconds(member)
        except FileNotFoundError:
            pass
    return total


@dataclass(frozen=True)
class Memory:
    rss_kb: int
    peak_kb: int

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def memory(pid: int) -> Memory:
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return Memory(values.get("VmRSS", 0), values.get("VmHWM", 0))


def tree_memory(pid: int) -> Memory:
    """The process and its descendants together (each one's peak added: an upper bound)."""
    members = [memory(member) for member in [pid, *descendants(pid)]]
    return Memory(sum(m.rss_kb for m in members), sum(m.peak_kb for m in members))


def settle(pid: int, owed: Callable[[], int] | None = None, quiet_seconds: float = 0.3,
           timeout: float = 240.0) -> float:
    """Waits until the process and its children stop using CPU and `owed()` (the jobs they
    have still to do) is 0: the work after the acks is done (on PostgreSQL the worker
    can sit idle for a moment while its queries run there, jobs still waiting); returns
    their CPU seconds then. Quiet: under 2% of a core over
    `quiet_seconds` (posts to one busy channel trickle out at Slack's pace for minutes,
    at well under that), or `timeout` at most. A burst of submissions leaves the worker a
    minute of filing after the last ack; waiting it out keeps each phase's acks from
    competing with the one before's work, and counts all of that work."""
    deadline = time.monotonic() + timeout
    last = tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = tree_cpu_seconds(pid)
        if now - last <= 0.02 * quiet_seconds + 1 / CLOCK_TICKS and (owed is None or owed() == 0):
            return now
        last = now
    return last


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent on anything but idle and I/O wait."""
    with open("/proc/stat") as stat:  # cpu  user nice system idle iowait irq softirq ...
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def wait_for_quiet_machine(busy_fraction: float = 0.1, window: float = 2.0,
                           timeout: float = 180.0) -> float:
    """Waits until the machine, all its cores together, has used under `busy_fraction` of
    one core over `window` seconds (`timeout` at most); returns the seconds waited. After
    the load phases PostgreSQL vacuums and checkpoints what they wrote, and a server may
    still be exiting: a data path timed meanwhile measures that too."""
    started = time.monotonic()
    last = machine_busy_seconds()
    while time.monotonic() - started < timeout:
        time.sleep(window)
        now = machine_busy_seconds()
        if now - last <= busy_fraction * window:
            break
        last = now
    return time.monotonic() - started


class PeakMemory:
    """Polls a running process's VmHWM (the kernel keeps the peak; polling only has to
    catch the process before it exits)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0

    def poll(self) -> None:
        try:
            self.peak_kb = max(self.peak_kb, memory(self.pid).peak_kb)
        except (FileNotFoundError, ProcessLookupError):
            pass
