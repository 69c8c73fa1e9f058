"""Similar requests offered to a rep (in the thread and in the modal) and the merge modal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import labels
from bot.blocks.common import Message, money, text_input
from bot.mrkdwn import escape
from bot.services.similar import Suggestion
from bot.slack_ids import Action, Callback, Field


class AddChoice(BaseModel):
    """An `Add to #42` button: which request goes into which (None: the one in the modal)."""

    into: int
    request_id: int | None = None


class MergeContext(BaseModel):
    request_id: int


def slack_date(moment: datetime, fallback: str = "%d %b %Y") -> str:
    """A date Slack shows in the reader's own time zone."""
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{moment:{fallback}}>"


def _demand(suggestion: Suggestion) -> str:
    parts = []
    if suggestion.customers:
        parts.append(f"{suggestion.customers} customer{'s' if suggestion.customers != 1 else ''}")
    if suggestion.revenue:
        parts.append(money(suggestion.revenue))
    return f" ({', '.join(parts)})" if parts else ""


def decision_note(suggestion: Suggestion) -> str | None:
    decision = suggestion.decision
    if decision is None:
        return None
    words = labels.status(decision.status)
    if decision.timeline:
        words += f" ({escape(decision.timeline)})"
    note = f"{words} on {slack_date(decision.decided_at)}"
    if decision.rationale:
        rationale = escape(decision.rationale)
        note += f": “{rationale[:280]}{'…' if len(rationale) > 280 else ''}”"
    return note


def suggestion_line(suggestion: Suggestion) -> str:
    request = suggestion.request
    line = f"*#{request.id} {escape(request.title)}*{_demand(suggestion)}"
    note = decision_note(suggestion)
    if note:
        line += f"\n{note}. Add your customer as new evidence?"
    return line


def similar_in_thread(request_id: int, suggestions: list[Suggestion]) -> Message:
    """“Looks like #42 Bulk CSV export (5 customers, $310k). Add your customer to it?”"""
    best = suggestions[0]
    text = (f"Looks like #{best.request.id} {escape(best.request.title)}{_demand(best)}. "
            "Add your customer to it?")
    note = decision_note(best)
    if note:
        text = (f"Looks like #{best.request.id} {escape(best.request.title)}{_demand(best)} "
                f"was asked before. {note}. Add your customer as new evidence?")
    blocks: list = [SectionBlock(text=MarkdownTextObject(
        text="This looks like a request already on file. Adding your customer to it makes the "
             "demand add up in one place:"))]
    for suggestion in suggestions:  # one button per block: action ids are unique per block
        blocks.append(SectionBlock(
            block_id=f"similar_{request_id}_{suggestion.request.id}",
            text=MarkdownTextObject(text=suggestion_line(suggestion)),
            accessory=ButtonElement(
                text=f"Add to #{suggestion.request.id}",
                action_id=f"{Action.ADD_TO_EXISTING}_{suggestion.request.id}",
                value=AddChoice(into=suggestion.request.id,
                                request_id=request_id).model_dump_json(),
                style="primary" if suggestion is best else None)))
    blocks.append(ActionsBlock(block_id=f"similar_{request_id}", elements=[
        ButtonElement(text="It's different", action_id=Action.NOT_A_DUPLICATE,
                      value=str(request_id))]))
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def similar_in_modal(suggestions: list[Suggestion]) -> list:
    """Shown under the title as the rep types it: one `Add to #42` per match."""
    if not suggestions:
        return []
    blocks: list = [ContextBlock(block_id="similar_intro", elements=[MarkdownTextObject(
        text="*Already requested?* Add your customer to one of these instead of filing a new "
             "request:")])]
    for suggestion in suggestions:
        blocks.append(SectionBlock(
            block_id=f"similar_{suggestion.request.id}",
            text=MarkdownTextObject(text=suggestion_line(suggestion)),
            accessory=ButtonElement(
                text=f"Add to #{suggestion.request.id}",
                action_id=f"{Action.ADD_TO_EXISTING}_{suggestion.request.id}",
                value=AddChoice(into=suggestion.request.id).model_dump_json()),
        ))
    return blocks


def added_modal(request_id: int, into_id: int, into_title: str, customers: list[str]) -> View:
    who = ", ".join(escape(c) for c in customers) or "Your ask"
    return View(type="modal", callback_id=Callback.REQUEST_MODAL, title="Added",
                close="Done", blocks=[SectionBlock(text=MarkdownTextObject(
                    text=f"{who} now counts toward *#{into_id} {escape(into_title)}* "
                         f"(filed as #{request_id} and merged into it). You'll get its "
                         "decision like everyone who asked."))])


def merge_modal(request_id: int, title: str, suggestions: list[Suggestion],
                error_free_hint: str | None = None) -> View:
    blocks: list = [
        SectionBlock(text=MarkdownTextObject(
            text=f"Merge *#{request_id} {escape(title)}* into another request: its customers "
                 "will count there, and the decision there is posted in its thread too.")),
        text_input(Field.MERGE_TARGET, "Merge into", optional=False, max_length=150,
                   placeholder="#42, or words from its title",
                   hint=error_free_hint or "The request number, or words from its title."),
    ]
    if suggestions:
        lines = "\n".join(f"• {suggestion_line(s).splitlines()[0]}" for s in suggestions)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"*Similar:*\n{lines}")]))
    return View(type="modal", callback_id=Callback.MERGE_MODAL, title="Merge request",
                submit="Merge", close="Cancel",
                private_metadata=MergeContext(request_id=request_id).model_dump_json(),
                blocks=blocks)
