"""Slack's message markup turned into the plain words a person typed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT = 4000
_ANGLE = re.compile(r"<([^<>\s|]*)(?:\|([^<>]*))?>")
_BARE_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)


@dataclass(frozen=True)
class Plain:
    text: str
    urls: list[str] = field(default_factory=list)


def plain(text: str) -> Plain:
    """Mentions and special links dropped, links reduced to their label, entities unescaped.

    Slack escapes only `&`, `<` and `>` in message and command text. Only the first
    MAX_TEXT characters are read: facts come early, and the readers must stay fast on a
    40,000-character message.
    """
    urls: list[str] = []
    text = text[:MAX_TEXT]

    def replace(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith(("@", "!")):
            return ""
        if target.startswith("#"):
            return f"#{label}" if label else ""
        if target.lower().startswith(("http://", "https://", "mailto:")):
            urls.append(target)
            return label if label else target
        return match[0]

    text = _ANGLE.sub(replace, text)
    for url in _BARE_URL.findall(text):
        if url not in urls:
            urls.append(url)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return Plain(text, urls)
