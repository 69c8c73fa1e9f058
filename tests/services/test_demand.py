"""Totals across merged requests (each customer once), merge and un-merge, on the real DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, text

from bot.money import Money
from bot.posts import CARD_UPDATE, queue_card_update
from bot.services.decisions import DecisionInput, record_decision
from bot.services.demand import (
    asks_of_customer,
    find_customer,
    merge,
    requests_of_rep,
    totals_for,
    unmerge,
)
from bot.services.facts import request_facts, requests_facts
from bot.services.priority import Currencies
from bot.services.requests import (
    Answers,
    Demand,
    NotAllowed,
    Origin,
    RequestDraft,
    file_request,
    get_request,
    record_answers,
)
from bot.services.similar import find_similar, matcher_for
from models import (
    DecisionStatus,
    OutboxMessage,
    Request,
    RequestMatchKey,
    RequestRep,
    RequestSource,
    RequestStatus,
)
from tests.harness import (
    analysed_plan,
    query_plan,
    statements_run,
    statistics_taken_while_empty,
)

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
TEAM = "T0TEAM001"
USD = Currencies()


def filed(session, title, customers, revenue=None, blocker=None, user="U0REP0001",
          at=NOW, count=None):
    draft = RequestDraft(title=title, customers=customers, customer_count=count,
                         demand=Demand(revenue=revenue, blocker=blocker))
    result = file_request(session, team_id=TEAM, user_id=user, draft=draft,
                          origin=Origin(RequestSource.COMMAND, "C0SALES01"), now=at)
    return get_request(session, TEAM, result.request_id)


def test_a_customer_on_both_requests_counts_once_with_the_larger_revenue(db):
    with db.sessions.begin() as session:
        main = filed(session, "Bulk CSV export", ["Acme", "Globex"], Money(100_000_00, "USD"),
                     "deal_blocker")
        record_answers(session, main, Answers(customers=["Globex"], demand=Demand(
            revenue=Money(20_000_00, "USD"))), "U0REP0001", NOW)
        other = filed(session, "Export to spreadsheet", ["Acme", "Initech"],
                      Money(150_000_00, "USD"), "deal_blocker", user="U0REP0002",
                      at=NOW + timedelta(days=3))
        record_answers(session, other, Answers(customers=["Initech"], demand=Demand(
            revenue=Money(30_000_00, "EUR"), blocker="churn_risk")), "U0REP0002", NOW)

        before = totals_for(session, main, USD)
        assert (before.customers, before.blockers, before.reps) == (2, 1, 1)
        assert before.revenue == [Money(120_000_00, "USD")]

        merge(session, other, main, "U0PM00001", NOW)
        assert other.status == RequestStatus.MERGED and other.duplicate_of_id == main.id
        totals = totals_for(session, main, USD)
        # Acme on both: once, with the larger of 100k and 150k; Globex 20k; Initech €30k
        assert totals.customers == 3
        assert totals.revenue == [Money(30_000_00, "EUR"), Money(170_000_00, "USD")]
        assert totals.blockers == 2  # Acme (on both, once) and Initech
        assert totals.reps == 2 and totals.requests == 2 and totals.merged_ids == [other.id]
        assert totals.first_ask == NOW and totals.latest_ask == NOW + timedelta(days=3)
        assert totals.revenue_base is None  # EUR with no rate: never summed into USD
        rated = totals_for(session, main, Currencies("USD", (("EUR", Decimal("1.08")),)))
        assert rated.revenue_base == Money(170_000_00 + 32_400_00, "USD")

        facts = request_facts(session, main)  # the card shows the group
        assert facts.customers == ["Acme", "Globex", "Initech"]
        assert facts.revenue == totals.revenue and facts.customer_count == 3
        assert session.scalar(select(RequestRep.id).where(
            RequestRep.request_id == main.id, RequestRep.user_id == "U0REP0002"))

        unmerge(session, other, "U0PM00001", NOW)
        assert other.status == RequestStatus.NEW and other.duplicate_of_id is None
        restored = totals_for(session, main, USD)
        assert (restored.customers, restored.revenue, restored.blockers, restored.reps) == (
            before.customers, before.revenue, before.blockers, before.reps)
        assert restored.requests == 1 and restored.merged_ids == []
        assert not session.scalar(select(RequestRep.id).where(
            RequestRep.request_id == main.id, RequestRep.user_id == "U0REP0002"))


def test_merging_into_a_merged_request_lands_on_its_canonical_and_never_loops(db):
    with db.sessions.begin() as session:
        a = filed(session, "Dark mode", ["Acme"])
        b = filed(session, "Night theme", ["Globex"])
        c = filed(session, "Darker UI", ["Initech"])
        merge(session, b, a, "U0PM00001", NOW)
        merge(session, c, b, "U0PM00001", NOW)  # b is merged: c goes to a
        assert c.duplicate_of_id == a.id
        with pytest.raises(NotAllowed):
            merge(session, a, c, "U0PM00001", NOW)  # c's canonical is a itself
        merge(session, a, filed(session, "Theme switcher", []), "U0PM00001", NOW)
        assert {b.duplicate_of_id, c.duplicate_of_id} == {a.duplicate_of_id}  # followers moved


def test_stated_counts_and_unnamed_demand_add_up_without_names(db):
    with db.sessions.begin() as session:
        a = filed(session, "SSO with Okta", [], Money(50_000_00, "USD"), count=4)
        b = filed(session, "SAML single sign-on", [], Money(70_000_00, "USD"), count=2)
        merge(session, b, a, "U0PM00001", NOW)
        totals = totals_for(session, a, USD)
        assert totals.customers == 0 and totals.customer_count == 4
        assert totals.revenue == [Money(120_000_00, "USD")]  # two unnamed stakes: both count


def test_filing_stores_the_vector_and_keys_and_finds_paraphrases(db):
    matcher = matcher_for("lexical")
    with db.sessions.begin() as session:
        export = filed(session, "Export reports to CSV", ["Acme"], Money(10_000_00, "USD"))
        filed(session, "Dark mode for the dashboard", ["Globex"])
        assert export.similarity_vector
        keys = session.scalars(select(RequestMatchKey.key).where(
            RequestMatchKey.request_id == export.id)).all()
        assert keys
        [found] = find_similar(session, TEAM, "Download data as a spreadsheet", None, matcher)
        assert found.request.id == export.id and found.customers == 1
        assert find_similar(session, TEAM, "Import users from CSV", None, matcher) == []
        assert find_similar(session, "T0OTHER01", "Export reports to CSV", None, matcher) == []


def test_a_rep_and_a_customer_see_their_requests_with_the_canonical_status(db):
    with db.sessions.begin() as session:
        a = filed(session, "Audit log", ["Acme"], user="U0REP0001")
        b = filed(session, "Activity history", ["Acme"], user="U0REP0002")
        merge(session, b, a, "U0PM00001", NOW)
        a.status = RequestStatus.PLANNED
        asks, total = requests_of_rep(session, TEAM, "U0REP0002", 0, 10)
        assert total == 2  # their own (merged) and the canonical they now support
        mine = {ask.request.id: ask for ask in asks}
        assert mine[b.id].merged_into.id == a.id and mine[b.id].shown_status == "planned"
        [acme] = find_customer(session, TEAM, " acme ")
        customer_asks, count = asks_of_customer(session, acme)
        assert count == 2 and {c.ask.shown_status for c in customer_asks} == {"planned"}
        assert find_customer(session, TEAM, "ac") == [acme]


def test_a_reps_requests_page_newest_first_and_count_once_each(db):
    with db.sessions.begin() as session:
        mine = [filed(session, f"Ask {n}", [], at=NOW + timedelta(minutes=n)) for n in range(5)]
        filed(session, "Someone else's", [], user="U0REP0002")
        shared = filed(session, "Added to", [], user="U0REP0002", at=NOW + timedelta(hours=1))
        record_answers(session, shared, Answers(customers=["Acme"]), "U0REP0001", NOW)
        session.flush()
        first, total = requests_of_rep(session, TEAM, "U0REP0001", 0, 4)
        second, _ = requests_of_rep(session, TEAM, "U0REP0001", 1, 4)
        assert total == 6
        assert [a.request.id for a in first + second] == [shared.id] + [r.id for r in mine[::-1]]
        assert requests_of_rep(session, "T0OTHER01", "U0REP0001", 0, 4) == ([], 0)


def test_a_reps_requests_read_each_request_once_however_stale_the_statistics(db):
    """On statistics taken while the tables were empty, PostgreSQL read all of the rep's
    rows again for each of the team's requests (924,120 rows thrown away by a join filter
    for the count at 1,360 requests, 108 ms, and as many for the page)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics")
    statistics_taken_while_empty(db, "request", "request_rep")
    filings = 300
    with db.sessions.begin() as session:
        for n in range(filings):
            filed(session, f"Ask {n}", [], at=NOW + timedelta(seconds=n))
        with statements_run(db) as statements:
            asks, total = requests_of_rep(session, TEAM, "U0REP0001", 2, 10)
        assert total == filings and len(asks) == 10
        assert asks[0].request.title == f"Ask {filings - 21}"
        for statement in statements[:3]:  # the count, the page's ids, the page's requests
            nodes = analysed_plan(session.connection(), *statement)
            assert not any(node.get("Rows Removed by Join Filter") for node in nodes)
            assert all(node["Actual Rows"] * node["Actual Loops"] <= filings for node in nodes)


def test_facts_read_together_are_each_requests_own(db):
    """A reminder sweep reads the facts of many requests at once (requests_facts): each
    must be what the request alone shows, its merged group and latest decision included."""
    with db.sessions.begin() as session:
        main = filed(session, "Bulk CSV export", ["Acme", "Globex"], Money(100_000_00, "USD"),
                     "deal_blocker")
        other = filed(session, "Export to spreadsheet", ["Initech"], Money(30_000_00, "EUR"),
                      "churn_risk", user="U0REP0002")
        merge(session, other, main, "U0PM00001", NOW)
        lone = filed(session, "Dark mode", ["Hooli"], count=4)
        bare = filed(session, "SSO with Okta", [])
        for status in (DecisionStatus.UNDER_REVIEW, DecisionStatus.DECLINED):
            record_decision(session, lone, DecisionInput(status=status), decided_by="U0PM00001",
                            decider_tz=None, reply_text="…", now=NOW)
        requests = [main, lone, bare, other]
        together = requests_facts(session, requests)
        alone = {r.id: request_facts(session, r) for r in requests}
        for request in requests:
            got, want = together[request.id], alone[request.id]
            assert (got.customers, got.customer_count, got.revenue, got.blocker, got.missing,
                    got.decision, got.totals) == (
                want.customers, want.customer_count, want.revenue, want.blocker, want.missing,
                want.decision, want.totals)
        assert together[main.id].customers == ["Acme", "Globex", "Initech"]
        assert together[lone.id].decision.status == DecisionStatus.DECLINED
        assert together[bare.id].decision is None and together[bare.id].customers == []


def test_a_card_update_still_waiting_is_replaced_not_repeated(db):
    """A burst of answers updates the card once (it is built when sent), and the update
    waits as long as the one it replaces was told to (a 429's Retry-After)."""
    with db.sessions.begin() as session:
        request = filed(session, "Bulk CSV export", ["Acme"])
        first = session.get(OutboxMessage, queue_card_update(session, request, NOW))
        first.next_attempt_at = NOW + timedelta(seconds=30)  # Slack said: retry after 30 s
        second = session.get(OutboxMessage, queue_card_update(session, request, NOW))
        third = session.get(OutboxMessage, queue_card_update(session, request, NOW))
        updates = session.scalars(select(OutboxMessage).where(
            OutboxMessage.purpose == CARD_UPDATE, OutboxMessage.request_id == request.id)
            .order_by(OutboxMessage.id)).all()
        assert [m.state for m in updates] == ["cancelled", "cancelled", "pending"]
        assert updates[-1] is third and second.state == "cancelled"
        assert third.next_attempt_at == NOW + timedelta(seconds=30)
        sent = filed(session, "Dark mode", ["Globex"])
        posted = session.get(OutboxMessage, queue_card_update(session, sent, NOW))
        posted.state = "sent"  # an update already sent stays; a new one follows it
        again = session.get(OutboxMessage, queue_card_update(session, sent, NOW))
        assert (posted.state, again.state, again.next_attempt_at) == ("sent", "pending", NOW)


def test_a_sweeps_facts_find_merged_requests_through_the_duplicate_index(db):
    """A claim of reminders reads the merged requests of a hundred requests at once
    (`merged_into`): it must find the few there are through the index, not read the
    workspace's requests, with or without statistics (migration 0006)."""
    row = {"team_id": TEAM, "source": "command", "requested_by": "U0REP0001"}
    with db.sessions.begin() as session:
        ids = session.scalars(insert(Request).returning(Request.id), [
            {**row, "title": f"Request {n}"} for n in range(5000)]).all()
        session.execute(insert(Request), [  # as in life, few requests are merged
            {**row, "title": f"Merged {n}", "status": RequestStatus.MERGED,
             "duplicate_of_id": ids[n * 50]} for n in range(100)])
    with db.sessions.begin() as session:
        requests = session.scalars(select(Request).where(Request.id.in_(ids[:100]))).all()
        with statements_run(db) as run:
            facts = requests_facts(session, list(requests))
    statements = [(sql, parameters) for sql, parameters in run if " ".join(sql.split())
                  .startswith("SELECT request.duplicate_of_id, request.id")]
    assert all(len(facts[i].customers) == 0 for i in ids[:100]) and statements
    # with statistics (autovacuum's on PostgreSQL, `requestbot import`'s on SQLite) and,
    # on SQLite, without
    for analyse in ([False, True] if db.dialect == "sqlite" else [True]):
        with db.engine.begin() as connection:
            if analyse:
                connection.execute(text("ANALYZE"))
            for statement, parameters in statements:
                plan = query_plan(connection, statement, parameters)
                assert "ix_request_duplicate_of_id" in plan, (analyse, plan)
