"""Jobs in the database: taken in before an ack, claimed by a worker, deleted with the work.

A job is claimed before it runs and its claim expires, so a worker that died mid-job
leaves it to the next one; the work's own transaction deletes the row (`finish`), and a
job whose row is gone by then (another worker did it) rolls its work back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from models import Job, JobInboxMark

if TYPE_CHECKING:
    from bot.inbox import JobInbox

CLAIM_TTL = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=30)


class JobTaken(Exception):
    """The job's row is gone or claimed by another worker: its work must not be kept."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    team_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    worker: str


def add(session: Session, *, team_id: str, kind: str, payload: dict[str, Any],
        now: datetime) -> int:
    """One INSERT (no unit of work to flush): it runs before an ack."""
    return session.execute(
        insert(Job).values(team_id=team_id, kind=kind, payload=payload, attempts=0,
                           due_at=now, created_at=now).returning(Job.id)
    ).scalar_one()


def inbox_mark(session: Session, generation: str) -> int:
    """The last inbox job (bot/inbox.py) already taken in; 0 for a new inbox."""
    return session.scalar(
        select(JobInboxMark.last_id).where(JobInboxMark.generation == generation)) or 0


def take_in(session: Session, inbox: JobInbox) -> int:
    """Adds the inbox's new jobs and moves its mark past them, in one transaction, so each
    is taken in once; the number taken in."""
    mark = session.get(JobInboxMark, inbox.generation)
    if mark is None:
        mark = JobInboxMark(generation=inbox.generation, last_id=0)
        session.add(mark)
    new = inbox.after(mark.last_id)
    if not new:
        return 0
    session.execute(insert(Job), [
        {"team_id": job.team_id, "kind": job.kind, "payload": job.payload, "attempts": 0,
         "due_at": job.created_at, "created_at": job.created_at}
        for job in new
    ])
    mark.last_id = new[-1].id
    return len(new)


def claim(session: Session, *, worker: str, now: datetime, ids: Iterable[int] | None = None,
          limit: int = 20) -> list[ClaimedJob]:
    """Up to `limit` due jobs, oldest first, each claimed for CLAIM_TTL."""
    query = (
        select(Job)
        .where(Job.due_at <= now, or_(Job.claimed_until.is_(None), Job.claimed_until < now))
        .order_by(Job.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(Job.id.in_(list(ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for job in session.scalars(query):
        job.claimed_by, job.claimed_until = worker, now + CLAIM_TTL
        job.attempts += 1
        claimed.append(ClaimedJob(job.id, job.team_id, job.kind, dict(job.payload),
                                  job.attempts, worker))
    return claimed


def finish(session: Session, job: ClaimedJob) -> None:
    """Deletes the job in the transaction that does its work: once it commits, the job is
    done; if another worker took it meanwhile, raises JobTaken so this work rolls back."""
    deleted = session.execute(
        delete(Job).where(Job.id == job.id, Job.claimed_by == job.worker)
    ).rowcount
    if deleted != 1:
        raise JobTaken(f"job {job.id} was taken by another worker")


def fail(session: Session, job: ClaimedJob, error: str, now: datetime) -> None:
    """The job goes back, due again after a backoff that doubles with each attempt."""
    row = session.get(Job, job.id)
    if row is None or row.claimed_by != job.worker:
        return
    row.claimed_by, row.claimed_until = None, None
    row.last_error = error[:500]
    row.due_at = now + min(FIRST_RETRY * 2 ** (job.attempts - 1), MAX_BACKOFF)


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Job)) or 0

