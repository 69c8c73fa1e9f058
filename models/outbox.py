from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, TeamScoped, utcnow
from models.reminder import DeliveryState


class OutboxMessage(TeamScoped, Base):
    """A Web API call owed to Slack, written in the same transaction as the data it describes.

    `thread_of_request_id` defers the thread: the call goes to that request's thread,
    read when it is sent, so a reply queued before the card was posted still lands there.
    `conversation` is the channel, DM or App Home it was queued for, so a claim can take
    each conversation's share of a backlog without building the rest (a card may still
    land elsewhere, e.g. by DM when the bot is not in the channel).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_message_state_claimed_at", "state", "claimed_at"),
        # a user's pending App Home refresh is found without reading past other backlogs
        Index("ix_outbox_message_team_id_conversation_state", "team_id", "conversation",
              "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    thread_of_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(60))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversation: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
