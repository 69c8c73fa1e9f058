"""`/request customer Acme`: everything one customer asked for, with status (an ephemeral
message a rep reads before a renewal call). A message holds at most 50 blocks."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks import labels
from bot.blocks.common import Message, money
from bot.blocks.similar import slack_date
from bot.money import Money
from bot.mrkdwn import escape, user
from bot.services.demand import CustomerAsk
from models import Customer


def customer_asks(customer: Customer, asks: list[CustomerAsk], total: int) -> Message:
    name = escape(customer.name)
    if not asks:
        text = f"No requests name {name} yet."
        return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))
                                          .to_dict()])
    blocks: list = [HeaderBlock(text=f"What {customer.name[:100]} asked for")]
    for item in asks:
        ask, stake = item.ask, item.stake
        request = ask.request
        line = f"*#{request.id} {escape(request.title)}* · {labels.status(ask.shown_status)}"
        if ask.merged_into is not None:
            line += f" (as part of #{ask.merged_into.id} {escape(ask.merged_into.title)})"
        if ask.decision is not None:
            line += f"\n{labels.status(ask.decision.status)}"
            if ask.decision.timeline:
                line += f" ({escape(ask.decision.timeline)})"
            line += f" on {slack_date(ask.decision.decided_at)}"
            if ask.decision.rationale:
                line += f": {escape(ask.decision.rationale)[:300]}"
        facts = []
        if stake.revenue_minor is not None and stake.currency:
            facts.append(money([Money(stake.revenue_minor, stake.currency)]))
        if stake.blocker in labels.BLOCKER:
            facts.append(f"blocker: {labels.BLOCKER[stake.blocker].lower()}")
        facts.append(f"filed {slack_date(request.created_at)} by {user(request.requested_by)}")
        blocks += [SectionBlock(text=MarkdownTextObject(text=line[:2900])),
                   ContextBlock(elements=[MarkdownTextObject(text=" · ".join(facts))])]
    if total > len(asks):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {total - len(asks)} older requests (see `requestbot export`).")]))
    text = f"{name} asked for {total} request{'s' if total != 1 else ''}"
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def customer_choices(query: str, customers: list[Customer]) -> str:
    if not customers:
        return f"I don't know a customer called “{escape(query)}” yet."
    names = ", ".join(f"`{escape(c.name)}`" for c in customers)
    return f"Several customers match “{escape(query)}”: {names}. Which one?"
