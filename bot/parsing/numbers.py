"""Counts written in digits or English words ("3", "1,200", "twenty-one", "a dozen")."""

from __future__ import annotations

import re

MAX_COUNT = 100_000

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_VALUES = {word: i for i, word in enumerate(_UNITS)} | {
    word: 20 + 10 * i for i, word in enumerate(_TENS)
}

_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_TEN = "|".join(_TENS)
NUMBER_WORDS = (
    rf"(?:(?:{_TEN})(?:[-\s](?:{_UNIT}))?|(?:{_UNIT})|(?:a|one)\s+(?:dozen|hundred)|dozen)"
)
# Digits with optional thousands commas, or number words; a caller adds its own boundaries.
NUMBER = rf"(?:[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+|{NUMBER_WORDS})"

_COUNT_NOUN = (
    r"(?:customers?|accounts?|clients?|logos?|companies|company|orgs?|organi[sz]ations?"
    r"|prospects?|tenants?)"
)
_WHOLE = re.compile(
    rf"\s*(?:(?:about|around|roughly|approx(?:imately)?|~)\s*)?(?P<n>{NUMBER})"
    rf"(?:\s+{_COUNT_NOUN})?\s*",
    re.IGNORECASE,
)


def number_value(text: str) -> int | None:
    """The value of a match of NUMBER, or None when it is beyond MAX_COUNT."""
    words = " ".join(text.lower().replace("-", " ").split())
    if words[:1].isdigit():
        digits = words.replace(",", "")
        if len(digits) > len(str(MAX_COUNT)):
            return None
        value = int(digits)
    elif words.endswith("dozen"):
        value = 12
    elif words.endswith("hundred"):
        value = 100
    else:
        value = sum(_VALUES[word] for word in words.split())
    return value if value <= MAX_COUNT else None


def parse_count(text: str) -> int | None:
    """A whole field holding a count: "3", "three", "about 12 customers"; else None."""
    match = _WHOLE.fullmatch(text) if len(text) <= 100 else None
    if match is None:
        return None
    return number_value(match["n"])
