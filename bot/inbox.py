"""On SQLite, where `requestbot serve` takes jobs in before its acks: a SQLite file of its
own beside the database (`<database>-jobs`), written only by the serving process.

SQLite has one writer per file. Were the jobs in the database, each ack's INSERT would
wait for the worker process's write transactions (filing a request holds the lock for
tens of milliseconds), across processes, in SQLite's busy handler. Here the serving
process is the inbox's only writer, and the worker only reads it: the worker adds new
inbox jobs to the database's `job` table and moves a mark past them in one transaction
(bot/services/jobs.py `take_in`), and the serving process later deletes what is behind
the mark. Ids are never reused (AUTOINCREMENT), and a new inbox file gets a new
generation, so the mark never skips a job. On PostgreSQL jobs go straight to the table.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from bot.db import make_engine, normalize_url
from models.job import INBOX_METADATA, inbox_generation, inbox_job

INBOX_SUFFIX = "-jobs"
_ADD = "INSERT INTO inbox_job (team_id, kind, payload, created_at) VALUES (?, ?, ?, ?)"


@dataclass(frozen=True)
class InboxJob:
    id: int
    team_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime


class JobInbox:
    def __init__(self, path: str) -> None:
        self.path = path
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        self._writing = threading.Lock()  # this process's writers queue here, not in SQLite
        self._writer: sqlite3.Connection | None = None
        with self._writing, self.engine.begin() as connection:
            INBOX_METADATA.create_all(connection)
            generation = connection.scalar(select(inbox_generation.c.generation))
            if generation is None:
                generation = uuid.uuid4().hex
                connection.execute(insert(inbox_generation).values(generation=generation))
        self.generation: str = generation

    @staticmethod
    def path_beside(database_url: str) -> str | None:
        """The inbox file for a SQLite database file; None for PostgreSQL or in memory."""
        url = normalize_url(database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return url.database + INBOX_SUFFIX

    def add(self, team_id: str, kind: str, payload: dict[str, Any], now: datetime) -> int:
        """One INSERT on a connection kept for it: it runs before an ack, and SQLAlchemy's
        statement handling cost seven times SQLite's own work (0.39 against 0.06 ms)."""
        values = (team_id, kind, json.dumps(payload), now.astimezone(UTC).isoformat(" "))
        with self._writing:
            if self._writer is None:
                self._writer = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                               check_same_thread=False)
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._writer.execute(_ADD, values)
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            return cursor.lastrowid

    def after(self, last_id: int, limit: int = 500) -> list[InboxJob]:
        """Jobs past the mark, oldest first (a read: it never waits for the writer)."""
        with self.engine.connect().execution_options(read_only=True) as connection:
            rows = connection.execute(
                select(inbox_job).where(inbox_job.c.id > last_id)
                .order_by(inbox_job.c.id).limit(limit)
            ).all()
        return [InboxJob(row.id, row.team_id, row.kind, dict(row.payload), row.created_at)
                for row in rows]

    def forget_through(self, last_id: int) -> int:
        """Deletes jobs the worker has taken in; the number deleted."""
        with self._writing, self.engine.begin() as connection:
            return connection.execute(delete(inbox_job).where(inbox_job.c.id <= last_id)).rowcount

    def dispose(self) -> None:
        with self._writing:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()


class JobTableWriter:
    """On PostgreSQL, where `serve` stores jobs before its acks: the job table itself, one
    INSERT on a connection kept for it. Through a session and a pool checkout (with its
    liveness ping) the same INSERT cost 1.0 ms of CPU and 1.4 ms in all; here 0.1 and 0.4."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writing = threading.Lock()
        self._connection: Any = None

    def add(self, team_id: str, kind: str, payload: dict[str, Any], now: datetime) -> int:
        values = (team_id, kind, json.dumps(payload), now, now)
        with self._writing:
            try:
                try:
                    job_id = self._execute(values)
                except Exception:
                    # a kept connection that went stale (the database restarted) fails
                    # here, before anything was written: once more on a fresh one
                    self._drop_connection()
                    job_id = self._execute(values)
                self._connection.commit()
                return job_id
            except Exception:
                self._drop_connection()
                raise

    def _execute(self, values: tuple[Any, ...]) -> int:
        if self._connection is None:
            self._connection = self.engine.raw_connection()
        with self._connection.cursor() as cursor:
            cursor.execute(_ADD_JOB, values)
            return cursor.fetchone()[0]

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
        except Exception:  # noqa: BLE001 - already gone
            pass

    def dispose(self) -> None:
        with self._writing:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


_ADD_JOB = ("INSERT INTO job (team_id, kind, payload, attempts, due_at, created_at) "
            "VALUES (%s, %s, %s::jsonb, 0, %s, %s) RETURNING id")
