"""The durable outbox: every post owed to Slack is a row written with the data it describes.

A sender claims due rows, calls Slack after the commit, and records the outcome; a
failed call is retried with backoff (honouring Retry-After) until it goes through. A row
is claimed before sending and marked sent after, so two senders never send it twice, and
an expired claim (a process that died mid-send) is picked up again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session

from models import DeliveryState, OutboxMessage, Request

CLAIM_TTL = timedelta(minutes=2)
CONVERSATION_LENGTH: int = OutboxMessage.__table__.c.conversation.type.length  # type: ignore[attr-defined]
MAX_BACKOFF = timedelta(minutes=10)

LATER: dict[str, Any] = {"__later__": True}
"""What a `prepare` hook returns when the call must wait (e.g. for the card it replies under)."""

Prepare = Callable[[Session, OutboxMessage, dict[str, Any]], dict[str, Any] | None]
AfterSend = Callable[[Session, OutboxMessage, dict[str, Any]], None]
OnPermanentFailure = Callable[[Session, OutboxMessage, str], None]


@dataclass
class Hooks:
    """What each purpose of post needs around the call itself.

    prepare: fills the arguments from the data as it is when sent (a card shows the
    latest facts); returning None drops the call, LATER leaves it for a later round.
    after_send: records what Slack answered (a card's ts becomes the request's thread).
    on_permanent_failure: a fallback when Slack refused for good (DM the rep instead).
    """

    prepare: dict[str, Prepare] = field(default_factory=dict)
    after_send: dict[str, AfterSend] = field(default_factory=dict)
    on_permanent_failure: dict[str, OnPermanentFailure] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimedCall:
    id: int
    team_id: str
    method: str
    args: dict[str, Any]
    purpose: str
    attempts: int
    conversation: str | None  # the row's: where it was queued to go


@dataclass(frozen=True)
class Shares:
    """How much of a conversation's backlog one claim may take: `room` for each that holds
    claimed calls already, `share` for any other. A conversation gets a post a second, so
    a share is what goes out well within a claim's hold limit; a conversation without
    room is passed over in the query, and the claim reaches those queued after it."""

    share: int
    room: dict[tuple[str, str], int] = field(default_factory=dict)

    def full(self) -> list[tuple[str, str]]:
        return [key for key, room in self.room.items() if room <= 0]

    def of(self, key: tuple[str, str]) -> int:
        return self.room.get(key, self.share)


def enqueue(
    session: Session,
    *,
    team_id: str,
    method: str,
    args: dict[str, Any],
    purpose: str,
    now: datetime,
    request_id: int | None = None,
    thread_of_request_id: int | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        team_id=team_id,
        method=method,
        args=args,
        conversation=_conversation(session, method, args, thread_of_request_id or request_id),
        purpose=purpose,
        request_id=request_id,
        thread_of_request_id=thread_of_request_id,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def destination(method: str, args: dict[str, Any]) -> str | None:
    """Where a call keeps its order (and a post its pace): the channel or DM of posts and
    updates, a user's App Home; None for a call that needs neither (a permalink) or whose
    channel is not in its arguments yet."""
    if method == "views.publish":
        return args.get("user_id")
    if method.startswith("chat.") and method != "chat.getPermalink":
        return args.get("channel")
    return None


REQUEST_CHANNEL_METHODS = frozenset({"chat.postMessage", "chat.update"})
"""Queued without a channel: a request's card, its thread replies and card updates, which
go to the request's channel (or its card's) when they are built."""


def _conversation(session: Session, method: str, args: dict[str, Any],
                  request_id: int | None) -> str | None:
    """The conversation a row is queued for: its call's destination, or for a request's
    card and thread, the request's channel as it is now (a card may yet land by DM)."""
    where = destination(method, args)
    if where is None and method in REQUEST_CHANNEL_METHODS and request_id is not None:
        request = session.get(Request, request_id)
        if request is not None:
            where = ((request.card_channel_id if method == "chat.update" else None)
                     or request.channel_id)
    return str(where)[:CONVERSATION_LENGTH] if where else None


def _due(now: datetime, ids: Iterable[int] | None, limit: int, shares: Shares | None = None):
    """Due rows, oldest first (so a conversation's posts keep the order they were queued
    in); a reply whose request has no thread yet waits for its card and takes no place;
    none of a conversation that has its share."""
    due = or_(
        and_(
            OutboxMessage.state == DeliveryState.PENDING, OutboxMessage.next_attempt_at <= now
        ),
        and_(
            OutboxMessage.state == DeliveryState.CLAIMED, OutboxMessage.claimed_at < now - CLAIM_TTL
        ),
    )
    thread_ready = or_(
        OutboxMessage.thread_of_request_id.is_(None),
        select(Request.id).where(Request.id == OutboxMessage.thread_of_request_id,
                                 Request.thread_ts.is_not(None)).exists(),
    )
    query = (select(OutboxMessage).where(due, thread_ready).order_by(OutboxMessage.id)
             .limit(limit))
    full = shares.full() if shares is not None else []
    if full:
        query = query.where(or_(
            OutboxMessage.conversation.is_(None),
            tuple_(OutboxMessage.team_id, OutboxMessage.conversation).not_in(full)))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(_padded(sorted(set(ids)))))
    return query


def _due_rows(session: Session, now: datetime, ids: Iterable[int] | None, limit: int,
              shares: Shares | None, *, lock: bool = False) -> list[OutboxMessage]:
    """`_due`'s rows: of `ids`, when given, and of whatever is still owed for the same
    requests (what the hooks queued since: a permalink, a DM fallback). Those are looked up
    first, by request, and the claim then reads its rows by id. As a subquery in an OR
    within the claim, neither database searched by id or request: each claim of a few new
    posts read every due row, the posts waiting for a busy channel's pace included
    (thousands after a burst, or after a Slack outage)."""
    if ids is not None:
        ids = list(ids)
        requests = list(session.scalars(
            select(OutboxMessage.request_id).distinct()
            .where(OutboxMessage.id.in_(ids), OutboxMessage.request_id.is_not(None))))
        if requests:
            ids += session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.request_id.in_(requests),
                OutboxMessage.state.in_((DeliveryState.PENDING, DeliveryState.CLAIMED))))
    query = _due(now, ids, limit, shares)
    if lock:
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    return list(session.scalars(query))


def _padded(ids: list[int]) -> list[int]:
    """`ids`, the last repeated up to a power of two in length. Each length of an IN list is a
    statement of its own, and SQLite and psycopg keep the statements they prepared for each
    connection: with a request's posts in flight counted in, the claim came in hundreds of
    lengths, and the worker held 50 MB more after a burst of answers."""
    size = 1 << max(0, len(ids) - 1).bit_length()
    return ids + ids[-1:] * (size - len(ids))


def claim_due(
    session: Session,
    hooks: Hooks,
    *,
    worker: str,
    now: datetime,
    ids: Iterable[int] | None = None,
    limit: int = 100,
    shares: Shares | None = None,
) -> tuple[list[ClaimedCall], bool, bool]:
    """Claims up to `limit` due rows, each prepared by its hook, in one transaction (on
    PostgreSQL, rows another sender holds are skipped); whether more may be due (the
    limit was reached, and not only by rows that wait); and whether rows were left
    because their conversation had its share."""
    rows = _due_rows(session, now, ids, limit, shares,
                     lock=session.get_bind().dialect.name == "postgresql")
    ready, waiting, crowded = _prepared_in_shares(session, hooks, rows, shares)
    claimed = []
    for message, args in ready:
        if args is None:
            message.state = DeliveryState.CANCELLED
        else:
            claimed.append(_claim(message, args, worker, now))
    return claimed, len(rows) >= limit and waiting < len(rows), crowded


@dataclass(frozen=True)
class Prepared:
    """A due row's call as its hook built it (None: not to be sent), and the row's state,
    attempts and claim when it was read, which claiming checks are unchanged."""

    id: int
    state: str
    attempts: int
    claimed_at: datetime | None
    args: dict[str, Any] | None


def prepare_due(
    session: Session, hooks: Hooks, *, now: datetime, ids: Iterable[int] | None = None,
    limit: int = 100, shares: Shares | None = None,
) -> tuple[list[Prepared], bool, bool]:
    """The first half of a claim on SQLite, in a read-only transaction: the calls built
    (cards, App Homes: the slow part) without the one write lock that acks storing
    something wait for; `claim_prepared` then claims them in a short write."""
    rows = _due_rows(session, now, ids, limit, shares)
    ready, waiting, crowded = _prepared_in_shares(session, hooks, rows, shares)
    prepared = [Prepared(message.id, message.state, message.attempts, message.claimed_at, args)
                for message, args in ready]
    return prepared, len(rows) >= limit and waiting < len(rows), crowded


def claim_prepared(session: Session, prepared: list[Prepared], *, worker: str,
                   now: datetime) -> list[ClaimedCall]:
    """Claims (or cancels) each prepared row still as it was read: a row another sender
    claimed meanwhile is left to it."""
    rows = {m.id: m for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_([p.id for p in prepared])))}
    claimed = []
    for ready in prepared:
        message = rows.get(ready.id)
        if message is None or (message.state, message.attempts, message.claimed_at) != (
                ready.state, ready.attempts, ready.claimed_at):
            continue
        if ready.args is None:
            message.state = DeliveryState.CANCELLED
        else:
            claimed.append(_claim(message, ready.args, worker, now))
    return claimed


def _prepared_in_shares(session: Session, hooks: Hooks, rows: Iterable[OutboxMessage],
                        shares: Shares | None
                        ) -> tuple[list[tuple[OutboxMessage, dict[str, Any] | None]], int, bool]:
    """Each row's call as its hook prepares it (None: not to be sent), oldest first and up
    to its conversation's share; how many rows wait (LATER); and whether any was left
    because its conversation had its share (what follows it there is left too, so each
    conversation keeps its order)."""
    taken: Counter[tuple[str, str]] = Counter()
    ready, waiting, crowded = [], 0, False
    for message in rows:
        key = (message.team_id, message.conversation) if message.conversation else None
        if shares is not None and key is not None and taken[key] >= shares.of(key):
            crowded = True
            continue
        args = _prepared(session, hooks, message)
        if args is LATER:
            waiting += 1
            continue
        if key is not None and args is not None:
            taken[key] += 1
        ready.append((message, args))
    return ready, waiting, crowded


def _prepared(session: Session, hooks: Hooks, message: OutboxMessage
              ) -> dict[str, Any] | None:
    """The row's arguments as its hook prepares them now; LATER when it waits (for its
    request's card), None when it is not to be sent."""
    args = dict(message.args)
    if message.thread_of_request_id is not None:
        thread = _thread_of(session, message.thread_of_request_id)
        if thread is None:
            return LATER  # the request's card is not posted yet; its own row goes first
        args.setdefault("channel", thread[0])
        args["thread_ts"] = thread[1]
    builder = hooks.prepare.get(message.purpose)
    return builder(session, message, args) if builder is not None else args


def _claim(message: OutboxMessage, args: dict[str, Any], worker: str, now: datetime
           ) -> ClaimedCall:
    message.state = DeliveryState.CLAIMED
    message.claimed_by = worker
    message.claimed_at = now
    message.attempts += 1
    return ClaimedCall(message.id, message.team_id, message.method, args, message.purpose,
                       message.attempts, message.conversation)


def _thread_of(session: Session, request_id: int) -> tuple[str, str] | None:
    row = session.execute(
        select(Request.channel_id, Request.thread_ts).where(Request.id == request_id)
    ).one_or_none()
    if row is None or not row.channel_id or not row.thread_ts:
        return None
    return row.channel_id, row.thread_ts


def record_sent(
    session: Session, hooks: Hooks, call: ClaimedCall, result: dict[str, Any], *, worker: str, now: datetime
) -> bool:
    """Marks the row sent; False when the row is gone."""
    return record_all_sent(session, hooks, [(call, result)], worker=worker, now=now)[0]


def record_all_sent(
    session: Session, hooks: Hooks, sent: list[tuple[ClaimedCall, dict[str, Any]]], *,
    worker: str, now: datetime,
) -> list[bool]:
    """`record_sent` for many rows: one query loads (and on PostgreSQL locks) them all."""
    messages = _locked(session, [call.id for call, _ in sent])
    for message, (_, result) in zip(messages, sent, strict=True):
        if message is None:
            continue
        message.state = DeliveryState.SENT
        message.sent_at = now
        message.last_error = None
        message.result = {k: result[k] for k in ("channel", "ts", "permalink") if k in result}
        hook = hooks.after_send.get(message.purpose)
        if hook is not None:
            hook(session, message, result)
    return [message is not None for message in messages]


def _locked(session: Session, ids: list[int]) -> list[OutboxMessage | None]:
    """The rows of `ids` (in that order) loaded in one query, locked on PostgreSQL."""
    query = select(OutboxMessage).where(OutboxMessage.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = {m.id: m for m in session.scalars(query)}
    return [found.get(i) for i in ids]


def release(session: Session, calls: Iterable[ClaimedCall], *, worker: str, until: datetime
            ) -> None:
    """Claimed but not sent: pending again from `until`, the attempt not counted (what
    follows a rate-limited post in its conversation, or a claim held too long)."""
    for message in _locked(session, [call.id for call in calls]):
        if (message is None or message.state != DeliveryState.CLAIMED
                or message.claimed_by != worker):
            continue
        message.state = DeliveryState.PENDING
        message.claimed_by = None
        message.claimed_at = None
        message.attempts = max(message.attempts - 1, 0)
        message.next_attempt_at = until


def record_failure(
    session: Session,
    hooks: Hooks,
    call: ClaimedCall,
    error: str,
    *,
    now: datetime,
    permanent: bool,
    retry_after: float | None = None,
) -> None:
    message = session.get(OutboxMessage, call.id, with_for_update=True)
    if message is None or message.state == DeliveryState.SENT:
        return
    message.last_error = error[:500]
    message.claimed_by = None
    message.claimed_at = None
    if permanent:
        message.state = DeliveryState.FAILED
        hook = hooks.on_permanent_failure.get(message.purpose)
        if hook is not None:
            hook(session, message, error)
        return
    message.state = DeliveryState.PENDING
    message.next_attempt_at = now + retry_delay(message.attempts, retry_after)


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    backoff = timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds()))
    if retry_after is not None:
        return max(backoff, timedelta(seconds=retry_after))
    return backoff


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state.in_([DeliveryState.PENDING, DeliveryState.CLAIMED])
        )
    ) or 0
