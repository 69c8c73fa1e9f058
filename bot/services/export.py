"""`requestbot export` and `requestbot import`: every request as JSON or CSV, and back.

`write_export` streams: requests are read by keyset pagination (id order, CHUNK at a time)
with one query per chunk each for asks, reps and decisions, and each record is written as
soon as it is built, so memory stays flat however many requests there are. `import_file`
loads a file checked by `bot.services.importing` in one transaction.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.services.importing import (
    ImportError_,
    ImportReport,
    RequestRecord,
    currency_exponent,
    customer_name_key,
    read_records,
)
from bot.services.scores import touch
from models import (
    Blocker,
    Customer,
    Decision,
    Request,
    RequestCustomer,
    RequestMatchKey,
    RequestRep,
)

__all__ = ["ImportError_", "ImportReport", "import_file", "write_export"]

CHUNK = 1000
DECISION_FIELDS = (
    "status", "rationale", "timeline", "target_on", "decided_by", "decided_at", "revisit_at",
    "workaround", "needed_info", "reply_text", "evidence", "reopen_conditions",
)
CSV_FIELDS = (
    "id", "team_id", "title", "description", "proposed_solution", "status", "source",
    "customers", "customer_count", "stated_customer_count", "revenue", "currency",
    "revenue_by_currency", "blocker", "requested_by", "channel_id", "thread_ts", "message_ts",
    "card_channel_id", "card_ts", "permalink", "duplicate_of", "effort", "effort_weeks",
    "strategic_fit", "reminders_stopped", "created_at", "updated_at",
)
CSV_DECISION_FIELDS = DECISION_FIELDS[:-2]  # evidence and reopen conditions are JSON only
CSV_COLUMNS = (*CSV_FIELDS, *(f"decision_{name}" for name in CSV_DECISION_FIELDS))
_CUSTOMERS = CSV_FIELDS.index("customers")
_BY_CURRENCY = CSV_FIELDS.index("revenue_by_currency")
_CSV_PLAIN_FIELDS = tuple(  # the two lists above are joined in place of a plain cell
    "id" if name in ("customers", "revenue_by_currency") else name for name in CSV_FIELDS)
_NO_DECISION = ("",) * len(CSV_DECISION_FIELDS)
_AS_IS = frozenset({str, int, type(None)})  # csv.writer writes these as _cell would

_request = Request.__table__
_ask = RequestCustomer.__table__
_customer = Customer.__table__
_rep = RequestRep.__table__
_decision = Decision.__table__
_REQUEST_COLUMNS = [column for column in _request.c if column.name != "similarity_vector"]
_CSV_REQUEST_COLUMNS = [column for column in _REQUEST_COLUMNS
                        if column.name not in ("follow_up_asked_at", "follow_up_answered_at")]
_BLOCKING = {Blocker.DEAL_BLOCKER.value, Blocker.CHURN_RISK.value}


def write_export(session: Session, fmt: Literal["json", "csv"], out: TextIO) -> int:
    """Writes every request of every workspace to `out`; returns how many."""
    if fmt not in ("json", "csv"):
        raise ValueError(f"unknown export format {fmt!r}")
    _read_one_snapshot(session)
    writer = _JsonWriter(out) if fmt == "json" else _CsvWriter(out)
    count = 0
    for record in iter_export_records(session, detailed=fmt == "json"):
        writer.write(record)
        count += 1
    writer.finish()
    return count


def iter_export_records(session: Session, chunk_size: int = CHUNK, detailed: bool = True
                        ) -> Iterator[dict[str, Any]]:
    """Each request's record; `detailed` adds each ask, rep and decision (JSON has them,
    CSV only their sums and the latest decision)."""
    # CSV reads fewer columns: each datetime and JSON value read costs a conversion
    request_columns = _REQUEST_COLUMNS if detailed else _CSV_REQUEST_COLUMNS
    ask_columns = [_ask, _customer.c.crm_id.label("customer_crm_id"),
                   _customer.c.crm_url.label("customer_crm_url")] if detailed else [
        _ask.c.request_id, _ask.c.revenue_minor, _ask.c.currency, _ask.c.blocker]
    decision_columns = [_decision] if detailed else [
        _decision.c.request_id, *(_decision.c[name] for name in CSV_DECISION_FIELDS)]
    after: int | None = None
    while True:
        query = select(*request_columns).order_by(_request.c.id).limit(chunk_size)
        if after is not None:
            query = query.where(_request.c.id > after)
        rows = session.execute(query).all()
        if not rows:
            return
        ids = [row.id for row in rows]
        # the chunk is every request with an id in (after, last]: a range, not 1,000
        # parameters (which psycopg re-parses for every query)
        chunk = (0 if after is None else after + 1, ids[-1])
        asks = _by_request(session.execute(
            select(*ask_columns, _customer.c.name.label("customer"))
            .select_from(_ask.outerjoin(_customer, _ask.c.customer_id == _customer.c.id))
            .where(_ask.c.request_id.between(*chunk))
            .order_by(_ask.c.request_id, _ask.c.created_at, _ask.c.id)
        ).all())
        reps = _by_request(session.execute(
            select(_rep).where(_rep.c.request_id.between(*chunk))
            .order_by(_rep.c.request_id, _rep.c.created_at, _rep.c.id)
        ).all()) if detailed else {}
        decisions = _by_request(session.execute(
            select(*decision_columns).where(_decision.c.request_id.between(*chunk))
            .order_by(_decision.c.request_id, _decision.c.decided_at, _decision.c.id)
        ).all())
        for row in rows:
            yield _record(row, asks.get(row.id, []), reps.get(row.id, []),
                          decisions.get(row.id, []), detailed)
        if len(rows) < chunk_size:
            return
        after = ids[-1]


def _read_one_snapshot(session: Session) -> None:
    """On PostgreSQL every chunk reads the same snapshot, even while the bot keeps writing."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _by_request(rows: Iterable[Row[Any]]) -> dict[int, list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        grouped[row.request_id].append(row)
    return grouped


def _record(
    row: Row[Any], asks: Sequence[Row[Any]], reps: Sequence[Row[Any]],
    decisions: Sequence[Row[Any]], detailed: bool = True,
) -> dict[str, Any]:
    named = [ask.customer for ask in asks if ask.customer is not None]
    totals = revenue_by_currency(asks)
    currency = next(iter(totals), None)
    history = [_decision_record(decision, DECISION_FIELDS if detailed else CSV_DECISION_FIELDS)
               for decision in (decisions if detailed else decisions[-1:])]
    record = {
        "id": row.id,
        "team_id": row.team_id,
        "title": row.title,
        "description": row.problem,
        "proposed_solution": row.proposed_solution,
        "status": row.status,
        "source": row.source,
        "customers": named,
        "customer_count": row.customer_count if row.customer_count is not None else len(named) or None,
        "stated_customer_count": row.customer_count,
        "revenue": totals[currency] if currency else None,
        "currency": currency,
        "revenue_by_currency": totals,
        "blocker": _blocker(asks),
        "requested_by": row.requested_by,
        "channel_id": row.channel_id,
        "thread_ts": row.thread_ts,
        "message_ts": row.message_ts,
        "card_channel_id": row.card_channel_id,
        "card_ts": row.card_ts,
        "permalink": row.permalink,
        "duplicate_of": row.duplicate_of_id,
        "effort": row.effort,
        "effort_weeks": row.effort_weeks,
        "strategic_fit": row.strategic_fit,
        "reminders_stopped": row.reminders_stopped,
        "follow_up_ts": row.follow_up_ts,
        "follow_up_asked_at": _iso(row.follow_up_asked_at) if detailed else None,
        "follow_up_answered_at": _iso(row.follow_up_answered_at) if detailed else None,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "decision": history[-1] if history else None,
    }
    if detailed:
        record["asks"] = [_ask_record(ask) for ask in asks]
        record["reps"] = [
            {"user_id": rep.user_id, "role": rep.role, "created_at": _iso(rep.created_at)}
            for rep in reps
        ]
        record["decisions"] = history
    return record


def revenue_by_currency(asks: Iterable[Any]) -> dict[str, Decimal]:
    """Total revenue per currency in major units, largest first (the request's main currency)."""
    totals: dict[str, int] = defaultdict(int)
    for ask in asks:
        if ask.revenue_minor is not None and ask.currency:
            totals[ask.currency] += ask.revenue_minor
    major = {code: to_major(minor, code) for code, minor in totals.items()}
    return dict(sorted(major.items(), key=lambda item: (-item[1], item[0])))


def to_major(minor: int, currency: str | None) -> Decimal:
    return Decimal(minor).scaleb(-currency_exponent(currency))


def _blocker(asks: Sequence[Row[Any]]) -> bool | None:
    said = {ask.blocker for ask in asks}
    if said & _BLOCKING:
        return True
    return False if Blocker.NONE.value in said else None


def _ask_record(ask: Row[Any]) -> dict[str, Any]:
    return {
        "customer": ask.customer,
        "customer_crm_id": ask.customer_crm_id,
        "customer_crm_url": ask.customer_crm_url,
        "revenue": None if ask.revenue_minor is None else to_major(ask.revenue_minor, ask.currency),
        "currency": ask.currency,
        "revenue_period": ask.revenue_period,
        "importance": ask.importance,
        "blocker": ask.blocker,
        "deal_close_on": _iso(ask.deal_close_on),
        "deal_amount": (
            None if ask.deal_amount_minor is None
            else to_major(ask.deal_amount_minor, ask.currency)
        ),
        "renewal_on": _iso(ask.renewal_on),
        "crm_url": ask.crm_url,
        "added_by": ask.added_by,
        "created_at": _iso(ask.created_at),
        "updated_at": _iso(ask.updated_at),
    }


def _decision_record(decision: Row[Any], fields: Sequence[str] = DECISION_FIELDS
                     ) -> dict[str, Any]:
    values = {name: getattr(decision, name) for name in fields}
    for name in ("target_on", "decided_at", "revisit_at"):
        values[name] = _iso(values[name])
    return values


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _number(value: Decimal) -> str:
    """120000, not 120000.00 or 1.2E+5; 1250.5, not 1250.50."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _json(value: Any) -> str:
    """JSON text, with Decimal money written as an exact JSON number and text as typed."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, dict):
        items = (f"{encode_basestring(str(key))}: {_json(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    return json.dumps(value)  # a float in free-form decision evidence


class _JsonWriter:
    """One array, one request object per line, written as it comes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.separator = "\n"
        out.write("[")

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(self.separator + _json(record))
        self.separator = ",\n"

    def finish(self) -> None:
        self.out.write("]\n" if self.separator == "\n" else "\n]\n")


class _CsvWriter:
    """A row is a list in CSV_COLUMNS order (csv.writer: DictWriter's mapping of each row
    back to a list was a seventh of an export's time)."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, record: dict[str, Any]) -> None:
        row = _cells(map(record.__getitem__, _CSV_PLAIN_FIELDS))
        row[_CUSTOMERS] = "; ".join(record["customers"])
        row[_BY_CURRENCY] = "; ".join(
            f"{code} {_number(amount)}" for code, amount in record["revenue_by_currency"].items()
        )
        decision = record["decision"]
        if decision is None:
            row.extend(_NO_DECISION)
        else:
            row.extend(_cells(map(decision.__getitem__, CSV_DECISION_FIELDS)))
        self.writer.writerow(row)

    def finish(self) -> None:
        pass


def _cells(values: Iterable[Any]) -> list[Any]:
    """A row's cells: what csv.writer writes as `_cell` would goes as it is (a call per
    cell, 4 million in an export of 100,000, was a measurable part of it)."""
    return [value if type(value) in _AS_IS else _cell(value) for value in values]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    return str(value)


def import_file(database: Database, path: str | Path) -> ImportReport:
    """Loads a JSON export in one transaction: all of it, or nothing if anything is wrong."""
    records = read_records(path)
    try:
        report = database.transaction(lambda session: load_records(session, records, str(path)))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ImportError_(f"{path}: the database refused the import: {reason}") from None
    if report.added:
        database.analyze(IMPORTED_TABLES)
    return report


IMPORTED_TABLES = ("request", "request_customer", "request_rep", "decision", "customer",
                   "request_match_key", "request_demand")
"""Analysed after an import on PostgreSQL: a database that grew by thousands of rows at
once would otherwise be planned as the small one it was (a similar-request lookup on 1,000
requests took 150 ms through a nested loop) until autovacuum got round to it."""


def load_records(session: Session, records: Sequence[RequestRecord], source: str) -> ImportReport:
    """Inserts the requests whose ids are not in the database yet, with the same ids and times."""
    existing = _existing_ids(session, [record.id for record in records])
    new = [record for record in records if record.id not in existing]
    if new:
        _check_duplicate_links(session, records, new, source)
        _advance_request_ids(session, max(record.id for record in new))
        customer_ids = _customer_ids(session, new)
        connection = session.connection()
        connection.execute(insert(_request), [record.row for record in new])
        asks = [
            dict(ask.row, customer_id=ask.customer and customer_ids[
                (record.row["team_id"], customer_name_key(ask.customer[0]))
            ])
            for record in new
            for ask in record.asks
        ]
        for table, rows in (
            (_ask, asks),
            (_rep, [rep for record in new for rep in record.reps]),
            (_decision, [decision for record in new for decision in record.decisions]),
        ):
            if rows:
                connection.execute(insert(table), rows)
        _link_duplicates(session, new)
        _index(session, [record.id for record in new], list(customer_ids.values()))
    return ImportReport(added=len(new), skipped=len(existing))


def _index(session: Session, request_ids: list[int], customer_ids: list[int]) -> None:
    """What filing a request stores beside its rows, which bulk inserts skip: match keys for
    the similar-request lookup, and (before the commit) demand totals and scores. Written
    with statements, so the imported `updated_at` stays as it was."""
    from bot.services.similar import match_key_rows, matcher_for

    matcher = matcher_for("lexical")
    for start in range(0, len(request_ids), CHUNK):
        chunk = request_ids[start : start + CHUNK]
        keys = []
        for rid, team_id, title, problem in session.execute(
                select(_request.c.id, _request.c.team_id, _request.c.title, _request.c.problem)
                .where(_request.c.id.in_(chunk))).all():
            session.execute(update(_request).where(_request.c.id == rid).values(
                similarity_vector=matcher.vector(title, problem),
                updated_at=_request.c.updated_at))
            keys += match_key_rows(matcher, team_id, rid, title, problem)
        if keys:
            session.execute(insert(RequestMatchKey.__table__), keys)
    touch(session, request_ids, customer_ids)


def _existing_ids(session: Session, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(session.scalars(select(_request.c.id).where(_request.c.id.in_(chunk))))
    return found


def _check_duplicate_links(
    session: Session, records: Sequence[RequestRecord], new: Sequence[RequestRecord], source: str
) -> None:
    in_file = {record.id for record in records}
    outside = {r.duplicate_of for r in new if r.duplicate_of and r.duplicate_of not in in_file}
    missing = outside - _existing_ids(session, sorted(outside))
    for record in new:
        if record.duplicate_of in missing:
            raise ImportError_(
                f"{source}: request {record.id}: duplicate_of: no request {record.duplicate_of} "
                "in the file or the database"
            )


def _advance_request_ids(session: Session, top: int) -> None:
    """Moves PostgreSQL's id sequence past the imported ids, before inserting them.

    setval is not transactional: the ids stay reserved even if the import rolls back, so
    a request the bot files meanwhile never takes one of them.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY takes max(id) + 1 by itself
    session.execute(
        text(
            "SELECT setval(seq, GREATEST(:top, COALESCE(pg_sequence_last_value(seq), 0),"
            " (SELECT COALESCE(MAX(id), 0) FROM request)))"
            " FROM (SELECT pg_get_serial_sequence('request', 'id')::regclass AS seq) AS s"
        ),
        {"top": top},
    )


def _customer_ids(session: Session, new: Sequence[RequestRecord]) -> dict[tuple[str, str], int]:
    """Customers by (team, name key), creating those the database does not know yet."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for record in new:
        for ask in record.asks:
            if ask.customer is None:
                continue
            name, crm_id, crm_url = ask.customer
            key = (record.row["team_id"], customer_name_key(name))
            first_seen = ask.row["created_at"]
            if key not in wanted or first_seen < wanted[key]["created_at"]:
                wanted[key] = {
                    "team_id": key[0], "name": " ".join(name.split()), "name_key": key[1],
                    "crm_id": crm_id, "crm_url": crm_url, "created_at": first_seen,
                }
    found: dict[tuple[str, str], int] = {}
    by_team: dict[str, list[str]] = defaultdict(list)
    for team_id, name_key in wanted:
        by_team[team_id].append(name_key)
    for team_id, keys in by_team.items():
        for start in range(0, len(keys), CHUNK):
            rows = session.execute(
                select(_customer.c.id, _customer.c.name_key).where(
                    _customer.c.team_id == team_id,
                    _customer.c.name_key.in_(keys[start : start + CHUNK]),
                )
            )
            found.update({(team_id, row.name_key): row.id for row in rows})
    missing = [values for key, values in wanted.items() if key not in found]
    if missing:
        returning = insert(_customer).returning(
            _customer.c.id, _customer.c.team_id, _customer.c.name_key
        )
        rows = session.connection().execute(returning, missing)
        found.update({(row.team_id, row.name_key): row.id for row in rows})
    return found


def _link_duplicates(session: Session, new: Sequence[RequestRecord]) -> None:
    """Set after every request exists: a duplicate may point to one later in the file."""
    links = [
        {"request": r.id, "target": r.duplicate_of, "updated": r.row["updated_at"]}
        for r in new
        if r.duplicate_of is not None
    ]
    if links:
        session.connection().execute(
            update(_request)
            .where(_request.c.id == bindparam("request"))
            .values(duplicate_of_id=bindparam("target"), updated_at=bindparam("updated")),
            links,
        )
