"""Customer names, read only where the sentence makes them unambiguous.

A name is a run of capitalised words ("Acme", "Bank of America") in one of a few frames:
"for Acme", "requested from Initech", "Acme asked for ...", "the Acme renewal",
"customers: Acme, Globex", "also Initech". Products and technical terms that often follow
"for" ("SSO", "Salesforce") are not customers. Anything else stays unread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parsing.dates import MONTH_NAMES

_TOKEN = r"[A-ZÀ-ÖØ-Þ][\w&'.\-]*"
_NAME = rf"{_TOKEN}(?:\s(?:of\s|de\s|&\s)?{_TOKEN}){{0,3}}"
_SEPARATOR = r"(?:\s*,\s*(?:and\s+)?|\s+(?:and|\+)\s+|\s*/\s*)"  # one way to match: no backtracking
_NAMES = rf"(?P<names>{_NAME}(?:{_SEPARATOR}{_NAME})*)"
_JOIN = re.compile(_SEPARATOR)

_NOT_NAMES = set(
    """
    the this that these those it its we they our their my your a an i hi hey hello thanks thank
    please pls also plus and or but so yes no not customer customers client clients account
    accounts enterprise team teams everyone all some many most several other others another us
    them admin admins user users mobile web desktop blocker urgent important asap arr mrr acv
    q1 q2 q3 q4 h1 h2 today tomorrow monday tuesday wednesday thursday friday saturday sunday
    eu us uk usa emea apac na latam dach nordics sso saml scim csv pdf api apis ui ux ios android
    windows mac macos linux slack salesforce sfdc hubspot jira zapier google gmail outlook
    microsoft excel okta azure aws gcp chrome safari firefox zoom stripe shopify github gitlab
    sharepoint dropbox box notion confluence tableau looker snowflake sap oracle workday zendesk
    intercom marketo quickbooks xero netsuite json xml sql rest graphql webhooks webhook oauth
    ldap 2fa mfa gdpr hipaa soc iso pci ai ml llm gpt chatgpt openai v1 v2 v3 beta ga mvp poc
    rfp crm erp sla sdk cli it's i'm we're they're there here what why how when who where
    new existing big large small
    """.split()
) | {m.lower() for m in MONTH_NAMES} | {m[:3].lower() for m in MONTH_NAMES}

# A name counts only when its clause ends after it, or a word that cannot continue a name.
_FOLLOW = re.compile(
    r"\s*(?:$|[,;.:!?)(\n\u2014\u2013\x00]|-\s|(?:by|before|asap|who|which|that|because|since"
    r"|as|is|are|has|have|had|too|wants?|needs?|asked|requested)\b)"
)
_ASK = (
    r"(?:asked|asks|is\s+asking|are\s+asking|has\s+asked|have\s+asked|keeps?\s+asking|wants?"
    r"|needs?|requested|requests|is\s+requesting|are\s+requesting|would\s+like|would\s+love"
    r"|requires?|mentioned)"
)
_DEAL_NOUN = (
    r"(?:renewal|deal|contract|expansion|upsell|opportunity|opp|POC|pilot|rollout|RFP"
    r"|procurement|security\s+review)"
)
_FRAMES: list[tuple[re.Pattern[str], bool]] = [
    (re.compile(rf"\bfor\s+{_NAMES}"), True),
    (re.compile(
        rf"\b(?:requests?|requested|ask|asks|asked|asking|feedback|needed|prospects?|customers?"
        rf"|clients?|accounts?)\b[^,;.\n\x00]{{0,20}}?\bfrom\s+{_NAMES}"
    ), True),
    (re.compile(rf"(?:^|(?<=[,;.:!?\n(\x00])[ \t]*)[Ff]rom\s+{_NAMES}"), True),
    (re.compile(
        rf"(?:^|(?<=[,;.:!?\n\x00])[ \t]*|\b(?:also|plus|and|but)\s+){_NAMES}\s+(?:also\s+|too\s+)?"
        rf"{_ASK}\b(?:\s+(?:us\s+)?(?:for|about|to\s+have|to\s+get))?"
    ), False),
    (re.compile(rf"\b(?:(?:for|before|ahead\s+of)\s+)?(?:the\s+)?(?P<names>{_NAME})(?:'s)?"
                rf"\s+{_DEAL_NOUN}\b"), False),
    (re.compile(
        rf"\b(?:[Cc]ustomers?|[Cc]lients?|[Aa]ccounts?|[Rr]equested\s+by|[Aa]sked\s+by)"
        rf"(?:\s+(?:are|is|include|including|like)\s+|\s*[:=(\u2013\u2014-]\s*){_NAMES}\)?"
    ), True),
    (re.compile(
        rf"\b(?:[Aa]lso|[Pp]lus|[Aa]nd\s+one\s+more|[Oo]ne\s+more|[Aa]nother\s+one|[Aa]nother"
        rf"\s+customer|[Aa]dditionally)\s*[:,\u2013\u2014-]?\s*{_NAMES}"
    ), True),
]


@dataclass(frozen=True)
class NameMatch:
    start: int
    end: int
    names: list[str]


def find_customers(text: str) -> list[NameMatch]:
    """Names in frames. Recognised facts in `text` are masked with NULs, so a clause ends there;
    a frame that needs it only counts when the clause ends right after the names."""
    found = []
    for frame, needs_end in _FRAMES:
        for match in frame.finditer(text):
            names, length = _names(match["names"])
            if not names:
                continue
            if needs_end and not _FOLLOW.match(text, match.start("names") + length):
                continue
            if not needs_end and length != len(match["names"]):
                continue
            end = match.end() if length == len(match["names"]) else match.start("names") + length
            found.append(NameMatch(match.start(), end, names))
    return found


def _names(listed: str) -> tuple[list[str], int]:
    """The leading names of a list, and how many characters of it they take."""
    names: list[str] = []
    position = 0
    while position < len(listed):
        separator = _JOIN.search(listed, position)
        stop = separator.start() if separator else len(listed)
        tokens = listed[position:stop].split()
        kept = []
        for token in tokens:
            word = token.rstrip(".'-")
            joiner = kept and word.lower() in ("of", "de", "&")
            if not joiner and (word.lower().removesuffix("'s") in _NOT_NAMES
                               or not word[:1].isupper()):
                break
            kept.append(token)
        while kept and kept[-1].lower() in ("of", "de", "&"):
            kept.pop()
        if not kept:
            break
        name = " ".join(kept).rstrip(".'-").removesuffix("'s")
        if len(name) > 100:
            break
        names.append(name)
        if len(kept) < len(tokens) or separator is None:
            return names, position + len(" ".join(kept))
        position = separator.end()
    return names, _length(listed, names)


def _length(listed: str, names: list[str]) -> int:
    if not names:
        return 0
    return listed.rfind(names[-1]) + len(names[-1])


def unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for name in names:
        key = " ".join(name.casefold().split())
        if key not in seen:
            seen.add(key)
            result.append(name)
    return result
