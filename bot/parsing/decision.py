"""A decider's decision in words: "@requestbot planned for Q3: fits the platform theme"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.parsing.dates import find_dates
from bot.parsing.slack_text import plain

DecisionStatus = Literal["planned", "declined", "needs_info", "already_exists", "under_review"]

_STATUSES: list[tuple[DecisionStatus, str]] = [
    ("declined", r"not\s+planned|declined?|rejected|reject|won'?t\s+(?:do|build|fix)(?:\s+(?:it|this))?"
                 r"|will\s+not\s+(?:do|build)(?:\s+(?:it|this))?|no[-\s]go|passing|pass"),
    ("needs_info", r"needs?\s+(?:more\s+)?info(?:rmation)?|more\s+info(?:rmation)?\s+needed"
                   r"|needs?\s+more\s+(?:details|context)|needs_info"),
    ("already_exists", r"already\s+(?:exists|possible|supported|available|built|shipped)"
                       r"|exists\s+already|already_exists|exists"),
    ("under_review", r"under[\s_]review|in\s+review|reviewing|looking\s+into\s+(?:it|this)"
                     r"|investigating|triaging"),
    ("planned", r"planned|scheduled|approved|accepted|committed|on\s+the\s+roadmap|roadmapped"),
]
_STATUS = re.compile(
    r"^\s*(?:@\S+\s+)?(?:(?:decision|status)\s*[:=-]?\s*|(?:mark(?:ing)?|set)\s+(?:it\s+|this\s+)?"
    r"(?:as\s+|to\s+)?|(?:it'?s|this\s+is)\s+)?(?:"
    + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _STATUSES)
    + r")(?=$|[\s:,.!;\-–—])",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r":|\s[-–—]\s|,|\.\s|\b(?:because|since)\b", re.IGNORECASE)
_REVISIT = re.compile(
    r"[,;.]?\s*(?:and\s+)?(?:(?:let'?s|we'?ll|we\s+will|will|to)\s+)?(?:re-?visit|re-?evaluate"
    r"|reconsider|check\s+back|look\s+again|review\s+again|come\s+back\s+to\s+(?:it|this))"
    r"(?:\s+(?:it|this))?\s*(?:(?:in|on|at|by|after|around|from|:)\s*)?(?:the\s+)?",
    re.IGNORECASE,
)
_HEAD_LEAD = re.compile(r"^\s*(?:for|in|by|around|targeting|target|eta|during)?\s*[:\-]?\s*",
                        re.IGNORECASE)


@dataclass(frozen=True)
class ParsedDecision:
    status: DecisionStatus | None = None
    rationale: str | None = None
    timeline: str | None = None
    target_on: date | None = None
    revisit_on: date | None = None


def parse_decision_text(text: str, today: date) -> ParsedDecision:
    """The status word comes first; a bare quarter or month is the next one to come, and a
    revisit ("revisit in March") is the first day of the next such period after today."""
    body = plain(text).text.strip()
    match = _STATUS.match(body)
    if match is None:
        return ParsedDecision()
    status = next(name for name, _ in _STATUSES if match[name])
    rest = body[match.end() :]
    revisit_on, rest = _revisit(rest, today)
    head, rationale = _split(_HEAD_LEAD.sub("", rest, count=1), today)
    timeline, target_on = _timeline(head, today)
    if head and timeline is None:
        if status == "planned":
            timeline = head  # "planned for next sprint": kept as the decider wrote it
        else:
            rationale = f"{head} {rationale}"
    return ParsedDecision(
        status=status,
        rationale=_clean(rationale),
        timeline=timeline,
        target_on=target_on,
        revisit_on=revisit_on,
    )


def _split(rest: str, today: date) -> tuple[str, str]:
    """The timeline part before the rationale: a date first, else what comes before ':'."""
    found = find_dates(rest, today)
    if found and found[0].start == 0 and _SEPARATOR.match(rest.strip(), 0) is None:
        return rest[: found[0].end], rest[found[0].end :]
    separator = _SEPARATOR.search(rest)
    if separator is None:
        return rest.strip(" ."), ""
    return rest[: separator.start()].strip(" ."), rest[separator.end() :]


def _timeline(head: str, today: date) -> tuple[str | None, date | None]:
    found = find_dates(head, today)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(head):
        return found[0].span.label, found[0].span.last
    return None, None


def _revisit(text: str, today: date) -> tuple[date | None, str]:
    for match in _REVISIT.finditer(text):
        found = find_dates(text[match.end() : match.end() + 40], today, after=True, numeric=True)
        if found and found[0].start == 0:
            end = match.end() + found[0].end
            return found[0].span.first, text[: match.start()] + text[end:]
    return None, text


def _clean(text: str) -> str | None:
    text = " ".join(text.split()).strip(" ,;:-–—")
    return text or None
