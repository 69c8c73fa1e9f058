"""Dates and periods in words ("Q3", "end of March", "March 31", "next quarter", "H2").

A period without a year is the next such period: for a target, the first one that has not
ended by `today`; for a revisit, the first one that starts after `today`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.parsing.numbers import NUMBER, number_value

MONTH_NAMES = list(calendar.month_name)[1:]
_MONTHS = {name.lower(): i for i, name in enumerate(MONTH_NAMES, 1)} | {
    name[:3].lower(): i for i, name in enumerate(MONTH_NAMES, 1)
} | {"sept": 9}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>20[0-9]{2})"
# Month names that are also everyday words count only with a preposition, day or year nearby.
_WORDLIKE = {"may", "mar", "jan", "jun", "aug", "sept", "sep", "oct", "dec", "march"}
_PREPOSITION = re.compile(
    r"(?:\b(?:in|for|by|until|till|before|after|from|of|around|during|targeting|target|eta"
    r"|revisit|since|on)|:)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    first: date
    last: date
    label: str


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    span: Span
    is_day: bool


def day_label(day: date) -> str:
    return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"


def _month_span(year: int, month: int) -> Span:
    last = calendar.monthrange(year, month)[1]
    return Span(date(year, month, 1), date(year, month, last), f"{MONTH_NAMES[month - 1]} {year}")


def _quarter_span(year: int, quarter: int) -> Span:
    first = date(year, 3 * quarter - 2, 1)
    return Span(first, _month_span(year, 3 * quarter).last, f"Q{quarter} {year}")


def _half_span(year: int, half: int) -> Span:
    return Span(date(year, 6 * half - 5, 1), _month_span(year, 6 * half).last, f"H{half} {year}")


def _year_span(year: int) -> Span:
    return Span(date(year, 1, 1), date(year, 12, 31), str(year))


def _end_of(span: Span, label: str) -> Span:
    return Span(span.last, span.last, f"end of {label}")


def _day(year: int, month: int, day: int) -> Span | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return Span(value, value, day_label(value))


def _pick(today: date, year: int | None, make: Callable[[int], Span | None],
          after: bool) -> Span | None:
    if year is not None:
        return make(year)
    for candidate in range(today.year, today.year + 9):  # as far as the next 29 February
        span = make(candidate)
        if span is not None and (span.first > today if after else span.last >= today):
            return span
    return None


def _year_of(match: re.Match[str]) -> int | None:
    raw = match.groupdict().get("year") or match.groupdict().get("yy")
    if not raw:
        return None
    return int(raw) if len(raw) == 4 else 2000 + int(raw)


def _quarter_of(today: date) -> int:
    return (today.month - 1) // 3 + 1


Handler = Callable[[re.Match[str], date, bool], Span | None]


def _iso(m: re.Match[str], today: date, after: bool) -> Span | None:
    return _day(int(m["y"]), int(m["m"]), int(m["d"]))


def _numeric(m: re.Match[str], today: date, after: bool) -> Span | None:
    first, second = int(m["a"]), int(m["b"])
    month, day = (second, first) if first > 12 else (first, second)
    return _pick(today, _year_of(m), lambda y: _day(y, month, day), after)


def _month_day(m: re.Match[str], today: date, after: bool) -> Span | None:
    month = _MONTHS[m["month"].lower()]
    return _pick(today, _year_of(m), lambda y: _day(y, month, int(m["d"])), after)


def _end_of_month(m: re.Match[str], today: date, after: bool) -> Span | None:
    month = _MONTHS[m["month"].lower()]
    name = MONTH_NAMES[month - 1]
    return _pick(today, _year_of(m), lambda y: _end_of(_month_span(y, month), f"{name} {y}"),
                 after)


def _end_of_quarter(m: re.Match[str], today: date, after: bool) -> Span | None:
    quarter = int(m["q"]) if m["q"] else _quarter_of(today)
    year = _year_of(m) if m["q"] else today.year
    return _pick(today, year, lambda y: _end_of(_quarter_span(y, quarter), f"Q{quarter} {y}"),
                 after)


def _end_of_year(m: re.Match[str], today: date, after: bool) -> Span | None:
    year = _year_of(m) or today.year
    return _end_of(_year_span(year), str(year))


def _end_of_this_month(m: re.Match[str], today: date, after: bool) -> Span | None:
    span = _month_span(today.year, today.month)
    return _end_of(span, span.label)


def _quarter(m: re.Match[str], today: date, after: bool) -> Span | None:
    return _pick(today, _year_of(m), lambda y: _quarter_span(y, int(m["q"])), after)


def _half(m: re.Match[str], today: date, after: bool) -> Span | None:
    half = 1 if m["h"].lower() in ("1", "first", "1st") else 2
    return _pick(today, _year_of(m), lambda y: _half_span(y, half), after)


def _month(m: re.Match[str], today: date, after: bool) -> Span | None:
    word = m["month"]
    context = (_PREPOSITION.search(m.string[: m.start()]) is not None or m["year"] is not None
               or (m.start() == 0 and m.end() == len(m.string)))
    if word.lower() in _WORDLIKE and not (context or (word[0].isupper() and len(word) > 3
                                                      and word.lower() != "may")):
        return None
    month = _MONTHS[word.lower()]
    return _pick(today, _year_of(m), lambda y: _month_span(y, month), after)


def _relative(m: re.Match[str], today: date, after: bool) -> Span | None:
    step = 1 if m["which"].lower() == "next" else 0
    unit = m["unit"].lower()
    if unit == "quarter":
        index = today.year * 4 + _quarter_of(today) - 1 + step
        return _quarter_span(index // 4, index % 4 + 1)
    if unit == "month":
        index = today.year * 12 + today.month - 1 + step
        return _month_span(index // 12, index % 12 + 1)
    return _year_span(today.year + step)


def _year(m: re.Match[str], today: date, after: bool) -> Span | None:
    year = int(m["year"])
    if not today.year - 1 <= year <= today.year + 10:
        return None
    whole = m.start() == 0 and m.end() == len(m.string)
    if not whole and _PREPOSITION.search(m.string[: m.start()]) is None:
        return None
    return _year_span(year)


def _in_units(m: re.Match[str], today: date, after: bool) -> Span | None:
    count = number_value(m["n"]) if m["n"] else 1
    if count is None or count > 1000:
        return None
    unit = m["unit"].lower().rstrip("s")
    if unit == "month":
        index = today.year * 12 + today.month - 1 + count
        year, month = divmod(index, 12)
        day = min(today.day, calendar.monthrange(year, month + 1)[1])
        return _day(year, month + 1, day)
    return _day_after(today, timedelta(days=count * (7 if unit == "week" else 1)))


def _day_after(today: date, delta: timedelta) -> Span:
    value = today + delta
    return Span(value, value, day_label(value))


_YY = r"(?:\s*[/-]?\s*(?:(?:FY\s*'?|')(?P<yy>[0-9]{2})\b|(?P<year>20[0-9]{2})))?"
_PATTERNS: list[tuple[re.Pattern[str], Handler, bool]] = [
    (re.compile(r"\b(?P<y>20[0-9]{2})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})\b"), _iso, True),
    (re.compile(rf"\b(?:the\s+)?end\s+of\s+(?:the\s+month\s+of\s+)?{_MONTH}(?:\s+{_YEAR})?\b",
                re.I), _end_of_month, True),
    (re.compile(rf"\b(?:the\s+)?end\s+of\s+(?:(?:the|this)\s+quarter|Q(?P<q>[1-4]){_YY})|\bEOQ\b",
                re.I), _end_of_quarter, True),
    (re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month\b|\bEOM\b", re.I),
     _end_of_this_month, True),
    (re.compile(rf"\b(?:the\s+)?end\s+of\s+(?:(?:(?:the|this)\s+)?year|{_YEAR})|\bEOY\b"
                r"|\byear[-\s]end\b", re.I), _end_of_year, True),
    (re.compile(rf"\b{_MONTH}\s+(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR}\b)?",
                re.I), _month_day, True),
    (re.compile(rf"\b(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b",
                re.I), _month_day, True),
    (re.compile(rf"\bQ(?P<q>[1-4]){_YY}(?!\w)", re.I), _quarter, False),
    (re.compile(r"\b(?P<year>20[0-9]{2})\s*[/-]?\s*Q(?P<q>[1-4])\b", re.I), _quarter, False),
    (re.compile(rf"\bH(?P<h>[12]){_YY}(?!\w)", re.I), _half, False),
    (re.compile(rf"\b(?:the\s+)?(?P<h>first|second|1st|2nd)\s+half(?:\s+of\s+{_YEAR})?\b", re.I),
     _half, False),
    (re.compile(rf"\b{_MONTH}(?:\s+{_YEAR})?\b", re.I), _month, False),
    (re.compile(r"\b(?P<which>next|this|the\s+current)\s+(?P<unit>quarter|month|year)\b", re.I),
     _relative, False),
    (re.compile(rf"\b(?:in\s+)?(?:(?P<n>{NUMBER})|an?)\s+(?P<unit>days?|weeks?|months?)\b", re.I),
     _in_units, True),
    (re.compile(r"\bnext\s+(?P<unit>week)\b(?P<n>)", re.I), _in_units, True),
    (re.compile(rf"\b{_YEAR}\b"), _year, False),
]
_NUMERIC = re.compile(
    r"(?<![0-9/])(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?:/(?P<year>20[0-9]{2}))?(?![0-9/])"
)


def find_dates(text: str, today: date, *, after: bool = False,
               numeric: bool = False) -> list[Found]:
    """Every date or period in `text`, left to right, the longest reading at each place."""
    patterns = list(_PATTERNS)
    if numeric:
        patterns.append((_NUMERIC, _numeric, True))
    found: list[Found] = []
    for pattern, handler, is_day in patterns:
        for match in pattern.finditer(text):
            span = handler(match, today, after)
            if span is not None:
                found.append(Found(match.start(), match.end(), span, is_day))
    found.sort(key=lambda f: (f.start, -f.end))
    chosen: list[Found] = []
    for item in found:
        if not chosen or item.start >= chosen[-1].end:
            chosen.append(item)
    return chosen


_LEAD = re.compile(
    r"^\s*(?:(?:timeline|target(?:ing)?|eta|planned|plan|for|in|by|around|during|before)"
    r"\b(?:\s*[:\-])?\s*)*",
    re.IGNORECASE,
)


def parse_timeline(text: str, today: date) -> tuple[str, date | None] | None:
    """A timeline field ("Q3", "end of March", "2027-05-01"): its label and target date."""
    if len(text) > 200:
        return None
    for body in (text.strip().rstrip(".!"), _LEAD.sub("", text).strip().rstrip(".!")):
        found = find_dates(body, today)
        if body and len(found) == 1 and found[0].start == 0 and found[0].end == len(body):
            span = found[0].span
            return span.label, span.last
    return None
