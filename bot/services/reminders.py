"""Durable reminders: rows created in the same transaction as what causes them.

Each reminder has a `dedupe_key`, unique in the table, so scheduling the same reminder
twice (a retried event, two replicas, a second sweep) adds it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.reminders.evidence import Change, current_evidence, reopen_triggers, snapshot_evidence
from bot.services.facts import current_decision
from bot.services.requests import log_activity
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

CIVIL_HOUR = time(9, 0)
UTC = ZoneInfo("UTC")

DECIDER_KINDS = frozenset({ReminderKind.REVISIT, ReminderKind.NEW_EVIDENCE, ReminderKind.STALE,
                           ReminderKind.DEAL_CLOSE, ReminderKind.INFO_ARRIVED})
SNOOZES = {"week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass(frozen=True)
class ReminderPolicy:
    """The reminder settings services need (defaults as in bot.settings)."""

    stale_days: int = 14
    follow_up_hours: int = 48
    deal_close_days: int = 7
    revenue_growth: float = 0.5

    @classmethod
    def from_settings(cls, settings: Any) -> ReminderPolicy:
        return cls(stale_days=settings.stale_days, follow_up_hours=settings.follow_up_hours,
                   deal_close_days=settings.deal_close_days,
                   revenue_growth=settings.new_evidence_revenue_growth)


def zone(tz_name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def civil_time(day: date, tz_name: str | None, at: time = CIVIL_HOUR) -> datetime:
    """`at` o'clock on `day` in the user's time zone, as a UTC time (UTC when tz unknown)."""
    return datetime.combine(day, at, tzinfo=zone(tz_name)).astimezone(UTC)


def after_weekend(moment: datetime, tz_name: str | None) -> datetime:
    """`moment`, or Monday 9:00 in the user's zone when `moment` falls on their weekend."""
    local = moment.astimezone(zone(tz_name))
    if local.weekday() < 5:
        return moment
    return civil_time(local.date() + timedelta(days=7 - local.weekday()), tz_name)


def add_once(session: Session, **values: Any) -> int | None:
    """Inserts a reminder unless one with its dedupe key exists; the new id, or None."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values.setdefault("state", DeliveryState.PENDING)
    values.setdefault("attempts", 0)
    values.setdefault("payload", {})
    values.setdefault("created_at", values["due_at"])
    statement = (insert(Reminder).values(**values)
                 .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Reminder.id))
    return session.scalar(statement)


def schedule_revisit(
    session: Session, decision: Decision, revisit_on: date, decider_tz: str | None, now: datetime
) -> Reminder:
    """The revisit reminder for a decision: a DM to the decider at 9:00 their time that day.

    Any earlier pending revisit reminder for the same request is cancelled: only the
    current decision is brought back.
    """
    session.execute(
        update(Reminder)
        .where(Reminder.team_id == decision.team_id, Reminder.request_id == decision.request_id,
               Reminder.kind == ReminderKind.REVISIT, Reminder.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED)
    )
    due_at = civil_time(revisit_on, decider_tz)
    decision.revisit_at = due_at
    key = f"revisit:{decision.id}:{revisit_on.isoformat()}"
    reminder = session.scalar(select(Reminder).where(Reminder.dedupe_key == key))
    if reminder is None:
        reminder = Reminder(team_id=decision.team_id, kind=ReminderKind.REVISIT,
                            request_id=decision.request_id, decision_id=decision.id,
                            dedupe_key=key, created_at=now)
        session.add(reminder)
    reminder.recipient = decision.decided_by
    reminder.due_at = max(due_at, now + timedelta(minutes=1))
    reminder.state = DeliveryState.PENDING
    reminder.attempts = 0
    reminder.payload = {"tz": decider_tz}
    session.flush()
    return reminder


def schedule_new_request(session: Session, request: Request, policy: ReminderPolicy,
                         now: datetime) -> None:
    """A filed request: nudge the requester if the follow-up goes unanswered, raise it to the
    deciders if it waits too long for a decision, and before a blocked deal closes."""
    add_once(session, team_id=request.team_id, kind=ReminderKind.FOLLOW_UP,
             request_id=request.id, recipient=request.requested_by,
             due_at=now + timedelta(hours=policy.follow_up_hours),
             dedupe_key=f"follow_up:{request.id}", created_at=now)
    add_once(session, team_id=request.team_id, kind=ReminderKind.STALE, request_id=request.id,
             due_at=now + timedelta(days=policy.stale_days), dedupe_key=f"stale:{request.id}:1",
             payload={"round": 1}, created_at=now)
    schedule_deal_close(session, request, policy, now)


def schedule_deal_close(session: Session, request: Request, policy: ReminderPolicy,
                        now: datetime) -> None:
    closes = set(session.scalars(
        select(RequestCustomer.deal_close_on).where(
            RequestCustomer.team_id == request.team_id,
            RequestCustomer.request_id == request.id,
            RequestCustomer.blocker == Blocker.DEAL_BLOCKER,
            RequestCustomer.deal_close_on.is_not(None))
    ))
    for close_on in closes:
        if close_on < now.date():
            continue
        due_at = max(civil_time(close_on - timedelta(days=policy.deal_close_days), None), now)
        add_once(session, team_id=request.team_id, kind=ReminderKind.DEAL_CLOSE,
                 request_id=request.id, due_at=due_at,
                 dedupe_key=f"deal_close:{request.id}:{close_on.isoformat()}",
                 payload={"close_on": close_on.isoformat()}, created_at=now)


def note_new_demand(session: Session, request: Request, policy: ReminderPolicy,
                    now: datetime) -> int | None:
    """After demand was added: a deal-close reminder for a new close date, and, when demand
    behind a decided request grew past its reopen conditions or the default thresholds, a
    new-evidence reminder due now. Growth already reported is not reported again."""
    schedule_deal_close(session, request, policy, now)
    if request.status == RequestStatus.MERGED and request.duplicate_of_id:
        request = session.get(Request, request.duplicate_of_id) or request  # decided there
    decision = current_decision(session, request.id)
    if decision is None or request.reminders_stopped:
        return None
    change = Change(snapshot_evidence(decision.evidence), current_evidence(session, request))
    tokens = reopen_triggers(change, decision.reopen_conditions, policy.revenue_growth)
    reported: set[str] = set()
    for payload in session.scalars(
        select(Reminder.payload).where(Reminder.team_id == request.team_id,
                                       Reminder.decision_id == decision.id,
                                       Reminder.kind == ReminderKind.NEW_EVIDENCE)
    ):
        reported.update((payload or {}).get("tokens") or [])
    fresh = sorted(tokens - reported)
    if not fresh:
        return None
    return add_once(session, team_id=request.team_id, kind=ReminderKind.NEW_EVIDENCE,
                    request_id=request.id, decision_id=decision.id,
                    recipient=decision.decided_by, due_at=now,
                    dedupe_key=f"new_evidence:{decision.id}:{'+'.join(fresh)}"[:200],
                    payload={"tokens": fresh}, created_at=now)


class ReminderGone(Exception):
    """The reminder a button refers to no longer exists in this workspace."""


def get_reminder(session: Session, team_id: str, reminder_id: int) -> Reminder:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.team_id != team_id:
        raise ReminderGone(reminder_id)
    return reminder


def snooze(session: Session, reminder: Reminder, length: str, user_id: str,
           now: datetime) -> datetime:
    """The same reminder again after a week or a month (once per reminder snoozed)."""
    due_at = now + SNOOZES[length]
    add_once(session, team_id=reminder.team_id, kind=reminder.kind, request_id=reminder.request_id,
             decision_id=reminder.decision_id, recipient=reminder.recipient or user_id,
             due_at=due_at, dedupe_key=f"snooze:{reminder.id}",
             payload={**(reminder.payload or {}), "snoozed_by": user_id}, created_at=now)
    request = session.get(Request, reminder.request_id) if reminder.request_id else None
    if request is not None:
        log_activity(session, request, user_id, "reminder_snoozed", now, kind=reminder.kind,
                     until=due_at.isoformat())
    return due_at


def stop_reminders(session: Session, request: Request, user_id: str, now: datetime) -> int:
    """No more reminders about this request; returns how many pending ones were cancelled."""
    request.reminders_stopped = True
    result = session.execute(
        update(Reminder)
        .where(Reminder.team_id == request.team_id, Reminder.request_id == request.id,
               Reminder.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED)
    )
    log_activity(session, request, user_id, "reminders_stopped", now)
    return result.rowcount or 0


def keep_decision(session: Session, reminder: Reminder, revisit_on: date, user_id: str,
                  now: datetime) -> Reminder:
    """The decider keeps the decision: it comes back on `revisit_on`."""
    decision = session.get(Decision, reminder.decision_id) if reminder.decision_id else None
    if decision is None or decision.team_id != reminder.team_id:
        raise ReminderGone(reminder.id)
    tz = (reminder.payload or {}).get("tz")
    revisit = schedule_revisit(session, decision, revisit_on, tz, now)
    request = session.get(Request, decision.request_id)
    if request is not None:
        log_activity(session, request, user_id, "decision_kept", now,
                     revisit_on=revisit_on.isoformat())
    return revisit
