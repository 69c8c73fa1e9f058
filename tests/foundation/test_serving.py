"""The bot as an operator meets it: health, readiness, metrics, and Slack's signature checks."""

import asyncio
import json
import time

import httpx
from sqlalchemy import func, select

from bot import loops
from models import SlackDelivery
from tests.slack.payloads import event_callback, message_event, url_verification


def test_healthz_answers_while_alive(bot):
    response = httpx.get(f"{bot.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_the_schema_is_current(bot):
    response = httpx.get(f"{bot.url}/readyz")
    assert response.status_code == 200, response.text


def test_url_verification_is_answered_with_the_challenge(bot):
    body, content_type = url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    response = bot.post(body, content_type)
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


def _thread_reply(bot):
    return event_callback(
        message_event("C0SALES01", "U0REP0001", "4 customers", ts="1700000001.000200",
                      thread_ts="1700000000.000100"),
        team_id="T0TEAM001", event_id="Ev0001",
    )


def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_change_nothing(bot, slack):
    body, content_type = _thread_reply(bot)
    unsigned = bot.post(body, content_type, sign=False)
    wrong = bot.post(body, content_type, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    stale = bot.post(body, content_type, timestamp=int(time.time()) - 60 * 10)
    assert [unsigned.status_code, wrong.status_code, stale.status_code] == [401, 401, 401]
    bot.wait_idle()
    assert slack.calls == []
    with bot.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SlackDelivery)) == 0


def test_metrics_count_slack_requests_by_kind_and_outcome(bot):
    body, content_type = url_verification("abc")
    bot.post(body, content_type)
    bot.post(body, content_type, sign=False)
    text = httpx.get(f"{bot.url}/metrics").text
    assert 'requestbot_slack_requests_total{kind="url_verification",outcome="ok"} 1.0' in text
    assert 'requestbot_slack_requests_total{kind="url_verification",outcome="401"} 1.0' in text
    assert "requestbot_ack_latency_seconds_bucket" in text


def test_oversized_bodies_are_refused(bot):
    body = json.dumps({"type": "url_verification", "challenge": "x" * 1_100_000})
    response = bot.post(body, "application/json")
    assert response.status_code == 413


def test_signed_requests_dispatched_straight_into_the_app_are_verified_too(bot, slack):
    from tests.harness import CHANNEL, REP
    from tests.slack.payloads import slash_command

    body, content_type = slash_command("", REP, CHANNEL)
    assert bot.dispatch(body, content_type, sign=False).status == 401
    assert bot.dispatch(body, content_type).status == 200
    [call] = slack.wait_for("views.open")
    assert call.args["view"]["callback_id"] == "request_modal"


def test_the_long_running_processes_run_on_uvloop():
    async def running_loop() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert loops.run(running_loop()).startswith("uvloop")
