from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, SlackId, SlackTs, TeamScoped, utcnow


class RequestStatus(StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    DECLINED = "declined"
    NEEDS_INFO = "needs_info"
    ALREADY_EXISTS = "already_exists"
    MERGED = "merged"


class RequestSource(StrEnum):
    COMMAND = "command"
    SHORTCUT = "shortcut"
    REACTION = "reaction"
    IMPORT = "import"


class Blocker(StrEnum):
    DEAL_BLOCKER = "deal_blocker"
    CHURN_RISK = "churn_risk"
    NONE = "none"
    UNKNOWN = "unknown"


class Importance(StrEnum):
    NICE_TO_HAVE = "nice_to_have"
    IMPORTANT = "important"
    MUST_HAVE = "must_have"
    DEAL_BLOCKER = "deal_blocker"


class RepRole(StrEnum):
    REQUESTER = "requester"
    SUPPORTER = "supporter"


_MERGED_SOMEWHERE = text("duplicate_of_id IS NOT NULL")


class Request(TeamScoped, Base):
    __tablename__ = "request"
    __table_args__ = (
        Index("ix_request_team_id_status", "team_id", "status"),
        Index("ix_request_team_id_requested_by", "team_id", "requested_by"),
        Index("ix_request_team_id_channel_id_thread_ts", "team_id", "channel_id", "thread_ts"),
        # only requests merged into another: one NULL key for nearly every row misled
        # SQLite's planner once the table had statistics (migration 0006)
        Index("ix_request_duplicate_of_id", "duplicate_of_id",
              sqlite_where=_MERGED_SOMEWHERE, postgresql_where=_MERGED_SOMEWHERE),
        UniqueConstraint("team_id", "source_channel_id", "message_ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str | None] = mapped_column(Text)
    proposed_solution: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.NEW)
    source: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(SlackId)
    # The message the request was filed from (shortcut, reaction): filed once.
    source_channel_id: Mapped[str | None] = mapped_column(SlackId)
    message_ts: Mapped[str | None] = mapped_column(SlackTs)
    # The request's thread: where follow-ups and decisions are posted.
    channel_id: Mapped[str | None] = mapped_column(SlackId)
    thread_ts: Mapped[str | None] = mapped_column(SlackTs)
    card_channel_id: Mapped[str | None] = mapped_column(SlackId)
    card_ts: Mapped[str | None] = mapped_column(SlackTs)
    permalink: Mapped[str | None] = mapped_column(String(500))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="SET NULL")
    )
    customer_count: Mapped[int | None] = mapped_column()
    effort: Mapped[str | None] = mapped_column(String(8))
    effort_weeks: Mapped[int | None] = mapped_column()
    strategic_fit: Mapped[int | None] = mapped_column(SmallInteger)
    similarity_vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    follow_up_ts: Mapped[str | None] = mapped_column(SlackTs)
    follow_up_asked_at: Mapped[datetime | None] = mapped_column()
    follow_up_answered_at: Mapped[datetime | None] = mapped_column()
    reminders_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Customer(TeamScoped, Base):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("team_id", "name_key"),
        Index("ix_customer_team_id_ask_count", "team_id", "ask_count"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    crm_id: Mapped[str | None] = mapped_column(String(100))
    crm_url: Mapped[str | None] = mapped_column(String(500))
    # How many requests name this customer, kept by bot.services.scores (the home's filter).
    ask_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestCustomer(TeamScoped, Base):
    """One customer's stake in a request; customer_id is empty for demand not yet named."""

    __tablename__ = "request_customer"
    __table_args__ = (UniqueConstraint("request_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="RESTRICT"), index=True
    )
    revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    revenue_period: Mapped[str | None] = mapped_column(String(10))
    importance: Mapped[str | None] = mapped_column(String(20))
    blocker: Mapped[str | None] = mapped_column(String(20))
    deal_close_on: Mapped[date | None] = mapped_column(Date, index=True)
    deal_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    renewal_on: Mapped[date | None] = mapped_column(Date)
    crm_url: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[str] = mapped_column(SlackId)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RequestRep(TeamScoped, Base):
    """A rep behind a request: the requester and everyone who added to it."""

    __tablename__ = "request_rep"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(SlackId, index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestMatchKey(TeamScoped, Base):
    """Indexed keys that narrow the similar-request lookup before scoring."""

    __tablename__ = "request_match_key"
    __table_args__ = (
        UniqueConstraint("request_id", "key"),
        # holds request_id: a lookup reads a key's newest rows from the index alone
        Index("ix_request_match_key_team_id_key", "team_id", "key", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
