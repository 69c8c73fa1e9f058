"""What an operator watches: one JSON log line per Slack request, never a secret, and metrics."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from bot.cli import AUTOVACUUM_OFF
from bot.db import autovacuum_is_off
from bot.slack_api import make_client
from tests.flows.helpers import opened_view, state_for
from tests.harness import BOT_TOKEN, CHANNEL, REP, SIGNING_SECRET, TEAM_ID, wait_until

SECRETS = (BOT_TOKEN, SIGNING_SECRET, "xoxb-1234")


@pytest.fixture
def settings_overrides():
    return {"REQUESTBOT_LOG_FORMAT": "json"}


def log_lines(served_bot) -> list[dict]:
    lines = [line for line in served_bot.log().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_every_slack_request_is_one_json_log_line_without_secrets_and_counted(served_bot, slack):
    slack.rate_limit("chat.postMessage", retry_after=1, times=2)  # the card waits for its retries
    served_bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    served_bot.submit_view(view["callback_id"], state_for(view, {"title": "Bulk CSV export"}),
                           REP, private_metadata=view["private_metadata"], view=view)
    served_bot.post(*_unsigned_probe(), sign=False)
    # the outbox's schedule sends the card once Slack stops rate limiting
    card = slack.wait_for("chat.postMessage", timeout=20, predicate=lambda c: c.status == 200)
    assert len(card) == 1

    def request_lines():
        lines = [e for e in log_lines(served_bot) if e.get("message") == "slack request"]
        return lines if len(lines) >= 3 else None

    lines = wait_until(request_lines)
    kinds = {(e["kind"], e["outcome"]) for e in lines}
    assert {("command", "ok"), ("view_submission", "ok"), ("event:message", "401")} <= kinds
    for entry in lines:
        assert entry["level"] == "info" and entry["latency_ms"] >= 0
    command = next(e for e in lines if e["kind"] == "command")
    assert command["team"] == TEAM_ID and command["status"] == 200
    failed = [e for e in log_lines(served_bot) if e.get("message") == "slack call failed"]
    assert failed and failed[0]["error"] == "ratelimited"
    everything = served_bot.log()
    for secret in SECRETS:
        assert secret not in everything

    def worker_counts():  # the worker process's counts arrive in a snapshot
        text = httpx.get(f"{served_bot.url}/metrics").text
        wanted = ('method="chat.postMessage",outcome="ratelimited"',
                  'method="chat.postMessage",outcome="ok"')
        return text if all(series in text for series in wanted) else None

    metrics = wait_until(worker_counts)
    assert 'requestbot_slack_requests_total{kind="command",outcome="ok"} 1.0' in metrics
    assert 'requestbot_slack_requests_total{kind="view_submission",outcome="ok"} 1.0' in metrics
    assert 'requestbot_slack_requests_total{kind="event:message",outcome="401"} 1.0' in metrics
    assert 'requestbot_ack_latency_seconds_bucket{kind="command",le="0.5"} 1.0' in metrics
    assert 'requestbot_web_api_calls_total{method="views.open",outcome="ok"} 1.0' in metrics
    assert 'requestbot_web_api_calls_total{method="chat.postMessage",outcome="ratelimited"}' in metrics
    # the card, and the follow-up question too once the outbox has got to it
    posted = re.search(
        r'requestbot_web_api_calls_total\{method="chat.postMessage",outcome="ok"\} (\S+)', metrics)
    assert posted and float(posted.group(1)) >= 1
    assert "# TYPE requestbot_reminders_total counter" in metrics
    for secret in SECRETS:
        assert secret not in metrics


def test_health_and_readiness_over_the_wire(served_bot):
    assert httpx.get(f"{served_bot.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{served_bot.url}/readyz").status_code == 200


def _unsigned_probe():
    from tests.slack.payloads import event_callback, message_event

    return event_callback(message_event(CHANNEL, REP, "hello"))


def test_log_lines_redact_tokens_in_messages_extras_and_tracebacks():
    import logging

    from bot.logs import JsonFormatter, TextFormatter

    try:
        raise RuntimeError("Slack refused xoxb-1-secret-token")
    except RuntimeError:
        import sys

        record = logging.makeLogRecord({
            "msg": "calling with %s", "args": ("xapp-1-A0-secret",), "levelname": "ERROR",
            "name": "requestbot", "error": "invalid_auth for xoxp-9-user-secret",
            "exc_info": sys.exc_info(),
        })
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        for secret in ("1-secret-token", "1-A0-secret", "9-user-secret"):
            assert secret not in line
        assert "xoxb-***" in line and "xapp-***" in line and "xoxp-***" in line
    assert json.loads(JsonFormatter().format(record))["error"] == "invalid_auth for xoxp-***"


def test_json_log_lines_carry_any_extra_as_json():
    """Extras the bot logs are strings and numbers; anything else still makes one JSON line."""
    import logging
    from datetime import UTC, datetime
    from decimal import Decimal

    from bot.logs import JsonFormatter

    record = logging.makeLogRecord({
        "msg": "filed for Zoë", "levelname": "INFO", "name": "requestbot",
        "at": datetime(2026, 12, 7, 20, 0, tzinfo=UTC), "revenue": Decimal("120000.00"),
        "counts": {1: "one"}, "big": 2**70, "note": "token xoxb-2-secret",
    })
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "filed for Zoë" and entry["level"] == "info"
    assert entry["at"].startswith("2026-12-07") and entry["revenue"] == "120000.00"
    assert entry["counts"] == {"1": "one"} and entry["big"] == 2**70
    assert entry["note"] == "token xoxb-***"


def test_web_api_clients_build_no_debug_text_unless_asked():
    """slack-sdk formats every call's arguments for a debug line whenever its logger's own
    level is at most DEBUG, and an unset level (0) is (bot/slack_api.py CLIENT_LOG)."""
    assert make_client("http://127.0.0.1:9/api/").logger.level > logging.DEBUG
    assert make_client("http://127.0.0.1:9/api/", queued=True).logger.level > logging.DEBUG


def test_a_slow_transaction_is_logged_by_name_never_with_its_arguments(db, caplog, monkeypatch):
    """A batch of results (whole messages, user text) must not reach the log as a repr."""
    from functools import partial

    import bot.db

    monkeypatch.setattr(bot.db, "SLOW_TRANSACTION_SECONDS", 0.0)

    def write_results(batch, session):
        return len(batch)

    secret_text = "Acme's renewal terms <!channel>"
    with caplog.at_level(logging.WARNING, logger="bot.db"):
        assert db.transaction(partial(write_results, [secret_text] * 3)) == 3
    [record] = [r for r in caplog.records if r.getMessage() == "slow transaction"]
    assert record.work.endswith("write_results")
    assert secret_text not in json.dumps(record.__dict__, default=str)


def test_a_bot_configured_as_documented_starts_without_a_warning(served_bot, db):
    """An admin reading the log of a healthy start finds nothing to worry about: both
    processes (serving, worker) started, no warning, no error. The one exception is a
    PostgreSQL server run against the README's advice, with autovacuum off (as in CI)."""
    wait_until(lambda: any(e["message"] == "worker started" for e in log_lines(served_bot)))
    served_bot.command("", REP, CHANNEL)  # the first request, after Bolt's lazy set-up
    worrying = [(e["logger"], e["message"]) for e in log_lines(served_bot)
                if e["level"] in ("warning", "error", "critical")]
    assert worrying == ([("requestbot", AUTOVACUUM_OFF)] if autovacuum_is_off(db) else [])
