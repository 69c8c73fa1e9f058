"""A plain reply in a request's thread: the answers to the follow-up questions, in words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlparse

from bot.money import Money
from bot.parsing.dates import find_dates
from bot.parsing.facts import BlockerValue, ImportanceValue, RevenuePeriod, read_facts
from bot.parsing.slack_text import plain

URL_MAX = 500

_ADDITIONAL = re.compile(
    r"\b(?:also|another|plus|one\s+more|in\s+addition|additionally|as\s+well)\b"
    r"|\btoo\b(?=\s*(?:$|[,.;!]))",
    re.IGNORECASE,
)
_DATE_LEAD = (
    r"(?:\s*(?:[:=\-–]|\b(?:date|is|on|by|in|around|at|the|of|expected|scheduled|for)\b))*\s*"
)
_CLOSE = re.compile(
    rf"\b(?:close\s+date|closing\s+date|expected\s+close|closes|closing|close|signs|signing"
    rf"|sign)\b{_DATE_LEAD}",
    re.IGNORECASE,
)
_RENEWAL = re.compile(
    rf"\b(?:renewal(?:\s+date)?|renews|renewing|up\s+for\s+renewal)\b{_DATE_LEAD}", re.IGNORECASE
)
_CRM_HOSTS = (
    "salesforce.com", "force.com", "hubspot.com", "pipedrive.com", "zoho.com", "zoho.eu",
    "dynamics.com", "close.com", "attio.com", "copper.com", "freshworks.com", "myfreshworks.com",
    "insightly.com", "sugarcrm.com", "nutshell.com",
)
_CRM_WORDS = re.compile(
    r"\b(?:crm|sfdc|salesforce|hubspot|pipedrive|opp|opportunity|deal\s+(?:link|record|page))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedReply:
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    revenue: Money | None = None
    revenue_period: RevenuePeriod | None = None
    converted_from_mrr: bool = False
    blocker: BlockerValue | None = None
    importance: ImportanceValue | None = None
    additional: bool = False
    deal_close_on: date | None = None
    renewal_on: date | None = None
    crm_url: str | None = None

    def is_empty(self) -> bool:
        """True when the reply states no fact (people talk in threads)."""
        return not self.customers and all(
            value is None
            for value in (
                self.customer_count, self.revenue, self.blocker, self.importance,
                self.deal_close_on, self.renewal_on, self.crm_url,
            )
        )


def parse_thread_reply(text: str, today: date) -> ParsedReply:
    """`additional` says the reply adds to what is known ("also Initech, $20k")."""
    source = plain(text)
    body = source.text
    facts = read_facts(body)
    return ParsedReply(
        customers=facts.customers,
        customer_count=facts.customer_count,
        revenue=facts.revenue,
        revenue_period=facts.revenue_period,
        converted_from_mrr=facts.converted_from_mrr,
        blocker=facts.blocker,
        importance=facts.importance,
        additional=_ADDITIONAL.search(body) is not None,
        deal_close_on=_date_after(_CLOSE, body, today),
        renewal_on=_date_after(_RENEWAL, body, today),
        crm_url=_crm_url(source.urls, body),
    )


def _date_after(keyword: re.Pattern[str], text: str, today: date) -> date | None:
    """A day named right after the keyword ("closes March 31", "close date: 2027-03-31")."""
    for match in keyword.finditer(text):
        rest = text[match.end() : match.end() + 40]
        found = find_dates(rest, today, numeric=True)
        if found and found[0].start == 0 and found[0].is_day:
            return found[0].span.last
    return None


def _crm_url(urls: list[str], text: str) -> str | None:
    links = [
        u for u in urls
        if len(u) <= URL_MAX and urlparse(u).scheme in ("https", "http") and urlparse(u).netloc
    ]
    for url in links:
        host = (urlparse(url).hostname or "").lower()
        if any(host == h or host.endswith("." + h) for h in _CRM_HOSTS):
            return url
    if links and _CRM_WORDS.search(text):
        return links[0]
    return None
