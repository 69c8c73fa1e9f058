"""The priority score: its documented formula, its weights, and the SQL that ranks by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.money import Money
from bot.services.demand import totals_for
from bot.services.priority import Currencies, Weights, score, score_of, triage_page
from bot.services.requests import Demand, Origin, RequestDraft, file_request, get_request
from bot.services.scores import Scoring
from bot.settings import ConfigError, load_settings
from models import RequestSource

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
TEAM = "T0TEAM001"


def test_the_formula_as_documented():
    weights = Weights(revenue=0.35, customers=0.2, blockers=0.2, recency=0.1, fit=0.15,
                      effort=1.0)
    got = score(revenue_major=100_000, customers=3, blockers=1, latest=NOW - timedelta(days=10),
                fit=5, effort="L", weeks=None, now=NOW, weights=weights)
    assert (got.revenue, got.customers, got.blockers, got.recency, got.fit) == (
        0.5, 0.5, 0.5, 0.7, 1.0)
    assert got.effort_weeks == 8
    benefit = (0.35 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.1 * 0.7 + 0.15 * 1.0) / 1.0
    assert got.total == pytest.approx(100 * benefit / (1 + 8 / 13))
    assert "revenue 0.50×0.35" in got.explained(weights)


def test_unknown_fit_and_effort_are_neutral_and_weeks_win_over_size():
    weights = Weights()
    unknown = score(revenue_major=0, customers=0, blockers=0, latest=None, fit=None,
                    effort=None, weeks=None, now=NOW, weights=weights)
    assert unknown.fit == 0.5 and unknown.effort_weeks == 3 and unknown.recency == 0.15
    weeks = score(revenue_major=0, customers=0, blockers=0, latest=None, fit=None,
                  effort="S", weeks=26, now=NOW, weights=weights)
    assert weeks.effort_weeks == 26 and weeks.total < unknown.total


def test_weights_are_configurable_and_checked():
    settings = load_settings(_env_file=None, REQUESTBOT_PRIORITY_WEIGHTS="revenue=1,effort=0",
                             REQUESTBOT_FX_RATES="eur=1.08, GBP=1.27",
                             REQUESTBOT_BASE_CURRENCY="usd")
    weights = Weights.from_settings(settings)
    assert weights.revenue == 1 and weights.effort == 0 and weights.fit == 0.15
    currencies = Currencies.from_settings(settings)
    assert currencies.base == "USD" and currencies.factor("EUR") == 10_800
    assert currencies.factor("JPY") == 100 * 10_000  # no rate: at par; 1 yen = 100 cents
    for bad in ({"REQUESTBOT_PRIORITY_WEIGHTS": "money=1"},
                {"REQUESTBOT_PRIORITY_WEIGHTS": "revenue"},
                {"REQUESTBOT_FX_RATES": "EUR=-1"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_settings(_env_file=None, **bad)


def filed(session, title, customers, revenue=None, blocker=None, at=NOW):
    draft = RequestDraft(title=title, customers=customers,
                         demand=Demand(revenue=revenue, blocker=blocker))
    result = file_request(session, team_id=TEAM, user_id="U0REP0001", draft=draft,
                          origin=Origin(RequestSource.COMMAND, "C0SALES01"), now=at)
    return get_request(session, TEAM, result.request_id)


def test_the_database_ranks_by_the_same_score(db):
    weights, currencies = Weights(), Currencies()
    db.use_scoring(Scoring(weights, currencies, now=lambda: NOW))  # scores are stored as of NOW
    with db.sessions.begin() as session:
        small = filed(session, "Dark mode", ["Acme"], Money(5_000_00, "USD"),
                      at=NOW - timedelta(days=100))
        big = filed(session, "SSO", ["Acme", "Globex", "Initech"], Money(400_000_00, "USD"),
                    "deal_blocker")
        costly = filed(session, "Offline mode", ["Acme", "Globex", "Initech"],
                       Money(400_000_00, "USD"), "deal_blocker")
        costly.effort, costly.strategic_fit = "XL", 2
        session.flush()
        ranked, total = triage_page(session, TEAM, view="undecided", user_id="U0PM00001",
                                    customer_id=None, page=0, page_size=10,
                                    weights=weights, currencies=currencies)
        assert total == 3
        assert [r.request.id for r in ranked] == [big.id, costly.id, small.id]
        for item in ranked:
            expected = score_of(item.request, totals_for(session, item.request, currencies),
                                NOW, weights, currencies)
            assert item.score.total == pytest.approx(expected.total, abs=1e-6)
            assert item.score.recency == expected.recency
            assert item.score.effort_weeks == expected.effort_weeks
        second, _ = triage_page(session, TEAM, view="undecided", user_id="U0PM00001",
                                customer_id=None, page=1, page_size=2,
                                weights=weights, currencies=currencies)
        assert [r.request.id for r in second] == [small.id]
