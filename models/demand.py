from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TeamScoped


class RequestDemand(TeamScoped, Base):
    """A canonical request's demand with its merged duplicates', kept current in the
    transactions that change it, with the priority score, so the triage queue is one index
    range scan however many requests there are (`bot.services.scores` keeps it)."""

    __tablename__ = "request_demand"
    __table_args__ = (
        Index("ix_request_demand_queue_score", "team_id", "queue", "score", "request_id"),
        Index("ix_request_demand_team_id_score", "team_id", "score", "request_id"),
    )

    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), primary_key=True
    )
    # The request's place in the triage queue: undecided, planned, declined or closed.
    queue: Mapped[str] = mapped_column(String(20))
    customers: Mapped[int] = mapped_column(default=0)
    stated_customers: Mapped[int | None] = mapped_column()
    blockers: Mapped[int] = mapped_column(default=0)
    reps: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=1)
    first_ask: Mapped[datetime | None] = mapped_column()
    latest_ask: Mapped[datetime | None] = mapped_column()
    # [[currency, minor units], ...] in currency order: per currency, as it was asked.
    revenue: Mapped[list[Any]] = mapped_column(default=list)
    # In the base currency with the rates of `basis`, at par without a rate: the score's.
    revenue_base_minor: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[datetime] = mapped_column()
    # When the score's recency part next changes, or the rates or weights did.
    rescore_at: Mapped[datetime | None] = mapped_column(index=True)
    # A digest of the weights and rates the score was computed with.
    basis: Mapped[str] = mapped_column(String(16))
