"""Durable reminders: rows created in the same transaction as what causes them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from models import Decision, Reminder, ReminderKind

CIVIL_HOUR = time(9, 0)


def civil_time(day: date, tz_name: str | None, at: time = CIVIL_HOUR) -> datetime:
    """`at` o'clock on `day` in the user's time zone, as a UTC time (UTC when tz unknown)."""
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, at, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def schedule_revisit(
    session: Session, decision: Decision, revisit_on: date, decider_tz: str | None, now: datetime
) -> Reminder:
    """The revisit reminder for a decision: a DM to the decider at 9:00 their time that day.

    Any earlier pending revisit reminder for the same request is cancelled: only the
    current decision is brought back.
    """
    from sqlalchemy import update

    session.execute(
        update(Reminder)
        .where(Reminder.request_id == decision.request_id, Reminder.kind == ReminderKind.REVISIT,
               Reminder.state == "pending")
        .values(state="cancelled")
    )
    due_at = civil_time(revisit_on, decider_tz)
    decision.revisit_at = due_at
    reminder = Reminder(
        team_id=decision.team_id,
        kind=ReminderKind.REVISIT,
        request_id=decision.request_id,
        decision_id=decision.id,
        recipient=decision.decided_by,
        due_at=max(due_at, now + timedelta(minutes=1)),
        dedupe_key=f"revisit:{decision.id}",
        payload={"tz": decider_tz},
        created_at=now,
    )
    session.add(reminder)
    session.flush()
    return reminder
