"""Claiming due reminders and recording what Slack answered.

A reminder is claimed in the database before it is sent (FOR UPDATE SKIP LOCKED on
PostgreSQL; SQLite has one writer, its transactions begin IMMEDIATE) and marked sent only
after Slack accepted it, so two sweeps never send it twice. A claim older than CLAIM_TTL
belongs to a sweep that died between claiming and sending: it is claimed again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bot.posts import queue_thread_reply
from bot.reminders.digest import reps_waited_on
from bot.reminders.messages import compose, facts_for, still_relevant
from bot.services.outbox import retry_delay
from bot.services.reminders import ReminderPolicy, add_once
from models import DeliveryState, Reminder, ReminderKind, Request

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
CLAIMED_ELSEWHERE = timedelta(seconds=10)
JUST_SENT = timedelta(seconds=2)
"""Sweeps in two processes at once (replicas' schedules, a `run-due` beside `serve`) would
post to one person within a second, which Slack answers with 429 (sweeps in one process
share its pacer). So a claim passes over the people another process claimed reminders for
in the last CLAIMED_ELSEWHERE, or posted to in the last JUST_SENT (a sent reminder keeps
who sent it and when in claimed_by and claimed_at): that process paces its posts to them.
One that died holds its people up this long only."""


@dataclass(frozen=True)
class Claimed:
    id: int
    team_id: str
    kind: str
    recipient: str | None
    attempts: int
    tz: str | None = None
    message: dict[str, Any] = field(default_factory=dict)

    @property
    def fans_out(self) -> bool:
        return self.recipient is None


def _due(now: datetime):
    return or_(
        and_(Reminder.state == DeliveryState.PENDING, Reminder.due_at <= now),
        and_(Reminder.state == DeliveryState.CLAIMED, Reminder.claimed_at < now - CLAIM_TTL),
    )


def claim_due(session: Session, *, worker: str, now: datetime, limit: int = 50) -> list[Claimed]:
    """Claims due reminders and builds each one's message from the data as it is now;
    a reminder that is no longer relevant (decided, answered, stopped) is cancelled."""
    claimed, _ = claim_batch(session, worker=worker, now=now, limit=limit)
    ready, unsent = build_messages(session, claimed, now)
    settle_unsent(session, unsent)
    return ready


def claim_batch(session: Session, *, worker: str, now: datetime, limit: int = 50
                ) -> tuple[list[Claimed], bool]:
    """Claims up to `limit` due reminders, messages not built yet (`build_messages`), so
    the write transaction stays short; and whether the limit was reached (more may be due).
    Columns and one UPDATE rather than loaded rows: a sweep claims thousands. People
    another process is sending to are passed over (CLAIMED_ELSEWHERE)."""
    query = (select(Reminder.id, Reminder.team_id, Reminder.kind, Reminder.recipient,
                    Reminder.attempts, Reminder.payload)
             .where(_due(now), or_(Reminder.recipient.is_(None),
                                   ~_kept_elsewhere(worker, now)))
             .order_by(Reminder.due_at, Reminder.id).limit(limit))
    rows = session.execute(_locking(session, query, skip_locked=True)).all()
    if rows:
        session.execute(
            update(Reminder).where(Reminder.id.in_([row.id for row in rows]))
            .values(state=DeliveryState.CLAIMED, claimed_by=worker, claimed_at=now,
                    attempts=Reminder.attempts + 1)
            .execution_options(synchronize_session=False))
    claimed = [Claimed(row.id, row.team_id, row.kind, row.recipient, row.attempts + 1,
                       (row.payload or {}).get("tz")) for row in rows]
    return claimed, len(rows) >= limit


def left_to_other_sweeps(session: Session, *, worker: str, now: datetime) -> bool:
    """Whether reminders are due for people another process is sending to (`claim_batch`
    passed them over): they are claimed once it has finished with them."""
    query = select(Reminder.id).where(_due(now), _kept_elsewhere(worker, now))
    return session.scalar(select(query.exists())) or False


def _kept_elsewhere(worker: str, now: datetime) -> ColumnElement[bool]:
    """A reminder for a person another process is sending to (CLAIMED_ELSEWHERE); never
    true of one without a recipient."""
    people = select(Reminder.team_id, Reminder.recipient).where(
        or_(and_(Reminder.state == DeliveryState.CLAIMED,
                 Reminder.claimed_at > now - CLAIMED_ELSEWHERE),
            and_(Reminder.state == DeliveryState.SENT, Reminder.claimed_at > now - JUST_SENT)),
        Reminder.claimed_by != worker, Reminder.recipient.is_not(None))
    return tuple_(Reminder.team_id, Reminder.recipient).in_(people)


@dataclass(frozen=True)
class Unsent:
    """A claimed reminder not to send: no longer relevant (cancelled), or `error` (given up)."""

    id: int
    error: str | None = None


def build_messages(session: Session, claimed: list[Claimed], now: datetime
                   ) -> tuple[list[Claimed], list[Unsent]]:
    """Each claimed reminder with its message, built from the data as it is now (reads
    only: the sweep runs it outside the claim's write transaction); those not to send."""
    rows = {r.id: r for r in session.scalars(
        select(Reminder).where(Reminder.id.in_([c.id for c in claimed])))} if claimed else {}
    ready, unsent = [], []
    try:
        known = facts_for(session, [r for r in rows.values() if r.recipient is not None])
    except Exception:  # noqa: BLE001 - each message then reads its own facts
        log.exception("reminder facts could not be read together")
        known = {}
    for item in claimed:
        reminder = rows.get(item.id)
        if reminder is None:
            continue  # deleted with its request meanwhile
        try:
            if reminder.recipient is None:
                message = {} if still_relevant(session, reminder, now) else None
            else:
                built = compose(session, reminder, now, known)
                message = built.args() if built is not None else None
        except Exception as exc:  # noqa: BLE001 - one broken reminder never stops the sweep
            log.exception("reminder could not be built", extra={"reminder_id": reminder.id})
            unsent.append(Unsent(item.id, f"could not be built: {type(exc).__name__}: {exc}"))
            continue
        if message is None:
            unsent.append(Unsent(item.id))
        else:
            ready.append(replace(item, message=message))
    return ready, unsent


def settle_unsent(session: Session, unsent: list[Unsent]) -> list[None]:
    """Cancels what is no longer relevant (the attempt not counted), gives up what could
    not be built."""
    for reminder, item in zip(_locked(session, [u.id for u in unsent]), unsent, strict=True):
        if reminder is None or reminder.state != DeliveryState.CLAIMED:
            continue
        if item.error is not None:
            _give_up(reminder, item.error)
            continue
        reminder.state = DeliveryState.CANCELLED
        reminder.claimed_by = reminder.claimed_at = None
        reminder.attempts = max(reminder.attempts - 1, 0)
    return [None] * len(unsent)


def _locking(session: Session, query: Select[Any], skip_locked: bool = False) -> Select[Any]:
    """`query` locking the rows it reads on PostgreSQL (SQLite's transactions begin
    IMMEDIATE: one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=skip_locked)
    return query


def _locked(session: Session, ids: list[int]) -> list[Reminder | None]:
    """The reminders of `ids` (in that order) loaded in one query, locked on PostgreSQL."""
    if not ids:
        return []
    found = {r.id: r for r in session.scalars(
        _locking(session, select(Reminder).where(Reminder.id.in_(ids))))}
    return [found.get(i) for i in ids]


def expand(session: Session, claimed: Claimed, deciders: list[str], policy: ReminderPolicy,
           now: datetime) -> list[str]:
    """A reminder for several people becomes one reminder each (sent, retried and snoozed
    on its own); for a stale request the next round is scheduled too."""
    parent = session.get(Reminder, claimed.id, with_for_update=True)
    if parent is None or parent.state != DeliveryState.CLAIMED:
        return []
    payload = dict(parent.payload or {})
    if parent.kind == ReminderKind.DIGEST:
        channel = payload.get("channel")
        recipients = ([channel] if channel else []) + sorted(
            reps_waited_on(session, parent.team_id))
        personal = {r: r != channel for r in recipients}
    else:
        recipients, personal = list(deciders), {}
    for recipient in recipients:
        add_once(session, team_id=parent.team_id, kind=parent.kind, request_id=parent.request_id,
                 decision_id=parent.decision_id, recipient=recipient, due_at=now,
                 dedupe_key=f"{parent.dedupe_key or parent.id}:{recipient}"[:200],
                 payload={**payload, "personal": personal.get(recipient, False)},
                 created_at=now)
    if parent.kind == ReminderKind.STALE and payload.get("round", 1) == 1:
        add_once(session, team_id=parent.team_id, kind=ReminderKind.STALE,
                 request_id=parent.request_id, due_at=now + timedelta(days=policy.stale_days),
                 dedupe_key=f"stale:{parent.request_id}:2", payload={"round": 2},
                 created_at=now)
    if recipients:
        parent.state = DeliveryState.SENT
        parent.sent_at = now
        parent.payload = {**payload, "recipients": recipients}
    else:
        _give_up(parent, "nobody to send it to: no deciders configured")
    return recipients


def record_sent(session: Session, claimed: Claimed, result: dict[str, Any], *,
                now: datetime) -> None:
    record_all_sent(session, [(claimed, result)], now=now)


def record_all_sent(session: Session, sent: list[tuple[Claimed, dict[str, Any]]], *,
                    now: datetime) -> list[None]:
    """Marks reminders Slack accepted as sent in one query and one UPDATE (a sweep records
    thousands); what a sent revisit leads to is queued in the same transaction."""
    query = (select(Reminder.id, Reminder.state, Reminder.kind, Reminder.request_id,
                    Reminder.payload)
             .where(Reminder.id.in_([claimed.id for claimed, _ in sent])))
    found = {row.id: row for row in session.execute(_locking(session, query))}
    changes, revisited = [], []
    for claimed, result in sent:
        row = found.get(claimed.id)
        if row is None or row.state == DeliveryState.SENT:
            continue
        changes.append({"sent_id": row.id, "sent_payload": {
            **(row.payload or {}), "channel": result.get("channel"), "ts": result.get("ts")}})
        if row.kind == ReminderKind.REVISIT and row.request_id:
            revisited.append(row.request_id)
    if changes:  # Core: the ORM bulk update's bookkeeping cost a fifth of recording a row
        table = Reminder.__table__
        session.execute(
            update(table).where(table.c.id == bindparam("sent_id"))
            .values(state=DeliveryState.SENT, sent_at=now, last_error=None,
                    claimed_at=now, payload=bindparam("sent_payload")),  # kept: JUST_SENT
            changes)
    for request_id in revisited:
        request = session.get(Request, request_id)
        if request is not None:
            queue_thread_reply(
                session, request,
                f"Product is revisiting the decision on #{request.id} today: new customers, "
                "revenue or blockers added here since the decision count as evidence.", now)
    return [None] * len(sent)


def record_failure(session: Session, claimed: Claimed, error: str, *, now: datetime,
                   permanent: bool, retry_after: float | None = None) -> bool:
    """Back to pending with backoff, or given up (True) when Slack refused for good or
    after MAX_ATTEMPTS. Being rate limited is Slack's pace, not a fault of the reminder: it
    waits for Retry-After and the attempt is not counted, so a busy sweep loses none."""
    reminder = session.get(Reminder, claimed.id, with_for_update=True)
    if reminder is None or reminder.state == DeliveryState.SENT:
        return False
    if error == "ratelimited" and not permanent:
        reminder.attempts = max(reminder.attempts - 1, 0)
    elif permanent or reminder.attempts >= MAX_ATTEMPTS:
        reason = error if permanent else f"gave up after {reminder.attempts} attempts: {error}"
        _give_up(reminder, reason)
        log.warning("reminder given up", extra={"reminder_id": reminder.id, "kind": reminder.kind,
                                                "reason": reason})
        return True
    reminder.state = DeliveryState.PENDING
    reminder.claimed_by = reminder.claimed_at = None
    reminder.last_error = error[:500]
    reminder.due_at = now + retry_delay(reminder.attempts, retry_after)
    return False


def defer(session: Session, claimed: Claimed, until: datetime) -> None:
    """Not now (the recipient's weekend): pending again, the attempt not counted."""
    reminder = session.get(Reminder, claimed.id, with_for_update=True)
    if reminder is None or reminder.state != DeliveryState.CLAIMED:
        return
    reminder.state = DeliveryState.PENDING
    reminder.claimed_by = reminder.claimed_at = None
    reminder.attempts = max(reminder.attempts - 1, 0)
    reminder.due_at = until


def _give_up(reminder: Reminder, reason: str) -> None:
    reminder.state = DeliveryState.FAILED
    reminder.claimed_by = reminder.claimed_at = None
    reminder.last_error = reason[:500]
