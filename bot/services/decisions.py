"""Recording decisions: the append-only decision row, the evidence it was made on, the
revisit reminder, and every post that tells the reps, queued in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.blocks.decision_reply import (
    decision_dm,
    decision_reply,
    info_arrived_dm,
    talk_to_customer_note,
)
from bot.money import Money
from bot.posts import (
    DECISION_REPLY,
    queue_card_update,
    queue_direct_message,
    queue_follow_up,
    queue_thread_reply,
)
from bot.services.facts import current_decision, request_facts
from bot.services.reminders import schedule_revisit
from bot.services.requests import asks_of, log_activity
from models import (
    Blocker,
    Decision,
    DecisionStatus,
    Reminder,
    ReminderKind,
    Request,
    RequestStatus,
)


@dataclass
class DecisionInput:
    """A decision as the decider gave it (modal or thread), already checked against the rules."""

    status: DecisionStatus
    rationale: str | None = None
    timeline: str | None = None
    target_on: date | None = None
    revisit_on: date | None = None
    workaround: str | None = None
    needed_info: str | None = None
    reply_text: str | None = None
    reopen_revenue: Money | None = None
    reopen_on_blocker: bool = False

    def reopen_conditions(self) -> dict[str, Any] | None:
        conditions: dict[str, Any] = {}
        if self.reopen_revenue is not None:
            conditions["revenue_above"] = {"minor": self.reopen_revenue.minor,
                                           "currency": self.reopen_revenue.currency}
        if self.reopen_on_blocker:
            conditions["new_deal_blocker"] = True
        return conditions or None


@dataclass
class Recorded:
    decision: Decision
    previous: Decision | None
    outbox_ids: list[int] = field(default_factory=list)


def merged_duplicates(session: Session, request: Request) -> list[Request]:
    """Requests merged into this one: every thread that asked gets the decision."""
    return list(session.scalars(
        select(Request)
        .where(Request.team_id == request.team_id, Request.duplicate_of_id == request.id,
               Request.status == RequestStatus.MERGED)
        .order_by(Request.id)
    ))


def canonical(session: Session, request: Request) -> Request:
    """A merged request is decided on the request it was merged into."""
    if request.status == RequestStatus.MERGED and request.duplicate_of_id:
        target = session.get(Request, request.duplicate_of_id)
        if target is not None and target.team_id == request.team_id:
            return target
    return request


def evidence_snapshot(session: Session, request: Request) -> dict[str, Any]:
    """What the decision was made on, across the request and its merged duplicates."""
    requests = [request, *merged_duplicates(session, request)]
    customers: set[str] = set()
    revenue: dict[str, int] = {}
    blockers = 0
    for each in requests:
        for ask, name in asks_of(session, each.id):
            if name:
                customers.add(name)
            if ask.revenue_minor is not None and ask.currency:
                revenue[ask.currency] = revenue.get(ask.currency, 0) + ask.revenue_minor
            if ask.blocker in (Blocker.DEAL_BLOCKER, Blocker.CHURN_RISK):
                blockers += 1
    stated = sum(r.customer_count or 0 for r in requests)
    return {
        "customers": max(len(customers), stated),
        "customer_names": sorted(customers),
        "revenue": dict(sorted(revenue.items())),
        "blockers": blockers,
        "threads": sum(1 for r in requests if r.thread_ts),
    }


def record_decision(
    session: Session,
    request: Request,
    given: DecisionInput,
    *,
    decided_by: str,
    decider_tz: str | None,
    reply_text: str,
    now: datetime,
) -> Recorded:
    """Appends the decision and queues the thread replies, the card update and the DM."""
    previous = current_decision(session, request.id)
    decision = Decision(
        team_id=request.team_id,
        request_id=request.id,
        status=given.status,
        rationale=given.rationale,
        timeline=given.timeline,
        target_on=given.target_on,
        workaround=given.workaround,
        needed_info=given.needed_info,
        reply_text=reply_text,
        decided_by=decided_by,
        decided_at=now,
        evidence=evidence_snapshot(session, request),
        reopen_conditions=given.reopen_conditions(),
    )
    session.add(decision)
    session.flush()
    request.status = given.status
    request.updated_at = now
    log_activity(session, request, decided_by, "decided", now, status=str(given.status),
                 decision_id=decision.id,
                 previous=previous.status if previous is not None else None)
    if given.revisit_on is not None:
        schedule_revisit(session, decision, given.revisit_on, decider_tz, now)
    else:
        _cancel_revisits(session, request)
    recorded = Recorded(decision, previous)
    recorded.outbox_ids += _queue_replies(session, request, decision, previous, now)
    return recorded


def _cancel_revisits(session: Session, request: Request) -> None:
    """Only the current decision is brought back: a decision without a revisit date ends
    the earlier one's reminder."""
    session.execute(
        update(Reminder)
        .where(Reminder.request_id == request.id, Reminder.kind == ReminderKind.REVISIT,
               Reminder.state == "pending")
        .values(state="cancelled")
    )


def _queue_replies(session: Session, request: Request, decision: Decision,
                   previous: Decision | None, now: datetime) -> list[int]:
    ids = []
    for each in [request, *merged_duplicates(session, request)]:
        message = decision_reply(each, request, decision, previous)
        ids.append(queue_thread_reply(session, each, message.text, now, message.blocks,
                                      purpose=DECISION_REPLY))
    ids.append(queue_card_update(session, request, now))
    if request.requested_by != decision.decided_by:
        dm = decision_dm(request, decision)
        ids.append(queue_direct_message(session, request.team_id, request.requested_by, dm.text,
                                        now, dm.blocks, request_id=request.id))
    if decision.status == DecisionStatus.NEEDS_INFO and request_facts(session, request).missing:
        ids.append(queue_follow_up(session, request, now))
    return ids


def decision_history(session: Session, request: Request) -> list[Decision]:
    return list(session.scalars(
        select(Decision)
        .where(Decision.team_id == request.team_id, Decision.request_id == request.id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    ))


def ask_for_call(session: Session, request: Request, asked_by: str, now: datetime) -> list[int]:
    """The decider asks the requester, in the thread, to set up a call with the customers."""
    names = [name for _, name in asks_of(session, request.id) if name]
    for duplicate in merged_duplicates(session, request):
        names += [n for _, n in asks_of(session, duplicate.id) if n and n not in names]
    note = talk_to_customer_note(request, asked_by, names)
    log_activity(session, request, asked_by, "asked_for_call", now, customers=names)
    return [queue_thread_reply(session, request, note.text, now, note.blocks)]


def tell_decider_info_arrived(session: Session, request: Request, answered_by: str,
                              changed: list[str], now: datetime) -> list[int]:
    """A rep answered a `Needs more info` decision: the decider who asked hears of it."""
    if request.status != RequestStatus.NEEDS_INFO:
        return []
    decision = current_decision(session, request.id)
    if decision is None or decision.status != DecisionStatus.NEEDS_INFO:
        return []
    message = info_arrived_dm(request, decision, answered_by, changed)
    log_activity(session, request, answered_by, "info_arrived", now, decision_id=decision.id)
    return [queue_direct_message(session, request.team_id, decision.decided_by, message.text,
                                 now, message.blocks, request_id=request.id)]
