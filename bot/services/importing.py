"""Reading a JSON export for `requestbot import FILE`: parse it and check every record.

The whole file is checked before the database is touched, so a bad record stops the import
with one line naming the record and field, and nothing is stored. Numbers are parsed as
Decimal, never float: money becomes integer minor units of its currency. Loading the checked
records is `bot.services.export.import_file`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

from babel.numbers import is_currency
from sqlalchemy import BigInteger, Column, SmallInteger

from bot import money
from bot.services.requests import name_key
from models import (
    Blocker,
    Customer,
    Decision,
    DecisionStatus,
    Importance,
    RepRole,
    Request,
    RequestCustomer,
    RequestRep,
    RequestSource,
    RequestStatus,
)


class ImportError_(Exception):  # the trailing underscore: `ImportError` is a builtin
    """The file cannot be imported; the message is one line naming the record and field."""


@dataclass(frozen=True)
class ImportReport:
    added: int
    skipped: int


def currency_exponent(currency: str | None) -> int:
    """bot.money's exponent (JPY 0, USD 2); an amount stored without a currency counts cents."""
    return money.currency_exponent(currency) if currency else 2


customer_name_key = name_key  # one key for customers, whether filed or imported


@dataclass
class AskRecord:
    customer: tuple[str, str | None, str | None] | None  # name, crm_id, crm_url
    row: dict[str, Any]


@dataclass
class RequestRecord:
    row: dict[str, Any]
    duplicate_of: int | None
    asks: list[AskRecord] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row["id"]


def read_records(path: str | Path) -> list[RequestRecord]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportError_(f"{path}: cannot read the file: {error}") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise ImportError_(f"{path}: not JSON: {error}") from None
    if not isinstance(data, list):
        raise ImportError_(f"{path}: not a JSON export: expected an array of requests")
    records: list[RequestRecord] = []
    seen: set[int] = set()
    for index, item in enumerate(data, start=1):
        record = _read_request(_Fields(item, f"{path}: record {index}"))
        if record.id in seen:
            raise ImportError_(f"{path}: record {index}: id {record.id} appears twice in the file")
        seen.add(record.id)
        records.append(record)
    return records


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number JSON allows")


class _Fields:
    """Reads one JSON object's fields, failing with the record and field named."""

    def __init__(self, data: object, where: str, prefix: str = "") -> None:
        if not isinstance(data, dict):
            what = f"{where}: {prefix.rstrip('.')}" if prefix else where
            raise ImportError_(f"{what}: expected an object, got {_shown(data)}")
        self.data = data
        self.where = where
        self.prefix = prefix

    def nested(self, data: object, name: str) -> _Fields:
        return _Fields(data, self.where, f"{self.prefix}{name}.")

    def fail(self, name: str, problem: str) -> NoReturn:
        raise ImportError_(f"{self.where}: {self.prefix}{name}: {problem}")

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, column: Column[Any], *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None or (required and isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "missing")
            return None
        if not isinstance(value, str):
            self.fail(name, f"expected text, got {_shown(value)}")
        limit = getattr(column.type, "length", None)
        if limit is not None and len(value) > limit:
            self.fail(name, f"longer than {limit} characters")
        return value

    def integer(
        self, name: str, column: Column[Any], *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected a whole number, got {_shown(value)}")
        bits = 16 if isinstance(column.type, SmallInteger) else 64 if isinstance(
            column.type, BigInteger
        ) else 32
        low = max(-(2 ** (bits - 1)), minimum if minimum is not None else -(2 ** (bits - 1)))
        if not low <= value < 2 ** (bits - 1):
            self.fail(name, f"out of range: {value}")
        return value

    def boolean(self, name: str, default: bool | None) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(name, f"expected true or false, got {_shown(value)}")
        return value

    def choice(self, name: str, choices: type[StrEnum], default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        allowed = [member.value for member in choices]
        if value not in allowed:
            self.fail(name, f"{_shown(value)} is not one of {', '.join(allowed)}")
        return value

    def time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "missing")
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(name, f"not an ISO 8601 time with a time zone: {_shown(value)}")
        return parsed.astimezone(UTC)

    def day(self, name: str) -> date | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            if isinstance(value, str):
                return date.fromisoformat(value)
        except ValueError:
            pass
        self.fail(name, f"not an ISO 8601 date (YYYY-MM-DD): {_shown(value)}")

    def currency(self, name: str) -> str | None:
        value = self.text(name, RequestCustomer.__table__.c.currency)
        if value is not None and not (value.isupper() and len(value) == 3 and is_currency(value)):
            self.fail(name, f"not an ISO 4217 currency code: {_shown(value)}")
        return value

    def money(self, name: str, currency: str | None) -> int | None:
        """An amount in major units (120000, 1250.5) as integer minor units of `currency`."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(name, f"expected a number, got {_shown(value)}")
        minor = Decimal(value).scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            self.fail(name, f"{value} has more decimals than {currency or 'the currency'} allows")
        if not 0 <= minor < 2**63:
            self.fail(name, f"out of range: {value}")
        return int(minor)

    def json_object(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(name, f"expected an object, got {_shown(value)}")
        return _floats(value)

    def objects(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, f"expected a list, got {_shown(value)}")
        return value


def _floats(value: Any) -> Any:
    """Free-form JSON (decision evidence) keeps its numbers as JSON numbers, not Decimals."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats(item) for item in value]
    return value


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_request(fields: _Fields) -> RequestRecord:
    c = Request.__table__.c
    request_id = fields.integer("id", c.id, required=True, minimum=1)
    fields.where += f" (id {request_id})"
    created_at = fields.time("created_at", required=True)
    requested_by = fields.text("requested_by", c.requested_by, required=True)
    if fields.has("stated_customer_count"):
        stated = fields.integer("stated_customer_count", c.customer_count, minimum=0)
    else:
        stated = fields.integer("customer_count", c.customer_count, minimum=0)
    duplicate_of = fields.integer("duplicate_of", c.duplicate_of_id, minimum=1)
    if duplicate_of == request_id:
        fields.fail("duplicate_of", "a request cannot be a duplicate of itself")
    row = {
        "id": request_id,
        "team_id": fields.text("team_id", c.team_id, required=True),
        "title": fields.text("title", c.title, required=True),
        "problem": fields.text("description", c.problem),
        "proposed_solution": fields.text("proposed_solution", c.proposed_solution),
        "status": fields.choice("status", RequestStatus, RequestStatus.NEW),
        "source": fields.choice("source", RequestSource, RequestSource.IMPORT),
        "requested_by": requested_by,
        "channel_id": fields.text("channel_id", c.channel_id),
        "message_ts": fields.text("message_ts", c.message_ts),
        "thread_ts": fields.text("thread_ts", c.thread_ts),
        "card_channel_id": fields.text("card_channel_id", c.card_channel_id),
        "card_ts": fields.text("card_ts", c.card_ts),
        "permalink": fields.text("permalink", c.permalink),
        "duplicate_of_id": None,
        "customer_count": stated,
        "effort": fields.text("effort", c.effort),
        "effort_weeks": fields.integer("effort_weeks", c.effort_weeks, minimum=0),
        "strategic_fit": fields.integer("strategic_fit", c.strategic_fit),
        "similarity_vector": None,
        "follow_up_ts": fields.text("follow_up_ts", c.follow_up_ts),
        "follow_up_asked_at": fields.time("follow_up_asked_at"),
        "follow_up_answered_at": fields.time("follow_up_answered_at"),
        "reminders_stopped": fields.boolean("reminders_stopped", False),
        "created_at": created_at,
        "updated_at": fields.time("updated_at") or created_at,
    }
    record = RequestRecord(row=row, duplicate_of=duplicate_of)
    if fields.has("asks"):
        items = fields.objects("asks")
        record.asks = [_read_ask(fields.nested(a, f"asks[{i}]"), row) for i, a in enumerate(items)]
    else:
        record.asks = _asks_from_summary(fields, row)
    _check_one_ask_per_customer(fields, record.asks)
    if fields.has("reps"):
        items = fields.objects("reps")
        record.reps = [_read_rep(fields.nested(r, f"reps[{i}]"), row) for i, r in enumerate(items)]
    else:
        record.reps = [_requester(row)]
    if len({rep["user_id"] for rep in record.reps}) != len(record.reps):
        fields.fail("reps", "the same user appears twice")
    if fields.has("decisions"):  # the whole history, oldest first
        history = [(f"decisions[{i}]", d) for i, d in enumerate(fields.objects("decisions"))]
    else:
        current = fields.raw("decision")
        history = [("decision", current)] if current is not None else []
    record.decisions = [_read_decision(fields.nested(d, where), row) for where, d in history]
    return record


def _read_ask(fields: _Fields, request: dict[str, Any]) -> AskRecord:
    c = RequestCustomer.__table__.c
    customers = Customer.__table__.c
    name = fields.text("customer", customers.name)
    currency = fields.currency("currency")
    created_at = fields.time("created_at") or request["created_at"]
    customer = None
    if name is not None:
        if not name.strip():
            fields.fail("customer", "an empty name (use null for demand not yet named)")
        customer = (
            name,
            fields.text("customer_crm_id", customers.crm_id),
            fields.text("customer_crm_url", customers.crm_url),
        )
    row = {
        "team_id": request["team_id"],
        "request_id": request["id"],
        "revenue_minor": fields.money("revenue", currency),
        "currency": currency,
        "revenue_period": fields.text("revenue_period", c.revenue_period),
        "importance": fields.choice("importance", Importance),
        "blocker": fields.choice("blocker", Blocker),
        "deal_close_on": fields.day("deal_close_on"),
        "deal_amount_minor": fields.money("deal_amount", currency),
        "renewal_on": fields.day("renewal_on"),
        "crm_url": fields.text("crm_url", c.crm_url),
        "added_by": fields.text("added_by", c.added_by) or request["requested_by"],
        "created_at": created_at,
        "updated_at": fields.time("updated_at") or created_at,
    }
    return AskRecord(customer=customer, row=row)


def _asks_from_summary(fields: _Fields, request: dict[str, Any]) -> list[AskRecord]:
    """A hand-made file without `asks`: the demand comes from customers/revenue/blocker.

    With one named customer the revenue and blocker are that customer's; with several they
    stay on one unnamed ask, since the file does not say whose they are.
    """
    names = fields.objects("customers")
    currency = fields.currency("currency")
    blocker = fields.boolean("blocker", None)
    fields.money("revenue", currency)
    summary = {
        "revenue": fields.raw("revenue"),
        "currency": currency,
        "blocker": None if blocker is None else Blocker.DEAL_BLOCKER if blocker else Blocker.NONE,
    }
    has_demand = summary["revenue"] is not None or blocker is not None
    entries: list[tuple[str, dict[str, Any]]] = []
    for index, name in enumerate(names):
        if not isinstance(name, str):
            fields.fail(f"customers[{index}]", f"expected a name, got {_shown(name)}")
        entries.append((f"customers[{index}]", {"customer": name}))
    if len(entries) == 1:
        entries[0][1].update(summary)
    elif has_demand:
        entries.append(("customers", dict(summary, customer=None)))
    return [_read_ask(fields.nested(data, where), request) for where, data in entries]


def _check_one_ask_per_customer(fields: _Fields, asks: list[AskRecord]) -> None:
    keys = [customer_name_key(ask.customer[0]) for ask in asks if ask.customer]
    for key in keys:
        if keys.count(key) > 1:
            fields.fail("asks", f"the customer {_shown(key)} appears twice")


def _read_rep(fields: _Fields, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": request["team_id"],
        "request_id": request["id"],
        "user_id": fields.text("user_id", RequestRep.__table__.c.user_id, required=True),
        "role": fields.choice("role", RepRole, RepRole.SUPPORTER),
        "created_at": fields.time("created_at") or request["created_at"],
    }


def _requester(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": request["team_id"],
        "request_id": request["id"],
        "user_id": request["requested_by"],
        "role": RepRole.REQUESTER,
        "created_at": request["created_at"],
    }


def _read_decision(fields: _Fields, request: dict[str, Any]) -> dict[str, Any]:
    c = Decision.__table__.c
    status = fields.choice("status", DecisionStatus)
    if status is None:
        fields.fail("status", "missing")
    return {
        "team_id": request["team_id"],
        "request_id": request["id"],
        "status": status,
        "rationale": fields.text("rationale", c.rationale),
        "timeline": fields.text("timeline", c.timeline),
        "target_on": fields.day("target_on"),
        "revisit_at": fields.time("revisit_at"),
        "workaround": fields.text("workaround", c.workaround),
        "needed_info": fields.text("needed_info", c.needed_info),
        "reply_text": fields.text("reply_text", c.reply_text),
        "decided_by": fields.text("decided_by", c.decided_by, required=True),
        "decided_at": fields.time("decided_at", required=True),
        "evidence": fields.json_object("evidence") or {},
        "reopen_conditions": fields.json_object("reopen_conditions"),
    }
