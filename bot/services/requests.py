"""Filing requests, recording customers' stakes, and answers to the follow-up questions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.money import Money
from bot.services.similar import index_request, matcher_for, reindex
from bot.similarity import Matcher
from models import (
    Activity,
    Blocker,
    Customer,
    RepRole,
    Request,
    RequestCustomer,
    RequestRep,
    RequestSource,
    SlackDelivery,
)


class RequestNotFound(Exception):
    pass


class NotAllowed(Exception):
    """The user may not do this; the message says who may."""


@dataclass
class Demand:
    """One customer's stake as a rep states it (any part may be unknown)."""

    customer: str | None = None
    revenue: Money | None = None
    revenue_period: str | None = None
    blocker: str | None = None
    importance: str | None = None
    deal_close_on: date | None = None
    deal_amount: Money | None = None
    renewal_on: date | None = None
    crm_url: str | None = None

    def has_facts(self) -> bool:
        return any(
            v is not None
            for v in (
                self.revenue, self.blocker, self.importance, self.deal_close_on,
                self.deal_amount, self.renewal_on, self.crm_url,
            )
        )


@dataclass
class RequestDraft:
    title: str
    problem: str | None = None
    proposed_solution: str | None = None
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    demand: Demand = field(default_factory=Demand)


@dataclass
class Origin:
    """Where a request was filed; a request filed from a message keeps that message's thread."""

    source: RequestSource
    channel_id: str | None
    message_ts: str | None = None
    thread_ts: str | None = None
    permalink: str | None = None


@dataclass
class Filed:
    request_id: int
    created: bool


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def get_or_create_customer(session: Session, team_id: str, name: str, now: datetime) -> Customer:
    key = name_key(name)
    customer = session.scalar(
        select(Customer).where(Customer.team_id == team_id, Customer.name_key == key)
    )
    if customer is not None:
        return customer
    try:
        with session.begin_nested():
            customer = Customer(team_id=team_id, name=" ".join(name.split()), name_key=key,
                                created_at=now)
            session.add(customer)
    except IntegrityError:  # filed at the same moment by someone else
        customer = session.scalar(
            select(Customer).where(Customer.team_id == team_id, Customer.name_key == key)
        )
        assert customer is not None
    return customer


def first_delivery(session: Session, team_id: str, key: str, now: datetime) -> bool:
    """Records a Slack delivery (event id, view submission); False when it was seen before."""
    try:
        with session.begin_nested():
            session.add(SlackDelivery(team_id=team_id, key=key[:200], received_at=now))
    except IntegrityError:
        return False
    return True


def find_by_source_message(
    session: Session, team_id: str, channel_id: str, message_ts: str
) -> Request | None:
    return session.scalar(
        select(Request).where(
            Request.team_id == team_id,
            Request.source_channel_id == channel_id,
            Request.message_ts == message_ts,
        )
    )


def find_by_thread(session: Session, team_id: str, channel_id: str, thread_ts: str) -> Request | None:
    return session.scalar(
        select(Request)
        .where(
            Request.team_id == team_id,
            Request.channel_id == channel_id,
            Request.thread_ts == thread_ts,
        )
        .order_by(Request.id)
        .limit(1)
    )


def get_request(session: Session, team_id: str, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if request is None or request.team_id != team_id:
        raise RequestNotFound(f"request #{request_id} was not found")
    return request


def add_rep(session: Session, request: Request, user_id: str, role: str, now: datetime) -> bool:
    exists = session.scalar(
        select(RequestRep.id).where(
            RequestRep.request_id == request.id, RequestRep.user_id == user_id
        )
    )
    if exists:
        return False
    session.add(
        RequestRep(team_id=request.team_id, request_id=request.id, user_id=user_id, role=role,
                   created_at=now)
    )
    return True


def log_activity(
    session: Session, request: Request, actor_id: str, action: str, now: datetime, **detail: object
) -> None:
    session.add(
        Activity(team_id=request.team_id, request_id=request.id, actor_id=actor_id, action=action,
                 detail=detail, created_at=now)
    )


def file_request(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    draft: RequestDraft,
    origin: Origin,
    now: datetime,
    matcher: Matcher | None = None,
) -> Filed:
    """Stores a new request (with its similarity vector and match keys), or returns the one
    already filed from the same message."""
    if origin.message_ts and origin.channel_id:
        existing = find_by_source_message(session, team_id, origin.channel_id, origin.message_ts)
        if existing is not None:
            if add_rep(session, existing, user_id, RepRole.SUPPORTER, now):
                log_activity(session, existing, user_id, "supported", now)
            return Filed(existing.id, created=False)
    request = Request(
        team_id=team_id,
        title=draft.title,
        problem=draft.problem,
        proposed_solution=draft.proposed_solution,
        source=origin.source,
        requested_by=user_id,
        source_channel_id=origin.channel_id if origin.message_ts else None,
        message_ts=origin.message_ts,
        channel_id=origin.channel_id,
        thread_ts=(origin.thread_ts or origin.message_ts) if origin.message_ts else None,
        permalink=origin.permalink,
        customer_count=draft.customer_count,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:  # the same message filed at the same moment (two reactions)
        existing = find_by_source_message(session, team_id, origin.channel_id or "",
                                          origin.message_ts or "")
        if existing is None:
            raise
        add_rep(session, existing, user_id, RepRole.SUPPORTER, now)
        return Filed(existing.id, created=False)
    add_rep(session, request, user_id, RepRole.REQUESTER, now)
    _record_demand(session, request, draft.customers, draft.demand, user_id, now)
    index_request(session, request, matcher or matcher_for("lexical"))
    log_activity(session, request, user_id, "filed", now, source=str(origin.source))
    return Filed(request.id, created=True)


def _record_demand(
    session: Session,
    request: Request,
    customers: list[str],
    demand: Demand,
    user_id: str,
    now: datetime,
) -> None:
    """The stated facts go on the first named customer, or on unnamed demand when none is named."""
    names = _unique_names(customers)
    if not names:
        if demand.has_facts():
            ask = RequestCustomer(team_id=request.team_id, request_id=request.id, added_by=user_id,
                                  created_at=now, updated_at=now)
            _apply_demand(ask, demand)
            session.add(ask)
        return
    for index, name in enumerate(names):
        customer = get_or_create_customer(session, request.team_id, name, now)
        ask = RequestCustomer(team_id=request.team_id, request_id=request.id,
                              customer_id=customer.id, added_by=user_id, created_at=now,
                              updated_at=now)
        if index == 0:
            _apply_demand(ask, demand)
        session.add(ask)
    session.flush()


def _unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        key = name_key(name)
        if key and key not in seen:
            seen.add(key)
            unique.append(name.strip())
    return unique


def _apply_demand(ask: RequestCustomer, demand: Demand) -> list[str]:
    """Sets the facts that are known; returns the names of what changed."""
    changed = []
    if demand.revenue is not None:
        ask.revenue_minor = demand.revenue.minor
        ask.currency = demand.revenue.currency
        ask.revenue_period = demand.revenue_period or ask.revenue_period
        changed.append("revenue")
    updates = {
        "blocker": demand.blocker,
        "importance": demand.importance,
        "deal_close_on": demand.deal_close_on,
        "renewal_on": demand.renewal_on,
        "crm_url": demand.crm_url,
    }
    for name, value in updates.items():
        if value is not None and getattr(ask, name) != value:
            setattr(ask, name, value)
            changed.append(name)
    if demand.deal_amount is not None:
        ask.deal_amount_minor = demand.deal_amount.minor
        changed.append("deal_amount")
    if demand.blocker == Blocker.DEAL_BLOCKER and ask.importance is None:
        ask.importance = "deal_blocker"
    return changed


def asks_of(session: Session, request_id: int) -> list[tuple[RequestCustomer, str | None]]:
    return asks_of_many(session, [request_id]).get(request_id, [])


def asks_of_many(session: Session, request_ids: list[int]
                 ) -> dict[int, list[tuple[RequestCustomer, str | None]]]:
    """Each request's asks with their customer's name, in the order they were made."""
    found: dict[int, list[tuple[RequestCustomer, str | None]]] = {}
    for ask, name in ask_rows(session, request_ids, RequestCustomer):
        found.setdefault(ask.request_id, []).append((ask, name))
    return found


def ask_rows(session: Session, request_ids: list[int], *columns: Any) -> Iterator[Row[Any]]:
    """`columns` of the asks of `request_ids` and their customer's name last, in the order
    the asks were made, 500 requests a query."""
    for start in range(0, len(request_ids), 500):
        yield from session.execute(
            select(*columns, Customer.name)
            .outerjoin(Customer, Customer.id == RequestCustomer.customer_id)
            .where(RequestCustomer.request_id.in_(request_ids[start:start + 500]))
            .order_by(RequestCustomer.id)
        )


@dataclass
class Answers:
    """Facts a rep gave after filing: in the thread, with buttons, or in the answer modal."""

    customer_count: int | None = None
    customers: list[str] = field(default_factory=list)
    additional: bool = False
    demand: Demand = field(default_factory=Demand)

    def is_empty(self) -> bool:
        return self.customer_count is None and not self.customers and not self.demand.has_facts()


def record_answers(
    session: Session,
    request: Request,
    answers: Answers,
    user_id: str,
    now: datetime,
) -> list[str]:
    """Applies answers to a request; returns what changed, in words for the activity log.

    A named customer not yet on the request is added (with the stated facts) rather than
    overwriting the first one; facts without a name go on the first customer's stake.
    """
    changed: list[str] = []
    if answers.customer_count is not None and answers.customer_count != request.customer_count:
        request.customer_count = answers.customer_count
        changed.append("customer_count")
    asks = asks_of(session, request.id)
    by_key = {name_key(name): ask for ask, name in asks if name}
    names = _unique_names(answers.customers)
    new_names = [n for n in names if name_key(n) not in by_key]
    facts_placed = False
    for name in new_names:
        customer = get_or_create_customer(session, request.team_id, name, now)
        unnamed = next((a for a, n in asks if n is None and a.customer_id is None), None)
        if unnamed is not None and not answers.additional and not facts_placed:
            unnamed.customer_id = customer.id  # the rep named the demand stated before
            ask = unnamed
        else:
            ask = RequestCustomer(team_id=request.team_id, request_id=request.id,
                                  customer_id=customer.id, added_by=user_id, created_at=now,
                                  updated_at=now)
            session.add(ask)
        if not facts_placed:
            changed += _apply_demand(ask, answers.demand)
            facts_placed = True
        changed.append(f"customer:{name}")
    if not facts_placed and answers.demand.has_facts():
        named = [by_key[name_key(n)] for n in names if name_key(n) in by_key]
        target = named[0] if named else (asks[0][0] if asks else None)
        if target is None:
            target = RequestCustomer(team_id=request.team_id, request_id=request.id,
                                     added_by=user_id, created_at=now, updated_at=now)
            session.add(target)
        changed += _apply_demand(target, answers.demand)
    if changed:
        request.updated_at = now
        add_rep(session, request, user_id, RepRole.SUPPORTER, now)
        log_activity(session, request, user_id, "answered", now, changed=changed)
    session.flush()
    return changed


def edit_request(
    session: Session,
    request: Request,
    draft: RequestDraft,
    user_id: str,
    now: datetime,
) -> list[str]:
    """The requester's edit from the card: fields replaced, customers added or removed."""
    changed = []
    for name in ("title", "problem", "proposed_solution", "customer_count"):
        value = getattr(draft, name)
        if getattr(request, name) != value:
            setattr(request, name, value)
            changed.append(name)
    asks = asks_of(session, request.id)
    wanted = {name_key(n): n for n in _unique_names(draft.customers)}
    for ask, name in asks:
        if name and name_key(name) not in wanted:
            session.delete(ask)
            changed.append(f"removed:{name}")
    present = {name_key(n) for _, n in asks if n}
    for key, name in wanted.items():
        if key not in present:
            customer = get_or_create_customer(session, request.team_id, name, now)
            session.add(RequestCustomer(team_id=request.team_id, request_id=request.id,
                                        customer_id=customer.id, added_by=user_id,
                                        created_at=now, updated_at=now))
            changed.append(f"added:{name}")
    session.flush()
    remaining = asks_of(session, request.id)
    primary = remaining[0][0] if remaining else None
    if primary is None and draft.demand.has_facts():
        primary = RequestCustomer(team_id=request.team_id, request_id=request.id,
                                  added_by=user_id, created_at=now, updated_at=now)
        session.add(primary)
    if primary is not None:
        changed += _apply_demand(primary, draft.demand)
    if changed:
        request.updated_at = now
        log_activity(session, request, user_id, "edited", now, changed=changed)
    if "title" in changed or "problem" in changed:
        reindex(session, request)
    session.flush()
    return changed
