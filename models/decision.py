from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, SlackId, TeamScoped, utcnow


class DecisionStatus(StrEnum):
    PLANNED = "planned"
    DECLINED = "declined"
    NEEDS_INFO = "needs_info"
    ALREADY_EXISTS = "already_exists"
    UNDER_REVIEW = "under_review"


class Decision(TeamScoped, Base):
    """Append-only: a request's current decision is its latest row."""

    __tablename__ = "decision"
    __table_args__ = (
        Index("ix_decision_request_id_decided_at", "request_id", "decided_at"),
        Index("ix_decision_team_id_decided_by", "team_id", "decided_by"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str | None] = mapped_column(Text)
    timeline: Mapped[str | None] = mapped_column(String(100))
    target_on: Mapped[date | None] = mapped_column(Date)
    revisit_at: Mapped[datetime | None] = mapped_column()
    workaround: Mapped[str | None] = mapped_column(Text)
    needed_info: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(SlackId)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reopen_conditions: Mapped[dict[str, Any] | None] = mapped_column()
