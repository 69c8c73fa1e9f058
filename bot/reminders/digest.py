"""The weekly digest: what it covers, when it goes, and who gets a personal one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.money import Money
from bot.services.facts import request_facts
from bot.services.reminders import UTC, add_once
from bot.settings import WEEKDAYS
from models import (
    Blocker,
    Decision,
    DeliveryState,
    Reminder,
    ReminderKind,
    Request,
    RequestCustomer,
    RequestStatus,
)

WEEK = timedelta(days=7)
OPEN = (RequestStatus.NEW, RequestStatus.UNDER_REVIEW, RequestStatus.NEEDS_INFO)
AT_RISK_DAYS = 30
LISTED = 10


def next_slot(now: datetime, day: str, hour: int) -> datetime:
    """The next digest time after `now` (UTC)."""
    today = now.astimezone(UTC)
    ahead = (WEEKDAYS.index(day) - today.weekday()) % 7
    slot = datetime.combine(today.date() + timedelta(days=ahead), time(hour), tzinfo=UTC)
    return slot if slot > now else slot + WEEK


def plan_digests(session: Session, channel: str | None, day: str, hour: int,
                 now: datetime) -> None:
    """One digest row per workspace for the next slot; a missed slot's row is still due."""
    if not channel:
        return
    slot = next_slot(now, day, hour)
    for team in session.scalars(select(Request.team_id).distinct()):
        add_once(session, team_id=team, kind=ReminderKind.DIGEST, due_at=slot,
                 dedupe_key=f"digest:{team}:{slot.date().isoformat()}",
                 payload={"period_end": slot.isoformat(), "channel": channel}, created_at=now)


def reps_waited_on(session: Session, team_id: str) -> dict[str, list[Request]]:
    """Reps whose open requests still lack what product asked for, with those requests."""
    candidates = session.scalars(
        select(Request).where(Request.team_id == team_id, Request.status.in_(
            [RequestStatus.NEW, RequestStatus.NEEDS_INFO]),
            Request.follow_up_answered_at.is_(None), Request.reminders_stopped.is_(False))
        .order_by(Request.id)
    )
    waiting: dict[str, list[Request]] = {}
    for request in candidates:
        if request.status == RequestStatus.NEEDS_INFO or request_facts(session, request).missing:
            waiting.setdefault(request.requested_by, []).append(request)
    return waiting


@dataclass
class Demand:
    request: Request
    customers: int
    revenue: list[Money]


@dataclass
class AtRisk:
    close_on: date
    request: Request
    revenue: list[Money]


@dataclass
class Digest:
    start: datetime
    end: datetime
    new_requests: list[Request] = field(default_factory=list)
    new_count: int = 0
    top_demand: list[Demand] = field(default_factory=list)
    decisions: list[tuple[Decision, Request]] = field(default_factory=list)
    decisions_due: list[tuple[Reminder, Request]] = field(default_factory=list)
    at_risk: list[AtRisk] = field(default_factory=list)


def _revenue(session: Session, request_ids: list[int], **where) -> dict[int, list[Money]]:
    if not request_ids:
        return {}
    query = (select(RequestCustomer.request_id, RequestCustomer.currency,
                    func.sum(RequestCustomer.revenue_minor))
             .where(RequestCustomer.request_id.in_(request_ids),
                    RequestCustomer.currency.is_not(None))
             .group_by(RequestCustomer.request_id, RequestCustomer.currency))
    for column, value in where.items():
        query = query.where(getattr(RequestCustomer, column) == value)
    found: dict[int, list[Money]] = {}
    for request_id, currency, minor in session.execute(query):
        if minor:
            found.setdefault(request_id, []).append(Money(int(minor), currency))
    return found


def weekly_digest(session: Session, team_id: str, end: datetime) -> Digest:
    digest = Digest(start=end - WEEK, end=end)
    new = (Request.team_id == team_id, Request.created_at >= digest.start,
           Request.created_at < end, Request.status != RequestStatus.MERGED)
    digest.new_count = session.scalar(select(func.count()).select_from(Request).where(*new)) or 0
    digest.new_requests = list(session.scalars(
        select(Request).where(*new).order_by(Request.created_at.desc()).limit(LISTED)))
    customers = func.count(RequestCustomer.id)
    top = session.execute(
        select(Request, customers)
        .outerjoin(RequestCustomer, RequestCustomer.request_id == Request.id)
        .where(Request.team_id == team_id, Request.status.in_(OPEN))
        .group_by(Request.id)
        .order_by(func.coalesce(func.sum(RequestCustomer.revenue_minor), 0).desc(),
                  customers.desc(), Request.id)
        .limit(5)
    ).all()
    revenue = _revenue(session, [r.id for r, _ in top])
    digest.top_demand = [Demand(r, max(count, r.customer_count or 0), revenue.get(r.id, []))
                         for r, count in top]
    digest.decisions = [(d, r) for d, r in session.execute(
        select(Decision, Request).join(Request, Request.id == Decision.request_id)
        .where(Decision.team_id == team_id, Decision.decided_at >= digest.start,
               Decision.decided_at < end)
        .order_by(Decision.decided_at.desc()).limit(LISTED))]
    digest.decisions_due = [(rem, r) for rem, r in session.execute(
        select(Reminder, Request).join(Request, Request.id == Reminder.request_id)
        .where(Reminder.team_id == team_id, Reminder.kind == ReminderKind.REVISIT,
               Reminder.state == DeliveryState.PENDING, Reminder.due_at < end + WEEK)
        .order_by(Reminder.due_at).limit(LISTED))]
    risky = session.execute(
        select(RequestCustomer.deal_close_on, Request)
        .join(Request, Request.id == RequestCustomer.request_id)
        .where(Request.team_id == team_id, Request.status.in_(OPEN),
               RequestCustomer.blocker == Blocker.DEAL_BLOCKER,
               RequestCustomer.deal_close_on >= end.date(),
               RequestCustomer.deal_close_on <= end.date() + timedelta(days=AT_RISK_DAYS))
        .distinct().order_by(RequestCustomer.deal_close_on, Request.id).limit(LISTED)
    ).all()
    at_risk_revenue = _revenue(session, [r.id for _, r in risky], blocker=Blocker.DEAL_BLOCKER)
    digest.at_risk = [AtRisk(close_on, r, at_risk_revenue.get(r.id, [])) for close_on, r in risky]
    return digest
