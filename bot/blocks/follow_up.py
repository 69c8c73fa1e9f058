"""Follow-up questions in a request's thread, the answer modal, and what the bot understood."""

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
from bot.blocks.common import Message, date_input, number_input, select_input, text_input
from bot.money import format_money
from bot.mrkdwn import escape, user
from bot.services.facts import Question, RequestFacts
from bot.services.requests import Answers
from bot.slack_ids import Action, Callback, Field
from models import Blocker

ASKS = {
    Question.COUNT: "how many customers ask for it",
    Question.REVENUE: "the revenue at stake",
    Question.BLOCKER: "whether it blocks a deal (or risks a renewal)",
    Question.DEAL_CLOSE: "when the deal closes",
    Question.DEAL_AMOUNT: "the deal's amount",
    Question.CRM_LINK: "a link to the deal in your CRM",
    Question.RENEWAL: "when the customer renews",
}


def follow_up_question(facts: RequestFacts) -> Message:
    request = facts.request
    wanted = "\n".join(f"• {ASKS[q]}" for q in facts.missing)
    text = (
        f"{user(request.requested_by)}, to weigh #{request.id} product needs to know:\n{wanted}\n"
        "Reply here in plain words (e.g. “4 customers, about $75k ARR, and it blocks the "
        "Acme renewal”) or use the buttons."
    )
    buttons = [ButtonElement(text="Answer", action_id=Action.ANSWER_FOLLOW_UP,
                             value=str(request.id), style="primary")]
    if Question.BLOCKER in facts.missing:
        for blocker, label in ((Blocker.DEAL_BLOCKER, "Blocks a deal"),
                               (Blocker.CHURN_RISK, "Churn risk"),
                               (Blocker.NONE, "Not a blocker")):
            buttons.append(ButtonElement(text=label, action_id=f"{Action.BLOCKER_ANSWER}_{blocker}",
                                         value=f"{request.id}:{blocker}"))
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"follow_up_{request.id}", elements=buttons),
    ]
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def answers_modal(facts: RequestFacts, private_metadata: str) -> View:
    request = facts.request
    blocks: list = [
        SectionBlock(text=MarkdownTextObject(text=f"*#{request.id} {escape(request.title)}*")),
        text_input(Field.CUSTOMERS, "Add customer(s)", placeholder="e.g. Initech",
                   max_length=500, hint="Separate several customers with commas."),
    ]
    missing = set(facts.missing)
    if Question.COUNT in missing:
        blocks.append(number_input(Field.CUSTOMER_COUNT, "How many customers ask for it"))
    if Question.REVENUE in missing:
        blocks.append(text_input(Field.REVENUE, "Revenue at stake",
                                 placeholder="e.g. $75k ARR", max_length=100))
    if Question.BLOCKER in missing:
        blocks.append(select_input(Field.BLOCKER, "Is it blocking a deal?", labels.BLOCKER))
    if Question.DEAL_CLOSE in missing or Question.BLOCKER in missing:
        blocks.append(date_input(Field.DEAL_CLOSE_ON, "Deal close date"))
    if Question.DEAL_AMOUNT in missing:
        blocks.append(text_input(Field.DEAL_AMOUNT, "Deal amount", max_length=100))
    if Question.CRM_LINK in missing:
        blocks.append(text_input(Field.CRM_URL, "CRM link", placeholder="https://…",
                                 max_length=500))
    if Question.RENEWAL in missing or Question.BLOCKER in missing:
        blocks.append(date_input(Field.RENEWAL_ON, "Renewal date"))
    return View(type="modal", callback_id=Callback.FOLLOW_UP_MODAL, title="Answer questions",
                submit="Save", close="Cancel", private_metadata=private_metadata, blocks=blocks)


def understood(answers: Answers) -> list[str]:
    parts = []
    if answers.customer_count is not None:
        parts.append(f"{answers.customer_count} customer{'s' if answers.customer_count != 1 else ''}")
    if answers.customers:
        added = ", ".join(escape(n) for n in answers.customers)
        parts.append(f"customer {added}")
    demand = answers.demand
    if demand.revenue is not None:
        parts.append(f"{format_money(demand.revenue)} at stake")
    if demand.blocker is not None:
        parts.append(labels.BLOCKER[demand.blocker].replace("Yes, it ", "").replace("Yes, ", "")
                     .replace("No", "not a blocker").replace("Not sure", "blocker unknown"))
    if demand.deal_close_on is not None:
        parts.append(f"deal closes {demand.deal_close_on:%d %b %Y}")
    if demand.renewal_on is not None:
        parts.append(f"renews {demand.renewal_on:%d %b %Y}")
    if demand.deal_amount is not None:
        parts.append(f"deal of {format_money(demand.deal_amount)}")
    if demand.crm_url is not None:
        parts.append("the CRM link")
    return parts


def answer_receipt(answers: Answers, facts: RequestFacts, converted_from_mrr: bool = False) -> Message:
    got = understood(answers)
    text = "Got it: " + "; ".join(got) + "." if got else "I couldn't read any facts in that."
    if converted_from_mrr:
        text += " (MRR counted as ARR: ×12.)"
    if facts.missing:
        text += " Still missing: " + ", ".join(ASKS[q] for q in facts.missing) + "."
    else:
        text += f" #{facts.request.id} has what product needs to weigh it. Thanks!"
    blocks = [ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()]
    return Message(text=text, blocks=blocks)
