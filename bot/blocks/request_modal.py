"""The request modal: what a rep fills in (prefilled from what the bot could read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.blocks import labels
from bot.blocks.common import date_input, number_input, select_input, text_input
from bot.mrkdwn import escape
from bot.slack_ids import Callback, Field

TITLE_MAX = 150
TEXT_MAX = 3000


@dataclass
class RequestPrefill:
    title: str | None = None
    problem: str | None = None
    proposed_solution: str | None = None
    customers: list[str] = field(default_factory=list)
    customer_count: int | None = None
    revenue_text: str | None = None
    blocker: str | None = None
    importance: str | None = None
    deal_close_on: date | None = None
    crm_url: str | None = None
    notes: list[str] = field(default_factory=list)


def request_modal(
    prefill: RequestPrefill,
    private_metadata: str,
    *,
    editing: bool = False,
    extra_blocks: list | None = None,
) -> View:
    blocks: list = []
    for note in prefill.notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(note))]))
    blocks += [
        text_input(Field.TITLE, "Title", initial=prefill.title, optional=False,
                   max_length=TITLE_MAX, placeholder="e.g. Bulk CSV export", dispatch=not editing),
        *(extra_blocks or []),
        text_input(Field.PROBLEM, "The customer's problem (what are they trying to do?)",
                   initial=prefill.problem, multiline=True, max_length=TEXT_MAX),
        text_input(Field.PROPOSED_SOLUTION, "What they asked for (optional)",
                   initial=prefill.proposed_solution, multiline=True, max_length=TEXT_MAX),
        text_input(Field.CUSTOMERS, "Customer name(s)", initial=", ".join(prefill.customers),
                   placeholder="e.g. Acme, Globex", max_length=500,
                   hint="Separate several customers with commas."),
        number_input(Field.CUSTOMER_COUNT, "How many customers ask for it",
                     initial=prefill.customer_count),
        text_input(Field.REVENUE, "Revenue at stake", initial=prefill.revenue_text,
                   placeholder="e.g. $120k ARR, €50,000, 50k MRR", max_length=100,
                   hint="Amounts as you'd write them; MRR is counted as ARR (×12)."),
        select_input(Field.BLOCKER, "Is it blocking a deal?", labels.BLOCKER,
                     initial=prefill.blocker),
        select_input(Field.IMPORTANCE, "How important is it to the customer?", labels.IMPORTANCE,
                     initial=prefill.importance),
        date_input(Field.DEAL_CLOSE_ON, "Deal close date (optional)",
                   initial=prefill.deal_close_on),
        text_input(Field.CRM_URL, "CRM link (optional)", initial=prefill.crm_url,
                   placeholder="https://…", max_length=500),
    ]
    if not editing:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text="Only the title is required: I'll ask in the thread for anything you leave empty."
        )))
    return View(
        type="modal",
        callback_id=Callback.EDIT_REQUEST_MODAL if editing else Callback.REQUEST_MODAL,
        title="Edit request" if editing else "File a request",
        submit="Save" if editing else "File request",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )
