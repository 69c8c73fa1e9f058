"""The bench's Slack double serves the tests' double on aiohttp (bench/slack_double.py
AsyncFront): the same records, checks and answers as the threaded server, its delay waited
without a thread, and Slack's per-channel pace answered with 429."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bench.slack_double import AsyncFront, PacedSlackDouble, posts

TOKEN = "xoxb-front-test"


@pytest.fixture
def front() -> Iterator[tuple[PacedSlackDouble, WebClient]]:
    double = PacedSlackDouble()
    server = AsyncFront(double)
    client = WebClient(token=TOKEN, base_url=server.start())
    try:
        yield double, client
    finally:
        server.stop()


def test_calls_are_recorded_checked_and_answered_as_slack_does(front):
    double, client = front

    answer = client.chat_postMessage(channel="C0FRONT01", text="hi",
                                     blocks=[{"type": "section",
                                              "text": {"type": "mrkdwn", "text": "hi"}}])
    with pytest.raises(SlackApiError) as refused:
        client.api_call("chat.postMessage", json={"text": "no channel"})

    assert answer["ok"] and answer["channel"] == "C0FRONT01" and answer["ts"]
    assert refused.value.response["error"] == "invalid_arguments"
    first, second = double.calls_to("chat.postMessage")
    assert first.token == TOKEN and first.args["blocks"][0]["text"]["text"] == "hi"
    assert second.status == 200 and second.response["ok"] is False
    assert double.violations == ["chat.postMessage: missing required argument(s) ['channel']"]


def test_a_second_post_to_a_channel_within_a_second_gets_429_with_retry_after(front):
    double, client = front

    client.chat_postMessage(channel="C0FRONT01", text="one")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0FRONT01", text="two")
    client.chat_postMessage(channel="C0FRONT02", text="elsewhere")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert posts(double)["rate_limited"] == 1
    assert posts(double)["accepted"] == {"C0FRONT01": 1, "C0FRONT02": 1}


def test_every_answer_waits_out_the_delay(front):
    double, client = front
    double.delay(0.2)

    started = time.monotonic()
    client.auth_test()

    assert time.monotonic() - started >= 0.2
