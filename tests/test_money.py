import re
import subprocess
import sys
from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)
from hypothesis import given
from hypothesis import strategies as st

from bot import money as money_module
from bot.money import Money, currency_exponent, find_amounts, format_money, parse_amount

KNOWN = sorted(money_module._KNOWN_CURRENCIES)


@pytest.mark.parametrize(
    ("text", "major", "currency"),
    [
        ("$120k", "120000", "USD"),
        ("120K", "120000", "USD"),
        ("1.2M", "1200000", "USD"),
        ("€50,000", "50000", "EUR"),
        ("50.000 €", "50000", "EUR"),
        ("£3.5m", "3500000", "GBP"),
        ("USD 40,000", "40000", "USD"),
        ("40000 usd", "40000", "USD"),
        ("$1,250.50", "1250.50", "USD"),
        ("1.250,50 EUR", "1250.50", "EUR"),
        ("12,50 €", "12.50", "EUR"),
        ("50 000 €", "50000", "EUR"),
        ("CHF 1'000", "1000", "CHF"),
        ("about $75k", "75000", "USD"),
        ("~€1,5M", "1500000", "EUR"),
        ("1.500M", "1500000", "USD"),
        ("1,500k", "1500000", "USD"),
        ("120 thousand dollars", "120000", "USD"),
        ("2 million euros", "2000000", "EUR"),
        ("$2bn", "2000000000", "USD"),
        ("¥300", "300", "JPY"),
        ("A$80k", "80000", "AUD"),
        ("US$ 5,000", "5000", "USD"),
        ("40000", "40000", "USD"),
        ("$0.50", "0.50", "USD"),
    ],
)
def test_amounts_as_people_write_them(text, major, currency):
    assert parse_amount(text) == Money.from_major(major, currency)


@pytest.mark.parametrize(
    "text",
    ["soon", "", "   ", "-5k", "−5k", "lots", "1e309", "$2000bn", "10^13", "Q3", "3 customers",
     "$50k-$70k", "20%", "v2", "$120k and $30k", "$ k", "1,2,3", "5k users", "2027-03-31"],
)
def test_what_is_not_an_amount(text):
    assert parse_amount(text) is None


def test_dollar_sign_follows_a_dollar_default_currency():
    assert parse_amount("$10k", default_currency="CAD") == Money(1_000_000, "CAD")
    assert parse_amount("$10k", default_currency="EUR") == Money(1_000_000, "USD")
    assert parse_amount("10k", default_currency="EUR") == Money(1_000_000, "EUR")


def test_minor_units_follow_the_currency_exponent():
    assert Money.from_major("300", "JPY").minor == 300
    assert Money.from_major(Decimal("1.5"), "USD").minor == 150
    assert Money.from_major("1.234", "BHD").minor == 1234
    assert Money(150, "USD").major == Decimal("1.50")
    assert Money(300, "JPY").major == Decimal(300)


@pytest.mark.parametrize("bad", ["1.005", "abc", "NaN", "Infinity"])
def test_from_major_refuses_what_is_not_exact(bad):
    with pytest.raises(ValueError):
        Money.from_major(bad, "USD")


def test_money_refuses_floats_and_bad_codes():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(100, "usd")


@pytest.mark.parametrize(
    ("money", "locale", "shown"),
    [
        (Money(12_000_000, "USD"), "en_US", "$120,000"),
        (Money(125_050, "USD"), "en_US", "$1,250.50"),
        (Money(5_000_000, "EUR"), "en_US", "€50,000"),
        (Money(300, "JPY"), "en_US", "¥300"),
        (Money(12_000_000, "USD"), "de_DE", "120.000\xa0$"),
        (Money(125_050, "EUR"), "de_DE", "1.250,50\xa0€"),
        (Money(0, "GBP"), "en_GB", "£0"),
        (Money(12_000_000, "USD"), "not a locale", "$120,000"),
    ],
)
def test_format_money(money, locale, shown):
    assert format_money(money, locale) == shown


def test_find_amounts_reports_markers():
    [amount] = find_amounts("about 120K for Acme")
    assert amount.money == Money(12_000_000, "USD")
    assert amount.has_magnitude and not amount.has_currency


@given(st.text())
def test_parse_amount_never_raises(text):
    result = parse_amount(text)
    assert result is None or (isinstance(result, Money) and result.minor >= 0)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_formatted_amounts_read_back(value):
    money = Money.from_major(value, "USD")
    assert parse_amount(format_money(money)) == money


def as_babel_shows(money: Money, locale: str) -> str:
    """Babel's own formatting, without cents for a whole amount."""
    if money.major != money.major.to_integral_value():
        return format_currency(money.major, money.currency, locale=locale)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    return format_currency(money.major, money.currency, format=parse_pattern(re.sub(r"\.0+", "", pattern)),
                           locale=locale, currency_digits=False)


@given(st.integers(min_value=0, max_value=10**14),
       st.sampled_from(["USD", "EUR", "GBP", "JPY", "CHF", "INR", "BHD", "XYZ"]),
       st.sampled_from(["en_US", "de_DE", "fr_FR", "de_CH", "en_IN", "ja_JP", "ar_EG", "nl_NL"]))
def test_whole_amounts_are_shown_as_babel_shows_them(minor, currency, locale):
    money = Money(minor, currency)
    if money.major != money.major.to_integral_value():
        money = Money(minor - minor % 10 ** currency_exponent(currency), currency)
    assert format_money(money, locale) == as_babel_shows(money, locale)


@pytest.mark.parametrize("currency", KNOWN)
def test_the_known_currencies_are_as_babel_has_them(currency):
    assert money_module._KNOWN_CURRENCIES[currency] == (
        get_currency_precision(currency), get_currency_symbol(currency, "en_US"))


def test_every_currency_the_reader_names_is_known():
    named = {money_module._currency(marker, "USD")
             for marker in [*money_module._SYMBOLS, "$", *money_module._CODES,
                            *money_module._LOWER_CODES, *money_module._WORDS]}
    assert named <= set(KNOWN)


@given(st.integers(min_value=-(10**14), max_value=10**14), st.sampled_from(KNOWN))
def test_en_us_amounts_are_shown_as_babel_shows_them(minor, currency):
    money = Money(minor, currency)
    assert format_money(money) == as_babel_shows(money, "en_US")


def test_reading_and_showing_amounts_loads_no_babel_data():
    """The serving process reads revenue and prefills forms on every submission: Babel's
    data would be 5 MB of it."""
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys; from bot.money import format_money, parse_amount, find_amounts; "
         "shown = [format_money(parse_amount(t)) for t in ('$120k', '50.000 €', '¥300', "
         "'CHF 1,250.50', 'A$80k')]; find_amounts('4 customers, about 75k ARR'); "
         "print(shown, 'babel' in sys.modules)"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "['$120,000', '€50,000', '¥300', 'CHF1,250.50', 'A$80,000'] False"
