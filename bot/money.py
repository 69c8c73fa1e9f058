"""Money as integer minor units of an ISO 4217 currency, and amounts as people write them.

price-parser was tried for the number part and left out: it reads "-5k" as 5, "Q3" as 3 and
"1e309" as 1, so it would need as many guards as this small reader has rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale
    from babel.numbers import NumberPattern

MAX_MAJOR = Decimal(10) ** 12

_DOLLAR_CURRENCIES = {"USD", "CAD", "AUD", "NZD", "SGD", "HKD"}
_SYMBOLS = {
    "US$": "USD", "A$": "AUD", "AU$": "AUD", "C$": "CAD", "CA$": "CAD", "NZ$": "NZD",
    "S$": "SGD", "HK$": "HKD", "R$": "BRL", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
    "₩": "KRW", "₪": "ILS", "zł": "PLN",
}
_WORDS = {
    "dollar": "$", "dollars": "$", "bucks": "$", "euro": "EUR", "euros": "EUR",
    "pound": "GBP", "pounds": "GBP", "quid": "GBP", "yen": "JPY",
}
# Upper-case codes read as currencies; a code that is also a common word (ALL, TOP, PHP) is not.
_CODES = (
    "USD EUR GBP JPY CAD AUD NZD CHF SEK NOK DKK PLN CZK HUF INR CNY HKD SGD BRL MXN ZAR "
    "ILS AED SAR KRW THB IDR MYR"
).split()
_LOWER_CODES = "usd eur gbp jpy cad aud nzd chf sek nok dkk inr".split()
# CLDR's minor-unit digits and en_US symbol, as Babel gives them, for the currencies the reader
# knows. A process that only reads amounts and prefills forms (the one that acks) then never
# loads Babel's data: 5 MB, a twentieth of that process. tests/test_money.py checks each entry
# against Babel; any other currency or locale goes to Babel.
_KNOWN_CURRENCIES = {
    "AED": (2, "AED"), "AUD": (2, "A$"), "BRL": (2, "R$"), "CAD": (2, "CA$"), "CHF": (2, "CHF"),
    "CNY": (2, "CN¥"), "CZK": (2, "CZK"), "DKK": (2, "DKK"), "EUR": (2, "€"), "GBP": (2, "£"),
    "HKD": (2, "HK$"), "HUF": (0, "HUF"), "IDR": (0, "IDR"), "ILS": (2, "₪"), "INR": (2, "₹"),
    "JPY": (0, "¥"), "KRW": (0, "₩"), "MXN": (2, "MX$"), "MYR": (2, "MYR"), "NOK": (2, "NOK"),
    "NZD": (2, "NZ$"), "PLN": (2, "PLN"), "SAR": (2, "SAR"), "SEK": (2, "SEK"), "SGD": (2, "SGD"),
    "THB": (2, "THB"), "USD": (2, "$"), "ZAR": (2, "ZAR"),
}
_MAGNITUDES = {
    "k": 3, "thousand": 3, "m": 6, "mm": 6, "mn": 6, "mil": 6, "million": 6,
    "b": 9, "bn": 9, "billion": 9,
}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PREFIX = _alternation([*_SYMBOLS, "$", *_CODES, *_LOWER_CODES])
_SUFFIX = _alternation([*_SYMBOLS, "$", *_CODES, *_LOWER_CODES]) + f"|(?i:{_alternation(list(_WORDS))})"
_MAGNITUDE = _alternation(list(_MAGNITUDES))

AMOUNT = re.compile(
    rf"""
    (?<![\w$€£¥₹₩₪.,'/#+\-−–])(?<![0-9]:)
    (?:(?P<pre>{_PREFIX})\s?)?
    (?P<num>
        [0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?
      | [0-9]{{1,3}}(?:\.[0-9]{{3}})+(?:,[0-9]+)?
      | [0-9]{{1,3}}(?:['\u00a0\u202f][0-9]{{3}})+(?:[.,][0-9]+)?
      | [0-9]{{1,3}}(?:\x20[0-9]{{3}})+(?:[.,][0-9]+)?
      | [0-9]+(?:[.,][0-9]+)?
    )
    (?:\s?(?P<mag>(?i:{_MAGNITUDE}))(?!\w))?
    (?:\s?(?P<post>{_SUFFIX})(?!\w))?
    (?![\w%/]|[.,:][0-9]|\s?[-–]\s?[$€£]?[0-9])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"minor units must be an int, got {self.minor!r}")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Exact conversion: an amount finer than the currency's minor unit is an error."""
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise ValueError(f"not an amount: {amount!r}") from None
        if not value.is_finite():
            raise ValueError(f"not an amount: {amount!r}")
        minor = value.scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"{amount} has more decimals than {currency} allows")
        return cls(int(minor), currency)

    @property
    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __mul__(self, factor: int) -> Money:
        return Money(self.minor * factor, self.currency)


def currency_exponent(currency: str) -> int:
    """Decimal places of the minor unit (JPY 0, USD 2, BHD 3), from babel's CLDR data."""
    known = _KNOWN_CURRENCIES.get(currency)
    if known is not None:
        return known[0]
    from babel.numbers import get_currency_precision

    return get_currency_precision(currency)


@dataclass(frozen=True)
class AmountMatch:
    start: int
    end: int
    money: Money
    has_currency: bool
    has_magnitude: bool


def find_amounts(text: str, default_currency: str = "USD") -> list[AmountMatch]:
    """Every amount in `text`, in order; a bare number counts too (callers decide if it is money)."""
    found = []
    for match in AMOUNT.finditer(text):
        amount = _read(match, default_currency)
        if amount is not None:
            found.append(amount)
    return found


def parse_amount(text: str, default_currency: str = "USD") -> Money | None:
    """The one amount a money field holds (`$120k`, `50.000 €`, `USD 40,000`), else None.

    Filler such as "about" or "~" may surround it; any other word means it is not an amount.
    """
    if len(text) > 200:
        return None
    amounts = find_amounts(text, default_currency)
    if len(amounts) != 1:
        return None
    amount = amounts[0]
    rest = text[: amount.start] + " " + text[amount.end :]
    if _FILLER.sub(" ", rest).strip():
        return None
    return amount.money


_FILLER = re.compile(
    r"\b(?:about|around|approx(?:imately)?|roughly|circa|ca|est(?:imated)?|at least|over"
    r"|up to|almost|nearly|some)\b|[~≈≥>±()\s.!]+",
    re.IGNORECASE,
)


def _read(match: re.Match[str], default_currency: str) -> AmountMatch | None:
    pre, post, mag = match["pre"], match["post"], match["mag"]
    if pre and post:
        return None
    marker = pre or post
    if " " in match["num"] and not marker:
        return None
    currency = _currency(marker, default_currency) if marker else default_currency
    number = _number(match["num"], mag is not None)
    if number is None:
        return None
    if mag:
        number = number.scaleb(_MAGNITUDES[mag.lower()])
    if number > MAX_MAJOR:
        return None
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    money = Money.from_major(number.quantize(quantum, rounding=ROUND_HALF_UP), currency)
    return AmountMatch(match.start(), match.end(), money, marker is not None, mag is not None)


def _currency(marker: str, default_currency: str) -> str:
    marker = _WORDS.get(marker.lower(), marker)
    if marker == "$":
        return default_currency if default_currency in _DOLLAR_CURRENCIES else "USD"
    return _SYMBOLS.get(marker, marker.upper())


def _number(digits: str, has_magnitude: bool) -> Decimal | None:
    """European and English grouping both: the last of two different separators is the decimal
    point; a lone separator before exactly three digits groups thousands ("1.500" is 1500), except
    "1.500M", where it can only be a decimal point."""
    digits = re.sub(r"['\u00a0\u202f ]", "", digits)
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        digits = digits.replace(grouping, "").replace(decimal, ".")
    elif digits.count(",") + digits.count(".") > 1:
        digits = digits.replace(",", "").replace(".", "")
    elif "," in digits or "." in digits:
        sep = "," if "," in digits else "."
        whole, fraction = digits.split(sep)
        thousands = (len(fraction) == 3 and len(whole) <= 3 and not whole.startswith("0")
                     and not (sep == "." and has_magnitude))
        digits = whole + fraction if thousands else f"{whole}.{fraction}"
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    from babel import Locale
    from babel.core import UnknownLocaleError

    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


@lru_cache(maxsize=64)
def _whole_pattern(name: str) -> NumberPattern:
    """The locale's currency pattern without decimals, parsed once (a sweep formats
    thousands of amounts)."""
    from babel.numbers import parse_pattern

    return parse_pattern(re.sub(r"\.0+", "", _locale(name).currency_formats["standard"].pattern))


def format_money(money: Money, locale: str = "en_US") -> str:
    """`$120,000`, `$1,250.50`, `120.000 €` (de_DE): no cents when the amount is whole."""
    major = money.major
    whole = major == major.to_integral_value()
    known = _KNOWN_CURRENCIES.get(money.currency) if locale == "en_US" else None
    if known is not None:  # en_US's pattern, ¤#,##0.00, without Babel's data
        digits, symbol = known
        sign = "-" if major < 0 else ""
        return f"{sign}{symbol}{abs(major):,.{0 if whole else digits}f}"
    from babel.numbers import format_currency

    parsed = _locale(locale)
    if whole:
        # the pattern's own `¤` replaced here: Babel's format_currency also looks up the
        # currency's long name for every amount, a sixth of a reminder sweep's message
        shown = _whole_pattern(locale).apply(major, parsed, currency_digits=False)
        if "¤¤" not in shown:
            return shown.replace("¤", _symbol(money.currency, locale))
        return format_currency(major, money.currency, format=_whole_pattern(locale),
                               locale=parsed, currency_digits=False)
    return format_currency(major, money.currency, locale=parsed)


@lru_cache(maxsize=256)
def _symbol(currency: str, locale: str) -> str:
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(currency, _locale(locale))
