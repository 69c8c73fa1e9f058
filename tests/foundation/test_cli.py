"""`requestbot` as an operator runs it: clear one-line errors, and `serve` over the wire."""

import os
import subprocess

import httpx
import pytest

from bot.cli import AUTOVACUUM_OFF
from bot.db import Database, autovacuum_is_off, downgrade, schema_is_current
from tests.harness import REQUESTBOT, ServedBot
from tests.slack.payloads import url_verification


def run_cli(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REQUESTBOT_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [*REQUESTBOT, *args], env={**clean, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )


def test_serve_without_configuration_names_the_missing_variable(tmp_path):
    result = run_cli("serve", env={}, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_SIGNING_SECRET" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_BOT_TOKEN", "not-a-token"),
        ("SLACK_API_URL", "http://127.0.0.1:9/api"),
        ("REQUESTBOT_DECIDERS", "U0PM00001,pm@example.com"),
        ("DATABASE_URL", "not a url"),
        ("REQUESTBOT_CAPTURE_EMOJI", ":two words:"),
    ],
)
def test_a_malformed_setting_stops_serve_with_one_line_naming_it(tmp_path, variable, value):
    env = {"SLACK_SIGNING_SECRET": "secret", "SLACK_BOT_TOKEN": "xoxb-1", variable: value}
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr


def test_serve_refuses_a_database_it_cannot_reach(tmp_path):
    env = {"SLACK_SIGNING_SECRET": "secret", "SLACK_BOT_TOKEN": "xoxb-1",
           "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_stale_schema_and_names_the_upgrade_command(tmp_path, empty_database_url):
    if empty_database_url.startswith("sqlite"):
        pytest.skip("serve migrates the SQLite default itself (tested below)")
    env = {"SLACK_SIGNING_SECRET": "secret", "SLACK_BOT_TOKEN": "xoxb-1",
           "DATABASE_URL": empty_database_url}
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "requestbot db upgrade" in result.stderr
    upgraded = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr


def test_db_upgrade_migrates_and_serve_migrates_sqlite_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_cli("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    database = Database(url)
    downgrade(database, "base")
    database.dispose()


def test_serve_migrates_a_new_sqlite_database_in_a_process_of_its_own(tmp_path, slack):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    served = ServedBot(tmp_path, slack.base_url, url, {})
    served.start(timeout=60)
    try:
        assert httpx.get(f"{served.url}/readyz").status_code == 200
    finally:
        served.stop()
    database = Database(url)
    try:
        assert schema_is_current(database)
    finally:
        database.dispose()


def test_serve_warns_when_postgresql_keeps_its_statistics_stale(served_bot, db):
    """Said once at startup, on PostgreSQL with autovacuum off (as on this machine)."""
    served_bot.post(*url_verification("logged"))
    assert served_bot.log().count(AUTOVACUUM_OFF) == (1 if autovacuum_is_off(db) else 0)


def test_serve_over_the_wire_answers_health_and_url_verification(served_bot):
    assert httpx.get(f"{served_bot.url}/healthz").status_code == 200
    assert httpx.get(f"{served_bot.url}/readyz").status_code == 200
    body, content_type = url_verification("challenge-over-the-wire")
    response = served_bot.post(body, content_type)
    assert response.status_code == 200 and "challenge-over-the-wire" in response.text
    unsigned = served_bot.post(body, content_type, sign=False)
    assert unsigned.status_code == 401
