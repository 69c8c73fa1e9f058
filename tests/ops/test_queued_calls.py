"""Calls posted as JSON straight through aiohttp (`SlackApi._post_json`), queued ones (the
outbox, reminders: `SlackApi.send`) and interactive ones (a modal opened after an ack:
`SlackApi.call`): what Slack sees, and how each kind of failure comes back to the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics
from bot.slack_api import CallFailure, SlackApi, attempt
from tests.slack.double import SlackDouble

TOKEN = "xoxb-queued-test"
MESSAGE = {"channel": "C0QUEUED1", "text": "Request #7 has waited 30 days for a decision",
           "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*#7* — café"}}]}


@pytest.fixture
def double() -> Iterator[SlackDouble]:
    with SlackDouble() as slack:
        yield slack


async def _token(_team: str | None) -> str | None:
    return TOKEN


async def _no_token(_team: str | None) -> str | None:
    return None


async def attempt_through(base_url: str, method: str, args: dict[str, Any], token=_token,
                          metrics: Metrics | None = None) -> tuple[dict[str, Any], CallFailure | None]:
    """One `attempt` through a SlackApi with its own aiohttp session, as the worker has."""
    async with aiohttp.ClientSession() as session:
        api = SlackApi(base_url, token, metrics or Metrics(), session)
        return await attempt(api, "T0QUEUED", method, args)


def queued(base_url: str, method: str, args: dict[str, Any], token=_token
           ) -> tuple[dict[str, Any], CallFailure | None, Metrics]:
    metrics = Metrics()
    return (*asyncio.run(attempt_through(base_url, method, args, token, metrics)), metrics)


def calls_counted(metrics: Metrics, method: str, outcome: str) -> float:
    return metrics.registry.get_sample_value(
        "requestbot_web_api_calls_total", {"method": method, "outcome": outcome}) or 0.0


def test_a_queued_post_goes_as_json_with_the_bot_token_and_slack_accepts_it(double):
    answer, failure, metrics = queued(double.base_url, "chat.postMessage", MESSAGE)

    assert failure is None
    assert answer["ok"] and answer["channel"] == "C0QUEUED1" and answer["ts"]
    [call] = double.calls_to("chat.postMessage")
    assert call.http_method == "POST" and call.token == TOKEN
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.args["blocks"][0]["text"]["text"] == "*#7* — café"
    assert double.violations == []
    assert calls_counted(metrics, "chat.postMessage", "ok") == 1


def test_a_rate_limited_post_comes_back_with_slacks_retry_after(double):
    double.rate_limit("chat.postMessage", retry_after=7)

    answer, failure, metrics = queued(double.base_url, "chat.postMessage", MESSAGE)

    assert answer == {}
    assert failure == CallFailure("ratelimited", permanent=False, retry_after=7.0)
    assert len(double.calls_to("chat.postMessage")) == 1  # never retried inline
    assert calls_counted(metrics, "chat.postMessage", "ratelimited") == 1


def test_an_error_slack_will_not_change_its_mind_on_is_permanent(double):
    double.fail("chat.update", error="message_not_found")

    _, failure, _ = queued(double.base_url, "chat.update",
                           {"channel": "C0QUEUED1", "ts": "1.000001", "text": "edited"})

    assert failure == CallFailure("message_not_found", permanent=True)


def test_a_server_error_is_left_to_the_rows_backoff(double):
    double.server_error("views.publish", status=503)

    _, failure, _ = queued(double.base_url, "views.publish",
                           {"user_id": "U0QUEUED1", "view": {"type": "home", "blocks": []}})

    assert failure == CallFailure("fatal_error", permanent=False)
    assert len(double.calls_to("views.publish")) == 1


MODAL = {"type": "modal", "callback_id": "request_modal", "title": {"type": "plain_text", "text": "New request"},
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "café"}}]}


def interactive(base_url: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            return await SlackApi(base_url, _token, Metrics(), session).call(
                "T0QUEUED", method, **args)

    return asyncio.run(run())


def test_a_modal_opened_for_someone_waiting_goes_as_json_and_a_server_error_is_tried_once_more(
    double,
):
    double.server_error("views.open", status=503)

    answer = interactive(double.base_url, "views.open", {"trigger_id": "1.2.abc", "view": MODAL})

    assert answer["ok"] and answer["view"]["callback_id"] == "request_modal"
    first, second = double.calls_to("views.open")
    assert first.status == 503 and second.status == 200 and second.token == TOKEN
    assert second.headers["Content-Type"].startswith("application/json")
    assert second.at - first.at >= 0.5  # slack-sdk's pause before its retry
    assert double.violations == []


def test_a_modal_slack_keeps_failing_raises_slacks_error_after_one_more_try(double):
    double.server_error("views.open", status=500, times=2)

    with pytest.raises(SlackApiError) as raised:
        interactive(double.base_url, "views.open", {"trigger_id": "1.2.abc", "view": MODAL})

    assert raised.value.response.status_code == 500
    assert len(double.calls_to("views.open")) == 2


def test_a_method_that_takes_no_json_still_goes_through_slack_sdk(double):
    double.set_message("C0QUEUED1", "1.000001", "hello", "U0QUEUED1")

    answer, failure, _ = queued(double.base_url, "chat.getPermalink",
                                {"channel": "C0QUEUED1", "message_ts": "1.000001"})

    assert failure is None and answer["permalink"]
    [call] = double.calls_to("chat.getPermalink")
    assert not call.headers.get("Content-Type", "").startswith("application/json")
    assert double.violations == []


def test_no_bot_token_for_the_workspace_waits_a_minute_without_calling_slack(double):
    _, failure, _ = queued(double.base_url, "chat.postMessage", MESSAGE, token=_no_token)

    assert failure is not None and not failure.permanent and failure.retry_after == 60
    assert double.calls == []


# -- answers no Slack double gives: a proxy's HTML page, a dropped connection ------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def against(handler: Handler, method: str = "chat.postMessage"
            ) -> tuple[dict[str, Any], CallFailure | None]:
    async def run() -> tuple[dict[str, Any], CallFailure | None]:
        app = web.Application()
        app.router.add_post("/api/{method}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await attempt_through(f"http://127.0.0.1:{port}/api/", method, MESSAGE)
        finally:
            await runner.cleanup()

    return asyncio.run(run())


def test_a_gateway_page_instead_of_json_is_tried_again_later():
    async def gateway(_request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    answer, failure = against(gateway)

    assert answer == {} and failure == CallFailure("http_502", permanent=False)


def test_a_dropped_keep_alive_connection_is_tried_again_once_at_once():
    seen: list[bytes] = []

    async def drops_the_first(request: web.Request) -> web.StreamResponse:
        seen.append(await request.read())
        if len(seen) == 1:
            assert request.transport is not None
            request.transport.close()  # as a server closing an idle keep-alive connection
            return web.Response()
        return web.json_response({"ok": True, "channel": "C0QUEUED1", "ts": "2.000001"})

    answer, failure = against(drops_the_first)

    assert failure is None and answer["ts"] == "2.000001"
    assert len(seen) == 2 and seen[0] == seen[1]


def test_a_connection_dropped_twice_is_kept_for_a_later_try():
    async def always_drops(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    answer, failure = against(always_drops)

    assert answer == {} and failure is not None and not failure.permanent
