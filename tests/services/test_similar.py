"""The similar-request lookup on a table where some words are on many requests: a frequent
word reads a bounded number of rows, and rare words still find their request exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.services import similar
from bot.services.requests import Origin, RequestDraft, file_request
from bot.services.similar import candidates, find_similar, keys_of, matcher_for
from models import Decision, RequestMatchKey, RequestSource
from tests.harness import analysed_plan, statements_run, statistics_taken_while_empty

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
TEAM = "T0TEAM001"
LEXICAL = matcher_for("lexical")
FREQUENT = 3  # in these tests a key on more than 3 requests is frequent


@pytest.fixture(autouse=True)
def few_rows_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(similar, "KEY_ROWS", FREQUENT)
    monkeypatch.setattr(similar, "LIGHT_KEY_ROWS", FREQUENT)


def filed(session, title: str, problem: str | None = None, at: datetime = NOW) -> int:
    draft = RequestDraft(title=title, problem=problem, customers=[])
    return file_request(session, team_id=TEAM, user_id="U0REP0001", draft=draft,
                        origin=Origin(RequestSource.COMMAND, "C0SALES01"), now=at).request_id


def pool_of(session, title: str, problem: str | None = None) -> list[int]:
    query = LEXICAL.vector(title, problem)
    return [rid for rid, _ in candidates(session, TEAM, LEXICAL, query,
                                         keys_of(LEXICAL, title, problem), [])]


def full_lookup(session, keys: list[str]) -> list[int]:
    """Every request sharing a key, most shared keys first: the lookup before key limits."""
    shared = func.count().label("shared")
    rows = (select(RequestMatchKey.request_id, shared)
            .where(RequestMatchKey.team_id == TEAM, RequestMatchKey.key.in_(keys))
            .group_by(RequestMatchKey.request_id)
            .order_by(shared.desc(), RequestMatchKey.request_id.desc()))
    return [rid for rid, _ in session.execute(rows)]


def test_a_frequent_word_reads_only_a_few_of_its_requests(db):
    with db.sessions.begin() as session:
        exports = [filed(session, "Bulk CSV export", at=NOW + timedelta(minutes=n))
                   for n in range(8)]
        pool = pool_of(session, "Bulk CSV export")
        assert sorted(pool) == exports[-FREQUENT:]  # the newest 3 of each key, not all 8
        [best, *_] = find_similar(session, TEAM, "Bulk CSV export", None, LEXICAL)
        assert best.request.id in exports and best.score == pytest.approx(1.0, abs=0.01)


def test_a_rare_word_finds_an_old_request_behind_a_frequent_one(db):
    with db.sessions.begin() as session:
        zendesk = filed(session, "Export Zendesk tickets to CSV")
        for n in range(8):
            filed(session, "Bulk CSV export", at=NOW + timedelta(minutes=n))
        assert zendesk not in pool_of(session, "Bulk CSV export")  # older than the newest 3
        [found, *_] = find_similar(session, TEAM, "Zendesk tickets as a CSV export", None,
                                   LEXICAL)
        assert found.request.id == zendesk  # through "zendesk", a rare key


def test_a_query_of_rare_words_finds_every_request_sharing_one(db):
    with db.sessions.begin() as session:
        filed(session, "Dark mode", "The white UI is blinding on night shifts.")
        filed(session, "Night theme for the web app")
        filed(session, "Outlook calendar integration", "Reps double-book customer visits.")
        filed(session, "Bulk user import", "Onboarding a customer means typing 500 users.")
        title, problem = "Darker UI for night shifts", "Customer reps work at night."
        keys = keys_of(LEXICAL, title, problem)
        assert max(session.execute(
            select(func.count()).where(RequestMatchKey.key.in_(keys))
            .group_by(RequestMatchKey.key)).scalars()) <= FREQUENT  # every key is rare
        assert pool_of(session, title, problem) == full_lookup(session, keys)


def test_a_frequent_word_too_light_to_match_is_not_looked_up(db):
    with db.sessions.begin() as session:
        finance = [filed(session, f"Approval chain number {n}",
                         "Their finance team reconciles purchase orders by hand.",
                         at=NOW + timedelta(minutes=n)) for n in range(6)]
        dark = filed(session, "Dark mode", "The finance team works late.")
        title, problem = "Dark mode", "Their finance team asked again."
        assert "financ" in keys_of(LEXICAL, title, problem)
        pool = pool_of(session, title, problem)
        assert dark in pool and not set(finance) & set(pool)
        [found] = find_similar(session, TEAM, title, problem, LEXICAL)
        assert found.request.id == dark


def test_each_suggestion_shows_its_latest_decision(db):
    with db.sessions.begin() as session:
        dark = filed(session, "Dark mode")
        night = filed(session, "Night theme for the web app")
        for status, days in (("declined", 9), ("planned", 2)):  # declined, then planned
            session.add(Decision(team_id=TEAM, request_id=dark, status=status,
                                 decided_by="U0PM00001", decided_at=NOW - timedelta(days=days)))
        session.flush()
        found = {s.request.id: s for s in find_similar(session, TEAM, "Darker UI", None, LEXICAL)}
        assert set(found) == {dark, night}
        assert found[dark].decision.status == "planned" and found[night].decision is None


def test_the_lookup_reads_each_request_once_however_stale_the_statistics(db):
    """PostgreSQL plans by its statistics; taken on empty tables, they say the tables hold
    nothing. Joined to the request table, the grouped hits were read again for each of the
    team's requests (300 x the hits here; 500,000 rows for one lookup at 1,100 requests)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics")
    statistics_taken_while_empty(db, "request", "request_match_key")
    with db.sessions.begin() as session:
        for n in range(300):
            filed(session, "Bulk CSV export", at=NOW + timedelta(seconds=n))
        with statements_run(db) as statements:
            pool = pool_of(session, "Bulk CSV export")
        nodes = analysed_plan(session.connection(), *statements[-1])
    assert len(pool) == FREQUENT
    assert not any(node.get("Rows Removed by Join Filter") for node in nodes)
    reads = [node for node in nodes if node.get("Relation Name") == "request"]
    assert reads and all(node["Actual Rows"] <= 1 and node["Actual Loops"] <= FREQUENT
                         for node in reads)  # by its primary key, once per candidate
