"""The App Home tab: deciders' triage queue by priority, reps' own requests; and the
`Assess` modal where a decider records effort and strategic fit.

A home view holds at most 100 blocks: a page shows PAGE_SIZE requests of three blocks
each plus a handful of headers and controls, well inside the limit.
"""

from __future__ import annotations

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import labels
from bot.blocks.common import money, select_input, text_input
from bot.blocks.similar import slack_date
from bot.mrkdwn import escape, quote
from bot.services.demand import Ask, DemandTotals
from bot.services.priority import EFFORT_WEEKS, Ranked, Weights
from bot.slack_ids import Action, Callback, Field
from models import Request, RequestStatus

PAGE_SIZE = 10
FILTERS = {"undecided": "Undecided", "planned": "Planned", "declined": "Declined",
           "mine": "Mine (filed or decided)"}


class HomeState(BaseModel):
    """What the user is looking at, kept in the home view's private_metadata."""

    view: str = "undecided"
    page: int = 0
    customer_id: int | None = None


class AssessContext(BaseModel):
    request_id: int


def _pages(state: HomeState, total: int, page_size: int) -> list:
    last = max((total - 1) // page_size, 0)
    shown_from = state.page * page_size + 1 if total else 0
    shown_to = min((state.page + 1) * page_size, total)
    blocks: list = [ContextBlock(block_id="home_count", elements=[MarkdownTextObject(
        text=f"Showing {shown_from}–{shown_to} of {total}")])]
    buttons = []
    if state.page > 0:
        buttons.append(ButtonElement(text="← Previous", action_id=f"{Action.HOME_PAGE}_prev",
                                     value=str(state.page - 1)))
    if state.page < last:
        buttons.append(ButtonElement(text="Next →", action_id=f"{Action.HOME_PAGE}_next",
                                     value=str(state.page + 1)))
    if buttons:
        blocks.append(ActionsBlock(block_id="home_pages", elements=buttons))
    return blocks


def _demand_text(totals: DemandTotals | None) -> str:
    if totals is None:
        return ""
    parts = [f"{totals.customer_count} customer{'s' if totals.customer_count != 1 else ''}"]
    if totals.revenue:
        parts.append(money(totals.revenue))
    if totals.revenue_base is not None and len(totals.revenue) > 1:
        parts.append(f"≈ {money([totals.revenue_base])}")
    if totals.blockers:
        parts.append(f"{totals.blockers} blocking")
    if totals.reps:
        parts.append(f"{totals.reps} rep{'s' if totals.reps != 1 else ''}")
    if totals.merged_ids:
        parts.append(f"{len(totals.merged_ids)} merged")
    if totals.latest_ask:
        parts.append(f"latest ask {slack_date(totals.latest_ask)}")
    return " · ".join(parts)


def triage_home(state: HomeState, ranked: list[Ranked], totals: dict[int, DemandTotals],
                total: int, customers: list[tuple[int, str]], weights: Weights,
                page_size: int = PAGE_SIZE) -> View:
    options = [Option(value=k, text=v) for k, v in FILTERS.items()]
    controls: list = [StaticSelectElement(
        action_id=Action.HOME_FILTER, placeholder="Show…", options=options,
        initial_option=next((o for o in options if o.value == state.view), None))]
    if customers:
        customer_options = [Option(value=str(cid), text=name[:75]) for cid, name in customers]
        controls.append(StaticSelectElement(
            action_id=Action.HOME_CUSTOMER, placeholder="By customer…", options=customer_options,
            initial_option=next((o for o in customer_options
                                 if o.value == str(state.customer_id)), None)))
    title = ("Asked by one customer" if state.view == "customer"
             else f"Triage queue: {FILTERS.get(state.view, state.view).lower()}")
    blocks: list = [
        HeaderBlock(text=title[:150]),
        ActionsBlock(block_id="home_filters", elements=controls),
        ContextBlock(elements=[MarkdownTextObject(
            text="Ordered by priority: demand (revenue, customers, blockers, recency) with "
                 "strategic fit, divided by effort. Each line shows the parts.")]),
        DividerBlock(),
    ]
    if not ranked:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing here right now.")))
    for item in ranked:
        request, score = item.request, item.score
        status = labels.status(request.status)
        blocks += [
            SectionBlock(block_id=f"queue_{request.id}", text=MarkdownTextObject(
                text=f"*#{request.id} {escape(request.title)}* · priority *{score.total:.0f}* "
                     f"· {status}\n{_demand_text(totals.get(request.id))}")),
            ContextBlock(elements=[MarkdownTextObject(text=score.explained(weights))]),
            ActionsBlock(block_id=f"queue_{request.id}_actions", elements=[
                ButtonElement(text="Decide", action_id=Action.DECIDE, value=str(request.id),
                              style="primary"),
                ButtonElement(text="Merge", action_id=Action.MERGE, value=str(request.id)),
                ButtonElement(text="Assess", action_id=Action.ASSESS, value=str(request.id)),
            ]),
        ]
    blocks += _pages(state, total, page_size)
    return View(type="home", private_metadata=state.model_dump_json(), blocks=blocks)


def _ask_line(ask: Ask) -> str:
    request = ask.request
    line = f"*#{request.id} {escape(request.title)}* · {labels.status(ask.shown_status)}"
    if ask.merged_into is not None:
        line += f" (merged into #{ask.merged_into.id} {escape(ask.merged_into.title)})"
    decision = ask.decision
    if decision is not None:
        words = labels.status(decision.status)
        if decision.timeline:
            words += f", {escape(decision.timeline)}"
        line += f"\nLatest decision: {words} on {slack_date(decision.decided_at)}"
        if decision.rationale:
            line += "\n" + quote(decision.rationale, 400)
    return line


def rep_home(state: HomeState, asks: list[Ask], total: int,
             page_size: int = PAGE_SIZE) -> View:
    blocks: list = [
        HeaderBlock(text="Your requests"),
        ContextBlock(elements=[MarkdownTextObject(
            text="Everything you filed or added a customer to, newest first. Before a renewal "
                 "call: `/request customer Acme` shows everything one customer asked for.")]),
        DividerBlock(),
    ]
    if not asks:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text="You haven't filed a request yet: `/request` opens the form.")))
    for ask in asks:
        blocks += [
            SectionBlock(block_id=f"mine_{ask.request.id}",
                         text=MarkdownTextObject(text=_ask_line(ask))),
            ContextBlock(elements=[MarkdownTextObject(
                text=f"Filed {slack_date(ask.request.created_at)}")]),
        ]
    blocks += _pages(state, total, page_size)
    return View(type="home", private_metadata=state.model_dump_json(), blocks=blocks)


def assess_modal(request: Request) -> View:
    efforts = {k: f"{k} (about {v} person-week{'s' if v != 1 else ''})"
               for k, v in EFFORT_WEEKS.items()}
    note = ""
    if request.status == RequestStatus.MERGED:
        note = f" (merged into #{request.duplicate_of_id}: assess that one instead)"
    return View(
        type="modal", callback_id=Callback.ASSESS_MODAL, title="Assess request",
        submit="Save", close="Cancel",
        private_metadata=AssessContext(request_id=request.id).model_dump_json(),
        blocks=[
            SectionBlock(text=MarkdownTextObject(
                text=f"*#{request.id} {escape(request.title)}*{note}\nEffort and fit feed its "
                     "priority score, next to the demand.")),
            select_input(Field.EFFORT, "Effort (T-shirt size)", efforts, initial=request.effort),
            text_input(Field.EFFORT_WEEKS, "…or effort in person-weeks",
                       initial=str(request.effort_weeks) if request.effort_weeks is not None
                       else None, max_length=4, placeholder="e.g. 6",
                       hint="Person-weeks win over the size when both are given."),
            select_input(Field.STRATEGIC_FIT, "Strategic fit",
                         {str(n): f"{n} – {w}" for n, w in
                          ((1, "off strategy"), (2, "weak"), (3, "neutral"), (4, "good"),
                           (5, "core to the strategy"))},
                         initial=str(request.strategic_fit) if request.strategic_fit else None),
        ],
    )
