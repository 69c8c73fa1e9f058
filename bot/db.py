"""Engine, sessions and migrations. Services take a Session; listeners run them in a thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

import migrations
from bot.services.scores import Scoring, keep_current

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKGROUND_THREADS = 4
MIGRATIONS_DIR = Path(migrations.__file__).parent


def _name_of(work: Callable[..., object]) -> str:
    """A name for the log, never the arguments' repr (a batch of whole messages)."""
    while isinstance(work, partial):
        work = work.func
    return getattr(work, "__qualname__", type(work).__name__)


def normalize_url(database_url: str) -> URL:
    """Plain `postgresql://` URLs use psycopg 3, the driver we ship."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite(database_url: str) -> bool:
    return normalize_url(database_url).get_backend_name() == "sqlite"


def make_engine(database_url: str, **kwargs: object) -> Engine:
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """SQLite has one writer: taking the write lock at BEGIN avoids upgrade deadlocks.
    Read-only work (exports, the home tab) begins deferred and never blocks writers."""
    if connection.get_execution_options().get("read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


SLOW_TRANSACTION_SECONDS = 0.1
"""A write transaction held longer makes acks that store something wait (on SQLite, all
of them): logged, so it can be found."""


class Database:
    """The engine and session factory one process shares."""

    def __init__(self, database_url: str, scoring: Scoring | None = None,
                 **engine_kwargs: object) -> None:
        self.url = database_url
        self.engine = make_engine(database_url, **engine_kwargs)
        self.sessions = make_session_factory(self.engine)
        self.use_scoring(scoring or Scoring())
        self.read_sessions = make_session_factory(self.engine.execution_options(read_only=True))
        self._background_pool: ThreadPoolExecutor | None = None
        # SQLite has one writer. Threads that wait for it in SQLite's busy handler sleep
        # (1, 2, 5 … 25 ms, then 50 and 100) and miss the moment it is free; here they
        # queue for it, so a process's writes follow each other at once and another
        # process (the serving one, the worker) competes with one of them at a time
        self._one_writer = threading.Lock() if self.dialect == "sqlite" else nullcontext()

    def use_scoring(self, scoring: Scoring) -> None:
        """The weights, rates and clock the stored priority scores are computed with."""
        keep_current(self.sessions, scoring)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def transaction(self, work: Callable[[Session], T]) -> T:
        with self._one_writer:
            started = time.perf_counter()
            try:
                with self.sessions.begin() as session:
                    return work(session)
            finally:
                held = time.perf_counter() - started
                if held > SLOW_TRANSACTION_SECONDS:
                    log.warning("slow transaction", extra={
                        "work": _name_of(work),
                        "ms": round(held * 1000, 1)})

    def read(self, work: Callable[[Session], T]) -> T:
        with self.read_sessions() as session:
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Runs `work` in one transaction on a worker thread, off the event loop."""
        return await asyncio.to_thread(self.transaction, work)

    async def run_background(self, work: Callable[[Session], T]) -> T:
        """`run` on threads of its own, for work nobody waits on (sending posts, sweeps),
        so however much of it there is, a request's ack never waits for a free thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._background, self.transaction, work)

    async def run_read(self, work: Callable[[Session], T]) -> T:
        """Read-only work nobody's ack waits on, on the background threads; on SQLite it
        never takes the write lock."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._background, self.read, work)

    def analyze(self, tables: tuple[str, ...]) -> None:
        """Fresh planner statistics after a bulk load (PostgreSQL; SQLite plans without)."""
        if self.dialect != "postgresql":
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(text("ANALYZE " + ", ".join(f'"{t}"' for t in tables)))
        except Exception:  # noqa: BLE001 - the data is in; autovacuum analyses it later
            log.warning("could not analyse the tables after a bulk load", exc_info=True)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def _background(self) -> ThreadPoolExecutor:
        if self._background_pool is None:
            self._background_pool = ThreadPoolExecutor(BACKGROUND_THREADS,
                                                       "requestbot-background")
        return self._background_pool

    def dispose(self) -> None:
        if self._background_pool is not None:
            self._background_pool.shutdown(wait=False)
            self._background_pool = None
        self.engine.dispose()


# Alembic is imported only where it is used: the serving process never needs it unless
# it migrates the SQLite default itself (see migrations/__init__.py).
def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", normalize_url(database_url).render_as_string(hide_password=False)
    )
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(database: Database, revision: str = "base") -> None:
    from alembic import command

    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database: Database) -> str | None:
    """The revision recorded in the database (Alembic's one-row table), or None."""
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def autovacuum_is_off(database: Database) -> bool:
    """PostgreSQL plans each query by statistics that autovacuum keeps fresh; without it,
    they describe the tables as they were when last analysed, and queries planned for a
    few rows slow down as requests are filed."""
    if database.dialect != "postgresql":
        return False
    with database.engine.connect() as connection:
        return connection.exec_driver_sql("SHOW autovacuum").scalar() == "off"


def schema_is_current(database: Database) -> bool:
    return current_revision(database) == migrations.HEAD
