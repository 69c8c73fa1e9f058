"""Reminder messages (DMs to deciders and reps, the weekly digest) and the keep-decision modal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import labels
from bot.blocks.common import Message, date_input, money
from bot.blocks.follow_up import ASKS
from bot.blocks.request_card import blocker_text, customers_text
from bot.mrkdwn import escape, quote, user
from bot.reminders.digest import Digest
from bot.services.facts import RequestFacts
from bot.slack_ids import Action, Callback, Field
from models import Decision, Request

SECTION_MAX = 2900


def request_link(request: Request) -> str:
    title = f"#{request.id} {escape(request.title)}"
    return f"<{request.permalink}|{title}>" if request.permalink else f"*{title}*"


def _demand(facts: RequestFacts) -> str:
    count = facts.customer_count
    return (f"*Customers:* {count if count is not None else 'unknown'} "
            f"({customers_text(facts)}) · *Revenue:* {money(facts.revenue)} · "
            f"*Blocks a deal:* {blocker_text(facts)}")


def _decision(decision: Decision) -> str:
    line = (f"*Decision:* {labels.status(decision.status)}"
            + (f" ({escape(decision.timeline)})" if decision.timeline else "")
            + f" by {user(decision.decided_by)} on {decision.decided_at:%d %b %Y}")
    if decision.rationale:
        line += "\n" + quote(decision.rationale, 800)
    return line


def _changes(changes: list[str], decided_on: date) -> str:
    if not changes:
        return f"*Since {decided_on:%d %b %Y}:* nothing changed."
    return f"*Since {decided_on:%d %b %Y}:*\n" + "\n".join(f"• {c}" for c in changes)


@dataclass(frozen=True)
class Button:
    text: str
    action_id: str
    style: str | None = None


DECIDE = Button("Decide", Action.DECIDE, "primary")
SNOOZE_STOP = (
    Button("Snooze 1 week", f"{Action.SNOOZE_REMINDER}_week"),
    Button("Snooze 1 month", f"{Action.SNOOZE_REMINDER}_month"),
    Button("Stop reminders", Action.STOP_REMINDERS),
)


def _snooze_stop(reminder_id: int) -> list[tuple[Button, str]]:
    return [(button, str(reminder_id)) for button in SNOOZE_STOP]


@lru_cache(maxsize=1)
def _section() -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text="-")).to_dict()


@lru_cache(maxsize=16)
def _actions(buttons: tuple[Button, ...]) -> dict[str, Any]:
    return ActionsBlock(block_id="-", elements=[
        ButtonElement(text=b.text, action_id=b.action_id, value="-", style=b.style)
        for b in buttons]).to_dict()


def _message(text: str, sections: list[str], buttons: list[tuple[Button, str]],
             block_id: str) -> Message:
    """The blocks are serialised by slack-sdk once per set of buttons and filled in for each
    reminder: a sweep builds thousands, at 0.27-0.4 ms each through slack-sdk and 0.06-0.1 ms
    filled in. tests/slack/test_reminder_blocks.py checks the two agree."""
    section = _section()
    blocks = [{**section, "text": {**section["text"], "text": s[:SECTION_MAX]}}
              for s in sections]
    if buttons:
        actions = _actions(tuple(button for button, _ in buttons))
        blocks.append({**actions, "block_id": block_id, "elements": [
            {**element, "text": dict(element["text"]), "value": value}
            for element, (_, value) in zip(actions["elements"], buttons, strict=True)]})
    return Message(text=text, blocks=blocks)


def revisit_reminder(reminder_id: int, facts: RequestFacts, decision: Decision,
                     changes: list[str]) -> Message:
    request = facts.request
    text = f"Time to revisit your decision on #{request.id} {escape(request.title)}"
    buttons = [
        (Button("Keep decision", Action.KEEP_DECISION, "primary"), str(reminder_id)),
        (Button("Change decision", Action.DECIDE), str(request.id)),
        *_snooze_stop(reminder_id),
    ]
    sections = [f":calendar: Time to revisit your decision on {request_link(request)}.",
                _decision(decision), _changes(changes, decision.decided_at.date()),
                _demand(facts)]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def new_evidence_reminder(reminder_id: int, facts: RequestFacts, decision: Decision,
                          changes: list[str]) -> Message:
    request = facts.request
    text = (f"New evidence on #{request.id} {escape(request.title)} since you decided "
            f"({labels.status(decision.status)}): " + "; ".join(changes))
    buttons = [
        (Button("Change decision", Action.DECIDE, "primary"), str(request.id)),
        (Button("Keep decision", Action.KEEP_DECISION), str(reminder_id)),
        *_snooze_stop(reminder_id),
    ]
    sections = [f":chart_with_upwards_trend: Demand behind {request_link(request)} has grown "
                "since your decision.", _decision(decision),
                _changes(changes, decision.decided_at.date()), _demand(facts)]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def stale_reminder(reminder_id: int, facts: RequestFacts, days: int) -> Message:
    request = facts.request
    text = f"#{request.id} {escape(request.title)} has waited {days} days for a decision"
    buttons = [(DECIDE, str(request.id)), *_snooze_stop(reminder_id)]
    sections = [f":hourglass: {request_link(request)} has waited *{days} days* for a decision "
                f"(filed by {user(request.requested_by)}).", _demand(facts)]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def deal_close_reminder(reminder_id: int, facts: RequestFacts, close_on: date, days_left: int,
                        at_risk: str) -> Message:
    request = facts.request
    when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
    text = (f"#{request.id} {escape(request.title)} blocks a deal that closes {when} "
            f"({close_on:%d %b %Y}) and has no decision: {at_risk} at risk")
    buttons = [(DECIDE, str(request.id)), *_snooze_stop(reminder_id)]
    sections = [f":rotating_light: {request_link(request)} blocks a deal that closes *{when}* "
                f"({close_on:%d %b %Y}) and has no decision yet.\n*Revenue at risk:* {at_risk}",
                _demand(facts)]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def follow_up_reminder(reminder_id: int, facts: RequestFacts) -> Message:
    request = facts.request
    wanted = ", ".join(ASKS[q] for q in facts.missing)
    text = (f"Product still needs a few facts to weigh #{request.id} {escape(request.title)}: "
            f"{wanted}")
    buttons = [(Button("Answer", Action.ANSWER_FOLLOW_UP, "primary"), str(request.id)),
               *_snooze_stop(reminder_id)]
    sections = [f":wave: Product still needs a few facts to weigh {request_link(request)}:\n"
                + "\n".join(f"• {ASKS[q]}" for q in facts.missing)
                + "\nAnswer with the button, or reply in the request's thread in plain words."]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def info_arrived_reminder(reminder_id: int, facts: RequestFacts, note: str | None) -> Message:
    request = facts.request
    text = f"The information you asked for on #{request.id} {escape(request.title)} arrived"
    sections = [f":inbox_tray: The information you asked for on {request_link(request)} "
                "arrived." + (f"\n{quote(note, 1500)}" if note else ""), _demand(facts)]
    buttons = [(DECIDE, str(request.id)), *_snooze_stop(reminder_id)]
    return _message(text, sections, buttons, f"reminder_{reminder_id}")


def personal_digest(requests: list[Request]) -> Message:
    count = len(requests)
    noun = "request needs" if count == 1 else "requests need"
    text = f"{count} {noun} information from you"
    lines = "\n".join(f"• {request_link(r)}" for r in requests[:20])
    more = f"\n…and {count - 20} more" if count > 20 else ""
    sections = [f":clipboard: *{text}* before product can weigh them:\n{lines}{more}\n"
                "Reply in each request's thread, or use its *Answer* button."]
    return _message(text, sections, [], "digest")


def channel_digest(digest: Digest) -> Message:
    period = f"{digest.start:%d %b} – {digest.end:%d %b %Y}"
    text = (f"Feature requests this week ({period}): {digest.new_count} new, "
            f"{len(digest.decisions)} decided")
    new = "\n".join(f"• {request_link(r)} ({user(r.requested_by)})"
                    for r in digest.new_requests) or "None."
    top = "\n".join(f"• {request_link(d.request)}: {d.customers} customer"
                    f"{'s' if d.customers != 1 else ''}, {money(d.revenue)}"
                    for d in digest.top_demand) or "No open requests."
    decided = "\n".join(f"• {request_link(r)}: {labels.status(d.status)} by {user(d.decided_by)}"
                        for d, r in digest.decisions) or "None."
    due = "\n".join(f"• {request_link(r)}: revisit {rem.due_at:%d %b}"
                    for rem, r in digest.decisions_due) or "None."
    risk = "\n".join(f"• {a.close_on:%d %b}: {request_link(a.request)}, {money(a.revenue)}"
                     for a in digest.at_risk) or "None."
    blocks: list = [
        HeaderBlock(text="Feature requests: the week in review"),
        ContextBlock(elements=[MarkdownTextObject(text=period)]),
        *[SectionBlock(text=MarkdownTextObject(text=s[:SECTION_MAX])) for s in (
            f"*New requests ({digest.new_count})*\n{new}",
            f"*Top demand*\n{top}",
            f"*Decisions made*\n{decided}",
            f"*Decisions due for revisit*\n{due}",
            f"*Revenue at risk by close date* (undecided deal blockers)\n{risk}",
        )],
    ]
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def handled_note(text: str) -> list[dict]:
    """What replaces a reminder's buttons once someone acted on it."""
    return [ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()]


def keep_decision_modal(request: Request, suggested: date, private_metadata: str) -> View:
    return View(
        type="modal", callback_id=Callback.KEEP_DECISION_MODAL, title="Keep decision",
        submit="Keep", close="Cancel", private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=MarkdownTextObject(
                text=f"Keep the decision on *#{request.id} {escape(request.title)}* and look "
                     "at it again on:")),
            date_input(Field.REVISIT_ON, "Next revisit date", initial=suggested,
                       hint="You'll get a reminder at 9:00 your time that day."),
        ],
    )
