"""Each canonical request's demand and priority score, kept in `request_demand`.

Adding the demand up over 300,000 customer stakes for every App Home build took seconds, so
the totals are stored instead and kept current where they change: every session remembers
which requests a flush touched (a stake, a rep, a request's status, merge target, fit or
effort) and recomputes their groups before it commits (`settle`), in the same
transaction. The score's recency part changes with time alone, and the weights and rates
come from settings, so each row also says when it needs scoring again (`rescore_at`) and
with which settings it was scored (`basis`); `rescore_due` catches up (a scheduler job, and
`requestbot db upgrade`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.money import Money, currency_exponent
from bot.services.priority import (
    RATE_SCALE,
    RECENCY_STEPS,
    Currencies,
    Score,
    Weights,
    score,
)
from models import (
    Customer,
    Request,
    RequestCustomer,
    RequestDemand,
    RequestRep,
    RequestStatus,
    utcnow,
)

QUEUE_OF = {
    RequestStatus.NEW: "undecided",
    RequestStatus.UNDER_REVIEW: "undecided",
    RequestStatus.NEEDS_INFO: "undecided",
    RequestStatus.PLANNED: "planned",
    RequestStatus.DECLINED: "declined",
    RequestStatus.ALREADY_EXISTS: "closed",
}
WATCHED = ("status", "duplicate_of_id", "strategic_fit", "effort", "effort_weeks",
           "customer_count", "created_at")
"""The request's own columns its demand or score depends on."""
TOUCHED = "requestbot.demand_touched"
CUSTOMERS_TOUCHED = "requestbot.customers_touched"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
RESCORE_BATCH = 500


@dataclass(frozen=True)
class Scoring:
    weights: Weights = field(default_factory=Weights)
    currencies: Currencies = field(default_factory=Currencies)
    now: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(cls, settings: Any, now: Callable[[], datetime] = utcnow) -> Scoring:
        return cls(Weights.from_settings(settings), Currencies.from_settings(settings), now)

    @property
    def basis(self) -> str:
        text = repr((self.weights, self.currencies))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def keep_current(sessions: sessionmaker[Session], scoring: Scoring) -> None:
    """Makes every session of `sessions` keep `request_demand` current before it commits."""
    sessions.configure(info={"scoring": scoring})
    if not event.contains(sessions, "after_flush", _remember_touched):
        event.listen(sessions, "after_flush", _remember_touched)
        event.listen(sessions, "before_commit", _settle_at_commit)


def _settle_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint: the outer commit settles
        settle(session)


def scoring_of(session: Session) -> Scoring:
    return session.info.get("scoring") or Scoring()


def _remember_touched(session: Session, _context: Any) -> None:
    touched: set[int] = session.info.setdefault(TOUCHED, set())
    customers: set[int] = session.info.setdefault(CUSTOMERS_TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, RequestCustomer):
            touched.add(obj.request_id)
            history = inspect(obj).attrs["customer_id"].history
            customers.update(v for v in (obj.customer_id, *history.deleted) if v)
        elif isinstance(obj, RequestRep):
            touched.add(obj.request_id)
        elif isinstance(obj, Request):
            touched.update(_request_touches(session, obj))


def _request_touches(session: Session, request: Request) -> set[int]:
    state = inspect(request)
    if request in session.new or request in session.deleted:
        return {request.id, *filter(None, [request.duplicate_of_id])}
    ids: set[int] = set()
    for name in WATCHED:
        history = state.attrs[name].history
        if history.has_changes():
            ids.add(request.id)
            if name == "duplicate_of_id":
                ids.update(v for v in (*history.added, *history.deleted) if v)
    return ids


def touch(session: Session, request_ids: Iterable[int],
          customer_ids: Iterable[int] = ()) -> None:
    """For changes the flush doesn't see (bulk statements, database cascades)."""
    session.info.setdefault(TOUCHED, set()).update(request_ids)
    session.info.setdefault(CUSTOMERS_TOUCHED, set()).update(customer_ids)


def settle(session: Session) -> None:
    """Recomputes the demand of every request touched in this transaction so far."""
    session.flush()
    touched: set[int] = session.info.get(TOUCHED) or set()
    while touched:
        ids = set(touched)
        touched.clear()
        refresh(session, ids, scoring_of(session))
        session.flush()
    customers: set[int] = session.info.get(CUSTOMERS_TOUCHED) or set()
    ordered = sorted(customers)
    customers.clear()
    for start in range(0, len(ordered), RESCORE_BATCH):
        count_asks(session, ordered[start : start + RESCORE_BATCH])


def count_asks(session: Session, customer_ids: list[int] | None = None) -> None:
    """Each customer's number of requests (all customers' when `customer_ids` is None)."""
    asks = (select(func.count(RequestCustomer.id))
            .where(RequestCustomer.customer_id == Customer.id).scalar_subquery())
    statement = update(Customer).values(ask_count=asks)
    if customer_ids is not None:
        statement = statement.where(Customer.id.in_(customer_ids))
    session.execute(statement.execution_options(synchronize_session=False))


def refresh(session: Session, request_ids: Iterable[int], scoring: Scoring) -> None:
    """Recomputes the groups the requests are in: a merged request's is its canonical's."""
    ordered = sorted(set(request_ids))
    for start in range(0, len(ordered), RESCORE_BATCH):
        _refresh(session, set(ordered[start : start + RESCORE_BATCH]), scoring)


def _refresh(session: Session, ids: set[int], scoring: Scoring) -> None:
    from bot.services.demand import group_totals

    if not ids:
        return
    groups: dict[str, set[int]] = {}
    merged: set[int] = set()
    found: set[int] = set()
    for rid, team_id, status, into in session.execute(
            select(Request.id, Request.team_id, Request.status, Request.duplicate_of_id)
            .where(Request.id.in_(ids))):
        found.add(rid)
        if status == RequestStatus.MERGED and into:
            merged.add(rid)
            groups.setdefault(team_id, set()).add(into)
        else:
            groups.setdefault(team_id, set()).add(rid)
    gone = (ids - found) | merged
    if gone:
        session.execute(delete(RequestDemand).where(RequestDemand.request_id.in_(gone)))
    now = scoring.now()
    for team_id, group_ids in groups.items():
        totals = group_totals(session, group_ids, scoring.currencies)
        requests = {r.id: r for r in session.scalars(
            select(Request).where(Request.id.in_(group_ids)))}
        rows = {d.request_id: d for d in session.scalars(
            select(RequestDemand).where(RequestDemand.request_id.in_(group_ids)))}
        for gid, each in totals.items():
            request = requests.get(gid)
            if request is None or request.status == RequestStatus.MERGED:
                continue
            row = rows.get(gid)
            if row is None:
                row = RequestDemand(request_id=gid, team_id=team_id)
                session.add(row)
            _store(row, request, each, scoring, now)


def _store(row: RequestDemand, request: Request, totals: Any, scoring: Scoring,
           now: datetime) -> None:
    row.queue = QUEUE_OF.get(RequestStatus(request.status), "closed")
    row.customers, row.stated_customers = totals.customers, totals.stated_customers
    row.blockers, row.reps, row.requests = totals.blockers, totals.reps, totals.requests
    row.first_ask, row.latest_ask = totals.first_ask, totals.latest_ask
    row.revenue = [[m.currency, m.minor] for m in totals.revenue]
    row.revenue_base_minor = (  # currencies without a rate count at par in the score
        sum(m.minor * scoring.currencies.factor(m.currency) for m in totals.revenue)
        // RATE_SCALE if totals.revenue else None)
    row.score = score_row(row, request, scoring.weights, scoring.currencies, now).total
    row.scored_at = now
    row.rescore_at = next_recency_change(row.latest_ask, now)
    row.basis = scoring.basis


def score_row(row: RequestDemand, request: Request, weights: Weights,
              currencies: Currencies, now: datetime | None = None) -> Score:
    """The score from a stored row: as it was scored (`now` None) or as of `now`."""
    base = (row.revenue_base_minor or 0) / 10 ** currency_exponent(currencies.base)
    return score(revenue_major=base,
                 customers=max(row.customers, row.stated_customers or 0),
                 blockers=row.blockers, latest=row.latest_ask, fit=request.strategic_fit,
                 effort=request.effort, weeks=request.effort_weeks,
                 now=now or row.scored_at, weights=weights)


def next_recency_change(latest: datetime | None, now: datetime) -> datetime | None:
    if latest is None:
        return None
    changes = [latest + timedelta(days=days) for days, _ in RECENCY_STEPS]
    return min((at for at in changes if at > now), default=None)


def stored_totals(row: RequestDemand, currencies: Currencies) -> Any:
    """The stored totals, the revenue in the base currency at the caller's rates."""
    from bot.services.demand import DemandTotals

    revenue = [Money(int(minor), cur) for cur, minor in row.revenue]
    return DemandTotals(request_id=row.request_id, customers=row.customers,
                        stated_customers=row.stated_customers, blockers=row.blockers,
                        reps=row.reps, requests=row.requests, first_ask=row.first_ask,
                        latest_ask=row.latest_ask, revenue=revenue,
                        revenue_base=base_total(revenue, currencies))


def base_total(revenue: list[Money], currencies: Currencies) -> Money | None:
    """The revenue in the base currency, as the SQL sum does it (exact integers)."""
    if not revenue:
        return None
    if not currencies.configured and any(m.currency != currencies.base for m in revenue):
        return None
    scaled = sum(m.minor * currencies.factor(m.currency) for m in revenue)
    return Money(scaled // RATE_SCALE, currencies.base)


def rescore_due(session: Session, limit: int = RESCORE_BATCH) -> int:
    """Scores again up to `limit` rows whose recency part changed or whose settings did."""
    scoring = scoring_of(session)
    now = scoring.now()
    ids = list(session.scalars(
        select(RequestDemand.request_id).where(RequestDemand.rescore_at <= now)
        .order_by(RequestDemand.rescore_at).limit(limit)))
    refresh(session, ids, scoring)
    return len(ids)


def score_unscored(session: Session, limit: int = RESCORE_BATCH) -> int:
    """Scores up to `limit` canonical requests that have no row (rows written in bulk)."""
    ids = list(session.scalars(
        select(Request.id).outerjoin(RequestDemand, RequestDemand.request_id == Request.id)
        .where(RequestDemand.request_id.is_(None), Request.status != RequestStatus.MERGED)
        .order_by(Request.id).limit(limit)))
    refresh(session, ids, scoring_of(session))
    return len(ids)


def rescore_all_due(run: Callable[[Callable[[Session], int]], int],
                    batch: Callable[[Session], int] = rescore_due) -> int:
    """Runs `batch` (rescore_due, score_unscored) one transaction at a time until done."""
    done = 0
    while True:
        count = run(batch)
        done += count
        if count < RESCORE_BATCH:
            return done


def catch_up(run: Callable[[Callable[[Session], int]], int]) -> int:
    """Every request scored and current, one batch per transaction (`run` runs one)."""
    return sum(rescore_all_due(run, batch) for batch in CATCH_UP)


def mark_other_basis_due(session: Session) -> int:
    """At start: rows scored with other weights or rates are due again (one scan)."""
    return session.execute(
        update(RequestDemand).where(RequestDemand.basis != scoring_of(session).basis)
        .values(rescore_at=NEVER)).rowcount


CATCH_UP = (score_unscored, rescore_due)
"""Rows written in bulk without a score first, then rows whose score is due."""
