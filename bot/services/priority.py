"""The priority score: demand (revenue, customers, blockers, recency) with fit and effort.

    benefit = (w_revenue·R + w_customers·C + w_blockers·B + w_recency·T + w_fit·F)
              / (w_revenue + w_customers + w_blockers + w_recency + w_fit)
    cost    = 1 + w_effort · E / 13
    score   = 100 · benefit / cost

R = rev / (rev + 100,000): revenue at stake in the base currency (major units); a request
    worth 100k scores 0.5, 1M about 0.9. Currencies without a configured rate count at par.
C = n / (n + 3): distinct customers (or the larger stated count); 3 customers score 0.5.
B = b / (b + 1): customers for whom it blocks a deal or risks churn; one blocker is 0.5.
T = how recently anyone asked: within 7 days 1.0, 30 days 0.7, 90 days 0.4, older 0.15.
F = (fit - 1) / 4 for a strategic fit of 1..5; 0.5 when nobody assessed it.
E = effort in person-weeks (S=1, M=3, L=8, XL=20, or the weeks recorded); unknown is M.
    13 weeks (a quarter) of effort halves the score at w_effort = 1.

Each canonical request's score is stored with its demand (`bot.services.scores`), so the
triage queue is ordered and paged by an index; `Score` carries the parts for showing a PM
how the number came about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.money import currency_exponent
from models import Decision, Request, RequestCustomer, RequestDemand, RequestRep, RequestStatus

WEIGHT_NAMES = ("revenue", "customers", "blockers", "recency", "fit", "effort")
DEFAULT_WEIGHTS = {"revenue": 0.35, "customers": 0.2, "blockers": 0.2, "recency": 0.1,
                   "fit": 0.15, "effort": 1.0}
EFFORT_WEEKS = {"S": 1, "M": 3, "L": 8, "XL": 20}
UNKNOWN_EFFORT_WEEKS = EFFORT_WEEKS["M"]
REVENUE_HALF = 100_000
CUSTOMERS_HALF = 3
QUARTER_WEEKS = 13
RECENCY_STEPS = ((7, 1.0), (30, 0.7), (90, 0.4))
RECENCY_OLD = 0.15
UNKNOWN_FIT = 0.5
RATE_SCALE = 10_000
"""Conversion factors are integers (factor × 10,000) so SQL sums stay exact integers."""


@dataclass(frozen=True)
class Weights:
    revenue: float = DEFAULT_WEIGHTS["revenue"]
    customers: float = DEFAULT_WEIGHTS["customers"]
    blockers: float = DEFAULT_WEIGHTS["blockers"]
    recency: float = DEFAULT_WEIGHTS["recency"]
    fit: float = DEFAULT_WEIGHTS["fit"]
    effort: float = DEFAULT_WEIGHTS["effort"]

    @classmethod
    def from_settings(cls, settings: Any) -> Weights:
        return cls(**{**DEFAULT_WEIGHTS, **settings.priority_weights})

    @property
    def benefit_total(self) -> float:
        return self.revenue + self.customers + self.blockers + self.recency + self.fit


@dataclass(frozen=True)
class Currencies:
    """The base currency and the rates into it (1 unit of the currency = rate base units)."""

    base: str = "USD"
    rates: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> Currencies:
        return cls(settings.base_currency, tuple(sorted(settings.fx_rates.items())))

    @property
    def configured(self) -> bool:
        return bool(self.rates)

    def factor(self, currency: str) -> int:
        """Minor units of `currency` → base minor units, × RATE_SCALE (par without a rate)."""
        rate = Decimal(1) if currency == self.base else dict(self.rates).get(currency, Decimal(1))
        shift = currency_exponent(self.base) - currency_exponent(currency)
        return int((rate * RATE_SCALE * Decimal(10) ** shift).to_integral_value())

    def is_converted(self, currency: str) -> bool:
        return currency == self.base or currency in dict(self.rates)

    def to_base_minor(self, currency: str, minor: int) -> int:
        return minor * self.factor(currency) // RATE_SCALE

    def factor_sql(self, currency: ColumnElement) -> ColumnElement:
        known = {self.base, *(c for c, _ in self.rates)}
        whens = [(currency == c, literal(self.factor(c))) for c in sorted(known)]
        return case(*whens, else_=literal(RATE_SCALE))


@dataclass(frozen=True)
class Score:
    revenue: float
    customers: float
    blockers: float
    recency: float
    fit: float
    effort_weeks: int
    total: float

    def explained(self, weights: Weights) -> str:
        return (f"revenue {self.revenue:.2f}×{weights.revenue:g} · customers "
                f"{self.customers:.2f}×{weights.customers:g} · blockers {self.blockers:.2f}×"
                f"{weights.blockers:g} · recency {self.recency:.2f}×{weights.recency:g} · fit "
                f"{self.fit:.2f}×{weights.fit:g} · effort {self.effort_weeks} wk")


def effort_weeks(effort: str | None, weeks: int | None) -> int:
    if weeks is not None:
        return weeks
    return EFFORT_WEEKS.get(effort or "", UNKNOWN_EFFORT_WEEKS)


def recency_part(latest: datetime | None, now: datetime) -> float:
    if latest is None:
        return RECENCY_OLD
    for days, part in RECENCY_STEPS:
        if latest >= now - timedelta(days=days):
            return part
    return RECENCY_OLD


def score(*, revenue_major: float, customers: int, blockers: int, latest: datetime | None,
          fit: int | None, effort: str | None, weeks: int | None, now: datetime,
          weights: Weights) -> Score:
    """The score of one request whose totals are known."""
    r = revenue_major / (revenue_major + REVENUE_HALF) if revenue_major > 0 else 0.0
    c = customers / (customers + CUSTOMERS_HALF) if customers > 0 else 0.0
    b = blockers / (blockers + 1) if blockers > 0 else 0.0
    t = recency_part(latest, now)
    f = (fit - 1) / 4 if fit is not None else UNKNOWN_FIT
    e = effort_weeks(effort, weeks)
    total = _total(r, c, b, t, f, e, weights)
    return Score(r, c, b, t, f, e, total)


def _total(r: Any, c: Any, b: Any, t: Any, f: Any, e: Any, weights: Weights) -> Any:
    benefit = (weights.revenue * r + weights.customers * c + weights.blockers * b
               + weights.recency * t + weights.fit * f)
    benefit = benefit / weights.benefit_total if weights.benefit_total else benefit * 0
    return 100 * benefit / (1 + weights.effort * e / QUARTER_WEEKS)


# -- the triage queue ------------------------------------------------------------------------

UNDECIDED = (RequestStatus.NEW, RequestStatus.UNDER_REVIEW, RequestStatus.NEEDS_INFO)
QUEUE_VIEWS = ("undecided", "planned", "declined", "mine", "customer")


@dataclass
class Ranked:
    request: Request
    score: Score


def _queue_filter(team_id: str, view: str, user_id: str, customer_id: int | None):
    from bot.services.demand import group_of

    where = [RequestDemand.team_id == team_id]
    if view in ("undecided", "planned", "declined"):
        where.append(RequestDemand.queue == view)
    elif view == "mine":
        where.append(or_(
            RequestDemand.request_id.in_(select(RequestRep.request_id).where(
                RequestRep.team_id == team_id, RequestRep.user_id == user_id)),
            RequestDemand.request_id.in_(select(Decision.request_id).where(
                Decision.team_id == team_id, Decision.decided_by == user_id)),
        ))
    elif view == "customer":
        where.append(RequestDemand.request_id.in_(
            select(group_of()).select_from(RequestCustomer)
            .join(Request, Request.id == RequestCustomer.request_id)
            .where(RequestCustomer.team_id == team_id,
                   RequestCustomer.customer_id == customer_id)))
    return where


def triage_page(session: Session, team_id: str, *, view: str, user_id: str,
                customer_id: int | None, page: int, page_size: int,
                weights: Weights, currencies: Currencies) -> tuple[list[Ranked], int]:
    """One page of the queue by the stored score (an index range scan); and how many in all.
    Merged requests count toward their canonical request and are not listed."""
    from bot.services.scores import score_row, settle

    settle(session)
    where = _queue_filter(team_id, view, user_id, customer_id)
    total = session.scalar(select(func.count()).select_from(RequestDemand).where(*where)) or 0
    query = (
        select(Request, RequestDemand)
        .join(RequestDemand, RequestDemand.request_id == Request.id)
        .where(*where)
        .order_by(RequestDemand.score.desc(), RequestDemand.request_id.desc())
        .limit(page_size).offset(page * page_size)
    )
    ranked = [Ranked(request, score_row(demand, request, weights, currencies))
              for request, demand in session.execute(query)]
    return ranked, total


def score_of(request: Request, totals: Any, now: datetime, weights: Weights,
             currencies: Currencies) -> Score:
    """The score of one request from its totals (the card, a test against the SQL)."""
    base_minor = sum(currencies.to_base_minor(m.currency, m.minor) for m in totals.revenue)
    return score(revenue_major=base_minor / 10 ** currency_exponent(currencies.base),
                 customers=totals.customer_count, blockers=totals.blockers,
                 latest=totals.latest_ask, fit=request.strategic_fit, effort=request.effort,
                 weeks=request.effort_weeks, now=now, weights=weights)
