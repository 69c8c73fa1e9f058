"""What reps read about a decision: the threaded reply, the DM, and the notes around it."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks import labels
from bot.blocks.common import Message
from bot.mrkdwn import escape, user
from models import Decision, DecisionStatus, Request

SECTION_MAX = 2900


def status_words(status: str, timeline: str | None) -> str:
    """`Planned (Q3 2027)`: the decision word with its timeline, as plain text."""
    words = labels.status(status)
    return f"{words} ({timeline})" if timeline else words


def compose_reply_text(
    *,
    status: str,
    rationale: str | None,
    timeline: str | None,
    workaround: str | None,
    needed_info: str | None,
    revisit_on: date | None,
    previous: tuple[str, str | None] | None,
) -> str:
    """The reply in plain words a rep can forward to a customer (the decider may edit it)."""
    lines = []
    if previous is not None and previous != (status, timeline):
        lines.append(f"Changed from {status_words(*previous)} to {status_words(status, timeline)}.")
    why = f" Why: {rationale}" if rationale else ""
    if status == DecisionStatus.PLANNED:
        lines.append(f"Good news: this is planned for {timeline}.{why}")
    elif status == DecisionStatus.DECLINED:
        lines.append(f"We've decided not to build this for now.{why}")
    elif status == DecisionStatus.NEEDS_INFO:
        lines.append(f"Before we can decide, product needs to know: {needed_info}"
                     + (f" ({rationale})" if rationale else ""))
        lines.append("Please reply here in the thread with the answer.")
    elif status == DecisionStatus.ALREADY_EXISTS:
        lines.append("Good news: the product already does this."
                     + (f" How to do it today: {workaround}" if workaround else "") + why)
    else:
        lines.append("Product is reviewing this request."
                     + (f" Expect an answer by {timeline}." if timeline else "") + why)
    if revisit_on is not None:
        lines.append(f"We'll look at it again on {revisit_on:%B} {revisit_on.day}, "
                     f"{revisit_on.year}.")
    return "\n".join(lines)


def _cut(text: str, limit: int = SECTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def headline(thread_request: Request, decided: Request, status: str, timeline: str | None) -> str:
    words = escape(status_words(status, timeline))
    line = (f"{user(thread_request.requested_by)} Decision on #{decided.id} "
            f"{escape(decided.title)}: *{words}*")
    if thread_request.id != decided.id:
        line += f" (your request #{thread_request.id} was merged into it)"
    return _cut(line)


def decision_reply(thread_request: Request, decided: Request, decision: Decision,
                   previous: Decision | None) -> Message:
    """The threaded reply: the decision word, timeline and rationale in `text` (which
    notifications show) and in the blocks, mentioning the rep who asked in that thread."""
    first = headline(thread_request, decided, decision.status, decision.timeline)
    body = escape(decision.reply_text or "")
    if decision.rationale and decision.rationale not in (decision.reply_text or ""):
        body += f"\nWhy: {escape(decision.rationale)}"
    body = _cut(body.strip())
    note = f"Decided by {user(decision.decided_by)}"
    if previous is not None:
        note += f" · was {escape(status_words(previous.status, previous.timeline))}"
    blocks = [SectionBlock(text=MarkdownTextObject(text=first))]
    if body:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=body)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return Message(text=f"{first}\n{body}".strip(), blocks=[b.to_dict() for b in blocks])


def decision_dm(request: Request, decision: Decision) -> Message:
    """The requester hears of the decision even if they left the channel."""
    words = escape(status_words(decision.status, decision.timeline))
    where = f" (<{request.permalink}|see the thread>)" if request.permalink else ""
    text = (f"Product decided on your request #{request.id} {escape(request.title)}: "
            f"*{words}*{where}")
    body = _cut(escape(decision.reply_text or decision.rationale or ""))
    blocks = [SectionBlock(text=MarkdownTextObject(text=_cut(text)))]
    if body:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=body)))
    return Message(text=f"{text}\n{body}".strip(), blocks=[b.to_dict() for b in blocks])


def info_arrived_dm(request: Request, decision: Decision, answered_by: str,
                    changed: list[str]) -> Message:
    what = ", ".join(escape(c.replace("customer:", "customer ").replace("_", " "))
                     for c in changed)
    text = (f"{user(answered_by)} answered in the thread of #{request.id} "
            f"{escape(request.title)}, which you marked *Needs more info*: {what}.")
    if decision.needed_info:
        text += f"\nYou asked: {escape(decision.needed_info)}"
    if request.permalink:
        text += f"\n<{request.permalink}|Open the thread>"
    text = _cut(text)
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()])


def talk_to_customer_note(request: Request, asked_by: str, customers: list[str]) -> Message:
    who = ", ".join(escape(n) for n in customers[:10]) if customers else "the customer"
    text = (f"{user(request.requested_by)}, {user(asked_by)} would like to talk with {who} "
            f"about #{request.id} {escape(request.title)}. Could you set up a call and "
            "invite them?")
    text = _cut(text)
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()])


def not_a_decider_note(described: str, configured: bool) -> str:
    if not configured:
        return ("Nobody can record decisions yet: an admin lists the deciders in "
                "REQUESTBOT_DECIDERS. Nothing was changed.")
    return f"Only {described} can record decisions. Nothing was changed."
