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

Either way the jobs of acks that arrive together are stored in one transaction
(`JobStore.store`): one commit, and one flush to disk, for the lot.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, select

from bot.db import make_engine, normalize_url
from models.job import INBOX_METADATA, inbox_generation, inbox_job

if TYPE_CHECKING:
    import psycopg

INBOX_SUFFIX = "-jobs"
BATCH_LIMIT = 200

Row = tuple[str, str, str, datetime]  # team_id, kind, payload as JSON, created_at


@dataclass(frozen=True)
class InboxJob:
    id: int
    team_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime


class JobStore(ABC):
    """Where the serving process stores jobs before its acks, from its event loop.

    A store that finds no write going starts one; stores that come while it is going are
    written together by the next, in one transaction: acks arriving together share one
    commit and one flush to disk rather than queue behind each other's. No thread: on one
    core, handing each job to a writer thread and back cost two context switches, 0.1 ms
    of CPU and 0.15 ms of an event's ack."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Row, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, team_id: str, kind: str, payload: dict[str, Any],
                    now: datetime) -> int:
        stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(((team_id, kind, json.dumps(payload), now), stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await stored

    async def _write_waiting(self) -> None:
        """A task of its own: an ack cancelled meanwhile leaves its job stored all the same."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH_LIMIT], self._waiting[BATCH_LIMIT:]
            try:
                ids: list[int] | Exception = await self._write([row for row, _ in batch])
            except Exception as error:  # noqa: BLE001 - every ack in the batch answers with it
                ids = error
            for n, (_, stored) in enumerate(batch):
                if stored.done():  # its ack was cancelled
                    continue
                if isinstance(ids, Exception):
                    stored.set_exception(ids)
                else:
                    stored.set_result(ids[n])

    @abstractmethod
    async def _write(self, rows: Sequence[Row]) -> list[int]:
        """Stores the rows in one transaction; their ids."""

    async def close(self) -> None:
        """Waits for the write going; the subclass then closes the connection it kept."""
        if self._writer is not None:
            await self._writer


class JobInbox(JobStore):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        self._connection: sqlite3.Connection | None = None  # the serving process's, for writing
        with self.engine.begin() as connection:
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

    async def _write(self, rows: Sequence[Row]) -> list[int]:
        """On the event loop itself, never awaiting: SQLite has no asynchronous interface, a
        commit here (its flush to disk included) takes 0.1-0.2 ms, and every write to the
        inbox is this process's, one after another, so none waits for a lock."""
        with self._transaction() as writer:
            return [writer.execute(_ADD, (team_id, kind, payload,
                                          created_at.astimezone(UTC).isoformat(" "))).lastrowid
                    for team_id, kind, payload, created_at in rows]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """On a sqlite3 connection kept for writing: SQLAlchemy's statement handling cost
        seven times SQLite's own work (0.39 against 0.06 ms of CPU per job)."""
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
            self._connection.execute("COMMIT")
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise

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
        """Deletes jobs the worker has taken in; the number deleted. On the serving
        process's event loop, like its other writes."""
        with self._transaction() as writer:
            return writer.execute(_FORGET, (last_id,)).rowcount

    async def close(self) -> None:
        await super().close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


_ADD = "INSERT INTO inbox_job (team_id, kind, payload, created_at) VALUES (?, ?, ?, ?)"
_FORGET = "DELETE FROM inbox_job WHERE id <= ?"


class JobTableWriter(JobStore):
    """On PostgreSQL, where `serve` stores jobs before its acks: the job table itself, on an
    asynchronous psycopg connection kept for it, in autocommit: one job is one INSERT, one
    round trip to the server (a thread, a pool checkout with its liveness ping and a COMMIT
    of its own had cost 0.4-1.4 ms)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def _write(self, rows: Sequence[Row]) -> list[int]:
        try:
            return await self._insert(rows)
        except Exception:
            if self._connection is None or not self._connection.broken:
                raise
            # a kept connection gone stale (the database restarted): once more on a fresh one
            self._connection = None
            return await self._insert(rows)

    async def _insert(self, rows: Sequence[Row]) -> list[int]:
        if self._connection is None:
            import psycopg  # here: SQLite's serving process never loads it

            args, params = self.engine.dialect.create_connect_args(self.engine.url)
            self._connection = await psycopg.AsyncConnection.connect(*args, **params,
                                                                     autocommit=True)
        values = [(team_id, kind, payload, created_at, created_at)
                  for team_id, kind, payload, created_at in rows]
        async with self._connection.cursor() as cursor:
            if len(values) == 1:
                await cursor.execute(_ADD_JOB, values[0])
                return [(await cursor.fetchone())[0]]
            async with self._connection.transaction():
                await cursor.executemany(_ADD_JOB, values, returning=True)
                ids = [(await cursor.fetchone())[0]]
                while cursor.nextset():
                    ids.append((await cursor.fetchone())[0])
                return ids

    async def close(self) -> None:
        await super().close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


_ADD_JOB = ("INSERT INTO job (team_id, kind, payload, attempts, due_at, created_at) "
            "VALUES (%s, %s, %s::jsonb, 0, %s, %s) RETURNING id")
