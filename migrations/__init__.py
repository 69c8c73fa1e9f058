"""Alembic migrations (versions/).

HEAD is the newest revision, so that `serve` can tell a current schema from a stale one
without importing Alembic (about 11 MB it would keep for its whole life);
tests/foundation/test_migrations.py checks it against Alembic's own head."""

HEAD = "0008"
