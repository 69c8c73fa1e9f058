"""Running the bot: HTTP on uvicorn, or Socket Mode with the HTTP health routes beside it."""

from __future__ import annotations

import asyncio
import gc
import logging

import uvicorn
from starlette.applications import Starlette

from bot.db import Database
from bot.inbox import JobInbox
from bot.runtime import Runtime
from bot.server import create_web_app
from bot.settings import Settings
from bot.worker import WorkerProcess

log = logging.getLogger("requestbot")


async def serve(settings: Settings, database: Database, host: str, port: int) -> None:
    """This process takes Slack's requests in and acks them; a worker process beside it
    (bot/worker.py) does the work after the acks, the schedule included. On SQLite, jobs
    go through an inbox file that only this process writes (bot/inbox.py)."""
    inbox = None
    if database.dialect == "sqlite":
        inbox_path = JobInbox.path_beside(settings.database_url)
        if inbox_path is None:  # in memory: nothing another process could share
            await _serve_alone(settings, database, host, port)
            return
        inbox = JobInbox(inbox_path)
    worker = WorkerProcess(settings)
    worker.start()
    supervising = asyncio.create_task(worker.supervise())
    runtime = Runtime(settings, database, run_schedule=False, handoff=worker.wake,
                      job_inbox=inbox)
    runtime.metrics.worker_snapshot = worker.metrics_snapshot
    try:
        await _run(runtime, host, port)
    finally:
        supervising.cancel()
        await asyncio.to_thread(worker.close)


async def _serve_alone(settings: Settings, database: Database, host: str, port: int) -> None:
    """An in-memory SQLite database: one process does it all (jobs run right after their
    acks)."""
    await _run(Runtime(settings, database), host, port)


def uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
        http="httptools",  # HTTP parsed in C: h11 was a third of an event's ack
        ws="none",  # no WebSocket routes: the websockets package (0.65 MB) stays unloaded
    )


async def _run(runtime: Runtime, host: str, port: int) -> None:
    server = uvicorn.Server(uvicorn_config(create_web_app(runtime), host, port))
    freezing = asyncio.create_task(_freeze_once_started(server))
    try:
        if not runtime.settings.socket_mode:
            log.info("serving over HTTP", extra={"host": host, "port": port})
            await server.serve()
            return
        await asyncio.gather(server.serve(), _socket_mode(runtime, server))
    finally:
        freezing.cancel()


async def _freeze_once_started(server: uvicorn.Server) -> None:
    """What startup built lives as long as the process: out of the garbage collector's
    scans from then on. Its full collections had paused acks for tens of milliseconds
    (p99 of /request at concurrency 8: 80 -> 25 ms)."""
    while not server.started:
        await asyncio.sleep(0.05)
    gc.freeze()


async def _socket_mode(runtime: Runtime, server: uvicorn.Server) -> None:
    """Connects to Slack over a WebSocket once the HTTP side (and so the runtime) has started."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.05)
    assert runtime.bolt is not None
    handler = AsyncSocketModeHandler(runtime.bolt, runtime.settings.slack_app_token)
    await handler.connect_async()
    log.info("connected in Socket Mode")
    try:
        while not server.should_exit:
            await asyncio.sleep(0.2)
    finally:
        await handler.close_async()
