"""The facts a rep states in words: revenue, how many customers, blocker, importance, names.

Every reader records the span it understood, so a request's title is what is left over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.money import AmountMatch, Money, find_amounts
from bot.parsing.customers import find_customers, unique
from bot.parsing.numbers import NUMBER, number_value

RevenuePeriod = Literal["arr", "mrr", "one_time"]
BlockerValue = Literal["deal_blocker", "churn_risk", "none", "unknown"]
ImportanceValue = Literal["nice_to_have", "important", "must_have", "deal_blocker"]

_ARR = r"ARR|ACV|a\s+year|per\s+year|per\s+annum|/\s*y(?:ea)?r|annual(?:ly)?|yearly"
_MRR = r"MRR|a\s+month|per\s+month|/\s*mo(?:nth)?|monthly"
_ONE_TIME = r"one[-\s]?time|one[-\s]?off|upfront"
_PERIOD_AFTER = re.compile(
    rf"\s*(?:(?:in|of)\s+)?(?:(?P<arr>{_ARR})|(?P<mrr>{_MRR})|(?P<one_time>{_ONE_TIME}))(?!\w)",
    re.IGNORECASE,
)
_CONTEXT_AFTER = re.compile(
    r"\s*(?:(?:in|of)\s+)?(?:revenue|pipeline|at\s+stake|potential)\b(?:\s+at\s+stake\b)?",
    re.IGNORECASE,
)
_FILLER = r"(?:about|around|roughly|approx(?:imately|\.)?|~|≈|almost|nearly|over|up\s+to|at\s+least)"
_CONTEXT_BEFORE = re.compile(
    rf"(?:(?P<arr>ARR|ACV|annual(?:\s+revenue)?)|(?P<mrr>MRR|monthly(?:\s+revenue)?)"
    rf"|(?P<one_time>one[-\s]?time)|revenue|pipeline|worth|deal\s+(?:size|value)"
    rf"|contract\s+value|valued\s+at)\s*(?:of|is|at|[:=~-])?\s*(?:{_FILLER}\s*)?$",
    re.IGNORECASE,
)
_LEAD_FILLER = re.compile(rf"(?:\b{_FILLER}|[~≈])\s*$", re.IGNORECASE)
_CLAUSE_START = ",;:(\n\x00"
_CLAUSE_LEFT = re.compile(rf"\s*(?:(?:and|with|plus|also|{_FILLER})\b\s*)*", re.IGNORECASE)
_CLAUSE_RIGHT = re.compile(r"\s*(?:$|[,;)\n\x00]|\.(?:\s|$))")

_COUNT_NOUN = (
    r"(?:customers?|accounts?|clients?|logos?|companies|company|orgs?|organi[sz]ations?"
    r"|prospects?|tenants?)"
)
_COUNT_ADJ = (
    r"(?:enterprise|large|big|paying|existing|key|strategic|different|major|potential"
    r"|prospective|mid-market|smb|current|active|separate|unique|named)"
)
_COUNT = re.compile(
    rf"(?<![\w$€£.,/#-])(?P<n>{NUMBER})\s+(?:of\s+(?:our|their|the|my|your)\s+)?"
    rf"(?:{_COUNT_ADJ}\s+){{0,2}}{_COUNT_NOUN}\b(?!-)"
    r"(?:\s+(?:(?:are|have\s+been|have|keep)\s+)?(?:asking|asked|want(?:s|ing)?|need(?:s|ing)?"
    r"|requested|requesting|affected|impacted|interested|waiting))?",
    re.IGNORECASE,
)
_COUNT_LABEL = re.compile(
    rf"\b(?:customer\s+count|#\s*(?:of\s+)?customers|number\s+of\s+(?:customers|accounts)"
    rf"|customers|accounts|clients)\s*[:=]\s*(?P<n>{NUMBER})(?![\w.,])",
    re.IGNORECASE,
)
_NOT_A_COUNT = re.compile(r"\b(?:top|first|last|per|every|each|the)\s+$", re.IGNORECASE)

_IT_IS = r"(?:(?:and\s+|but\s+)?(?:it'?s|it\s+is|this\s+is|that'?s|which\s+is|is)\s+)"
_BLOCK_WORD = r"(?:deal[-\s]?blocker|deal[-\s]?breaker|blocker|show[-\s]?stopper)"
_DEAL = (
    r"(?:deal|renewal|sale|contract|expansion|upsell|purchase|signature|signing|close|closing"
    r"|opportunity|opp|POC|pilot|rollout|go-live|procurement|security\s+review|migration)s?"
)
_OBJECT = rf"(?:\s+(?:for|on)?\s*(?:the|our|their|a|an|this|[\w&'.-]+(?:'s)?)?\s*){{0,3}}{_DEAL}\b"
# Each blocker pattern matches from the start of a word only ("adblocker" and "unblocking
# the deal" are not about a blocker).
_BLOCKER_NONE = re.compile(
    rf"\b(?:{_IT_IS}?(?:not|no|never|isn'?t|aren'?t)\s+(?:a\s+|an\s+)?(?:real\s+|hard\s+)?"
    rf"(?:{_BLOCK_WORD}|blocking)s?\b(?:{_OBJECT})?"
    rf"|\bnon[-\s]?block(?:er|ing)\b|\b(?:doesn'?t|does\s+not|won'?t|will\s+not|didn'?t)\s+block"
    rf"\b(?:{_OBJECT}|\s+(?:anything|us|them))?|\bnothing\s+(?:is\s+)?block(?:ed|ing)\b"
    rf"|\bblocker\s*[:=]\s*(?:no|none|n)\b)",
    re.IGNORECASE,
)
_BLOCKER_UNKNOWN = re.compile(
    rf"\b(?:not\s+sure|unsure|unclear|unknown|maybe|might\s+be|could\s+be|possibly|potentially"
    rf"|tbd|tbc)\s+(?:if\s+|whether\s+)?(?:it'?s\s+|it\s+is\s+|this\s+is\s+)?(?:a\s+|an\s+)?"
    rf"(?:{_BLOCK_WORD}|blocking)\b(?:{_OBJECT})?|\bblocker\s*(?:\?|[:=]\s*(?:unknown|tbd|\?))",
    re.IGNORECASE,
)
_BLOCKER_YES = re.compile(
    rf"\b(?:{_IT_IS}?(?:a\s+|an\s+)?(?:real\s+|hard\s+|big\s+|total\s+)?{_BLOCK_WORD}s?\b(?:{_OBJECT})?"
    rf"|{_IT_IS}?(?:(?:would|will|could|might|does|do)\s+block|blocking|blocks)\b(?:{_OBJECT})"
    rf"|{_IT_IS}blocking\b(?=\s*(?:$|[,;.!)\n]))"
    rf"|\b{_DEAL}\s+(?:is\s+|are\s+)?blocked\b)",
    re.IGNORECASE,
)
_CHURN = re.compile(
    r"\bchurn(?:ing|ed)?\b(?:\s+risk\b)?|\bat\s+risk\s+of\s+(?:churn(?:ing)?|leaving|cancell?ing)\b"
    r"|\bthreaten(?:ing|s|ed)?\s+to\s+(?:leave|cancel|churn|walk)\b",
    re.IGNORECASE,
)
# Every match of the three blocker patterns holds one of these words and starts at most
# _LEAD_IN_WORDS words before it ("and it is not a real deal blocker": seven). Each is searched
# from there: tried at every position of a whole text, their optional lead-ins made them the
# parser's slowest part (60 of the 160 microseconds a command's text took to read).
_BLOCKER_ANCHORS = ("block", "breaker", "stopper")
_BLOCKER_ANCHOR = re.compile("|".join(_BLOCKER_ANCHORS), re.IGNORECASE)
_LEAD_IN_WORDS = 8
_RENEWAL = re.compile(r"\b(?:renew\w*|churn\w*|cancel\w*|retention)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[.;!?\n]")

_IMPORTANCE: list[tuple[ImportanceValue, re.Pattern[str]]] = [
    ("nice_to_have", re.compile(
        r"\bnice[-\s]to[-\s]have\b|\bwould\s+be\s+(?:really\s+)?nice\b|\blow[-\s]priority\b"
        r"|\bnot\s+(?:that\s+|very\s+|super\s+)?(?:important|urgent)\b", re.IGNORECASE)),
    ("must_have", re.compile(r"\bmust[-\s]have\b|\bhard\s+requirement\b|\bhas\s+to\s+have\b",
                             re.IGNORECASE)),
    ("important", re.compile(
        r"\bhigh[-\s]priority\b|(?:\b(?:it'?s|is|very|really|super|quite)\s+)important\b"
        r"|(?:^|(?<=[,;(\n]))[ \t]*important[ \t]*(?=$|[,;)\n.!])", re.IGNORECASE)),
]


@dataclass
class Facts:
    spans: list[tuple[int, int]] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    revenue: Money | None = None
    revenue_period: RevenuePeriod | None = None
    converted_from_mrr: bool = False
    blocker: BlockerValue | None = None
    importance: ImportanceValue | None = None


class _Text:
    """The text with each understood span masked, so later readers skip it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = text
        self.spans: list[tuple[int, int]] = []

    def take(self, start: int, end: int, mask: bool = True) -> None:
        self.spans.append((start, end))
        if mask:
            self.masked = self.masked[:start] + "\x00" * (end - start) + self.masked[end:]

    def free(self, start: int, end: int) -> bool:
        return "\x00" not in self.masked[start:end]


def read_facts(text: str) -> Facts:
    facts = Facts()
    source = _Text(text)
    facts.blocker = _blocker(source)
    facts.importance = _importance(source)
    _revenue(source, facts)
    facts.customer_count = _count(source)
    names: list[str] = []
    for match in find_customers(source.masked):
        names.extend(match.names)
        source.take(match.start, match.end, mask=False)
    facts.customers = unique(names)
    facts.spans = source.spans
    return facts


def _blocker(source: _Text) -> BlockerValue | None:
    said: set[str] = set()
    if (start := _lead_in_start(source.masked)) is not None:
        for value, pattern in (("none", _BLOCKER_NONE), ("unknown", _BLOCKER_UNKNOWN)):
            for match in pattern.finditer(source.masked, start):
                said.add(value)
                source.take(*match.span())
        for match in _BLOCKER_YES.finditer(source.masked, start):
            sentence = _sentence(source.text, *match.span())
            said.add("churn_risk" if _RENEWAL.search(sentence) else "deal_blocker")
            source.take(*match.span(), mask=False)  # its object may name the customer
    for match in _CHURN.finditer(source.masked):
        said.add("churn_risk")
        source.take(*match.span())
    if len(said) > 1 and said != {"churn_risk", "deal_blocker"}:
        return None  # says both yes and no: leave it to the rep
    if "churn_risk" in said:
        return "churn_risk"
    return next(iter(said), None)  # type: ignore[return-value]


def _lead_in_start(text: str) -> int | None:
    """Where a blocker pattern's first match can start: _LEAD_IN_WORDS words before the first
    anchor word (None without one). Masking a match later only joins words, so it stays so."""
    folded = text.casefold()  # a cheaper test first: most texts hold no anchor word
    if not any(word in folded for word in _BLOCKER_ANCHORS):
        return None
    anchor = _BLOCKER_ANCHOR.search(text)
    if anchor is None:
        return None
    before = text[: anchor.start()].rsplit(None, _LEAD_IN_WORDS)
    return len(before[0]) if len(before) > _LEAD_IN_WORDS else 0


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE.finditer(text, 0, start)), default=0)
    right = _SENTENCE.search(text, end)
    return text[left : right.start() if right else len(text)]


def _importance(source: _Text) -> ImportanceValue | None:
    for value, pattern in _IMPORTANCE:
        match = pattern.search(source.masked)
        if match:
            source.take(*match.span())
            return value
    return None


@dataclass
class _Revenue:
    start: int
    end: int
    money: Money
    period: RevenuePeriod | None


def _revenue(source: _Text, facts: Facts) -> None:
    found = [r for a in find_amounts(source.masked) if (r := _read_revenue(source, a))]
    for item in found:
        source.take(item.start, item.end)
    periods = [r for r in found if r.period is not None] or found
    if not periods:
        return
    currencies = {r.money.currency for r in periods}
    kinds = {r.period for r in periods}
    if len(currencies) != 1 or len(kinds) != 1:
        return  # amounts in different currencies or periods: not added up by guesswork
    period = kinds.pop()
    total = Money(sum(r.money.minor for r in periods), currencies.pop())
    if period == "mrr":
        facts.revenue, facts.revenue_period, facts.converted_from_mrr = total * 12, "arr", True
    else:
        facts.revenue, facts.revenue_period = total, period


def _read_revenue(source: _Text, amount: AmountMatch) -> _Revenue | None:
    text = source.masked
    start, end = amount.start, amount.end
    period: RevenuePeriod | None = None
    context = amount.has_currency
    after = _PERIOD_AFTER.match(text, end)
    if after:
        period = _period_of(after)
        end = after.end()
    tail = _CONTEXT_AFTER.match(text, end)
    if tail:
        end, context = tail.end(), True
    before = _CONTEXT_BEFORE.search(text[max(0, start - 40) : start])
    if before:
        start = start - len(before[0])
        period = period or _period_of(before)
        context = True
    elif lead := _LEAD_FILLER.search(text[max(0, start - 20) : start]):
        start -= len(lead[0])
    clause = max(text.rfind(c, 0, start) for c in _CLAUSE_START) + 1
    alone = _CLAUSE_LEFT.fullmatch(text, clause, start) and _CLAUSE_RIGHT.match(text, end)
    if period is None and not context and not (amount.has_magnitude and alone):
        return None
    if not amount.has_currency and not amount.has_magnitude and period is None:
        return None  # a bare number is money only with ARR, MRR or the like beside it
    return _Revenue(start, end, amount.money, period)


def _period_of(match: re.Match[str]) -> RevenuePeriod | None:
    for name in ("arr", "mrr", "one_time"):
        if match[name]:
            return name  # type: ignore[return-value]
    return None


def _count(source: _Text) -> int | None:
    for pattern in (_COUNT, _COUNT_LABEL):
        for match in pattern.finditer(source.masked):
            if pattern is _COUNT and _NOT_A_COUNT.search(source.masked, max(0, match.start() - 12), match.start()):
                continue
            value = number_value(match["n"])
            if value is not None:
                source.take(*match.span())
                return value
    return None
