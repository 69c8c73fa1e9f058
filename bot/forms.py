"""Modal state → validated product data, with Slack's inline errors keyed by block id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ValidationError

from bot.blocks.request_modal import RequestPrefill
from bot.money import Money, format_money, parse_amount
from bot.parsing.reply import ParsedReply
from bot.parsing.request import parse_request_text
from bot.services.requests import Answers, Demand, Origin, RequestDraft
from bot.slack_ids import Field
from models import Blocker, Importance, RequestSource

TITLE_MAX = 150
TEXT_MAX = 3000
NAME_MAX = 200
MAX_CUSTOMERS = 50
MAX_COUNT = 100_000

_MRR = re.compile(r"\b(mrr|per month|a month|monthly)\b|/\s*mo(nth)?\b", re.IGNORECASE)
_ARR = re.compile(r"\b(arr|per year|a year|annual(ly)?|yearly)\b|/\s*y(ea)?r\b", re.IGNORECASE)


@dataclass
class FormResult:
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class State:
    """Reads `view.state.values` where each input's block id and action id are the same."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.values: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}

    def _element(self, name: str) -> dict[str, Any]:
        block = self.values.get(name) or {}
        element = block.get(name)
        if element is None and block:
            element = next(iter(block.values()))
        return element or {}

    def text(self, name: str) -> str | None:
        value = self._element(name).get("value")
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def option(self, name: str) -> str | None:
        option = self._element(name).get("selected_option") or {}
        return option.get("value")

    def date(self, name: str) -> str | None:
        return self._element(name).get("selected_date")

    def checked(self, name: str) -> bool:
        return bool(self._element(name).get("selected_options"))


def read_revenue(text: str) -> tuple[Money, str | None] | None:
    """An amount as people write it; MRR is turned into ARR (×12) so demand adds up."""
    amount = parse_amount(_MRR.sub(" ", _ARR.sub(" ", text)))
    if amount is None:
        return None
    if _MRR.search(text):
        return Money(amount.minor * 12, amount.currency), "arr_from_mrr"
    return amount, "arr" if _ARR.search(text) else None


def split_names(text: str | None) -> list[str]:
    if not text:
        return []
    return [p.strip() for p in re.split(r"[,;\n]| and ", text) if p.strip()]


def valid_url(text: str) -> bool:
    parsed = urlparse(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and " " not in text


def _count(state: State, errors: dict[str, str]) -> int | None:
    raw = state.text(Field.CUSTOMER_COUNT)
    if raw is None:
        return None
    try:
        count = int(raw)
    except ValueError:
        errors[Field.CUSTOMER_COUNT] = "Enter a whole number of customers."
        return None
    if count < 0:
        errors[Field.CUSTOMER_COUNT] = "The number of customers can't be negative."
    elif count > MAX_COUNT:
        errors[Field.CUSTOMER_COUNT] = f"That's more than {MAX_COUNT:,} customers: check the number."
    return count if Field.CUSTOMER_COUNT not in errors else None


def _demand(state: State, errors: dict[str, str]) -> Demand:
    demand = Demand()
    revenue_text = state.text(Field.REVENUE)
    if revenue_text is not None:
        if len(revenue_text) > 100:
            errors[Field.REVENUE] = "Keep the amount under 100 characters, e.g. $120k ARR."
        else:
            revenue = read_revenue(revenue_text)
            if revenue is None:
                errors[Field.REVENUE] = (
                    "Write the revenue as an amount, e.g. $120k, 120,000 USD, €50,000 or 50k MRR."
                )
            else:
                demand.revenue, period = revenue
                demand.revenue_period = "arr" if period == "arr_from_mrr" else period
    blocker = state.option(Field.BLOCKER)
    if blocker is not None:
        if blocker not in set(Blocker):
            errors[Field.BLOCKER] = "Choose one of the answers."
        else:
            demand.blocker = blocker
    importance = state.option(Field.IMPORTANCE)
    if importance is not None:
        if importance not in set(Importance):
            errors[Field.IMPORTANCE] = "Choose one of the answers."
        else:
            demand.importance = importance
    demand.deal_close_on = _date(state, Field.DEAL_CLOSE_ON, errors)
    demand.renewal_on = _date(state, Field.RENEWAL_ON, errors)
    amount_text = state.text(Field.DEAL_AMOUNT)
    if amount_text is not None:
        amount = parse_amount(amount_text)
        if amount is None:
            errors[Field.DEAL_AMOUNT] = "Write the deal amount as an amount, e.g. $80k."
        demand.deal_amount = amount
    crm = state.text(Field.CRM_URL)
    if crm is not None:
        if len(crm) > 500 or not valid_url(crm):
            errors[Field.CRM_URL] = "Paste a full link starting with https://"
        else:
            demand.crm_url = crm
    return demand


def _date(state: State, name: str, errors: dict[str, str]) -> date | None:
    raw = state.date(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Pick a date."
        return None


def _long_text(state: State, name: str, errors: dict[str, str], limit: int = TEXT_MAX) -> str | None:
    value = state.text(name)
    if value is not None and len(value) > limit:
        errors[name] = f"Keep this under {limit:,} characters (it has {len(value):,})."
    return value


def read_request_form(view: dict[str, Any]) -> tuple[RequestDraft | None, dict[str, str]]:
    state = State(view)
    errors: dict[str, str] = {}
    title = state.text(Field.TITLE)
    if title is None:
        errors[Field.TITLE] = "Give the request a title, e.g. “Bulk CSV export”."
    elif len(title) > TITLE_MAX:
        errors[Field.TITLE] = f"Keep the title under {TITLE_MAX} characters."
    problem = _long_text(state, Field.PROBLEM, errors)
    proposed = _long_text(state, Field.PROPOSED_SOLUTION, errors)
    customers = split_names(state.text(Field.CUSTOMERS))
    if len(customers) > MAX_CUSTOMERS or any(len(n) > NAME_MAX for n in customers):
        errors[Field.CUSTOMERS] = (
            f"Up to {MAX_CUSTOMERS} names of at most {NAME_MAX} characters, separated by commas."
        )
    count = _count(state, errors)
    demand = _demand(state, errors)
    if errors:
        return None, errors
    assert title is not None
    draft = RequestDraft(
        title=title,
        problem=problem,
        proposed_solution=proposed,
        customers=customers,
        customer_count=count,
        demand=demand,
    )
    return draft, {}


def read_answers_form(view: dict[str, Any]) -> tuple[Answers | None, dict[str, str]]:
    state = State(view)
    errors: dict[str, str] = {}
    customers = split_names(state.text(Field.CUSTOMERS))
    if len(customers) > MAX_CUSTOMERS or any(len(n) > NAME_MAX for n in customers):
        errors[Field.CUSTOMERS] = f"Up to {MAX_CUSTOMERS} names, separated by commas."
    count = _count(state, errors)
    demand = _demand(state, errors)
    if errors:
        return None, errors
    return Answers(customer_count=count, customers=customers, demand=demand), {}


M = TypeVar("M", bound=BaseModel)


class RequestModalContext(BaseModel):
    """Where the request modal was opened from, carried in the view's private_metadata."""

    source: RequestSource
    channel_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    permalink: str | None = None
    request_id: int | None = None

    def origin(self) -> Origin:
        return Origin(source=self.source, channel_id=self.channel_id, message_ts=self.message_ts,
                      thread_ts=self.thread_ts, permalink=self.permalink)


class RequestRef(BaseModel):
    request_id: int


def read_metadata(model: type[M], view: dict[str, Any]) -> M | None:
    try:
        return model.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        return None


def answers_from_reply(reply: ParsedReply) -> Answers:
    demand = Demand(
        revenue=reply.revenue,
        revenue_period="arr" if reply.revenue is not None and reply.revenue_period else None,
        blocker=reply.blocker,
        deal_close_on=reply.deal_close_on,
        renewal_on=reply.renewal_on,
        crm_url=reply.crm_url,
    )
    return Answers(customer_count=reply.customer_count, customers=list(reply.customers),
                   additional=reply.additional, demand=demand)


def prefill_from_text(text: str, *, whole_text_as_problem: bool) -> RequestPrefill:
    """What the bot could read from a message or command text; the rest stays empty."""
    parsed = parse_request_text(text)
    notes = []
    revenue_text = None
    if parsed.revenue is not None:
        revenue_text = format_money(parsed.revenue) + (" ARR" if parsed.revenue_period else "")
        if parsed.converted_from_mrr:
            notes.append(f"Monthly revenue counted as annual (×12): {revenue_text}.")
    return RequestPrefill(
        title=parsed.title,
        problem=text.strip()[:TEXT_MAX] if whole_text_as_problem else None,
        customers=list(parsed.customers),
        customer_count=parsed.customer_count,
        revenue_text=revenue_text,
        blocker=parsed.blocker,
        importance=parsed.importance,
        notes=notes,
    )


def draft_from_text(text: str) -> RequestDraft:
    """A request filed straight from a message (reaction capture): its title is what the
    parser read, else the message's first line; the whole message is the problem."""
    parsed = parse_request_text(text)
    first_line = text.strip().splitlines()[0] if text.strip() else "Feature request"
    title = (parsed.title or first_line)[:TITLE_MAX]
    demand = Demand(revenue=parsed.revenue, revenue_period=parsed.revenue_period,
                    blocker=parsed.blocker, importance=parsed.importance)
    if demand.revenue_period == "mrr":
        demand.revenue_period = "arr"  # the parser already turned MRR into ARR
    return RequestDraft(title=title, problem=text.strip()[:TEXT_MAX] or None,
                        customers=list(parsed.customers), customer_count=parsed.customer_count,
                        demand=demand)
