"""The request card: the facts at a glance, the current decision, and the buttons."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks import labels
from bot.blocks.common import Message, money
from bot.money import format_money
from bot.mrkdwn import escape, quote, user
from bot.services.facts import RequestFacts
from bot.slack_ids import Action
from models import RequestStatus


def decision_line(facts: RequestFacts) -> str | None:
    decision = facts.decision
    if decision is None:
        return None
    words = labels.status(decision.status)
    if decision.timeline:
        words += f" ({escape(decision.timeline)})"
    line = f"*Decision:* {words} by {user(decision.decided_by)}"
    if decision.rationale:
        line += f"\n{quote(decision.rationale, 600)}"
    return line


def customers_text(facts: RequestFacts) -> str:
    if not facts.customers:
        return "not named yet"
    shown = ", ".join(escape(n) for n in facts.customers[:5])
    more = len(facts.customers) - 5
    return shown + (f" and {more} more" if more > 0 else "")


def blocker_text(facts: RequestFacts) -> str:
    if facts.blocker is None:
        return "unknown"
    text = labels.BLOCKER.get(facts.blocker, facts.blocker)
    if facts.deal_close_on:
        text += f", closes {facts.deal_close_on:%d %b %Y}"
    if facts.renewal_on:
        text += f", renews {facts.renewal_on:%d %b %Y}"
    if facts.deal_amount:
        text += f", deal {format_money(facts.deal_amount)}"
    return text


def demand_line(facts: RequestFacts) -> str | None:
    """Who asked, when, what merged here, and the decider's assessment (issue 5)."""
    request, totals, parts = facts.request, facts.totals, []
    if totals is not None:
        if totals.reps > 1:
            parts.append(f"{totals.reps} reps asked")
        if totals.revenue_base is not None and len(totals.revenue) > 1:
            parts.append(f"≈ {format_money(totals.revenue_base)} in all")
        if totals.merged_ids:
            parts.append("merged here: " + ", ".join(f"#{i}" for i in totals.merged_ids))
        if totals.first_ask and totals.latest_ask and totals.latest_ask != totals.first_ask:
            parts.append(f"asked {totals.first_ask:%d %b %Y} – {totals.latest_ask:%d %b %Y}")
    if request.effort or request.effort_weeks is not None:
        effort = (f"{request.effort_weeks} person-weeks" if request.effort_weeks is not None
                  else request.effort)
        parts.append(f"effort {effort}")
    if request.strategic_fit is not None:
        parts.append(f"strategic fit {request.strategic_fit}/5")
    return " · ".join(parts) or None


def request_card(facts: RequestFacts, deciders: list[str]) -> Message:
    request = facts.request
    count = facts.customer_count
    fields = [
        MarkdownTextObject(text=f"*Customers*\n{customers_text(facts)}"),
        MarkdownTextObject(text=f"*How many*\n{count if count is not None else 'unknown'}"),
        MarkdownTextObject(text=f"*Revenue at stake*\n{money(facts.revenue)}"),
        MarkdownTextObject(text=f"*Blocks a deal?*\n{blocker_text(facts)}"),
        MarkdownTextObject(text=f"*Status*\n{labels.status(request.status)}"),
        MarkdownTextObject(text=f"*Filed by*\n{user(request.requested_by)}"),
    ]
    summary = f"*{escape(request.title)}*"
    if request.problem:
        summary += f"\n{quote(request.problem, 1200)}"
    blocks = [
        HeaderBlock(text=f"Feature request #{request.id}"),
        SectionBlock(text=MarkdownTextObject(text=summary)),
        SectionBlock(fields=fields),
    ]
    line = decision_line(facts)
    if line:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
    demand = demand_line(facts)
    if demand:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=demand)]))
    notes = []
    if request.status == RequestStatus.MERGED and request.duplicate_of_id:
        notes.append(f"Merged into #{request.duplicate_of_id}: its thread gets the decision.")
    if not deciders:
        notes.append("No deciders are configured yet: an admin sets REQUESTBOT_DECIDERS.")
    if request.permalink and request.card_ts is None:
        notes.append(f"<{request.permalink}|Original message>")
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=n) for n in notes]))
    value = str(request.id)
    buttons = []
    if request.status != RequestStatus.MERGED:
        buttons.append(ButtonElement(text="Decide", action_id=Action.DECIDE, value=value,
                                     style="primary"))
    buttons += [
        ButtonElement(text="Edit", action_id=Action.EDIT_REQUEST, value=value),
        ButtonElement(text="Talk to customer", action_id=Action.TALK_TO_CUSTOMER, value=value),
        ButtonElement(text="History", action_id=Action.SHOW_HISTORY, value=value),
    ]
    if request.status == RequestStatus.MERGED:
        buttons.append(ButtonElement(text="Un-merge", action_id=Action.UNMERGE, value=value))
    else:
        buttons += [ButtonElement(text="Merge", action_id=Action.MERGE, value=value),
                    ButtonElement(text="Assess", action_id=Action.ASSESS, value=value)]
    blocks.append(ActionsBlock(block_id=f"request_{request.id}_actions", elements=buttons))
    text = f"Feature request #{request.id}: {escape(request.title)}"
    if facts.decision is not None:
        text += f" ({labels.status(facts.decision.status)})"
    return Message(text=text, blocks=[b.to_dict() for b in blocks])
