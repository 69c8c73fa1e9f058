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

Either way the jobs of acks that arrive together are stored by one thread in one
transaction (`JobStore.store`): one commit, and one flush to disk, for the lot.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from bot.db import make_engine, normalize_url
from models.job import INBOX_METADATA, inbox_generation, inbox_job

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
    """Where the serving process stores jobs before its acks.

    `store` hands the job to one writer thread, which stores every job waiting by then in
    one transaction. An INSERT and commit of its own per ack, each waiting for the one
    before, had acks queue behind each other's flushes to disk at concurrency 8 and 32."""

    def __init__(self) -> None:
        self._writing = threading.Lock()
        self._waiting: queue.SimpleQueue[tuple[Row, asyncio.AbstractEventLoop,
                                               asyncio.Future[int]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: Any = None  # kept for writing, by the subclass

    async def store(self, team_id: str, kind: str, payload: dict[str, Any],
                    now: datetime) -> int:
        row = (team_id, kind, json.dumps(payload), now)
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[int] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_batches, daemon=True,
                                            name="requestbot-job-store")
            self._thread.start()
        self._waiting.put((row, loop, stored))
        return await stored

    def add(self, team_id: str, kind: str, payload: dict[str, Any], now: datetime) -> int:
        """`store`, from a thread, alone."""
        with self._writing:
            return self._write([(team_id, kind, json.dumps(payload), now)])[0]

    def _write_batches(self) -> None:
        while (first := self._waiting.get()) is not None:
            batch = [first]
            while len(batch) < BATCH_LIMIT:
                try:
                    waiting = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    self._waiting.put(None)  # stop after this batch
                    break
                batch.append(waiting)
            try:
                with self._writing:
                    ids: list[int] | BaseException = self._write([row for row, _, _ in batch])
            except Exception as error:  # noqa: BLE001 - every ack in the batch answers with it
                ids = error
            for n, (_, loop, stored) in enumerate(batch):
                outcome = ids if isinstance(ids, BaseException) else ids[n]
                try:
                    loop.call_soon_threadsafe(_settle, stored, outcome)
                except RuntimeError:  # its event loop has closed: nobody waits for it
                    pass

    @abstractmethod
    def _write(self, rows: Sequence[Row]) -> list[int]:
        """Stores the rows in one transaction; their ids."""

    def dispose(self) -> None:
        """Stops the writer thread and closes the connection kept for writing."""
        if self._thread is not None:
            self._waiting.put(None)
            self._thread.join(5)
            self._thread = None
        with self._writing:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _settle(stored: asyncio.Future[int], outcome: int | BaseException) -> None:
    if stored.done():  # the ack was cancelled meanwhile: its job is stored all the same
        return
    if isinstance(outcome, BaseException):
        stored.set_exception(outcome)
    else:
        stored.set_result(outcome)


class JobInbox(JobStore):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.engine: Engine = make_engine(f"sqlite:///{path}")
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

    def _write(self, rows: Sequence[Row]) -> list[int]:
        """On a sqlite3 connection kept for it: SQLAlchemy's statement handling cost seven
        times SQLite's own work (0.39 against 0.06 ms of CPU per job)."""
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                               check_same_thread=False)
        writer: sqlite3.Connection = self._connection
        writer.execute("BEGIN IMMEDIATE")
        try:
            ids = [writer.execute(_ADD, (team_id, kind, payload,
                                               created_at.astimezone(UTC).isoformat(" "))
                                        ).lastrowid
                   for team_id, kind, payload, created_at in rows]
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        return ids

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
        super().dispose()
        self.engine.dispose()


_ADD = "INSERT INTO inbox_job (team_id, kind, payload, created_at) VALUES (?, ?, ?, ?)"


class JobTableWriter(JobStore):
    """On PostgreSQL, where `serve` stores jobs before its acks: the job table itself, on a
    connection kept for it. Through a session and a pool checkout (with its liveness ping)
    one INSERT cost 1.0 ms of CPU and 1.4 ms in all; here 0.1 and 0.4."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def _write(self, rows: Sequence[Row]) -> list[int]:
        try:
            try:
                ids = [self._execute(row) for row in rows[:1]]
            except Exception:
                # a kept connection that went stale (the database restarted) fails here,
                # before anything was written: once more on a fresh one
                self._drop_connection()
                ids = [self._execute(row) for row in rows[:1]]
            ids += [self._execute(row) for row in rows[1:]]
            self._connection.commit()
            return ids
        except Exception:
            self._drop_connection()
            raise

    def _execute(self, row: Row) -> int:
        if self._connection is None:
            self._connection = self.engine.raw_connection()
        team_id, kind, payload, created_at = row
        with self._connection.cursor() as cursor:
            cursor.execute(_ADD_JOB, (team_id, kind, payload, created_at, created_at))
            return cursor.fetchone()[0]

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
        except Exception:  # noqa: BLE001 - already gone
            pass



_ADD_JOB = ("INSERT INTO job (team_id, kind, payload, attempts, due_at, created_at) "
            "VALUES (%s, %s, %s::jsonb, 0, %s, %s) RETURNING id")
