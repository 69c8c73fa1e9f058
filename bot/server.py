"""The HTTP surface: Slack's requests, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import events
from bot.db import schema_is_current
from bot.intake import kind_of, read_body, signed
from bot.runtime import Runtime

log = logging.getLogger("requestbot.requests")

MAX_BODY_BYTES = 1_000_000  # Slack's largest payloads (full views) are far smaller


def create_web_app(runtime: Runtime) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette):
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _finish(runtime, "oversized", None, started, Response(status_code=413))
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _finish(runtime, "oversized", None, started, Response(status_code=413))
        content_type = request.headers.get("content-type", "")
        text, data, problem = read_body(body, content_type)
        kind, team = kind_of(data) if problem is None else ("?", None)
        if problem is not None:
            status = 400 if signed(runtime.settings.slack_signing_secret, body,
                                   request.headers) else 401
            log.warning("malformed slack request", extra={"problem": problem, "status": status})
            return _finish(runtime, "malformed", team, started, Response(status_code=status))
        assert runtime.bolt is not None
        if runtime.events_later and kind.startswith("event:"):
            response = await _take_event_in(runtime, data, body, request, team)
            return _finish(runtime, kind, team, started, response)
        bolt_request = _bolt_request(request, text, data)
        try:
            response = to_starlette_response(await runtime.bolt.async_dispatch(bolt_request))
        except Exception:  # noqa: BLE001 - a shape Bolt could not handle: logged, answered 400
            ref = uuid.uuid4().hex[:8]
            log.exception("slack request failed", extra={"ref": ref, "kind": kind})
            response = JSONResponse({"ok": False, "error": "invalid_request", "ref": ref},
                                    status_code=400)
        return _finish(runtime, kind, team, started, response)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            current = await asyncio.to_thread(schema_is_current, runtime.db)
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            return JSONResponse(
                {"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"},
                status_code=503,
            )
        if not current:
            return JSONResponse(
                {"status": "unavailable", "reason": "schema behind: run `requestbot db upgrade`"},
                status_code=503,
            )
        return JSONResponse({"status": "ready"})

    async def metrics(_request: Request) -> Response:
        return Response(
            runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def slack_install(request: Request) -> Response:
        """Slack's install flow, as Bolt runs it (only with OAuth configured; else 404)."""
        started = time.perf_counter()
        assert runtime.handler is not None
        response = await runtime.handler.handle(request)
        return _finish(runtime, f"oauth:{request.url.path.rsplit('/', 1)[-1]}", None, started,
                       response)

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/slack/install", slack_install, methods=["GET"]),
        Route("/slack/oauth_redirect", slack_install, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return app


async def _take_event_in(runtime: Runtime, data: dict, raw: bytes, request: Request,
                         team: str | None) -> Response:
    """An event under `serve`: signed like Bolt checks it, stored for the worker, acked."""
    if not signed(runtime.settings.slack_signing_secret, raw, request.headers):
        return JSONResponse({"error": "invalid request"}, status_code=401)
    assert runtime.deps is not None
    if not events.worth_keeping(data["event"], runtime.settings.capture_emoji):
        return Response(status_code=200)
    try:
        await events.take_in(runtime.deps.jobs, team, raw)
    except Exception:  # noqa: BLE001 - not stored: Slack is told to send it again
        log.exception("could not store an event; Slack will send it again")
        return Response(status_code=500)
    return Response(status_code=200)


def _bolt_request(request: Request, raw: str, data: dict) -> AsyncBoltRequest:
    """Bolt's request for a body already read (intake.parse_body): Bolt takes a parsed body
    only as Socket Mode's, so the request is made as one, then given the raw body it checks
    the signature over and made an HTTP request again."""
    bolt_request = AsyncBoltRequest(body=data, query=request.query_params,  # type: ignore[arg-type]
                                    headers=request.headers, mode="socket_mode")  # type: ignore[arg-type]
    bolt_request.raw_body, bolt_request.mode = raw, "http"
    return bolt_request


def _finish(
    runtime: Runtime, kind: str, team: str | None, started: float, response: Response
) -> Response:
    """Counts and logs the request once its answer has gone out (Starlette runs a
    response's background task after sending it, on the event loop), so neither delays the
    ack."""
    elapsed = time.perf_counter() - started
    response.background = BackgroundTask(_record, runtime, kind, team, elapsed,
                                         response.status_code)
    return response


async def _record(runtime: Runtime, kind: str, team: str | None, elapsed: float,
                  status: int) -> None:
    outcome = "ok" if status < 400 else str(status)
    runtime.metrics.slack_requests.labels(kind=kind, outcome=outcome).inc()
    runtime.metrics.ack_latency.labels(kind=kind).observe(elapsed)
    log.info(
        "slack request",
        extra={"kind": kind, "team": team, "status": status,
               "latency_ms": round(elapsed * 1000, 2), "outcome": outcome},
    )
