from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, TeamScoped, UTCDateTime, utcnow


class Job(TeamScoped, Base):
    """Work a listener took in before its ack and left for after it (filing a submitted
    request, storing a rep's answer). Written before the ack, so nothing acknowledged is
    lost; deleted in the transaction that does the work, so it is done once."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobInboxMark(Base):
    """How far the worker has taken jobs in from an inbox file (SQLite, bot/inbox.py):
    moved in the transaction that adds those jobs here, so none is taken in twice."""

    __tablename__ = "job_inbox_mark"

    generation: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)


INBOX_METADATA = MetaData()
"""The inbox file's own tables: not in the database, so not in its migrations."""

inbox_job = Table(
    "inbox_job", INBOX_METADATA,
    Column("id", Integer, primary_key=True),
    Column("team_id", String(32), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # AUTOINCREMENT: an id is never used again once rows are deleted, so the mark holds
    sqlite_autoincrement=True,
)

inbox_generation = Table(
    "inbox_generation", INBOX_METADATA,
    Column("generation", String(32), primary_key=True),
)
