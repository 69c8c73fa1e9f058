"""Each reminder's message, built when it is sent from the data as it is then; None when
the reminder is no longer relevant (decided, answered, stopped) and should be cancelled."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks import reminders as blocks
from bot.blocks.common import Message, money
from bot.money import Money
from bot.reminders.digest import reps_waited_on, weekly_digest
from bot.reminders.evidence import Change, current_evidence, snapshot_evidence
from bot.services.facts import RequestFacts, current_decision, request_facts, requests_facts
from bot.services.requests import asks_of
from models import Blocker, Decision, Reminder, ReminderKind, Request, RequestStatus

UNDECIDED = (RequestStatus.NEW, RequestStatus.UNDER_REVIEW)


def compose(session: Session, reminder: Reminder, now: datetime,
            known: dict[int, RequestFacts] | None = None) -> Message | None:
    """`known`: facts already read for a batch of reminders (`facts_for`)."""
    if reminder.kind == ReminderKind.DIGEST:
        return _digest(session, reminder)
    request = session.get(Request, reminder.request_id) if reminder.request_id else None
    if request is None or request.team_id != reminder.team_id or request.reminders_stopped:
        return None
    if request.status == RequestStatus.MERGED:
        return None
    facts = (known or {}).get(request.id) or request_facts(session, request)
    build = {
        ReminderKind.REVISIT: _revisit,
        ReminderKind.NEW_EVIDENCE: _revisit,
        ReminderKind.STALE: _stale,
        ReminderKind.FOLLOW_UP: _follow_up,
        ReminderKind.DEAL_CLOSE: _deal_close,
        ReminderKind.INFO_ARRIVED: _info_arrived,
    }.get(ReminderKind(reminder.kind))
    return build(session, reminder, facts, now) if build else None


def facts_for(session: Session, reminders: list[Reminder]) -> dict[int, RequestFacts]:
    """The facts of the requests of many reminders, read together; their requests are then
    in the session, so `compose` finds them there too."""
    ids = sorted({r.request_id for r in reminders if r.request_id is not None})
    requests = [r for start in range(0, len(ids), 500) for r in session.scalars(
        select(Request).where(Request.id.in_(ids[start:start + 500])))]
    return requests_facts(session, requests)


def _current(facts: RequestFacts, reminder: Reminder) -> Decision | None:
    """The reminder's decision, if it is still the request's current one."""
    decision = facts.decision
    if decision is None or decision.id != reminder.decision_id:
        return None
    return decision


def _revisit(session: Session, reminder: Reminder, facts: RequestFacts,
             now: datetime) -> Message | None:
    decision = _current(facts, reminder)
    if decision is None:
        return None
    change = Change(snapshot_evidence(decision.evidence), current_evidence(session, facts.request))
    if reminder.kind == ReminderKind.NEW_EVIDENCE:
        if change.is_empty():
            return None
        return blocks.new_evidence_reminder(reminder.id, facts, decision, change.lines())
    return blocks.revisit_reminder(reminder.id, facts, decision, change.lines())


def _stale(session: Session, reminder: Reminder, facts: RequestFacts,
           now: datetime) -> Message | None:
    if facts.decision is not None or facts.request.status not in UNDECIDED:
        return None
    days = (now - facts.request.created_at).days
    return blocks.stale_reminder(reminder.id, facts, days)


def _follow_up(session: Session, reminder: Reminder, facts: RequestFacts,
               now: datetime) -> Message | None:
    request = facts.request
    if (request.follow_up_ts is None or request.follow_up_answered_at is not None
            or not facts.missing
            or request.status not in (RequestStatus.NEW, RequestStatus.NEEDS_INFO)):
        return None
    return blocks.follow_up_reminder(reminder.id, facts)


def _deal_close(session: Session, reminder: Reminder, facts: RequestFacts,
                now: datetime) -> Message | None:
    if facts.decision is not None or facts.request.status not in UNDECIDED:
        return None
    close_on = date.fromisoformat((reminder.payload or {}).get("close_on", ""))
    days_left = (close_on - now.date()).days
    if days_left < 0:
        return None
    revenue: dict[str, int] = {}
    blocked = False
    for ask, _name in asks_of(session, facts.request.id):
        if ask.blocker != Blocker.DEAL_BLOCKER or ask.deal_close_on != close_on:
            continue
        blocked = True
        amount = ask.deal_amount_minor if ask.deal_amount_minor is not None else ask.revenue_minor
        if amount is not None and ask.currency:
            revenue[ask.currency] = revenue.get(ask.currency, 0) + amount
    if not blocked:
        return None
    at_risk = money([Money(minor, cur) for cur, minor in sorted(revenue.items())])
    return blocks.deal_close_reminder(reminder.id, facts, close_on, days_left, at_risk)


def _info_arrived(session: Session, reminder: Reminder, facts: RequestFacts,
                  now: datetime) -> Message | None:
    return blocks.info_arrived_reminder(reminder.id, facts, (reminder.payload or {}).get("text"))


def _digest(session: Session, reminder: Reminder) -> Message | None:
    payload = reminder.payload or {}
    if payload.get("personal"):
        waiting = reps_waited_on(session, reminder.team_id).get(reminder.recipient or "")
        return blocks.personal_digest(waiting) if waiting else None
    end = datetime.fromisoformat(payload["period_end"])
    return blocks.channel_digest(weekly_digest(session, reminder.team_id, end))


def still_relevant(session: Session, reminder: Reminder, now: datetime) -> bool:
    """For a reminder going to several people: is it still worth raising?"""
    if reminder.kind == ReminderKind.DIGEST:
        return True
    request = session.get(Request, reminder.request_id) if reminder.request_id else None
    if request is None or request.reminders_stopped or request.status not in UNDECIDED:
        return False
    return current_decision(session, request.id) is None and compose(
        session, reminder, now) is not None
