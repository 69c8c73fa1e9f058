"""Filing a request and opening App Homes on PostgreSQL statistics gone stale (taken while
the tables were empty, as on a server with autovacuum off): no query may read its rows
again for each row of another table. A rep's App Home did (924,120 rows thrown away by a
join filter at 1,360 requests), and before it the similar-request lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.requests import Origin, RequestDraft, file_request
from models import Base, RequestSource
from tests.flows.helpers import opened_view, submit
from tests.harness import (
    CHANNEL,
    DECIDER,
    REP,
    TEAM_ID,
    analysed_plan,
    statements_run,
    statistics_taken_while_empty,
)
from tests.slack.payloads import app_home_opened_event

FILED = 300
READS_PER_ROW = 10  # the lookup's key hits are 3 per request here; the quadratic plans read 150
THEN = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_a_filing_and_the_app_homes_read_each_row_a_bounded_number_of_times(bot, slack, db):
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics")
    statistics_taken_while_empty(db, *(table.name for table in Base.metadata.sorted_tables))
    with db.sessions.begin() as session:
        for n in range(FILED):
            file_request(session, team_id=TEAM_ID, user_id=REP,
                         draft=RequestDraft(title=f"Export report {n} to CSV", customers=["Acme"]),
                         origin=Origin(RequestSource.COMMAND, CHANNEL),
                         now=THEN + timedelta(minutes=n))

    with statements_run(db) as statements:
        bot.command("", REP, CHANNEL)
        submit(bot, opened_view(slack), REP, {"title": "Export reports to CSV",
                                              "customers": "Acme"})
        bot.wait_idle()
        bot.deliver_outbox()
        for user in (REP, DECIDER):
            assert bot.event(app_home_opened_event(user)).status_code == 200
            slack.wait_for("views.publish", predicate=lambda c, u=user: c.args["user_id"] == u)

    reads = {sql: params for sql, params in statements if sql.lstrip().startswith("SELECT")}
    assert len(reads) > 20  # the filing, its posts and both App Homes were all recorded
    with db.engine.connect() as connection:
        for sql, params in reads.items():
            for node in analysed_plan(connection, sql, params):
                handled = node["Actual Rows"] * node["Actual Loops"]
                thrown = node.get("Rows Removed by Join Filter", 0) * node["Actual Loops"]
                assert handled + thrown <= READS_PER_ROW * FILED, (
                    node["Node Type"], " ".join(sql.split()))
        connection.rollback()
