"""Who owns the data: deleting a request (with an audit entry) and forgetting a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.services.requests import get_request
from bot.services.scores import touch
from models import (
    Activity,
    Base,
    DeliveryState,
    OutboxMessage,
    Reminder,
    Request,
    RequestCustomer,
)


@dataclass(frozen=True)
class DeletedRequest:
    request_id: int
    title: str
    card_channel_id: str | None
    card_ts: str | None


def delete_request(session: Session, team_id: str, request_id: int, actor_id: str,
                   now: datetime) -> DeletedRequest:
    """Deletes a request and everything hanging off it (the database cascades: customers'
    stakes, reps, decisions, reminders, owed posts); the audit entry stays, keeping the id
    and title, with its request_id set to null. Raises RequestNotFound across workspaces."""
    request = get_request(session, team_id, request_id)
    gone = DeletedRequest(request.id, request.title, request.card_channel_id, request.card_ts)
    session.add(Activity(team_id=team_id, request_id=None, actor_id=actor_id, action="deleted",
                         created_at=now,
                         detail={"request_id": request.id, "title": request.title,
                                 "status": request.status, "requested_by": request.requested_by}))
    session.expunge(request)
    # the database's cascade deletes its stakes: its canonical's totals and its customers'
    # counts change without the session seeing it
    customers = session.scalars(select(RequestCustomer.customer_id).where(
        RequestCustomer.request_id == request.id, RequestCustomer.customer_id.is_not(None)))
    touch(session, filter(None, [request.duplicate_of_id]), list(customers))
    session.execute(delete(Request).where(Request.team_id == team_id, Request.id == request_id))
    return gone


def stop_posting(session: Session, team_id: str) -> int:
    """Cancels what is still owed to a workspace that can no longer be posted to."""
    owed = (DeliveryState.PENDING, DeliveryState.CLAIMED)
    cancelled = session.execute(
        update(OutboxMessage).where(OutboxMessage.team_id == team_id,
                                    OutboxMessage.state.in_(owed))
        .values(state=DeliveryState.CANCELLED)
    ).rowcount
    session.execute(
        update(Reminder).where(Reminder.team_id == team_id, Reminder.state.in_(owed))
        .values(state=DeliveryState.CANCELLED)
    )
    return cancelled or 0


def forget_workspace(session: Session, team_id: str) -> None:
    """Deletes every row a workspace owns (REQUESTBOT_ON_UNINSTALL=delete)."""
    for table in reversed(Base.metadata.sorted_tables):
        if "team_id" in table.c:
            session.execute(delete(table).where(table.c.team_id == team_id))
