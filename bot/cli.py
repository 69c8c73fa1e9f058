"""The `requestbot` command: serve, db upgrade, export, import, reminders run-due."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from bot import loops
from bot.db import (
    Database,
    autovacuum_is_off,
    is_sqlite,
    normalize_url,
    schema_is_current,
    upgrade,
)
from bot.logs import configure_logging
from bot.services.scores import Scoring, catch_up, mark_other_basis_due
from bot.settings import ConfigError, Settings, load_settings

log = logging.getLogger("requestbot")


class Fatal(Exception):
    """Stops the command with one line on stderr and a non-zero exit."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:
        print(f"requestbot: {error}", file=sys.stderr)
        return 2
    except Fatal as error:
        print(f"requestbot: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="requestbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=run_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="apply the migrations to DATABASE_URL")
    db_upgrade.set_defaults(run=run_db_upgrade)

    export = commands.add_parser("export", help="write every request to stdout")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.set_defaults(run=run_export)

    importer = commands.add_parser("import", help="load a JSON export")
    importer.add_argument("file")
    importer.set_defaults(run=run_import)

    reminders = commands.add_parser("reminders", help="reminder maintenance")
    reminder_commands = reminders.add_subparsers(dest="reminders_command", required=True)
    run_due = reminder_commands.add_parser("run-due", help="send every reminder due now, once")
    run_due.set_defaults(run=run_reminders_due)
    return parser


def open_database(settings: Settings, *, migrate_sqlite: bool,
                  migrate_apart: bool = False) -> Database:
    """Opens DATABASE_URL; migrates the SQLite default itself, refuses a stale schema
    elsewhere. `migrate_apart`: in a child process, so Alembic (8 MB) is not kept by a
    long-running one."""
    database = Database(settings.database_url, scoring=Scoring.from_settings(settings))
    url = normalize_url(settings.database_url)
    where = url.render_as_string(hide_password=True)
    try:
        if schema_is_current(database):
            pass
        elif migrate_sqlite and is_sqlite(settings.database_url):
            in_memory = url.database in (None, "", ":memory:")
            if migrate_apart and not in_memory:
                _upgrade_in_a_child()
            else:
                upgrade(database)
        else:
            raise Fatal(
                f"the database schema at {where} is behind this version: "
                "run `requestbot db upgrade` first"
            )
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise Fatal(f"cannot reach the database at {where} (DATABASE_URL): {reason}") from None
    return database


def _upgrade_in_a_child() -> None:
    """`requestbot db upgrade`, run as a command of its own; its one line if it fails."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise Fatal(lines[-1].removeprefix("requestbot: ") if lines
                    else f"`requestbot db upgrade` failed (exit {done.returncode})")


AUTOVACUUM_OFF = ("PostgreSQL's autovacuum is off: its planner statistics go stale as "
                  "requests are filed, and lookups slow down. Turn autovacuum on, or run "
                  "ANALYZE on the database every hour or so")


def run_serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.require_serving()
    configure_logging(settings.log_format)
    database = open_database(settings, migrate_sqlite=True, migrate_apart=True)
    if autovacuum_is_off(database):
        log.warning(AUTOVACUUM_OFF)
    from bot.scheduling import SHORTEST_SLICE_NS, request_time_slice
    from bot.serve import serve

    request_time_slice(SHORTEST_SLICE_NS)  # before any thread starts: they inherit it
    loops.run(serve(settings, database, host=args.host, port=args.port))
    return 0


def run_db_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()
    database = Database(settings.database_url, scoring=Scoring.from_settings(settings))
    try:
        upgrade(database)
        database.transaction(mark_other_basis_due)
        scored = catch_up(database.transaction)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise Fatal(f"cannot upgrade the database (DATABASE_URL): {reason}") from None
    print("requestbot: database schema is current"
          + (f"; {scored} priority score(s) brought up to date" if scored else ""),
          file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from bot.collector import collect_as_a_batch
    from bot.services.export import write_export

    settings = load_settings()
    database = open_database(settings, migrate_sqlite=True)
    collect_as_a_batch()
    with database.read_sessions() as session:
        write_export(session, args.format, sys.stdout)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from bot.services.export import ImportError_, import_file

    settings = load_settings()
    database = open_database(settings, migrate_sqlite=True)
    try:
        report = import_file(database, args.file)
    except ImportError_ as error:
        raise Fatal(str(error)) from None
    print(
        f"requestbot: imported {report.added} request(s), {report.skipped} already present",
        file=sys.stderr,
    )
    return 0


def run_reminders_due(args: argparse.Namespace) -> int:
    from bot.runtime import run_reminders_once

    settings = load_settings()
    configure_logging(settings.log_format)
    database = open_database(settings, migrate_sqlite=True)
    sent = loops.run(run_reminders_once(settings, database))
    print(f"requestbot: sent {sent} reminder(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
