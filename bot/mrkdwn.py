"""Escaping user text for Slack mrkdwn, so nobody can make the bot ping or link anyone."""


def escape(text: str | None) -> str:
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str | None, limit: int = 2900) -> str:
    """Escaped text as a mrkdwn block quote, cut to fit a section block."""
    body = escape(text)
    if len(body) > limit:
        body = body[: limit - 1].rstrip() + "…"
    return "\n".join(f">{line}" for line in body.splitlines()) or ""


def user(user_id: str) -> str:
    """A mention of a user id the bot itself validated (never text a user typed)."""
    return f"<@{user_id}>"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"
