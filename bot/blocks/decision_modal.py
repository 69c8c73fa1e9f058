"""The decision modal, its preview step, and the thread answer that offers the modal."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import labels
from bot.blocks.common import Message, date_input, money, select_input, text_input
from bot.blocks.decision_reply import status_words
from bot.blocks.request_card import blocker_text, customers_text
from bot.forms_decision import (
    NEEDED_INFO_MAX,
    RATIONALE_MAX,
    REOPEN_REVENUE_MAX,
    REPLY_MAX,
    TIMELINE_MAX,
    WORKAROUND_MAX,
    DecisionDraft,
)
from bot.mrkdwn import escape, user
from bot.services.facts import RequestFacts
from bot.slack_ids import Action, Callback, Field
from models import DecisionStatus

CHOICES = {status.value: labels.status(status) for status in (
    DecisionStatus.PLANNED, DecisionStatus.DECLINED, DecisionStatus.NEEDS_INFO,
    DecisionStatus.ALREADY_EXISTS, DecisionStatus.UNDER_REVIEW,
)}
YES_NO = {"yes": "Yes, reopen it", "no": "No"}


def request_summary(facts: RequestFacts) -> str:
    request = facts.request
    count = facts.customer_count if facts.customer_count is not None else "unknown"
    text = (f"*#{request.id} {escape(request.title)}*\n"
            f"Customers: {customers_text(facts)} ({count}) · Revenue at stake: "
            f"{money(facts.revenue)} · Blocks a deal: {blocker_text(facts)}")
    if facts.decision is not None:
        text += (f"\nCurrent decision: {escape(status_words(facts.decision.status, facts.decision.timeline))}"
                 f" by {user(facts.decision.decided_by)}")
    return text


def decision_modal(facts: RequestFacts, prefill: DecisionDraft | None, private_metadata: str,
                   notes: list[str] | None = None) -> View:
    draft = prefill or DecisionDraft(request_id=facts.request.id)
    blocks: list = [SectionBlock(text=MarkdownTextObject(text=request_summary(facts)))]
    for note in notes or []:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(note))]))
    blocks += [
        select_input(Field.DECISION_STATUS, "Decision", CHOICES, initial=draft.status,
                     optional=False),
        text_input(Field.RATIONALE, "Why (reps pass this on to the customer)",
                   initial=draft.rationale, multiline=True, max_length=RATIONALE_MAX,
                   hint="Required for Declined and Needs more info."),
        text_input(Field.TIMELINE, "Timeline or target", initial=draft.timeline,
                   max_length=TIMELINE_MAX, placeholder="e.g. Q3, March 2027, 2027-05-01",
                   hint="Required for Planned: a quarter, a month or a date."),
        date_input(Field.REVISIT_ON, "Revisit on", initial=draft.revisit_on,
                   hint="You get a reminder at 9:00 your time that day."),
        text_input(Field.WORKAROUND, "Already exists: how to do it today",
                   initial=draft.workaround, multiline=True, max_length=WORKAROUND_MAX,
                   placeholder="A link to the docs, or the steps"),
        text_input(Field.NEEDED_INFO, "Needs more info: what is needed",
                   initial=draft.needed_info, multiline=True, max_length=NEEDED_INFO_MAX,
                   placeholder="e.g. Which file formats, and how often?"),
        text_input(Field.REOPEN_REVENUE, "Reopen if revenue at stake passes",
                   initial=draft.reopen_revenue, max_length=REOPEN_REVENUE_MAX,
                   placeholder="e.g. $500k"),
        select_input(Field.REOPEN_ON_BLOCKER, "Reopen if a new deal blocker arrives", YES_NO,
                     initial="yes" if draft.reopen_on_blocker else None),
    ]
    return View(type="modal", callback_id=Callback.DECISION_MODAL, title="Decide",
                submit="Preview reply", close="Cancel", private_metadata=private_metadata,
                blocks=blocks)


def decision_preview(first_line: str, reply_text: str, also: list[str],
                     private_metadata: str) -> View:
    """The exact reply the rep will read; the decider can edit it before it is posted."""
    blocks: list = [
        SectionBlock(text=MarkdownTextObject(text="The rep will read this in the thread:")),
        SectionBlock(text=MarkdownTextObject(text=first_line)),
        text_input(Field.REPLY_TEXT, "Reply (edit freely)", initial=reply_text, multiline=True,
                   optional=False, max_length=REPLY_MAX),
    ]
    if also:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" ".join(also))]))
    return View(type="modal", callback_id=Callback.DECISION_PREVIEW, title="Preview the reply",
                submit="Post decision", close="Cancel", private_metadata=private_metadata,
                blocks=blocks)


def decision_offer(request_id: int, understood: str, missing: list[str], value: str) -> Message:
    """A thread answer when a decision in words lacks what the rules need: a button opens
    the modal prefilled with what was understood."""
    if understood:
        text = f"I read that as {understood}, but {' and '.join(missing)}."
    else:
        text = ("I didn't catch a decision there. Write it like “planned for Q3: fits the "
                "platform theme” or “declined: too niche for now, revisit in March”.")
    text += f" Open the decision form for #{request_id} to finish it."
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"decision_offer_{request_id}", elements=[
            ButtonElement(text="Decide", action_id=Action.OPEN_DECISION_FROM_THREAD,
                          value=value, style="primary"),
        ]),
    ]
    return Message(text=text, blocks=[b.to_dict() for b in blocks])
