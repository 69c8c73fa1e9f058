"""The App Home tab (deciders: the triage queue by priority; reps: their own requests), and
`Assess`, where a decider records effort and strategic fit.

The home is published on `app_home_opened` and after the user's own clicks; changes by
others (a decision, a new request, a merge) queue a refresh in the outbox (posts.HOME),
built when it is sent.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.orm import Session

from bot.blocks.customer import customer_asks, customer_choices
from bot.blocks.home import PAGE_SIZE, AssessContext, HomeState, assess_modal, rep_home, triage_home
from bot.deps import Deps
from bot.forms import State, read_metadata
from bot.listeners.common import (
    open_view,
    request_id_of,
    require_decider,
    team_of,
    user_of,
)
from bot.posts import queue_card_update
from bot.services.demand import (
    asks_of_customer,
    find_customer,
    requests_of_rep,
    top_customers,
    totals_of,
)
from bot.services.priority import EFFORT_WEEKS, Currencies, Weights, triage_page
from bot.services.requests import RequestNotFound, get_request, log_activity
from bot.settings import Settings
from bot.slack_ids import Action, Callback, Field

log = logging.getLogger(__name__)

MAX_WEEKS = 520
CUSTOMER_COMMAND = re.compile(r"^customer\s+(.+)$", re.IGNORECASE | re.DOTALL)


async def customer_answer(deps: Deps, team: str, name: str) -> dict[str, Any]:
    """`/request customer Acme`: the ephemeral answer (everything Acme asked for)."""
    name = " ".join(name.split())[:200]

    def load(session: Session):
        customers = find_customer(session, team, name)
        if len(customers) != 1:
            return customer_choices(name, customers), None
        asks, total = asks_of_customer(session, customers[0])
        return None, customer_asks(customers[0], asks, total)

    choices, message = await deps.db.run(load)
    if message is None:
        return {"response_type": "ephemeral", "text": choices}
    return {"response_type": "ephemeral", **message.args()}


def home_view(session: Session, settings: Settings, team_id: str, user_id: str, decider: bool,
              now: datetime, state: HomeState | None = None):
    """The user's home as it is now: a few queries, one page (paged in SQL)."""
    state = state or HomeState()
    if not decider:
        asks, total = requests_of_rep(session, team_id, user_id, state.page, PAGE_SIZE)
        return rep_home(state, asks, total)
    weights, currencies = Weights.from_settings(settings), Currencies.from_settings(settings)
    ranked, total = triage_page(session, team_id, view=state.view, user_id=user_id,
                                customer_id=state.customer_id, page=state.page,
                                page_size=PAGE_SIZE, weights=weights, currencies=currencies)
    totals = totals_of(session, team_id, [r.request.id for r in ranked], currencies)
    return triage_home(state, ranked, totals, total, top_customers(session, team_id), weights)


async def publish_home(deps: Deps, team: str, user: str, state: HomeState | None = None) -> None:
    decider = await deps.deciders.is_decider(team, user)
    view = await deps.db.run_read(
        lambda s: home_view(s, deps.settings, team, user, decider, deps.now(), state))
    await deps.api.call(team, "views.publish", user_id=user, view=view.to_dict())


def _state_of(body: dict[str, Any]) -> HomeState:
    return read_metadata(HomeState, body.get("view") or {}) or HomeState()


def read_assessment(view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    state, errors = State(view), {}
    effort = state.option(Field.EFFORT)
    if effort is not None and effort not in EFFORT_WEEKS:
        errors[Field.EFFORT] = "Choose one of the sizes."
    weeks_text = state.text(Field.EFFORT_WEEKS)
    weeks = None
    if weeks_text is not None:
        if not weeks_text.isdigit() or not 0 < int(weeks_text) <= MAX_WEEKS:
            errors[Field.EFFORT_WEEKS] = f"A whole number of person-weeks from 1 to {MAX_WEEKS}."
        else:
            weeks = int(weeks_text)
    fit = state.option(Field.STRATEGIC_FIT)
    if fit is not None and fit not in {"1", "2", "3", "4", "5"}:
        errors[Field.STRATEGIC_FIT] = "Choose a fit from 1 to 5."
    if not errors and effort is None and weeks is None and fit is None:
        errors[Field.EFFORT] = "Give an effort or a strategic fit (or both)."
    return {"effort": effort, "effort_weeks": weeks,
            "strategic_fit": int(fit) if fit else None}, errors


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("app_home_opened")
    async def show_home(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        state = read_metadata(HomeState, event.get("view") or {})
        await publish_home(deps, team_of(body), event["user"], state)

    @app.action(Action.HOME_FILTER)
    async def filter_home(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        chosen = (action.get("selected_option") or {}).get("value") or "undecided"
        await publish_home(deps, team_of(body), user_of(body), HomeState(view=chosen))

    @app.action(Action.HOME_CUSTOMER)
    async def filter_home_by_customer(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        chosen = (action.get("selected_option") or {}).get("value") or ""
        state = (HomeState(view="customer", customer_id=int(chosen)) if chosen.isdigit()
                 else HomeState())
        await publish_home(deps, team_of(body), user_of(body), state)

    @app.action(re.compile(f"^{Action.HOME_PAGE}"))
    async def page_home(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        value = action.get("value") or "0"
        state = _state_of(body)
        state.page = int(value) if value.isdigit() else 0
        await publish_home(deps, team_of(body), user_of(body), state)

    @app.action(Action.ASSESS)
    async def open_assess_modal(ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = team_of(body), user_of(body)
        await require_decider(deps, team, user, "assess requests")
        request_id = request_id_of(action)
        request = await deps.db.run(lambda s: get_request(s, team, request_id))
        await open_view(deps, body, assess_modal(request))

    @app.view(Callback.ASSESS_MODAL)
    async def submit_assessment(ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = read_metadata(AssessContext, view)
        values, errors = read_assessment(view)
        if context is None:
            errors = {Field.EFFORT: "This form is out of date: close it and press Assess again."}
        if errors or context is None:
            await ack(response_action="errors", errors=errors)
            return
        team, user = team_of(body), user_of(body)
        if not await deps.deciders.is_decider(team, user):
            await ack(response_action="errors",
                      errors={Field.EFFORT: "Only deciders can assess requests."})
            return

        def store(session: Session) -> list[int]:
            request = get_request(session, team, context.request_id)
            request.effort = values["effort"]
            request.effort_weeks = values["effort_weeks"]
            request.strategic_fit = values["strategic_fit"]
            request.updated_at = deps.now()
            log_activity(session, request, user, "assessed", deps.now(), **values)
            return [queue_card_update(session, request, deps.now())]

        try:
            ids = await deps.db.run(store)
        except RequestNotFound:
            await ack(response_action="errors", errors={Field.EFFORT: "That request was deleted."})
            return
        await ack()
        await deps.sender.deliver(ids)
        await publish_home(deps, team, user)
