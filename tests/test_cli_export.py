"""`requestbot export --format json|csv` and `requestbot import FILE`, run as real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.collector import BATCH_YOUNG_COLLECTION
from bot.db import Database
from models import Customer, Decision, Request, RequestCustomer, RequestRep
from tests.harness import REQUESTBOT, REQUESTBOT_REPORTING_COLLECTOR, collector_settings

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PROBLEM = 'Tell <!channel> & <@U123>: "bulk", with commas,\nand a second line — ünïcode'


def requestbot(database: Database, cwd: Path, *args: str,
               entry: list[str] = REQUESTBOT) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "REQUESTBOT_", "DATABASE_URL"))
    }
    env["DATABASE_URL"] = database.url
    return subprocess.run(
        [*entry, *args],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def seed(session) -> int:
    acme = Customer(team_id="T1", name="Acme", name_key="acme", created_at=T0)
    request = Request(team_id="T1", title="Bulk CSV export", problem=PROBLEM, status="planned",
                      source="command", requested_by="U1", channel_id="C1",
                      thread_ts="1700000000.000100", created_at=T0, updated_at=T0)
    session.add_all([acme, request])
    session.flush()
    session.add(RequestCustomer(team_id="T1", request_id=request.id, customer_id=acme.id,
                                revenue_minor=12_000_000, currency="USD", blocker="deal_blocker",
                                added_by="U1", created_at=T0, updated_at=T0))
    session.add(RequestRep(team_id="T1", request_id=request.id, user_id="U1", role="requester",
                           created_at=T0))
    session.add(Decision(team_id="T1", request_id=request.id, status="planned",
                         rationale="Top ask", timeline="Q1", decided_by="UPM", decided_at=T0,
                         revisit_at=datetime(2027, 1, 5, 9, 0, tzinfo=UTC), evidence={}))
    session.flush()
    return request.id


def remove_everything(session) -> None:
    session.execute(delete(Request))
    session.execute(delete(Customer))


def requests_stored(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Request))


def test_export_collects_garbage_as_a_batch_does(db, tmp_path):
    """bot/collector.py: 100,000 requests exported in 7.2-7.3 s rather than 8.0-8.7 s."""
    request_id = db.transaction(seed)
    result = requestbot(db, tmp_path, "export", "--format", "json",
                        entry=REQUESTBOT_REPORTING_COLLECTOR)
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stdout)] == [request_id]
    young, frozen = collector_settings(result.stderr)
    assert young == BATCH_YOUNG_COLLECTION
    assert frozen > 10_000


def test_export_json_writes_every_request_on_stdout(db, tmp_path):
    request_id = db.transaction(seed)

    result = requestbot(db, tmp_path, "export", "--format", "json")

    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [record["id"] for record in records] == [request_id]
    record = records[0]
    assert record["description"] == PROBLEM
    assert record["customers"] == ["Acme"] and record["blocker"] is True
    assert record["revenue"] == 120000 and record["currency"] == "USD"
    assert '"revenue": 120000,' in result.stdout
    assert "<!channel> & <@U123>" in result.stdout and "ünïcode" in result.stdout
    assert record["status"] == "planned" and record["decision"]["status"] == "planned"
    assert record["decision"]["revisit_at"] == "2027-01-05T09:00:00+00:00"
    assert record["created_at"] == "2026-11-27T10:00:00+00:00"


def test_export_csv_writes_a_header_and_one_row_per_request(db, tmp_path):
    request_id = db.transaction(seed)
    undecided = db.transaction(lambda s: _add(s, Request(
        team_id="T1", title="Dark mode", status="new", source="command", requested_by="U2",
        reminders_stopped=True, effort_weeks=3, created_at=T0, updated_at=T0)).id)

    result = requestbot(db, tmp_path, "export", "--format", "csv")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert len(rows) == 2
    row, other = rows
    assert row["id"] == str(request_id) and row["description"] == PROBLEM
    assert row["customers"] == "Acme" and row["revenue"] == "120000"
    assert row["revenue_by_currency"] == "USD 120000" and row["customer_count"] == "1"
    assert row["blocker"] == "true" and row["reminders_stopped"] == "false"
    assert row["effort"] == "" and row["duplicate_of"] == ""
    assert row["created_at"] == "2026-11-27T10:00:00+00:00"
    assert row["decision_status"] == "planned" and row["decision_rationale"] == "Top ask"
    assert row["decision_timeline"] == "Q1" and row["decision_target_on"] == ""
    assert row["decision_revisit_at"] == "2027-01-05T09:00:00+00:00"
    assert other["id"] == str(undecided) and other["reminders_stopped"] == "true"
    assert other["effort_weeks"] == "3" and other["blocker"] == "" and other["revenue"] == ""
    assert other["customers"] == "" and other["revenue_by_currency"] == ""
    assert all(other[f"decision_{name}"] == "" for name in
               ("status", "rationale", "decided_by", "decided_at", "revisit_at"))


def _add(session, thing):
    session.add(thing)
    session.flush()
    return thing


def test_export_of_an_empty_database_is_an_empty_array(db, tmp_path):
    result = requestbot(db, tmp_path, "export")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_import_restores_an_export_and_a_second_import_adds_nothing(db, tmp_path):
    db.transaction(seed)
    exported = requestbot(db, tmp_path, "export", "--format", "json").stdout
    export_file = tmp_path / "requests.json"
    export_file.write_text(exported, encoding="utf-8")
    db.transaction(remove_everything)
    assert requests_stored(db) == 0

    first = requestbot(db, tmp_path, "import", str(export_file))

    assert first.returncode == 0, first.stderr
    assert "imported 1 request(s), 0 already present" in first.stderr
    assert requestbot(db, tmp_path, "export").stdout == exported

    second = requestbot(db, tmp_path, "import", str(export_file))

    assert second.returncode == 0, second.stderr
    assert "imported 0 request(s), 1 already present" in second.stderr
    assert requestbot(db, tmp_path, "export").stdout == exported


@pytest.mark.parametrize(("content", "named"), [
    ("this is not json", "not JSON"),
    ('[{"id": 7, "title": "No workspace", "requested_by": "U1",'
     ' "created_at": "2026-11-27T10:00:00Z"}]', "record 1 (id 7): team_id: missing"),
    ('[{"id": 7, "team_id": "T1", "title": "When?", "requested_by": "U1",'
     ' "created_at": "next tuesday"}]', "created_at: not an ISO 8601 time"),
])
def test_a_bad_import_file_fails_with_one_line_and_stores_nothing(db, tmp_path, content, named):
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(content, encoding="utf-8")

    result = requestbot(db, tmp_path, "import", str(bad_file))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("requestbot: ")
    assert named in lines[0]
    assert result.stdout == ""
    assert requests_stored(db) == 0


def test_an_import_leaves_postgresql_with_statistics_of_what_it_added(db, tmp_path):
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics")
    from sqlalchemy import text

    db.transaction(seed)
    export_file = tmp_path / "requests.json"
    export_file.write_text(requestbot(db, tmp_path, "export").stdout, encoding="utf-8")
    db.transaction(remove_everything)

    def planned_rows() -> float:
        with db.engine.connect() as connection:
            return connection.execute(text(
                "SELECT reltuples FROM pg_class WHERE relname = 'request'")).scalar_one()

    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE request"))
    assert planned_rows() == 0
    assert requestbot(db, tmp_path, "import", str(export_file)).returncode == 0
    assert planned_rows() == requests_stored(db) == 1
