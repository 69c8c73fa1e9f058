"""What one request's card and follow-up questions show: its demand and current decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.money import Money
from bot.services.requests import asks_of
from models import Blocker, Decision, Request


class Question(StrEnum):
    COUNT = "customer_count"
    REVENUE = "revenue"
    BLOCKER = "blocker"
    DEAL_CLOSE = "deal_close_on"
    DEAL_AMOUNT = "deal_amount"
    CRM_LINK = "crm_url"
    RENEWAL = "renewal_on"


@dataclass
class RequestFacts:
    request: Request
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    revenue: list[Money] = field(default_factory=list)
    blocker: str | None = None
    deal_close_on: date | None = None
    deal_amount: Money | None = None
    renewal_on: date | None = None
    crm_url: str | None = None
    decision: Decision | None = None
    missing: list[Question] = field(default_factory=list)


_BLOCKER_RANK = {Blocker.DEAL_BLOCKER: 3, Blocker.CHURN_RISK: 2, Blocker.NONE: 1,
                 Blocker.UNKNOWN: 0}


def current_decision(session: Session, request_id: int) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(Decision.request_id == request_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(1)
    )


def request_facts(session: Session, request: Request) -> RequestFacts:
    facts = RequestFacts(request=request)
    revenue: dict[str, int] = {}
    for ask, name in asks_of(session, request.id):
        if name:
            facts.customers.append(name)
        if ask.revenue_minor is not None and ask.currency:
            revenue[ask.currency] = revenue.get(ask.currency, 0) + ask.revenue_minor
        if ask.blocker and _BLOCKER_RANK.get(ask.blocker, 0) > _BLOCKER_RANK.get(
            facts.blocker or "", -1
        ):
            facts.blocker = ask.blocker
        facts.deal_close_on = facts.deal_close_on or ask.deal_close_on
        facts.renewal_on = facts.renewal_on or ask.renewal_on
        facts.crm_url = facts.crm_url or ask.crm_url
        if ask.deal_amount_minor is not None and facts.deal_amount is None:
            facts.deal_amount = Money(ask.deal_amount_minor, ask.currency or "USD")
    facts.revenue = [Money(minor, cur) for cur, minor in sorted(revenue.items())]
    facts.customer_count = request.customer_count or (len(facts.customers) or None)
    facts.decision = current_decision(session, request.id)
    facts.missing = missing_questions(facts)
    return facts


def missing_questions(facts: RequestFacts) -> list[Question]:
    """Only what a product manager needs and the rep has not said; it adapts to the answers:
    a deal blocker asks for the close date, amount and CRM link, a churn risk for the renewal
    date, and one customer with no revenue at stake asks nothing more."""
    missing: list[Question] = []
    if facts.customer_count is None:
        missing.append(Question.COUNT)
    if not facts.revenue:
        missing.append(Question.REVENUE)
    if facts.blocker in (None, Blocker.UNKNOWN):
        missing.append(Question.BLOCKER)
    if facts.blocker == Blocker.DEAL_BLOCKER:
        if facts.deal_close_on is None:
            missing.append(Question.DEAL_CLOSE)
        if facts.deal_amount is None:
            missing.append(Question.DEAL_AMOUNT)
        if facts.crm_url is None:
            missing.append(Question.CRM_LINK)
    if facts.blocker == Blocker.CHURN_RISK and facts.renewal_on is None:
        missing.append(Question.RENEWAL)
    one_small = facts.customer_count == 1 and any(m.minor == 0 for m in facts.revenue)
    if one_small:
        return [q for q in missing if q not in (Question.BLOCKER,)]
    return missing
