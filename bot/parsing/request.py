"""A request as a rep types it after `/request` or in a message filed as a request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.money import Money
from bot.parsing.facts import (
    BlockerValue,
    ImportanceValue,
    RevenuePeriod,
    read_facts,
)
from bot.parsing.slack_text import plain

TITLE_MAX = 150

_CONNECTORS = (
    r"for|from|and|with|to|of|by|at|in|on|the|a|an|about|re|also|plus|but|so|it'?s|it\s+is"
    r"|which\s+is|is|are|we\s+have|there\s+are|across|asked|asking|needs?|wants?"
)
# A connector counts as a word of its own: "on" of "sign-on" and "re" of "re-enable" stay
_IN_A_WORD = r"[\w'\-]"
_TRAILING = re.compile(rf"(?:[\s,;:.\-–—!?(~&+/]|(?<!{_IN_A_WORD})(?:{_CONNECTORS})\b)+$",
                       re.IGNORECASE)
_LEADING = re.compile(
    rf"^(?:[\s,;:.\-–—!?)~&+/]|\b(?:and|also|plus|but|so|with|re|fyi)(?!{_IN_A_WORD}))+",
    re.IGNORECASE
)
_GREETING = re.compile(r"^(?:hi|hey|hello|yo|fyi|heads\s+up)\b(?:\s+[\w'-]+)?[!.]*$", re.IGNORECASE)
_EMPTY_PIECE = re.compile(rf"^(?:\s|\b(?:{_CONNECTORS})\b|[~()&+/\-–—])*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedRequest:
    title: str | None = None
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    revenue: Money | None = None
    revenue_period: RevenuePeriod | None = None
    converted_from_mrr: bool = False
    blocker: BlockerValue | None = None
    importance: ImportanceValue | None = None


def parse_request_text(text: str) -> ParsedRequest:
    """What the text says; `revenue` is annual when MRR was given (×12, `converted_from_mrr`)."""
    body = plain(text).text.strip()
    facts = read_facts(body)
    first_line = body.split("\n", 1)[0]
    return ParsedRequest(
        title=title_from(first_line, facts.spans),
        customers=facts.customers,
        customer_count=facts.customer_count,
        revenue=facts.revenue,
        revenue_period=facts.revenue_period,
        converted_from_mrr=facts.converted_from_mrr,
        blocker=facts.blocker,
        importance=facts.importance,
    )


def title_from(line: str, spans: list[tuple[int, int]]) -> str | None:
    """The words of `line` that no fact explains, keeping the clauses they were typed in."""
    chars = list(line)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = "\x00"
    pieces = re.split(r"[,;\x00]+|\s+[-–—]\s+|\.\s+", "".join(chars))
    kept = [p.strip() for p in pieces if not _EMPTY_PIECE.match(p)]
    if kept and _GREETING.match(kept[0]):
        kept = kept[1:]
    title = ", ".join(" ".join(p.split()) for p in kept)
    title = _strip_trailing(_LEADING.sub("", title)).replace("()", "").strip()
    if not title or not any(c.isalnum() for c in title):
        return None
    if chars[:1] == ["\x00"] and title.split()[0].islower():
        title = title[0].upper() + title[1:]
    return _cap(title)


def _strip_trailing(title: str) -> str:
    """Connectors left at the end ("SSO for"); searched near the end only, to stay linear."""
    while match := _TRAILING.search(title, max(0, len(title) - 60)):
        if match.start() == 0 or match.start() == len(title):
            return title[: match.start()]
        title = title[: match.start()]
    return title


def _cap(title: str) -> str:
    if len(title) <= TITLE_MAX:
        return title
    cut = title[: TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"
