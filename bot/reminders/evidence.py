"""What the demand behind a request is now, and what changed since a decision's snapshot.

The snapshot is written by the decision flow when a decision is recorded
(`bot.services.decisions.evidence_snapshot`); it is read here tolerantly (counts or lists,
revenue as a currency map or a list of amounts) so that a reminder can always say what
changed, also for decisions imported from another system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.blocks.common import money
from bot.money import Money
from bot.mrkdwn import escape
from models import Request


@dataclass
class Evidence:
    customers: set[str] = field(default_factory=set)
    customer_count: int = 0
    revenue: dict[str, int] = field(default_factory=dict)
    blockers: int = 0
    threads: int = 1


def current_evidence(session: Session, request: Request) -> Evidence:
    """The demand now, counted exactly as the decision's snapshot counts it."""
    from bot.services.decisions import evidence_snapshot  # the decision flow owns the counting

    return snapshot_evidence(evidence_snapshot(session, request))


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | set):
        return len(value)
    return None


def _names(value: Any) -> set[str]:
    if not isinstance(value, list):
        return set()
    names = set()
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name:
            names.add(name)
    return names


def _revenue(value: Any, currency: Any = None) -> dict[str, int]:
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(currency, str):
        return {currency: value}
    if isinstance(value, dict):
        found = {}
        for cur, amount in value.items():
            if isinstance(amount, dict):
                amount = amount.get("minor", amount.get("amount_minor"))
            if isinstance(amount, int) and not isinstance(amount, bool):
                found[str(cur)] = amount
        return found
    if isinstance(value, list):
        found = {}
        for item in value:
            if not isinstance(item, dict) or not item.get("currency"):
                continue
            amount = next((item[k] for k in ("minor", "amount_minor", "revenue_minor")
                           if isinstance(item.get(k), int)), None)
            if amount is not None:
                found[item["currency"]] = found.get(item["currency"], 0) + amount
        return found
    return {}


def snapshot_evidence(data: dict[str, Any] | None) -> Evidence:
    """Reads a decision's `evidence` snapshot."""
    data = data or {}
    names = _names(data.get("customers")) | _names(data.get("customer_names"))
    counts = [_count(data.get(k)) for k in ("customer_count", "distinct_customers", "customers")]
    count = max([c for c in counts if c is not None] + [len(names)])
    revenue = _revenue(data.get("revenue"), data.get("currency")) or _revenue(
        data.get("revenue_minor"), data.get("currency"))
    blockers = _count(data.get("blockers")) or 0
    threads = _count(data.get("threads")) or 1
    return Evidence(customers=names, customer_count=count, revenue=revenue, blockers=blockers,
                    threads=threads)


@dataclass
class Change:
    before: Evidence
    after: Evidence

    @property
    def new_customers(self) -> list[str]:
        known = {n.casefold() for n in self.before.customers}
        return sorted(n for n in self.after.customers if n.casefold() not in known)

    def is_empty(self) -> bool:
        return not self.lines()

    def lines(self) -> list[str]:
        """What changed, one mrkdwn line each (customer names escaped)."""
        before, after = self.before, self.after
        lines = []
        added = self.new_customers
        if after.customer_count != before.customer_count or added:
            line = f"Customers: {before.customer_count} → {after.customer_count}"
            if added:
                line += " (new: " + ", ".join(escape(n) for n in added[:10]) + ")"
            lines.append(line)
        if after.revenue != before.revenue:
            lines.append(f"Revenue at stake: {_money(before.revenue)} → {_money(after.revenue)}"
                         + _growth(before.revenue, after.revenue))
        if after.blockers != before.blockers:
            lines.append(f"Deal blockers and churn risks: {before.blockers} → {after.blockers}")
        if after.threads != before.threads:
            lines.append(f"Threads asking: {before.threads} → {after.threads}")
        return lines


def _money(amounts: dict[str, int]) -> str:
    return money([Money(minor, cur) for cur, minor in sorted(amounts.items())])


def _growth(before: dict[str, int], after: dict[str, int]) -> str:
    if len(before) != 1 or set(before) != set(after) or not next(iter(before.values())):
        return ""
    cur = next(iter(before))
    percent = (after[cur] - before[cur]) * 100 // before[cur]
    return f" ({'+' if percent >= 0 else ''}{percent}%)"


def growth_level(before: int, after: int, growth: float) -> int:
    """How many times demand grew by the threshold: 1 at +50%, 2 at +125% (growth 0.5)."""
    if before <= 0 or after <= before:
        return 0
    return max(0, math.floor(math.log(after / before) / math.log(1 + growth) + 1e-9))


def reopen_triggers(change: Change, reopen: dict[str, Any] | None, growth: float) -> set[str]:
    """What about the change would reopen the decision, as stable tokens: the same growth
    yields the same tokens, so it is reported once."""
    before, after = change.before, change.after
    tokens: set[str] = set()
    for cur, amount in after.revenue.items():
        old = before.revenue.get(cur, 0)
        if old == 0 and amount > 0:
            tokens.add(f"revenue-{cur}-new")
        level = growth_level(old, amount, growth)
        if level:
            tokens.add(f"revenue-{cur}-{level}")
    if after.blockers > before.blockers:
        tokens.add(f"blocker-{after.blockers}")
    reopen = reopen or {}
    above = reopen.get("revenue_above")
    threshold = (_revenue([above]) if isinstance(above, dict)
                 else _revenue(reopen.get("revenue_minor"), reopen.get("currency")))
    for cur, amount in threshold.items():
        if after.revenue.get(cur, 0) >= amount > before.revenue.get(cur, 0):
            tokens.add(f"reopen-revenue-{cur}")
    customers = _count(reopen.get("customers", reopen.get("customer_count")))
    if customers and after.customer_count >= customers > before.customer_count:
        tokens.add("reopen-customers")
    return tokens
