from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, SlackId, TeamScoped, utcnow


class ReminderKind(StrEnum):
    REVISIT = "revisit"
    NEW_EVIDENCE = "new_evidence"
    STALE = "stale"
    FOLLOW_UP = "follow_up"
    DEAL_CLOSE = "deal_close"
    DIGEST = "digest"
    INFO_ARRIVED = "info_arrived"


class DeliveryState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reminder(TeamScoped, Base):
    """A durable reminder; a sweep claims due rows before sending and marks them sent after."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_state_due_at", "state", "due_at"),
        Index("ix_reminder_state_claimed_at", "state", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"))
    recipient: Mapped[str | None] = mapped_column(SlackId)
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(12), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
