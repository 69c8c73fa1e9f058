"""The worker process `requestbot serve` runs beside the one that acks.

Slack wants every request acknowledged within 3 s, and a user sees the ack's speed; the
work after it (filing a request, building cards and App Homes, similar-request lookups,
sending at Slack's pace, reminders, rescoring) is much heavier. In one Python process the
two share one interpreter lock, so heavy work after one ack delays the next. So the
serving process only takes requests in (a job row or an outbox row, in one short
transaction), acks and wakes this process; this one does the rest at a lower CPU
priority (`nice`), so the kernel gives the serving process the CPU whenever it has an ack
to send (the serving process also asks for short time slices: bot/scheduling.py). On
SQLite it takes jobs from the serving process's inbox file (bot/inbox.py), so an ack never
waits for this process's writes. Both are stateless over the database:
replicas (PostgreSQL) each run a pair.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger("requestbot")

WORKER_NICE = 10
"""Above 0 (the serving process), so it yields the CPU to acks, yet gets a share of a
busy core: at 10 about a tenth, where 19 would starve posts during a long burst."""

POLL_SECONDS = 0.5  # a retry due, a job another replica's worker dropped, a metrics snapshot
RESTART_PAUSE_SECONDS = 1.0


class WorkerProcess:
    """The serving process's handle on its worker: starts it, wakes it, restarts it when
    it died, stops it with the server.

    A plain subprocess of this Python, not multiprocessing's spawn, which also starts a
    resource tracker: a third process (13 MB) with nothing to track. The worker caps glibc's
    malloc arenas (`MALLOC_ARENA_MAX`, unless set already): each of its database threads
    had kept an arena of its own, 10 MB of its resident memory after a burst."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self.metrics_snapshot = Path(tempfile.mkdtemp(prefix="requestbot-")) / "worker.prom"

    def start(self) -> None:
        reader, writer = os.pipe()
        env = {"MALLOC_ARENA_MAX": str(WORKER_MALLOC_ARENAS), **os.environ}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _START.format(path=sys.path)], env=env,
                stdin=subprocess.PIPE, pass_fds=(reader,))
            assert self._process.stdin is not None
            with self._process.stdin as handover:  # a pipe's buffer holds it: no wait
                handover.write(pickle.dumps((self.settings, reader, self.metrics_snapshot)))
        finally:
            os.close(reader)
        self._wake_fd = writer
        os.set_blocking(self._wake_fd, False)

    def wake(self) -> None:
        """Something is owed: never blocks (a full pipe means the worker has wakes waiting)."""
        if self._wake_fd is None:
            return
        try:
            os.write(self._wake_fd, b"!")
        except (BlockingIOError, BrokenPipeError):
            pass

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def supervise(self, interval: float = 2.0) -> None:
        """Restarts the worker when it died (its claims expire; the new one takes them)."""
        while True:
            await asyncio.sleep(interval)
            if not self.alive():
                code = self._process.returncode if self._process is not None else None
                log.error("the worker process stopped; starting it again",
                          extra={"exit_code": code})
                self.stop()
                await asyncio.sleep(RESTART_PAUSE_SECONDS)
                self.start()
                self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Closing the pipe tells the worker to finish what it is sending and exit."""
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.terminate()
                try:
                    self._process.wait(2)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.metrics_snapshot.parent, ignore_errors=True)


WORKER_MALLOC_ARENAS = 2

_START = "import sys; sys.path[:0] = {path!r}; from bot.worker import main; main()"
"""The worker's command line: this process's import path first (as multiprocessing's
spawn passes it), so it runs the same code however `serve` was started."""


def main() -> None:
    """The worker's entry: its settings, wake pipe and metrics file come pickled on stdin."""
    settings, wake_fd, metrics_snapshot = pickle.load(sys.stdin.buffer)
    from bot.logs import configure_logging
    from bot.scheduling import DEFAULT_SLICE, request_time_slice

    os.nice(WORKER_NICE)
    request_time_slice(DEFAULT_SLICE)  # the serving process's short ones are for acks
    configure_logging(settings.log_format)
    from bot import loops

    loops.run(work(settings, wake_fd, metrics_snapshot))


async def work(settings: Settings, fd: int, metrics_snapshot: Path) -> None:
    """Runs owed work whenever woken (and every POLL_SECONDS), until the serving process
    closes the pipe or dies."""
    from bot.db import Database
    from bot.inbox import JobInbox
    from bot.runtime import Runtime

    inbox_path = JobInbox.path_beside(settings.database_url)
    inbox = JobInbox(inbox_path) if inbox_path is not None else None
    runtime = Runtime(settings, Database(settings.database_url), job_inbox=inbox, worker=True)
    await runtime.start()
    gc.freeze()  # as the serving process does (bot/serve.py)
    assert runtime.deps is not None
    deps = runtime.deps
    loop = asyncio.get_running_loop()
    woken, parent_gone = asyncio.Event(), asyncio.Event()
    os.set_blocking(fd, False)

    def read_wakes() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:  # the serving process closed the pipe or died
            loop.remove_reader(fd)
            parent_gone.set()
        woken.set()

    loop.add_reader(fd, read_wakes)
    running: set[asyncio.Task[object]] = set()

    def launch(coroutine) -> None:
        task = asyncio.create_task(_logged(coroutine))
        running.add(task)
        task.add_done_callback(running.discard)

    log.info("worker started", extra={"pid": os.getpid()})
    saved_at = 0.0
    try:
        while not parent_gone.is_set():
            try:
                await asyncio.wait_for(woken.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
            woken.clear()
            if time.monotonic() - saved_at >= POLL_SECONDS:  # not on every wake of a burst
                runtime.metrics.save(metrics_snapshot)
                saved_at = time.monotonic()
            launch(deps.jobs.run_due())
            delivery = deps.sender.deliver_soon()
            if delivery is not None:
                launch(delivery)
        if running:
            await asyncio.wait(running, timeout=30)
        try:
            await asyncio.wait_for(deps.jobs.sent(), timeout=30)
        except TimeoutError:
            log.warning("stopped with posts still to send; they wait in the outbox")
        runtime.metrics.save(metrics_snapshot)
    finally:
        await runtime.stop()


async def _logged(work) -> None:
    try:
        await work
    except Exception:  # noqa: BLE001 - logged; the next wake or poll tries again
        log.exception("owed work failed in the worker")
