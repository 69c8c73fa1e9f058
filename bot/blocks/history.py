"""A request's decision history: every decision, who made it and when (in the viewer's tz)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.blocks.decision_reply import status_words
from bot.mrkdwn import escape, quote, user
from bot.slack_ids import Callback
from models import Decision, Request

MAX_SHOWN = 30  # a modal holds 100 blocks; each decision takes three


def local_time(moment: datetime, tz_name: str | None) -> str:
    try:
        zone = ZoneInfo(tz_name) if tz_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M} {local.tzname()}"


def history_modal(request: Request, decisions: list[Decision], tz_name: str | None) -> View:
    blocks: list = [SectionBlock(text=MarkdownTextObject(
        text=f"*#{request.id} {escape(request.title)}*: "
             + (f"{len(decisions)} decision{'s' if len(decisions) != 1 else ''}, newest first"
                if decisions else "no decision yet")
    ))]
    for index, decision in enumerate(decisions[:MAX_SHOWN]):
        words = escape(status_words(decision.status, decision.timeline))
        text = f"*{words}*{'  (current)' if index == 0 else ''}"
        if decision.rationale:
            text += f"\n{quote(decision.rationale, 1500)}"
        if decision.workaround:
            text += f"\nHow to do it today: {escape(decision.workaround)[:500]}"
        if decision.needed_info:
            text += f"\nNeeded: {escape(decision.needed_info)[:500]}"
        when = local_time(decision.decided_at, tz_name)
        evidence = decision.evidence or {}
        facts = (f" · on {evidence.get('customers', 0)} customer(s), "
                 f"{evidence.get('blockers', 0)} blocker(s)") if evidence else ""
        blocks += [
            DividerBlock(),
            SectionBlock(text=MarkdownTextObject(text=text[:2900])),
            ContextBlock(elements=[MarkdownTextObject(
                text=f"{user(decision.decided_by)} · {when}{facts}")]),
        ]
    if len(decisions) > MAX_SHOWN:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {len(decisions) - MAX_SHOWN} earlier decisions (see the export).")]))
    return View(type="modal", callback_id=Callback.DECISION_HISTORY, title="Decision history",
                close="Close", blocks=blocks)
