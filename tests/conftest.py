"""The test rig: a fresh database made by the real migrations, the Slack Web API double,
and the real bot served over HTTP (in-process on a thread, or as a `requestbot serve` process).

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a throwaway database is
created on that server for the run).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.db import Database, normalize_url, upgrade
from models import Base
from tests.harness import BotHarness, Clock, ServedBot, make_settings
from tests.slack.double import SlackDouble


@contextmanager
def throwaway_database(directory: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new database on TEST_DATABASE_URL's server."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{directory / f'requestbot-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = normalize_url(server_url)
    name = f"requestbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A second, empty database (no migrations applied) for migration and import tests."""
    with throwaway_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def db(migrated_database: Database) -> Iterator[Database]:
    """The migrated database, emptied after each test."""
    yield migrated_database
    empty_all_tables(migrated_database)


def empty_all_tables(database: Database) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables]
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def slack() -> Iterator[SlackDouble]:
    double = SlackDouble()
    double.start()
    yield double
    double.stop()
    assert double.violations == [], f"Slack would reject these calls: {double.violations}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module (or with @pytest.mark.parametrize) to change the settings."""
    return {}


@pytest.fixture
def settings(slack: SlackDouble, db: Database, settings_overrides: dict[str, object]):
    return make_settings(slack.base_url, db.url, **settings_overrides)


@pytest.fixture
def bot(settings, db: Database, slack: SlackDouble, clock: Clock) -> Iterator[BotHarness]:
    """The real app behind uvicorn on a thread; requests go over HTTP, signed like Slack's."""
    harness = BotHarness(settings, db, slack, clock)
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture
def served_bot(
    tmp_path: Path, slack: SlackDouble, db: Database, settings_overrides: dict[str, object]
) -> Iterator[ServedBot]:
    """`requestbot serve` as its own process, configured through the environment."""
    process = ServedBot(tmp_path, slack.base_url, db.url, settings_overrides)
    process.start()
    yield process
    process.stop()

