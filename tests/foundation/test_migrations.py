from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import migrations
import models
from bot.db import Database, current_revision, downgrade, head_revision, schema_is_current, upgrade


def test_migrations_round_trip_from_base_to_head_and_back(empty_database_url):
    database = Database(empty_database_url)
    try:
        assert current_revision(database) is None
        assert not schema_is_current(database)
        upgrade(database)
        assert current_revision(database) == head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert set(models.Base.metadata.tables) <= tables
        downgrade(database, "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database)
        assert schema_is_current(database)
    finally:
        database.dispose()


def test_the_head_serve_checks_for_is_alembics_head():
    assert migrations.HEAD == head_revision()


def test_models_and_migrations_agree(migrated_database):
    with migrated_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, models.Base.metadata) == []
